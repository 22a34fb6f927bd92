/**
 * Leaving the process once standard output has taken everything written to
 * it: a write that failed (a full disk, a closed descriptor) is one line and
 * exit status 1, never a silent 0 over a cut-off file; a closed pipe
 * (`imds @userdata | head -c 10`) ends the output, and is not an error.
 */
import { reasonOf } from "../layers/regular-file.js"

let failed = false
/** the command whose output it is, as its lines name it: imds by either spelling (set by watchOutput) */
let program = "tiny-cloud"
/** stdout only echoes what the user's programs print, which their log keeps (a phase): its failure ends the echo, not the command */
let echoOnly = false
/** such an echo failed otherwise than by its reader's going (a full disk): the command's status is 1 */
let echoFailed = false

const outputFailed = (e: NodeJS.ErrnoException): void => {
  if (failed) return
  failed = true
  if (e.code === "EPIPE") return echoOnly ? undefined : process.exit(0)
  process.stderr.write(`${program}: cannot write to standard output: ${reasonOf(e)}\n`)
  if (echoOnly) {
    echoFailed = true
    return
  }
  process.exit(1)
}

/**
 * For a phase, whose stdout is only the echo of a user-data script's (or
 * runcmd's) output, kept whole in user-data.log: a stdout that cannot take
 * it (a full console, a reader that is gone) ends the echo, and the phase
 * goes on to its end, as the shell edition's `tee` did; a process ended in
 * the middle of final would leave the script's exit status unwritten, the
 * bootstrap incomplete, and the script to run again. The failure is one line
 * and status 1 (a closed pipe none, as above).
 */
export const stdoutIsEcho = () => {
  echoOnly = true
}

/**
 * stdout's failures handled as above, named after `name`'s command (`imds`,
 * whether called so or as `tiny-cloud imds`); the entry calls it first. Stderr's own
 * failure (its reader gone: EPIPE) has nowhere to be told and is no reason to
 * stop: the lines still go to syslog, and the command goes on to its own end
 * and status. Unwatched, the failed write is an uncaught error that ends the
 * process with status 1 at once (a phase before its first action).
 */
export const watchOutput = (name = "tiny-cloud") => {
  program = name
  process.stdout.on("error", outputFailed)
  process.stderr.on("error", () => {})
}

/** once `stream` has taken what was written to it (at once when nothing waits); a failed write is `onError`'s */
const drained = (stream: NodeJS.WriteStream, onError: (e: Error) => void): Promise<void> =>
  new Promise((done) => {
    if (stream.writableLength === 0) return done()
    stream.write("", (e) => {
      if (e) onError(e)
      done()
    })
  })

/**
 * Exits with `code` once stdout and stderr have taken everything (a pipe to
 * a slow reader takes writes later: exiting at once would cut the lines off),
 * or as above when stdout could not. A failed write is reported on the next
 * turn, hence the wait; with nothing left to take, nothing more is written
 * (a command that printed nothing does not fail on a full disk). Stderr's
 * own failure has nowhere to be told.
 */
export const exitAfterOutput = (code: number): Promise<never> =>
  new Promise(() => {
    process.exitCode = code
    setImmediate(() => {
      const stopped = () => failed && !echoOnly
      if (stopped()) return
      void Promise.all([drained(process.stdout, outputFailed), drained(process.stderr, () => {})]).then(
        () => stopped() || process.exit(echoFailed && code === 0 ? 1 : code)
      )
    })
  })

/** a failure of the program itself (never one of its inputs): one line and status 1 */
export const internalError = (e: unknown): never => {
  process.stderr.write(`tiny-cloud: internal error: ${e instanceof Error ? e.message : String(e)}\n`)
  return process.exit(1)
}
