import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError } from "../domain/errors.js"
import { lines, sortedUnique } from "../domain/text.js"
import type { Log } from "../services/Log.js"
import { dmiIs, isBase64Token, maybeBase64, nonEmpty, parsedJson, sayLeftOut, textValue, userDataWithin } from "./common.js"
import { AS_BASE64_USER_DATA, makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const KEYS = "public-keys"
const USER_DATA = "/hetzner/v1/userdata"

/**
 * `public-keys`, a JSON list of strings: its keys, and the items that are no
 * string (a number, an object), left out so that the others are still the
 * instance's; `null` or `{}` is no keys, as cloud-init reads an empty
 * public-keys; undefined when it is no list at all
 */
export const hetznerKeys = (value: unknown): { readonly keys: ReadonlyArray<string>; readonly leftOut: ReadonlyArray<number> } | undefined => {
  if (value === null || (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)) return { keys: [], leftOut: [] }
  if (!Array.isArray(value)) return undefined
  const leftOut = value.flatMap((k, i) => (typeof k === "string" ? [] : [i]))
  return { keys: sortedUnique(value.flatMap((k) => (typeof k === "string" ? lines(k) : []))), leftOut }
}

export const hetzner: CloudProvider = {
  name: "hetzner",
  detect: dmiIs("sys_vendor", (vendor) => vendor === "Hetzner"),
  metadata: Effect.gen(function* () {
    const log = yield* Effect.context<Log>()
    const client = yield* makeHttpMetadataClient({
      cloud: "hetzner",
      endpoint: "169.254.169.254",
      root: "/hetzner/v1/metadata/"
    })
    return {
      get: client.get,
      hostname: textValue(client, "hostname"),
      // a JSON list of strings; an empty body is no keys
      sshKeys: Effect.flatMap(Effect.flatMap(client.get(KEYS), (body) => parsedJson("hetzner", client.urlOf(KEYS), nonEmpty(body))), (value) => {
        const read = hetznerKeys(Option.getOrElse(value, () => [] as unknown))
        if (read === undefined) return Effect.fail(new ImdsError({ cloud: "hetzner", url: client.urlOf(KEYS), reason: "expected a JSON list of strings", unusable: true }))
        const said = sayLeftOut(
          read.leftOut,
          (i) => `hetzner: ${client.urlOf(KEYS)}: item ${i} is not a string; it is left out`,
          (count) => `hetzner: ${client.urlOf(KEYS)}: ${count} more items that are not strings are left out, not listed`
        )
        return Effect.as(Effect.provide(said, log), read.keys)
      }),
      // outside the metadata root; an empty answer is no user-data. Hetzner keeps it as text, so users give
      // binary user-data (gzip) in base64, which is decoded as cloud-init does
      userData: Effect.flatMap(client.get(USER_DATA, AS_BASE64_USER_DATA), (body) =>
        userDataWithin(client, USER_DATA, Option.exists(body, isBase64Token))(maybeBase64(nonEmpty(body)))
      )
    }
  })
}
