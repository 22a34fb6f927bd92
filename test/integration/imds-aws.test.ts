import { Effect, Option } from "effect"
import { describe, expect, it } from "vitest"
import { aws } from "../../src/layers/clouds/aws.js"
import { liveLayer } from "../../src/layers/live.js"
import { startSimulator } from "../../src/sim/simulator.js"
import { useInstances } from "../support/harness.js"

const makeInstance = useInstances()

const awsInstance = () =>
  makeInstance({
    cloud: "aws",
    interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", up: true }],
    instance: {
      hostname: "ip-10-0-0-5.ec2.internal",
      localHostname: "ip-10-0-0-5.local",
      sshKeys: ["ssh-ed25519 BBBB second", "ssh-ed25519 AAAA first", "ssh-ed25519 AAAA first"],
      userData: new Uint8Array([0, 1, 2, 255]),
      nics: [{ mac: "02:00:00:00:00:01", ipv4: ["10.0.0.5", "10.0.0.6"], ipv4Net: ["10.0.0.0/24"], ipv6: ["2001:db8::5"] }]
    }
  })

describe("imds on aws", () => {
  it("prints values as served, with separators only where asked", async () => {
    const instance = await awsInstance()
    const r = await instance.imds(["@hostname", "+s", "@local-hostname", "+t", "meta-data/instance-id", "+n"])
    expect(r).toMatchObject({ code: 0, stderr: "" })
    expect(r.stdout).toBe("ip-10-0-0-5.ec2.internal ip-10-0-0-5.local\ti-0123456789abcdef0\n")
  })

  it("@ssh-keys: sorted, unique, each ending with a newline", async () => {
    const instance = await awsInstance()
    expect((await instance.imds(["@ssh-keys"])).stdout).toBe("ssh-ed25519 AAAA first\nssh-ed25519 BBBB second\n")
  })

  it("@userdata: the raw bytes", async () => {
    const instance = await awsInstance()
    expect(Buffer.from((await instance.imds(["@userdata"])).stdout, "latin1")).toEqual(Buffer.from([0, 1, 2, 255]))
  })

  it("@nics and @nic:IFACE with aliases, separators and verbatim sub-paths", async () => {
    const instance = await awsInstance()
    expect((await instance.imds(["@nics"])).stdout).toBe("02:00:00:00:00:01/")
    const r = await instance.imds(["@nic:eth0,@mac,+s,@ipv4-net,+n,@ipv4,+n,@ipv6,+n,device-number"])
    expect(r.stdout).toBe("02:00:00:00:00:01 10.0.0.0/24\n10.0.0.5\n10.0.0.6\n2001:db8::5\n0")
  })

  it("+e (default) stops at the first error with its status; -e goes on; -E hides the message", async () => {
    const instance = await awsInstance()
    const stop = await instance.imds(["@hostname", "meta-data/nope", "+n"])
    expect(stop).toMatchObject({ code: 1, stdout: "ip-10-0-0-5.ec2.internal", stderr: "imds: meta-data/nope: not found\n" })
    const go = await instance.imds(["-e", "meta-data/nope", "@hostname"])
    expect(go).toMatchObject({ code: 0, stdout: "ip-10-0-0-5.ec2.internal", stderr: "imds: meta-data/nope: not found\n" })
    const quiet = await instance.imds(["-E", "-e", "meta-data/nope", "+E", "@hostname"])
    expect(quiet).toMatchObject({ code: 0, stderr: "" })
    const back = await instance.imds(["-e", "meta-data/nope", "+e", "meta-data/nope", "@hostname"])
    expect(back).toMatchObject({ code: 1, stdout: "" })
  })

  it("tiny-cloud imds behaves the same; -h prints usage", async () => {
    const instance = await awsInstance()
    expect((await instance.run(["imds", "@hostname", "+n"])).stdout).toBe("ip-10-0-0-5.ec2.internal\n")
    const help = await instance.imds(["-h"])
    expect([help.code, help.stdout.startsWith("Usage: imds")]).toEqual([0, true])
  })

  it("fetches the IMDSv2 token once per process and again when the service answers 401", async () => {
    const instance = await makeInstance({ noSimulator: true })
    const sim = await startSimulator({ cloud: "aws", instance: { hostname: "h1.example" }, tokenTtlEnforced: true })
    try {
      const env = { ...instance.env, CLOUD: "aws", IMDS_ENDPOINT: sim.endpoint, IMDS_TOKEN_TTL: "1" }
      const hostnames = await Effect.runPromise(
        Effect.gen(function* () {
          const md = yield* aws.metadata
          const first = yield* md.hostname
          const again = yield* md.hostname
          yield* Effect.sleep("1100 millis")
          const afterExpiry = yield* md.hostname
          return [first, again, afterExpiry].map(Option.getOrThrow)
        }).pipe(Effect.scoped, Effect.provide(liveLayer(env, "test")))
      )
      expect(hostnames).toEqual(["h1.example", "h1.example", "h1.example"])
      expect(sim.requests.map((r) => `${r.method} ${r.status}`)).toEqual(["PUT 200", "GET 200", "GET 200", "GET 401", "PUT 200", "GET 200"])
    } finally {
      await sim.close()
    }
  })
})
