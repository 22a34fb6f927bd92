import { Effect, Option } from "effect"
import { ImdsError } from "../../services/Metadata.js"
import { makeHttpMetadataClient } from "../imds-http.js"
import { dmi, DMI_PRIORITY, jsonValue, nonEmpty, sortedUnique, textValue, whenTrue, withoutNics } from "./common.js"
import type { CloudProvider } from "./provider.js"

const KEYS = "public-keys"

export const hetzner: CloudProvider = {
  name: "hetzner",
  detect: Effect.map(dmi("sys_vendor"), (vendor) => vendor === "Hetzner").pipe(Effect.map(whenTrue(DMI_PRIORITY))),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "hetzner",
      endpoint: "169.254.169.254",
      root: "/hetzner/v1/metadata/"
    })
    const hostname = textValue(client, "hostname")
    return {
      cloud: "hetzner",
      get: client.get,
      hostname,
      // hetzner has no local-hostname of its own
      localHostname: hostname,
      // a JSON list of strings
      sshKeys: Effect.flatMap(jsonValue(client, KEYS), (value) => {
        const keys = Option.getOrElse(value, () => [] as unknown)
        if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
          return Effect.fail(new ImdsError({ cloud: "hetzner", url: client.urlOf(KEYS), reason: "expected a JSON list of strings" }))
        }
        return Effect.succeed(sortedUnique((keys as Array<string>).flatMap((k) => k.split("\n"))))
      }),
      // outside the metadata root; an empty answer is no user-data
      userData: Effect.map(client.get("/hetzner/v1/userdata"), nonEmpty),
      ...withoutNics("hetzner")
    }
  })
}
