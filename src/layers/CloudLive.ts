import { Array as Arr, Effect, Layer, Option } from "effect"
import { Config } from "../services/Config.js"
import { debug } from "../services/Log.js"
import { Metadata, NoCloud, type CloudMetadata } from "../services/Metadata.js"
import { RootFs } from "../services/RootFs.js"
import { PROVIDERS, providerNamed } from "./clouds/index.js"
import type { CloudProvider } from "./clouds/provider.js"

/** offline detection: every detector, lowest priority wins; `unknown` when none matches */
export const detectCloud = Effect.gen(function* () {
  const found = yield* Effect.forEach(PROVIDERS, (p) =>
    p.detect ? Effect.map(p.detect, Option.map((priority) => ({ name: p.name, priority }))) : Effect.succeed(Option.none())
  )
  const best = Arr.getSomes(found).sort((a, b) => a.priority - b.priority)[0]
  return best?.name ?? "unknown"
})

/** `CLOUD`, or for `auto` the cached detection in `.autodetect`, detecting and caching when absent */
export const resolveCloud = Effect.gen(function* () {
  const settings = yield* Config
  if (settings.cloud !== "auto") return settings.cloud
  const fs = yield* RootFs
  const cache = `${settings.varDir}/.autodetect`
  const cached = Option.map(yield* fs.readTextIfExists(cache).pipe(Effect.orElseSucceed(() => Option.none<string>())), (s) => s.trim())
  if (Option.isSome(cached) && cached.value !== "") return cached.value
  const detected = yield* detectCloud
  yield* debug(`detected cloud: ${detected}`)
  yield* fs.writeAtomic(cache, `${detected}\n`).pipe(Effect.ignore)
  return detected
})

const absent = (cloud: string): CloudMetadata => {
  const none = Effect.fail(new NoCloud({ cloud }))
  return { cloud, get: () => none, hostname: none, localHostname: none, sshKeys: none, userData: none, nics: none, nic: () => none }
}

export const metadataFor = (provider: CloudProvider | undefined, cloud: string) =>
  provider ? provider.metadata : Effect.succeed(absent(cloud))

export const MetadataFor = (provider: CloudProvider | undefined, cloud: string) => Layer.effect(Metadata, metadataFor(provider, cloud))

export { providerNamed }
