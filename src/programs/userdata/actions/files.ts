/** cloud-config `write_files`: the files written in the main phase, and the `defer: true` ones in the final phase. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Commands } from "../../../services/Commands.js"
import { err } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { loadUserConfig } from "../load.js"
import type { FileToWrite } from "../../../domain/userdata/model.js"
import { concat, fail, instancePath } from "./common.js"

/**
 * Each file atomically with its final mode, parent directories created;
 * `append` adds to what is there; then `chown OWNER PATH`. A file that
 * cannot be written does not stop the others; the action fails at the end.
 */
const writeFiles = (files: ReadonlyArray<FileToWrite>) =>
  Effect.gen(function* () {
    if (files.length === 0) return
    const fs = yield* RootFs
    const commands = yield* Commands
    const failed: Array<string> = []
    for (const file of files) {
      const path = instancePath(file.path)
      const target = fs.at(path)
      const written = yield* Effect.gen(function* () {
        const before = file.append ? Option.getOrElse(yield* fs.readFileIfExists(target), () => new Uint8Array()) : new Uint8Array()
        yield* fs.writeAtomic(target, file.append ? concat(before, file.content) : file.content, { mode: file.mode })
        return true
      }).pipe(
        Effect.catchAll((e) => Effect.as(err(`write_files: cannot write ${path}: ${e.reason}`), false))
      )
      if (!written) {
        failed.push(path)
        continue
      }
      const chown = yield* commands.run("chown", [file.owner, target], { allowFailure: true }).pipe(
        Effect.map((r) => r.exitCode),
        Effect.catchAll(() => Effect.succeed(127))
      )
      if (chown !== 0) {
        yield* err(`write_files: chown of ${path} exited with status ${chown}`)
        failed.push(path)
      }
    }
    if (failed.length > 0) return yield* fail(`${failed.length} of ${files.length} files not written as asked`)
  })

export const userdataWriteFiles = Effect.flatMap(loadUserConfig("userdata_write_files"), (c) =>
  writeFiles(c.writeFiles.filter((f) => !f.defer))
)

/** cloud-config `defer: true` files, in the final phase, once packages and users exist */
export const userdataWriteDeferredFiles = Effect.flatMap(loadUserConfig("userdata_write_deferred_files"), (c) =>
  writeFiles(c.writeFiles.filter((f) => f.defer))
)
