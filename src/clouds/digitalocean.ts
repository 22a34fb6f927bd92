import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { memoizeSuccess } from "../domain/memo.js"
import { lines, sortedUnique } from "../domain/text.js"
import { dmiIs, field, followingDirectoryRedirect, jsonNicLookup, jsonValue, listedIndexes, nonEmpty, rendered, textValue, type JsonObject } from "./common.js"
import { AS_USER_DATA, makeHttpMetadataClient, type HttpMetadataClient } from "./imds-http.js"
import { ipv4Network, ipv6Network } from "./ip.js"
import type { CloudProvider } from "./provider.js"

/**
 * the whole metadata as one JSON document, where the droplet's interfaces are
 * found by MAC; the same data is served as a tree under `interfaces/`, read
 * when the document is not there
 */
const DOCUMENT = "/metadata/v1.json"
const TYPES = ["public", "private"] as const

/** a droplet's interface, and where its data lives under `interfaces/` */
interface Interface {
  readonly dir: string
  readonly nic: JsonObject
}

/** the public interfaces, then the private ones, as `v1.json` lists them */
const interfacesOf = (document: unknown): ReadonlyArray<Interface> =>
  TYPES.flatMap((type) => {
    const list = field(field(document, "interfaces"), type)
    return Array.isArray(list)
      ? list.flatMap((nic: unknown, i) => (nic !== null && typeof nic === "object" ? [{ dir: `${type}/${i}/`, nic: nic as JsonObject }] : []))
      : []
  })

/** a datum of the tree as text, undefined when absent */
const treeText = (client: HttpMetadataClient, path: string) =>
  Effect.map(client.text(path), (t) => Option.getOrUndefined(Option.map(t, (v) => v.trim())))

/** one interface read from its directory, shaped as `v1.json` lists it */
const interfaceFromTree = (client: HttpMetadataClient, dir: string) =>
  Effect.map(
    Effect.all(
      ["mac", "ipv4/address", "ipv4/netmask", "ipv4/gateway", "ipv6/address", "ipv6/cidr"].map((sub) => treeText(client, `interfaces/${dir}${sub}`)),
      { concurrency: "unbounded" }
    ),
    ([mac, address, netmask, gateway, address6, cidr]): Interface => ({
      dir,
      nic: { mac, ipv4: { ip_address: address, netmask, gateway }, ipv6: { ip_address: address6, cidr } }
    })
  )

/** the interfaces from the tree under `interfaces/`, for a service that serves no `v1.json` */
const interfacesFromTree = (client: HttpMetadataClient) =>
  Effect.map(
    Effect.forEach(TYPES, (type) =>
      Effect.flatMap(listedIndexes(client, `interfaces/${type}/`, (line) => line.replace(/\/$/, "")), (indexes) =>
        Effect.forEach(indexes, (n) => interfaceFromTree(client, `${type}/${n}/`), { concurrency: 4 })
      )
    ),
    (lists) => {
      const all = lists.flat()
      return all.length > 0 ? Option.some(all) : Option.none()
    }
  )

export const digitalocean: CloudProvider = {
  name: "digitalocean",
  detect: dmiIs("sys_vendor", (vendor) => vendor === "DigitalOcean"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({ cloud: "digitalocean", endpoint: "169.254.169.254", root: "/metadata/v1/" })
    // read once: each @nic lookup needs it
    const interfaces = yield* memoizeSuccess(
      Effect.flatMap(jsonValue(client, DOCUMENT), (document) =>
        Option.isSome(document) ? Effect.succeed(Option.some(interfacesOf(document.value))) : interfacesFromTree(client)
      )
    )
    // an index asked for without its trailing `/` is redirected to it (301), and followed
    const get = followingDirectoryRedirect(client)
    return {
      get,
      hostname: textValue(client, "hostname"),
      // one key a line
      sshKeys: Effect.map(client.text("public-keys"), (k) => sortedUnique(Option.isSome(k) ? lines(k.value) : [])),
      userData: Effect.map(client.get("user-data", AS_USER_DATA), nonEmpty),
      // each interface's directory under `interfaces/`, where its verbatim sub-paths are
      nics: Effect.map(interfaces, Option.flatMap((list) => rendered(list.map((i) => i.dir)))),
      nic: jsonNicLookup({
        cloud: "digitalocean",
        list: Effect.map(interfaces, Option.map((list) => list.map((i) => i.nic))),
        macOf: (nic) => nic["mac"],
        aliases: {
          "@mac": (nic) => nic["mac"],
          "@ipv4": (nic) => field(nic["ipv4"], "ip_address"),
          "@ipv6": (nic) => field(nic["ipv6"], "ip_address"),
          "@ipv4-net": (nic) => ipv4Network(field(nic["ipv4"], "ip_address"), field(nic["ipv4"], "netmask")),
          "@ipv6-net": (nic) => ipv6Network(field(nic["ipv6"], "ip_address"), field(nic["ipv6"], "cidr"))
        },
        subPath: (index, sub) =>
          Effect.flatMap(interfaces, (list) => {
            const dir = Option.getOrUndefined(Option.map(list, (l) => l[index]?.dir))
            return dir === undefined ? Effect.succeed(Option.none<Uint8Array>()) : Effect.map(get(`interfaces/${dir}${sub}`), nonEmpty)
          })
      })
    }
  })
}
