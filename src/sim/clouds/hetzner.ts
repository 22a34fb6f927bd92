/**
 * Hetzner Cloud metadata service. No header is required.
 *
 * `/hetzner/v1/metadata` answers everything as YAML (with the first NIC's
 * network-config: IPv4 by DHCP, its IPv6 address static), `/hetzner/v1/metadata/KEY`
 * one value (`public-keys` is a JSON list of strings, `private-networks` a YAML
 * list, empty here: the simulated server is on no private network); user-data is at
 * `/hetzner/v1/userdata`, an empty 200 answer when there is none.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type CloudReply,
  methodNotAllowed,
  nicsOf,
  OCTETS,
  prefixLength,
  present,
  reply,
  yamlScalar
} from "../instance.js"

const notFound = (): CloudReply => reply(404, "not found\n")

const hetznerValues = (options: CloudHandlerOptions): Record<string, string | undefined> => {
  const instance = options.instance
  const nic = nicsOf(instance)[0]
  return {
    "availability-zone": "sim1-dc1",
    hostname: instance.hostname,
    "instance-id": options.instanceId,
    "local-ipv4": "",
    "public-ipv4": nic === undefined ? undefined : present(nic.ipv4)[0],
    "public-keys": JSON.stringify(present(instance.sshKeys)),
    region: "sim-central"
  }
}

/**
 * the first NIC's configuration, as cloud-init's version 1: IPv4 by DHCP and, where it has one, its IPv6 address
 * static (Hetzner gives every server's so, gateway fe80::1); none without a NIC
 */
const networkConfig = (options: CloudHandlerOptions): ReadonlyArray<string> => {
  const nic = nicsOf(options.instance)[0]
  if (nic === undefined) return []
  const v6 = present(nic.ipv6)[0]
  const prefix = prefixLength(present(nic.ipv6Net)[0] ?? "") ?? 64
  return [
    "network-config:",
    "  config:",
    `  - mac_address: ${nic.mac}`,
    "    name: eth0",
    "    subnets:",
    "    - ipv4: true",
    "      type: dhcp",
    ...(v6 === undefined ? [] : [`    - address: ${v6}/${prefix}`, "      gateway: fe80::1", "      ipv6: true", "      type: static"]),
    "    type: physical",
    "  version: 1"
  ]
}

const metadataYaml = (options: CloudHandlerOptions): string => {
  const values = hetznerValues(options)
  const out: string[] = [...networkConfig(options)]
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue
    if (key === "public-keys") {
      const keys = present(options.instance.sshKeys)
      out.push(keys.length === 0 ? "public-keys: []" : "public-keys:", ...keys.map((k) => `- ${JSON.stringify(k)}`))
    } else if (key === "instance-id") {
      out.push(`${key}: ${/^\d+$/.test(value) ? value : yamlScalar(value)}`)
    } else {
      out.push(`${key}: ${value === "" ? "''" : yamlScalar(value)}`)
    }
  }
  return `${out.join("\n")}\n`
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const values = hetznerValues(options)
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const path = request.path.replace(/\/+$/, "")
    if (path === "/hetzner/v1/userdata") return reply(200, options.instance.userData ?? "", OCTETS)
    if (path === "/hetzner/v1/metadata") return reply(200, metadataYaml(options))
    if (!path.startsWith("/hetzner/v1/metadata/")) return notFound()
    const key = path.slice("/hetzner/v1/metadata/".length)
    // a YAML list of the private networks the server is attached to, an empty one when none (never 404: afterburn reads it on every server)
    if (key === "private-networks") return reply(200, "[]\n")
    if (!Object.prototype.hasOwnProperty.call(values, key)) return notFound()
    const value = values[key]
    if (value === undefined) return notFound()
    return reply(200, value)
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "1000001" }
