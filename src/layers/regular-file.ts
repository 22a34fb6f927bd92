/**
 * Reading a file of the instance's, which an image or the network may have
 * made anything: without Effect, so that the entry's `--bootstrap status`
 * can use it too.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs"

/** `not found`, `permission denied`, `is a directory`...: the system's words without the path (the message names it) */
export const reasonOf = (e: unknown): string => {
  const error = e as NodeJS.ErrnoException
  if (error.code === "ENOENT") return "not found"
  if (error.code === "ERR_FS_EISDIR") return "is a directory"
  return /^[A-Z0-9]+: ([^,]+)/.exec(error.message ?? "")?.[1] ?? String(error.message ?? e)
}

/** a file of the program's own written where it is (a log) that has other names: a hard link, left in an image, to another file, which the write would change */
export const HARD_LINK = "is a hard link; refused"

/** why a file was not read, though it could be opened */
export interface Refusal {
  readonly refused: string
  /** the file was larger than this many bytes */
  readonly exceeded?: number
}

/**
 * The bytes of the regular file at `hostPath`, at most `maxBytes`: opened
 * without waiting (a FIFO would block the open) and refused unless regular
 * (a device reads without end). Throws what the system throws on opening.
 */
export const readRegularFile = (hostPath: string, maxBytes: number | undefined): Uint8Array | Refusal => {
  const fd = openSync(hostPath, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) return { refused: "not a regular file; refused" }
    if (maxBytes !== undefined && stat.size > maxBytes) return { refused: `larger than ${maxBytes} bytes`, exceeded: maxBytes }
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}
