import { readFileSync, readlinkSync } from "node:fs"

/**
 * whether /proc shows this process's PID namespace: in one without a /proc of its own (`unshare -p`), /proc/PID is
 * the host's process of that number, whatever the namespace's is
 */
let procIsOurs: boolean | undefined
const procShowsOurs = () => {
  if (procIsOurs === undefined) {
    try {
      procIsOurs = readlinkSync("/proc/self") === String(process.pid)
    } catch {
      procIsOurs = false
    }
  }
  return procIsOurs
}

/**
 * whether a process of this pid exists (one we may not signal counts: it is someone's). A thread's id is
 * not a process's, though kill(2) takes it: after a reboot a crashed process's pid may be a thread of a live one.
 * Where /proc is another namespace's, its status tells nothing of this pid: kill(2)'s answer stands
 */
export const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
  if (!procShowsOurs()) return true
  try {
    const tgid = /^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))?.[1]
    return tgid === undefined || Number(tgid) === pid
  } catch {
    return true
  }
}
