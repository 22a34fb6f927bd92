/**
 * OpenStack (Nova) metadata service (169.254.169.254), and the config drive
 * that carries the same files. No header is required.
 *
 * `/openstack/` lists the metadata versions, `/openstack/VERSION/` (each
 * listed one, `latest` among them) the files: `meta_data.json` (`uuid`,
 * `hostname`, `public_keys` as a map of key names to keys), `user_data`
 * (404 when the instance has none),
 * `vendor_data.json`, `vendor_data2.json` and `network_data.json` (`links`
 * with each NIC's MAC, `networks` with its static addresses or `ipv4_dhcp`).
 * A config drive (a volume labelled `config-2`) holds them under
 * `openstack/latest/`: `openstackFiles` gives them for a test to present.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  encoder,
  firstHostOf,
  JSON_TYPE,
  methodNotAllowed,
  netmaskOf,
  nicsOf,
  notFound,
  OCTETS,
  prefixLength,
  present,
  reply
} from "../instance.js"

const VERSIONS = ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest"]

/** the version that brought each file Nova serves under every listed version (others since the first) */
const SINCE: Readonly<Record<string, string>> = { "vendor_data.json": "2013-10-17", "network_data.json": "2015-10-15", "vendor_data2.json": "2016-10-06" }

/** the files of one version: a reader that picks the newest version it knows (cloud-init) reads that version's directory */
const filesOf = (files: Record<string, Uint8Array>, version: string): Record<string, Uint8Array> =>
  version === "latest" ? files : Object.fromEntries(Object.entries(files).filter(([name]) => (SINCE[name] ?? "") <= version))

/** an IPv6 prefix length as the mask Nova writes (`ffff:ffff:ffff:ffff::`) */
const ipv6Mask = (bits: number): string => {
  const groups = Array.from({ length: 8 }, (_, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16))
    return keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff
  })
  const last = groups.reduce((at, g, i) => (g !== 0 ? i : at), -1)
  const shown = groups.slice(0, last + 1).map((g) => g.toString(16))
  return last === 7 ? shown.join(":") : `${shown.join(":")}::`
}

const openstackMetaData = (options: CloudHandlerOptions): unknown => {
  const instance = options.instance
  const keys = present(instance.sshKeys)
  return {
    uuid: options.instanceId,
    availability_zone: "nova",
    hostname: instance.hostname,
    name: instance.hostname?.split(".")[0] ?? "instance",
    launch_index: 0,
    meta: {},
    public_keys: Object.fromEntries(keys.map((k, i) => [`key-${i}`, `${k}\n`])),
    keys: keys.map((k, i) => ({ name: `key-${i}`, type: "ssh", data: `${k}\n` })),
    project_id: "9b2b1a5f0a6b4c9e8a7d6c5b4a392817",
    devices: []
  }
}

const openstackNetworkData = (options: CloudHandlerOptions): unknown => {
  const nics = nicsOf(options.instance)
  const links = nics.map((nic, i) => ({
    ethernet_mac_address: nic.mac,
    id: `tap${i}a81968a-79`,
    mtu: 1450,
    type: "ovs",
    vif_id: `${i}a81968a-797a-400f-8a80-567f997eb93f`
  }))
  let n = 0
  const networks = nics.flatMap((nic, i) => {
    const link = links[i]!.id
    const net4 = present(nic.ipv4Net)[0]
    const net6 = present(nic.ipv6Net)[0]
    const v4 = present(nic.ipv4).map((ip_address) => ({
      id: `network${n++}`,
      type: "ipv4",
      link,
      ip_address,
      netmask: netmaskOf(net4 === undefined ? 24 : (prefixLength(net4) ?? 24)),
      routes: i === 0 && net4 !== undefined ? [{ network: "0.0.0.0", netmask: "0.0.0.0", gateway: firstHostOf(net4) }] : [],
      network_id: "da5bb487-5193-4a65-a3df-4a0055a8c0d7"
    }))
    const v6 = present(nic.ipv6).map((ip_address) => ({
      id: `network${n++}`,
      type: "ipv6",
      link,
      ip_address,
      netmask: ipv6Mask(net6 === undefined ? 64 : (prefixLength(net6) ?? 64)),
      routes: [],
      network_id: "da5bb487-5193-4a65-a3df-4a0055a8c0d7"
    }))
    return v4.length === 0 ? [{ id: `network${n++}`, type: "ipv4_dhcp", link, network_id: "da5bb487-5193-4a65-a3df-4a0055a8c0d7" }, ...v6] : [...v4, ...v6]
  })
  return { links, networks, services: [{ type: "dns", address: "8.8.8.8" }] }
}

/** the files under `openstack/latest/`, as the service serves them and a config drive holds them */
export const openstackFiles = (options: CloudHandlerOptions): Record<string, Uint8Array> => {
  const files: Record<string, Uint8Array> = {
    "meta_data.json": encoder.encode(JSON.stringify(openstackMetaData(options))),
    "network_data.json": encoder.encode(JSON.stringify(openstackNetworkData(options))),
    "vendor_data.json": options.instance.vendorData ?? encoder.encode("{}"),
    "vendor_data2.json": encoder.encode("{}")
  }
  if (options.instance.userData !== undefined) files["user_data"] = options.instance.userData
  return files
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const files = openstackFiles(options)
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const path = request.path.replace(/(.)\/+$/, "$1")
    if (path === "/openstack") return reply(200, VERSIONS.join("\n"))
    const [, version, name] = /^\/openstack\/([^/]+)(?:\/([^/]+))?$/.exec(path) ?? []
    if (version === undefined || !VERSIONS.includes(version)) return notFound()
    const served = filesOf(files, version)
    if (name === undefined) return reply(200, Object.keys(served).sort().join("\n"))
    const body = Object.hasOwn(served, name) ? served[name] : undefined
    if (body === undefined) return notFound()
    return reply(200, body, name.endsWith(".json") ? JSON_TYPE : OCTETS)
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "b0fa911b-69d4-4476-bbe2-1c92bff6535c" }
