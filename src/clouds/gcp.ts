import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { lines, sortedUnique } from "../domain/text.js"
import { dmiIs, jsonNicLookup, jsonValue, nonEmpty, textValue } from "./common.js"
import { makeHttpMetadataClient, type HttpMetadataClient, USER_DATA } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const ROOT = "/computeMetadata/v1/"
// a directory without its trailing `/` is answered with a redirect
const NICS = "instance/network-interfaces/"
const SSH_KEY_LISTS = ["project/attributes/ssh-keys", "instance/attributes/ssh-keys"]

/** `login:KEY` → `KEY`; a line without a login prefix is kept as it is */
export const dropLogin = (line: string): string => line.replace(/^[^\s:]+:(?=\S)/, "")

/** `IP/BITS` network of an address and its dotted netmask */
const networkOf = (ip: unknown, mask: unknown): string | undefined => {
  const quad = (s: unknown) => {
    const m = typeof s === "string" ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s) : null
    return m ? ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0 : undefined
  }
  const a = quad(ip)
  const n = quad(mask)
  if (a === undefined || n === undefined) return undefined
  const bits = n.toString(2).replace(/0+$/, "").length
  const net = (a & n) >>> 0
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".")}/${n === 0 ? 0 : bits}`
}

/**
 * A directory asked for without its trailing `/` is answered with a redirect
 * to it (as wget, which the shell edition used, would follow): asked again with the `/`.
 */
const followingDirectoryRedirect = (client: HttpMetadataClient) => (path: string) =>
  client.get(path).pipe(
    Effect.catchIf(
      (e) => e.reason === "HTTP 301" && !/\/(\?.*)?$/.test(path),
      () => client.get(path.replace(/^([^?]*)/, "$1/"))
    )
  )

/** lists as JSON lists, or newline-separated text */
const items = (v: unknown): unknown => (typeof v === "string" ? lines(v) : v)

export const gcp: CloudProvider = {
  name: "gcp",
  detect: dmiIs("product_name", (name) => name === "Google Compute Engine"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "gcp",
      endpoint: "169.254.169.254",
      root: ROOT,
      headers: { "Metadata-Flavor": "Google" }
    })
    return {
      get: followingDirectoryRedirect(client),
      hostname: textValue(client, "instance/hostname"),
      // project and instance keys merged; a list that is missing or cannot be read is skipped
      sshKeys: Effect.map(
        Effect.forEach(SSH_KEY_LISTS, (path) => client.text(path).pipe(Effect.orElseSucceed(() => Option.none<string>())), { concurrency: 2 }),
        (lists) => sortedUnique(lists.flatMap((l) => (Option.isSome(l) ? lines(l.value).map(dropLogin) : [])))
      ),
      userData: Effect.map(client.get("instance/attributes/user-data", USER_DATA), nonEmpty),
      nics: Effect.map(client.get(NICS), nonEmpty),
      nic: jsonNicLookup({
        cloud: "gcp",
        list: jsonValue(client, `${ROOT}${NICS}?recursive=true`),
        macOf: (nic) => nic["mac"],
        aliases: {
          "@mac": (nic) => nic["mac"],
          "@ipv4": (nic) => nic["ip"],
          "@ipv6": (nic) => items(nic["ipv6s"]),
          "@ipv4-net": (nic) => networkOf(nic["ip"], nic["subnetmask"]),
          "@ipv4-prefix": (nic) => items(nic["ipAliases"]),
          "@ipv6-prefix": (nic) => items(nic["forwardedIpv6s"])
        },
        subPath: (index, sub) => Effect.map(client.get(`${NICS}${index}/${sub}`), nonEmpty)
      })
    }
  })
}
