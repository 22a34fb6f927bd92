import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { lines, sortedUnique } from "../domain/text.js"
import { base64Value, dmiIs, field, jsonNicLookup, jsonValue, listedIndexes, nonEmpty, textValue, type JsonObject } from "./common.js"
import { makeHttpMetadataClient, USER_DATA } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const API_VERSION = "2021-05-01"
const ROOT = "/metadata/instance/"
const NICS = "network/interface"

/** the SMBIOS asset tag every Azure VM carries */
export const AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"

const list = (o: unknown): ReadonlyArray<unknown> => (Array.isArray(o) ? o : [])

/** `ipv4.ipAddress[].privateIpAddress` */
const addresses = (family: "ipv4" | "ipv6") => (nic: JsonObject) => list(field(field(nic, family), "ipAddress")).map((a) => field(a, "privateIpAddress"))

/** `ipv4.subnet[]` as `ADDRESS/PREFIX` */
const subnets = (family: "ipv4" | "ipv6") => (nic: JsonObject) =>
  list(field(field(nic, family), "subnet")).flatMap((s) => {
    const address = field(s, "address")
    const prefix = field(s, "prefix")
    return typeof address === "string" && address !== "" ? [prefix === undefined || prefix === "" ? address : `${address}/${String(prefix)}`] : []
  })

export const azure: CloudProvider = {
  name: "azure",
  detect: dmiIs("chassis_asset_tag", (tag) => tag === AZURE_ASSET_TAG),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "azure",
      endpoint: "169.254.169.254",
      root: ROOT,
      headers: { Metadata: "true" },
      query: `?format=text&api-version=${API_VERSION}`
    })
    return {
      get: client.get,
      hostname: textValue(client, "compute/name"),
      sshKeys: Effect.gen(function* () {
        // `format=text` lists a list's entries as `N/`
        const indexes = yield* listedIndexes(client, "compute/publicKeys", (l) => l.replace(/\/$/, ""))
        const keys = yield* Effect.forEach(indexes, (n) => client.text(`compute/publicKeys/${n}/keyData`), { concurrency: 4 })
        return sortedUnique(keys.flatMap((k) => (Option.isSome(k) ? lines(k.value) : [])))
      }),
      userData: Effect.map(client.get("compute/userData", USER_DATA), Option.flatMap(base64Value)),
      nics: Effect.map(client.get(NICS), nonEmpty),
      nic: jsonNicLookup({
        cloud: "azure",
        // the whole list as JSON: an absolute path, so the text query is not added
        list: jsonValue(client, `${ROOT}${NICS}?format=json&api-version=${API_VERSION}`),
        macOf: (nic) => nic["macAddress"],
        aliases: {
          "@mac": (nic) => nic["macAddress"],
          "@ipv4": addresses("ipv4"),
          "@ipv6": addresses("ipv6"),
          "@ipv4-net": subnets("ipv4"),
          "@ipv6-net": subnets("ipv6")
        },
        subPath: (index, sub) => Effect.map(client.get(sub === "" ? `${NICS}/${index}` : `${NICS}/${index}/${sub}`), nonEmpty)
      })
    }
  })
}
