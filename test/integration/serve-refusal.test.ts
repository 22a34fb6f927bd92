/**
 * `tiny-cloud serve`'s refusal reaches syslog: the boot service sends its
 * stderr to /dev/null, and the reason was lost. A server that starts sends
 * nothing there of its own (no `logger` on a first boot's path).
 */
import { execFileSync, spawn } from "node:child_process"
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { processAlive } from "../../src/layers/alive.js"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { PROGRAM, runProgram, TEST_CODE_CACHE, useInstances } from "../support/harness.js"
import { endResident, serverPid, until } from "../support/openrc.js"
import { itSystem, which } from "../support/system.js"

const newInstance = useInstances()

describe("tiny-cloud serve's refusal", () => {
  it("a file in /run/tiny-cloud's place: one line to stderr and the same to syslog (local7.warning, tiny-cloud/serve[PID]); exit 1", async () => {
    const instance = await newInstance({ cloud: "aws" })
    mkdirSync(join(instance.root, "run"), { recursive: true })
    writeFileSync(join(instance.root, "run/tiny-cloud"), "")
    const r = await runProgram(["serve"], instance.env)
    const line = `${instance.root}/run/tiny-cloud: not a directory; not serving`
    expect(r).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud serve: ${line}\n` })
    // sent as the server ends, not waited for
    const loggerRuns = () => readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger "))
    await until(() => loggerRuns().length > 0, "the line reaches logger")
    const logged = loggerRuns()
    expect(logged).toHaveLength(1)
    expect(logged[0]!.line).toMatch(/^logger -p local7\.warning -t tiny-cloud\/serve\[\d+\]$/)
    expect(logged[0]!.stdin).toEqual([line])
  })

  it("a server that starts, and ends after its idle time, starts no logger", async () => {
    const instance = await newInstance({ cloud: "aws" })
    const r = await runProgram(["serve"], { ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "0.2" })
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger "))).toEqual([])
  })

  it("a logger that does not end: the server ends without waiting for it (a client that read server.starting waits while it lives)", async () => {
    const instance = await newInstance({ cloud: "aws" })
    mkdirSync(join(instance.root, "run"), { recursive: true })
    writeFileSync(join(instance.root, "run/tiny-cloud"), "")
    // a logger that takes its line, then does not end until let go (a syslogd that does not read)
    const bin = join(instance.root, "../hung-logger")
    mkdirSync(bin)
    const at = (name: string) => join(bin, name)
    writeFileSync(
      at("logger"),
      `#!/bin/sh\necho $$ > "${at("pid")}"\ncat > "${at("line")}"\nwhile [ -d "${bin}" ] && ! [ -e "${at("go")}" ]; do sleep 0.05; done\n: > "${at("ended")}"\n`,
      { mode: 0o755 }
    )
    const r = await runProgram(["serve"], { ...instance.env, PATH: `${bin}:${instance.env.PATH}` })
    expect(r.code).toBe(1)
    await until(() => existsSync(at("pid")), "logger runs")
    expect(processAlive(Number(readFileSync(at("pid"), "utf8")))).toBe(true)
    writeFileSync(at("go"), "")
    await until(() => existsSync(at("ended")), "logger ends")
    expect(readFileSync(at("line"), "utf8")).toBe(`${instance.root}/run/tiny-cloud: not a directory; not serving\n`)
  })
})

describe("tiny-cloud serve's requests FIFO", () => {
  it("a FIFO others may write to in its place (made 0666 by another hand) is not listened on: made again, this user's alone (0600)", async () => {
    const instance = await newInstance({ cloud: "aws" })
    const dir = join(instance.root, "run/tiny-cloud")
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    execFileSync("mkfifo", ["-m", "666", join(dir, "requests")])
    expect(lstatSync(join(dir, "requests")).mode & 0o777).toBe(0o666)
    const served = runProgram(["serve"], { ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "30" })
    try {
      await until(() => serverPid(instance) !== undefined, "the server writes server.pid")
      const fifo = lstatSync(join(dir, "requests"))
      expect(fifo.isFIFO()).toBe(true)
      expect(fifo.mode & 0o777).toBe(0o600)
    } finally {
      endResident(instance)
    }
    expect((await served).code).toBe(0)
  })
})

describe("tiny-cloud serve's end", () => {
  // strace holds the server in the removal of server.starting, its first unlink, just after it wrote server.pid and
  // before its own signal handlers are in place: a SIGTERM then (the boot service stopped) must still end it with its clean-up
  itSystem("a SIGTERM the moment server.pid names it ends it with its clean-up: no server.pid, no FIFO left", { tools: { strace: "strace" } }, async () => {
    const instance = await newInstance({ cloud: "aws" })
    const dir = join(instance.root, "run/tiny-cloud")
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeFileSync(join(dir, "server.starting"), "1\n")
    const args = ["-f", "-qq", "-o", "/dev/null", "-e", "trace=unlink,unlinkat", "-e", "inject=unlink,unlinkat:delay_enter=1500000:when=1", process.execPath, PROGRAM, "serve"]
    const traced = spawn(which("strace")!, args, { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "30" }, stdio: "ignore" })
    const ended = new Promise<void>((done) => traced.on("close", () => done()))
    await until(() => serverPid(instance) !== undefined, "the server writes server.pid")
    process.kill(serverPid(instance)!, "SIGTERM")
    await ended
    expect(existsSync(join(dir, "server.pid"))).toBe(false)
    expect(existsSync(join(dir, "requests"))).toBe(false)
  })
})
