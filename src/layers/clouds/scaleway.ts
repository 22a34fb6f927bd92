import { Effect, Option } from "effect"
import { makeHttpMetadataClient, type GetOptions } from "../imds-http.js"
import { dmi, DMI_PRIORITY, nonEmpty, sortedUnique, whenTrue, withoutNics } from "./common.js"
import type { CloudProvider } from "./provider.js"

const CONF = "/conf"
const USER_DATA = "/user_data/cloud-init"
const KEY = /^SSH_PUBLIC_KEYS_(\d+)_KEY$/

/**
 * `/conf`: `KEY=VALUE` lines, values quoted as a shell would read them
 * (`'...'` with `'\''` for a quote, `"..."`, `\x`); other lines are skipped.
 */
export const parseConf = (text: string): Map<string, string> => {
  const conf = new Map<string, string>()
  let i = 0
  while (i < text.length) {
    const eol = text.indexOf("\n", i)
    const lineEnd = eol < 0 ? text.length : eol
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=/.exec(text.slice(i, lineEnd))
    if (m === null) {
      i = lineEnd + 1
      continue
    }
    i += m[0].length
    let value = ""
    while (i < text.length && text[i] !== "\n") {
      const c = text[i]!
      if (c === "'") {
        const close = text.indexOf("'", i + 1)
        const end = close < 0 ? text.length : close
        value += text.slice(i + 1, end)
        i = end + 1
      } else if (c === '"') {
        i += 1
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) {
            if (text[i + 1] !== "\n") value += text[i + 1]
            i += 2
          } else value += text[i++]
        }
        i += 1
      } else if (c === "\\" && i + 1 < text.length) {
        if (text[i + 1] !== "\n") value += text[i + 1]
        i += 2
      } else if (c === "\r" && text[i + 1] === "\n") {
        i += 1
      } else {
        value += c
        i += 1
      }
    }
    conf.set(m[1]!, value)
    i += 1
  }
  return conf
}

const encoder = new TextEncoder()

export const scaleway: CloudProvider = {
  name: "scaleway",
  detect: Effect.map(dmi("sys_vendor"), (vendor) => vendor === "Scaleway").pipe(Effect.map(whenTrue(DMI_PRIORITY))),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({ cloud: "scaleway", endpoint: "169.254.42.42", root: "/" })
    const conf = Effect.map(client.text(CONF), (t) => parseConf(Option.getOrElse(t, () => "")))
    const value = (key: string) => Effect.map(conf, (c) => Option.fromNullable(c.get(key)).pipe(Option.filter((v) => v !== "")))
    const hostname = Effect.map(value("HOSTNAME"), Option.flatMap((h) => (h.trim() === "" ? Option.none<string>() : Option.some(h.trim()))))
    /** user-data is only served to a client whose source port is below 1024 */
    const options = (path: string): GetOptions | undefined => (/^\/user_data(\/|\?|$)/.test(path) ? { privilegedSourcePort: true } : undefined)
    return {
      cloud: "scaleway",
      // an absolute path is fetched as it is; anything else is a key of `/conf`
      get: (path: string) =>
        path.startsWith("/") ? client.get(path, options(path)) : Effect.map(value(path), Option.map((v) => encoder.encode(v))),
      hostname,
      // scaleway has no local-hostname of its own
      localHostname: hostname,
      sshKeys: Effect.map(conf, (c) =>
        sortedUnique(
          [...c.entries()]
            .flatMap(([k, v]) => {
              const m = KEY.exec(k)
              return m ? [{ n: Number(m[1]), v }] : []
            })
            .sort((a, b) => a.n - b.n)
            .map((e) => e.v)
        )
      ),
      userData: Effect.map(client.get(USER_DATA, { privilegedSourcePort: true }), nonEmpty),
      ...withoutNics("scaleway")
    }
  })
}
