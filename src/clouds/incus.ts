import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError } from "../domain/errors.js"
import { bytesOf, lines, sortedUnique, textOf } from "../domain/text.js"
import { RootFs } from "../services/RootFs.js"
import { nonEmpty, whenTrue } from "./common.js"
import { makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const SOCKET = "/dev/incus/sock"
const META_DATA = "/1.0/meta-data"
const USER_DATA = "/1.0/config/user.user-data"

/** a YAML scalar as the meta-data writes it: plain, `"..."` (JSON-style) or `'...'` */
const unquote = (raw: string): string => {
  const v = raw.trim()
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return String(JSON.parse(v))
    } catch {
      return v.slice(1, -1)
    }
  }
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'")
  return v
}

/** `key: value` lines; comments and other lines are skipped */
export const parseMetaData = (text: string): Map<string, string> => {
  const data = new Map<string, string>()
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.replace(/\r$/, ""))
    if (m !== null) data.set(m[1]!, unquote(m[2] ?? ""))
  }
  return data
}

/** keys of a string or a list of strings */
const keysOf = (value: unknown): Array<string> =>
  typeof value === "string" ? lines(value) : Array.isArray(value) ? value.flatMap((v) => (typeof v === "string" ? lines(v) : [])) : []

/** `ssh_authorized_keys` and `users[].ssh_authorized_keys` of #cloud-config (or #alpine-config) user-data */
const sshKeysOf = (bytes: Uint8Array, url: string) =>
  Effect.gen(function* () {
    const text = textOf(bytes)
    const first = text.slice(0, text.indexOf("\n") < 0 ? text.length : text.indexOf("\n")).trim()
    if (first !== "#cloud-config" && first !== "#alpine-config") return []
    const { parse } = yield* Effect.promise(() => import("yaml"))
    const doc = yield* Effect.try({
      try: () => parse(text) as unknown,
      catch: (e) => new ImdsError({ cloud: "incus", url, reason: `invalid YAML in user-data: ${e instanceof Error ? e.message.split("\n")[0]!.replace(/:$/, "") : String(e)}` })
    })
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return []
    const config = doc as Record<string, unknown>
    const users = Array.isArray(config["users"]) ? config["users"] : []
    return [
      ...keysOf(config["ssh_authorized_keys"]),
      ...users.flatMap((u: unknown) => (u !== null && typeof u === "object" ? keysOf((u as Record<string, unknown>)["ssh_authorized_keys"]) : []))
    ]
  })

export const incus: CloudProvider = {
  name: "incus",
  // the guest API socket; more specific than a NoCloud seed
  detect: Effect.flatMap(RootFs, (fs) => fs.exists(fs.at(SOCKET))).pipe(Effect.map(whenTrue(5))),
  metadata: Effect.gen(function* () {
    const fs = yield* RootFs
    const client = yield* makeHttpMetadataClient({
      cloud: "incus",
      endpoint: "localhost",
      fixedEndpoint: true,
      socketPath: fs.at(SOCKET),
      root: "/1.0/"
    })
    const metaData = Effect.map(client.text(META_DATA), (t) => parseMetaData(Option.getOrElse(t, () => "")))
    const value = (key: string) => Effect.map(metaData, (m) => Option.fromNullable(m.get(key)).pipe(Option.filter((v) => v.trim() !== "")))
    const hostname = Effect.map(value("local-hostname"), Option.map((h) => h.trim()))
    const userData = Effect.map(client.get(USER_DATA, { userData: true }), nonEmpty)
    return {
      // an absolute path is fetched as it is; anything else is a key of the meta-data
      get: (path: string) =>
        path.startsWith("/") ? client.get(path) : Effect.map(value(path), Option.map(bytesOf)),
      hostname,
      sshKeys: Effect.flatMap(userData, (d) =>
        Option.match(d, { onNone: () => Effect.succeed([]), onSome: (bytes) => Effect.map(sshKeysOf(bytes, client.urlOf(USER_DATA)), sortedUnique) })
      ),
      userData
    }
  })
}
