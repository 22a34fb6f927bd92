/**
 * imds-net-sync over NIC metadata recorded as the clouds serve it
 * (`test/fixtures/clouds/CLOUD/*.json`, answered by the fixture Http layer),
 * a stand-in `ip` over a model of the interfaces (`fake-ip.ts`). What each
 * interface ends with is BEHAVIOUR.md §8's: the secondaries as /32 and
 * /128 whatever prefix cloud-init would give them, and a route table only
 * for an interface other than eth0 that has secondaries.
 */
import { readFileSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Http } from "../../src/services/Http.js"
import { FIXTURES, fixtureHttp, type Fixture } from "../support/fixture-http.js"
import { makeTestInstance } from "../support/instance.js"
import { fakeIp, type FakeIp } from "./fake-ip.js"

const recorded = (path: string): Fixture => JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Fixture

/** the fixture's interfaces (their `sys/class/net/IFACE/address` files), in the order it names them */
const interfacesOf = (fixture: Fixture) =>
  Object.entries(fixture.files ?? {}).flatMap(([path, content]) => {
    const m = /^sys\/class\/net\/([^/]+)\/address$/.exec(path)
    return m ? [{ name: m[1]!, mac: content.trim(), up: true }] : []
  })

/** an instance of `cloud` whose metadata service is the fixture's routes */
const instanceOver = (cloud: string, path: string, ip: FakeIp) =>
  Effect.gen(function* () {
    const fixture = recorded(path)
    const { layer: http } = yield* fixtureHttp(fixture.routes ?? [])
    return yield* makeTestInstance({ cloud, noSimulator: true, http, env: { CLOUD: cloud, IMDS_ENDPOINT: "169.254.169.254" }, interfaces: interfacesOf(fixture), answer: ip.answer })
  })

const CHANGES = /^ip (-[46] )?(addr|rule|route) (add|del) /

it.scopedLive("aws, two network cards: eth0's two secondary IPv4 and three IPv6 addresses, no table; eth1 (card 1, device-number 0, ipv6s empty) unchanged", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth0: ["172.31.44.13/20", "fe80::807:84ff:fe3d:6e38/64"], eth1: ["172.31.47.221/20", "fe80::875:69ff:fe92:e216/64"] })
    const instance = yield* instanceOver("aws", "aws/network-cards-multiple-addresses.json", ip)
    expect(yield* instance.run(["net-sync", "eth0"])).toEqual({ code: 0, stdout: "", stderr: "" })
    // cloud-init 22.4 (convert_ec2_metadata_network_config): the IPv4 addresses after the first with the subnet's /20, the IPv6 ones after
    // the first as /128 (it reads no subnet-ipv6-cidr-block), the first of each by DHCP; Alpine's udhcpc asks no DHCPv6, so all three here
    expect(ip.addresses("eth0")).toEqual([
      "172.31.44.13/20",
      "fe80::807:84ff:fe3d:6e38/64",
      "172.31.45.70/32",
      "172.31.45.71/32",
      "2600:1f16:292:100:c187:593c:4349:136/128",
      "2600:1f16:292:100:f153:12a3:c37c:11f9/128",
      "2600:1f16:292:100:f152:2222:3333:4444/128"
    ])
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().filter((c) => CHANGES.test(c) && c.includes("eth1"))).toEqual([])
    expect([ip.routes(4, 10001), ip.rules(4), ip.rules(6)]).toEqual([[], [], []])
  })
)

it.scopedLive("azure, accelerated networking: eth0 gets its IP configurations and IPv6 addresses, its VF eth1 nothing, eth2 its own in table 10002", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth0: ["10.0.0.4/24", "fe80::20d:3aff:fe8c:6f21/64"], eth1: [], eth2: ["10.0.1.4/24", "fe80::20d:3aff:fe8c:7a90/64"] })
    const instance = yield* instanceOver("azure", "azure/accelerated-networking-ip-configurations.json", ip)
    symlinkSync("../eth0", join(instance.root, "sys/class/net/eth1/master"))
    for (const iface of ["eth0", "eth1", "eth2"]) expect(yield* instance.run(["net-sync", iface])).toEqual({ code: 0, stdout: "", stderr: "" })
    // cloud-init 22.4 (DataSourceAzure): the IP configurations after the first with the subnet's prefix; a second IPv6 address with no
    // subnet entry fails its network config (KeyError 'subnet'), and it falls back to DHCP on the first NIC alone
    expect(ip.addresses("eth0")).toEqual(["10.0.0.4/24", "fe80::20d:3aff:fe8c:6f21/64", "10.0.0.5/32", "10.0.0.6/32", "ace:cab:deca:deed::4/128", "ace:cab:deca:deed::5/128"])
    expect(ip.addresses("eth1")).toEqual([])
    expect(ip.addresses("eth2")).toEqual(["10.0.1.4/24", "fe80::20d:3aff:fe8c:7a90/64", "10.0.1.7/32"])
    expect(ip.routes(4, 10002)).toEqual(["default via 10.0.1.1 dev eth2", "10.0.1.0/24 dev eth2 proto kernel scope link src 10.0.1.4"])
    expect(ip.rules(4)).toEqual(["from 10.0.1.7 lookup 10002", "from all to 10.0.1.7 lookup 10002"])
    expect(ip.calls().filter((c) => / (dev|table) eth1\b|eth1$/.test(c))).toEqual([])
  })
)

it.scopedLive("oci, a bare metal instance's dual-stack VNICs: each VNIC's IPv6 addresses as /128 (canonical), the secondary VNIC's in table 10001 through its router", () =>
  Effect.gen(function* () {
    const ip = fakeIp(
      { eth0: ["10.0.0.52/24", "fe80::17ff:fe00:a1b2/64"], eth1: ["10.0.4.17/24", "fe80::17ff:fe00:c3d4/64"] },
      "fe80::200:17ff:fe00:c3d4"
    )
    const instance = yield* instanceOver("oci", "oci/bare-metal-dual-stack-vnics.json", ip)
    for (const iface of ["eth0", "eth1"]) expect(yield* instance.run(["net-sync", iface])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth0")).toEqual(["10.0.0.52/24", "fe80::17ff:fe00:a1b2/64", "2603:c020:4005:9e00:4f2a:8c11:93d0:1a2b/128"])
    expect(ip.addresses("eth1")).toEqual(["10.0.4.17/24", "fe80::17ff:fe00:c3d4/64", "2603:c020:4005:9e04::11/128", "2603:c020:4005:9e04:7d1e:2a90:b3c4:5e6f/128"])
    // vnics/ lists a VNIC's primary private IP alone: no IPv4 secondaries, no IPv4 routes in the table
    expect(ip.routes(4, 10001)).toEqual([])
    expect(ip.routes(6, 10001)).toEqual(["default via fe80::200:17ff:fe00:c3d4 dev eth1"])
    expect(ip.rules(6)).toEqual([
      "from 2603:c020:4005:9e04:7d1e:2a90:b3c4:5e6f lookup 10001",
      "from 2603:c020:4005:9e04::11 lookup 10001",
      "from all to 2603:c020:4005:9e04:7d1e:2a90:b3c4:5e6f lookup 10001",
      "from all to 2603:c020:4005:9e04::11 lookup 10001"
    ])
  })
)

it.scopedLive("gcp, alias IP ranges and a forwarded IP: no address is added (they are no secondaries of @ipv4), the interfaces stay as DHCP left them", () =>
  Effect.gen(function* () {
    // GCE's DHCP gives the primary as a /32
    const ip = fakeIp({ eth0: ["10.128.0.7/32", "fe80::4001:aff:fe80:7/64"], eth1: ["192.168.40.3/32", "fe80::4001:c0ff:fea8:2803/64"] })
    const instance = yield* instanceOver("gcp", "gcp/two-nics-alias-ranges.json", ip)
    for (const iface of ["eth0", "eth1"]) expect(yield* instance.run(["net-sync", iface])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().filter((c) => CHANGES.test(c))).toEqual([])
    expect(ip.addresses("eth0")).toEqual(["10.128.0.7/32", "fe80::4001:aff:fe80:7/64"])
    expect(ip.addresses("eth1")).toEqual(["192.168.40.3/32", "fe80::4001:c0ff:fea8:2803/64"])
  })
)

it.scopedLive("oci, the service being updated (vnics/ answered 404 for a moment, as Oracle's every datum is): a sync never takes a VNIC's addresses for gone, and asks a 404 again", () =>
  Effect.gen(function* () {
    const fixture = recorded("oci/bare-metal-dual-stack-vnics.json")
    const { layer } = yield* fixtureHttp(fixture.routes ?? [])
    const recordedHttp = yield* Effect.provide(Http, layer)
    // which of vnics/'s requests (counted from 1) the update answers 404
    let asked = 0
    let updating = (_n: number) => false
    const http = Layer.succeed(Http, {
      request: (r) =>
        r.path.startsWith("/opc/v2/vnics/") && updating(++asked) ? Effect.succeed({ status: 404, body: new Uint8Array() }) : recordedHttp.request(r)
    })
    const ip = fakeIp({ eth0: ["10.0.0.52/24", "fe80::17ff:fe00:a1b2/64"], eth1: ["10.0.4.17/24", "fe80::17ff:fe00:c3d4/64"] }, "fe80::200:17ff:fe00:c3d4")
    const instance = yield* makeTestInstance({ cloud: "oci", noSimulator: true, http, env: { CLOUD: "oci", IMDS_ENDPOINT: "169.254.169.254" }, interfaces: interfacesOf(fixture), answer: ip.answer })
    const synced = ["10.0.4.17/24", "fe80::17ff:fe00:c3d4/64", "2603:c020:4005:9e04::11/128", "2603:c020:4005:9e04:7d1e:2a90:b3c4:5e6f/128"]
    // under way when the sync begins: its first two reads are 404, the third the list
    updating = (n) => n <= 2
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(synced)
    // begun just after the sync's first read: every later read is 404 for a while
    asked = 0
    updating = (n) => n > 1
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(synced)
    expect(ip.calls().filter((c) => CHANGES.test(c) && / del /.test(c))).toEqual([])
  })
)
