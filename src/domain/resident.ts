/**
 * The resident process of a first boot (`tiny-cloud serve`) and the OpenRC
 * scripts' client (`openrc/client.sh`, busybox `sh` only) talk through
 * FIFOs in `$ROOT/run/tiny-cloud/`:
 *
 * - the client makes its reply FIFO `reply.PID` and writes its umask
 *   (`umask`: one line of octal digits) and its environment (`export -p`)
 *   to `env.PID`, then one line to `requests`: `PHASE PID`;
 * - the server answers on `reply.PID`: `N` when it cannot take the request
 *   (an environment it cannot read: the client runs the phase itself), or
 *   `A` (taken), then the phase's output,
 *   one line each: `1 TEXT` (stdout), `1-TEXT` (stdout, no newline after),
 *   `10` (a NUL byte on stdout, which no shell variable holds: a client that
 *   does not know the line leaves it out, as `read` drops NULs), `2 TEXT`
 *   (stderr), and at last `X STATUS`.
 *
 * A client whose server dies before it answers `A`, or that gets no `A`
 * within about 10 s, or no `X` before the reply ends, runs the phase in a
 * process of its own, as without the resident process. The server takes a
 * request by renaming `env.PID` (to `env.PID.taken`), a client that stops
 * waiting withdraws it by renaming it too (`env.PID.withdrawn`): whichever
 * renames it first has the phase, so it never runs twice (a client that
 * finds it taken waits for `A` until the server is gone). The boot script
 * makes `requests` and writes the starting server's pid to
 * `server.starting` (removed once the server has written `server.pid`): a
 * request made meanwhile waits in the FIFO until the server reads it. A
 * `server.pid` counts only while it names a live process of the server's
 * command name (SERVER_TITLE), and a client asks the server it names before
 * one `server.starting` names (a second server, the boot service started
 * again, steps aside for it); then `server.pid` again, which the server
 * writes before it removes `server.starting`.
 */
import { PHASES, type Phase } from "./phases.js"
import { bytesOf, textOf } from "./text.js"

export const RUN_DIR = "/run/tiny-cloud"

/**
 * The resident process's title, which ps shows; its command name
 * (`/proc/PID/comm`) is the first 15 characters, `tiny-cloud-serv`: a
 * `server.pid` naming a live process of another name is a dead server's
 * pid, taken since by another process.
 */
export const SERVER_TITLE = "tiny-cloud-serve"

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

/** the longest line read as a request: `PHASE PID`, with room for a CR and spaces */
const REQUEST_MAX = 64

/**
 * The lines a read of the requests FIFO completes, and what it leaves of the
 * line it ends in, for the next read. That is kept only while it may still be
 * a request (undefined once longer): bytes written with no newline, however
 * many, are neither held nor scanned again, and the line they are in is none.
 */
export const requestLines = (
  unfinished: string | undefined,
  chunk: string
): { readonly lines: ReadonlyArray<string>; readonly unfinished: string | undefined } => {
  const parts: Array<string | undefined> = chunk.split("\n")
  parts[0] = unfinished === undefined ? undefined : unfinished + parts[0]
  const request = (line: string | undefined) => (line !== undefined && line.length <= REQUEST_MAX ? line : undefined)
  const rest = request(parts.pop())
  return { lines: parts.map(request).filter((line) => line !== undefined), unfinished: rest }
}

/** a request line, or undefined for anything else */
export const parseRequest = (line: string): Request | undefined => {
  const m = /^([a-z]+) ([1-9]\d{0,9})$/.exec(line.trim())
  if (m === null || !(PHASES as ReadonlyArray<string>).includes(m[1]!)) return undefined
  return { phase: m[1] as Phase, client: Number(m[2]) }
}

/** stdout text as reply lines, its NUL bytes each a line of its own; `newline`: a newline follows it */
const stdoutLines = (text: string, newline: boolean): string => {
  const parts = text.split("\0")
  const last = parts.pop()!
  const end = newline ? `1 ${last}\n` : last === "" ? "" : `1-${last}\n`
  return `${parts.map((p) => `${p === "" ? "" : `1-${p}\n`}10\n`).join("")}${end}`
}

/**
 * Output as reply lines: every line `chunk` completes (the first with what
 * was left before it, `rest`), and what is left of an unfinished one.
 * Stdout's unfinished line is sent at once (`1-`), as a process of its own
 * writes it: held for its newline, it reached a console that stderr also
 * goes to after the stderr lines written meanwhile. Only the chunk is
 * scanned: a line written in many chunks costs its length once.
 */
export const replyLines = (stream: 1 | 2, rest: string, chunk: string): { readonly lines: string; readonly rest: string } => {
  const parts = chunk.split("\n")
  parts[0] = rest + parts[0]
  const left = parts.pop()!
  if (stream === 2) return { lines: parts.map((l) => `2 ${l}\n`).join(""), rest: left }
  return { lines: `${parts.map((l) => stdoutLines(l, true)).join("")}${stdoutLines(left, false)}`, rest: "" }
}

/** the end of a reply: what was left of an unfinished stdout line, then the status */
export const replyEnd = (restOfStdout: string, restOfStderr: string, status: number): string =>
  `${stdoutLines(restOfStdout, false)}${restOfStderr === "" ? "" : `2 ${restOfStderr}\n`}X ${status}\n`

const EXPORT = /^(?:export|declare -[A-Za-z]*x[A-Za-z]*) ([A-Za-z_][A-Za-z0-9_]*)(=?)/

/** bash's `$'...'` escapes, from just after the opening quote; the value's bytes (one char each) and where the text goes on */
export const ansiC = (text: string, from: number): { readonly bytes: string; readonly end: number } | undefined => {
  const simple: Readonly<Record<string, string>> = { a: "\x07", b: "\b", e: "\x1b", E: "\x1b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", "'": "'", '"': '"', "?": "?" }
  let bytes = ""
  let i = from
  while (i < text.length && text[i] !== "'") {
    if (text[i] !== "\\" || i + 1 >= text.length) {
      bytes += text[i++]
      continue
    }
    const c = text[i + 1]!
    let m: RegExpExecArray | null
    if (c in simple) {
      bytes += simple[c]
      i += 2
    } else if ((m = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))) !== null) {
      bytes += String.fromCharCode(parseInt(m[0], 8) & 0xff)
      i += 1 + m[0].length
    } else if (c === "x" && (m = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 2, i + 4))) !== null) {
      bytes += String.fromCharCode(parseInt(m[0], 16))
      i += 2 + m[0].length
    } else if ((c === "u" || c === "U") && (m = new RegExp(`^[0-9A-Fa-f]{1,${c === "u" ? 4 : 8}}`).exec(text.slice(i + 2, i + 10))) !== null) {
      bytes += String.fromCharCode(...bytesOf(String.fromCodePoint(Math.min(parseInt(m[0], 16), 0x10ffff))))
      i += 2 + m[0].length
    } else if (c === "c" && i + 2 < text.length) {
      bytes += String.fromCharCode(text.charCodeAt(i + 2) & 0x1f)
      i += 3
    } else {
      bytes += `\\${c}`
      i += 2
    }
  }
  return i < text.length ? { bytes, end: i + 1 } : undefined
}

/** a client's `env.PID`: its umask (none from a client that wrote none), then its environment as parseExports reads it */
export const parseClient = (text: string): { readonly umask: number | undefined; readonly env: Record<string, string> | undefined } => {
  const m = /^([0-7]{1,4})\n/.exec(text)
  return { umask: m === null ? undefined : parseInt(m[1]!, 8), env: parseExports(m === null ? text : text.slice(m[0].length)) }
}

/**
 * A client's environment from its `export -p`, as dash and busybox ash
 * (`export NAME='...'`), bash as sh (`export NAME="..."`, `$'...'`) and
 * bash (`declare -x NAME="..."`) print it; `text` holds the file's bytes,
 * one char each (latin1), and the values are decoded as UTF-8. A variable
 * exported but unset (`export NAME`) is left out, as a child process would
 * not get it. Undefined when the text is not such a listing.
 */
export const parseExports = (text: string): Record<string, string> | undefined => {
  // `export __proto__='x'` is a variable like any other
  const values: Record<string, string> = Object.create(null)
  let i = 0
  while (i < text.length) {
    if (text[i] === "\n") {
      i++
      continue
    }
    const m = EXPORT.exec(text.slice(i, text.indexOf("\n", i) < 0 ? text.length : text.indexOf("\n", i)))
    if (m === null) return undefined
    i += m[0].length
    if (m[2] === "") continue
    let bytes = ""
    while (i < text.length && text[i] !== "\n") {
      const c = text[i]!
      if (c === "'") {
        const end = text.indexOf("'", i + 1)
        if (end < 0) return undefined
        bytes += text.slice(i + 1, end)
        i = end + 1
      } else if (c === "$" && text[i + 1] === "'") {
        const quoted = ansiC(text, i + 2)
        if (quoted === undefined) return undefined
        bytes += quoted.bytes
        i = quoted.end
      } else if (c === '"') {
        let j = i + 1
        while (j < text.length && text[j] !== '"') {
          if (text[j] === "\\" && '\\"$`\n'.includes(text[j + 1] ?? "")) {
            if (text[j + 1] !== "\n") bytes += text[j + 1]
            j += 2
          } else bytes += text[j++]
        }
        if (j >= text.length) return undefined
        i = j + 1
      } else if (c === "\\" && i + 1 < text.length) {
        if (text[i + 1] !== "\n") bytes += text[i + 1]
        i += 2
      } else if (c === " " || c === "\t" || c === ";") {
        return undefined
      } else {
        bytes += c
        i++
      }
    }
    values[m[1]!] = textOf(Uint8Array.from(bytes, (b) => b.charCodeAt(0)))
  }
  return values
}
