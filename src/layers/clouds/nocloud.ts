import { Effect, Option } from "effect"
import { ImdsError, type MetadataError } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"
import { chooseInterface, defaultInterfaces, interfacesFile } from "../../programs/actions/network.js"
import type { Action } from "../../programs/action.js"
import { Metadata } from "../../services/Metadata.js"
import { textOf } from "../imds-http.js"
import { commandSucceeds, lines, orHostname, sortedUnique, whenTrue, withoutNics } from "./common.js"
import { isHttpSeed, loadSeed, seedDir, seedParams } from "./nocloud-seed.js"
import type { CloudProvider, MetadataDeps } from "./provider.js"

const yamlError = (file: string, e: unknown) =>
  new ImdsError({ cloud: "nocloud", url: file, reason: `invalid YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` })

/** a YAML value as `imds` prints it: scalars as text, lists one item a line, maps their keys */
const render = (value: unknown): Option.Option<string> => {
  if (value === null || value === undefined) return Option.none()
  if (Array.isArray(value)) return Option.some(value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join("\n"))
  if (typeof value === "object") return Option.some(Object.keys(value).join("\n"))
  return Option.some(String(value))
}

/** `public-keys` as a string, a list of strings or `{openssh-key}` maps, or a map of those */
const keysOf = (value: unknown): Array<string> => {
  if (typeof value === "string") return lines(value)
  if (Array.isArray(value)) return value.flatMap(keysOf)
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>
    return "openssh-key" in o ? keysOf(o["openssh-key"]) : Object.values(o).flatMap(keysOf)
  }
  return []
}

const metadata = Effect.gen(function* () {
  const dir = yield* seedDir
  const fs = yield* RootFs
  const env = yield* Effect.context<MetadataDeps>()
  const loaded = loadSeed.pipe(
    Effect.mapError((e) => (e._tag === "ImdsError" ? e : new ImdsError({ cloud: "nocloud", url: "seed", reason: e.message }))),
    Effect.provide(env)
  )
  const file = (name: string) =>
    Effect.zipRight(loaded, fs.readFileIfExists(`${dir}/${name}`).pipe(Effect.mapError((e) => new ImdsError({ cloud: "nocloud", url: name, reason: e.message }))))
  // read and parsed once per process, on first use
  const metaData = yield* Effect.cached(Effect.gen(function* () {
    const bytes = yield* file("meta-data")
    const text = Option.match(bytes, { onNone: () => "", onSome: textOf })
    const { parse } = yield* Effect.promise(() => import("yaml"))
    const doc = yield* Effect.try({ try: () => parse(text) as unknown, catch: (e) => yamlError("meta-data", e) })
    const data: Record<string, unknown> = doc !== null && typeof doc === "object" && !Array.isArray(doc) ? { ...(doc as Record<string, unknown>) } : {}
    const params = yield* seedParams.pipe(Effect.provide(env))
    Option.map(params, (p) => {
      if (p.localHostname !== undefined) data["local-hostname"] = p.localHostname
      if (p.instanceId !== undefined) data["instance-id"] = p.instanceId
    })
    return data
  }))
  const metaValue = (path: ReadonlyArray<string>) =>
    Effect.map(metaData, (data) => {
      let value: unknown = data
      for (const key of path) {
        if (value === null || typeof value !== "object") return undefined
        value = (value as Record<string, unknown>)[Array.isArray(value) ? Number(key) : key]
      }
      return value
    })
  const text = (key: string) =>
    Effect.map(metaValue([key]), (v) => Option.filter(render(v), (s) => s.trim() !== "").pipe(Option.map((s) => s.trim())))
  const get = (path: string): Effect.Effect<Option.Option<Uint8Array>, MetadataError> => {
    const [name, ...rest] = path.split("/").filter((p) => p !== "")
    if (name === undefined) return Effect.succeed(Option.none())
    if (rest.length === 0 || name !== "meta-data") return file(name)
    return Effect.map(metaValue(rest), (v) => Option.map(render(v), (s) => new TextEncoder().encode(s)))
  }
  const localHostname = text("local-hostname")
  return {
    cloud: "nocloud",
    get,
    // NoCloud seeds usually carry only local-hostname
    hostname: orHostname(text("hostname"), localHostname),
    localHostname: orHostname(localHostname, text("hostname")),
    sshKeys: Effect.map(metaValue(["public-keys"]), (v) => sortedUnique(keysOf(v))),
    userData: Effect.map(file("user-data"), Option.filter((b) => b.length > 0)),
    ...withoutNics("nocloud")
  }
})

/** the literal interfaces file from meta-data, else the default stanzas; resolv.conf when nothing uses DHCP */
const setNetworkInterfaces: Action = Effect.gen(function* () {
  const fs = yield* RootFs
  const md = yield* Metadata
  const path = yield* interfacesFile
  const given = Option.map(yield* md.get("meta-data/network-interfaces"), textOf).pipe(Option.filter((s) => s.trim() !== ""))
  if (Option.isSome(given)) yield* fs.writeAtomic(path, given.value.endsWith("\n") ? given.value : `${given.value}\n`)
  else if (!(yield* fs.exists(path))) yield* fs.writeAtomic(path, defaultInterfaces(yield* chooseInterface))
  const written = Option.getOrElse(yield* fs.readTextIfExists(path), () => "")
  const usesDhcp = written.split("\n").some((l) => /^\s*iface\s.*\sdhcp\b/.test(l) || /^\s*use\s+dhcp\b/.test(l))
  if (usesDhcp) return
  const servers = Option.match(yield* md.get("meta-data/resolv_conf/nameservers"), { onNone: () => [], onSome: (b) => lines(textOf(b)) })
  if (servers.length > 0) yield* fs.addLinesOnce(fs.at("/etc/resolv.conf"), servers.map((s) => `nameserver ${s}`))
})

export const nocloud: CloudProvider = {
  name: "nocloud",
  detect: Effect.gen(function* () {
    if (Option.isSome(yield* seedParams)) return true
    return (yield* commandSucceeds("findfs", ["LABEL=cidata"])) || (yield* commandSucceeds("findfs", ["LABEL=CIDATA"]))
  }).pipe(Effect.map(whenTrue(10))),
  metadata,
  ephemeralNetwork: Effect.map(seedParams, isHttpSeed),
  changes: [{ phase: "boot", op: "replace", anchor: "set_default_interfaces", actions: ["set_network_interfaces"] }],
  actions: { set_network_interfaces: setNetworkInterfaces }
}

