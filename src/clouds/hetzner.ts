import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError } from "../domain/errors.js"
import { sortedUnique } from "../domain/text.js"
import { dmiIs, jsonValue, maybeBase64, nonEmpty, textValue } from "./common.js"
import { AS_USER_DATA, makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const KEYS = "public-keys"

export const hetzner: CloudProvider = {
  name: "hetzner",
  detect: dmiIs("sys_vendor", (vendor) => vendor === "Hetzner"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "hetzner",
      endpoint: "169.254.169.254",
      root: "/hetzner/v1/metadata/"
    })
    return {
      get: client.get,
      hostname: textValue(client, "hostname"),
      // a JSON list of strings
      sshKeys: Effect.flatMap(jsonValue(client, KEYS), (value) => {
        const keys = Option.getOrElse(value, () => [] as unknown)
        if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
          return Effect.fail(new ImdsError({ cloud: "hetzner", url: client.urlOf(KEYS), reason: "expected a JSON list of strings" }))
        }
        return Effect.succeed(sortedUnique((keys as Array<string>).flatMap((k) => k.split("\n"))))
      }),
      // outside the metadata root; an empty answer is no user-data. Hetzner keeps it as text, so users give
      // binary user-data (gzip) in base64, which is decoded as cloud-init does
      userData: Effect.map(client.get("/hetzner/v1/userdata", AS_USER_DATA), (body) => maybeBase64(nonEmpty(body)))
    }
  })
}
