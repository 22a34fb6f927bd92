/**
 * imds-net-sync (BEHAVIOUR.md §8) in-process: the simulated cloud's
 * metadata over real HTTP, a stand-in `ip` over a model of the interfaces
 * (`fake-ip.ts`). The same runs with the real `ip` in network namespaces
 * are in `net-sync.system.test.ts`.
 */
import { symlinkSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { routeHelper } from "../../src/programs/cli.js"
import type { SimInstance } from "../../src/sim/simulator.js"
import { makeTestInstance, type InstanceOptions } from "../support/instance.js"
import type { Invocation } from "../support/layers.js"
import { fakeIp, type FakeIp } from "./fake-ip.js"

const ETH0 = "02:00:00:00:00:01"
const ETH1 = "02:00:00:00:00:02"
const interfaces = [
  { name: "eth0", mac: ETH0, up: true },
  { name: "eth1", mac: ETH1, up: true }
]

const metadata = (eth1: { ipv4: Array<string>; ipv6?: Array<string> }): SimInstance => ({
  hostname: "sync.example",
  nics: [
    { mac: ETH0, ipv4: ["10.0.0.10", "10.0.0.11"], ipv4Net: ["10.0.0.0/24"] },
    { mac: ETH1, ipv4: eth1.ipv4, ...(eth1.ipv6 ? { ipv6: eth1.ipv6 } : {}), ipv4Net: ["10.0.1.0/24"] }
  ]
})

const machine = () =>
  fakeIp({ eth0: ["10.0.0.10/24", "fe80::1:1/64"], eth1: ["10.0.1.20/24", "10.0.1.99/32", "fe80::2:1/64"] }, "fe80::1")

const setUp = (ip: FakeIp, options: InstanceOptions) => makeTestInstance({ interfaces, answer: ip.answer, ...options })

const SHOWS = /^ip (-[46] )?(addr|rule|route) show /

it.scopedLive("eth1: secondaries, table 10001 routes and from/to rules added, a stray /32 deleted; the second run only looks", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21", "10.0.1.22"] }) })

    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls()).toEqual([
      "ip addr show dev eth1",
      "ip -4 rule show table 10001",
      "ip -4 route show table 10001",
      "ip -4 route add default via 10.0.1.1 dev eth1 table 10001",
      "ip -4 route add 10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20 table 10001",
      "ip -4 addr del 10.0.1.99/32 dev eth1",
      "ip -4 addr add 10.0.1.21/32 dev eth1",
      "ip -4 rule add from 10.0.1.21 lookup 10001",
      "ip -4 rule add to 10.0.1.21 lookup 10001",
      "ip -4 addr add 10.0.1.22/32 dev eth1",
      "ip -4 rule add from 10.0.1.22 lookup 10001",
      "ip -4 rule add to 10.0.1.22 lookup 10001",
      "ip -6 rule show table 10001"
    ])
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "10.0.1.21/32", "10.0.1.22/32"])
    expect(ip.routes(4, 10001)).toEqual(["default via 10.0.1.1 dev eth1", "10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20"])
    expect(ip.rules(4)).toEqual([
      "from 10.0.1.21 lookup 10001",
      "from 10.0.1.22 lookup 10001",
      "from all to 10.0.1.21 lookup 10001",
      "from all to 10.0.1.22 lookup 10001"
    ])
    // the NIC's keys were read at once, with one session token
    expect(instance.sim!.requests.filter((r) => r.method === "PUT").length).toBe(1)

    const before = ip.calls().length
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().slice(before)).toEqual(["ip addr show dev eth1", "ip -4 rule show table 10001", "ip -4 route show table 10001", "ip -6 rule show table 10001"])
  })
)

it.scopedLive("eth0: its secondaries as /32, no route table and no rules", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20"] }) })
    expect(yield* instance.run(["net-sync", "eth0"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls()).toEqual(["ip addr show dev eth0", "ip -4 addr add 10.0.0.11/32 dev eth0"])
  })
)

it.scopedLive("the ifupdown-ng executor: IFACE and PHASE from the environment; pre-down does nothing; imds-net-sync is the same program", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"], ipv6: ["2001:db8:1::5"] }) })
    expect(yield* instance.run(["net-sync"], { IFACE: "eth1", PHASE: "pre-down" })).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls()).toEqual([])
    expect(instance.sim!.requests).toEqual([])

    const byName = routeHelper("imds-net-sync", [])!
    expect(yield* instance.runRoute(byName, { IFACE: "eth1", PHASE: "post-up" })).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "10.0.1.21/32", "2001:db8:1::5/128"])
    expect(ip.routes(6, 10001)).toEqual(["default via fe80::1 dev eth1"])
    expect(ip.rules(6)).toEqual(["from 2001:db8:1::5 lookup 10001", "from all to 2001:db8:1::5 lookup 10001"])
  })
)

it.scopedLive("addresses no interface holds as global unicast ones (0.0.0.0, loopback, multicast, ::1, link-local, site-local) are left out of eth1's addresses, without an error", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, {
      instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21", "0.0.0.0", "127.0.0.5", "224.0.0.5"], ipv6: ["::1", "fe80::99", "fec0::5", "2001:db8:1::5"] })
    })
    const r = yield* instance.run(["net-sync", "eth1"])
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "10.0.1.21/32", "2001:db8:1::5/128"])
  })
)

it.scopedLive("a bad line of tiny-cloud.conf: a phase other than post-up still does nothing, not even name it (ifupdown-ng runs the executor in every phase); post-up names it, syncs, exits 1", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }), conf: "IMDS_TIMEOUT=abc\n" })
    for (const phase of ["pre-up", "up", "pre-down", "down", "post-down"]) {
      expect(yield* instance.run(["net-sync"], { IFACE: "eth1", PHASE: phase })).toEqual({ code: 0, stdout: "", stderr: "" })
    }
    expect(ip.calls()).toEqual([])
    expect(yield* instance.run(["net-sync"], { IFACE: "eth1", PHASE: "post-up" })).toEqual({
      code: 1,
      stdout: "",
      stderr: "imds-net-sync: IMDS_TIMEOUT: invalid value 'abc': expected a positive number of seconds; the default is used\n"
    })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "10.0.1.21/32"])
  })
)

it.scopedLive("IFACE unset, or no such interface: an error line, exit 1", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20"] }) })
    expect(yield* instance.run(["net-sync"])).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: IFACE not set, aborting\n" })
    expect(yield* instance.run(["net-sync", "eth7"])).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: eth7: no such interface\n" })
    // the name as given, control characters escaped, on one line
    expect(yield* instance.run(["net-sync"], { IFACE: "eth1\u001b[2J\nx" })).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: eth1\\x1b[2J\\x0ax: no such interface\n" })
    // empty is unset: IFACE= is none, and PHASE= is no phase of ifupdown-ng's (the sync runs, as by hand)
    expect(yield* instance.run(["net-sync"], { IFACE: "", PHASE: "" })).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: IFACE not set, aborting\n" })
    expect(ip.calls()).toEqual([])
  })
)

it.scopedLive("the argument names the interface before IFACE does; PHASE= empty syncs as by hand", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }) })
    expect(yield* instance.run(["net-sync", "eth1"], { IFACE: "eth7", PHASE: "" })).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toContain("10.0.1.21/32")
  })
)

it.scopedLive("@ipv4-net of more than one line: the first is the subnet of table 10001's routes", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth1: ["10.0.1.20/24", "fe80::2:1/64"] })
    const instance = yield* setUp(ip, { instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20", "10.0.1.21"], ipv4Net: ["10.0.1.0/24", "10.0.9.0/24"] }] } })
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.routes(4, 10001)).toEqual(["default via 10.0.1.1 dev eth1", "10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20"])
  })
)

it.scopedLive("an interface whose name holds an escape character (the kernel allows one) is named printable in its lines, as one that does not exist is", () =>
  Effect.gen(function* () {
    const ip = machine()
    const name = "eth1\u001b[2J"
    const instance = yield* setUp(ip, { interfaces: [...interfaces, { name, mac: "02:00:00:00:00:09", up: true }], instance: metadata({ ipv4: ["10.0.1.20"] }) })
    expect(yield* instance.run(["net-sync", name], { CLOUD: "nowhere" })).toEqual({
      code: 1,
      stdout: "",
      stderr: "imds-net-sync: eth1\\x1b[2J: unknown cloud 'nowhere': set CLOUD in /etc/tiny-cloud.conf; nothing changed\n"
    })
    expect(ip.calls()).toEqual([])
  })
)

it.scopedLive("an address file that holds no MAC address (a hostile image) never goes into a metadata path", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }) })
    instance.write("/sys/class/net/eth1/address", "../../../user-data?x=\n")
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: eth1: no such interface\n" })
    expect(yield* instance.imds(["@nic:eth1,@ipv4"])).toEqual({ code: 1, stdout: "", stderr: "imds: @nic:eth1: no such interface\n" })
    expect(instance.sim!.requests.filter((r) => r.method === "GET")).toEqual([])
    expect(ip.calls()).toEqual([])
  })
)

it.scopedLive("a metadata read that fails leaves the interface as it was", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, {
      instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }),
      faults: { failFirst: 1000, failStatus: 500 },
      env: { IMDS_DEADLINE: "0.3" }
    })
    const r = yield* instance.run(["net-sync", "eth1"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^imds-net-sync: eth1: aws: cannot read http:\/\/127\.0\.0\.1:\d+\/latest\/api\/token: HTTP 500; nothing changed\n$/)
    expect(ip.calls()).toEqual([])
  })
)

it.scopedLive("a NIC the metadata does not know is left alone; what is no address in the metadata never reaches ip", () =>
  Effect.gen(function* () {
    const ip = machine()
    const instance = yield* setUp(ip, {
      instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20", "10.0.1.21", "-rf", "10.0.1.300"], ipv6: ["2001:DB8:1:0:0:0:0:5"], ipv4Net: ["10.0.1.0/24"] }] }
    })
    expect(yield* instance.run(["net-sync", "eth0"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls()).toEqual([])
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "10.0.1.21/32", "2001:db8:1::5/128"])
    expect(ip.calls().filter((c) => /-rf|\.300/.test(c))).toEqual([])
  })
)

it.scopedLive("azure, accelerated networking: the VF (eth1), a port of the synthetic NIC eth0 with eth0's MAC, is left alone; eth0 gets the NIC's secondaries", () =>
  Effect.gen(function* () {
    // Hyper-V gives the VF the synthetic NIC's MAC, and netvsc makes eth0 its master (sysfs eth1/master -> ../eth0)
    const ip = fakeIp({ eth0: ["10.0.0.10/24", "fe80::1:1/64"], eth1: [] }, "fe80::1")
    const instance = yield* setUp(ip, {
      cloud: "azure",
      interfaces: [
        { name: "eth0", mac: ETH0, up: true },
        { name: "eth1", mac: ETH0, up: true }
      ],
      instance: { nics: [{ mac: ETH0, ipv4: ["10.0.0.10", "10.0.0.11"], ipv6: ["2001:db8::5"], ipv4Net: ["10.0.0.0/24"] }] }
    })
    symlinkSync("../eth0", join(instance.root, "sys/class/net/eth1/master"))
    const asked = instance.sim!.requests.length
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls()).toEqual([])
    expect(instance.sim!.requests.length).toBe(asked)
    expect(yield* instance.run(["net-sync", "eth0"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth0")).toEqual(["10.0.0.10/24", "fe80::1:1/64", "10.0.0.11/32", "2001:db8::5/128"])
    expect(ip.addresses("eth1")).toEqual([])
    expect(ip.rules(4)).toEqual([])
  })
)

it.each(["hetzner", "scaleway"])("%s publishes no NICs: nothing to sync, exit 0 with no error line, as for a NIC the metadata does not know (DEFAULT's `use imds` runs it on every ifup)", (cloud) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const ip = machine()
        const instance = yield* setUp(ip, { cloud, instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }) })
        expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
        expect(yield* instance.run(["net-sync"], { IFACE: "eth0", PHASE: "post-up" })).toEqual({ code: 0, stdout: "", stderr: "" })
        expect(ip.calls()).toEqual([])
        expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "10.0.1.99/32", "fe80::2:1/64"])
      })
    )
  )
)

it.each(["gcp", "oci"])("%s: the NIC's IPv6 addresses as /128 with their rules", (cloud) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const ip = machine()
        const instance = yield* setUp(ip, { cloud, instance: metadata({ ipv4: ["10.0.1.20"], ipv6: ["2001:db8:1::5", "2001:db8:1::6"] }) })
        expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
        expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "2001:db8:1::5/128", "2001:db8:1::6/128"])
        expect(ip.routes(6, 10001)).toEqual(["default via fe80::1 dev eth1"])
        expect(ip.rules(6)).toHaveLength(4)
        const before = ip.calls().length
        expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
        expect(ip.calls().slice(before).filter((c) => !SHOWS.test(c))).toEqual([])
      })
    )
  )
)

it.scopedLive("openstack: an IPv6 address the interface already has from SLAAC (a /64) is not added again as /128", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth0: ["10.0.0.10/24", "2001:db8:40:3::10/64", "fe80::1:1/64"] }, "fe80::1")
    const instance = yield* setUp(ip, {
      cloud: "openstack",
      instance: { hostname: "sync.example", nics: [{ mac: ETH0, ipv4: ["10.0.0.10"], ipv4Net: ["10.0.0.0/24"], ipv6: ["2001:db8:40:3::10"], ipv6Net: ["2001:db8:40:3::/64"] }] }
    })
    expect(yield* instance.run(["net-sync", "eth0"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().filter((c) => !SHOWS.test(c))).toEqual([])
    expect(ip.addresses("eth0")).toEqual(["10.0.0.10/24", "2001:db8:40:3::10/64", "fe80::1:1/64"])
  })
)

it.scopedLive("openstack: on eth1, an IPv6 address held from SLAAC keeps its rules in table 10001: added once, never deleted", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth0: ["10.0.0.10/24", "fe80::1:1/64"], eth1: ["10.0.1.20/24", "2001:db8:41:3::20/64", "fe80::2:1/64"] }, "fe80::1")
    const instance = yield* setUp(ip, {
      cloud: "openstack",
      instance: {
        hostname: "sync.example",
        nics: [
          { mac: ETH0, ipv4: ["10.0.0.10"], ipv4Net: ["10.0.0.0/24"] },
          { mac: ETH1, ipv4: ["10.0.1.20"], ipv4Net: ["10.0.1.0/24"], ipv6: ["2001:db8:41:3::20"], ipv6Net: ["2001:db8:41:3::/64"] }
        ]
      }
    })
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "2001:db8:41:3::20/64", "fe80::2:1/64"])
    expect(ip.rules(6)).toEqual(["from 2001:db8:41:3::20 lookup 10001", "from all to 2001:db8:41:3::20 lookup 10001"])
    const before = ip.calls().length
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().slice(before).filter((c) => !SHOWS.test(c))).toEqual([])
  })
)

it.scoped("no IPv6 router on the link within 10 s: the addresses and their rules still, no default route in the table", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth1: ["10.0.1.20/24", "fe80::2:1/64"] })
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20"], ipv6: ["2001:db8:1::5"] }), syslog: true })
    const running = yield* Effect.fork(instance.run(["net-sync", "eth1"]))
    const asked = () => ip.calls().filter((c) => c === "ip -6 route show dev eth1 default").length
    while (asked() === 0) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    yield* TestClock.adjust("9 seconds")
    expect(yield* Fiber.poll(running)).toEqual(Option.none())
    yield* TestClock.adjust("1 second")
    expect(yield* Fiber.join(running)).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(asked()).toBe(20)
    expect(ip.routes(6, 10001)).toEqual([])
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "2001:db8:1::5/128"])
    expect(ip.rules(6)).toEqual(["from 2001:db8:1::5 lookup 10001", "from all to 2001:db8:1::5 lookup 10001"])
    // the shell edition's warning, in syslog as a warning (the only sign that the table has no IPv6 route)
    const logged = instance.invocations().filter((i) => i.command === "logger")
    expect(logged.filter((i) => i.stdin === "Unable to get IPv6 gateway RA after 10s\n").map((i) => i.args[1])).toEqual(["local7.warning"])
  })
)

it.scopedLive("the interface's own primary, a /32 as DHCP gives it on some clouds, stays when the metadata names no primary or a first line that is no address", () =>
  Effect.gen(function* () {
    // no local-ipv4s at all: the stray /32 goes, the interface's first address stays
    const none = fakeIp({ eth1: ["10.0.1.20/32", "10.0.1.99/32", "fe80::2:1/64"] })
    const bare = yield* setUp(none, { instance: { nics: [{ mac: ETH1, ipv4Net: ["10.0.1.0/24"] }] } })
    expect(yield* bare.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(none.addresses("eth1")).toEqual(["10.0.1.20/32", "fe80::2:1/64"])

    // a first line that is no address is the primary still: the secondaries are those after it
    const ip = fakeIp({ eth1: ["10.0.1.20/32", "fe80::2:1/64"] })
    const instance = yield* setUp(ip, { instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20/32", "10.0.1.21"], ipv4Net: ["10.0.1.0/24"] }] } })
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/32", "fe80::2:1/64", "10.0.1.21/32"])
    expect(ip.rules(4)).toEqual(["from 10.0.1.21 lookup 10001", "from all to 10.0.1.21 lookup 10001"])
    const before = ip.calls().length
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().slice(before).filter((c) => !SHOWS.test(c))).toEqual([])
  })
)

it.scopedLive("when the metadata names the primary, every other /32 the interface holds is a secondary, the interface's first address too (BEHAVIOUR.md §8)", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth1: ["10.0.1.99/32", "fe80::2:1/64"] })
    const instance = yield* setUp(ip, { instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20", "10.0.1.21"], ipv4Net: ["10.0.1.0/24"] }] } })
    expect((yield* instance.run(["net-sync", "eth1"])).code).toBe(0)
    expect(ip.addresses("eth1")).toEqual(["fe80::2:1/64", "10.0.1.21/32"])
  })
)

it.scopedLive.each(["192.168.5.0/24", "0.0.0.0/0", "10.0.1.20/32"])("@ipv4-net %s gives no gateway for the primary: no routes in table 10001, the secondaries and their rules still", (net) =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth1: ["10.0.1.20/24", "fe80::2:1/64"] })
    const instance = yield* setUp(ip, { instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20", "10.0.1.21"], ipv4Net: [net] }] } })
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().filter((c) => / route add /.test(c))).toEqual([])
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "fe80::2:1/64", "10.0.1.21/32"])
    expect(ip.rules(4)).toEqual(["from 10.0.1.21 lookup 10001", "from all to 10.0.1.21 lookup 10001"])
  })
)

it.scopedLive("a table 10001 that has routes already (an operator's) is not said to get none when @ipv4-net gives no gateway or is missing", () =>
  Effect.gen(function* () {
    for (const ipv4Net of [["10.0.1.20/32"], []]) {
      const ip = fakeIp({ eth1: ["10.0.1.20/24", "fe80::2:1/64"] })
      ip.answer({ command: "ip", args: ["-4", "route", "add", "default", "via", "10.0.1.254", "dev", "eth1", "table", "10001"], stdin: undefined })
      const instance = yield* setUp(ip, { instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20", "10.0.1.21"], ipv4Net }] }, syslog: true })
      expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(ip.routes(4, 10001)).toEqual(["default via 10.0.1.254 dev eth1"])
      const logged = instance.invocations().filter((i) => i.command === "logger").map((i) => i.stdin ?? "")
      expect(logged.join("")).toContain("OK: ip -4 addr add 10.0.1.21/32 dev eth1")
      expect(logged.filter((l) => l.includes("no routes in table"))).toEqual([])
    }
  })
)

it.scopedLive("an IPv6 address the interface has with another prefix (DHCPv6's, a static /64) is not added again as /128: its rules only; the second run only looks", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth1: ["10.0.1.20/24", "2001:db8:1::5/64", "fe80::2:1/64"] }, "fe80::1")
    const instance = yield* setUp(ip, { instance: metadata({ ipv4: ["10.0.1.20"], ipv6: ["2001:db8:1::5", "2001:db8:1::6"] }) })
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.addresses("eth1")).toEqual(["10.0.1.20/24", "2001:db8:1::5/64", "fe80::2:1/64", "2001:db8:1::6/128"])
    expect(ip.rules(6)).toEqual([
      "from 2001:db8:1::5 lookup 10001",
      "from 2001:db8:1::6 lookup 10001",
      "from all to 2001:db8:1::5 lookup 10001",
      "from all to 2001:db8:1::6 lookup 10001"
    ])
    const before = ip.calls().length
    expect(yield* instance.run(["net-sync", "eth1"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(ip.calls().slice(before).filter((c) => !SHOWS.test(c))).toEqual([])
  })
)

it.scopedLive("a route of table 10001 that ip refuses (the subnet route as much as the default one) is its FAIL line and exit 1; the rest is still synced", () =>
  Effect.gen(function* () {
    const ip = machine()
    const refused = (i: Invocation) =>
      i.command === "ip" && i.args.join(" ").startsWith("-4 route add 10.0.1.0/24 ")
        ? { exitCode: 2, stderr: new TextEncoder().encode("RTNETLINK answers: Invalid argument\n") }
        : ip.answer(i)
    const instance = yield* makeTestInstance({ interfaces, answer: refused, instance: metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }) })
    const r = yield* instance.run(["net-sync", "eth1"])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("imds-net-sync: FAIL: ip -4 route add 10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20 table 10001\n")
    expect(ip.addresses("eth1")).toContain("10.0.1.21/32")
  })
)

it.scopedLive("a NIC listing more addresses of a family than any cloud gives: the first 1024 are synced, the others counted in one warning", () =>
  Effect.gen(function* () {
    const ip = fakeIp({ eth1: ["10.0.1.20/24", "fe80::2:1/64"] })
    const many = Array.from({ length: 1100 }, (_, i) => `10.1.${Math.floor(i / 256)}.${i % 256}`)
    // the primary and 1023 of them; the same address twice is one
    const instance = yield* setUp(ip, { instance: { nics: [{ mac: ETH1, ipv4: ["10.0.1.20", ...many, many[0]!], ipv4Net: ["10.0.1.0/24"] }] } })
    const route = routeHelper("imds-net-sync", ["eth1"])!
    const r = yield* instance.runRoute({ ...route, log: { stderr: "all" } } as typeof route)
    expect(r.code).toBe(0)
    expect(r.stderr.split("\n").filter((l) => / left out$/.test(l))).toEqual(["eth1: 77 IPv4 addresses past the first 1024 of the metadata's list are left out"])
    expect(ip.addresses("eth1").filter((a) => a.endsWith("/32"))).toEqual(many.slice(0, 1023).map((a) => `${a}/32`))
  })
)
