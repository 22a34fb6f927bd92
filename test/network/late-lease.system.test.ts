/**
 * aws on a dual-stack first boot whose DHCPv4 lease comes after IPv6's
 * router advertisement, the program run for real in a namespace of the
 * test's own: no route to 169.254.169.254 yet, `[fd00:ec2::254]` routed
 * (a veth whose frames to it go out and are never answered: AWS's IPv6
 * endpoint is off unless enabled). What the kernel shows of it: each
 * connection to the IPv6 address waiting for its SYN's answer.
 * test/clouds/imds-late-lease.test.ts has the schedule on the TestClock.
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { makeInstance, PROGRAM, TEST_CODE_CACHE } from "../support/harness.js"
import { describeSystem, which } from "../support/system.js"
import { makeNamespace, silentIpv6Subnet, simulatorIn, type Namespace } from "./netns.js"

const HOST = "web-1.example.internal"
const V4 = "169.254.169.254"
const V6 = "fd00:ec2::254"
const SS = which("ss") ?? "/usr/bin/ss"

/** the local ports of the namespace's connections to ADDRESS waiting for their SYN's answer */
const connecting = (ns: Namespace, address: string) =>
  Effect.map(ns.exec(SS, ["-Htn", "state", "syn-sent", "dst", `[${address}]`], {}), (r) =>
    r.stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => l.trim().split(/\s+/)[2]!.replace(/^.*:/, ""))
  )

describeSystem("aws: a DHCP lease that comes while the read waits on the silent IPv6 metadata address", { tools: { ip: "iproute2", ss: "iproute2" }, root: true }, () => {
  it.scopedLive("once 169.254.169.254 has a route, no connection to [fd00:ec2::254] is begun (the token-less metadata root is not asked where the token request's SYN went unanswered); the service hears one token request and one GET", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* silentIpv6Subnet(ns, "fd00:ec2::10", V6)
      const instance = yield* Effect.acquireRelease(
        Effect.promise(() => makeInstance({ noSimulator: true })),
        (i) => Effect.promise(() => i.close())
      )
      // listening on every address: 169.254.169.254 once it is there
      const service = yield* simulatorIn(ns, "aws", { hostname: HOST, localHostname: HOST }, 80, { host: "0.0.0.0" })
      // IMDS_TIMEOUT's default: the lease is in place well within the first wait at the IPv6 address
      const env = { ...instance.env, CLOUD: "aws", IMDS_DEADLINE: "30", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      const imds = yield* Effect.fork(ns.exec(process.execPath, [PROGRAM, "imds", "@hostname"], env))
      let before: ReadonlyArray<string> = []
      // until the program ends, should it never ask there: then it fails naming what it said, not at the test's timeout
      while (before.length === 0 && Option.isNone(yield* Fiber.poll(imds))) before = yield* Effect.zipLeft(connecting(ns, V6), Effect.sleep("20 millis"))
      if (before.length === 0) expect.fail(`the program ended before any connection to [${V6}]: ${JSON.stringify(yield* Fiber.join(imds))}`)
      // the lease: 169.254.169.254 on the namespace's loopback
      yield* ns.ip("addr", "add", `${V4}/32`, "dev", "lo")
      // the connections begun before the lease, or as it came
      const atLease = new Set([...before, ...(yield* connecting(ns, V6))])
      expect(yield* connecting(ns, V6), "the lease came while the first connection to the IPv6 address still waited").toEqual(expect.arrayContaining([...before]))
      const begunAfter = new Set<string>()
      while (Option.isNone(yield* Fiber.poll(imds))) {
        for (const port of yield* connecting(ns, V6)) if (!atLease.has(port)) begunAfter.add(port)
        yield* Effect.sleep("20 millis")
      }
      expect(yield* Fiber.join(imds)).toEqual({ code: 0, stdout: HOST, stderr: "" })
      expect([...begunAfter]).toEqual([])
      expect((yield* service.stop).requests.map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /latest/api/token", "GET /latest/meta-data/hostname"])
    })
  )
})
