/**
 * aws on a dual-stack first boot whose DHCPv4 lease comes after IPv6's
 * router advertisement: no route to 169.254.169.254 yet, a route to
 * `[fd00:ec2::254]`, where nothing answers (AWS's IPv6 endpoint is off
 * unless enabled): its connection is never made. In-process, over an Http
 * on the TestClock whose requests to the IPv6 address wait out their
 * IMDS_TIMEOUT; test/network/late-lease.system.test.ts shows the same with
 * the kernel's routing, in a namespace.
 */
import { describe, expect, it } from "@effect/vitest"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { HttpTransportError } from "../../src/domain/errors.js"
import { bytesOf } from "../../src/domain/text.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { appLayer } from "../../src/layers/live.js"
import { Http } from "../../src/services/Http.js"
import { Metadata } from "../../src/services/Metadata.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { advancingWhileWaited } from "../support/test-clock.js"
import { scopedDir } from "../support/scratch.js"

const V4 = "169.254.169.254"
const V6 = "fd00:ec2::254"
const HOST = "ip-10-0-0-10.us-west-2.compute.internal"
const SERVED: Readonly<Record<string, string>> = { "PUT /latest/api/token": "AQAEAIqCyQ3vB0ApUhsbZ9sv0xVtq0q9w3Kk4s0aUQ6fJb5Lq8cHPQ==", "GET /latest/meta-data/hostname": HOST }

/**
 * 169.254.169.254 with no route to its network until `leased` (never, when not given); the IPv6 address
 * routed, its SYN never answered: each request there times out, unconnected, at its timeout. What was asked, when.
 */
const lateLease = (leased?: (asked: ReadonlyArray<string>) => boolean) => {
  const asked: Array<{ readonly at: number; readonly request: string }> = []
  const layer = Layer.succeed(Http, {
    request: (r) =>
      Effect.gen(function* () {
        const request = `${r.method} ${r.host} ${r.path}`
        asked.push({ at: yield* Clock.currentTimeMillis, request })
        if (r.host === V6) return yield* Effect.delay(Effect.fail(new HttpTransportError({ reason: "timed out", timedOut: true, unconnected: true })), r.timeoutMs)
        if (leased === undefined || !leased(asked.map((a) => a.request))) return yield* Effect.fail(new HttpTransportError({ reason: "network is unreachable", noNetwork: true }))
        const body = SERVED[`${r.method} ${r.path}`]
        return body === undefined ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) }
      })
  })
  return { layer, asked }
}

/** the hostname read as `imds @hostname` reads it, over the program's own services with `http` as its network, a temporary ROOT */
const hostnameOver = (http: Layer.Layer<Http>, env: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const root = yield* scopedDir("tiny-cloud-late-lease-", tmpdir())
    const commands = yield* recordingCommands({ root })
    const { layer: output } = yield* capturingOutput
    return yield* Effect.flatMap(Metadata, (m) => Effect.either(m.hostname)).pipe(Effect.provide(appLayer({ ROOT: root, CLOUD: "aws", ...env }, "test", { commands: commands.layer, http, output })))
  })

/** hostnameOver on the TestClock, moved on by `step` while the read waits */
const hostnameWaitingOver = (http: Layer.Layer<Http>, env: Readonly<Record<string, string>>, step: number) =>
  Effect.map(advancingWhileWaited(hostnameOver(http, env), step), ({ result }) => result)

describe("aws: a DHCP lease that comes while the read waits on the silent IPv6 address", () => {
  it.scoped("169.254.169.254 is asked at the next try after the IPv6 address's one IMDS_TIMEOUT, not after a second one there (the token-less metadata root asked where no connection was made)", () =>
    Effect.gen(function* () {
      // the lease comes as the IPv6 address is first asked
      const http = lateLease((asked) => asked.some((a) => a.includes(V6)))
      expect(yield* hostnameWaitingOver(http.layer, { IMDS_TIMEOUT: "2", IMDS_RETRY_DELAY: "100" }, 20)).toEqual(Either.right(Option.some(HOST)))
      // one token, one GET; the IPv6 address asked once
      expect(http.asked.map((a) => a.request)).toEqual([`PUT ${V4} /latest/api/token`, `PUT ${V6} /latest/api/token`, `PUT ${V4} /latest/api/token`, `GET ${V4} /latest/meta-data/hostname`])
      // after the IPv6 address's timeout, no more than the second retry's delay (200 ms, jittered by a fifth at most)
      const [, v6, v4] = http.asked
      expect(v4!.at - v6!.at).toBeLessThanOrEqual(2000 + 240 + 20)
    })
  )

  it.scoped("no lease at all: the two addresses are asked in turn, one IMDS_TIMEOUT at the IPv6 one each time, and the line at the deadline names the address whose failure it gives", () =>
    Effect.gen(function* () {
      const http = lateLease()
      const got = yield* hostnameWaitingOver(http.layer, { IMDS_TIMEOUT: "1", IMDS_DEADLINE: "6" }, 100)
      expect(["aws: cannot read http://169.254.169.254/latest/api/token: network is unreachable", `aws: cannot read http://[${V6}]/latest/api/token: timed out`]).toContain(
        Either.isLeft(got) ? got.left.message : got
      )
      const hosts = http.asked.map((a) => a.request.split(" ")[1])
      expect(hosts.length).toBeGreaterThan(4)
      expect(hosts.every((h, i) => h === (i % 2 === 0 ? V4 : V6))).toBe(true)
      expect(http.asked.every((a) => a.request.endsWith(" /latest/api/token"))).toBe(true)
    })
  )

  it.scopedLive("the token request's connection made but never answered (its answer dropped by the PUT response hop limit), over the real transport: the metadata root is still asked without a token there, and the read goes on without one", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const server = yield* Effect.acquireRelease(
        Effect.async<Server>((resume) => {
          const s = createServer((req, res) => {
            asked.push(`${req.method} ${req.url}`)
            // the token's answer never comes
            if (req.method === "PUT") return
            if (req.url === "/latest/") return res.end("dynamic\nmeta-data\nuser-data\n")
            if (req.url === "/latest/meta-data/hostname" && req.headers["x-aws-ec2-metadata-token"] === undefined) return res.end(HOST)
            res.writeHead(404).end()
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.async<void>((resume) => {
          s.closeAllConnections()
          s.close(() => resume(Effect.void))
        })
      )
      const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`
      expect(yield* hostnameOver(HttpLive, { IMDS_ENDPOINT: endpoint, IMDS_TIMEOUT: "0.3", IMDS_DEADLINE: "3" })).toEqual(Either.right(Option.some(HOST)))
      expect(asked).toEqual(["PUT /latest/api/token", "GET /latest/", "GET /latest/meta-data/hostname"])
    })
  )
})
