/**
 * The pure parts of imds-net-sync: addresses in one canonical spelling, and
 * a plan that, once applied, leaves nothing more to do.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { firstHost, ipv4, ipv4Cidr, ipv6 } from "../../src/domain/ip.js"
import { missingRoutes, parseAddresses, parseRules, planSync, routeTableOf, type Rule, type SyncState } from "../../src/domain/net-sync.js"

const group = fc.integer({ min: 0, max: 0xffff })
const groups = fc.array(group, { minLength: 8, maxLength: 8 })

describe("ipv6", () => {
  it("any spelling of an address gives the RFC 5952 one (as a URL host writes it)", () =>
    fc.assert(
      fc.property(groups, fc.boolean(), fc.boolean(), (g, upper, padded) => {
        const spelled = g.map((n) => (padded ? n.toString(16).padStart(4, "0") : n.toString(16))).join(":")
        const canonical = new URL(`http://[${g.map((n) => n.toString(16)).join(":")}]/`).hostname.slice(1, -1)
        expect(ipv6(upper ? spelled.toUpperCase() : spelled)).toBe(canonical)
        expect(ipv6(canonical)).toBe(canonical)
      })
    ))

  it("compressed forms, an IPv4 tail, and what is no address", () => {
    expect(ipv6("2001:DB8:0:0:0:0:0:5")).toBe("2001:db8::5")
    expect(ipv6("::")).toBe("::")
    expect(ipv6("::ffff:10.0.0.1")).toBe("::ffff:a00:1")
    expect(ipv6("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1")
    for (const bad of ["", "1:2:3:4:5:6:7:8:9", "1::2::3", "fe80::1%eth0", "12345::", "-rf", "::1/128", "1:2:3:4:5:6:7::8:9"]) expect(ipv6(bad)).toBeUndefined()
  })
})

describe("ipv4", () => {
  it("a dotted quad is its own canonical form", () =>
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        expect(ipv4(a)).toBe(a)
      })
    ))

  it("octets above 255, leading zeros and other text are no address; a network's first host", () => {
    for (const bad of ["10.0.1.300", "010.0.0.1", "10.0.1", "10.0.1.1.1", "-rf", "10.0.0.1/32"]) expect(ipv4(bad)).toBeUndefined()
    expect(ipv4Cidr("10.0.1.77/24")).toEqual({ network: "10.0.1.0", bits: 24 })
    expect(firstHost(ipv4Cidr("172.31.16.0/20")!)).toBe("172.31.16.1")
    expect(ipv4Cidr("10.0.1.0/33")).toBeUndefined()
  })
})

describe("ip output", () => {
  it("addresses, with their prefix and scope", () => {
    const shown = [
      "3: eth1@p1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000",
      "    link/ether 6a:08:31:b9:10:a6 brd ff:ff:ff:ff:ff:ff",
      "    inet 10.0.1.20/24 brd 10.0.1.255 scope global eth1",
      "       valid_lft forever preferred_lft forever",
      "    inet 10.0.1.21/32 scope global eth1",
      "    inet6 2001:db8::5/128 scope global tentative ",
      "    inet6 fe80::6808:31ff:feb9:10a6/64 scope link "
    ].join("\n")
    expect(parseAddresses(shown)).toEqual([
      { family: 4, address: "10.0.1.20", prefix: 24, scope: "global" },
      { family: 4, address: "10.0.1.21", prefix: 32, scope: "global" },
      { family: 6, address: "2001:db8::5", prefix: 128, scope: "global" },
      { family: 6, address: "fe80::6808:31ff:feb9:10a6", prefix: 64, scope: "link" }
    ])
  })

  it("the from/to rules of the table; other rules are not ours", () => {
    const shown = "0:\tfrom all lookup local\n32764:\tfrom all to 10.0.1.21 lookup 10001\n32765:\tfrom 10.0.1.21 lookup 10001\n32766:\tfrom 10.0.9.9 lookup 10002\n32767:\tfrom all fwmark 0x1 lookup 10001\n"
    expect(parseRules(shown, 4, 10001)).toEqual([
      { kind: "to", address: "10.0.1.21" },
      { kind: "from", address: "10.0.1.21" }
    ])
  })
})

/** the state after the plan's `ip` commands, as the kernel would have it */
const apply = (s: SyncState, plan: ReadonlyArray<ReadonlyArray<string>>): SyncState => {
  let present = [...s.present]
  let rules: Array<Rule> = [...s.rules]
  for (const [, object, op, ...rest] of plan) {
    if (object === "addr") {
      const a = rest[0]!.split("/")[0]!
      present = op === "add" ? [...present, a] : present.filter((p) => p !== a)
    } else {
      const rule: Rule = { kind: rest[0] as Rule["kind"], address: rest[1]! }
      rules = op === "add" ? [...rules, rule] : rules.filter((r) => r.kind !== rule.kind || r.address !== rule.address)
    }
  }
  return { ...s, present, rules }
}

const pool = ["10.0.1.21", "10.0.1.22", "10.0.1.23", "10.0.1.24"]
const addresses = fc.uniqueArray(fc.constantFrom(...pool))
const rules = fc.uniqueArray(fc.record({ kind: fc.constantFrom("from" as const, "to" as const), address: fc.constantFrom(...pool) }), {
  selector: (r) => `${r.kind} ${r.address}`
})

describe("planSync", () => {
  it("applied, it leaves the interface as the metadata lists it, and a second plan empty", () =>
    fc.assert(
      fc.property(addresses, addresses, rules, fc.boolean(), (wanted, present, had, eth0) => {
        const state: SyncState = { iface: eth0 ? "eth0" : "eth1", family: 4, table: eth0 ? undefined : 10001, wanted, present, rules: eth0 ? [] : had }
        const after = apply(state, planSync(state))
        expect(new Set(after.present)).toEqual(new Set(wanted))
        if (!eth0) expect(new Set(after.rules.map((r) => `${r.kind} ${r.address}`))).toEqual(new Set(wanted.flatMap((a) => [`from ${a}`, `to ${a}`])))
        expect(planSync(after)).toEqual([])
      })
    ))

  it("each address goes with its rules", () => {
    const plan = planSync({ iface: "eth1", family: 6, table: 10001, wanted: ["2001:db8::6"], present: ["2001:db8::5"], rules: [{ kind: "from", address: "2001:db8::5" }] })
    expect(plan.map((a) => a.join(" "))).toEqual([
      "-6 addr del 2001:db8::5/128 dev eth1",
      "-6 rule del from 2001:db8::5 lookup 10001",
      "-6 addr add 2001:db8::6/128 dev eth1",
      "-6 rule add from 2001:db8::6 lookup 10001",
      "-6 rule add to 2001:db8::6 lookup 10001"
    ])
  })
})

describe("routeTableOf", () => {
  it("is 10000 + N for ethN, and none past Linux's 32-bit tables or for a number written oddly", () => {
    expect(["eth0", "eth1", "eth4294957295", "eth4294957296", "eth99999999999999999999", "eth01", "ens5"].map(routeTableOf)).toEqual([
      10000,
      10001,
      4294967295,
      undefined,
      undefined,
      undefined,
      undefined
    ])
  })
})

describe("missingRoutes", () => {
  const ours = [
    ["default", "via", "10.0.1.1", "dev", "eth1"],
    ["10.0.1.0/24", "dev", "eth1", "proto", "kernel", "scope", "link", "src", "10.0.1.20"]
  ]
  it("all of them for an empty table, the one a killed run left out, none when the table holds another destination (the operator's)", () => {
    expect(missingRoutes("", ours)).toEqual(ours)
    expect(missingRoutes("default via 10.0.1.1 dev eth1 \n", ours)).toEqual([ours[1]])
    expect(missingRoutes("10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20 \n", ours)).toEqual([ours[0]])
    expect(missingRoutes("default via 10.0.1.1 dev eth1 \n10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20 \n", ours)).toEqual([])
    expect(missingRoutes("default via 10.0.1.1 dev eth1 \n192.168.9.0/24 via 10.0.1.5 dev eth1 \n", ours)).toEqual([])
  })

  it("none when the table holds a route to one of their destinations that is not theirs: the operator's default through another gateway, a subnet route from another address", () => {
    expect(missingRoutes("default via 10.0.1.254 dev eth1 \n", ours)).toEqual([])
    expect(missingRoutes("default via 10.0.1.1 dev eth2 \n", ours)).toEqual([])
    expect(missingRoutes("10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.99 \n", ours)).toEqual([])
    expect(missingRoutes("10.0.1.0/24 via 10.0.1.1 dev eth1 \n", ours)).toEqual([])
    // what ip adds to a line of ours (a flag, a metric) keeps it ours
    expect(missingRoutes("default via 10.0.1.1 dev eth1 metric 5 linkdown \n", ours)).toEqual([ours[1]])
  })
})
