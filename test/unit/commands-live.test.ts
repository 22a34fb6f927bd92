/**
 * The live command runner's environment. ifupdown-ng runs its executors
 * (imds, and so `tiny-cloud net-sync`) with IFACE, PHASE and IF_* only: no
 * PATH. Node would then look programs up on /usr/bin:/bin, where Alpine has
 * no `ip` (/sbin/ip); they are looked up, and run, on the system's PATH.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Writable } from "node:stream"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { textOf } from "../../src/domain/text.js"
import { makeLiveCommands, STDERR_KEPT_BYTES, STDOUT_KEPT_BYTES, streamEcho } from "../../src/layers/CommandsLive.js"
import { releaseFifo } from "../support/fifo.js"
import { scopedDir } from "../support/scratch.js"

/** a stream whose reader takes each chunk on a later turn (a pipe emptied slower than a program writes), and how much it has taken */
const slowReader = () => {
  let taken = 0
  const reader = new Writable({
    highWaterMark: 16 * 1024,
    write: (chunk: Buffer, _encoding, done) =>
      setImmediate(() => {
        taken += chunk.length
        done()
      })
  })
  return { reader, taken: () => taken }
}

it.effect("without PATH in the environment, programs run with the system's PATH, the one `has` looks on", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { IFACE: "eth1", PHASE: "post-up" })
    const r = yield* commands.run("env", [])
    expect(textOf(r.stdout).split("\n")).toContain("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
    expect(textOf(r.stdout).split("\n")).toContain("IFACE=eth1")
  })
)

it.effect("a PATH of the environment is kept", () =>
  Effect.gen(function* () {
    const r = yield* makeLiveCommands(() => {}, { PATH: "/usr/bin:/bin" }).run("env", [])
    expect(textOf(r.stdout).split("\n")).toContain("PATH=/usr/bin:/bin")
  })
)

it.scoped("runLogged is done when the program exits: a background process it started (`daemon &`) that keeps the log open does not hold it up; all the program wrote is logged and echoed, in order", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-run-logged-", tmpdir())
    const fifo = join(dir, "release")
    execFileSync("mkfifo", [fifo])
    // the background process waits until the test releases it, however long that takes
    yield* Effect.addFinalizer(() => Effect.sync(() => releaseFifo(fifo)))
    const echoed: Array<Uint8Array> = []
    const commands = makeLiveCommands((chunk) => echoed.push(chunk), { PATH: process.env.PATH })
    const log = join(dir, "user-data.log")
    const status = yield* commands.runLogged("sh", ["-c", `echo one; echo two >&2; (cat "${fifo}" >/dev/null; echo late) & echo three; exit 3`], { logFile: log, echo: true })
    expect(status).toBe(3)
    expect(readFileSync(log, "utf8")).toBe("one\ntwo\nthree\n")
    expect(Buffer.concat(echoed).toString()).toBe("one\ntwo\nthree\n")
  })
)

it.scoped("runLogged: a program that opens its stdout or stderr anew (`>> /dev/stderr`, `> /dev/stdout`), as scripts written for a pipe do, leaves no hole of NUL bytes in the log: what it writes after lands at the log's end", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-run-logged-", tmpdir())
    const echoed: Array<Uint8Array> = []
    const commands = makeLiveCommands((chunk) => echoed.push(chunk), { PATH: process.env.PATH })
    const log = join(dir, "user-data.log")
    yield* commands.runLogged("sh", ["-c", "echo one; echo two >> /dev/stderr; echo three"], { logFile: log, echo: true })
    expect(readFileSync(log, "utf8")).toBe("one\ntwo\nthree\n")
    expect(Buffer.concat(echoed).toString()).toBe("one\ntwo\nthree\n")
    // `>` empties the file it opens, the log itself: the lines before are gone, but none after is written over or after a hole
    yield* commands.runLogged("sh", ["-c", "echo one; echo two > /dev/stdout; echo three"], { logFile: log, echo: false })
    expect(readFileSync(log, "utf8")).toBe("two\nthree\n")
  })
)

it.scoped("runLogged echoes no more while its reader holds enough (a resident process's client that reads slower than the program writes): the rest waits in the log, not in memory, and all the program wrote is echoed before it is done", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-run-logged-", tmpdir())
    // an echo whose reader holds enough after each chunk until it is asked again (an empty chunk): a chunk given while it holds enough is one too many
    const echoed: Array<Uint8Array> = []
    let ready = true
    let pushed = 0
    const commands = makeLiveCommands(
      (chunk) => {
        if (chunk.length === 0) return (ready = true)
        if (!ready) pushed++
        ready = false
        echoed.push(chunk)
        return false
      },
      { PATH: process.env.PATH }
    )
    const log = join(dir, "user-data.log")
    const status = yield* commands.runLogged("sh", ["-c", "head -c 1048576 /dev/zero | tr '\\0' x"], { logFile: log, echo: true })
    expect(status).toBe(0)
    expect(pushed).toBe(0)
    expect(Buffer.concat(echoed).toString()).toBe("x".repeat(1048576))
  })
)

it.scoped("runLogged refuses a log that is not a regular file: a FIFO in its place would swallow the output, or hold the program, and the phase, once full", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-run-logged-", tmpdir())
    const log = join(dir, "user-data.log")
    execFileSync("mkfifo", [log])
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH })
    const error = yield* Effect.flip(commands.runLogged("sh", ["-c", "echo lost"], { logFile: log, echo: true }))
    expect(error.message).toBe(`sh: cannot write ${log}: not a regular file; refused`)
  })
)

it.effect("runLogged: a program that cannot be started (an argument with a NUL byte) is a CommandError that does not repeat its words, and leaves no descriptor open", () =>
  Effect.gen(function* () {
    const dir = mkdtempSync(join(tmpdir(), "tc-run-logged-"))
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH })
    const logFile = join(dir, "user-data.log")
    // the descriptors of this process on the log (the other test files of this worker open and close their own meanwhile)
    const openOnLog = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === logFile
        } catch {
          return false
        }
      }).length
    const error = yield* Effect.flip(commands.runLogged("echo", ["secret\0word"], { logFile, echo: true }))
    const left = openOnLog()
    rmSync(dir, { recursive: true, force: true })
    expect(error._tag).toBe("CommandError")
    expect(error.message).toBe("echo: cannot be started: an argument contains a NUL byte")
    expect(left).toBe(0)
  })
)

it.effect("a program whose arguments are past the system's limit (one package name of 200 KB) is a CommandError naming that, never an internal error; the arguments are not repeated", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH })
    const long = "p".repeat(200_000)
    const error = yield* Effect.flip(commands.run("true", [long]))
    expect(error._tag).toBe("CommandError")
    expect(error.message).toBe("true: cannot be started: its arguments are too long (E2BIG)")
    const dir = mkdtempSync(join(tmpdir(), "tc-e2big-"))
    const logged = yield* Effect.flip(commands.runLogged("true", [long], { logFile: join(dir, "user-data.log"), echo: false }))
    rmSync(dir, { recursive: true, force: true })
    expect(logged.message).toBe("true: cannot be started: its arguments are too long (E2BIG)")
  })
)

it.effect("a program that exits non-zero fails with its status and the first line it printed to stderr, unless failure is allowed", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    const failed = yield* Effect.either(commands.run("sh", ["-c", "echo 'no such package' >&2; echo more >&2; exit 3"]))
    expect(failed).toMatchObject({ _tag: "Left", left: { _tag: "CommandError", command: "sh", exitCode: 3, reason: "exited with status 3: no such package" } })
    const allowed = yield* commands.run("sh", ["-c", "exit 3"], { allowFailure: true })
    expect(allowed.exitCode).toBe(3)
  })
)

it.effect("a program's output past maxOutputBytes stops it, and fails naming the limit; output of exactly that many bytes is had (a decompressor's bomb: 40 MB of zeros in 51 bytes of bzip2)", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    const over = yield* Effect.either(commands.run("sh", ["-c", "head -c 200000 /dev/zero"], { maxOutputBytes: 65536 }))
    expect(over._tag === "Left" ? over.left.reason : `had ${over.right.stdout.length} bytes`).toBe("output exceeds 65536 bytes")
    const exact = yield* Effect.either(commands.run("sh", ["-c", "head -c 65536 /dev/zero"], { maxOutputBytes: 65536 }))
    expect(exact._tag === "Right" ? exact.right.stdout.length : exact.left.reason).toBe(65536)
  })
)

it.scoped("a failed program is named by the line it wrote as its own error, not by the version or the warnings before it (resize2fs, sfdisk on a grown GPT disk)", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-problem-", tmpdir())
    // what the real tools print to stderr (e2fsprogs 1.47, util-linux 2.38)
    const tool = (name: string, stderr: string) => writeFileSync(join(dir, name), `#!/bin/sh\nprintf '%s' '${stderr}' >&2\nexit 1\n`, { mode: 0o755 })
    const commands = makeLiveCommands(() => {}, { PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}` })
    const reason = (command: string) => Effect.map(Effect.flip(commands.run(command, [])), (e) => e.reason)
    tool("resize2fs", "resize2fs 1.47.0 (5-Feb-2023)\nresize2fs: Permission denied to resize filesystem\n\n")
    expect(yield* reason("resize2fs")).toBe("exited with status 1: resize2fs: Permission denied to resize filesystem")
    tool("resize2fs", "resize2fs 1.47.0 (5-Feb-2023)\nPlease run e2fsck -f /dev/vda2 first.\n\n")
    expect(yield* reason("resize2fs")).toBe("exited with status 1: Please run e2fsck -f /dev/vda2 first.")
    tool("sfdisk", "GPT PMBR size mismatch (131071 != 262143) will be corrected by write.\nThe backup GPT table is not on the end of the device. This problem will be corrected by write.\nsfdisk: cannot open /dev/vda: Device or resource busy\n")
    expect(yield* reason("sfdisk")).toBe("exited with status 1: sfdisk: cannot open /dev/vda: Device or resource busy")
    // a version alone names nothing
    tool("resize2fs", "resize2fs 1.47.0 (5-Feb-2023)\n")
    expect(yield* reason("resize2fs")).toBe("exited with status 1")
  })
)

it.scoped("runLogged: a program killed by a signal has the status sh gives it, 128 and the signal's number (SIGKILL 137)", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-logged-", tmpdir())
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    const status = yield* commands.runLogged("sh", ["-c", "echo before; kill -KILL $$"], { logFile: join(dir, "log"), echo: false })
    expect(status).toBe(137)
    expect(readFileSync(join(dir, "log"), "utf8")).toBe("before\n")
  })
)

it.effect("a program runs with the variables given for it (options.env) on top of the environment", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin", KEPT: "kept" })
    const r = yield* commands.run("sh", ["-c", 'printf "%s %s" "$KEPT" "$GIVEN"'], { env: { GIVEN: "given" } })
    expect(textOf(r.stdout)).toBe("kept given")
  })
)

it.scoped("a program whose output passes maxOutputBytes is killed then, not waited for until it ends of itself", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    // were it not killed, it would sleep on after its output: the run would end only with the test's timeout
    const over = yield* Effect.either(commands.run("sh", ["-c", "head -c 200000 /dev/zero; exec sleep 120"], { maxOutputBytes: 65536 }))
    expect(over._tag === "Left" ? over.left.reason : "not stopped").toBe("output exceeds 65536 bytes")
  })
)

/** the process whose pid `file` gets, waited for; killed (it sleeps) when the test ends, whatever happened */
const startedPid = (file: string) =>
  Effect.gen(function* () {
    let text = ""
    while ((text = (() => { try { return readFileSync(file, "utf8") } catch { return "" } })()).endsWith("\n") === false) yield* Effect.sleep("10 millis")
    const pid = Number(text)
    yield* Effect.addFinalizer(() => Effect.sync(() => { try { process.kill(pid, "SIGKILL") } catch { /* gone */ } }))
    return pid
  })

/** `pid` gone (killed and reaped), asked until it is */
const gone = (pid: number) =>
  Effect.gen(function* () {
    for (;;) {
      try {
        process.kill(pid, 0)
      } catch {
        return true
      }
      yield* Effect.sleep("10 millis")
    }
  })

it.scopedLive("a program whose run is interrupted (its step's timeout, the phase's end) is killed, not left running", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-interrupted-", tmpdir())
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    const run = yield* Effect.fork(commands.run("sh", ["-c", `echo $$ > ${dir}/pid; exec sleep 120`]))
    const pid = yield* startedPid(join(dir, "pid"))
    yield* Fiber.interrupt(run)
    expect(yield* gone(pid)).toBe(true)
    const logged = yield* Effect.fork(commands.runLogged("sh", ["-c", `echo $$ > ${dir}/pid2; exec sleep 120`], { logFile: join(dir, "log"), echo: false }))
    const pid2 = yield* startedPid(join(dir, "pid2"))
    yield* Fiber.interrupt(logged)
    expect(yield* gone(pid2)).toBe(true)
  })
)

it.scoped("runLogged's log is root's alone (0600), made so or already there with a wider mode: what the programs print may be secret", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-log-mode-", tmpdir())
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    const made = join(dir, "made.log")
    yield* commands.runLogged("sh", ["-c", "echo secret"], { logFile: made, echo: false })
    expect(statSync(made).mode & 0o7777).toBe(0o600)
    const there = join(dir, "there.log")
    writeFileSync(there, "old\n", { mode: 0o644 })
    chmodSync(there, 0o644)
    yield* commands.runLogged("sh", ["-c", "echo secret"], { logFile: there, echo: false })
    expect(statSync(there).mode & 0o7777).toBe(0o600)
    expect(readFileSync(there, "utf8")).toBe("secret\n")
  })
)

it.scoped("runLogged starts the program in a process group of its own: a program that signals its group (`kill 0`) reaches its own processes, never the phase", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-group-", tmpdir())
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    // /proc/PID/stat: pid (comm) state ppid pgrp ...
    yield* commands.runLogged("sh", ["-c", "echo $$; cut -d ' ' -f 5 /proc/$$/stat"], { logFile: join(dir, "log"), echo: false })
    const [pid, group] = readFileSync(join(dir, "log"), "utf8").trim().split("\n")
    expect(group).toBe(pid)
    expect(Number(group)).not.toBe(process.pid)
  })
)

it.effect("a program that floods its stdout and stderr (20 MB each, an apk or a hostname gone wrong) costs bounded memory: 1 MiB of stdout and 64 KiB of stderr are kept, the rest dropped, the program not stopped; its failure is still named by its first line", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" })
    const flood = "head -c 20000000 /dev/zero | tr '\\0' x"
    const r = yield* commands.run("sh", ["-c", `${flood}; ${flood} >&2; echo done`], { allowFailure: true })
    expect([r.exitCode, r.stdout.length, r.stderr.length]).toEqual([0, STDOUT_KEPT_BYTES, STDERR_KEPT_BYTES])
    const failed = yield* Effect.flip(commands.run("sh", ["-c", `echo 'sh: no space left on device' >&2; ${flood} >&2; exit 1`]))
    expect(failed.reason).toBe("exited with status 1: sh: no space left on device")
  })
)

it.scoped("runLogged echoing to a stream (the phase's stdout, a pipe its reader empties slower than the program writes: OpenRC's logger) holds no more than 1 MiB and a chunk in it: the rest waits in the log, not in memory; all of it is echoed", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-run-logged-", tmpdir())
    // a reader that takes each chunk on a later turn; what it has not taken yet is the stream's buffer
    const { reader, taken } = slowReader()
    let mostBuffered = 0
    const echo = streamEcho(reader)
    const commands = makeLiveCommands(
      (chunk) => {
        const more = echo(chunk)
        mostBuffered = Math.max(mostBuffered, reader.writableLength)
        return more
      },
      { PATH: process.env.PATH }
    )
    // 16 MB at once (made first, then copied in big writes): the echo finds much more in the log than its reader takes
    const status = yield* commands.runLogged("sh", ["-c", `head -c 16777216 /dev/zero > "${dir}/big"; cat "${dir}/big"`], { logFile: join(dir, "user-data.log"), echo: true })
    yield* Effect.async<void>((resume) => void reader.end(() => resume(Effect.void)))
    expect([status, taken()]).toEqual([0, 16777216])
    expect(mostBuffered).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024)
  })
)

it.scoped("runLogged echoing to a stream is done once the stream has let out all the program wrote: the phase's next line, on the console its stderr shares (OpenRC's), comes after the output, not amid it", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-run-logged-", tmpdir())
    // a reader that takes each chunk on a later turn, as a pipe its reader empties slower than the program writes
    const { reader, taken } = slowReader()
    const commands = makeLiveCommands(streamEcho(reader), { PATH: process.env.PATH })
    const status = yield* commands.runLogged("sh", ["-c", `head -c 4296704 /dev/zero > "${dir}/big"; cat "${dir}/big"`], { logFile: join(dir, "user-data.log"), echo: true })
    expect([status, taken(), reader.writableLength]).toEqual([0, 4296704, 0])
  })
)

it.scoped("a program on PATH that may not be run (an image's file without its x bit, a directory by its name) fails in words, not Node's `spawn NAME EACCES`", () =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tc-not-runnable-", tmpdir())
    writeFileSync(join(dir, "rc-update"), "#!/bin/sh\nexit 0\n", { mode: 0o644 })
    mkdirSync(join(dir, "hostname"))
    const commands = makeLiveCommands(() => {}, { PATH: dir })
    const reason = (command: string) => Effect.map(Effect.flip(commands.run(command, [])), (e) => e.message)
    expect([yield* reason("rc-update"), yield* reason("hostname"), yield* reason("adduser")]).toEqual([
      "rc-update: cannot be started: permission denied",
      "hostname: cannot be started: permission denied",
      "adduser: command not found"
    ])
  })
)

it.effect("a PATH's empty and relative entries (`PATH=:/usr/bin:.`) are left out: a program in the working directory is never looked up, nor run, in the system's stead", () =>
  Effect.gen(function* () {
    // the tests run in the worktree, whose node_modules/.bin has vitest
    expect(yield* makeLiveCommands(() => {}, { PATH: "node_modules/.bin:/usr/bin" }).has("vitest")).toBe(false)
    const r = yield* makeLiveCommands(() => {}, { PATH: ":/usr/bin:.:node_modules/.bin:/bin:" }).run("env", [])
    expect(textOf(r.stdout).split("\n")).toContain("PATH=/usr/bin:/bin")
    // none left: the system's
    const none = yield* makeLiveCommands(() => {}, { PATH: ".:" }).run("env", [])
    expect(textOf(none.stdout).split("\n")).toContain("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
    // an empty one (`PATH=`), which spawn reads as the working directory alone: the system's
    const empty = yield* makeLiveCommands(() => {}, { PATH: "" }).run("env", [])
    expect(textOf(empty.stdout).split("\n")).toContain("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
    expect(yield* makeLiveCommands(() => {}, { PATH: "" }).has("env")).toBe(true)
  })
)
