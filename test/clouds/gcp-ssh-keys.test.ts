/**
 * gcp's SSH key lists (BEHAVIOUR.md §4 metadata reads, §5 gcp): a list the
 * cloud does not have (404, 204) is no list; any other failure of a read the
 * keys need fails the keys, naming the cloud, the URL and the last error, and a
 * flag or legacy list that cannot be read never lets the project's keys in;
 * the project's lists are not read where the instance blocks them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { SimInstance } from "../../src/sim/simulator.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { makeTestInstance } from "../support/instance.js"
import { advancingClock } from "../support/test-clock.js"

const OWN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIInstanceOwn own@example"
const LEGACY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILegacyKey legacy@example"
const PROJECT = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProjectKey project@example"

const SSH_KEYS = "instance/attributes/ssh-keys"
const LEGACY_KEYS = "instance/attributes/sshKeys"
const BLOCK = "instance/attributes/block-project-ssh-keys"
const PROJECT_KEYS = "project/attributes/ssh-keys"
const PROJECT_LEGACY_KEYS = "project/attributes/sshKeys"

/**
 * The simulator answers every request, late on a loaded machine (it shares
 * the test's thread): no test here is about an attempt's timeout, so an
 * attempt waits as long as PATIENT_METADATA's; so does a read on the real
 * clock. On the TestClock a read failing throughout is retried until its
 * 1 s deadline, which passes without being waited for.
 */
const ENV = { ...PATIENT_METADATA, IMDS_RETRY_DELAY: "10", IMDS_RETRY_MAX_DELAY: "50" }
const ON_TEST_CLOCK = { ...ENV, IMDS_DEADLINE: "1" }

/** a gcp instance whose metadata answers `status` for one path */
const gcpWith = (instance: SimInstance, path: string, status: number, env: Readonly<Record<string, string>> = ENV) =>
  makeTestInstance({ cloud: "gcp", instance: { hostname: "vm-1.c.example.internal", ...instance }, faults: { overrides: [{ path: `/computeMetadata/v1/${path}`, status }] }, env })

describe("gcp ssh keys: a list that cannot be read", () => {
  // on the TestClock: 503 is retried until IMDS_DEADLINE without waiting for it
  it.scoped("instance ssh-keys answering 503 throughout: the keys fail, naming gcp and the URL; nothing is installed", () =>
    Effect.gen(function* () {
      const instance = yield* gcpWith({ sshKeys: [OWN], projectSshKeys: [PROJECT] }, SSH_KEYS, 503, ON_TEST_CLOCK)
      const {
        result: [imds, main]
      } = yield* advancingClock(Effect.all([instance.imds(["@ssh-keys"]), instance.run(["main"])], { concurrency: "unbounded" }), "100 millis")
      const line = `gcp: cannot read http://${instance.sim!.endpoint}/computeMetadata/v1/${SSH_KEYS}: HTTP 503`
      expect(imds).toEqual({ code: 1, stdout: "", stderr: `imds: ${line}\n` })
      expect(main.code).toBe(1)
      expect(main.stderr).toContain("   ++ set_ssh_keys: failed\n")
      expect(main.stderr).toContain(line)
      expect(main.stderr).not.toContain("set_ssh_keys: done")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
      // retried, not taken as absent at the first answer
      expect(instance.sim!.requests.filter((q) => q.path.startsWith(`/computeMetadata/v1/${SSH_KEYS}`) && q.status === 503).length).toBeGreaterThan(2)
    })
  )

  it.scoped.each([
    { what: "legacy sshKeys answering 403", instance: { legacySshKeys: [LEGACY] }, path: LEGACY_KEYS, status: 403 },
    { what: "legacy sshKeys answering 503", instance: { legacySshKeys: [LEGACY] }, path: LEGACY_KEYS, status: 503 },
    { what: "block-project-ssh-keys answering 403", instance: { blockProjectSshKeys: true }, path: BLOCK, status: 403 },
    { what: "block-project-ssh-keys answering 503", instance: { blockProjectSshKeys: true }, path: BLOCK, status: 503 },
    { what: "project ssh-keys answering 500", instance: {}, path: PROJECT_KEYS, status: 500 },
    { what: "project sshKeys answering 403", instance: {}, path: PROJECT_LEGACY_KEYS, status: 403 }
  ])("$what: imds @ssh-keys fails naming gcp and the URL, and prints no key", ({ instance: own, path, status }) =>
    Effect.gen(function* () {
      const instance = yield* gcpWith({ sshKeys: [OWN], projectSshKeys: [PROJECT], ...own }, path, status, ON_TEST_CLOCK)
      const { result } = yield* advancingClock(instance.imds(["@ssh-keys"]), "100 millis")
      const line = `gcp: cannot read http://${instance.sim!.endpoint}/computeMetadata/v1/${path}: HTTP ${status}`
      expect(result).toEqual({ code: 1, stdout: "", stderr: `imds: ${line}\n` })
    })
  )
})

describe("gcp ssh keys: the project's lists, where the instance blocks them", () => {
  // were they read, 503 would be retried until IMDS_DEADLINE and fail the keys; the requests would be recorded
  it.scopedLive.each([
    { what: "block-project-ssh-keys is true", instance: { blockProjectSshKeys: true }, keys: [OWN] },
    { what: "the instance has a legacy sshKeys list", instance: { legacySshKeys: [LEGACY] }, keys: [OWN, LEGACY] }
  ])("$what: a project ssh-keys answering 503 throughout is never asked, the instance's keys are the keys", ({ instance: own, keys }) =>
    Effect.gen(function* () {
      const instance = yield* gcpWith({ sshKeys: [OWN], projectSshKeys: [PROJECT], ...own }, PROJECT_KEYS, 503)
      const [imds, main] = yield* Effect.all([instance.imds(["@ssh-keys"]), instance.run(["main"])], { concurrency: "unbounded" })
      expect(imds).toEqual({ code: 0, stdout: keys.map((k) => `${k}\n`).join(""), stderr: "" })
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(keys.map((k) => `${k}\n`).join(""))
      // (the project's enable-oslogin is read, by set_ssh_keys, for what it says of OS Login: not a key list)
      expect(instance.sim!.requests.filter((q) => [PROJECT_KEYS, PROJECT_LEGACY_KEYS].some((p) => q.path.startsWith(`/computeMetadata/v1/${p}`)))).toEqual([])
    })
  )
})

describe("gcp ssh keys: a list the cloud does not have", () => {
  it.scopedLive.each([
    // blocked by the legacy list: without it, the project's keys are used
    { path: LEGACY_KEYS, status: 404, instance: { legacySshKeys: [LEGACY] }, keys: [OWN, PROJECT] },
    { path: BLOCK, status: 404, instance: { blockProjectSshKeys: true }, keys: [OWN, PROJECT] },
    { path: SSH_KEYS, status: 404, instance: {}, keys: [PROJECT] },
    { path: SSH_KEYS, status: 204, instance: {}, keys: [PROJECT] },
    { path: PROJECT_KEYS, status: 404, instance: {}, keys: [OWN] },
    { path: PROJECT_LEGACY_KEYS, status: 404, instance: {}, keys: [OWN, PROJECT] }
  ])("$path answering $status is no list", ({ path, status, instance: own, keys }) =>
    Effect.gen(function* () {
      const instance = yield* gcpWith({ sshKeys: [OWN], projectSshKeys: [PROJECT], ...own }, path, status)
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: [...keys].sort().map((k) => `${k}\n`).join(""), stderr: "" })
    })
  )

  it.scopedLive("instance ssh-keys absent: set_ssh_keys installs the project's key and is done", () =>
    Effect.gen(function* () {
      const instance = yield* gcpWith({ sshKeys: [OWN], projectSshKeys: [PROJECT] }, SSH_KEYS, 404)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${PROJECT}\n`)
    })
  )
})

describe("gcp ssh keys: the cloud user of this run", () => {
  it.scopedLive("user-data naming another user (#alpine-config user: fred): set_ssh_keys gives fred the lines of fred (and cloudinit), not those of CLOUD_USER", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "gcp",
        instance: { hostname: "vm-1.c.example.internal", userData: new TextEncoder().encode("#alpine-config\nuser: fred\n") },
        faults: { overrides: [{ path: `/computeMetadata/v1/${SSH_KEYS}`, status: 200, body: `fred:${OWN}\nalpine:${LEGACY}\ncloudinit:${PROJECT}\n` }] },
        env: ENV
      })
      expect((yield* instance.run(["early"])).code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(instance.read("/home/fred/.ssh/authorized_keys")).toBe([OWN, PROJECT].sort().map((k) => `${k}\n`).join(""))
      // imds reads no user-data: its keys are those of CLOUD_USER
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: [LEGACY, PROJECT].sort().map((k) => `${k}\n`).join(""), stderr: "" })
    })
  )
})

describe("gcp ssh keys: lines that are not keys", () => {
  it.scopedLive("another user's line without a key (bob:) is another user's line, not counted among the lines left out; the cloud user's key-less line is", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "gcp",
        instance: { hostname: "vm-1.c.example.internal" },
        faults: { overrides: [{ path: `/computeMetadata/v1/${SSH_KEYS}`, status: 200, body: `alpine:${OWN}\nbob:\ncarol:  \nbob:${LEGACY}\nalpine:\n` }] },
        env: ENV
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({
        code: 0,
        stdout: `${OWN}\n`,
        stderr: "imds: @ssh-keys: 1 line that is not an OpenSSH public key, or has options in front of it, left out\n"
      })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(main.stderr).toContain("\nset_ssh_keys: 1 line that is not an OpenSSH public key, or has options in front of it dropped\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${OWN}\n`)
    })
  )
})
