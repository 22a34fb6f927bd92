/**
 * No descriptor left for a program's pipes (a low RLIMIT_NOFILE the operator
 * set for the service, `rc_ulimit="-n 24"`): Node's spawn then gives the
 * child no stdin, stdout or stderr and reports EMFILE in its error event
 * alone. The program is not started: a clear one-line error, as for any
 * program that cannot be started, never a crash of the phase with Node's
 * "Unhandled 'error' event" and its stack.
 */
import { EventEmitter } from "node:events"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { afterEach, beforeEach, vi } from "vitest"
import { makeLiveCommands } from "../../src/layers/CommandsLive.js"
import { scopedDir } from "../support/scratch.js"

// spawn as Node's is when uv_spawn fails with EMFILE: a ChildProcess with no stdio, the error emitted on the next tick (on the
// module object the program's require gives it)
const childProcess = createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process")
beforeEach(() => {
  vi.spyOn(childProcess, "spawn").mockImplementation((() => {
    const child = Object.assign(new EventEmitter(), { stdin: null, stdout: null, stderr: null, pid: undefined, exitCode: null, signalCode: null, kill: () => true, ref: () => {}, unref: () => {} })
    process.nextTick(() => child.emit("error", Object.assign(new Error("spawn sh EMFILE"), { code: "EMFILE", errno: -24, syscall: "spawn sh" })))
    return child
  }) as never)
})
afterEach(() => void vi.restoreAllMocks())

it.effect("a program that gets no descriptors for its pipes (EMFILE) fails with one line naming it, the phase goes on", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: "/usr/bin:/bin" })
    const error = yield* Effect.flip(commands.run("sh", ["-c", "true"]))
    expect(error._tag).toBe("CommandError")
    expect(error.reason).toBe("cannot be started: EMFILE")
  })
)

it.scoped("a user program that gets no descriptors (EMFILE) fails with the same line, not Node's `spawn /bin/sh EMFILE`", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: "/usr/bin:/bin" })
    const dir = yield* scopedDir("tc-emfile-", tmpdir())
    const error = yield* Effect.flip(commands.runLogged("sh", ["-c", "true"], { logFile: join(dir, "user-data.log"), echo: false }))
    expect(error.reason).toBe("cannot be started: EMFILE")
  })
)

it.effect("a logger that gets no descriptor for its stdin (EMFILE) costs the lines alone", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: "/usr/bin:/bin" })
    const log = yield* commands.stream("logger", ["-t", "x"])
    yield* log.write("a line")
    yield* log.close
    yield* log.discard
  })
)
