/**
 * `tiny-cloud schema FILE`: the problems and warnings the boot would report
 * for this user-data (decompressed as save_userdata does), in the same
 * words; exit 1 only when nothing of it can be applied. The configuration is
 * read as the phases read it: each problem of tiny-cloud.conf is one line on
 * stderr, as a phase says it, the key's default used; the file is still
 * checked, and the exit status is 1, as a phase's and `config`'s are.
 */
import { readFileSync, statSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { FsError } from "../domain/errors.js"
import { tooLarge } from "../domain/userdata/parse.js"
import { checkUserData } from "../domain/userdata/validate.js"
import { formatProblem } from "../domain/userdata/problem.js"
import { problemLine } from "../domain/settings.js"
import { Config } from "../services/Config.js"
import { decompress } from "./decompress.js"
import { Output, print } from "../services/Output.js"
import { RootFs } from "../services/RootFs.js"
import { messageOf } from "../domain/text.js"

/**
 * what a pipe is read through: this process's stdin (a FIFO or, from node's spawn, a socket) as
 * the stream node makes of it, which waits for data whether its descriptor is blocking or not
 * (a parent's choice, shared: read at once while empty, EAGAIN); another FIFO (`<(...)`) by its name
 */
const pipeOf = (file: string): "stdin" | "fifo" | undefined => {
  try {
    const s = statSync(file)
    return file === "/dev/stdin" && (s.isFIFO() || s.isSocket()) ? "stdin" : s.isFIFO() ? "fifo" : undefined
  } catch {
    return undefined
  }
}

const readError = (file: string) => (e: unknown) => new FsError({ op: "read", path: file, reason: messageOf(e) })

/** this process's stdin to its end */
const readStdin = Effect.async<Uint8Array, FsError>((resume) => {
  const chunks: Array<Buffer> = []
  process.stdin.on("data", (c: Buffer) => chunks.push(c))
  process.stdin.once("end", () => resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks)))))
  process.stdin.once("error", (e) => resume(Effect.fail(readError("/dev/stdin")(e))))
})

export const schemaCommand = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { userDataMaxBytes, cloudUser, problems: confProblems } = yield* Config
    yield* Effect.forEach(confProblems, (p) => Effect.flatMap(Output, (o) => o.stderr(`${problemLine(p)}\n`)), { discard: true })
    // a pipe (`curl ... | tiny-cloud schema /dev/stdin`, `<(...)`) is the operator's own: read to its end, as simulate --user-data reads one
    const pipe = pipeOf(file)
    const raw =
      pipe === "stdin"
        ? yield* readStdin
        : pipe === "fifo"
          ? yield* Effect.try({ try: () => new Uint8Array(readFileSync(file)), catch: readError(file) })
          : // a file past USERDATA_MAX_BYTES is not read (its size is enough), and gets the boot's own words for it
            yield* fs.readFile(file, { maxBytes: userDataMaxBytes }).pipe(
              Effect.catchIf(
                (e) => e.size !== undefined,
                (e) => Effect.as(print(`${file}: ${formatProblem(tooLarge(e.size!, userDataMaxBytes))}\n`), undefined)
              )
            )
    if (raw === undefined) return 1
    // compressed as save_userdata finds it: its size is checked as it is, its content once decompressed
    const decompressed = raw.length > userDataMaxBytes ? Either.right(raw) : yield* Effect.either(decompress(raw, userDataMaxBytes))
    if (Either.isLeft(decompressed)) {
      yield* print(`${file}: ${decompressed.left.message}\n`)
      return 1
    }
    const { problems, warnings, usable } = checkUserData(decompressed.right, { maxBytes: userDataMaxBytes, maxDecompressedBytes: userDataMaxBytes, cloudUser })
    for (const w of warnings) yield* print(`${file}: warning: ${w}\n`)
    for (const p of problems) yield* print(`${file}: ${formatProblem(p)}\n`)
    if (problems.length === 0) yield* print(`${file}: valid\n`)
    // an invalid configuration is reported as the phases and `config` report it: exit 1, the document checked all the same
    return usable && confProblems.length === 0 ? 0 : 1
  })
