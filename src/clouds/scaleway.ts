import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { memoizeSuccess } from "../domain/memo.js"
import { parseAssignments } from "../domain/shell-words.js"
import { bytesOf, sortedUnique } from "../domain/text.js"
import { dmiIs, nonEmpty } from "./common.js"
import { makeHttpMetadataClient, type GetOptions } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const CONF = "/conf"
const USER_DATA = "/user_data/cloud-init"
const KEY = /^SSH_PUBLIC_KEYS_(\d+)_KEY$/
const TAG = /^TAGS_(\d+)$/
const AUTHORIZED_KEY = "AUTHORIZED_KEY="

/** the values of `PATTERN`'s numbered keys (`SSH_PUBLIC_KEYS_N_KEY`, `TAGS_N`), in their order */
const numbered = (conf: ReadonlyMap<string, string>, pattern: RegExp): ReadonlyArray<string> =>
  [...conf.entries()]
    .flatMap(([k, v]) => {
      const m = pattern.exec(k)
      return m ? [{ n: Number(m[1]), v }] : []
    })
    .sort((a, b) => a.n - b.n)
    .map((e) => e.v)

/** the account's keys, and keys given as instance tags `AUTHORIZED_KEY=TYPE_BLOB_COMMENT` (a tag has no spaces: `_` stands for them) */
export const scalewayKeys = (conf: ReadonlyMap<string, string>): ReadonlyArray<string> =>
  sortedUnique([
    ...numbered(conf, KEY),
    ...numbered(conf, TAG).flatMap((tag) => (tag.startsWith(AUTHORIZED_KEY) ? [tag.slice(AUTHORIZED_KEY.length).replace(/_/g, " ")] : []))
  ])

/** the quote a line leaves open (`'` or `"`), as a shell reads it; undefined when every quote it opens it closes */
const openQuote = (line: string): string | undefined => {
  let open: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (open === undefined && (c === "'" || c === '"')) open = c
    else if (c === open) open = undefined
    else if (c === "\\" && open !== "'") i++
  }
  return open
}

/**
 * `/conf`: `KEY=VALUE` lines quoted as a shell reads them. Scaleway also
 * writes lists unquoted (`PUBLIC_IP=DYNAMIC ID ADDRESS`, the names of the
 * keys that follow): such a line's value is the rest of the line, as written.
 * A quote a line leaves open is a value across lines (a key holding a
 * newline) only where the next line with that quote closes it at its end
 * and the lines read cleanly together; otherwise it is the line's own (an
 * apostrophe written unquoted, `NAME=bob's-box`), and never takes the keys
 * on the lines after it, up to the next apostrophe, with it.
 */
export const parseConf = (text: string): ReadonlyMap<string, string> => {
  const conf = new Map<string, string>()
  const asWritten = new Map<string, string>()
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    let read = parseAssignments(lines[i]!)
    const quote = read.problems.length > 0 ? openQuote(lines[i]!) : undefined
    if (quote !== undefined) {
      let j = i + 1
      while (j < lines.length && !lines[j]!.includes(quote)) j++
      if (j === lines.length) j = -1
      const joined = j < 0 ? undefined : parseAssignments(lines.slice(i, j + 1).join("\n"))
      if (joined !== undefined && joined.problems.length === 0 && lines[j]!.replace(/\s+$/, "").endsWith(quote)) {
        read = joined
        i = j
      }
    }
    for (const [key, value] of Object.entries(read.values)) conf.set(key, value)
    const raw = read.problems.length > 0 ? /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*?)\r?$/.exec(lines[i]!) : null
    if (raw !== null && !asWritten.has(raw[1]!)) asWritten.set(raw[1]!, raw[2]!.trim())
  }
  for (const [key, value] of asWritten) if (!conf.has(key)) conf.set(key, value)
  return conf
}

export const scaleway: CloudProvider = {
  name: "scaleway",
  detect: dmiIs("sys_vendor", (vendor) => vendor === "Scaleway"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "scaleway",
      endpoint: "169.254.42.42",
      // an IPv6-only instance's, the only one it reaches (cloud-init's DataSourceScaleway asks both)
      ipv6Endpoint: "[fd00:42::42]",
      root: "/"
    })
    // read once: the hostname, the keys and each key asked of it come from it
    const conf = yield* memoizeSuccess(Effect.map(client.text(CONF), (t) => parseConf(Option.getOrElse(t, () => ""))))
    // a key /conf writes with nothing after its `=` (PRIVATE_IP on an instance without one) is served, empty, as a text datum
    // another cloud answers empty; only a key it does not write is not there
    const served = (key: string) => Effect.map(conf, (c) => Option.fromNullable(c.get(key)))
    const value = (key: string) => Effect.map(served(key), Option.filter((v) => v !== ""))
    const hostname = Effect.map(value("HOSTNAME"), Option.flatMap((h) => (h.trim() === "" ? Option.none<string>() : Option.some(h.trim()))))
    /** user-data and vendor-data are only served to a client whose source port is below 1024 */
    const options = (path: string): GetOptions | undefined => (/^\/(?:user|vendor)_data(\/|\?|$)/.test(path) ? { privilegedSourcePort: true } : undefined)
    return {
      // an absolute path is fetched as it is; anything else is a key of `/conf`
      get: (path: string) => (path.startsWith("/") ? client.get(path, options(path)) : Effect.map(served(path), Option.map(bytesOf))),
      hostname,
      sshKeys: Effect.map(conf, scalewayKeys),
      userData: Effect.map(client.get(USER_DATA, { privilegedSourcePort: true, userData: true }), nonEmpty)
    }
  })
}
