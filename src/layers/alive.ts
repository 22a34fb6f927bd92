import { readFileSync } from "node:fs"

/**
 * whether a process of this pid exists (one we may not signal counts: it is someone's). A thread's id is
 * not a process's, though kill(2) takes it: after a reboot a crashed process's pid may be a thread of a live one
 */
export const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
  try {
    const tgid = /^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))?.[1]
    return tgid === undefined || Number(tgid) === pid
  } catch {
    return true
  }
}
