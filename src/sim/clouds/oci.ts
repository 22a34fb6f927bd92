/**
 * Oracle Cloud Infrastructure instance metadata service, v2.
 *
 * Header `Authorization: Bearer Oracle` is required (401 otherwise). Objects
 * and lists answer as JSON, leaves as their plain value.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type CloudReply,
  type TreeDir,
  below,
  firstHostOf,
  firstHostOf6,
  headerValue,
  isLeaf,
  JSON_TYPE,
  leafBytes,
  lines,
  lookup,
  methodNotAllowed,
  nicsOf,
  present,
  reply,
  toBase64,
  toJson
} from "../instance.js"

const ROOT = "/opc/v2"

const jsonError = (status: number, code: string, message: string): CloudReply =>
  reply(status, JSON.stringify({ code, message }, null, 2), JSON_TYPE)

/** OCI writes MACs upper-case, colon-separated */
const ociMac = (mac: string): string => mac.toUpperCase()

const ociTree = (options: CloudHandlerOptions): TreeDir => {
  const instance = options.instance
  const id = options.instanceId
  return {
    instance: {
      availabilityDomain: "sim:AD-1",
      compartmentId: "ocid1.compartment.oc1..simulated",
      displayName: instance.hostname?.split(".")[0] ?? "instance",
      hostname: instance.hostname,
      id,
      image: "ocid1.image.oc1.sim.simulated",
      metadata: {
        ssh_authorized_keys: lines(instance.sshKeys),
        user_data: instance.userData === undefined ? undefined : toBase64(instance.userData)
      },
      region: "sim",
      canonicalRegionName: "sim-region-1",
      shape: "VM.Standard.E2.1.Micro",
      state: "Running"
    },
    vnics: nicsOf(instance).map((nic, i) => {
      const net = present(nic.ipv4Net)[0]
      const net6 = present(nic.ipv6Net)[0]
      return {
        vnicId: `ocid1.vnic.oc1.sim.vnic${i}`,
        privateIp: present(nic.ipv4)[0],
        vlanTag: 0,
        macAddr: ociMac(nic.mac),
        virtualRouterIp: net === undefined ? undefined : firstHostOf(net),
        subnetCidrBlock: net,
        ipv6Addresses: present(nic.ipv6),
        ipv6SubnetCidrBlock: net6,
        ipv6VirtualRouterIp: net6 === undefined ? undefined : firstHostOf6(net6)
      }
    })
  }
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const tree = ociTree(options)
  return (request) => {
    const segments = below(request.path, ROOT)
    if (segments === undefined) return jsonError(404, "NotFound", "Not Found")
    const forwarded = ["forwarded", "x-forwarded-for", "x-forwarded-host"].some((h) => request.headers[h] !== undefined)
    if (forwarded || headerValue(request.headers["authorization"]) !== "Bearer Oracle") {
      return jsonError(401, "NotAuthenticated", "The required information to complete authentication was not provided or was incorrect.")
    }
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const node = lookup(tree, segments)
    if (node === undefined) return jsonError(404, "NotFound", "Not Found")
    if (isLeaf(node)) return reply(200, leafBytes(node))
    return reply(200, JSON.stringify(toJson(node), null, 2), JSON_TYPE)
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "ocid1.instance.oc1.sim.aaaaaaaasimulatedinstance" }
