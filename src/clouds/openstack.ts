import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError, SeedError, type MetadataError } from "../domain/errors.js"
import { byIfindex, isEthName } from "../domain/interfaces.js"
import { memoizeSuccess } from "../domain/memo.js"
import { printable, sortedUnique } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { dmi, DMI_PRIORITY, field, hasLabelledFilesystem, jsonNicLookup, nonEmpty, parsedJson, rendered, sayLeftOut, valueAt, type JsonObject } from "./common.js"
import { AS_USER_DATA, makeHttpMetadataClient, type GetOptions } from "./imds-http.js"
import { ipv4Network, ipv6Network } from "./ip.js"
import type { CloudProvider, MetadataDeps } from "./provider.js"
import { readVolume } from "./volume.js"

const LATEST = "openstack/latest/"
const DRIVE_LABELS = ["config-2", "CONFIG-2"]
/** what a config drive holds under `openstack/latest/` (and the metadata service serves) */
const FILES = ["meta_data.json", "user_data", "vendor_data.json", "vendor_data2.json", "network_data.json"]
/**
 * A config drive alone is a weaker sign than the DMI strings: other clouds
 * attach one too (DigitalOcean does), and their own DMI sign must win.
 */
const CONFIG_DRIVE_PRIORITY = 60

const PRODUCTS = ["OpenStack Nova", "OpenStack Compute"]
/**
 * chassis asset tags of OpenStack clouds whose product name is their own
 * (Open Telekom Cloud, Huawei Cloud, SAP Converged Cloud), and Nova's
 * product names, which some hypervisors put there, as cloud-init reads them
 */
const ASSET_TAGS = [...PRODUCTS, "OpenTelekomCloud", "HUAWEICLOUD", "SAP CCloud VM"]

/**
 * where the metadata is read from: the config drive's files, copied at once
 * (those over their limit or unreadable left out: each fails only its own reads), or the
 * metadata service
 */
type Drive = { readonly files: ReadonlyMap<string, Uint8Array>; readonly refused: ReadonlyMap<string, ImdsError>; readonly at: string }
type Source = { readonly drive: Drive } | { readonly service: true }

/**
 * the drive's directory of files: `openstack/latest/`, else the newest dated
 * version that has a `meta_data.json` (a drive made by hand holds only
 * `openstack/2012-08-10/`), as cloud-init reads a drive without `latest`
 */
const driveVersion = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    if (yield* fs.exists(`${dir}/${LATEST}meta_data.json`)) return LATEST
    const dated = (yield* fs.readDirectory(`${dir}/openstack`).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<string>))).filter((v) => /^\d{4}-\d{2}-\d{2}$/.test(v))
    const found = yield* Effect.findFirst([...dated].sort().reverse(), (v) => fs.exists(`${dir}/openstack/${v}/meta_data.json`))
    return Option.match(found, { onNone: () => LATEST, onSome: (v) => `openstack/${v}/` })
  })

/**
 * the drive's files, mounted at `dir`; none where it holds no `meta_data.json`, or one that is no JSON object: cloud-init's
 * read_v2 requires it, and a config-2 volume without it is no config drive to cloud-init, which reads the metadata
 * service then (said here)
 */
const driveAt = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { userDataMaxBytes, imdsMaxBytes } = yield* Config
    const at = yield* driveVersion(dir)
    if (!(yield* fs.exists(`${dir}/${at}meta_data.json`))) {
      yield* warn(`openstack: the config-2 volume holds no ${at}meta_data.json (nor a dated version's): it is no config drive, the metadata service is read`)
      return Option.none<Drive>()
    }
    const files = new Map<string, Uint8Array>()
    const refused = new Map<string, ImdsError>()
    let unreadable = Option.none<string>()
    for (const name of FILES) {
      const [limit, limitName] = name === "user_data" ? [userDataMaxBytes, "USERDATA_MAX_BYTES"] : [imdsMaxBytes, "IMDS_MAX_BYTES"]
      const data = yield* fs.readFileIfExists(`${dir}/${at}${name}`, { maxBytes: limit }).pipe(
        Effect.catchTag("FsError", (e) => {
          // a meta_data.json that cannot be read at all (a directory, a FIFO) is broken as one that is no JSON (below); one
          // over its limit, or another file, fails its own reads alone (cloud-init's read_v2 passes over an optional file it cannot read)
          if (name === "meta_data.json" && e.exceeded === undefined) unreadable = Option.some(e.reason)
          else {
            const why = e.exceeded !== undefined ? { reason: `larger than ${limit} bytes (${limitName})`, exceeded: limit } : { reason: e.reason, unusable: true as const }
            refused.set(name, new ImdsError({ cloud: "openstack", url: `config-2:${at}${name}`, ...why }))
          }
          return Effect.succeed(Option.none<Uint8Array>())
        })
      )
      Option.map(data, (d) => files.set(name, d))
    }
    // one that is not a JSON object (empty, cut short) is none either: cloud-init's read_v2 fails it (BrokenMetadata),
    // and passes the volume over for the metadata service
    const broken = Option.isSome(unreadable)
      ? unreadable
      : yield* parsedJson("openstack", `config-2:${at}meta_data.json`, Option.fromNullable(files.get("meta_data.json"))).pipe(
          Effect.map(Option.flatMap((md) => (md !== null && typeof md === "object" && !Array.isArray(md) ? Option.none<string>() : Option.some("not a JSON object")))),
          Effect.catchTag("ImdsError", (e) => Effect.succeed(Option.some(e.reason)))
        )
    if (Option.isSome(broken)) {
      yield* warn(`openstack: the config-2 volume's ${at}meta_data.json is unusable (${broken.value}): it is no config drive, the metadata service is read`)
      return Option.none<Drive>()
    }
    return Option.some<Drive>({ files, refused, at })
  })

const fromDrive = Effect.map(readVolume(DRIVE_LABELS, "config-2", driveAt), Option.flatten)

/**
 * The metadata service at its IPv6 address, for an instance on an IPv6-only
 * network (Neutron serves it there too): a link-local address, reached only
 * through an interface named with it (`%eth0`), as cloud-init names it; the
 * first `eth*` interface, by ifindex. None where there is no such interface.
 */
const LINK_LOCAL = "fe80::a9fe:a9fe"
const linkLocalEndpoint = Effect.gen(function* () {
  const fs = yield* RootFs
  const dir = fs.at("/sys/class/net")
  const names = (yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<string>))).filter(isEthName)
  const found = yield* Effect.forEach(names, (name) =>
    Effect.map(fs.readTextIfExists(`${dir}/${name}/ifindex`).pipe(Effect.orElseSucceed(() => Option.none<string>())), (i) => ({ name, ifindex: Option.getOrUndefined(i) }))
  )
  const first = byIfindex(found)[0]
  return first === undefined ? undefined : `[${LINK_LOCAL}%${first}]`
})

/** a network's address, without the `/BITS` it may carry (its prefix is that, else `netmask`) */
const addressOf = (network: unknown): unknown => {
  const ip = field(network, "ip_address")
  return typeof ip === "string" ? ip.replace(/\/\d+$/, "") : undefined
}

/** `network_data.json`'s links: the NICs */
const links = (nd: unknown): ReadonlyArray<JsonObject> => {
  const list = field(nd, "links")
  return Array.isArray(list) ? list.filter((l): l is JsonObject => l !== null && typeof l === "object") : []
}

/**
 * the networks of a link, of one family, that name the port's address: `ipv4`
 * and `ipv6`, and the IPv6 ones Nova types by the subnet's address mode
 * (`ipv6_slaac`, `ipv6_dhcpv6-stateful`, `ipv6_dhcpv6-stateless`), which carry
 * it too; `ipv4_dhcp`/`ipv6_dhcp` carry none
 */
const networksOf = (nd: unknown, link: JsonObject, family: "ipv4" | "ipv6"): ReadonlyArray<unknown> => {
  const list = field(nd, "networks")
  const ofFamily = (type: unknown) => type === family || (typeof type === "string" && type.startsWith(`${family}_`))
  return Array.isArray(list) ? list.filter((n) => field(n, "link") === link["id"] && ofFamily(field(n, "type")) && addressOf(n) !== undefined) : []
}

export const openstack: CloudProvider = {
  name: "openstack",
  detect: Effect.gen(function* () {
    if (PRODUCTS.includes(yield* dmi("product_name")) || ASSET_TAGS.includes(yield* dmi("chassis_asset_tag"))) return Option.some(DMI_PRIORITY)
    for (const label of DRIVE_LABELS) if (yield* hasLabelledFilesystem(label)) return Option.some(CONFIG_DRIVE_PRIORITY)
    return Option.none<number>()
  }),
  metadata: Effect.gen(function* () {
    const env = yield* Effect.context<MetadataDeps>()
    const client = yield* makeHttpMetadataClient({ cloud: "openstack", endpoint: "169.254.169.254", ipv6Endpoint: yield* linkLocalEndpoint, root: `/${LATEST}` })
    // the config drive first, looked for once
    const source = yield* memoizeSuccess(
      fromDrive.pipe(
        Effect.map(Option.match({ onNone: (): Source => ({ service: true }), onSome: (drive): Source => ({ drive }) })),
        Effect.mapError((e) => new SeedError({ reason: `openstack: cannot read the config drive: ${e.message}` })),
        Effect.provide(env)
      )
    )
    /** a file under `openstack/latest/` (a leading `/openstack/latest/` is the same) */
    const read = (path: string, options?: GetOptions): Effect.Effect<Option.Option<Uint8Array>, MetadataError> =>
      Effect.flatMap(source, (s) => {
        const name = path.replace(/^\/openstack\/latest\//, "")
        if (!("drive" in s)) return client.get(path, options)
        const tooLarge = s.drive.refused.get(name)
        return tooLarge !== undefined ? Effect.fail(tooLarge) : Effect.succeed(Option.fromNullable(s.drive.files.get(name)))
      })
    const urlOf = (name: string) => Effect.map(source, (s) => ("drive" in s ? `config-2:${s.drive.at}${name}` : client.urlOf(name)))
    const json = (name: string) => Effect.flatMap(Effect.zip(read(name), urlOf(name)), ([body, url]) => parsedJson("openstack", url, body))
    const metaData = yield* memoizeSuccess(json("meta_data.json"))
    const networkData = yield* memoizeSuccess(json("network_data.json"))
    return {
      get: (path) => read(path),
      // a hostname that is no string (a number, a list) is no name: said, and left out
      hostname: Effect.flatMap(metaData, (md) => {
        const hostname = Option.getOrUndefined(Option.map(md, (m) => field(m, "hostname")))
        if (hostname === undefined || hostname === null) return Effect.succeed(Option.none<string>())
        if (typeof hostname !== "string") {
          return Effect.as(Effect.provide(warn("openstack: meta_data.json: hostname is not a string; it is left out"), env), Option.none<string>())
        }
        return Effect.succeed(hostname.trim() !== "" ? Option.some(hostname.trim()) : Option.none<string>())
      }),
      // a map of key names to keys (a list's entries named by their index); an entry that is no string is left out, said
      sshKeys: Effect.flatMap(metaData, (md) => {
        const keys = Option.getOrUndefined(Option.map(md, (m) => field(m, "public_keys")))
        const entries = keys !== null && typeof keys === "object" ? Object.entries(keys as JsonObject) : []
        const leftOut = entries.filter(([, k]) => typeof k !== "string")
        return Effect.as(
          Effect.provide(
            sayLeftOut(
              leftOut,
              ([name]) => `openstack: meta_data.json: public_keys '${printable(name)}' is not a string; it is left out`,
              (count) => `openstack: meta_data.json: ${count} more public_keys entries that are not strings are left out, not listed`
            ),
            env
          ),
          sortedUnique(entries.flatMap(([, k]) => (typeof k === "string" ? k.split("\n") : [])))
        )
      }),
      userData: Effect.map(read("user_data", AS_USER_DATA), nonEmpty),
      // the MAC of each link, one a line
      nics: Effect.map(networkData, Option.flatMap((nd) => rendered(links(nd).map((l) => l["ethernet_mac_address"])))),
      nic: (mac, key) =>
        Effect.flatMap(networkData, (nd) => {
          const data = Option.getOrUndefined(nd)
          const all = links(data)
          return jsonNicLookup({
            cloud: "openstack",
            list: Effect.succeed(Option.some(all)),
            macOf: (link) => link["ethernet_mac_address"],
            aliases: {
              "@mac": (link) => link["ethernet_mac_address"],
              "@ipv4": (link) => networksOf(data, link, "ipv4").map(addressOf),
              "@ipv6": (link) => networksOf(data, link, "ipv6").map(addressOf),
              // each network once, however many of its addresses the link has
              "@ipv4-net": (link) => [...new Set(networksOf(data, link, "ipv4").map((n) => ipv4Network(addressOf(n), field(n, "netmask"))))],
              "@ipv6-net": (link) => [...new Set(networksOf(data, link, "ipv6").map((n) => ipv6Network(field(n, "ip_address"), field(n, "netmask"))))]
            },
            // a field of the link, by its `/`-separated path; "" the link itself
            subPath: (index, sub) =>
              Effect.succeed(rendered(valueAt(all[index], sub.split("/").filter((p) => p !== ""))))
          })(mac, key)
        })
    }
  }),
  // where the metadata is on a config drive, only the phase that reads it should mount it: a read-ahead's mount would be one more, beside it
  readAhead: false
}
