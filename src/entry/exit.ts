/**
 * Leaving the process once standard output has taken everything written to
 * it: a write that failed (a full disk, a closed descriptor) is one line and
 * exit status 1, never a silent 0 over a cut-off file; a closed pipe
 * (`imds @userdata | head -c 10`) ends the output, and is not an error.
 */
import { reasonOf } from "../layers/regular-file.js"

let failed = false

const outputFailed = (e: NodeJS.ErrnoException): void => {
  if (failed) return
  failed = true
  if (e.code === "EPIPE") return process.exit(0)
  const program = (process.argv[1] ?? "").split("/").pop()?.startsWith("imds") ? "imds" : "tiny-cloud"
  process.stderr.write(`${program}: cannot write to standard output: ${reasonOf(e)}\n`)
  process.exit(1)
}

/** stdout's failures handled as above; the entry calls it first */
export const watchOutput = () => void process.stdout.on("error", outputFailed)

/**
 * Exits with `code` once stdout has taken everything, or as above when it
 * could not. A failed write is reported on the next turn, hence the wait;
 * with nothing left to take, nothing more is written (a command that printed
 * nothing does not fail on a full disk).
 */
export const exitAfterOutput = (code: number): Promise<never> =>
  new Promise(() => {
    process.exitCode = code
    setImmediate(() => {
      if (failed) return
      if (process.stdout.writableLength === 0) return process.exit(code)
      process.stdout.write("", (e) => (e ? outputFailed(e) : process.exit(code)))
    })
  })
