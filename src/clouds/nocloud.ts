import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError, SeedError, type MetadataError } from "../domain/errors.js"
import { memoizeSuccess } from "../domain/memo.js"
import { ownEntry } from "../domain/own.js"
import { renderValue } from "../domain/render.js"
import { staticNotConfigured } from "../domain/network-config.js"
import { bytesOf, sortedUnique, textOf } from "../domain/text.js"
import { warn } from "../services/Log.js"
import { Config } from "../services/Config.js"
import { RootFs } from "../services/RootFs.js"
import { hasLabelledFilesystem, parsedYaml, publicKeysOf, valueAt, whenTrue } from "./common.js"
import { isHttpSeed, loadSeed, SEED_FILES, seedDir, seedParams } from "./nocloud-seed.js"
import { orElseHostname, type CloudProvider, type MetadataDeps } from "./provider.js"

/** a seed's values as the file writes them: `local-hostname: 007` is 007, an `instance-id` of 20 digits all of them */
const AS_WRITTEN = { numbersAsWritten: true } as const

const metadata = Effect.gen(function* () {
  const dir = yield* seedDir
  const fs = yield* RootFs
  const { userDataMaxBytes } = yield* Config
  const env = yield* Effect.context<MetadataDeps>()
  // read once for all of this metadata's reads
  const params = yield* seedParams
  const loaded = yield* memoizeSuccess(
    loadSeed(params).pipe(
      Effect.mapError((e) => (e._tag === "FsError" ? new SeedError({ reason: `cannot copy the NoCloud seed: ${e.message}` }) : e)),
      Effect.provide(env)
    )
  )
  const file = (name: string) =>
    Effect.flatMap(loaded, ({ refused, held }) => {
      // `name` comes from an imds path: the seed files left out are its own entries only
      const leftOut = ownEntry(refused as Readonly<Record<string, ImdsError>>, name)
      if (leftOut !== undefined) return Effect.fail(leftOut)
      if (held !== undefined) return Effect.succeed(Option.fromNullable(ownEntry(held as Readonly<Record<string, Uint8Array>>, name)))
      // the copies were made within USERDATA_MAX_BYTES: one larger was changed since
      return fs.readFileIfExists(`${dir}/${name}`, { maxBytes: userDataMaxBytes }).pipe(Effect.mapError((e) => new ImdsError({ cloud: "nocloud", url: name, reason: e.message, unusable: true })))
    })
  /** meta-data, read and parsed once per process, on first use; `options`: how its numbers are read */
  const metaDataRead = (options?: typeof AS_WRITTEN) =>
    Effect.gen(function* () {
      const bytes = yield* file("meta-data")
      const text = Option.match(bytes, { onNone: () => "", onSome: textOf })
      const doc = yield* parsedYaml(text, options).pipe(Effect.mapError((reason) => new ImdsError({ cloud: "nocloud", url: "meta-data", reason: `invalid YAML: ${reason}`, unusable: true })))
      const data: Record<string, unknown> = doc !== null && typeof doc === "object" && !Array.isArray(doc) ? { ...(doc as Record<string, unknown>) } : {}
      Option.map(params, (p) => {
        if (p.localHostname !== undefined) data["local-hostname"] = p.localHostname
        if (p.instanceId !== undefined) data["instance-id"] = p.instanceId
      })
      return data
    })
  // the values imds prints and the names, as written; the keys' list as YAML reads it, where a number is no key
  const metaData = yield* memoizeSuccess(metaDataRead(AS_WRITTEN))
  const metaKeys = yield* memoizeSuccess(metaDataRead())
  const metaValue = (path: ReadonlyArray<string>) => Effect.map(metaData, (data) => valueAt(data, path))
  /** another seed file (network-config, vendor-data, user-data) as the YAML document it is; absent when there is no file */
  const seedDocument = (name: string) =>
    Effect.flatMap(file(name), (bytes) =>
      Option.isNone(bytes)
        ? Effect.succeed(undefined)
        : parsedYaml(textOf(bytes.value), AS_WRITTEN).pipe(Effect.mapError((reason) => new ImdsError({ cloud: "nocloud", url: name, reason: `invalid YAML: ${reason}`, unusable: true })))
    )
  /**
   * a name in meta-data (`hostname`, `local-hostname`) as imds renders it. A mapping is no name (rendered, it
   * would name the host after its first key): said, and left out, so that the next name is taken; a list's
   * items stay its lines (one item is the name, more than one an invalid hostname set_hostname names). Said once:
   * `@local-hostname` falls back to `@hostname`, which falls back to local-hostname again
   */
  const saidMapping = new Set<string>()
  const text = (key: string) =>
    Effect.flatMap(metaValue([key]), (v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Effect.as(
            Effect.suspend(() => (saidMapping.has(key) ? Effect.void : (saidMapping.add(key), Effect.provide(warn(`NoCloud meta-data '${key}' is a mapping, not a name; left out`), env)))),
            Option.none<string>()
          )
        : Effect.succeed(Option.filter(Option.map(renderValue(v), (s) => s.trim()), (s) => s !== ""))
    )
  /**
   * `FILE` is the seed file as it is; `FILE/` its top-level keys and
   * `FILE/KEY/...` a value in it, for every seed file, as the shell
   * edition reads them (`yx -f FILE KEY...`)
   */
  const get = (path: string): Effect.Effect<Option.Option<Uint8Array>, MetadataError> => {
    const [name, ...rest] = path.split("/").filter((p) => p !== "")
    // the root holds the seed files only: not the directory's marker, nor `..` or `.`
    if (name === undefined || !(SEED_FILES as ReadonlyArray<string>).includes(name)) return Effect.succeed(Option.none())
    if (rest.length === 0 && !path.endsWith("/")) return file(name)
    const value = name === "meta-data" ? metaValue(rest) : Effect.map(seedDocument(name), (document) => valueAt(document, rest))
    return Effect.map(value, (v) => Option.map(renderValue(v), bytesOf))
  }
  /**
   * the static addresses of the seed's network-config (cloud-init's version 1 or 2), which is not applied: said, as
   * the interface they are for does not get them (the default stanzas configure it by DHCP). A network-config that
   * cannot be read says nothing here
   */
  const networkConfigNotApplied = Effect.gen(function* () {
    const line = staticNotConfigured("NoCloud 'network-config'", "meta-data 'network-interfaces', an interfaces file, is read instead", yield* seedDocument("network-config"))
    if (line !== undefined) yield* Effect.provide(warn(line), env)
  }).pipe(Effect.catchAll(() => Effect.void))
  const localHostname = text("local-hostname")
  // `h=` names this machine over whatever a seed shared by many says, its `hostname` too (cloud-init names the host by
  // local-hostname alone, which h= replaces)
  const namedByCommandLine = Option.exists(params, (p) => (p.localHostname ?? "").trim() !== "")
  return {
    get,
    // NoCloud seeds usually carry only local-hostname
    hostname: namedByCommandLine ? localHostname : orElseHostname(text("hostname"), localHostname),
    localHostname,
    // an item that is no key (a number, `true`) is left out, said
    sshKeys: Effect.flatMap(Effect.map(metaKeys, (data) => valueAt(data, ["public-keys"])), (v) => {
      const leftOut = { count: 0 }
      const keys = sortedUnique(publicKeysOf(v, new Set(), leftOut))
      const said = leftOut.count === 0 ? Effect.void : Effect.provide(warn(`NoCloud meta-data 'public-keys': ${leftOut.count} ${leftOut.count === 1 ? "item that is not a string" : "items that are not strings"} left out`), env)
      return Effect.as(said, keys)
    }),
    userData: Effect.map(file("user-data"), Option.filter((b) => b.length > 0)),
    // a mapping, a list or bytes (`!!binary`, to which cloud-init's parser is no better) is no interfaces file: rendered, it would be
    // its keys, items or byte indexes, and ifupdown-ng would bring up no NIC
    networkInterfaces: Effect.flatMap(metaValue(["network-interfaces"]), (v) =>
      v !== null && typeof v === "object"
        ? Effect.fail(
            new ImdsError({
              cloud: "nocloud",
              url: "meta-data/network-interfaces",
              reason: `${Array.isArray(v) ? "a list" : v instanceof Uint8Array ? "binary (!!binary)" : "a mapping"}, not the text of an interfaces file`,
              unusable: true
            })
          )
        : Effect.succeed(renderValue(v))
    ).pipe(
      // where no interfaces file is given, the default stanzas (DHCP) stand for the seed's network-config, which is not read
      Effect.tap((text) => (Option.exists(text, (t) => t.trim() !== "") ? Effect.void : networkConfigNotApplied)),
      // a seed that could not be loaded at all is not loaded again for it (its lines said twice, a volume looked for twice)
      Effect.tapError((e) => (e._tag === "SeedError" ? Effect.void : networkConfigNotApplied))
    )
  }
})

export const nocloud: CloudProvider = {
  name: "nocloud",
  detect: Effect.gen(function* () {
    if (Option.isSome(yield* seedParams)) return true
    return (yield* hasLabelledFilesystem("cidata")) || (yield* hasLabelledFilesystem("CIDATA"))
  }).pipe(Effect.map(whenTrue(10))),
  metadata,
  ephemeralNetwork: Effect.map(seedParams, isHttpSeed),
  readAhead: false,
  changes: [{ phase: "boot", op: "replace", anchor: "set_default_interfaces", actions: ["set_network_interfaces"] }]
}
