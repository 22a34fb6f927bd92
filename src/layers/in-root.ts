/**
 * Paths under ROOT resolved as a chroot would (`openat2` with
 * RESOLVE_IN_ROOT): an absolute link target starts again at ROOT, `..` stops
 * at ROOT, so no path of the instance ever leads outside it, whatever links
 * an image holds.
 */
import { lstatSync, readlinkSync, type Stats } from "node:fs"

/** what to do with a link as the last component: follow it (in ROOT), keep it (the link itself), or refuse it */
export type FinalLink = "follow" | "keep" | "refuse"

export class Unresolvable extends Error {}

const MAX_LINKS = 40

const lstat = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

/** the host path of `path` (a host path; only one under `root` is resolved), with every link resolved inside `root` */
export const resolveInRoot = (root: string, path: string, final: FinalLink): string => {
  const under = root !== "" && (path === root || path.startsWith(`${root}/`))
  if (!under) {
    if (final !== "refuse") return path
    if (lstat(path)?.isSymbolicLink()) throw new Unresolvable("is a symbolic link; refused")
    return path
  }
  const resolved: Array<string> = []
  const pending = path.slice(root.length).split("/")
  let links = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === "" || part === ".") continue
    if (part === "..") {
      resolved.pop()
      continue
    }
    const candidate = `${root}/${[...resolved, part].join("/")}`
    const last = pending.every((p) => p === "" || p === ".")
    if (lstat(candidate)?.isSymbolicLink()) {
      if (last && final === "keep") return candidate
      if (last && final === "refuse") throw new Unresolvable("is a symbolic link; refused")
      if (++links > MAX_LINKS) throw new Unresolvable("too many levels of symbolic links")
      const target = readlinkSync(candidate)
      if (target.startsWith("/")) resolved.length = 0
      pending.unshift(...target.split("/"))
      continue
    }
    resolved.push(part)
  }
  return resolved.length === 0 ? root : `${root}/${resolved.join("/")}`
}
