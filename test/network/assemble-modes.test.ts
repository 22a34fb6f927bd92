/**
 * assemble-interfaces (BEHAVIOUR.md §8): the interfaces file is kept from the
 * classes any stanza it copies is kept from, whichever way the stanza comes:
 * a present NIC's own file, or a NIC's made from DEFAULT.
 */
import { chmodSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance } from "../support/instance.js"
import { shippedStanza } from "../support/shipped.js"

const nics = (...names: Array<string>) => names.map((name, i) => ({ name, mac: `02:00:00:00:00:0${i}`, up: true }))

it.scopedLive("a present NIC's own stanza of 0600 (eth1's, an operator's secret in it): the interfaces file that copies it is 0600 too", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0", "eth1") })
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    instance.write("/etc/network/interfaces.d/eth1", "auto eth1\niface eth1\n  use dhcp\n  pre-up /usr/local/bin/vpn-up --token secret\n")
    chmodSync(join(instance.root, "etc/network/interfaces.d/eth1"), 0o600)
    instance.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    chmodSync(join(instance.root, "etc/network/interfaces"), 0o644)
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.read("/etc/network/interfaces")).toContain("--token secret\n")
    expect(instance.mode("/etc/network/interfaces")).toBe(0o600)
  })
)

it.scopedLive("a DEFAULT of 0640: the new NIC's stanza made from it, and the interfaces file of 0644 that copies it, are 0640", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    chmodSync(join(instance.root, "etc/network/interfaces.d/DEFAULT"), 0o640)
    instance.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    chmodSync(join(instance.root, "etc/network/interfaces"), 0o644)
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.mode("/etc/network/interfaces.d/eth0")).toBe(0o640)
    expect(instance.mode("/etc/network/interfaces")).toBe(0o640)
  })
)
