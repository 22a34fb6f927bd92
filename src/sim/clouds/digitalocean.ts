/**
 * DigitalOcean droplet metadata service (169.254.169.254). No header is
 * required.
 *
 * `/metadata/v1/` is a tree: a directory lists its entries one a line
 * (sub-directories with `/`), a leaf answers its value, `public-keys` one
 * key a line; user-data and vendor-data are 404 when the droplet has none.
 * `/metadata/v1.json` is the whole metadata as one JSON document, with its
 * own names (`ip_address` where the tree has `address`). The first NIC is
 * the droplet's public interface (with an anchor address, as every droplet
 * has), the others are private ones. An index asked for without its trailing
 * `/` is redirected to it (301), as DigitalOcean documents.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimNic,
  type SimulatedCloud,
  type Tree,
  type TreeDir,
  below,
  childrenOf,
  decoder,
  firstHostOf,
  firstHostOf6,
  isLeaf,
  JSON_TYPE,
  leafBytes,
  lines,
  lookup,
  methodNotAllowed,
  netmaskOf,
  nicsOf,
  notFound,
  OCTETS,
  prefixLength,
  present,
  reply,
  toJson
} from "../instance.js"

const ROOT = "/metadata/v1"

/** an interface as the tree and the JSON document describe it (`address` or `ip_address`) */
const iface = (nic: SimNic, type: "public" | "private", index: number, address: "address" | "ip_address"): TreeDir => {
  const ipv4 = present(nic.ipv4)[0]
  const net4 = present(nic.ipv4Net)[0]
  const ipv6 = present(nic.ipv6)[0]
  const net6 = present(nic.ipv6Net)[0]
  return {
    mac: nic.mac,
    type,
    ipv4:
      ipv4 === undefined
        ? undefined
        : { [address]: ipv4, netmask: netmaskOf(net4 === undefined ? 24 : (prefixLength(net4) ?? 24)), gateway: net4 === undefined ? undefined : firstHostOf(net4) },
    ipv6:
      ipv6 === undefined
        ? undefined
        : { [address]: ipv6, cidr: net6 === undefined ? 64 : (prefixLength(net6) ?? 64), gateway: net6 === undefined ? undefined : firstHostOf6(net6) },
    anchor_ipv4: type === "public" ? { [address]: `10.20.0.${5 + index}`, netmask: "255.255.0.0", gateway: "10.20.0.1" } : undefined
  }
}

const interfaces = (options: CloudHandlerOptions, address: "address" | "ip_address"): TreeDir => {
  const [first, ...rest] = nicsOf(options.instance)
  return {
    public: first === undefined ? undefined : [iface(first, "public", 0, address)],
    private: rest.length === 0 ? undefined : rest.map((nic, i) => iface(nic, "private", i, address))
  }
}

const digitaloceanTree = (options: CloudHandlerOptions): TreeDir => {
  const instance = options.instance
  return {
    id: options.instanceId,
    hostname: instance.hostname,
    "user-data": instance.userData,
    "vendor-data": instance.vendorData,
    "public-keys": lines(instance.sshKeys),
    region: "sim1",
    interfaces: interfaces(options, "address"),
    dns: { nameservers: ["67.207.67.2", "67.207.67.3"] },
    floating_ip: { ipv4: { active: "false" } },
    tags: [],
    features: { dhcp_enabled: "false" }
  }
}

/** `/metadata/v1.json`: the same data under the document's own names */
const digitaloceanDocument = (options: CloudHandlerOptions): unknown => {
  const instance = options.instance
  return {
    droplet_id: Number(options.instanceId),
    hostname: instance.hostname ?? "",
    user_data: instance.userData === undefined ? null : decoder.decode(instance.userData),
    vendor_data: instance.vendorData === undefined ? null : decoder.decode(instance.vendorData),
    public_keys: present(instance.sshKeys),
    auth_key: "00000000000000000000000000000000",
    region: "sim1",
    interfaces: toJson(interfaces(options, "ip_address")),
    floating_ip: { ipv4: { active: false } },
    dns: { nameservers: ["67.207.67.2", "67.207.67.3"] },
    tags: [],
    features: { dhcp_enabled: false }
  }
}

/** a directory's entries one a line, sub-directories with `/` */
const listing = (node: Tree): string => childrenOf(node as TreeDir).map((c) => (isLeaf(c.node) ? c.name : `${c.name}/`)).join("\n")

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const tree = digitaloceanTree(options)
  const document = JSON.stringify(digitaloceanDocument(options))
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    if (request.path === `${ROOT}.json`) return reply(200, document, JSON_TYPE)
    const segments = below(request.path, ROOT)
    if (segments === undefined) return notFound()
    const node = lookup(tree, segments)
    if (node === undefined) return notFound()
    if (isLeaf(node)) return reply(200, leafBytes(node), node instanceof Uint8Array ? OCTETS : "text/plain; charset=utf-8")
    // "If you access an index endpoint but forget to add the trailing slash, you will receive a 301 Moved Permanently response"
    if (!request.path.endsWith("/") && segments.length > 0) return reply(301, "", "text/html; charset=utf-8", { Location: `${request.path}/` })
    return reply(200, listing(node))
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "22532410" }
