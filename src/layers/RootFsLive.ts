import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { FsError } from "../domain/errors.js"
import { textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { RootFs, type RootFsShape, type WriteOptions } from "../services/RootFs.js"

/** `not found`, `permission denied`, `is a directory`...: the system's words without the path (the message names it) */
const reasonOf = (e: PlatformError): string => {
  if (e._tag !== "SystemError") return e.message
  if (e.reason === "NotFound") return "not found"
  const words = /^[A-Z0-9]+: ([^,]+)/.exec(e.description ?? "")?.[1]
  return words ?? e.reason
}

const fail = (op: string, path: string) => (e: PlatformError) => new FsError({ op, path, reason: reasonOf(e) })

const dirname = (path: string) => {
  const i = path.lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}

const encoder = new TextEncoder()

export const makeRootFs = (root: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    let tempCounter = 0

    const exists = (path: string) => fs.exists(path).pipe(Effect.orElseSucceed(() => false))

    const makeDirectory: RootFsShape["makeDirectory"] = (path, options) =>
      fs.makeDirectory(path, { recursive: true, ...(options?.mode !== undefined ? { mode: options.mode } : {}) }).pipe(Effect.mapError(fail("mkdir", path)))

    const readFileIfExists: RootFsShape["readFileIfExists"] = (path) =>
      fs.readFile(path).pipe(
        Effect.map(Option.some),
        Effect.catchAll((e) =>
          e._tag === "SystemError" && e.reason === "NotFound" ? Effect.succeed(Option.none()) : Effect.fail(fail("read", path)(e))
        )
      )

    const writeAtomic: RootFsShape["writeAtomic"] = (path, data, options?: WriteOptions) =>
      Effect.scoped(
        Effect.gen(function* () {
          const bytes = typeof data === "string" ? encoder.encode(data) : data
          const mode = options?.mode ?? 0o644
          yield* makeDirectory(dirname(path))
          const temp = `${dirname(path)}/.${path.slice(dirname(path).length + 1)}.tmp-${process.pid}-${tempCounter++}`
          const write = Effect.scoped(
            Effect.gen(function* () {
              const file = yield* fs.open(temp, { flag: "w", mode })
              if (bytes.length > 0) yield* file.writeAll(bytes)
              yield* file.sync
            })
          )
          yield* Effect.gen(function* () {
            yield* write
            // the umask may have narrowed `mode`
            yield* fs.chmod(temp, mode)
            if (options?.uid !== undefined) yield* fs.chown(temp, options.uid, options.gid ?? options.uid)
            yield* fs.rename(temp, path)
          }).pipe(
            Effect.mapError(fail("write", path)),
            Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore))
          )
        })
      )

    const readText = (path: string) => fs.readFileString(path).pipe(Effect.mapError(fail("read", path)))

    const service: RootFsShape = {
      root,
      at: (p) => `${root}${p.startsWith("/") ? p : `/${p}`}`,
      readFile: (path) => fs.readFile(path).pipe(Effect.mapError(fail("read", path))),
      readText,
      readFileIfExists,
      readTextIfExists: (path) => readFileIfExists(path).pipe(Effect.map(Option.map(textOf))),
      exists,
      isDirectory: (path) =>
        fs.stat(path).pipe(
          Effect.map((s) => s.type === "Directory"),
          Effect.orElseSucceed(() => false)
        ),
      isSymlink: (path) =>
        fs.readLink(path).pipe(
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
        fs.readDirectory(path).pipe(
          Effect.map((names) => names.slice().sort()),
          Effect.catchAll((e) => (e._tag === "SystemError" && e.reason === "NotFound" ? Effect.succeed([]) : Effect.fail(fail("list", path)(e))))
        ),
      remove: (path, options) =>
        fs.remove(path, { recursive: options?.recursive ?? false }).pipe(
          Effect.catchAll((e) => (e._tag === "SystemError" && e.reason === "NotFound" ? Effect.void : Effect.fail(fail("remove", path)(e))))
        ),
      symlink: (target, path) =>
        Effect.gen(function* () {
          yield* makeDirectory(dirname(path))
          yield* fs.remove(path).pipe(Effect.ignore)
          yield* fs.symlink(target, path).pipe(Effect.mapError(fail("symlink", path)))
        }),
      readLink: (path) => fs.readLink(path).pipe(Effect.mapError(fail("readlink", path))),
      realPath: (path) => fs.realPath(path).pipe(Effect.mapError(fail("realpath", path))),
      chmod: (path, mode) => fs.chmod(path, mode).pipe(Effect.mapError(fail("chmod", path))),
      chown: (path, uid, gid) => fs.chown(path, uid, gid).pipe(Effect.mapError(fail("chown", path))),
      makeTempDirectory: (prefix) =>
        Effect.gen(function* () {
          const dir = dirname(prefix)
          yield* makeDirectory(dir)
          return yield* fs.makeTempDirectory({ directory: dir, prefix: prefix.slice(dir.length + 1) }).pipe(Effect.mapError(fail("mktemp", prefix)))
        })
    }
    return service
  })

/** RootFs over the real filesystem, rooted at the configured `ROOT`. */
export const RootFsLive = Layer.effect(
  RootFs,
  Effect.flatMap(Config, (settings) => makeRootFs(settings.root))
)
