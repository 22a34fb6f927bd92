/** Making directories, and changing a mode or owner on a file itself, without Effect, so that the resident process's start can use them too. */
import { closeSync, constants, existsSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs"

/** the directory a path is in; `/` for one at the top, or a bare name */
export const dirname = (path: string) => {
  const i = path.lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}

const PARENT_MODE = 0o755

const isDirectory = (hostPath: string) => statSync(hostPath, { throwIfNoEntry: false })?.isDirectory() === true

/**
 * `change` on the file or directory at `hostPath` itself, through a descriptor opened without following a link: a link put in
 * its place after the path was checked (a user renaming what is made in their home) leads nowhere, never to its target
 * (a FIFO is opened without waiting for a writer)
 */
export const onItself = (hostPath: string, change: (fd: number) => void, flags = 0) => {
  const fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | flags)
  try {
    change(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * The directory at `hostPath` and its missing parents, one mkdir each, so that a failure is the kernel's own:
 * Node's recursive mkdir gives ENOENT ('not found') where the kernel said EROFS. A file in the way is 'not a directory'.
 * The directory gets `mode` and each parent made 0755, as root's `mkdir -p` makes them, whatever the umask: a phase run
 * with 077 made a missing /home 0700, which its user could not enter (sshd reads authorized_keys as the user), and a
 * private /run/tiny-cloud in a ROOT without /run made /run 0700, which no one else could enter
 */
export const mkdirs = (hostPath: string, mode: number) => {
  const missing: Array<string> = []
  for (let p = hostPath; !existsSync(p); p = dirname(p)) missing.unshift(p)
  for (const p of missing) {
    const made = p === hostPath ? mode : PARENT_MODE
    try {
      mkdirSync(p, made)
      // the directory made, not what a link put in its place meanwhile leads to (a user may rename what is made in their home)
      onItself(p, (fd) => fchmodSync(fd, made), constants.O_DIRECTORY)
    } catch (e) {
      // made meanwhile by another process
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !isDirectory(p)) throw e
    }
  }
  if (!isDirectory(hostPath)) throw Object.assign(new Error("EEXIST"), { code: "EEXIST" })
}
