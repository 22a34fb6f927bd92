import type { ChildProcess, ChildProcessWithoutNullStreams } from "node:child_process"
import { accessSync, closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, readSync } from "node:fs"
import { constants as osConstants } from "node:os"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CommandError } from "../domain/errors.js"
import { openFilesCommands, openFilesLimitOf, type OpenFilesLimit } from "../domain/open-files.js"
import { lines, messageOf, textOf } from "../domain/text.js"
import { Commands, type CommandResult, type CommandsShape } from "../services/Commands.js"
import { childProcess } from "./builtins.js"
import { claimLog, reasonOf } from "./regular-file.js"

/** the environment programs run with: this process's, or that of the resident process's client */
export type Environment = Readonly<Record<string, string | undefined>>

/**
 * Where programs are looked up when the environment has no PATH: ifupdown-ng
 * runs its executors (imds, which runs net-sync) with none, and without this
 * the lookup would be /usr/bin:/bin, where Alpine has no `ip` (/sbin/ip).
 */
const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

/** `path`: the PATH programs run with (makeLiveCommands gives SYSTEM_PATH where the environment has none) */
const onPath = (path: string, command: string): boolean => {
  if (command.includes("/")) return isExecutable(command)
  return path.split(":").some((dir) => dir !== "" && isExecutable(`${dir}/${command}`))
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The line of a failed program's stderr that names its problem: the first it wrote as its own, `NAME: ...`, as
 * util-linux, e2fsprogs and busybox write their errors (resize2fs opens with its version, sfdisk on a grown GPT
 * disk with the warnings of what it will correct); else its first line that is not its version.
 */
export const problemLine = (command: string, bytes: Uint8Array) => {
  const name = command.split("/").pop() ?? command
  const version = (l: string) => l.startsWith(`${name} `) && /^\d\S* \([^)]*\)$/.test(l.slice(name.length + 1))
  const said = lines(textOf(bytes)).filter((l) => !version(l))
  return (said.find((l) => l.startsWith(`${name}: `)) ?? said[0] ?? "").slice(0, 200)
}

/** the child inherits the umask when it is forked, which spawn does before it returns: ours is back at once */
const withUmask = <A>(mask: number | undefined, start: () => A): A => {
  if (mask === undefined) return start()
  const ours = process.umask(mask)
  try {
    return start()
  } finally {
    process.umask(ours)
  }
}

/**
 * why spawn refused to start a program at all (it throws): an argument with a NUL byte, arguments past the
 * system's limit (E2BIG); the arguments may be the user's, so they are not repeated
 */
const notStarted = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === "ERR_INVALID_ARG_VALUE" ? "an argument contains a NUL byte" : code === "E2BIG" ? "its arguments are too long (E2BIG)" : messageOf(e)
}

/**
 * what is kept of a program's stderr (the line that names its problem is among its first) and, where no
 * maxOutputBytes is given, of its stdout: the rest is read and dropped, the program left to run, so that one that
 * floods them (100 MB of warnings) costs no more memory than this
 */
export const STDERR_KEPT_BYTES = 64 * 1024
export const STDOUT_KEPT_BYTES = 1024 * 1024

/** `chunk` added to `kept` (of `size` bytes so far) up to `limit` bytes; the new size */
export const keep = (kept: Array<Buffer>, size: number, chunk: Buffer, limit: number): number => {
  if (size < limit) kept.push(size + chunk.length <= limit ? chunk : chunk.subarray(0, limit - size))
  return Math.min(limit, size + chunk.length)
}

/**
 * why a program found no start (spawn's error event), in words rather than Node's (`spawn rc-update EACCES`): a file
 * by its name on PATH that may not be run (mode 0644, a directory in its place) is EACCES
 */
export const whyNotSpawned = (e: NodeJS.ErrnoException): string =>
  e.code === "ENOENT" ? "command not found" : e.code === "EACCES" ? "cannot be started: permission denied" : `cannot be started: ${e.code ?? e.message}`

const run =
  (env: Environment): CommandsShape["run"] =>
  (command, args, options = {}) =>
    Effect.flatMap(childProcess, ({ spawn }) =>
      Effect.async<CommandResult, CommandError>((resume) => {
        let child: ChildProcessWithoutNullStreams
        try {
          child = withUmask(options.umask, () =>
            spawn(command, args, {
              stdio: ["pipe", "pipe", "pipe"],
              env: options.env ? { ...env, ...options.env } : env
            })
          )
        } catch (e) {
          resume(Effect.fail(new CommandError({ command, reason: `cannot be started: ${notStarted(e)}` })))
          return
        }
        const out: Array<Buffer> = []
        const errs: Array<Buffer> = []
        let errBytes = 0
        let outKept = 0
        let outBytes = 0
        let overflow = false
        let settled = false
        const settle = (effect: Effect.Effect<CommandResult, CommandError>) => {
          if (!settled) {
            settled = true
            resume(effect)
          }
        }
        child.on("error", (e: NodeJS.ErrnoException) =>
          settle(Effect.fail(new CommandError({ command, reason: whyNotSpawned(e) })))
        )
        // no descriptor left for its pipes (EMFILE, ENFILE: a low RLIMIT_NOFILE): Node gives it none, and says so in the
        // error event alone
        if (!child.stdout || !child.stderr || !child.stdin) return
        child.stdout.on("data", (chunk: Buffer) => {
          outBytes += chunk.length
          if (options.maxOutputBytes !== undefined && outBytes > options.maxOutputBytes) {
            overflow = true
            child.kill("SIGKILL")
            return
          }
          outKept = keep(out, outKept, chunk, options.maxOutputBytes ?? STDOUT_KEPT_BYTES)
        })
        child.stderr.on("data", (chunk: Buffer) => (errBytes = keep(errs, errBytes, chunk, STDERR_KEPT_BYTES)))
        child.on("close", (code, signal) => {
          const result = { exitCode: code ?? 128, stdout: Buffer.concat(out), stderr: Buffer.concat(errs) }
          if (overflow) {
            settle(Effect.fail(new CommandError({ command, reason: `output exceeds ${options.maxOutputBytes} bytes` })))
          } else if (signal !== null) {
            settle(Effect.fail(new CommandError({ command, reason: `killed by ${signal}` })))
          } else if (code !== 0 && !options.allowFailure) {
            const detail = problemLine(command, result.stderr)
            settle(Effect.fail(new CommandError({ command, exitCode: code ?? 1, reason: `exited with status ${code}${detail ? `: ${detail}` : ""}` })))
          } else {
            settle(Effect.succeed(result))
          }
        })
        child.stdin.on("error", () => {})
        if (options.stdin !== undefined) child.stdin.end(options.stdin)
        else child.stdin.end()
        return Effect.sync(() => {
          if (!settled) child.kill("SIGKILL")
        })
      })
    )

/** a user program's exit status: killed by a signal, 128 + its number, the status sh gives it (SIGKILL 137), as the shell edition recorded it */
export const exitStatus = (code: number | null, signal: NodeJS.Signals | null): number =>
  code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)

/** a signal to a program's process group; one already gone is left */
const signalGroup = (pid: number | undefined, signal: NodeJS.Signals) => {
  try {
    if (pid !== undefined) process.kill(-pid, signal)
  } catch {
    // gone
  }
}

/**
 * A logged program's group is not the terminal's, nor the phase's: a Ctrl-C,
 * a hangup or a SIGTERM that ends the phase is passed on to it, as it reached
 * it in the phase's group, so that it does not go on unseen after the phase.
 * A process with a handler of its own (the resident process) keeps it; any
 * other dies of the signal, as before. A confined program (`confined`: its
 * group's leader is the unshare of `simulate --exec`, which blocks SIGINT and
 * SIGTERM, its namespace's first process ignoring them too) ends with this
 * process whatever it does with the signal: its unshare is killed, and the
 * namespace with it (--kill-child), as it would be were the command interrupted.
 */
const forwarders = new WeakSet<object>()
/** a listener of this process's own that, as the forwarders, leaves this process to die of the signal (a phase's line: entry/stopped.ts) */
export const diesOfSignal = (listener: (signal: NodeJS.Signals) => void) => void forwarders.add(listener)

/** programs that only wait on this process's behalf (flock for its lock): ended as it dies of a signal, never left waiting */
const helpers = new Set<Pick<ChildProcess, "kill" | "once">>()
export const endsWithThisProcess = (helper: Pick<ChildProcess, "kill" | "once">) => {
  helpers.add(helper)
  helper.once("exit", () => helpers.delete(helper))
}
/** the helpers ended, as this process is about to die of a signal */
export const endHelpers = () => {
  for (const helper of helpers) helper.kill("SIGKILL")
}
const forwardSignals = (pid: number | undefined, confined: boolean): (() => void) => {
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((signal) => {
    const alone = process.listeners(signal).every((l) => forwarders.has(l))
    const handler = () => {
      signalGroup(pid, signal)
      if (!alone) return
      if (confined) signalGroup(pid, "SIGKILL")
      unforward()
      // and the others that leave it so (a phase's line, said already): the signal's default, so that this process dies
      // at once, never running on to record the program's end as though it had ended of itself
      for (const other of process.listeners(signal)) if (forwarders.has(other)) process.off(signal, other as () => void)
      endHelpers()
      process.kill(process.pid, signal)
    }
    forwarders.add(handler)
    process.on(signal, handler)
    return () => void process.off(signal, handler)
  })
  const unforward = () => handlers.forEach((off) => off())
  return unforward
}

/**
 * where a logged program's output is echoed: this process's stdout, or a resident process's client; `false` when
 * its reader holds enough for now (a client that reads slower than the program writes): the rest waits in the log,
 * as a process of its own waits on its stdout, rather than in memory (an empty chunk asks whether it takes more now)
 */
type Echo = (chunk: Uint8Array) => unknown

const NOTHING = new Uint8Array(0)

/** why the log was not opened, in the words of the other files' refusals: O_NOFOLLOW's ELOOP is a link in its place */
const whyNotLogged = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code
  if (code === "ELOOP") return "is a symbolic link; refused"
  if (code === "EISDIR") return "not a regular file; refused"
  return reasonOf(e)
}

/**
 * The program writes into the log itself, stdout and stderr through one file
 * description (so their order is kept), and the log is echoed as it grows.
 * It is done when it exits, not when its output ends: a background process it
 * started (`daemon &` in a runcmd or a script) holds the log open as it would
 * a terminal, and must not hold the phase up until it exits (the shell
 * edition's `sh -c` did not wait for it either); what it writes later goes
 * on into the log. Everything the program wrote before it exited is echoed.
 */
const runLogged =
  (echo: Echo, env: Environment, confined: boolean, openFiles: () => OpenFilesLimit | undefined): CommandsShape["runLogged"] =>
  (command, args, options) =>
    Effect.flatMap(childProcess, ({ spawn }) =>
      Effect.async<number, CommandError>((resume) => {
        const cannot = (e: unknown) => new CommandError({ command, reason: `cannot write ${options.logFile}: ${whyNotLogged(e)}` })
        let fd: number
        try {
          // a link in the log's place is never followed; emptied below, once it is known to be the log alone. Appended to:
          // a program that opens its stdout anew (`>> /dev/stderr`, as scripts written for a pipe do) writes at the end,
          // and what it writes after through the log's own description lands after that, never over it nor past a hole
          fd = openSync(options.logFile, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
        } catch (e) {
          return resume(Effect.fail(cannot(e)))
        }
        try {
          // a FIFO (which O_RDWR opens without a reader) would block the program once it is full, and the phase with it; a
          // hard link, emptied and written, would be another file: refused, then root's alone, as user-data.log's appends leave it
          claimLog(fd, 0o600)
          ftruncateSync(fd, 0)
        } catch (e) {
          closeSync(fd)
          return resume(Effect.fail(cannot(e)))
        }
        // what the program has written so far and is not echoed yet (read at its place: the program's offset is left alone);
        // up to the log's size as the pump starts, so that a background process writing without end (`yes &`) cannot keep it going
        // (`upTo`: the size the program left at its exit); true once all there is has been echoed, or cannot be
        let echoed = 0
        let held = false
        const pump = (upTo?: number) => {
          if (!options.echo) return true
          // a reader that held enough is asked with an empty chunk whether it takes more now
          if (held && echo(NOTHING) === false) return false
          held = false
          try {
            const size = upTo ?? fstatSync(fd).size
            // emptied by the program (`> /dev/stdout` opens the log anew): what it holds now is echoed from its start
            if (size < echoed) echoed = 0
            while (echoed < size) {
              const chunk = Buffer.alloc(Math.min(64 * 1024, size - echoed))
              const n = readSync(fd, chunk, 0, chunk.length, echoed)
              if (n <= 0) return true
              echoed += n
              if (echo(chunk.subarray(0, n)) === false) {
                held = true
                return false
              }
            }
          } catch {
            // the log cannot be read back: it is written all the same
          }
          return true
        }
        const timer = options.echo ? setInterval(pump, 50) : undefined
        let settled = false
        let draining: NodeJS.Timeout | undefined
        let unforward = () => {}
        const end = () => {
          settled = true
          unforward()
          if (timer !== undefined) clearInterval(timer)
          clearTimeout(draining)
          closeSync(fd)
        }
        // what the program wrote before it exited is echoed before it is done, as fast as the reader takes it
        const finish = (effect: Effect.Effect<number, CommandError>) => {
          if (settled || draining !== undefined) return
          let upTo: number | undefined
          try {
            upTo = fstatSync(fd).size
          } catch {
            upTo = echoed
          }
          const drain = () => {
            if (settled) return
            // and the echo has let it all out (an empty chunk: a stream has nothing left unwritten), so that the phase's
            // next line, on the console its stderr shares with it (OpenRC's), comes after the program's output, not amid it
            if (!pump(upTo) || (options.echo && echo(NOTHING) === false)) {
              draining = setTimeout(drain, 50)
              return
            }
            end()
            resume(effect)
          }
          if (timer !== undefined) clearInterval(timer)
          drain()
        }
        let child: ReturnType<typeof spawn>
        try {
          // a process group of its own: a program that signals its group (`kill 0`, `kill -- -$$`) reaches its own processes, not
          // this phase; with the open-files limit the phase was started with, not the one Node raised
          const limit = openFiles()
          const script = `${limit === undefined ? "" : openFilesCommands(limit)}exec "$@"`
          child = spawn("/bin/sh", ["-c", script, "sh", command, ...args], { stdio: ["ignore", fd, fd], env, detached: true })
        } catch (e) {
          // refused before it starts (an argument with a NUL byte): its words are the user's, so they are not repeated
          finish(Effect.fail(new CommandError({ command, reason: `cannot be started: ${notStarted(e)}` })))
          return
        }
        unforward = forwardSignals(child.pid, confined)
        child.on("error", (e: NodeJS.ErrnoException) => finish(Effect.fail(new CommandError({ command, reason: whyNotSpawned(e) }))))
        child.on("exit", (code, signal) => finish(Effect.succeed(exitStatus(code, signal))))
        return Effect.sync(() => {
          if (settled) return
          child.kill("SIGKILL")
          end()
        })
      })
    )

const stream =
  (env: Environment): CommandsShape["stream"] =>
  (command, args) =>
    Effect.flatMap(childProcess, ({ spawn }) =>
      Effect.try({
        try: () => {
          const child = spawn(command, [...args], { stdio: ["pipe", "ignore", "ignore"], env })
          let gone = false
          child.on("error", () => (gone = true))
          // (no descriptor left for its pipe, EMFILE: Node gives it no stdin, and says so in the error event)
          if (!child.stdin) gone = true
          else child.stdin.on("error", () => (gone = true))
          // neither keeps this process alive; what was written stays in the pipe for the program to read
          child.unref()
          ;(child.stdin as unknown as { unref?: () => void } | null)?.unref?.()
          const exited = () => gone || child.exitCode !== null || child.signalCode !== null
          const close = Effect.async<void>((resume) => {
            if (exited()) return resume(Effect.void)
            const done = () => resume(Effect.void)
            child.once("exit", done).once("error", done)
            // waited for, it keeps this process alive until it is gone
            child.ref()
            child.stdin.end()
            // interruptible: a finalizer (the log's end with its scope) runs uninterruptibly, where the timeout
            // could not stop the wait, and a resident phase's answer waited for a logger that never ends
          }).pipe(Effect.interruptible, Effect.timeoutTo({ duration: "250 millis", onSuccess: () => undefined, onTimeout: () => child.unref() }))
          const discard = Effect.sync(() => {
            if (exited()) return
            child.stdin.end()
            child.kill("SIGTERM")
          })
          return { write: (line: string) => Effect.sync(() => void (gone || child.stdin.write(`${line}\n`))), close, discard }
        },
        catch: (e) => new CommandError({ command, reason: messageOf(e) })
      })
    )

/**
 * the environment programs run with: `given`, with SYSTEM_PATH where it has no PATH. A PATH's empty or relative entries
 * (`PATH=:/usr/bin:.`, an operator's own) are left out: they name the working directory, whatever is there, and this
 * process is root's (a `flock` or `addgroup` there would be run in the system's stead); SYSTEM_PATH where none is left
 */
export const programEnvironment = (given: Environment): Environment => {
  const absolute = given.PATH?.split(":").filter((dir) => dir.startsWith("/")).join(":")
  // (an empty PATH, `PATH=`, is one empty entry to spawn as to execvp: the working directory)
  return absolute && absolute === given.PATH ? given : { ...given, PATH: absolute || SYSTEM_PATH }
}

/** the open-files limit of process `pid` (`/proc/PID/limits`); undefined where it cannot be read (no /proc, the process gone) */
export const openFilesOfProcess = (pid: number): OpenFilesLimit | undefined => {
  try {
    return openFilesLimitOf(readFileSync(`/proc/${pid}/limits`, "latin1"))
  } catch {
    return undefined
  }
}

/** this process's parent's, read once: the limit this process was started with, before Node raised it (src/domain/open-files.ts) */
let parentOpenFiles: { readonly limit: OpenFilesLimit | undefined } | undefined
const startedOpenFiles = () => (parentOpenFiles ??= { limit: openFilesOfProcess(process.ppid) }).limit

/**
 * the system's programs; a logged program's output is also echoed to `echo`; `confined`: each is a confinement
 * (src/domain/confine.ts); `openFiles`: the open-files limit a logged program starts with (this process's parent's)
 */
export const makeLiveCommands = (
  echo: Echo,
  given: Environment = process.env,
  confined = false,
  openFiles: () => OpenFilesLimit | undefined = startedOpenFiles
): CommandsShape => {
  // the programs are looked up, and run, with the PATH `has` looks them up on
  const env = programEnvironment(given)
  const path = env.PATH!
  return {
    run: run(env),
    runLogged: runLogged(echo, env, confined, openFiles),
    has: (command) => Effect.sync(() => onPath(path, command)),
    stream: stream(env)
  }
}

/** what a stream echoing a logged program has not written yet past which the rest waits in the log (as a resident process's reply) */
const ECHO_HELD = 1024 * 1024

/**
 * a stream (this process's stdout) as a logged program's echo: it holds enough once 1 MiB waits in it (a console or a
 * pipe read slower than the program writes: OpenRC's logger, `simulate`'s reader), so that the rest waits in the log,
 * not in this process's memory; one that failed (its reader gone, a full disk: entry/exit.ts says so) takes
 * everything, which goes nowhere, and the program's end is not held up by it
 */
export const streamEcho =
  (out: NodeJS.WritableStream & { readonly destroyed: boolean; readonly writableLength: number }): Echo =>
  (chunk) => {
    if (out.destroyed) return true
    // an empty chunk (the program has exited, or its echo held): whether all written so far has gone out
    if (chunk.length === 0) return out.writableLength === 0
    out.write(chunk)
    return out.destroyed || out.writableLength < ECHO_HELD
  }

export const liveCommands: CommandsShape = makeLiveCommands(streamEcho(process.stdout))

export const CommandsLive = Layer.succeed(Commands, liveCommands)
