/**
 * A phase run as a process of its own, stopped by a signal (OpenRC's SIGTERM, a Ctrl-C, a hangup): one line says so,
 * on stderr and to syslog, and it dies of the signal (the shell's 128 + its number), doing nothing more; the user's
 * program it ran is passed the signal and, not having ended of itself, runs again with the next final; the flock waiting
 * for its lock ends with it, as it does with the resident process stopped while it serves the phase. (Other signals to
 * the resident process: smoke/resident.test.ts; SIGKILL at every point: the crash points.)
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { PROGRAM, TEST_CODE_CACHE, useInstances, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { bootAndServe, serverPid, servicesEnv, startService, until } from "../support/openrc.js"

const makeInstance = useInstances()

/** `tiny-cloud PHASE` leading a process group of its own, as OpenRC's service or a shell's foreground job runs it */
const startPhase = (instance: TestInstance, phase: string) => {
  const child = spawn(process.execPath, [PROGRAM, phase], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env, ...PATIENT_METADATA }, stdio: ["ignore", "ignore", "pipe"], detached: true })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) => child.on("close", (code, signal) => done({ code, signal, stderr })))
  return { pid: child.pid!, stderr: () => stderr, ended }
}

/** the processes whose stdin is `path` opened: a phase's flock for its lock */
const waitingOn = (path: string) =>
  readdirSync("/proc").filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readlinkSync(`/proc/${pid}/fd/0`) === path
    } catch {
      return false
    }
  })

/** what the phase sent to syslog (the stand-in logger's record), line by line */
const syslogLines = (instance: TestInstance) => readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).flatMap((c) => c.stdin.map((l) => `${c.line}: ${l}`))

describe.concurrent("a phase stopped by a signal", () => {
  it.each(["SIGTERM", "SIGINT", "SIGHUP"] as const)("while it waits for the lock (%s): one line says so, on stderr and to syslog, and it dies of the signal, the flock waiting for it with it", async (signal) => {
    const instance = await makeInstance({ cloud: "aws" })
    // another phase holds the lock (the directory's), as one run by hand would
    // (-o: the lock is flock's alone, not its command's, so that it goes with it)
    const holder = spawn("flock", ["-o", "-x", join(instance.root, "var/lib/cloud"), "-c", "echo held; exec sleep 1000"], { stdio: ["ignore", "pipe", "ignore"] })
    try {
      await new Promise((held) => holder.stdout.once("data", held))
      const early = startPhase(instance, "early")
      await until(() => early.stderr().includes("another phase is running; waiting for it to end\n"), "early waits for the lock")
      process.kill(early.pid, signal)
      const ended = await early.ended
      expect({ code: ended.code, signal: ended.signal }).toEqual({ code: null, signal })
      expect(ended.stderr.split("\n").slice(-2)).toEqual([`tiny-cloud/early: stopped by ${signal}; the phase did not finish`, ""])
      expect(syslogLines(instance)).toContain(`logger -p local7.err -t tiny-cloud/early[${early.pid}]: stopped by ${signal}; the phase did not finish`)
      // nor is the flock that waited for the lock on its behalf left waiting (it would take the lock once it is free)
      expect(waitingOn(join(instance.root, "var/lib/cloud"))).toEqual([])
    } finally {
      holder.kill("SIGKILL")
    }
  })

  it("during runcmd (SIGTERM): the line said, the runcmd signalled and not recorded as ended, so the next final runs it again", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-stopped-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const runs = join(marks, "runs")
    const userData = `#cloud-config\nruncmd:\n  - "echo run >> ${runs}; [ -e ${marks}/again ] || exec sleep 1000"\n`
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.runHere([phase])).code).toBe(0)
    const final = startPhase(instance, "final")
    await until(() => existsSync(runs), "runcmd runs")
    process.kill(final.pid, "SIGTERM")
    const ended = await final.ended
    expect({ code: ended.code, signal: ended.signal }).toEqual({ code: null, signal: "SIGTERM" })
    expect(ended.stderr.split("\n").slice(-2)).toEqual(["tiny-cloud/final: stopped by SIGTERM; the phase did not finish", ""])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    rmSync(runs)
    writeFileSync(join(marks, "again"), "")
    const again = await instance.run(["final"], PATIENT_METADATA)
    expect(again.code).toBe(0)
    expect(readFileSync(runs, "utf8")).toBe("run\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe("the resident process stopped by a signal", () => {
  it("while the phase it serves waits for the lock: the flock waiting for it ends with it", async () => {
    const instance = await makeInstance({ cloud: "aws" })
    const env = servicesEnv(instance)
    expect((await bootAndServe(env, instance)).code).toBe(0)
    const lock = join(instance.root, "var/lib/cloud")
    // a phase run by hand holds the lock (-o: flock's alone, so that it goes with it)
    const holder = spawn("flock", ["-o", "-x", lock, "-c", "echo held; exec sleep 1000"], { stdio: ["ignore", "pipe", "ignore"] })
    try {
      await new Promise((held) => holder.stdout.once("data", held))
      const early = startService("early", env)
      await until(() => waitingOn(lock).length > 0, "the resident process's early waits for the lock")
      process.kill(serverPid(instance)!, "SIGTERM")
      await early
      expect(waitingOn(lock)).toEqual([])
    } finally {
      holder.kill("SIGKILL")
    }
  })
})
