/**
 * Every cloud with a metadata service against a misbehaving one (BEHAVIOUR.md
 * §4 metadata reads): 5xx answers, resets and slow answers are retried until
 * IMDS_DEADLINE; when nothing comes, one line names the cloud, the URL and the
 * last error. In-process against the real simulator, clouds concurrently.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { simulatedCloud, type SimFaults } from "../../src/sim/simulator.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { makeTestInstance, type TestInstance } from "../support/instance.js"
import { advancingClock } from "../support/test-clock.js"

/** every cloud of the registry served by a metadata service (HTTP or a socket): all but the NoCloud seed */
const HTTP_CLOUDS: ReadonlyArray<string> = (
  await Promise.all(CLOUD_NAMES.map(async (cloud) => ((await simulatedCloud(cloud)).seedPath === undefined ? [cloud] : [])))
).flat()

const HOST = "db-2.example.internal"

/** the URL of the first read `imds @hostname` makes (aws: its token) */
const FIRST_URL: Readonly<Record<string, (instance: TestInstance) => string>> = {
  aws: (i) => `http://${i.sim!.endpoint}/latest/api/token`,
  azure: (i) => `http://${i.sim!.endpoint}/metadata/instance/compute/osProfile/computerName?format=text&api-version=2021-05-01`,
  gcp: (i) => `http://${i.sim!.endpoint}/computeMetadata/v1/instance/hostname`,
  oci: (i) => `http://${i.sim!.endpoint}/opc/v2/instance/hostname`,
  hetzner: (i) => `http://${i.sim!.endpoint}/hetzner/v1/metadata/hostname`,
  scaleway: (i) => `http://${i.sim!.endpoint}/conf`,
  incus: (i) => `unix:${i.root}/dev/incus/sock:/1.0/meta-data`,
  digitalocean: (i) => `http://${i.sim!.endpoint}/metadata/v1/hostname`,
  // no config drive: the metadata service
  openstack: (i) => `http://${i.sim!.endpoint}/openstack/latest/meta_data.json`
}

const instanceWith = (cloud: string, faults: SimFaults) =>
  makeTestInstance({
    cloud,
    instance: { hostname: HOST, sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaultKey f@example"], userData: new TextEncoder().encode("#!/bin/sh\n") },
    faults,
    env: { IMDS_TIMEOUT: "0.2", IMDS_DEADLINE: "5", IMDS_RETRY_DELAY: "10", IMDS_RETRY_MAX_DELAY: "50" }
  })

/** the lines of a phase's stderr that report a read that timed out */
const timeoutLines = (cloud: string, stderr: string) => stderr.split("\n").filter((l) => l.includes(`${cloud}: cannot read `) && l.endsWith(": timed out"))

describe("the clouds", () => {
  it("every cloud of the registry with a metadata service has its first URL, and only those", () => {
    expect(HTTP_CLOUDS.length).toBeGreaterThan(0)
    expect(Object.keys(FIRST_URL).sort()).toEqual([...HTTP_CLOUDS].sort())
  })
})

describe.concurrent.each(HTTP_CLOUDS)("%s", (cloud) => {
  // a read that gets through a fault reads with PATIENT_METADATA: these tests share the simulators' thread, and their
  // 0.2 s attempts, short for the tests that wait for a timeout, ended before a loaded machine's answer came
  it.scopedLive("survives three 503 answers: exactly three were answered 503", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(cloud, { failFirst: 3 })
      expect(yield* instance.imds(["@hostname", "+n"], PATIENT_METADATA)).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
      expect(instance.sim!.requests.filter((q) => q.status === 503)).toHaveLength(3)
    })
  )

  it.scopedLive("survives connections reset for 300 ms: at least one was reset", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(cloud, { downForMs: 300 })
      expect(yield* instance.imds(["@hostname", "+n"], PATIENT_METADATA)).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
      expect(instance.sim!.requests.filter((q) => q.reset === true).length).toBeGreaterThanOrEqual(1)
    })
  )

  it.scopedLive("reads answers that come gzipped with their Content-Encoding, which none asked for, as it reads them plain", () =>
    Effect.gen(function* () {
      const args = ["@hostname", "+n", "@ssh-keys", "@userdata"]
      const plain = yield* (yield* instanceWith(cloud, {})).imds(args)
      expect(plain.stdout).toMatch(new RegExp(`^${HOST}\n`))
      const gzipped = yield* instanceWith(cloud, { gzip: true })
      expect(yield* gzipped.imds(args)).toEqual(plain)
      expect(gzipped.sim!.requests.filter((q) => q.status === 200).length).toBeGreaterThan(0)
    })
  )

  it.scopedLive("survives 100 ms latency", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(cloud, { latencyMs: 100 })
      expect(yield* instance.imds(["@hostname", "+n"], PATIENT_METADATA)).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
    })
  )

  // on the TestClock: the deadline's second passes without being waited for
  it.scoped("a service that never answers fails after the deadline, naming cloud, URL and last error", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(cloud, { neverAnswer: true })
      const env = { IMDS_DEADLINE: "1" }
      const {
        result: [imds, early, main],
        elapsedMs
      } = yield* advancingClock(Effect.all([instance.imds(["@hostname"], env), instance.run(["early"], env), instance.run(["main"], env)], { concurrency: "unbounded" }), "100 millis")
      expect(elapsedMs).toBeGreaterThanOrEqual(1000)
      const line = `${cloud}: cannot read ${FIRST_URL[cloud]!(instance)}: timed out`
      expect(imds).toEqual({ code: 1, stdout: "", stderr: `imds: ${line}\n` })

      expect(main.code).toBe(1)
      expect(main.stderr).toContain("   ++ set_hostname: failed\n")
      expect(timeoutLines(cloud, main.stderr)).toHaveLength(1)
      expect(main.stderr).toContain(line)
      expect(main.stderr).not.toContain("set_ssh_keys")
      expect(instance.read("/etc/hostname")).toBeUndefined()
      expect(instance.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n")

      expect(early.code).toBe(1)
      expect(early.stderr).toContain("   ++ save_userdata: failed\n")
      expect(timeoutLines(cloud, early.stderr)).toHaveLength(1)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    })
  )
})
