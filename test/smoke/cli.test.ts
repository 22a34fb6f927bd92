import { readlinkSync, readdirSync, existsSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { actionLines, useInstances } from "../support/harness.js"

const makeInstance = useInstances()

const noCloud = () => makeInstance({ noSimulator: true })

describe("tiny-cloud command line", () => {
  it("-h prints usage on stdout and exits 0; no argument or an unknown one prints it on stderr and exits 1", async () => {
    const instance = await noCloud()
    const help = await instance.run(["--help"])
    expect([help.code, help.stdout.startsWith("Usage: tiny-cloud"), help.stderr]).toEqual([0, true, ""])
    for (const args of [[], ["--frobnicate"], ["reboot"], ["--bootstrap", "maybe"], ["main", "extra"]]) {
      const r = await instance.run(args)
      expect([r.code, r.stdout, r.stderr.startsWith("Usage: tiny-cloud")]).toEqual([1, "", true])
    }
  })

  it("--bootstrap complete, status, incomplete", async () => {
    const instance = await noCloud()
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
    expect((await instance.run(["--bootstrap", "complete"])).code).toBe(0)
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
    const incomplete = await instance.run(["--bootstrap", "incomplete"])
    expect(incomplete.stderr).toBe("bootstrap marked incomplete\n")
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
  })

  it("--enable links the four services into their runlevels after removing old links; --disable only removes", async () => {
    const instance = await noCloud()
    instance.write("/etc/runlevels/sysinit/tiny-cloud-old", "")
    instance.write("/etc/runlevels/default/sshd", "")
    expect((await instance.run(["--enable"])).code).toBe(0)
    const levels = join(instance.root, "etc/runlevels")
    expect(readlinkSync(join(levels, "boot/tiny-cloud-boot"))).toBe("/etc/init.d/tiny-cloud-boot")
    for (const s of ["early", "main", "final"]) expect(readlinkSync(join(levels, `default/tiny-cloud-${s}`))).toBe(`/etc/init.d/tiny-cloud-${s}`)
    expect(existsSync(join(levels, "sysinit/tiny-cloud-old"))).toBe(false)
    expect((await instance.run(["--disable"])).code).toBe(0)
    expect(readdirSync(join(levels, "default"))).toEqual(["sshd"])
    expect(readdirSync(join(levels, "boot"))).toEqual([])
  })

  it("a disabled instance logs 'tiny-cloud disabled' and does nothing", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h" } })
    instance.write("/etc/tiny-cloud.disabled", "")
    const r = await instance.run(["main"])
    expect([r.code, r.stderr]).toEqual([0, "tiny-cloud disabled\n"])
    expect(instance.commands()).toEqual([])
  })

  it("--version names the program", async () => {
    const instance = await noCloud()
    expect((await instance.run(["--version"])).stdout).toMatch(/^tiny-cloud \d+\.\d+\.\d+\n$/)
  })
})

describe("action lists", () => {
  it("SKIP_INIT_ACTIONS skips, INIT_ACTIONS_* replaces, an unknown action is logged and passed over", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h.example" }, conf: 'INIT_ACTIONS_MAIN="set_hostname no_such_action set_ssh_keys"\nSKIP_INIT_ACTIONS="set_ssh_keys"\n' })
    const r = await instance.run(["main"])
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

  it("the final phase always ends with bootstrap_complete", async () => {
    const instance = await makeInstance({ cloud: "aws", conf: 'INIT_ACTIONS_FINAL=""\n' })
    const r = await instance.run(["final"])
    expect(actionLines(r.stderr)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: done"])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  it("a failed action stops its phase with exit 1; the next phase still runs", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "-bad-" , sshKeys: ["ssh-ed25519 AAAA k"] } })
    const main = await instance.run(["main"])
    expect(main.code).toBe(1)
    expect(actionLines(main.stderr).slice(-1)).toEqual(["   ++ set_hostname: failed"])
    expect(main.stderr).toContain("set_hostname: invalid hostname '-bad-'\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
    expect((await instance.run(["final"])).code).toBe(0)
  })
})

describe("bad input", () => {
  it("a malformed tiny-cloud.conf is one clear line and exit 1", async () => {
    const instance = await makeInstance({ cloud: "aws", conf: "CLOUD=aws\nIMDS_TIMEOUT=soon\n" })
    const r = await instance.run(["boot"])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("tiny-cloud/boot: IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds\n")
    expect(instance.commands()).toEqual([])
  })

  it("an unreachable metadata service fails the action after the deadline, naming cloud, URL and error", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "aws", IMDS_ENDPOINT: "127.0.0.1:9", IMDS_DEADLINE: "1", IMDS_TIMEOUT: "0.2" } })
    const r = await instance.run(["early"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("save_userdata: aws: cannot read http://127.0.0.1:9/latest/api/token: connection refused\n")
    expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
  })

  it("503s are retried until the service answers", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "patient.example" }, faults: { failFirst: 4 } })
    const r = await instance.run(["main"])
    expect(r.code).toBe(0)
    expect(instance.read("/etc/hostname")).toBe("patient\n")
  })

  it("a service that only answers 500 fails with the last error, leaving nothing behind", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "x" }, faults: { failFirst: 1_000_000, failStatus: 500 }, env: { IMDS_DEADLINE: "1" } })
    const r = await instance.run(["main"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/aws: cannot read http:\/\/127\.0\.0\.1:\d+\/latest\/api\/token: token request answered HTTP 500|HTTP 500/)
    expect(instance.read("/etc/hostname")).toBeUndefined()
  })

  it("corrupt compressed user-data fails save_userdata with one line; no file is written", async () => {
    const broken = gzipSync("#!/bin/sh\necho hi\n").subarray(0, 12)
    const instance = await makeInstance({ cloud: "aws", instance: { userData: broken } })
    const r = await instance.run(["early"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/save_userdata: cannot decompress gzip data: .+\n/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
  })

  it("no cloud detected: metadata actions fail naming CLOUD in /etc/tiny-cloud.conf; others still run", async () => {
    const instance = await makeInstance({ noSimulator: true })
    const boot = await instance.run(["boot"])
    expect(boot.code).toBe(0)
    expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
    const main = await instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_hostname" })
    expect(main.code).toBe(1)
    expect(main.stderr).toContain("   ++ create_default_user: done\n")
    expect(main.stderr).toContain("set_hostname: no cloud detected: set CLOUD in /etc/tiny-cloud.conf\n")
  })

  it("an unknown CLOUD value is named in the failure", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "digitalocean" } })
    const r = await instance.imds(["@hostname"])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("imds: unknown cloud 'digitalocean': set CLOUD in /etc/tiny-cloud.conf\n")
  })
})

describe("configuration keys", () => {
  it("TINY_CLOUD_VAR and TINY_CLOUD_LOGS move the state and log files", async () => {
    const instance = await makeInstance({
      cloud: "aws",
      instance: { userData: new TextEncoder().encode("#!/bin/sh\necho moved\n") },
      conf: "TINY_CLOUD_VAR=/will/be/replaced\n"
    })
    const env = { TINY_CLOUD_VAR: `${instance.root}/state`, TINY_CLOUD_LOGS: `${instance.root}/logs` }
    expect((await instance.run(["early"], env)).code).toBe(0)
    expect((await instance.run(["final"], env)).code).toBe(0)
    expect(instance.read("/state/user-data")).toBe("#!/bin/sh\necho moved\n")
    expect(instance.read("/logs/user-data.log")).toBe("moved\n")
    expect(instance.read("/logs/user-data.exit")).toBe("0\n")
    expect(instance.read("/state/.bootstrap-complete")).toBe("")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    expect((await instance.run(["--bootstrap", "status"], env)).stdout).toBe("complete\n")
  })

  it("CLOUD=alpine works as nocloud with a warning; DEBUG adds debug lines", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "alpine" } })
    instance.write("/var/lib/cloud/seed/nocloud/meta-data", "local-hostname: old-name\n")
    const r = await instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })
    expect(r.code).toBe(0)
    expect(r.stderr.split("\n")[0]).toBe("CLOUD=alpine is an old name for nocloud; set CLOUD=nocloud in /etc/tiny-cloud.conf")
    expect(instance.read("/etc/hostname")).toBe("old-name\n")
    const quiet = await (await makeInstance({ noSimulator: true })).run(["boot"], { INIT_ACTIONS_BOOT: "" })
    expect(quiet.stderr).toBe("")
    const detecting = await (await makeInstance({ noSimulator: true })).run(["boot"], { INIT_ACTIONS_BOOT: "", DEBUG: "yes" })
    expect(detecting.stderr).toBe("detected cloud: unknown\n")
  })

  it("--bootstrap complete logs that it marked the bootstrap complete", async () => {
    const instance = await makeInstance({ noSimulator: true })
    expect(await instance.run(["--bootstrap", "complete"])).toMatchObject({ code: 0, stderr: "bootstrap marked complete\n" })
  })
})
