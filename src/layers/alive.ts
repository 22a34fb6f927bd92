import { readFileSync, readlinkSync } from "node:fs"
import { basename } from "node:path"
import { SERVER_TITLE } from "../domain/resident.js"

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
    const status = readFileSync(`/proc/${pid}/status`, "latin1")
    // a zombie has ended (its parent has not reaped it yet): it writes nothing more
    if (/^State:\s*[ZX]/m.test(status)) return false
    const tgid = /^Tgid:\s*(\d+)$/m.exec(status)?.[1]
    return tgid === undefined || Number(tgid) === pid
  } catch {
    return true
  }
}

/** a command name (`/proc/PID/comm`), at most 15 characters */
const comm = (pid: number | "self") => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").replace(/\n$/, "")
  } catch {
    return undefined
  }
}

/**
 * whether a process of this pid may be a writer of this program's temporaries: alive (`processAlive`), and
 * of this program's command name (node's, the resident process's title, or this process's own) or of none
 * /proc shows. After a reboot a crashed phase's pid is often another program's (a daemon, a kernel thread),
 * whose temporaries it never made
 */
export const programAlive = (pid: number) => {
  if (!processAlive(pid)) return false
  if (!procShowsOurs()) return true
  const name = comm(pid)
  return name === undefined || [basename(process.execPath).slice(0, 15), SERVER_TITLE.slice(0, 15), comm("self")].includes(name)
}
