/**
 * Scaleway instance metadata service (169.254.42.42 in production). No header
 * is required.
 *
 * `/conf` answers `KEY=VALUE` lines, sorted, values with anything beyond
 * `[A-Za-z0-9_.:/@%+,=-]` in single quotes (`?format=json` gives JSON);
 * user-data under `/user_data/`, and vendor-data under `/vendor_data/`, are
 * only served to a client whose source port is below 1024 (403 otherwise).
 * Keys given as instance tags are `TAGS_N=AUTHORIZED_KEY=TYPE_BLOB_COMMENT`
 * (a tag has no spaces: `_`).
 */
import { createHash } from "node:crypto"
import { shellWord } from "../../domain/shell-words.js"
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  JSON_TYPE,
  methodNotAllowed,
  nicsOf,
  notFound,
  OCTETS,
  present,
  reply
} from "../instance.js"

/** `SSH_PUBLIC_KEYS_N_FINGERPRINT` as Scaleway writes it: `BITS MD5:xx:... COMMENT (TYPE)` */
const scalewayFingerprint = (key: string): string => {
  const [type = "", blob = "", ...comment] = key.trim().split(/\s+/)
  const md5 = createHash("md5").update(Buffer.from(blob, "base64")).digest("hex").replace(/(..)(?!$)/g, "$1:")
  const kind = type.replace(/^ssh-/, "").replace(/^ecdsa-sha2-nistp\d+$/, "ecdsa").toUpperCase()
  const bits = type === "ssh-ed25519" ? 256 : type.startsWith("ecdsa-sha2-nistp") ? Number(type.slice(16)) : 2048
  return `${bits} MD5:${md5}${comment.length > 0 ? ` ${comment.join(" ")}` : ""} (${kind})`
}

/** shell-style quoting as the `/conf` text uses it */
const scalewayQuote = (value: string): string => (value === "" ? "" : shellWord(value))

/** the instance's tags: a plain one, and its tag keys as `AUTHORIZED_KEY=` tags */
const tagsOf = (instance: CloudHandlerOptions["instance"]): string[] => [
  "sim",
  ...present(instance.tagKeys).map((key) => `AUTHORIZED_KEY=${key.trim().replace(/ /g, "_")}`)
]

const scalewayTags = (instance: CloudHandlerOptions["instance"]): Record<string, string> => {
  const tags = tagsOf(instance)
  return Object.fromEntries([["TAGS", String(tags.length)], ...tags.map((t, i) => [`TAGS_${i}`, t])])
}

const scalewayConf = (options: CloudHandlerOptions): Record<string, string> => {
  const instance = options.instance
  const keys = present(instance.sshKeys)
  const nic = nicsOf(instance)[0]
  const conf: Record<string, string> = {
    COMMERCIAL_TYPE: "DEV1-S",
    ID: options.instanceId,
    LOCATION_ZONE_ID: "sim-1",
    ORGANIZATION: "00000000-0000-0000-0000-000000000000",
    PRIVATE_IP: nic === undefined ? "" : present(nic.ipv4)[0] ?? "",
    PUBLIC_IP: "",
    IPV6_ADDRESS: nic === undefined ? "" : present(nic.ipv6)[0] ?? "",
    SSH_PUBLIC_KEYS: String(keys.length),
    STATE_DETAIL: "booted",
    ...scalewayTags(instance)
  }
  if (instance.hostname !== undefined) {
    conf.HOSTNAME = instance.hostname
    conf.NAME = instance.hostname.split(".")[0] ?? instance.hostname
  }
  keys.forEach((key, i) => {
    conf[`SSH_PUBLIC_KEYS_${i}`] = "KEY FINGERPRINT"
    conf[`SSH_PUBLIC_KEYS_${i}_KEY`] = key
    conf[`SSH_PUBLIC_KEYS_${i}_FINGERPRINT`] = scalewayFingerprint(key)
  })
  return conf
}

const confText = (conf: Record<string, string>): string =>
  Object.keys(conf)
    .sort()
    .map((k) => `${k}=${scalewayQuote(conf[k]!)}\n`)
    .join("")

/**
 * `/conf?format=json`: the same data as the text, as the JSON afterburn and cloud-init read it (afterburn needs
 * `commercial_type`, `hostname`, `id`, `location.zone_id` and `ssh_public_keys`; cloud-init's network config reads
 * `private_ip`, and `public_ips` when that is null); no public address here
 */
const confJson = (options: CloudHandlerOptions): string => {
  const instance = options.instance
  const nic = nicsOf(instance)[0]
  return JSON.stringify({
    id: options.instanceId,
    name: instance.hostname?.split(".")[0],
    hostname: instance.hostname,
    commercial_type: "DEV1-S",
    organization: "00000000-0000-0000-0000-000000000000",
    location: { zone_id: "sim-1" },
    private_ip: nic === undefined ? null : present(nic.ipv4)[0] ?? null,
    public_ip: null,
    public_ips: [],
    ipv6: nic === undefined || present(nic.ipv6).length === 0 ? null : { address: present(nic.ipv6)[0] },
    ssh_public_keys: present(instance.sshKeys).map((key) => ({ key, fingerprint: scalewayFingerprint(key) })),
    tags: tagsOf(instance),
    state_detail: "booted"
  })
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const conf = scalewayConf(options)
  return (request) => {
    const path = request.path.replace(/(.)\/+$/, "$1")
    if (path === "/conf") {
      if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
      return request.query.get("format") === "json" ? reply(200, confJson(options), JSON_TYPE) : reply(200, confText(conf))
    }
    const kind = /^\/(user_data|vendor_data)(?:\/|$)/.exec(path)?.[1]
    if (kind !== undefined) {
      if (options.privilegedPortEnforced && (request.remotePort === undefined || request.remotePort >= 1024)) {
        return reply(403, JSON.stringify({ message: "Forbidden: source port must be privileged (< 1024)" }), JSON_TYPE)
      }
      if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
      const data = kind === "user_data" ? options.instance.userData : options.instance.vendorData
      if (path === `/${kind}`) {
        const names = data === undefined ? [] : ["cloud-init"]
        return request.query.get("format") === "json"
          ? reply(200, JSON.stringify({ [kind]: names }), JSON_TYPE)
          : reply(200, names.map((n) => `${n}\n`).join(""))
      }
      if (path !== `/${kind}/cloud-init` || data === undefined) return notFound()
      return reply(200, data, OCTETS)
    }
    return notFound()
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "7c8e4f2a-5b1d-4e3c-9a6f-0d2b1c3e4f5a", privilegedPort: true }
