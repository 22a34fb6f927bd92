import { closeSync, constants, openSync } from "node:fs"

/**
 * Lets go a reader waiting on the FIFO `path` (a test's background process):
 * it reads the end of the file. Opened non-blocking, so that a reader already
 * gone (or never started: the test failed before) leaves nothing to release,
 * where a plain open for writing would wait for one for good, holding the
 * test's worker, and the whole run, where no timeout can end it.
 */
export const releaseFifo = (path: string) => {
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)
  } catch (e) {
    // ENXIO: no reader; ENOENT: the test's directory already removed
    if ((e as NodeJS.ErrnoException).code === "ENXIO" || (e as NodeJS.ErrnoException).code === "ENOENT") return
    throw e
  }
  closeSync(fd)
}
