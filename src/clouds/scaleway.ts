import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { parseAssignments } from "../domain/shell-words.js"
import { bytesOf, sortedUnique } from "../domain/text.js"
import { dmiIs, nonEmpty } from "./common.js"
import { makeHttpMetadataClient, type GetOptions } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const CONF = "/conf"
const USER_DATA = "/user_data/cloud-init"
const KEY = /^SSH_PUBLIC_KEYS_(\d+)_KEY$/

/** `/conf`: `KEY=VALUE` lines quoted as a shell reads them; other lines are skipped */
export const parseConf = (text: string): ReadonlyMap<string, string> => new Map(Object.entries(parseAssignments(text).values))

export const scaleway: CloudProvider = {
  name: "scaleway",
  detect: dmiIs("sys_vendor", (vendor) => vendor === "Scaleway"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({ cloud: "scaleway", endpoint: "169.254.42.42", root: "/" })
    const conf = Effect.map(client.text(CONF), (t) => parseConf(Option.getOrElse(t, () => "")))
    const value = (key: string) => Effect.map(conf, (c) => Option.fromNullable(c.get(key)).pipe(Option.filter((v) => v !== "")))
    const hostname = Effect.map(value("HOSTNAME"), Option.flatMap((h) => (h.trim() === "" ? Option.none<string>() : Option.some(h.trim()))))
    /** user-data is only served to a client whose source port is below 1024 */
    const options = (path: string): GetOptions | undefined => (/^\/user_data(\/|\?|$)/.test(path) ? { privilegedSourcePort: true } : undefined)
    return {
      // an absolute path is fetched as it is; anything else is a key of `/conf`
      get: (path: string) => (path.startsWith("/") ? client.get(path, options(path)) : Effect.map(value(path), Option.map(bytesOf))),
      hostname,
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
      userData: Effect.map(client.get(USER_DATA, { privilegedSourcePort: true, userData: true }), nonEmpty)
    }
  })
}
