/**
 * The metadata service's IPv6 address (aws `[fd00:ec2::254]`, gcp
 * `[fd20:ce::254]`, oci `[fd00:c1::a9fe:a9fe]`, scaleway `[fd00:42::42]`, openstack `[fe80::a9fe:a9fe%eth0]`), for an instance in an
 * IPv6-only subnet, which has no route to 169.254.169.254 (scaleway's 169.254.42.42): cloud-init's
 * DataSourceEc2, DataSourceOracle and DataSourceScaleway ask both. In-process, over an Http that cannot reach the
 * IPv4 address; test/network/real-addresses.system.test.ts boots such an
 * instance for real, in a namespace without IPv4.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { HttpTransportError } from "../../src/domain/errors.js"
import { bytesOf } from "../../src/domain/text.js"
import { appLayer } from "../../src/layers/live.js"
import { Http } from "../../src/services/Http.js"
import { Metadata, type CloudMetadata } from "../../src/services/Metadata.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { scopedDir } from "../support/scratch.js"
import { advancingClock } from "../support/test-clock.js"

const V4 = "169.254.169.254"

/** how V4 fails: no route to its network (ENETUNREACH, as with no IPv4 address), no host there (EHOSTUNREACH), no answer in time */
const V4_FAILS = {
  "no network": new HttpTransportError({ reason: "no route to host", noNetwork: true }),
  "no host": new HttpTransportError({ reason: "no route to host" }),
  silent: new HttpTransportError({ reason: "timed out", timedOut: true })
}

/** an Http where V4 cannot be reached, and `served` answers at the IPv6 address */
const httpWithout = (v6: string, served: Readonly<Record<string, string>>, v4: keyof typeof V4_FAILS) => {
  const asked: Array<string> = []
  const layer = Layer.succeed(Http, {
    request: (r) =>
      Effect.suspend(() => {
        asked.push(`${r.method} ${r.host} ${r.path}`)
        // as the kernel's answer comes: after the requests made at the same time have all been sent
        if (r.host === V4) return Effect.delay(Effect.fail(V4_FAILS[v4]), "5 millis")
        if (r.host !== v6) return Effect.fail(new HttpTransportError({ reason: "connection refused" }))
        const body = served[`${r.method} ${r.path}`]
        return Effect.succeed(body === undefined ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) })
      })
  })
  return { layer, asked }
}

/** `read` over the program's own services for `cloud`, with `http` as its network and a temporary ROOT holding `files`; its deadlines, retries and the stand-ins' delays on the TestClock */
const readOn = <A, E>(
  cloud: string,
  http: Layer.Layer<Http>,
  env: Readonly<Record<string, string>>,
  read: (m: CloudMetadata) => Effect.Effect<A, E>,
  files: Readonly<Record<string, string>> = {}
) =>
  Effect.gen(function* () {
    const root = yield* scopedDir("tiny-cloud-ipv6-")
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true })
      writeFileSync(join(root, path), content)
    }
    const commands = yield* recordingCommands({ root })
    const { layer: output } = yield* capturingOutput
    const { result } = yield* advancingClock(Effect.flatMap(Metadata, read).pipe(Effect.provide(appLayer({ ROOT: root, CLOUD: cloud, ...env }, "test", { commands: commands.layer, http, output }))), "100 millis")
    return result
  })

const hostnameOn = (cloud: string, http: Layer.Layer<Http>, env: Readonly<Record<string, string>> = {}) =>
  readOn(cloud, http, { IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "10", ...env }, (m) => Effect.either(m.hostname))

const CLOUDS: ReadonlyArray<{ cloud: string; v6: string; served: Readonly<Record<string, string>>; hostname: string; url: string }> = [
  {
    cloud: "aws",
    v6: "fd00:ec2::254",
    served: { "PUT /latest/api/token": "AQAEAIqCyQ3vB0ApUhsbZ9sv0xVtq0q9w3Kk4s0aUQ6fJb5Lq8cHPQ==", "GET /latest/meta-data/hostname": "i-0c1f6e8a9b2d3e4f5.us-west-2.compute.internal" },
    hostname: "i-0c1f6e8a9b2d3e4f5.us-west-2.compute.internal",
    // the session token is its first request
    url: "http://169.254.169.254/latest/api/token"
  },
  {
    cloud: "gcp",
    v6: "fd20:ce::254",
    served: { "GET /computeMetadata/v1/instance/hostname": "v6-only-1.us-west1-a.c.example-project.internal" },
    hostname: "v6-only-1.us-west1-a.c.example-project.internal",
    url: "http://169.254.169.254/computeMetadata/v1/instance/hostname"
  },
  {
    cloud: "oci",
    v6: "fd00:c1::a9fe:a9fe",
    served: { "GET /opc/v2/instance/hostname": "v6-only-1" },
    hostname: "v6-only-1",
    url: "http://169.254.169.254/opc/v2/instance/hostname"
  }
]

describe("gcp's metadata service at its IPv6 address, read as a phase reads it", () => {
  it.scoped("two reads at once (the hostname, the user-data) that both find no route to 169.254.169.254 move to the IPv6 address together, each asking the IPv4 one once", () =>
    Effect.gen(function* () {
      const http = httpWithout(
        "fd20:ce::254",
        {
          "GET /computeMetadata/v1/instance/hostname": "v6-only-1.us-west1-a.c.example-project.internal",
          "GET /computeMetadata/v1/instance/attributes/user-data": "#!/bin/sh\necho hello\n"
        },
        "no network"
      )
      const got = yield* readOn("gcp", http.layer, { IMDS_DEADLINE: "2" }, (m) => Effect.all([m.hostname, m.userData], { concurrency: "unbounded" }))
      expect(got[0]).toEqual(Option.some("v6-only-1.us-west1-a.c.example-project.internal"))
      expect(got[1]).toEqual(Option.some(bytesOf("#!/bin/sh\necho hello\n")))
      // each of the requests made at once tried 169.254.169.254 once, none went back to it
      const v4 = http.asked.filter((a) => a.split(" ")[1] === V4)
      expect(new Set(v4).size).toBe(v4.length)
      expect(http.asked.slice(v4.length).every((a) => a.split(" ")[1] === "fd20:ce::254")).toBe(true)
    })
  )

  it.scoped("two reads at the IPv6 address at once, one failing (its connection reset) while the other is answered: the address that answered is kept, and the failed read asks it again", () =>
    Effect.gen(function* () {
      const served: Record<string, string> = {
        "GET /computeMetadata/v1/instance/hostname": "v6-only-1.us-west1-a.c.example-project.internal",
        "GET /computeMetadata/v1/instance/attributes/user-data": "#!/bin/sh\necho hello\n"
      }
      const hostnameSent = yield* Deferred.make<void>()
      const userDataFailed = yield* Deferred.make<void>()
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.gen(function* () {
            if (r.host === V4) return yield* Effect.delay(Effect.fail(V4_FAILS["no network"]), "5 millis")
            const answer = { status: 200, body: bytesOf(served[`${r.method} ${r.path}`] ?? "") }
            if (r.path.endsWith("/hostname")) {
              // answered after the user-data's request at this address has failed
              yield* Deferred.succeed(hostnameSent, undefined)
              yield* Deferred.await(userDataFailed)
              return yield* Effect.delay(Effect.succeed(answer), "20 millis")
            }
            if (r.path.endsWith("/user-data") && !(yield* Deferred.isDone(userDataFailed))) {
              yield* Deferred.await(hostnameSent)
              yield* Deferred.succeed(userDataFailed, undefined)
              return yield* Effect.fail(new HttpTransportError({ reason: "connection reset by peer" }))
            }
            return `${r.method} ${r.path}` in served ? answer : { status: 404, body: new Uint8Array() }
          })
      })
      // the hostname and the user-data at once, as the resident process reads ahead; then the hostname again
      const got = yield* readOn("gcp", http, { IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "10" }, (m) => Effect.all([m.hostname, m.userData, m.hostname], { concurrency: 2, mode: "either" }))
      expect(got).toEqual([
        Either.right(Option.some("v6-only-1.us-west1-a.c.example-project.internal")),
        Either.right(Option.some(bytesOf("#!/bin/sh\necho hello\n"))),
        Either.right(Option.some("v6-only-1.us-west1-a.c.example-project.internal"))
      ])
    })
  )
})

describe("scaleway's metadata service at its IPv6 address", () => {
  it.scoped("no route to 169.254.42.42's network (an IPv6-only instance): [fd00:42::42] is asked, for /conf and for the user-data from a privileged source port", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const served: Readonly<Record<string, string>> = {
        "/conf": "HOSTNAME=scw-v6-only\nSSH_PUBLIC_KEYS=1\nSSH_PUBLIC_KEYS_0=KEY FINGERPRINT\nSSH_PUBLIC_KEYS_0_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnIdtiCc5G2Uy0PEojDqAvDAfcZhhN7439vzJwfCKyF ops@v6'\n",
        "/user_data/cloud-init": "#!/bin/sh\necho hello\n"
      }
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.suspend(() => {
            asked.push(`${r.host} ${r.path}${r.privilegedSourcePort ? " privileged" : ""}`)
            if (r.host === "169.254.42.42") return Effect.delay(Effect.fail(V4_FAILS["no network"]), "5 millis")
            if (r.host !== "fd00:42::42") return Effect.fail(new HttpTransportError({ reason: "connection refused" }))
            const body = served[r.path]
            return Effect.succeed(body === undefined ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) })
          })
      })
      const got = yield* readOn("scaleway", http, { IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "10" }, (m) => Effect.all([m.hostname, m.sshKeys, m.userData]))
      expect(got).toEqual([
        Option.some("scw-v6-only"),
        ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnIdtiCc5G2Uy0PEojDqAvDAfcZhhN7439vzJwfCKyF ops@v6"],
        Option.some(bytesOf("#!/bin/sh\necho hello\n"))
      ])
      expect(asked[0]).toBe("169.254.42.42 /conf")
      expect(asked.slice(1)).toContain("fd00:42::42 /user_data/cloud-init privileged")
      expect(asked.slice(1).every((a) => a.startsWith("fd00:42::42 "))).toBe(true)
    })
  )
})

describe("openstack's metadata service at its IPv6 link-local address", () => {
  /** a Nova instance on an IPv6-only network, without a config drive: its NICs as sysfs shows them */
  const NICS = { "sys/class/net/eth1/ifindex": "3\n", "sys/class/net/eth0/ifindex": "2\n", "sys/class/net/lo/ifindex": "1\n" }
  const META_DATA = JSON.stringify({ uuid: "d8e02d56-2648-49a3-bf97-6be8f1204f38", hostname: "v6-only-1.novalocal", name: "v6-only-1", public_keys: { mykey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnIdtiCc5G2Uy0PEojDqAvDAfcZhhN7439vzJwfCKyF ops@v6\n" } })

  it.scoped("no route to 169.254.169.254's network (an IPv6-only network): fe80::a9fe:a9fe is asked through the first eth* interface (%eth0), as cloud-init asks it", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const served: Readonly<Record<string, string>> = { "/openstack/latest/meta_data.json": META_DATA, "/openstack/latest/user_data": "#!/bin/sh\necho hello\n" }
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.suspend(() => {
            asked.push(`${r.host} ${r.path}`)
            if (r.host === V4) return Effect.delay(Effect.fail(V4_FAILS["no network"]), "5 millis")
            // a link-local address without its interface is no address to connect to (EINVAL)
            if (r.host !== "fe80::a9fe:a9fe%eth0") return Effect.fail(new HttpTransportError({ reason: "invalid argument" }))
            const body = served[r.path]
            return Effect.succeed(body === undefined ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) })
          })
      })
      const got = yield* readOn("openstack", http, { IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "10" }, (m) => Effect.all([m.hostname, m.sshKeys, m.userData]), NICS)
      expect(got).toEqual([
        Option.some("v6-only-1.novalocal"),
        ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnIdtiCc5G2Uy0PEojDqAvDAfcZhhN7439vzJwfCKyF ops@v6"],
        Option.some(bytesOf("#!/bin/sh\necho hello\n"))
      ])
      expect(asked[0]).toBe(`${V4} /openstack/latest/meta_data.json`)
      expect(asked.slice(1).every((a) => a.startsWith("fe80::a9fe:a9fe%eth0 "))).toBe(true)
    })
  )

  it.scoped("no eth* interface to reach it through: 169.254.169.254 alone, and the read names it", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.suspend(() => {
            asked.push(r.host)
            return Effect.fail(V4_FAILS["no network"])
          })
      })
      const got = yield* readOn("openstack", http, { IMDS_DEADLINE: "0.3", IMDS_RETRY_DELAY: "10" }, (m) => Effect.either(m.hostname), { "sys/class/net/lo/ifindex": "1\n" })
      expect(got._tag === "Left" ? got.left.message : got).toBe("openstack: cannot read http://169.254.169.254/openstack/latest/meta_data.json: no route to host")
      expect(new Set(asked)).toEqual(new Set([V4]))
    })
  )
})

describe("aws's metadata service at its IPv6 address, its session token's answer lost", () => {
  it.scoped("the token request at [fd00:ec2::254] times out (the PUT response hop limit) and the metadata root there is answered without one: read without a token at that address, as at 169.254.169.254", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.suspend(() => {
            asked.push(`${r.method} ${r.host} ${r.path}`)
            if (r.host === V4) return Effect.fail(V4_FAILS["no network"])
            if (r.method === "PUT") return Effect.fail(V4_FAILS.silent)
            if (r.path === "/latest/") return Effect.succeed({ status: 200, body: bytesOf("dynamic\nmeta-data\nuser-data\n") })
            if (r.path === "/latest/meta-data/hostname") return Effect.succeed({ status: 200, body: bytesOf("i-0c1f6e8a9b2d3e4f5.us-west-2.compute.internal") })
            return Effect.succeed({ status: 404, body: new Uint8Array() })
          })
      })
      expect(yield* hostnameOn("aws", http, { IMDS_DEADLINE: "2" })).toEqual(Either.right(Option.some("i-0c1f6e8a9b2d3e4f5.us-west-2.compute.internal")))
      // the metadata root asked where the token request went
      expect(asked).toContain("GET fd00:ec2::254 /latest/")
    })
  )
})

describe.each(CLOUDS)("$cloud's metadata service at its IPv6 address", ({ cloud, v6, served, hostname, url }) => {
  it.scoped("no route to 169.254.169.254's network (an IPv6-only subnet): the IPv6 address is asked, and kept once it answers", () =>
    Effect.gen(function* () {
      const http = httpWithout(v6, served, "no network")
      expect(yield* hostnameOn(cloud, http.layer)).toEqual(Either.right(Option.some(hostname)))
      // one try at the IPv4 address, then only the IPv6 one
      expect(http.asked[0]).toMatch(new RegExp(`^\\S+ ${V4} `))
      expect(http.asked.slice(1).every((a) => a.split(" ")[1] === v6)).toBe(true)
    })
  )

  it.scoped("IMDS_ENDPOINT names the service: that address alone, and a read it cannot make names it", () =>
    Effect.gen(function* () {
      const http = httpWithout(v6, served, "no network")
      const got = yield* hostnameOn(cloud, http.layer, { IMDS_ENDPOINT: V4, IMDS_DEADLINE: "0.3" })
      expect(got._tag === "Left" ? got.left.message : got).toBe(`${cloud}: cannot read ${url}: no route to host`)
      expect(http.asked.filter((a) => a.split(" ")[1] !== V4)).toEqual([])
    })
  )

  it.scoped.each(["no host", "silent"] as const)(
    "169.254.169.254 that has a route but no answer (%s: the service is down, or its answer was dropped) is asked again, not given up for the IPv6 address; the read names it",
    (v4) =>
      Effect.gen(function* () {
        const http = httpWithout(v6, served, v4)
        const got = yield* hostnameOn(cloud, http.layer, { IMDS_DEADLINE: "0.3" })
        expect(got._tag === "Left" ? got.left.message : got).toBe(`${cloud}: cannot read ${url}: ${V4_FAILS[v4].reason}`)
        expect(http.asked.filter((a) => a.split(" ")[1] !== V4)).toEqual([])
      })
  )

  it.scoped.each(["no host", "silent"] as const)(
    "no route to 169.254.169.254's network, and the IPv6 address has a route but no answer (%s: its service is off): both are asked in turn, and the line names the address whose reason it gives",
    (v6fails) =>
      Effect.gen(function* () {
        const asked: Array<string> = []
        const http = Layer.succeed(Http, {
          request: (r) =>
            Effect.suspend(() => {
              asked.push(r.host)
              return Effect.fail(r.host === V4 ? V4_FAILS["no network"] : V4_FAILS[v6fails])
            })
        })
        const got = yield* hostnameOn(cloud, http, { IMDS_DEADLINE: "0.3" })
        expect([`${cloud}: cannot read ${url}: no route to host`, `${cloud}: cannot read ${url.replace(V4, `[${v6}]`)}: ${V4_FAILS[v6fails].reason}`]).toContain(
          got._tag === "Left" ? got.left.message : got
        )
        // in turn: at the IPv6 address, aws's token request that timed out is followed by its metadata root read there without one
        const turns = asked.filter((h, i) => i === 0 || h !== asked[i - 1])
        expect(turns.length).toBeGreaterThan(3)
        expect(turns.every((h, i) => h === (i % 2 === 0 ? V4 : v6))).toBe(true)
        expect(asked.length).toBeLessThanOrEqual(turns.length * 2)
      })
  )

  it.scoped("no route to 169.254.169.254's network yet (its DHCP lease comes late), the IPv6 address routed but not answering (AWS's is off unless enabled): read at 169.254.169.254 once it has a route", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.suspend(() => {
            asked.push(r.host)
            if (r.host !== V4) return Effect.fail(V4_FAILS.silent)
            // the lease comes after the IPv4 address's third try
            if (asked.filter((h) => h === V4).length <= 3) return Effect.fail(V4_FAILS["no network"])
            const body = served[`${r.method} ${r.path}`]
            return Effect.succeed(body === undefined ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) })
          })
      })
      expect(yield* hostnameOn(cloud, http)).toEqual(Either.right(Option.some(hostname)))
      // and kept there
      expect(asked.slice(asked.lastIndexOf(v6) + 1).every((h) => h === V4)).toBe(true)
    })
  )

  it.scoped("no route to either address (no network at all): every read's line names 169.254.169.254, as before there were two", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const nowhere = Layer.succeed(Http, {
        request: (r) =>
          Effect.suspend(() => {
            asked.push(r.host)
            return Effect.fail(new HttpTransportError({ reason: "network is unreachable", noNetwork: true }))
          })
      })
      // one read after another: the second starts where the first left the client, at the IPv6 address or not
      const lines = yield* readOn(cloud, nowhere, { IMDS_DEADLINE: "0.3", IMDS_RETRY_DELAY: "10" }, (m) => Effect.all([Effect.flip(m.hostname), Effect.flip(m.sshKeys), Effect.flip(m.hostname)]))
      // both addresses were tried
      expect(new Set(asked)).toEqual(new Set([V4, v6]))
      for (const e of lines) expect(e.message).toMatch(new RegExp(`^${cloud}: cannot read http://169\\.254\\.169\\.254/\\S+: network is unreachable$`))
    })
  )
})
