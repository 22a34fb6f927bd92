/**
 * A small filesystem that fills, in-process: writes to files under `dir`
 * take what fits of `capacity` (the sizes of the files under it counted as
 * used) and, with nothing left, fail with ENOSPC, as the kernel's write(2)
 * does: a short count first, the error only on the next call. Node's own
 * `writeSync` is replaced while the scope is open (the program's modules
 * see it through their `node:fs` namespace), for descriptors of files under
 * `dir` alone.
 */
import { readdirSync, readlinkSync, lstatSync } from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as Effect from "effect/Effect"

const fsModule = createRequire(import.meta.url)("node:fs") as typeof import("node:fs")

const used = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const p = `${dir}/${e.name}`
    return sum + (e.isDirectory() ? used(p) : e.isFile() ? lstatSync(p).size : 0)
  }, 0)

const pathOf = (fd: number) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return ""
  }
}

export const noSpaceError = (syscall: string) =>
  Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: "ENOSPC", errno: -28, syscall })

/** writes of a `piece` of 0 a caller may ask for before the stand-in ends them: one that asks on would never stop */
export const NOTHING_TAKEN_MAX = 100

/**
 * `piece`: the most one write takes, room or not (a write may be cut short at any time); 0, none (write(2) returning 0,
 * as a FUSE file system may): after NOTHING_TAKEN_MAX of those, the next throws, so that a caller asking without end ends
 */
export const fillingDisk = (dir: string, capacity: number, piece = Infinity) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const original = fsModule.writeSync
      let nothingTaken = 0
      fsModule.writeSync = ((fd: number, buffer: unknown, ...rest: Array<unknown>) => {
        if (typeof buffer === "string" || !pathOf(fd).startsWith(`${dir}/`)) return (original as Function)(fd, buffer, ...rest)
        const view = buffer as Uint8Array
        const offset = typeof rest[0] === "number" ? rest[0] : 0
        const length = typeof rest[1] === "number" ? rest[1] : view.byteLength - offset
        const room = Math.max(0, capacity - used(dir))
        if (length > 0 && room === 0) throw noSpaceError("write")
        if (length > 0 && piece === 0 && ++nothingTaken > NOTHING_TAKEN_MAX) throw new Error(`asked again after ${NOTHING_TAKEN_MAX} writes that took nothing`)
        return (original as Function)(fd, view, offset, Math.min(length, room, piece), rest[2])
      }) as typeof original
      syncBuiltinESMExports()
      return original
    }),
    (original) => Effect.sync(() => ((fsModule.writeSync = original), syncBuiltinESMExports()))
  )
