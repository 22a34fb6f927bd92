/**
 * For generated metadata, every cloud's provider returns exactly what the
 * simulator serves: the hostname, the keys (sorted, unique) and the
 * user-data bytes (decoded where the cloud encodes them). The providers run
 * in-process over the live layers, against a real simulator per sample.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Option } from "effect"
import fc from "fast-check"
import { describe, it } from "vitest"
import { stringify } from "yaml"
import { providerNamed } from "../../src/layers/clouds/index.js"
import { liveLayer } from "../../src/layers/live.js"
import { startSimulator, type SimCloud, type SimInstance } from "../../src/sim/simulator.js"

const CLOUDS: ReadonlyArray<SimCloud> = ["aws", "azure", "gcp", "oci", "hetzner", "scaleway", "incus", "nocloud"]

/** comment characters an operator may well use, quotes and shell metacharacters included */
const ODD = [..."abcXYZ019 '\"\\$`:=#@!%&*(){}[];,<>?|~^+/.-_", "é", "ü", "€", "日本", "🔑"]

const sshKey = fc
  .tuple(
    fc.constantFrom("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "sk-ssh-ed25519@openssh.com"),
    fc.base64String({ minLength: 4, maxLength: 48 }),
    fc.option(fc.stringOf(fc.constantFrom(...ODD), { minLength: 1, maxLength: 24 }), { nil: undefined })
  )
  .map(([type, blob, comment]) => (comment === undefined || comment.trim() === "" ? `${type} ${blob}` : `${type} ${blob} ${comment.trim()}`))

const metadata = fc.record({
  hostname: fc.option(fc.domain(), { nil: undefined }),
  sshKeys: fc.array(sshKey, { maxLength: 4 }),
  userData: fc.option(fc.uint8Array({ maxLength: 256 }), { nil: undefined }),
  /** incus: the keys travel in #cloud-config user-data instead of binary bytes */
  keysInUserData: fc.boolean()
})

type Generated = typeof metadata extends fc.Arbitrary<infer A> ? A : never

const simInstanceOf = (cloud: SimCloud, g: Generated): SimInstance => {
  if (cloud !== "incus" || !g.keysInUserData) return { ...(g.hostname ? { hostname: g.hostname } : {}), sshKeys: g.sshKeys, ...(g.userData ? { userData: g.userData } : {}) }
  const config = `#cloud-config\n${stringify({ ssh_authorized_keys: g.sshKeys })}`
  return { ...(g.hostname ? { hostname: g.hostname } : {}), userData: new TextEncoder().encode(config) }
}

/** what the provider must return for this instance */
const expected = (cloud: SimCloud, g: Generated, instance: SimInstance) => ({
  hostname: g.hostname,
  keys: cloud === "incus" && !g.keysInUserData ? [] : [...new Set(g.sshKeys)].sort(),
  userData: Buffer.from(instance.userData ?? new Uint8Array())
})

const readProvider = (cloud: SimCloud, env: Record<string, string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const md = yield* providerNamed(cloud)!.metadata
      const [hostname, local, keys, userData] = yield* Effect.all([md.hostname, md.localHostname, md.sshKeys, md.userData], { concurrency: 4 })
      return {
        hostname: Option.getOrUndefined(hostname),
        local: Option.getOrUndefined(local),
        keys: [...keys],
        userData: Buffer.from(Option.getOrElse(userData, () => new Uint8Array()))
      }
    }).pipe(Effect.provide(liveLayer(env, "test")))
  )

describe.concurrent.each(CLOUDS)("%s provider", (cloud) => {
  it("returns what the metadata service serves", async ({ expect }) => {
    await fc.assert(
      fc.asyncProperty(metadata, async (g) => {
        const root = mkdtempSync(join(tmpdir(), "tiny-cloud-prop-"))
        mkdirSync(join(root, "proc"))
        mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
        const instance = simInstanceOf(cloud, g)
        const sim = await startSimulator({ cloud, instance, ...(cloud === "incus" ? { socketPath: join(root, "dev/incus/sock") } : {}) })
        try {
          if (cloud === "nocloud") writeFileSync(join(root, "proc/cmdline"), `root=/dev/vda2 ds=nocloud;s=${sim.seedUrl}\n`)
          const env = {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            ROOT: root,
            CLOUD: cloud,
            IMDS_DEADLINE: "5",
            IMDS_RETRY_DELAY: "10",
            IMDS_RETRY_MAX_DELAY: "50",
            ...(sim.endpoint !== "" && cloud !== "nocloud" ? { IMDS_ENDPOINT: sim.endpoint } : {})
          }
          const got = await readProvider(cloud, env)
          const want = expected(cloud, g, instance)
          expect(got.hostname).toBe(want.hostname)
          // aws and nocloud have a local-hostname of their own, which the instance does not set here
          expect(got.local).toBe(want.hostname)
          expect(got.keys).toEqual(want.keys)
          expect(got.userData.equals(want.userData)).toBe(true)
        } finally {
          await sim.close()
          rmSync(root, { recursive: true, force: true })
        }
      }),
      { numRuns: 15 }
    )
  })
})
