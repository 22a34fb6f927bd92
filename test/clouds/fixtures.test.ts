/**
 * Every cloud of the registry read from metadata recorded as the cloud
 * really serves it (`test/fixtures/clouds/CLOUD/*.json`, see
 * test/support/fixture-http.ts), through the program's own layers with a
 * fake Http answering from the recording.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { detectCloud } from "../../src/clouds/detect.js"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { appLayer } from "../../src/layers/live.js"
import { Metadata } from "../../src/services/Metadata.js"
import { Network } from "../../src/services/Network.js"
import { fixtureVolumes, writeFiles } from "../support/fixture-boot.js"
import { FIXTURES, fixtureHttp, fixturesOf, type Fixture } from "../support/fixture-http.js"
import { scopedDir } from "../support/scratch.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"

/** a cloud's cases; none when it has no directory */
const casesOf = (cloud: string) => (existsSync(join(FIXTURES, cloud)) ? fixturesOf(cloud) : [])

/** bytes as the fixture writes them: text where they are UTF-8, else `{ base64 }` */
const asWritten = (bytes: Uint8Array): string | { readonly base64: string } => {
  const text = Buffer.from(bytes).toString("utf8")
  return Buffer.from(text, "utf8").equals(Buffer.from(bytes)) ? text : { base64: Buffer.from(bytes).toString("base64") }
}
const orNull = <A, B>(o: Option.Option<A>, f: (a: A) => B): B | null => Option.match(o, { onNone: () => null, onSome: f })

/** what the program reads, for the data the fixture names */
const readAsExpected = (cloud: string, fixture: Fixture) =>
  Effect.gen(function* () {
    const want = fixture.expect
    const md = yield* Metadata
    const network = yield* Network
    const got: Record<string, unknown> = {}
    if (want.detected !== undefined) got.detected = (yield* detectCloud) === cloud
    if (want.hostname !== undefined) got.hostname = orNull(yield* md.hostname, (h) => h)
    if (want.localHostname !== undefined) got.localHostname = orNull(yield* md.localHostname, (h) => h)
    if (want.sshKeys !== undefined) got.sshKeys = yield* md.sshKeys
    if (want.userData !== undefined) got.userData = orNull(yield* md.userData, asWritten)
    if (want.nics !== undefined) got.nics = orNull(yield* md.nics, asWritten)
    if (want.nic !== undefined) {
      const nics: Record<string, Record<string, unknown>> = {}
      for (const [iface, keys] of Object.entries(want.nic)) {
        const mac = yield* network.macAddress(iface)
        if (Option.isNone(mac)) {
          nics[iface] = { error: `${iface}: no such interface in the fixture's files` }
          continue
        }
        nics[iface] = {}
        for (const key of Object.keys(keys)) nics[iface][key] = orNull(yield* md.nic(mac.value, key), asWritten)
      }
      got.nic = nics
    }
    return got
  })

/** the fixture's case through the program's real layers: its files under a temporary ROOT, its routes as the network */
const check = (cloud: string, fixture: Fixture) =>
  Effect.gen(function* () {
    const root = yield* scopedDir("tiny-cloud-fixture-")
    writeFiles(join(root, "root"), fixture.files ?? {})
    const { layer: http, served } = yield* fixtureHttp(fixture.routes ?? [])
    const commands = yield* recordingCommands({ root: join(root, "root"), ...fixtureVolumes(join(root, "volumes"), fixture) })
    const { layer: output } = yield* capturingOutput
    const env = { ROOT: join(root, "root"), CLOUD: cloud, IMDS_ENDPOINT: "169.254.169.254", ...fixture.env }
    const got = yield* readAsExpected(cloud, fixture).pipe(
      Effect.provide(appLayer(env, "test", { commands: commands.layer, http, output })),
      Effect.scoped
    )
    const { detected, hostname, localHostname, sshKeys, userData, nics, nic } = fixture.expect
    const want = Object.fromEntries(Object.entries({ detected, hostname, localHostname, sshKeys, userData, nics, nic }).filter(([, v]) => v !== undefined))
    expect(got).toEqual(want)
    // the cloud was asked: a case that names data must not pass on a program that reads nothing; one without routes asks no one
    if (fixture.routes !== undefined && fixture.routes.length > 0) expect(yield* served).not.toEqual([])
    else expect(yield* served).toEqual([])
  })

describe("recorded metadata of every cloud in the registry", () => {
  it("the fixture directory holds a directory for clouds of the registry only", () => {
    const dirs = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
    expect(dirs.filter((d) => !CLOUD_NAMES.includes(d))).toEqual([])
  })

  describe.each(CLOUD_NAMES)("%s", (cloud) => {
    it("has recorded cases, each naming where its shapes come from", () => {
      expect(casesOf(cloud).map((c) => c.name)).not.toEqual([])
      expect(casesOf(cloud).filter((c) => c.fixture.source.trim() === "").map((c) => c.name)).toEqual([])
    })
    for (const { name, fixture } of casesOf(cloud)) {
      it.scopedLive(`${name}: ${fixture.description}`, () => check(cloud, fixture))
    }
  })
})
