/**
 * OCI's metadata service answers 404 for a few milliseconds while it is
 * updated (Oracle's word, in cloud-init's DataSourceOracle, which asks again
 * twice for that reason): a 404 for the hostname, the keys or the user-data
 * is asked again twice, after the retry delay and never answered from the
 * resident process's kept answers, before the datum is taken as absent.
 * In-process, over a stand-in Http on the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { bytesOf, textOf } from "../../src/domain/text.js"
import { makeCachingHttp } from "../../src/layers/CachingHttp.js"
import { appLayer } from "../../src/layers/live.js"
import { Http, type HttpShape } from "../../src/services/Http.js"
import { Metadata, readingAhead } from "../../src/services/Metadata.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { scopedDir } from "../support/scratch.js"
import { advancingClock } from "../support/test-clock.js"

const KEYS = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP4M8PloFJ/8hS+v5Zz3muLOKB4NImSdh7FH6JbtAacI opc@bastion"
const SERVED: Readonly<Record<string, string>> = {
  "/opc/v2/instance/hostname": "web-2",
  "/opc/v2/instance/metadata/ssh_authorized_keys": KEYS,
  // #cloud-config\nhostname: web-2\n
  "/opc/v2/instance/metadata/user_data": "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogd2ViLTIK"
}

/** an OCI service that answers each path 404 its first `notFound` times (OCI's JSON error body is never read), then what it has */
const updatingService = (notFound: number) => {
  const asked: Array<string> = []
  const http: HttpShape = {
    request: (r) =>
      Effect.sync(() => {
        const before = asked.filter((p) => p === r.path).length
        asked.push(r.path)
        const body = SERVED[r.path]
        return body === undefined || before < notFound ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) }
      })
  }
  return { http, asked }
}

/**
 * the hostname, the keys and the user-data as a phase reads them, over `http`; twice where `twice` (a later phase of the
 * resident process), the first time as the resident process's read-ahead reads them where `twice` is `"ahead"`
 */
const readAll = (http: HttpShape, twice: boolean | "ahead" = false, settings: Readonly<Record<string, string>> = {}) =>
  Effect.gen(function* () {
    const root = yield* scopedDir("tiny-cloud-oci-404-")
    const commands = yield* recordingCommands({ root })
    const { layer: output } = yield* capturingOutput
    const env = { ROOT: root, CLOUD: "oci", IMDS_DEADLINE: "5", IMDS_RETRY_DELAY: "10", IMDS_RETRY_MAX_DELAY: "50", ...settings }
    const read = Effect.flatMap(Metadata, (m) =>
      Effect.all({ hostname: m.hostname, sshKeys: m.sshKeys, userData: Effect.map(m.userData, Option.map(textOf)) })
    )
    const layer = appLayer(env, "test", { commands: commands.layer, http: Layer.succeed(Http, http), output })
    const { result } = yield* advancingClock(
      twice
        ? Effect.zipRight(read.pipe(Effect.provide(layer), Effect.locally(readingAhead, twice === "ahead")), read.pipe(Effect.provide(layer)))
        : read.pipe(Effect.provide(layer)),
      "10 millis"
    )
    return result
  })

const WHOLE = { hostname: Option.some("web-2"), sshKeys: [KEYS], userData: Option.some("#cloud-config\nhostname: web-2\n") }

describe("oci: a 404 while the metadata service is updated", () => {
  it.scoped("each datum answered 404 twice, then served: the hostname, the keys and the user-data are read", () =>
    Effect.gen(function* () {
      const service = updatingService(2)
      expect(yield* readAll(service.http)).toEqual(WHOLE)
      for (const path of Object.keys(SERVED)) expect(service.asked.filter((p) => p === path).length).toBe(3)
    })
  )

  it.scoped("through the resident process's kept answers: a kept 404 is asked again, not given again", () =>
    Effect.gen(function* () {
      const service = updatingService(1)
      expect(yield* readAll(makeCachingHttp(service.http), true)).toEqual(WHOLE)
    })
  )

  it.scoped("absent for good, read ahead by the resident process, then by the phase: asked three times in all, as by a phase of its own (the read-ahead's 404 kept, the phase asks again)", () =>
    Effect.gen(function* () {
      const service = updatingService(Infinity)
      expect(yield* readAll(makeCachingHttp(service.http), "ahead")).toEqual({ hostname: Option.none(), sshKeys: [], userData: Option.none() })
      for (const path of Object.keys(SERVED)) expect({ path, asked: service.asked.filter((p) => p === path).length }).toEqual({ path, asked: 3 })
    })
  )

  it.scoped("a 404 read ahead by the resident process, served by the time the phase asks again: the phase reads the datum", () =>
    Effect.gen(function* () {
      const service = updatingService(1)
      expect(yield* readAll(makeCachingHttp(service.http), "ahead")).toEqual(WHOLE)
    })
  )

  it.scoped("absent for good (404 every time): each datum is absent after three asks, not an error", () =>
    Effect.gen(function* () {
      const service = updatingService(Infinity)
      expect(yield* readAll(service.http)).toEqual({ hostname: Option.none(), sshKeys: [], userData: Option.none() })
      for (const path of Object.keys(SERVED)) expect(service.asked.filter((p) => p === path).length).toBe(3)
    })
  )

  it.scoped("absent for good, the read's deadline coming before the 404 is asked again: absent, not an error", () =>
    Effect.gen(function* () {
      const service = updatingService(Infinity)
      const tight = { IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "2000", IMDS_RETRY_MAX_DELAY: "2000" }
      expect(yield* readAll(service.http, false, tight)).toEqual({ hostname: Option.none(), sshKeys: [], userData: Option.none() })
    })
  )
})
