/**
 * Reading a file of the instance's, which an image or the network may have
 * made anything: without Effect, so that the entry's `--bootstrap status`
 * can use it too.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, openSync, readFileSync, readSync } from "node:fs"

/** `not found`, `permission denied`, `is a directory`...: the system's words without the path (the message names it) */
export const reasonOf = (e: unknown): string => {
  const error = e as NodeJS.ErrnoException
  if (error.code === "ENOENT") return "not found"
  if (error.code === "ERR_FS_EISDIR") return "is a directory"
  return /^[A-Z0-9]+: ([^,]+)/.exec(error.message ?? "")?.[1] ?? String(error.message ?? e)
}

/** a file of the program's own written where it is (a log) that has other names: a hard link, left in an image, to another file, which the write would change */
const HARD_LINK = "is a hard link; refused"

/**
 * A log of the program's own, opened as `fd` to be written where it is (user-data.log): a regular file (a FIFO would
 * swallow the output, or block its writer once full) with this one name (HARD_LINK), made root's alone with `mode`
 * whatever mode and owner it had (an image's leftover another user owns: what the user's programs print may be secret;
 * the owner first: chown clears the setuid bits). Throws otherwise.
 */
export const claimLog = (fd: number, mode: number): void => {
  const stat = fstatSync(fd)
  if (!stat.isFile()) throw new Error("not a regular file; refused")
  if (stat.nlink > 1) throw new Error(HARD_LINK)
  if (stat.uid !== 0 && process.getuid?.() === 0) fchownSync(fd, 0, 0)
  fchmodSync(fd, mode)
}

/** why a file was not read, though it could be opened */
export interface Refusal {
  readonly refused: string
  /** the file was larger than this many bytes */
  readonly exceeded?: number
  /** its size, when it was */
  readonly size?: number
}

/**
 * `use` of the regular file at `hostPath` (its descriptor and size): opened
 * without waiting (a FIFO would block the open) and refused unless regular
 * (a device reads without end); closed after. Throws what the system throws on opening.
 */
const withRegularFile = <A>(hostPath: string, use: (fd: number, size: number) => A | Refusal): A | Refusal => {
  const fd = openSync(hostPath, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) return { refused: "not a regular file; refused" }
    return use(fd, stat.size)
  } finally {
    closeSync(fd)
  }
}

/** The bytes of the regular file at `hostPath` (withRegularFile), at most `maxBytes` */
export const readRegularFile = (hostPath: string, maxBytes: number | undefined): Uint8Array | Refusal =>
  withRegularFile(hostPath, (fd, size): Uint8Array | Refusal =>
    maxBytes !== undefined && size > maxBytes ? { refused: `larger than ${maxBytes} bytes`, exceeded: maxBytes, size } : readFileSync(fd)
  )

/**
 * Each line of the regular file at `hostPath` (its `\n` left out), in order, read a block at a time: the memory it
 * takes is a block and a line, whatever the file's size (an image's /etc/passwd of many accounts, or a line of
 * gigabytes). A line longer than `maxLineBytes` is passed over unread; `visit` returning true ends the read. Opened and
 * refused as `readRegularFile` does. Throws what the system throws on opening or reading.
 */
export const scanRegularFileLines = (hostPath: string, visit: (line: string) => boolean | void, maxLineBytes: number): undefined | Refusal =>
  withRegularFile(hostPath, (fd, size) => {
    // no larger than the file (and one byte, to find its end): an image's /etc/passwd of a few lines, looked up several
    // times a phase, costs its size, as a whole read did, not 1 MiB made and zeroed each time
    const block = Buffer.alloc(Math.min(1024 * 1024, size + 1))
    // a byte-order mark is kept, as the system's getpwnam reads it (the default decoder drops one at each line's start)
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
    let line: Array<Buffer> = []
    let length = 0
    let overlong = false
    const take = (part: Buffer) => {
      if (overlong) return
      length += part.length
      if (length > maxLineBytes) {
        overlong = true
        line = []
      } else if (part.length > 0) line.push(Buffer.from(part))
    }
    const end = (): boolean => {
      const stop = !overlong && visit(decoder.decode(Buffer.concat(line, length))) === true
      line = []
      length = 0
      overlong = false
      return stop
    }
    for (;;) {
      const n = readSync(fd, block, 0, block.length, null)
      if (n === 0) break
      let from = 0
      for (let at = block.indexOf(0x0a, 0); at !== -1 && at < n; at = block.indexOf(0x0a, from)) {
        take(block.subarray(from, at))
        from = at + 1
        if (end()) return undefined
      }
      take(block.subarray(from, n))
    }
    if (length > 0 || overlong) end()
    return undefined
  })
