import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, rmSync, symlinkSync } from "node:fs"
import { join, relative } from "node:path"
import { gzipSync } from "node:zlib"
import * as Effect from "effect/Effect"
import { actionLines, makeTestInstance } from "../support/instance.js"
import { advancingClock } from "../support/test-clock.js"

describe("action lists", () => {
  it.scopedLive("SKIP_INIT_ACTIONS skips, INIT_ACTIONS_* replaces, an unknown action is logged and passed over", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h.example" },
        conf: 'INIT_ACTIONS_MAIN="set_hostname no_such_action set_ssh_keys"\nSKIP_INIT_ACTIONS="set_ssh_keys"\n'
      })
      const r = yield* instance.run(["main"])
      expect(r.code).toBe(0)
      expect(actionLines(r.stderr)).toEqual([
        "   ++ missing_userdata: starting",
        "   ++ missing_userdata: done",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: done",
        "   ++ no_such_action: starting",
        "   ++ no_such_action: unknown",
        "   -- set_ssh_keys: skipped"
      ])
    })
  )

  it.scopedLive("an action name of INIT_ACTIONS_* with control characters is named escaped on its lines (stderr and syslog say the same) and in analyze; a long one is cut", () =>
    Effect.gen(function* () {
      const long = `a${"x".repeat(5000)}`
      const instance = yield* makeTestInstance({ noSimulator: true, conf: `INIT_ACTIONS_FINAL="run\x1b[2Jaway x\x01y ${long}"\nSKIP_INIT_ACTIONS="x\x01y"\n`, syslog: true })
      const r = yield* instance.run(["final"])
      expect(r.code).toBe(0)
      // syslog gets each line as stderr has it, without the action lines' marks
      const syslog = instance.invocations().filter((i) => i.command === "logger").map((i) => i.stdin)
      expect(syslog).toEqual(r.stderr.split("\n").filter((l) => l !== "").map((l) => `${l.replace(/^ {3}(\+\+|--) /, "")}\n`))
      const cut = `${long.slice(0, 80)}...`
      expect(actionLines(r.stderr)).toEqual([
        "   ++ run\\x1b[2Jaway: starting",
        "   ++ run\\x1b[2Jaway: unknown",
        "   -- x\\x01y: skipped",
        `   ++ ${cut}: starting`,
        `   ++ ${cut}: unknown`,
        "   ++ bootstrap_complete: starting",
        "   ++ bootstrap_complete: done"
      ])
      expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/)
      const analyze = yield* instance.run(["analyze"])
      expect(analyze.stdout).toContain("run\\x1b[2Jaway")
      expect(analyze.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f]/)
      expect(analyze.stdout).not.toContain(long)
    })
  )

  it.scopedLive("the final phase always ends with bootstrap_complete", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", conf: 'INIT_ACTIONS_FINAL=""\n' })
      const r = yield* instance.run(["final"])
      expect(actionLines(r.stderr)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: done"])
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("bootstrap_complete fails in its own lines, not after 'done', when the state directory cannot be one; no marker is left", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      rmSync(join(instance.root, "var/lib/cloud"), { recursive: true, force: true })
      instance.write("/var/lib/cloud", "a file where the state directory goes\n")
      const r = yield* instance.run(["final"])
      expect(r.code).toBe(1)
      expect(actionLines(r.stderr)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: failed"])
      expect(r.stderr).toContain(`\n   ++ bootstrap_complete: starting\nbootstrap_complete: mkdir ${instance.root}/var/lib/cloud: `)
      expect(instance.read("/var/lib/cloud")).toBe("a file where the state directory goes\n")
    })
  )

  it.scopedLive("a marker path that is a dangling symbolic link fails bootstrap_complete in its own lines, not after 'done'; nothing is written through it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      const outside = join(instance.root, "..", `outside-${process.pid}-marker`)
      symlinkSync(outside, join(instance.root, "var/lib/cloud/.bootstrap-complete"))
      const r = yield* instance.run(["final"])
      expect(r.code).toBe(1)
      expect(actionLines(r.stderr)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: failed"])
      expect(r.stderr).toContain(`\n   ++ bootstrap_complete: starting\nbootstrap_complete: write ${instance.root}/var/lib/cloud/.bootstrap-complete: is a symbolic link; refused\n`)
      expect(existsSync(outside)).toBe(false)
    })
  )

  it.scopedLive("a failed action stops its phase with exit 1; the next phase still runs", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1", sshKeys: ["ssh-ed25519 AAAA k"] }, answer: (c) => (c.command === "adduser" ? { exitCode: 1 } : undefined) })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(actionLines(main.stderr)).toEqual(["   ++ missing_userdata: starting", "   ++ missing_userdata: done", "   ++ create_default_user: starting", "   ++ create_default_user: failed"])
      expect(instance.read("/etc/hostname")).toBeUndefined()
      expect((yield* instance.run(["final"])).code).toBe(0)
    })
  )

  it.scopedLive("a host name the cloud serves that is not one fails set_hostname alone: the keys are installed, main exits 1", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "-bad-", sshKeys: ["ssh-ed25519 AAAA k"] } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(actionLines(main.stderr).slice(-4)).toEqual(["   ++ set_hostname: starting", "   ++ set_hostname: failed", "   ++ set_ssh_keys: starting", "   ++ set_ssh_keys: done"])
      expect(main.stderr).toContain("set_hostname: invalid hostname '-bad-'\n")
      expect(instance.read("/etc/hostname")).toBeUndefined()
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA k\n")
    })
  )

  it.scopedLive("a name whose domain is not one (NoCloud's local-hostname, a label over 63) still names the host by its own label, in one line; main exits 1", () =>
    Effect.gen(function* () {
      const name = `web-1.${"a".repeat(64)}.lan`
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { localHostname: name, sshKeys: ["ssh-ed25519 AAAA k"] } })
      yield* instance.run(["early"])
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain(`\nset_hostname: invalid hostname '${name}': the host is named web-1, without a domain\n   ++ set_hostname: failed\n`)
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/etc/hosts")).toContain("127.0.1.1\tweb-1 web-1\n")
      expect(instance.commands()).toContain(`hostname -F ${instance.root}/etc/hostname`)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA k\n")
    })
  )

  it.scopedLive("a hostname -F that fails (no right to name the host) is a warning: /etc/hostname and /etc/hosts are written, and main goes on to the keys", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "web-1.example", sshKeys: ["ssh-ed25519 AAAA k"] },
        answer: (c) => (c.command === "hostname" ? { exitCode: 1 } : undefined)
      })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("\n   ++ set_hostname: starting\nset_hostname: hostname -F /etc/hostname: exited with status 1\n   ++ set_hostname: done\n")
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/etc/hosts")).toContain("127.0.1.1\tweb-1.example web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA k\n")
    })
  )
})

describe("bad input", () => {
  it.scopedLive("a tiny-cloud.conf that cannot be read (a FIFO) is one line; the phase does its work with the defaults and exits 1", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example", sshKeys: ["ssh-ed25519 AAAA k"] } })
      execFileSync("mkfifo", [join(instance.root, "etc/tiny-cloud.conf")])
      const main = yield* instance.run(["main"], { CLOUD: "aws" })
      expect(main.code).toBe(1)
      expect(main.stderr.split("\n")[0]).toBe(`cannot read ${instance.root}/etc/tiny-cloud.conf: not a regular file; refused; the file is ignored`)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA k\n")
    })
  )

  it.scopedLive("a bad value in tiny-cloud.conf is one clear line; its key keeps its default, the phase does all its work and exits 1", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h.example", sshKeys: ["ssh-ed25519 AAAA k"] },
        conf: "CLOUD=aws\nIMDS_TIMEOUT=soon\nnot an assignment\n"
      })
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(1)
      expect(boot.stderr.split("\n").slice(0, 2)).toEqual([
        "tiny-cloud.conf:3: expected KEY=value, got 'not an assignment'; the line is ignored",
        "IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds; the default is used"
      ])
      expect(instance.commands()).toContain("rc-update add sshd default")
      expect((yield* instance.run(["early"])).code).toBe(1)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(instance.read("/etc/hostname")).toBe("h\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA k\n")
      expect((yield* instance.run(["final"])).code).toBe(1)
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      expect(yield* instance.run(["--bootstrap", "status"])).toEqual({ code: 0, stdout: "complete\n", stderr: "" })
      // the run record keeps them: done with errors
      const status = yield* instance.run(["status"])
      expect([status.code, status.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(status.stdout).toContain("warning: configuration: IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds\n")
    })
  )

  // on the TestClock: the deadline's second passes without being waited for
  it.scoped("an unreachable metadata service fails the action after the deadline, naming cloud, URL and error", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws", IMDS_ENDPOINT: "127.0.0.1:9", IMDS_DEADLINE: "1", IMDS_TIMEOUT: "0.2" } })
      const { result: r, elapsedMs } = yield* advancingClock(instance.run(["early"]), "100 millis")
      expect(elapsedMs).toBeGreaterThanOrEqual(1000)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("save_userdata: aws: cannot read http://127.0.0.1:9/latest/api/token: connection refused\n")
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )

  it.scopedLive("503s are retried until the service answers", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "patient.example" }, faults: { failFirst: 4 } })
      const r = yield* instance.run(["main"])
      expect(r.code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("patient\n")
    })
  )

  it.scoped("a service that only answers 500 fails with the last error, leaving nothing behind", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "x" },
        faults: { failFirst: 1_000_000, failStatus: 500 },
        env: { IMDS_DEADLINE: "1" }
      })
      const { result: r, elapsedMs } = yield* advancingClock(instance.run(["main"]))
      expect(elapsedMs).toBeGreaterThanOrEqual(1000)
      expect(r.code).toBe(1)
      // main's first metadata read is set_hostname's, and on aws its first request is for the token
      expect(r.stderr).toContain(`\nset_hostname: aws: cannot read http://${instance.sim!.endpoint}/latest/api/token: HTTP 500\n   ++ set_hostname: failed\n`)
      expect(instance.read("/etc/hostname")).toBeUndefined()
      expect(instance.commands().filter((c) => c.startsWith("hostname "))).toEqual([])
    })
  )

  it.scopedLive("corrupt compressed user-data fails save_userdata with one line; no file is written", () =>
    Effect.gen(function* () {
      const broken = gzipSync("#!/bin/sh\necho hi\n").subarray(0, 12)
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: broken } })
      const r = yield* instance.run(["early"])
      expect(r.code).toBe(1)
      expect(actionLines(r.stderr)).toEqual(["   ++ save_userdata: starting", "   ++ save_userdata: failed"])
      const others = r.stderr.split("\n").filter((l) => l !== "" && !actionLines(r.stderr).includes(l))
      expect(others).toEqual(["save_userdata: cannot decompress gzip data: unexpected end of file"])
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )

  it.scopedLive("no cloud detected: metadata actions fail naming CLOUD in /etc/tiny-cloud.conf; others still run", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
      const main = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_hostname" })
      expect(main.code).toBe(1)
      expect(main.stderr).toContain("   ++ create_default_user: done\n")
      expect(main.stderr).toContain("set_hostname: no cloud detected: set CLOUD in /etc/tiny-cloud.conf\n")
    })
  )

  it.scopedLive("no cloud to read costs each metadata action alone: the actions after it that need none still run, the phase exits 1", () =>
    Effect.gen(function* () {
      for (const env of [{}, { CLOUD: "frobcloud" }] as ReadonlyArray<Record<string, string>>) {
        const instance = yield* makeTestInstance({ noSimulator: true, env })
        const main = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname create_default_user set_ssh_keys" })
        expect(main.code).toBe(1)
        expect(actionLines(main.stderr)).toEqual([
          "   ++ missing_userdata: starting",
          "   ++ missing_userdata: done",
          "   ++ set_hostname: starting",
          "   ++ set_hostname: failed",
          "   ++ create_default_user: starting",
          "   ++ create_default_user: done",
          "   ++ set_ssh_keys: starting",
          "   ++ set_ssh_keys: failed"
        ])
        const named = "CLOUD" in env ? "unknown cloud 'frobcloud'" : "no cloud detected"
        expect(main.stderr.split("\n")).toContain(`set_ssh_keys: ${named}: set CLOUD in /etc/tiny-cloud.conf`)
        expect(instance.read("/etc/passwd")).toContain("\nalpine:")
      }
    })
  )

  it.scopedLive("an unknown CLOUD value is named in the failure", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "frobcloud" } })
      const r = yield* instance.imds(["@hostname"])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe("imds: unknown cloud 'frobcloud': set CLOUD in /etc/tiny-cloud.conf\n")
    })
  )

  it.scopedLive("an unknown CLOUD value is named on one line, its line breaks and control characters escaped, by every command", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, conf: 'CLOUD="aw\ns\x1b[31m"\n' })
      const named = "'aw\\x0as\\x1b[31m'"
      const imds = yield* instance.imds(["@hostname"])
      expect(imds.stderr).toBe(`imds: unknown cloud ${named}: set CLOUD in /etc/tiny-cloud.conf\n`)
      const main = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })
      expect(main.stderr.split("\n")).toContain(`set_hostname: unknown cloud ${named}: set CLOUD in /etc/tiny-cloud.conf`)
      const status = yield* instance.run(["status"])
      expect(status.stdout.split("\n")).toContain(`cloud: ${named.slice(1, -1)} (configured)`)
      const config = yield* instance.run(["config"])
      expect(config.stderr).toBe(`invalid: /etc/tiny-cloud.conf line 1: CLOUD: unknown cloud ${named}\n`)
      const detect = yield* instance.run(["autodetect", "-v"])
      expect(detect.stdout.split("\n")).toContain(`CLOUD=${named.slice(1, -1)} is configured: the phases use it, not detection`)
    })
  )
})

describe("configuration keys", () => {
  it.scopedLive("TINY_CLOUD_VAR and TINY_CLOUD_LOGS move the state and log files", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { userData: new TextEncoder().encode("#!/bin/sh\necho moved\n") },
        conf: "TINY_CLOUD_VAR=/will/be/replaced\n"
      })
      const env = { TINY_CLOUD_VAR: `${instance.root}/state`, TINY_CLOUD_LOGS: `${instance.root}/logs` }
      expect((yield* instance.run(["early"], env)).code).toBe(0)
      expect((yield* instance.run(["final"], env)).code).toBe(0)
      expect(instance.read("/state/user-data")).toBe("#!/bin/sh\necho moved\n")
      expect(instance.read("/logs/user-data.log")).toBe("moved\n")
      expect(instance.read("/logs/user-data.exit")).toBe("0\n")
      expect(instance.read("/state/.bootstrap-complete")).toBe("")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
      expect((yield* instance.run(["--bootstrap", "status"], env)).stdout).toBe("complete\n")
    })
  )

  it.scopedLive("a TINY_CLOUD_VAR or TINY_CLOUD_LOGS of tiny-cloud.conf is a path of the instance, under ROOT as the file is", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { userData: new TextEncoder().encode("#!/bin/sh\necho moved\n") }
      })
      // paths outside ROOT that are the test's own, should they be taken on this machine
      const [state, logs] = [`${instance.dir}/state`, `${instance.dir}/logs`]
      instance.write("/etc/tiny-cloud.conf", `TINY_CLOUD_VAR=${state}\nTINY_CLOUD_LOGS=${logs}\n`)
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect((yield* instance.run(["final"])).code).toBe(0)
      expect(instance.read(`${state}/user-data`)).toBe("#!/bin/sh\necho moved\n")
      expect(instance.read(`${logs}/user-data.exit`)).toBe("0\n")
      expect(instance.read(`${state}/.bootstrap-complete`)).toBe("")
      expect(existsSync(state)).toBe(false)
      expect((yield* instance.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
      expect(yield* instance.run(["--bootstrap", "incomplete"])).toMatchObject({ code: 0, stderr: "bootstrap marked incomplete\n" })
      expect(instance.read(`${state}/.bootstrap-complete`)).toBeUndefined()
    })
  )

  it.scopedLive("a relative TINY_CLOUD_VAR is an invalid value: the phase names it, keeps the default under ROOT and exits 1; imds stops", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      // relative to the working directory, a path of the test's own, should it be taken
      const state = relative(process.cwd(), `${instance.dir}/state`)
      instance.write("/etc/tiny-cloud.conf", `TINY_CLOUD_VAR=${state}\n`)
      const final = yield* instance.run(["final"])
      expect(final.code).toBe(1)
      expect(final.stderr.split("\n")[0]).toBe(`TINY_CLOUD_VAR: '${state}' is not an absolute path; the default is used`)
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      expect(existsSync(`${instance.dir}/state`)).toBe(false)
      expect(yield* instance.imds(["@hostname"])).toMatchObject({ code: 1, stderr: `imds: TINY_CLOUD_VAR: '${state}' is not an absolute path\n` })
    })
  )

  it.scopedLive("--bootstrap complete and incomplete name a TINY_CLOUD_VAR they cannot use, and mark the default's state, as a phase would read it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, conf: "TINY_CLOUD_VAR=state\n" })
      const problem = "TINY_CLOUD_VAR: 'state' is not an absolute path; the default is used"
      expect(yield* instance.run(["--bootstrap", "complete"])).toMatchObject({ code: 0, stderr: `${problem}\nbootstrap marked complete\n` })
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      expect(yield* instance.run(["--bootstrap", "incomplete"])).toMatchObject({ code: 0, stderr: `${problem}\nbootstrap marked incomplete\n` })
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    })
  )

  it.scopedLive("an IMDS_TOKEN_TTL AWS does not grant (0, past 21600) is an invalid value: named, the default used, the metadata still read", () =>
    Effect.gen(function* () {
      for (const ttl of ["0", "99999"]) {
        const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: ["ssh-ed25519 AAAA k"] }, conf: `IMDS_TOKEN_TTL=${ttl}\n` })
        const main = yield* instance.run(["main"])
        expect(main.code).toBe(1)
        expect(main.stderr.split("\n")[0]).toBe(
          `IMDS_TOKEN_TTL: invalid value '${ttl}': expected a positive whole number of seconds${ttl === "0" ? "" : ", at most 21600"}; the default is used`
        )
        expect(actionLines(main.stderr)).not.toContain("   ++ set_hostname: failed")
        expect(instance.read("/etc/hostname")).toBe("web-1\n")
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA k\n")
      }
    })
  )

  it.scopedLive("CLOUD=alpine works as nocloud with a warning; DEBUG adds debug lines", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "alpine" } })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", "local-hostname: old-name\n")
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })
      expect(r.code).toBe(0)
      expect(r.stderr.split("\n")[0]).toBe("CLOUD provider alpine is deprecated. Use nocloud")
      expect(instance.read("/etc/hostname")).toBe("old-name\n")
      const quiet = yield* (yield* makeTestInstance({ noSimulator: true })).run(["boot"], { INIT_ACTIONS_BOOT: "" })
      expect(quiet.stderr).toBe("")
      const detecting = yield* (yield* makeTestInstance({ noSimulator: true })).run(["boot"], { INIT_ACTIONS_BOOT: "", DEBUG: "yes" })
      expect(detecting.stderr).toBe("detected cloud: unknown\n")
    })
  )

  it.scopedLive("--bootstrap complete never writes through a marker that is a link to nothing (planted, to /etc/tiny-cloud.disabled): it fails, nothing is made where the link leads", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      instance.write("/var/lib/cloud/.keep", "")
      symlinkSync("/etc/tiny-cloud.disabled", join(instance.root, "var/lib/cloud/.bootstrap-complete"))
      const r = yield* instance.run(["--bootstrap", "complete"])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("is a symbolic link; refused")
      expect(existsSync(join(instance.root, "etc/tiny-cloud.disabled"))).toBe(false)
    })
  )

  it.scopedLive("--bootstrap complete logs that it marked the bootstrap complete", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      expect(yield* instance.run(["--bootstrap", "complete"])).toMatchObject({ code: 0, stderr: "bootstrap marked complete\n" })
    })
  )
})
