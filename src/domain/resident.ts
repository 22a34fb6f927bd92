/**
 * The resident process of a first boot (`tiny-cloud serve`) and the OpenRC
 * scripts' client (`openrc/client.sh`, busybox `sh` only) talk through
 * FIFOs in `$ROOT/run/tiny-cloud/`:
 *
 * - the client makes its reply FIFO `reply.PID` and writes its environment
 *   (`export -p`) to `env.PID`, then one line to `requests`:
 *   `PHASE PID`;
 * - the server answers on `reply.PID`: `A` (taken), then the phase's output,
 *   one line each: `1 TEXT` (stdout), `1-TEXT` (stdout, no newline after),
 *   `2 TEXT` (stderr), and at last `X STATUS`.
 *
 * A client whose server dies before it answers `A`, or that gets no `A`
 * within about 10 s, or no `X` before the reply ends, runs the phase in a
 * process of its own, as without the resident process. The boot script
 * makes `requests` and writes the starting server's pid to
 * `server.starting` (removed once the server has written `server.pid`): a
 * request made meanwhile waits in the FIFO until the server reads it.
 */
import { PHASES, type Phase } from "./phases.js"

export const RUN_DIR = "/run/tiny-cloud"

export interface ResidentPaths {
  readonly dir: string
  readonly requests: string
  readonly pid: string
  readonly starting: string
  readonly reply: (client: number) => string
  readonly env: (client: number) => string
}

/** the FIFOs and files under ROOT */
export const residentPaths = (root: string): ResidentPaths => {
  const dir = `${root}${RUN_DIR}`
  return {
    dir,
    requests: `${dir}/requests`,
    pid: `${dir}/server.pid`,
    starting: `${dir}/server.starting`,
    reply: (client) => `${dir}/reply.${client}`,
    env: (client) => `${dir}/env.${client}`
  }
}

export interface Request {
  readonly phase: Phase
  readonly client: number
}

/** a request line, or undefined for anything else */
export const parseRequest = (line: string): Request | undefined => {
  const m = /^([a-z]+) ([1-9]\d{0,9})$/.exec(line.trim())
  if (m === null || !(PHASES as ReadonlyArray<string>).includes(m[1]!)) return undefined
  return { phase: m[1] as Phase, client: Number(m[2]) }
}

/** output as reply lines: every complete line, and what is left of an unfinished one */
export const replyLines = (stream: 1 | 2, text: string): { readonly lines: string; readonly rest: string } => {
  const parts = text.split("\n")
  const rest = parts.pop()!
  return { lines: parts.map((l) => `${stream} ${l}\n`).join(""), rest }
}

/** the end of a reply: what was left of an unfinished stdout line, then the status */
export const replyEnd = (restOfStdout: string, restOfStderr: string, status: number): string =>
  `${restOfStdout === "" ? "" : `1-${restOfStdout}\n`}${restOfStderr === "" ? "" : `2 ${restOfStderr}\n`}X ${status}\n`
