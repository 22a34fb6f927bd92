/**
 * Every HTTP cloud against a misbehaving metadata service: the CLI retries
 * 5xx answers, resets and slow answers until IMDS_DEADLINE, and fails with
 * one line naming the cloud, the URL and the last error when nothing comes.
 * Real processes, real wall time, small values.
 */
import { describe, it } from "vitest"
import type { SimCloud, SimFaults } from "../../src/sim/simulator.js"
import { makeInstance, type TestInstance } from "../support/harness.js"

type Cloud = Exclude<SimCloud, "nocloud">
const CLOUDS: ReadonlyArray<Cloud> = ["aws", "azure", "gcp", "oci", "hetzner", "scaleway", "incus"]
const HOST = "db-2.example.internal"

/** the URL of the first read `imds @hostname` makes (aws: its token) */
const firstUrl = (cloud: Cloud, instance: TestInstance): string => {
  const http = `http://${instance.sim!.endpoint}`
  switch (cloud) {
    case "aws":
      return `${http}/latest/api/token`
    case "azure":
      return `${http}/metadata/instance/compute/name?format=text&api-version=2021-05-01`
    case "gcp":
      return `${http}/computeMetadata/v1/instance/hostname`
    case "oci":
      return `${http}/opc/v2/instance/hostname`
    case "hetzner":
      return `${http}/hetzner/v1/metadata/hostname`
    case "scaleway":
      return `${http}/conf`
    case "incus":
      return `unix:${instance.root}/dev/incus/sock:/1.0/meta-data`
  }
}

const withInstance = async (cloud: Cloud, faults: SimFaults, body: (i: TestInstance) => Promise<void>) => {
  const instance = await makeInstance({
    cloud,
    instance: { hostname: HOST, sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaultKey f@example"], userData: new TextEncoder().encode("#!/bin/sh\n") },
    faults,
    env: { IMDS_TIMEOUT: "0.2", IMDS_DEADLINE: "3", IMDS_RETRY_DELAY: "10", IMDS_RETRY_MAX_DELAY: "50" }
  })
  try {
    await body(instance)
  } finally {
    await instance.close()
  }
}

const RECOVERABLE: ReadonlyArray<[string, SimFaults]> = [
  ["three 503 answers", { failFirst: 3 }],
  ["connections reset for 300 ms", { downForMs: 300 }],
  ["100 ms latency", { latencyMs: 100 }]
]

describe.concurrent.each(CLOUDS)("%s", (cloud) => {
  it.for(RECOVERABLE)("survives %s", async ([, faults], { expect }) =>
    withInstance(cloud, faults, async (instance) => {
      const started = Date.now()
      const r = await instance.imds(["@hostname", "+n"])
      expect(r).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
      expect(Date.now() - started).toBeLessThan(3000)
      if (faults.failFirst !== undefined) expect(instance.sim!.requests.filter((q) => q.status === 503)).toHaveLength(3)
    })
  )

  it("a service that never answers fails after the deadline, naming cloud, URL and last error", async ({ expect }) =>
    withInstance(cloud, { neverAnswer: true }, async (instance) => {
      const env = { IMDS_DEADLINE: "1" }
      const started = Date.now()
      const [imds, early, main] = await Promise.all([instance.imds(["@hostname"], env), instance.run(["early"], env), instance.run(["main"], env)])
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(1000)
      expect(elapsed).toBeLessThan(4000)
      const line = `${cloud}: cannot read ${firstUrl(cloud, instance)}: timed out`
      expect(imds).toEqual({ code: 1, stdout: "", stderr: `imds: ${line}\n` })

      expect(main.code).toBe(1)
      expect(main.stderr).toContain("   ++ set_hostname: failed\n")
      expect(main.stderr.split("\n").filter((l) => l.includes(`${cloud}: cannot read `) && l.endsWith(": timed out"))).toHaveLength(1)
      expect(main.stderr).toContain(line)
      expect(main.stderr).not.toContain("set_ssh_keys")
      expect(instance.read("/etc/hostname")).toBeUndefined()
      expect(instance.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n")

      expect(early.code).toBe(1)
      expect(early.stderr).toContain("   ++ save_userdata: failed\n")
      expect(early.stderr.split("\n").filter((l) => l.includes(`${cloud}: cannot read `) && l.endsWith(": timed out"))).toHaveLength(1)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    }))
})
