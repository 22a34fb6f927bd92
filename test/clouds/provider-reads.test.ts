/**
 * What a cloud's file reads from its metadata where the recorded fixtures
 * have no case that tells it apart (each test names the line it pins, found
 * by mutating it): the program's own layers over a fake Http answering from
 * routes, its files under a temporary ROOT.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { detectCloud } from "../../src/clouds/detect.js"
import { textOf } from "../../src/domain/text.js"
import { appLayer } from "../../src/layers/live.js"
import { Metadata, type CloudMetadata } from "../../src/services/Metadata.js"
import { Network } from "../../src/services/Network.js"
import { fixtureHttp, type FixtureRoute } from "../support/fixture-http.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { scopedDir } from "../support/scratch.js"

interface Case {
  readonly cloud: string
  readonly files?: Readonly<Record<string, string>>
  readonly routes?: ReadonlyArray<FixtureRoute>
  readonly configDrive?: Readonly<Record<string, string>>
}

/** `read` against the case's instance: its files under ROOT, its routes as the network, its config drive as `mount` presents it */
const against = <A, E, R>(c: Case, read: (md: CloudMetadata, mac: (iface: string) => Effect.Effect<string>) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-provider-reads-")
    const writeAll = (under: string, files: Readonly<Record<string, string>>) => {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(under, path)), { recursive: true })
        writeFileSync(join(under, path), content)
      }
      return under
    }
    const root = writeAll(join(dir, "root"), c.files ?? {})
    mkdirSync(root, { recursive: true })
    const { layer: http } = yield* fixtureHttp(c.routes ?? [])
    const commands = yield* recordingCommands({ root, ...(c.configDrive ? { configDrive: writeAll(join(dir, "config-2"), c.configDrive) } : {}) })
    const { layer: output } = yield* capturingOutput
    const env = { ROOT: root, CLOUD: c.cloud, IMDS_ENDPOINT: "169.254.169.254", IMDS_DEADLINE: "2" }
    return yield* Effect.gen(function* () {
      const md = yield* Metadata
      const network = yield* Network
      const mac = (iface: string) => Effect.map(network.macAddress(iface), Option.getOrThrow)
      return yield* read(md, mac)
    }).pipe(Effect.provide(appLayer(env, "test", { commands: commands.layer, http, output })))
  })

const text = (o: Option.Option<Uint8Array>) => Option.getOrNull(Option.map(o, textOf))

describe("detection", () => {
  it.scopedLive("gcp: a DMI product name of just Google (instances started long ago), without a GoogleCloud- serial, is gcp (README: Clouds)", () =>
    Effect.gen(function* () {
      const cloud = yield* against({ cloud: "auto", files: { "sys/class/dmi/id/product_name": "Google\n" } }, () => detectCloud)
      expect(cloud).toBe("gcp")
      expect(yield* against({ cloud: "auto", files: { "sys/class/dmi/id/product_name": "Googles\n" } }, () => detectCloud)).toBe("unknown")
    })
  )
})

const OCI = { Authorization: "Bearer Oracle" }

describe("oci", () => {
  it.scopedLive("vnics/ answering an empty JSON list is no NICs: @nics is absent, never '[]'", () =>
    Effect.gen(function* () {
      for (const body of ["[]", "[ ]\n"]) {
        const nics = yield* against({ cloud: "oci", routes: [{ path: "/opc/v2/vnics/", headers: OCI, body }] }, (md) => md.nics)
        expect(text(nics)).toBeNull()
      }
    })
  )
})

describe("digitalocean", () => {
  it.scopedLive("@ipv6-net is the interface's address within its own cidr, as v1.json gives it, not a /64 taken for granted", () =>
    Effect.gen(function* () {
      const document = {
        hostname: "web-do-2",
        interfaces: { public: [{ mac: "8a:2c:44:10:9e:11", type: "public", ipv6: { ip_address: "2A03:B0C0:0003:00D0:0000:0000:1A2B:3001", cidr: 124, gateway: "2A03:B0C0:0003:00D0:0000:0000:0000:0001" } }] }
      }
      const net = yield* against(
        { cloud: "digitalocean", files: { "sys/class/net/eth0/address": "8a:2c:44:10:9e:11\n" }, routes: [{ path: "/metadata/v1.json", body: JSON.stringify(document) }] },
        (md, mac) => Effect.flatMap(mac("eth0"), (m) => md.nic(m, "@ipv6-net"))
      )
      expect(text(net)).toBe("2a03:b0c0:3:d0::1a2b:3000/124")
    })
  )
})

const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDttv/F0M1KQUvJgIUSGEIbv/cKKEq91zPdnQHcklveI deploy@ci"
const ED2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq3v8Zl0m2nQw1xR7tYbU5cE4dF6gH9iJ0kL1mN2oP3 admin@desk"

describe("openstack", () => {
  it.scopedLive("a public_keys entry holding two keys on two lines is both keys, each a line", () =>
    Effect.gen(function* () {
      const keys = yield* against(
        { cloud: "openstack", configDrive: { "openstack/latest/meta_data.json": JSON.stringify({ uuid: "u-1", hostname: "os-1", public_keys: { both: `${ED}\n${ED2}\n` } }) } },
        (md) => md.sshKeys
      )
      expect(keys).toEqual([ED, ED2].sort())
    })
  )

  it.scopedLive("a network's ip_address written ADDRESS/BITS: @ipv4 and @ipv6 are the address alone, the networks from its bits", () =>
    Effect.gen(function* () {
      const networkData = {
        links: [{ id: "tap1", type: "phy", ethernet_mac_address: "fa:16:3e:4c:2a:91" }],
        networks: [
          { id: "n4", link: "tap1", type: "ipv4", ip_address: "192.168.20.14/24" },
          { id: "n6", link: "tap1", type: "ipv6", ip_address: "fd4c:7a21:9e3b:0:f816:3eff:fe4c:2a91/64" }
        ]
      }
      const got = yield* against(
        {
          cloud: "openstack",
          files: { "sys/class/net/eth0/address": "fa:16:3e:4c:2a:91\n" },
          configDrive: { "openstack/latest/meta_data.json": JSON.stringify({ uuid: "u-1" }), "openstack/latest/network_data.json": JSON.stringify(networkData) }
        },
        (md, mac) => Effect.flatMap(mac("eth0"), (m) => Effect.all(["@ipv4", "@ipv6", "@ipv6-net"].map((k) => Effect.map(md.nic(m, k), text))))
      )
      expect(got).toEqual(["192.168.20.14", "fd4c:7a21:9e3b:0:f816:3eff:fe4c:2a91", "fd4c:7a21:9e3b::/64"])
    })
  )
})
