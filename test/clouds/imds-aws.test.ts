/**
 * `imds` on aws in detail, in-process against the real simulator: values as
 * served, separators, aliases, error switches, and the IMDSv2 token.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { HttpTransportError } from "../../src/domain/errors.js"
import { appLayer } from "../../src/layers/live.js"
import { monotonicMillis } from "../../src/domain/monotonic.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { makeCachingHttp } from "../../src/layers/CachingHttp.js"
import { Http, type HttpResponse } from "../../src/services/Http.js"
import { IMDS_USAGE } from "../../src/programs/usage.js"
import { Metadata } from "../../src/services/Metadata.js"
import { startSimulator } from "../../src/sim/simulator.js"
import { makeTestInstance } from "../support/instance.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { advancingClock } from "../support/test-clock.js"
import { steppableWallClock } from "../support/wall-clock.js"

const HOST = "ip-10-0-0-5.ec2.internal"

const awsInstance = makeTestInstance({
  cloud: "aws",
  interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", up: true }],
  instance: {
    hostname: HOST,
    localHostname: "ip-10-0-0-5.local",
    sshKeys: ["ssh-ed25519 BBBB second", "ssh-ed25519 AAAA first", "ssh-ed25519 AAAA first"],
    userData: new Uint8Array([0, 1, 2, 255]),
    nics: [{ mac: "02:00:00:00:00:01", ipv4: ["10.0.0.5", "10.0.0.6"], ipv4Net: ["10.0.0.0/24"], ipv6: ["2001:db8::5"] }]
  }
})

/**
 * The resident process's HTTP (its answers kept between phases) over aws's IMDS, whose token lasts the seconds it
 * was asked for, on the service's own clock (the instance's steps do not move it); one past them is refused (401).
 * `asked`: the requests that reached the service (`PUT TOKEN-N`, `GET TOKEN-N STATUS`, with the path when `paths`);
 * `unreachable`: an address whose network has no route (an IPv6-only subnet's 169.254.169.254), `METHOD HOST unreachable`.
 */
const residentTokenService = (paths = false, unreachable?: string) => {
  const asked: Array<string> = []
  const expiry = new Map<string, number>()
  const service = makeCachingHttp({
    request: (r) =>
      Effect.flatMap(monotonicMillis, (now): Effect.Effect<HttpResponse, HttpTransportError> => {
        if (r.host === unreachable) {
          asked.push(`${r.method} ${r.host} unreachable`)
          return Effect.fail(new HttpTransportError({ reason: "network is unreachable", noNetwork: true }))
        }
        if (r.method === "PUT") {
          const token = `TOKEN-${expiry.size + 1}`
          expiry.set(token, now + Number(r.headers?.["X-aws-ec2-metadata-token-ttl-seconds"]) * 1000)
          asked.push(`PUT ${token}`)
          return Effect.succeed({ status: 200, body: new TextEncoder().encode(token) })
        }
        const token = r.headers?.["X-aws-ec2-metadata-token"] ?? "-"
        const valid = (expiry.get(token) ?? 0) > now
        asked.push(`GET ${paths ? `${r.path} ` : ""}${token} ${valid ? 200 : 401}`)
        return Effect.succeed(valid ? { status: 200, body: new TextEncoder().encode(HOST) } : { status: 401, body: new Uint8Array() })
      })
  })
  return { asked, service }
}

describe("imds on aws", () => {
  it.scopedLive("prints values as served, with separators only where asked", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      const r = yield* instance.imds(["@hostname", "+s", "@local-hostname", "+t", "meta-data/instance-id", "+n"])
      expect(r).toEqual({ code: 0, stdout: `${HOST} ip-10-0-0-5.local\ti-0123456789abcdef0\n`, stderr: "" })
    })
  )

  it.scopedLive("@ssh-keys: sorted, unique, each ending with a newline", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: "ssh-ed25519 AAAA first\nssh-ed25519 BBBB second\n", stderr: "" })
    })
  )

  it.scopedLive("@ssh-keys: a key the listing names twice (0 and 00) is asked for once", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { sshKeys: ["ssh-ed25519 AAAA first"] },
        faults: { overrides: [{ method: "GET", path: "/latest/meta-data/public-keys/", status: 200, body: "0=first\n00=first\n" }] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: "ssh-ed25519 AAAA first\n", stderr: "" })
      expect(instance.sim!.requests.filter((r) => r.path.endsWith("/openssh-key")).map((r) => r.path)).toEqual(["/latest/meta-data/public-keys/0/openssh-key"])
    })
  )

  it.scopedLive("@ssh-keys (and authorized_keys): sorted as printed, when the cloud's lines had other blanks (a tab, two spaces before the comment)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { sshKeys: ["ssh-ed25519 AAAA  b@x", "ssh-ed25519 AAAA a@x", "ssh-ed25519\tAAAA c@x", "ssh-ed25519 AAAA   b@x"] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: "ssh-ed25519 AAAA a@x\nssh-ed25519 AAAA b@x\nssh-ed25519 AAAA c@x\n", stderr: "" })
      // and set_ssh_keys writes them in that order
      for (const phase of ["early", "main"]) yield* instance.run([phase])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAA a@x\nssh-ed25519 AAAA b@x\nssh-ed25519 AAAA c@x\n")
    })
  )

  it.scopedLive("@ssh-keys: a line with options in front, or that is no key, is left out as set_ssh_keys leaves it out, and said on stderr unless -E", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { sshKeys: ['command="/bin/rm -rf /" ssh-ed25519 AAAA opt@x', "ssh-ed25519 AAAA a@x", "not a key"] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({
        code: 0,
        stdout: "ssh-ed25519 AAAA a@x\n",
        stderr: "imds: @ssh-keys: 2 lines that are not OpenSSH public keys, or have options in front of them, left out\n"
      })
      expect(yield* instance.imds(["-E", "@ssh-keys"])).toEqual({ code: 0, stdout: "ssh-ed25519 AAAA a@x\n", stderr: "" })
    })
  )

  it.scopedLive("@userdata: the raw bytes", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      const r = yield* instance.imds(["@userdata"])
      expect(Buffer.from(r.stdout, "latin1")).toEqual(Buffer.from([0, 1, 2, 255]))
      expect([r.code, r.stderr]).toEqual([0, ""])
    })
  )

  it.scopedLive("@nics and @nic:IFACE with aliases, separators and verbatim sub-paths", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      expect(yield* instance.imds(["@nics"])).toEqual({ code: 0, stdout: "02:00:00:00:00:01/", stderr: "" })
      const r = yield* instance.imds(["@nic:eth0,@mac,+s,@ipv4-net,+n,@ipv4,+n,@ipv6,+n,device-number"])
      expect(r).toEqual({ code: 0, stdout: "02:00:00:00:00:01 10.0.0.0/24\n10.0.0.5\n10.0.0.6\n2001:db8::5\n0", stderr: "" })
    })
  )

  it.scopedLive("+e (default) stops at the first error with its status; -e goes on; -E hides the message", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      const stop = yield* instance.imds(["@hostname", "meta-data/nope", "+n"])
      expect(stop).toEqual({ code: 1, stdout: HOST, stderr: "imds: meta-data/nope: not found\n" })
      const go = yield* instance.imds(["-e", "meta-data/nope", "@hostname"])
      expect(go).toEqual({ code: 0, stdout: HOST, stderr: "imds: meta-data/nope: not found\n" })
      const quiet = yield* instance.imds(["-E", "-e", "meta-data/nope", "+E", "@hostname"])
      expect(quiet).toEqual({ code: 0, stdout: HOST, stderr: "" })
      const shown = yield* instance.imds(["-E", "-e", "meta-data/nope", "+E", "meta-data/gone", "@hostname"])
      expect(shown).toEqual({ code: 0, stdout: HOST, stderr: "imds: meta-data/gone: not found\n" })
      const back = yield* instance.imds(["-e", "meta-data/nope", "+e", "meta-data/nope", "@hostname"])
      expect(back).toEqual({ code: 1, stdout: "", stderr: "imds: meta-data/nope: not found\nimds: meta-data/nope: not found\n" })
    })
  )

  it.scopedLive("a path with a blank or control character is not found at once, named on one line; nothing is asked", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      const asked = instance.sim!.requests.length
      expect(yield* instance.imds(["meta-data/a\nb"])).toEqual({ code: 1, stdout: "", stderr: "imds: meta-data/a\\x0ab: not found\n" })
      expect(yield* instance.imds(["meta-data/a b"])).toEqual({ code: 1, stdout: "", stderr: "imds: meta-data/a b: not found\n" })
      // a @nic: list's sub-path too: one key not found, which -e goes past, never the whole run's end
      expect(yield* instance.imds(["@nic:eth0,a b"])).toEqual({ code: 1, stdout: "", stderr: "imds: @nic:eth0,a b: not found\n" })
      expect(instance.sim!.requests.length).toBe(asked)
      expect(yield* instance.imds(["-e", "@nic:eth0,-e,a\nb,@mac", "+n", "@hostname"])).toEqual({
        code: 0,
        stdout: `02:00:00:00:00:01\n${HOST}`,
        stderr: "imds: @nic:eth0,a\\x0ab: not found\n"
      })
      // an empty path is the metadata root, as asked
      const root = yield* instance.imds([""])
      expect([root.code, root.stderr, instance.sim!.requests.some((r) => r.method === "GET" && r.path === "/latest/")]).toEqual([0, "", true])
    })
  )

  it.scopedLive("a metadata service turned off (HttpEndpoint=disabled: 403 to the token request and to every read) is named as the likely cause on the read's one line; a 403 after a token was given, or on another cloud, is not", () =>
    Effect.gen(function* () {
      const off = { failFirst: 1000, failStatus: 403 }
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: HOST }, faults: off })
      const url = `http://${instance.sim!.endpoint}/latest`
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read ${url}/meta-data/hostname: HTTP 403 (the instance metadata service is turned off?)\n` })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read ${url}/meta-data/public-keys/: HTTP 403 (the instance metadata service is turned off?)\n` })
      // the token given, a read refused is only that read's refusal
      const refused = yield* makeTestInstance({ cloud: "aws", instance: { hostname: HOST }, faults: { overrides: [{ method: "GET", path: "/latest/meta-data/hostname", status: 403 }] } })
      expect((yield* refused.imds(["@hostname"])).stderr).toBe(`imds: aws: cannot read http://${refused.sim!.endpoint}/latest/meta-data/hostname: HTTP 403\n`)
      const gcp = yield* makeTestInstance({ cloud: "gcp", instance: { hostname: HOST }, faults: off })
      expect((yield* gcp.imds(["@hostname"])).stderr).toBe(`imds: gcp: cannot read http://${gcp.sim!.endpoint}/computeMetadata/v1/instance/hostname: HTTP 403\n`)
    })
  )

  it.scopedLive("tiny-cloud imds behaves the same; -h prints usage", () =>
    Effect.gen(function* () {
      const instance = yield* awsInstance
      expect(yield* instance.run(["imds", "@hostname", "+n"])).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
      expect(yield* instance.imds(["-h"])).toEqual({ code: 0, stdout: IMDS_USAGE, stderr: "" })
      expect(yield* instance.run(["imds", "-h"])).toEqual({ code: 0, stdout: IMDS_USAGE, stderr: "" })
    })
  )

  it.scoped("the resident process, the wall clock stepped back an hour between two phases (NTP): the second asks for a new token when the first's 5 s are over, never sends the expired one", () =>
    Effect.gen(function* () {
      const { asked, service } = residentTokenService()
      const instance = yield* makeTestInstance({ noSimulator: true, http: Layer.succeed(Http, service), env: { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254", IMDS_TOKEN_TTL: "5" } })
      const wall = yield* steppableWallClock
      // (each phase reads a datum of its own: an answer once had is kept for good)
      const phase = (path: string) => Effect.map(advancingClock(instance.imds([path]).pipe(Effect.withClock(wall.clock))), ({ result }) => result.stdout)
      expect(yield* phase("meta-data/hostname")).toBe(HOST)
      wall.step(-3_600_000)
      yield* TestClock.adjust("6 seconds")
      expect(yield* phase("meta-data/local-hostname")).toBe(HOST)
      // before: 'GET TOKEN-1 401', then a new token and the read again after a retry's delay
      expect(asked).toEqual(["PUT TOKEN-1", "GET TOKEN-1 200", "PUT TOKEN-2", "GET TOKEN-2 200"])
    })
  )

  it.scoped("the resident process: a phase that reads only kept answers sends no token request once the last token has expired (main seconds after early); one that reads something new asks for a fresh token", () =>
    Effect.gen(function* () {
      const { asked, service } = residentTokenService(true)
      const instance = yield* makeTestInstance({ noSimulator: true, http: Layer.succeed(Http, service), env: { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254", IMDS_TOKEN_TTL: "5" } })
      const phase = (path: string) => Effect.map(advancingClock(instance.imds([path])), ({ result }) => result.stdout)
      expect(yield* phase("meta-data/hostname")).toBe(HOST)
      yield* TestClock.adjust("6 seconds")
      expect(yield* phase("meta-data/hostname")).toBe(HOST)
      // before: a second PUT, whose token no request used (a round trip more before ssh-ready)
      expect(asked).toEqual(["PUT TOKEN-1", "GET /latest/meta-data/hostname TOKEN-1 200"])
      expect(yield* phase("meta-data/local-hostname")).toBe(HOST)
      expect(asked.slice(2)).toEqual(["PUT TOKEN-2", "GET /latest/meta-data/local-hostname TOKEN-2 200"])
    })
  )

  it.scoped("the resident process in an IPv6-only subnet: a phase that reads only what an earlier one read at [fd00:ec2::254] sends nothing, neither to 169.254.169.254 nor a token request; one that reads something new asks for a token as before", () =>
    Effect.gen(function* () {
      const { asked, service } = residentTokenService(true, "169.254.169.254")
      const instance = yield* makeTestInstance({ noSimulator: true, http: Layer.succeed(Http, service), env: { CLOUD: "aws", IMDS_TOKEN_TTL: "5" } })
      const phase = (path: string) => Effect.map(advancingClock(instance.imds([path])), ({ result }) => result.stdout)
      expect(yield* phase("meta-data/hostname")).toBe(HOST)
      expect(asked).toEqual(["PUT 169.254.169.254 unreachable", "PUT TOKEN-1", "GET /latest/meta-data/hostname TOKEN-1 200"])
      yield* TestClock.adjust("6 seconds")
      expect(yield* phase("meta-data/hostname")).toBe(HOST)
      // before: the kept answer looked for at 169.254.169.254 only, where a new client starts: a PUT there (no route, then a
      // retry's delay), and at the IPv6 address a new token no request used
      expect(asked.slice(3)).toEqual([])
      expect(yield* phase("meta-data/local-hostname")).toBe(HOST)
      expect(asked.slice(3)).toEqual(["PUT 169.254.169.254 unreachable", "PUT TOKEN-2", "GET /latest/meta-data/local-hostname TOKEN-2 200"])
    })
  )

  it.scoped("the resident process: an answer kept for an earlier phase is no larger than a later phase's IMDS_MAX_BYTES allows (its service's environment, its tiny-cloud.conf), as in a process of its own", () =>
    Effect.gen(function* () {
      const { asked, service } = residentTokenService(true)
      const instance = yield* makeTestInstance({ noSimulator: true, http: Layer.succeed(Http, service), env: { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254" } })
      const phase = (env: Record<string, string>) => Effect.map(advancingClock(instance.imds(["meta-data/hostname"], env)), ({ result }) => result)
      expect((yield* phase({})).stdout).toBe(HOST)
      // before: the kept 24 bytes, exit 0
      expect(yield* phase({ IMDS_MAX_BYTES: "10" })).toMatchObject({ code: 1, stdout: "", stderr: "imds: aws: cannot read http://169.254.169.254/latest/meta-data/hostname: answer exceeds 10 bytes (IMDS_MAX_BYTES)\n" })
      expect((yield* phase({})).stdout).toBe(HOST)
      expect(asked).toEqual(["PUT TOKEN-1", "GET /latest/meta-data/hostname TOKEN-1 200"])
    })
  )

  it.scopedLive("fetches the IMDSv2 token once, and a new one before the service would refuse it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      const sim = yield* Effect.acquireRelease(
        Effect.promise(() => startSimulator({ cloud: "aws", instance: { hostname: "h1.example" }, tokenTtlEnforced: true })),
        (s) => Effect.promise(() => s.close())
      )
      const env = { ...instance.env, CLOUD: "aws", IMDS_ENDPOINT: sim.endpoint, IMDS_TOKEN_TTL: "1" }
      const commands = yield* recordingCommands({ root: instance.root })
      const { layer: output } = yield* capturingOutput
      const hostnames = yield* Effect.gen(function* () {
        const md = yield* Metadata
        const first = yield* md.hostname
        const again = yield* md.hostname
        // the token asked for one second is used for half of it; the service forgets it after the second
        yield* Effect.sleep("1100 millis")
        const afterExpiry = yield* md.hostname
        return [first, again, afterExpiry].map(Option.getOrThrow)
      }).pipe(Effect.scoped, Effect.provide(appLayer(env, "test", { commands: commands.layer, http: HttpLive, output })))
      expect(hostnames).toEqual(["h1.example", "h1.example", "h1.example"])
      expect(sim.requests.map((r) => `${r.method} ${r.status}`)).toEqual(["PUT 200", "GET 200", "GET 200", "PUT 200", "GET 200"])
    })
  )
})
