/** The cloud in use and its metadata, chosen on first use from `CLOUD` or offline detection. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { MetadataUnsupported, NoCloud } from "../domain/errors.js"
import { memoizeSuccess } from "../domain/memo.js"
import { textOf } from "../domain/text.js"
import { chosenBy, detectCloud, detectors } from "../clouds/detect.js"
import { completeMetadata, type MetadataDeps } from "../clouds/provider.js"
import { providerNamed } from "../clouds/registry.js"
import { Cloud, type CloudChoice, type CloudShape } from "../services/Cloud.js"
import { Config } from "../services/Config.js"
import { debug } from "../services/Log.js"
import type { CloudMetadata } from "../services/Metadata.js"
import { RootFs } from "../services/RootFs.js"

const cacheFile = (varDir: string) => `${varDir}/.autodetect`

/** the detection `.autodetect` holds; a cache that names no cloud (damaged, or from another version) is none: it is detected again */
const cachedDetection = Effect.gen(function* () {
  const settings = yield* Config
  const fs = yield* RootFs
  // (a cloud's name: a larger file is damaged, and not read whole)
  const cached = yield* fs.readFileIfExists(cacheFile(settings.varDir), { maxBytes: 256 }).pipe(Effect.orElseSucceed(() => Option.none<Uint8Array>()))
  return Option.filter(Option.map(cached, (bytes) => textOf(bytes).trim()), (name) => providerNamed(name) !== undefined || name === "unknown")
})

/** `CLOUD`, or for `auto` the cached detection in `.autodetect`, detecting and caching when there is none */
const chooseCloud = Effect.gen(function* () {
  const settings = yield* Config
  if (settings.cloud !== "auto") return { name: settings.cloud, chosenBy: "configured" as const }
  const cached = yield* cachedDetection
  if (Option.isSome(cached)) return { name: cached.value, chosenBy: "detected" as const }
  const fs = yield* RootFs
  const detected = yield* detectCloud
  yield* debug(`detected cloud: ${detected}`)
  yield* fs.writeAtomic(cacheFile(settings.varDir), `${detected}\n`, { noFollow: true }).pipe(Effect.ignore)
  return { name: detected, chosenBy: "detected" as const }
})

export const makeCloud: Effect.Effect<CloudShape, never, MetadataDeps> = Effect.gen(function* () {
  const env = yield* Effect.context<MetadataDeps>()
  const choice = yield* Effect.cached(
    Effect.map(chooseCloud, ({ name, chosenBy }): CloudChoice => {
      const provider = providerNamed(name)
      return {
        name,
        chosenBy,
        known: provider !== undefined,
        changes: provider?.changes ?? [],
        ephemeralNetwork: provider?.ephemeralNetwork === undefined ? Effect.succeed(false) : Effect.provide(provider.ephemeralNetwork, env),
        readAhead: provider !== undefined && provider.readAhead !== false,
        reportReady:
          provider === undefined
            ? Effect.fail(new NoCloud({ cloud: name }))
            : provider.reportReady === undefined
              ? Effect.fail(new MetadataUnsupported({ cloud: name, what: "a ready report" }))
              : Effect.provide(provider.reportReady, env)
      }
    }).pipe(Effect.provide(env))
  )
  const detect = Effect.map(detectors, (verdicts) => ({ cloud: chosenBy(verdicts), verdicts })).pipe(Effect.provide(env))
  return { choice, detect, cached: Effect.provide(cachedDetection, env) }
})

const absent = (cloud: string): CloudMetadata => {
  const none = Effect.fail(new NoCloud({ cloud }))
  return { get: () => none, hostname: none, localHostname: none, sshKeys: none, sshKeysFor: () => none, userData: none, keepWithUserData: Effect.void, sayLoginsNotSetUp: () => Effect.void, nics: none, nic: () => none, networkInterfaces: none }
}

/** every read goes to the chosen cloud's metadata, set up on the first read */
const delegating = (md: Effect.Effect<CloudMetadata>): CloudMetadata => ({
  get: (path) => Effect.flatMap(md, (m) => m.get(path)),
  hostname: Effect.flatMap(md, (m) => m.hostname),
  localHostname: Effect.flatMap(md, (m) => m.localHostname),
  sshKeys: Effect.flatMap(md, (m) => m.sshKeys),
  sshKeysFor: (user) => Effect.flatMap(md, (m) => m.sshKeysFor(user)),
  userData: Effect.flatMap(md, (m) => m.userData),
  keepWithUserData: Effect.flatMap(md, (m) => m.keepWithUserData),
  sayLoginsNotSetUp: (user) => Effect.flatMap(md, (m) => m.sayLoginsNotSetUp(user)),
  nics: Effect.flatMap(md, (m) => m.nics),
  nic: (mac, key) => Effect.flatMap(md, (m) => m.nic(mac, key)),
  networkInterfaces: Effect.flatMap(md, (m) => m.networkInterfaces)
})

export const makeMetadata: Effect.Effect<CloudMetadata, never, Cloud | MetadataDeps> = Effect.gen(function* () {
  const cloud = yield* Cloud
  const { imdsMaxKeys, imdsDeadline } = yield* Config
  const env = yield* Effect.context<MetadataDeps>()
  const md = yield* memoizeSuccess(
    Effect.flatMap(cloud.choice, ({ name }) => {
      const provider = providerNamed(name)
      return provider === undefined ? Effect.succeed(absent(name)) : Effect.map(provider.metadata, (source) => completeMetadata(name, source, { maxKeys: imdsMaxKeys, deadline: imdsDeadline }))
    }).pipe(Effect.provide(env))
  )
  return delegating(md)
})
