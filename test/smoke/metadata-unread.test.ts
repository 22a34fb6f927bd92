/**
 * A first boot whose metadata service could not be read, run by the OpenRC
 * services through the resident process, is not marked complete either. The
 * phases run one by one are in test/phases/metadata-unread.
 */
import { describe, expect, it } from "vitest"
import type { SimFaults } from "../../src/sim/simulator.js"
import { useInstances } from "../support/harness.js"
import { firstBootServices, servicesEnv } from "../support/openrc.js"

const makeInstance = useInstances()

const MARKER = "/var/lib/cloud/.bootstrap-complete"
/** every request answered 500; each read of the phases waits it out */
const DOWN = { IMDS_DEADLINE: "0.3" }

describe("a first boot whose metadata service could not be read", () => {
  it("run by the services through the resident process, is not marked complete either", async () => {
    const faults: SimFaults = { failFirst: Number.MAX_SAFE_INTEGER, failStatus: 500 }
    const instance = await makeInstance({ faults, instance: { hostname: "web-1.example.internal", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"] } })
    const results = await firstBootServices({ ...servicesEnv(instance), ...DOWN })
    expect(results.map((r) => r.code)).toEqual([0, 1, 1, 1])
    expect(results[3]!.stderr).toContain("bootstrap_complete: the early phase could not read the metadata (save_userdata); not marked complete")
    expect(instance.read(MARKER)).toBeUndefined()
  })
})
