import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { lstatSync, readdirSync, unlinkSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { FsError } from "../domain/errors.js"
import { textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { RootFs, type RootFsShape, type WriteOptions } from "../services/RootFs.js"
import { resolveInRoot, type FinalLink } from "./in-root.js"

/** `not found`, `permission denied`, `is a directory`...: the system's words without the path (the message names it) */
const reasonOf = (e: PlatformError): string => {
  if (e._tag !== "SystemError") return e.message
  if (e.reason === "NotFound") return "not found"
  const words = /^[A-Z0-9]+: ([^,]+)/.exec(e.description ?? "")?.[1]
  return words ?? e.reason
}

const fail = (op: string, path: string) => (e: PlatformError) => new FsError({ op, path, reason: reasonOf(e) })

const isNotFound = (e: PlatformError) => e._tag === "SystemError" && e.reason === "NotFound"

const dirname = (path: string) => {
  const i = path.lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1)

const encoder = new TextEncoder()

/** the temporary files of writes: `.NAME.tmp-PID-N` beside the file */
const TEMP = /^\.(.+)\.tmp-(\d+)-\d+$/

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** temporaries of this file left by a writer that is gone (a crash) */
const removeStaleTemporaries = (dir: string, name: string) => {
  let entries: Array<string> = []
  try {
    entries = readdirSync(dir)
  } catch {
    return
  }
  for (const entry of entries) {
    const m = TEMP.exec(entry)
    if (m === null || m[1] !== name) continue
    const pid = Number(m[2])
    if (pid !== process.pid && !alive(pid)) {
      try {
        unlinkSync(`${dir}/${entry}`)
      } catch {
        // gone already
      }
    }
  }
}

export const makeRootFs = (root: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    let tempCounter = 0

    /** the host path an operation works on: under ROOT, links resolved inside it */
    const inRoot = (op: string, path: string, final: FinalLink) =>
      Effect.try({
        try: () => resolveInRoot(root, path, final),
        catch: (e) => new FsError({ op, path, reason: e instanceof Error ? e.message : String(e) })
      })

    const exists = (path: string) =>
      inRoot("stat", path, "follow").pipe(
        Effect.flatMap((p) => fs.exists(p)),
        Effect.orElseSucceed(() => false)
      )

    const makeDirectory: RootFsShape["makeDirectory"] = (path, options) =>
      Effect.flatMap(inRoot("mkdir", path, options?.noFollow ? "refuse" : "follow"), (p) =>
        fs.makeDirectory(p, { recursive: true, ...(options?.mode !== undefined ? { mode: options.mode } : {}) }).pipe(Effect.mapError(fail("mkdir", path)))
      )

    const readFileIfExists: RootFsShape["readFileIfExists"] = (path, options) =>
      Effect.flatMap(inRoot("read", path, "follow"), (p) =>
        Effect.gen(function* () {
          if (options?.maxBytes !== undefined) {
            const info = yield* fs.stat(p)
            if (Number(info.size) > options.maxBytes) return yield* Effect.fail(new FsError({ op: "read", path, reason: `larger than ${options.maxBytes} bytes` }))
          }
          return Option.some(yield* fs.readFile(p))
        }).pipe(
          Effect.catchAll((e) =>
            e._tag === "FsError" ? Effect.fail(e) : isNotFound(e) ? Effect.succeed(Option.none<Uint8Array>()) : Effect.fail(fail("read", path)(e))
          )
        )
      )

    const writeAtomic: RootFsShape["writeAtomic"] = (path, data, options?: WriteOptions) =>
      Effect.gen(function* () {
        const target = yield* inRoot("write", path, options?.noFollow ? "refuse" : "follow")
        const present = (() => {
          try {
            return lstatSync(target)
          } catch {
            return undefined
          }
        })()
        if (present !== undefined && !present.isFile()) return yield* Effect.fail(new FsError({ op: "write", path, reason: "not a regular file; refused" }))
        const bytes = typeof data === "string" ? encoder.encode(data) : data
        const mode = options?.mode ?? 0o644
        const dir = dirname(target)
        yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(fail("mkdir", dirname(path))))
        removeStaleTemporaries(dir, basename(target))
        const temp = `${dir}/.${basename(target)}.tmp-${process.pid}-${tempCounter++}`
        const write = Effect.scoped(
          Effect.gen(function* () {
            const file = yield* fs.open(temp, { flag: "wx", mode })
            if (bytes.length > 0) yield* file.writeAll(bytes)
            yield* file.sync
          })
        )
        yield* Effect.gen(function* () {
          yield* write
          // the umask may have narrowed `mode`
          yield* fs.chmod(temp, mode)
          if (options?.uid !== undefined) yield* fs.chown(temp, options.uid, options.gid ?? options.uid)
          yield* fs.rename(temp, target)
        }).pipe(
          Effect.mapError(fail("write", path)),
          Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore))
        )
      })

    const service: RootFsShape = {
      root,
      at: (p) => `${root}${p.startsWith("/") ? p : `/${p}`}`,
      readFile: (path, options) =>
        Effect.flatMap(readFileIfExists(path, options), Option.match({ onNone: () => Effect.fail(new FsError({ op: "read", path, reason: "not found" })), onSome: Effect.succeed })),
      readText: (path) => Effect.flatMap(inRoot("read", path, "follow"), (p) => fs.readFileString(p).pipe(Effect.mapError(fail("read", path)))),
      readFileIfExists,
      readTextIfExists: (path) => readFileIfExists(path).pipe(Effect.map(Option.map(textOf))),
      exists,
      isDirectory: (path) =>
        inRoot("stat", path, "follow").pipe(
          Effect.flatMap((p) => fs.stat(p)),
          Effect.map((s) => s.type === "Directory"),
          Effect.orElseSucceed(() => false)
        ),
      isSymlink: (path) =>
        inRoot("stat", path, "keep").pipe(
          Effect.flatMap((p) => fs.readLink(p)),
          Effect.as(true),
          Effect.orElseSucceed(() => false)
        ),
      writeAtomic,
      addLinesOnce: (path, lines, options) =>
        Effect.gen(function* () {
          const current = Option.getOrElse(yield* readFileIfExists(path), () => new Uint8Array())
          const text = textOf(current)
          const present = new Set(text.split("\n"))
          const missing = lines.filter((l) => {
            if (present.has(l)) return false
            present.add(l)
            return true
          })
          if (missing.length === 0) return
          const sep = text === "" || text.endsWith("\n") ? "" : "\n"
          yield* writeAtomic(path, `${text}${sep}${missing.join("\n")}\n`, options)
        }),
      makeDirectory,
      readDirectory: (path) =>
        Effect.flatMap(inRoot("list", path, "follow"), (p) =>
          fs.readDirectory(p).pipe(
            Effect.map((names) => names.slice().sort()),
            Effect.catchAll((e) => (isNotFound(e) ? Effect.succeed([]) : Effect.fail(fail("list", path)(e))))
          )
        ),
      remove: (path, options) =>
        Effect.flatMap(inRoot("remove", path, "keep"), (p) =>
          fs.remove(p, { recursive: options?.recursive ?? false }).pipe(Effect.catchAll((e) => (isNotFound(e) ? Effect.void : Effect.fail(fail("remove", path)(e)))))
        ),
      symlink: (target, path) =>
        Effect.gen(function* () {
          const p = yield* inRoot("symlink", path, "keep")
          yield* fs.makeDirectory(dirname(p), { recursive: true }).pipe(Effect.mapError(fail("mkdir", dirname(path))))
          yield* fs.remove(p).pipe(Effect.ignore)
          yield* fs.symlink(target, p).pipe(Effect.mapError(fail("symlink", path)))
        }),
      readLink: (path) => Effect.flatMap(inRoot("readlink", path, "keep"), (p) => fs.readLink(p).pipe(Effect.mapError(fail("readlink", path)))),
      realPath: (path) =>
        Effect.flatMap(inRoot("realpath", path, "follow"), (p) =>
          root === "" ? fs.realPath(p).pipe(Effect.mapError(fail("realpath", path))) : fs.stat(p).pipe(Effect.as(p), Effect.mapError(fail("realpath", path)))
        ),
      chmod: (path, mode) => Effect.flatMap(inRoot("chmod", path, "follow"), (p) => fs.chmod(p, mode).pipe(Effect.mapError(fail("chmod", path)))),
      chown: (path, uid, gid) => Effect.flatMap(inRoot("chown", path, "follow"), (p) => fs.chown(p, uid, gid).pipe(Effect.mapError(fail("chown", path)))),
      makeTempDirectory: (prefix) =>
        Effect.gen(function* () {
          const dir = yield* inRoot("mktemp", dirname(prefix), "follow")
          yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(fail("mkdir", dirname(prefix))))
          return yield* fs.makeTempDirectory({ directory: dir, prefix: basename(prefix) }).pipe(Effect.mapError(fail("mktemp", prefix)))
        })
    }
    return service
  })

/** RootFs over the real filesystem, rooted at the configured `ROOT`. */
export const RootFsLive = Layer.effect(
  RootFs,
  Effect.flatMap(Config, (settings) => makeRootFs(settings.root))
)
