/**
 * Paths under ROOT resolved as a chroot would (`openat2` with
 * RESOLVE_IN_ROOT): an absolute link target starts again at ROOT, `..` stops
 * at ROOT, so no path of the instance ever leads outside it, whatever links
 * an image holds.
 */
import { lstatSync, readlinkSync, type Stats } from "node:fs"

/** what to do with a link as the last component: follow it (in ROOT), keep it (the link itself), or refuse it */
export type FinalLink = "follow" | "keep" | "refuse"

class Unresolvable extends Error {}

const MAX_LINKS = 40

const lstat = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

/**
 * Another user's links: followed as any (`follow`), or refused (`refuse`), for what root writes, makes, removes or gives an
 * owner: a user may link what they own (their home, a write_files target's directory) to /etc/shadow, which root would
 * then write or hand to them. A link of root's or of this process's own user is followed either way.
 */
export type OthersLinks = "follow" | "refuse"

/** a link no one but root and this process's user may have made (the kernel gives a link its maker) */
const othersLink = (uid: number) => uid !== 0 && uid !== process.getuid?.()

/**
 * the host path of `path` (a host path; only one under `root` is resolved), with every link resolved inside `root`;
 * where `othersLinks` refuses them, every link on the path is looked at, without ROOT too
 */
export const resolveInRoot = (root: string, path: string, final: FinalLink, othersLinks: OthersLinks = "follow"): string => {
  const under = root === "" ? othersLinks === "refuse" && path.startsWith("/") : path === root || path.startsWith(`${root}/`)
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
    const stat = lstat(candidate)
    if (stat?.isSymbolicLink()) {
      if (last && final === "keep") return candidate
      if (othersLinks === "refuse" && othersLink(stat.uid)) {
        const link = `a symbolic link of another user's (uid ${stat.uid}); refused`
        throw new Unresolvable(last ? `is ${link}` : `passes through ${candidate.slice(root.length)}, ${link}`)
      }
      if (last && final === "refuse") throw new Unresolvable("is a symbolic link; refused")
      if (++links > MAX_LINKS) throw new Unresolvable("too many levels of symbolic links")
      const target = readlinkSync(candidate)
      if (target.startsWith("/")) resolved.length = 0
      pending.unshift(...target.split("/"))
      continue
    }
    resolved.push(part)
  }
  return resolved.length === 0 ? root || "/" : `${root}/${resolved.join("/")}`
}
