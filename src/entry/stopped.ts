/**
 * A phase stopped by a signal (OpenRC's SIGTERM, a Ctrl-C, a hangup) says so
 * in one line, on stderr and to syslog as its other lines, and then dies of
 * the signal, as it did before: its status is 128 + the signal's number, as
 * the shell gives it, and what it did so far is a crash's (the next run
 * finishes it). Without the line, its output just stopped, as after a power cut.
 */
import { spawnSync } from "node:child_process"
import { writeSync } from "node:fs"
import { diesOfSignal, endHelpers, programEnvironment } from "../layers/CommandsLive.js"

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const

/** `tag`: the phase's (`tiny-cloud/final`), which its lines on stderr and in syslog carry */
export const sayWhenStopped = (tag: string) => {
  let said = false
  for (const signal of STOP_SIGNALS) {
    const stopper = () => {
      if (!said) {
        said = true
        const line = `stopped by ${signal}; the phase did not finish`
        try {
          writeSync(2, `${tag}: ${line}\n`)
        } catch {
          // stderr closed or its reader gone: syslog alone
        }
        spawnSync("logger", ["-p", "local7.err", "-t", `${tag}[${process.pid}]`], { input: `${line}\n`, stdio: ["pipe", "ignore", "ignore"], timeout: 2000, env: programEnvironment(process.env) })
      }
      // a user's program running: its forwarder, the next listener, passes the signal on to it, then raises it again
      if (process.listeners(signal).some((l) => l !== stopper)) return
      process.off(signal, stopper)
      // (a flock waiting for the lock on its behalf would take it once it is free, with nobody to hand it to)
      endHelpers()
      process.kill(process.pid, signal)
    }
    diesOfSignal(stopper)
    process.on(signal, stopper)
  }
}
