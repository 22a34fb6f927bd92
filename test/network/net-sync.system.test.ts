/**
 * imds-net-sync with the real `ip`, as the bundled program, in a network
 * namespace the test makes: veth links named eth0 and eth1, the metadata
 * simulator on the namespace's loopback, IMDS_ENDPOINT pointing at it.
 * `ip` is reached through a wrapper that counts its invocations.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { SimInstance } from "../../src/sim/simulator.js"
import { PROGRAM, TEST_CODE_CACHE } from "../support/harness.js"
import { describeSystem } from "../support/system.js"
import { IP, makeNamespace, simulatorIn, type Namespace } from "./netns.js"

const ETH0 = "02:00:00:00:00:01"
const ETH1 = "02:00:00:00:00:02"
const PORT = 8080

const metadata = (eth1: { ipv4: Array<string>; ipv6?: Array<string> }): SimInstance => ({
  hostname: "sync.example",
  nics: [
    { mac: ETH0, ipv4: ["10.0.0.10", "10.0.0.11"], ipv4Net: ["10.0.0.0/24"] },
    { mac: ETH1, ipv4: eth1.ipv4, ...(eth1.ipv6 ? { ipv6: eth1.ipv6 } : {}), ipv4Net: ["10.0.1.0/24"] }
  ]
})

/** eth0 and eth1 (veth, their peers in the namespace too) up with their primary addresses; an IPv6 router on eth1's link */
const interfaces = (ns: Namespace) =>
  Effect.gen(function* () {
    for (const [name, mac, peer, primary] of [
      ["eth0", ETH0, "p0", "10.0.0.10/24"],
      ["eth1", ETH1, "p1", "10.0.1.20/24"]
    ] as const) {
      yield* ns.ip("link", "add", name, "address", mac, "type", "veth", "peer", "name", peer)
      yield* ns.ip("link", "set", peer, "up")
      yield* ns.ip("link", "set", name, "up")
      yield* ns.ip("addr", "add", primary, "dev", name)
    }
    yield* ns.ip("-6", "route", "add", "default", "via", "fe80::1", "dev", "eth1")
  })

/**
 * a directory with the `ip` wrapper (logging each invocation, then the real one; with KILL_AT=N it kills its caller,
 * imds-net-sync, once the N-th change is made: a crash at that point) and a `logger` that keeps syslog's lines
 */
const tools = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-netns-"))
    writeFileSync(
      join(dir, "ip"),
      `#!/bin/sh\nprintf 'ip %s\\n' "$*" >> "${dir}/ip.log"\ncase " $* " in *" show "*) exec ${IP} "$@";; esac\n${IP} "$@"; rc=$?\n` +
        `if [ -n "$KILL_AT" ]; then echo >> "${dir}/changes"; [ "$(wc -l < "${dir}/changes")" -eq "$KILL_AT" ] && kill -KILL $PPID; fi\nexit $rc\n`
    )
    writeFileSync(join(dir, "logger"), `#!/bin/sh\nwhile IFS= read -r line; do printf '%s %s %s\\n' "$2" "$4" "$line" >> "${dir}/syslog"; done\n`)
    chmodSync(join(dir, "ip"), 0o755)
    chmodSync(join(dir, "logger"), 0o755)
    return dir
  }),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [])

/** the interface's /32 and /128 addresses, the table's routes, the rules: what the kernel has */
const state = (ns: Namespace, iface: string, table: number) =>
  Effect.gen(function* () {
    const words = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l !== "")
    const addresses = (yield* ns.ip("-o", "addr", "show", "dev", iface)).split("\n").flatMap((l) => /inet6? (\S+\/(32|128)) /.exec(l)?.[1] ?? [])
    return {
      addresses: addresses.sort(),
      routes4: words(yield* ns.ip("-4", "route", "show", "table", "all")).filter((l) => l.includes(`table ${table}`)),
      routes6: words(yield* ns.ip("-6", "route", "show", "table", "all")).filter((l) => l.includes(`table ${table}`)),
      rules4: words(yield* ns.ip("-4", "rule", "show")).filter((l) => l.endsWith(`lookup ${table}`)).map((l) => l.replace(/^\d+: /, "")).sort(),
      rules6: words(yield* ns.ip("-6", "rule", "show")).filter((l) => l.endsWith(`lookup ${table}`)).map((l) => l.replace(/^\d+: /, "")).sort()
    }
  })

/** what the kernel has, exactly: eth1's addresses in the kernel's order, table 10001's routes, the rules with their priorities */
const exactState = (ns: Namespace) =>
  Effect.gen(function* () {
    const words = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l !== "")
    return {
      addresses: words(yield* ns.ip("-o", "addr", "show", "dev", "eth1")).map((l) => l.split(" ").slice(1, 4).join(" ")),
      routes4: words(yield* ns.ip("-4", "route", "show", "table", "10001")),
      routes6: words(yield* ns.ip("-6", "route", "show", "table", "10001")).map((l) => l.replace(/ pref \S+$/, "")),
      rules4: words(yield* ns.ip("-4", "rule", "show")),
      rules6: words(yield* ns.ip("-6", "rule", "show"))
    }
  })

// each test has a namespace (links, addresses, the simulator on its loopback) and a tools directory of its own: they run at once
describeSystem("imds-net-sync with the real ip in a network namespace", { tools: { ip: "iproute2" }, root: true }, () => {
  it.scopedLive("adds the secondaries, eth1's table 10001 routes and rules; converges when the metadata changes; a third run only looks", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* interfaces(ns)
      const bin = yield* tools
      const env = {
        PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
        CLOUD: "aws",
        IMDS_ENDPOINT: `127.0.0.1:${PORT}`,
        TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE
      }
      const sync = (iface: string) => ns.exec(process.execPath, [PROGRAM, "net-sync", iface], env)
      const ipCalls = () => lines(join(bin, "ip.log"))

      // first: eth1 gets .21 and .22
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* simulatorIn(ns, "aws", metadata({ ipv4: ["10.0.1.20", "10.0.1.21", "10.0.1.22"] }), PORT)
          expect(yield* sync("eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
          expect(yield* sync("eth0")).toEqual({ code: 0, stdout: "", stderr: "" })
        })
      )
      expect(yield* state(ns, "eth1", 10001)).toEqual({
        addresses: ["10.0.1.21/32", "10.0.1.22/32"],
        routes4: ["default via 10.0.1.1 dev eth1 table 10001", "10.0.1.0/24 dev eth1 table 10001 proto kernel scope link src 10.0.1.20"],
        routes6: [],
        rules4: ["from 10.0.1.21 lookup 10001", "from 10.0.1.22 lookup 10001", "from all to 10.0.1.21 lookup 10001", "from all to 10.0.1.22 lookup 10001"],
        rules6: []
      })
      expect((yield* state(ns, "eth0", 10000)).addresses).toEqual(["10.0.0.11/32"])

      // the NIC's data changes: .21 removed, .23 added, an IPv6 address added
      const changed = metadata({ ipv4: ["10.0.1.20", "10.0.1.22", "10.0.1.23"], ipv6: ["2001:db8:1::5"] })
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* simulatorIn(ns, "aws", changed, PORT)
          const before = ipCalls().length
          expect(yield* sync("eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
          expect(ipCalls().slice(before)).toEqual([
            "ip addr show dev eth1",
            "ip -4 rule show table 10001",
            "ip -4 route show table 10001",
            "ip -4 addr del 10.0.1.21/32 dev eth1",
            "ip -4 rule del from 10.0.1.21 lookup 10001",
            "ip -4 rule del to 10.0.1.21 lookup 10001",
            "ip -4 addr add 10.0.1.23/32 dev eth1",
            "ip -4 rule add from 10.0.1.23 lookup 10001",
            "ip -4 rule add to 10.0.1.23 lookup 10001",
            "ip -6 rule show table 10001",
            "ip -6 route show table 10001",
            "ip -6 route show dev eth1 default",
            "ip -6 route add default via fe80::1 dev eth1 table 10001",
            "ip -6 addr add 2001:db8:1::5/128 dev eth1",
            "ip -6 rule add from 2001:db8:1::5 lookup 10001",
            "ip -6 rule add to 2001:db8:1::5 lookup 10001"
          ])
          expect(yield* state(ns, "eth1", 10001)).toEqual({
            addresses: ["10.0.1.22/32", "10.0.1.23/32", "2001:db8:1::5/128"],
            routes4: ["default via 10.0.1.1 dev eth1 table 10001", "10.0.1.0/24 dev eth1 table 10001 proto kernel scope link src 10.0.1.20"],
            routes6: [expect.stringMatching(/^default via fe80::1 dev eth1 table 10001 /)],
            rules4: ["from 10.0.1.22 lookup 10001", "from 10.0.1.23 lookup 10001", "from all to 10.0.1.22 lookup 10001", "from all to 10.0.1.23 lookup 10001"],
            rules6: ["from 2001:db8:1::5 lookup 10001", "from all to 2001:db8:1::5 lookup 10001"]
          })

          // third: nothing to change, only looking
          const settled = yield* state(ns, "eth1", 10001)
          const third = ipCalls().length
          expect(yield* sync("eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
          expect(ipCalls().slice(third)).toEqual([
            "ip addr show dev eth1",
            "ip -4 rule show table 10001",
            "ip -4 route show table 10001",
            "ip -6 rule show table 10001",
            "ip -6 route show table 10001"
          ])
          expect(yield* state(ns, "eth1", 10001)).toEqual(settled)
        })
      )
      // its lines went to syslog under its own name, none to stderr
      const syslog = lines(join(bin, "syslog")).map((l) => l.replace(/\[\d+\]/, "[PID]"))
      expect(syslog).toEqual(expect.arrayContaining(["local7.info imds-net-sync[PID] SYNCING: eth1", "local7.info imds-net-sync[PID] OK: ip -4 addr add 10.0.1.23/32 dev eth1"]))
    })
  )

  it.scopedLive("killed after a change and run again: the addresses, table 10001's routes and the rules with their priorities end as one undisturbed run leaves them", () =>
    Effect.gen(function* () {
      const eth1 = metadata({ ipv4: ["10.0.1.20", "10.0.1.21", "10.0.1.22"], ipv6: ["2001:db8:1::5", "2001:db8:1::6"] })
      // between the two IPv4 routes; after an address's first rule (IPv4, IPv6): the rest must come in the same order
      const KILL_AT = [1, 4, 11]
      // KILL_AT: undefined, one run; N, a run killed once its N-th change is made, then a run
      const boot = (killAt: number | undefined) =>
        Effect.scoped(
          Effect.gen(function* () {
            const ns = yield* makeNamespace
            yield* interfaces(ns)
            const bin = yield* tools
            yield* simulatorIn(ns, "aws", eth1, PORT)
            const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, CLOUD: "aws", IMDS_ENDPOINT: `127.0.0.1:${PORT}`, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
            const sync = (extra: Record<string, string>) => ns.exec(process.execPath, [PROGRAM, "net-sync", "eth1"], { ...env, ...extra })
            // killed by a signal: no exit status (-1)
            if (killAt !== undefined) expect((yield* sync({ KILL_AT: String(killAt) })).code).toBe(-1)
            expect(yield* sync({})).toEqual({ code: 0, stdout: "", stderr: "" })
            return yield* exactState(ns)
          })
        )
      // each boot in a namespace of its own: they run at once
      const [undisturbed, ...killed] = yield* Effect.all([boot(undefined), ...KILL_AT.map(boot)], { concurrency: "unbounded" })
      expect(undisturbed!.routes4).toEqual(["default via 10.0.1.1 dev eth1", "10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.20"])
      KILL_AT.forEach((killAt, i) => expect({ killAt, ...killed[i] }).toEqual({ killAt, ...undisturbed }))
    })
  )

  it.scopedLive("the operator's table 10001 with a default route through another gateway is theirs: no route is added to it, the addresses and rules still are", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* interfaces(ns)
      const bin = yield* tools
      yield* simulatorIn(ns, "aws", metadata({ ipv4: ["10.0.1.20", "10.0.1.21"] }), PORT)
      yield* ns.ip("-4", "route", "add", "default", "via", "10.0.1.254", "dev", "eth1", "table", "10001")
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, CLOUD: "aws", IMDS_ENDPOINT: `127.0.0.1:${PORT}`, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      expect(yield* ns.exec(process.execPath, [PROGRAM, "net-sync", "eth1"], env)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* state(ns, "eth1", 10001)).toMatchObject({
        addresses: ["10.0.1.21/32"],
        routes4: ["default via 10.0.1.254 dev eth1 table 10001"],
        rules4: ["from 10.0.1.21 lookup 10001", "from all to 10.0.1.21 lookup 10001"]
      })
      expect(lines(join(bin, "ip.log")).filter((l) => / route add /.test(l))).toEqual([])
    })
  )

  it.scopedLive("a port of another interface (Azure's accelerated-networking VF: eth0's MAC, eth0 its master) is left alone; its master gets the NIC's secondaries", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      // netvsc's VF is no device a namespace can make: a bridge eth0 and its port eth1 show the same sysfs `master` link, MAC and flags
      yield* ns.ip("link", "add", "eth0", "address", ETH0, "type", "bridge")
      yield* ns.ip("link", "add", "eth1", "address", ETH0, "type", "veth", "peer", "name", "p1")
      yield* ns.ip("link", "set", "eth1", "master", "eth0")
      for (const link of ["p1", "eth1", "eth0"]) yield* ns.ip("link", "set", link, "up")
      yield* ns.ip("addr", "add", "10.0.0.10/24", "dev", "eth0")
      const bin = yield* tools
      yield* simulatorIn(ns, "azure", { hostname: "vm", nics: [{ mac: ETH0, ipv4: ["10.0.0.10", "10.0.0.11"], ipv6: ["2001:db8::5"], ipv4Net: ["10.0.0.0/24"] }] }, PORT)
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, CLOUD: "azure", IMDS_ENDPOINT: `127.0.0.1:${PORT}`, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      const sync = (iface: string) => ns.exec(process.execPath, [PROGRAM, "net-sync", iface], env)
      expect(yield* sync("eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(lines(join(bin, "ip.log"))).toEqual([])
      expect(yield* state(ns, "eth1", 10001)).toEqual({ addresses: [], routes4: [], routes6: [], rules4: [], rules6: [] })
      expect(lines(join(bin, "syslog")).map((l) => l.replace(/\[\d+\]/, "[PID]"))).toContain(
        "local7.info imds-net-sync[PID] eth1: a port of eth0, which holds its addresses; nothing changed"
      )
      expect(yield* sync("eth0")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect((yield* state(ns, "eth0", 10000)).addresses).toEqual(["10.0.0.11/32", "2001:db8::5/128"])
    })
  )

  it.scopedLive("thousands of values that are no address: none reaches ip, the first hundred are named in syslog and the others counted in one line", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* interfaces(ns)
      const bin = yield* tools
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, CLOUD: "aws", IMDS_ENDPOINT: `127.0.0.1:${PORT}`, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      const junk = Array.from({ length: 3000 }, (_, i) => `x${i}`)
      // first, a value a terminal or the console acts on (U+009B is CSI there): named escaped
      yield* simulatorIn(ns, "aws", metadata({ ipv4: ["10.0.1.20", "10.0.1.21", "\u009b2J\u202e", ...junk], ipv6: ["2001:db8:1::5", ...junk] }), PORT)
      expect(yield* ns.exec(process.execPath, [PROGRAM, "net-sync", "eth1"], env)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect((yield* state(ns, "eth1", 10001)).addresses).toEqual(["10.0.1.21/32", "2001:db8:1::5/128"])
      expect(lines(join(bin, "ip.log")).filter((c) => /\bx\d/.test(c))).toEqual([])
      const warnings = lines(join(bin, "syslog"))
        .filter((l) => l.startsWith("local7.warning "))
        .map((l) => l.replace(/^\S+ \S+ /, ""))
      expect(warnings).toHaveLength(101)
      expect(warnings[0]).toBe('eth1: ignoring "\\u009b2J\\u202e": not an IP address')
      expect(warnings[1]).toBe('eth1: ignoring "x0": not an IP address')
      expect(warnings[100]).toBe("eth1: 5901 more ignored values are not listed")
    })
  )

  it.scopedLive("addresses no interface holds as global unicast ones (0.0.0.0, multicast, ::1, link-local, site-local) are left out: the second run only looks", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* interfaces(ns)
      const bin = yield* tools
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, CLOUD: "aws", IMDS_ENDPOINT: `127.0.0.1:${PORT}`, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      const sync = () => ns.exec(process.execPath, [PROGRAM, "net-sync", "eth1"], env)
      const ipCalls = () => lines(join(bin, "ip.log"))
      yield* simulatorIn(ns, "aws", metadata({ ipv4: ["10.0.1.20", "10.0.1.21", "0.0.0.0", "224.0.0.5"], ipv6: ["fe80::99", "::1", "fec0::5", "2001:db8:1::5"] }), PORT)
      expect(yield* sync()).toEqual({ code: 0, stdout: "", stderr: "" })
      expect((yield* state(ns, "eth1", 10001)).addresses).toEqual(["10.0.1.21/32", "2001:db8:1::5/128"])
      expect(ipCalls().filter((c) => /0\.0\.0\.0|224\.0\.0\.5|fe80::99| ::1\b|fec0::5/.test(c))).toEqual([])
      const second = ipCalls().length
      expect(yield* sync()).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(ipCalls().slice(second).filter((c) => !/ show /.test(c))).toEqual([])
      const syslog = lines(join(bin, "syslog")).map((l) => l.replace(/\[\d+\]/, "[PID]"))
      expect(syslog).toEqual(
        expect.arrayContaining([
          "local7.warning imds-net-sync[PID] eth1: ignoring fe80::99: not a unicast host address",
          "local7.warning imds-net-sync[PID] eth1: ignoring fec0::5: not a unicast host address"
        ])
      )
    })
  )
}, { concurrent: true })
