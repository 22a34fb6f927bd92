/**
 * Azure Instance Metadata Service.
 *
 * Header `Metadata: true` is required (400 otherwise), and so is an
 * `api-version` query parameter (400 otherwise). `format=text` gives a leaf's
 * value as is, or a node's children one a line (objects and lists alike:
 * sub-nodes end with `/`, as EC2 listings do); the default is JSON.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type CloudReply,
  type Tree,
  type TreeDir,
  below,
  childrenOf,
  isLeaf,
  JSON_TYPE,
  leafBytes,
  lookup,
  methodNotAllowed,
  nicsOf,
  prefixLength,
  present,
  reply,
  toBase64,
  toJson
} from "../instance.js"

const jsonError = (status: number, error: string, extra?: Record<string, unknown>): CloudReply =>
  reply(status, JSON.stringify({ error, ...extra }), JSON_TYPE)

const NEWEST_VERSIONS = ["2023-07-01", "2021-12-13", "2021-05-01"]

/** Azure writes MACs as twelve upper-case hex digits, no separators */
export const azureMac = (mac: string): string => mac.replace(/[^0-9a-fA-F]/g, "").toUpperCase()

export const azureTree = (options: CloudHandlerOptions): TreeDir => {
  const instance = options.instance
  const name = instance.hostname
  return {
    compute: {
      azEnvironment: "AzurePublicCloud",
      location: "simulated",
      name,
      osProfile: { adminUsername: "azureuser", computerName: name ?? "", disablePasswordAuthentication: "true" },
      osType: "Linux",
      publicKeys: present(instance.sshKeys).map((keyData) => ({ keyData, path: "/home/azureuser/.ssh/authorized_keys" })),
      userData: instance.userData === undefined ? "" : toBase64(instance.userData),
      customData: "",
      vmId: options.instanceId
    },
    network: {
      interface: nicsOf(instance).map((nic) => {
        const ipv4 = present(nic.ipv4)
        const ipv4Net = present(nic.ipv4Net)
        return {
          macAddress: azureMac(nic.mac),
          ipv4: {
            ipAddress: ipv4.map((privateIpAddress) => ({ privateIpAddress, publicIpAddress: "" })),
            subnet: ipv4Net.map((cidr) => ({ address: cidr.replace(/\/\d+$/, ""), prefix: String(prefixLength(cidr) ?? "") }))
          },
          ipv6: {
            ipAddress: present(nic.ipv6).map((privateIpAddress) => ({ privateIpAddress })),
            subnet: present(nic.ipv6Net).map((cidr) => ({ address: cidr.replace(/\/\d+$/, ""), prefix: String(prefixLength(cidr) ?? "") }))
          }
        }
      })
    }
  }
}

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const tree = azureTree(options)
  return (request) => {
    if (!request.path.startsWith("/metadata/")) return jsonError(404, "Not found")
    if (request.headers["x-forwarded-for"] !== undefined) return jsonError(400, "Bad request. Request contains X-Forwarded-For header")
    if (headerValue(request.headers["metadata"])?.toLowerCase() !== "true") {
      return jsonError(400, "Bad request. Required metadata header not specified")
    }
    const version = request.query.get("api-version")
    if (version === null || version === "") {
      return jsonError(400, "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds", {
        "newest-versions": NEWEST_VERSIONS
      })
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) {
      return jsonError(400, "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds", {
        "newest-versions": NEWEST_VERSIONS
      })
    }
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const segments = below(request.path, "/metadata/instance")
    if (segments === undefined) return jsonError(404, "Not found")
    const node: Tree | undefined = lookup(tree, segments)
    if (node === undefined) return jsonError(404, "Not found")
    const format = request.query.get("format") ?? "json"
    if (format === "text") {
      if (isLeaf(node)) return reply(200, leafBytes(node))
      return reply(200, childrenOf(node as TreeDir).map((c) => (isLeaf(c.node) ? c.name : `${c.name}/`)).join("\n"))
    }
    if (format !== "json") return jsonError(400, "Bad request. Unsupported format")
    return reply(200, JSON.stringify(toJson(node)), JSON_TYPE)
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21" }
