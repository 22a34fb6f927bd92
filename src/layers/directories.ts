/** Making directories without Effect, so that the resident process's start can use it too. */
import { closeSync, constants, existsSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs"

/** the directory a path is in; `/` for one at the top, or a bare name */
export const dirname = (path: string) => {
  const i = path.lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}

const isDirectory = (hostPath: string) => statSync(hostPath, { throwIfNoEntry: false })?.isDirectory() === true

/**
 * The directory at `hostPath` and its missing parents, one mkdir each, so that a failure is the kernel's own:
 * Node's recursive mkdir gives ENOENT ('not found') where the kernel said EROFS. A file in the way is 'not a directory'.
 * Each made gets `mode` whatever the umask: a phase run with 077 made a missing /home 0700, which its user could not enter
 * (sshd reads authorized_keys as the user)
 */
export const mkdirs = (hostPath: string, mode: number) => {
  const missing: Array<string> = []
  for (let p = hostPath; !existsSync(p); p = dirname(p)) missing.unshift(p)
  for (const p of missing) {
    try {
      mkdirSync(p, mode)
      // the directory made, not what a link put in its place meanwhile leads to (a user may rename what is made in their home)
      const fd = openSync(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
      try {
        fchmodSync(fd, mode)
      } finally {
        closeSync(fd)
      }
    } catch (e) {
      // made meanwhile by another process
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !isDirectory(p)) throw e
    }
  }
  if (!isDirectory(hostPath)) throw Object.assign(new Error("EEXIST"), { code: "EEXIST" })
}
