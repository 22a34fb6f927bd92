/**
 * A first boot whose metadata service could not be read (refused, 5xx until
 * IMDS_DEADLINE) is not marked complete: bootstrap_complete fails in one line
 * naming the phase, and the next boot, with the service back, runs the first
 * boot again, the user's commands and appends that ran not again. An absent
 * datum (404), a value read that cannot be used (an invalid host name) and a
 * user-data action's failure still end in the marker. Nor is one whose
 * network never came up, so that OpenRC started neither early nor main.
 * In-process; the run through the services' resident process is in
 * test/smoke/metadata-unread.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { SimFaults } from "../../src/sim/simulator.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { actionLines, makeTestInstance, type RunResult } from "../support/instance.js"
import { scopedDir } from "../support/scratch.js"

const MARKER = "/var/lib/cloud/.bootstrap-complete"
const HOST = "web-1.example.internal"
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
/** the service answers: the simulator shares this thread with the program and the file's other tests, so it is given the test's time */
const UP = PATIENT_METADATA
/** for the phases run while it is down: each of their reads waits it out */
const DOWN = { IMDS_DEADLINE: "0.3" }
/** every request answered 500 while `down`, none once it is back (the simulator reads its faults at each request) */
const outage = (): SimFaults => ({ failFirst: 0, failStatus: 500 })
const down = (faults: SimFaults) => void (faults.failFirst = Number.MAX_SAFE_INTEGER)
const back = (faults: SimFaults) => void (faults.failFirst = 0)

const codes = (results: ReadonlyArray<RunResult>) => results.map((r) => r.code)
const failedLines = (r: RunResult) => actionLines(r.stderr).filter((l) => l.endsWith(": failed"))

const marks = scopedDir("tiny-cloud-unread-", tmpdir())

describe.concurrent("a first boot whose metadata service could not be read", () => {
  it.scopedLive("is not marked complete; the next boot, the service back, applies it all once", () =>
    Effect.gen(function* () {
      const faults = outage()
      const userData = `#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: "hello\\n"\n    append: true\n`
      const instance = yield* makeTestInstance({ faults, instance: { hostname: HOST, sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
      down(faults)
      const first = yield* instance.boot(DOWN)
      expect(codes(first)).toEqual([0, 1, 1, 1])
      expect(first[1]!.stderr).toContain("save_userdata: aws: cannot read http://")
      expect(first[3]!.stderr).toContain(
        "\nbootstrap_complete: the early phase could not read the metadata (save_userdata); not marked complete, so that the next boot runs the first boot again\n"
      )
      expect(failedLines(first[3]!)).toEqual(["   ++ bootstrap_complete: failed"])
      expect(instance.read(MARKER)).toBeUndefined()
      // status says what is true: the first boot failed, not done
      const status = yield* instance.run(["status"])
      expect(status.code).toBe(1)
      expect(status.stdout).toMatch(/^failed at early\/save_userdata: aws: cannot read /)
      expect(status.stdout).toContain("error: final/bootstrap_complete: the early phase could not read the metadata (save_userdata); not marked complete")

      back(faults)
      const second = yield* instance.boot(UP)
      expect(codes(second), second.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read(MARKER)).toBe("")
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/etc/motd")).toBe("hello\n")
      expect(instance.commands().filter((c) => c.startsWith("adduser "))).toHaveLength(1)
      expect((yield* instance.run(["status"])).stdout).toMatch(/^done\n/)
      expect(yield* instance.run(["main"], UP)).toEqual({ code: 0, stdout: "", stderr: "already bootstrapped\n" })
    })
  )

  it.scopedLive("in main alone: the next boot does not run again the commands and appends that ran", () =>
    Effect.gen(function* () {
      const faults = outage()
      const runs = join(yield* marks, "runs")
      const userData = [
        "#cloud-config",
        "users:",
        "  - default",
        "  - name: appuser",
        "write_files:",
        "  - path: /etc/motd",
        "    content: \"hello\\n\"",
        "    append: true",
        "    defer: true",
        "runcmd:",
        `  - echo ran >> ${runs}`,
        ""
      ].join("\n")
      const instance = yield* makeTestInstance({ faults, instance: { hostname: HOST, sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
      for (const phase of ["boot", "early"]) expect((yield* instance.run([phase], UP)).code).toBe(0)
      down(faults)
      const main = yield* instance.run(["main"], DOWN)
      expect(main.code).toBe(1)
      expect(failedLines(main)).toEqual(["   ++ set_hostname: failed"])
      back(faults)
      // the service came back before final: what main could not do still waits for the next boot
      const final = yield* instance.run(["final"], UP)
      expect(final.code).toBe(1)
      expect(final.stderr).toContain("\nbootstrap_complete: the main phase could not read the metadata (set_hostname); not marked complete, so that the next boot runs the first boot again\n")
      expect(instance.read(MARKER)).toBeUndefined()
      expect(readFileSync(runs, "utf8")).toBe("ran\n")
      expect(instance.read("/etc/motd")).toBe("hello\n")

      const second = yield* instance.boot(UP)
      expect(codes(second), second.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read(MARKER)).toBe("")
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(readFileSync(runs, "utf8")).toBe("ran\n")
      expect(instance.read("/etc/motd")).toBe("hello\n")
      expect(instance.commands().filter((c) => c.startsWith("adduser ") && c.endsWith(" appuser"))).toHaveLength(1)
    })
  )
})

describe.concurrent("a first boot whose metadata was read", () => {
  it.scopedLive("is marked complete when a datum is absent (404)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ instance: {} })
      const results = yield* instance.boot(UP)
      expect(codes(results)).toEqual([0, 0, 0, 0])
      expect(results[2]!.stderr).toContain("set_hostname: no hostname set\n")
      expect(instance.read(MARKER)).toBe("")
    })
  )

  it.scopedLive("is marked complete when the host name it read is invalid", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ instance: { hostname: "-bad-.example", sshKeys: [KEY] } })
      const results = yield* instance.boot(UP)
      expect(codes(results)).toEqual([0, 0, 1, 0])
      expect(failedLines(results[2]!)).toEqual(["   ++ set_hostname: failed"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read(MARKER)).toBe("")
    })
  )

  it.scopedLive("is marked complete when the user-data it read is not the base64 it should be", () =>
    Effect.gen(function* () {
      const faults: SimFaults = { overrides: [{ path: "/opc/v2/instance/metadata/user_data", body: "not base64!" }] }
      const instance = yield* makeTestInstance({ cloud: "oci", faults, instance: { sshKeys: [KEY] } })
      const results = yield* instance.boot(UP)
      expect(codes(results)).toEqual([0, 1, 0, 0])
      expect(results[1]!.stderr).toContain("invalid base64")
      expect(instance.read(MARKER)).toBe("")
    })
  )

  it.scopedLive("is marked complete when the service answered an error status it does not retry (403)", () =>
    Effect.gen(function* () {
      const faults: SimFaults = { overrides: [{ path: "/latest/user-data", status: 403, body: "Forbidden\n" }] }
      const instance = yield* makeTestInstance({ faults, instance: { hostname: HOST, sshKeys: [KEY] } })
      const results = yield* instance.boot(UP)
      expect(codes(results)).toEqual([0, 1, 0, 0])
      expect(results[1]!.stderr).toContain("save_userdata: aws: cannot read http://")
      expect(results[1]!.stderr).toContain("/latest/user-data: HTTP 403\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read(MARKER)).toBe("")
    })
  )

  it.scopedLive("is marked complete when a local seed file cannot be read (not a regular file)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", `instance-id: i-1\nlocal-hostname: web-1\npublic-keys:\n  - ${KEY}\n`)
      mkdirSync(join(instance.root, "var/lib/cloud/seed/nocloud/user-data"))
      const results = yield* instance.boot(UP)
      expect(codes(results)).toEqual([0, 1, 0, 0])
      expect(results[1]!.stderr).toContain("save_userdata: nocloud: cannot read user-data: not a regular file")
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read(MARKER)).toBe("")
    })
  )

  it.scopedLive("is marked complete when a user-data action failed", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ instance: { sshKeys: [KEY], userData: new TextEncoder().encode("#cloud-config\nruncmd:\n  - exit 3\n") } })
      const results = yield* instance.boot(UP)
      expect(failedLines(results[3]!)).toEqual(["   ++ userdata_runcmd: failed"])
      expect(instance.read(MARKER)).toBe("")
    })
  )
})

// early and main need net: OpenRC starts neither when it did not come up (DHCP got no lease), and starts final all the same
describe.concurrent("a first boot whose early and main phases did not run", () => {
  it.scopedLive("is not marked complete, in one line naming early; the next boot sets it all up", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ instance: { hostname: HOST, sshKeys: [KEY] } })
      expect((yield* instance.run(["boot"], UP)).code).toBe(0)
      const final = yield* instance.run(["final"], UP)
      expect(final.code).toBe(1)
      // before: exit 0 and the marker, and no later boot set up the user, keys or hostname
      expect(final.stderr).toContain(
        "\nbootstrap_complete: the early phase did not run in this first boot (killed as it started, or never started); not marked complete, so that the next boot runs the first boot again\n"
      )
      expect(instance.read(MARKER)).toBeUndefined()
      const next = yield* instance.boot(UP)
      expect(codes(next), next.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read(MARKER)).toBe("")
    })
  )
})
