/**
 * Incus guest API (`/dev/incus/sock`), HTTP over a unix socket. No header.
 *
 * `/1.0/meta-data` answers cloud-init style `key: value` lines
 * (`instance-id`, `local-hostname`); user-data is the config key
 * `cloud-init.user-data` (the older `user.user-data` when the instance says
 * so), vendor-data `cloud-init.vendor-data`, network configuration
 * `cloud-init.network-config`; a key that is not set is 404 (`not found`,
 * plain text, as Incus's guest API answers), one outside `cloud-init.*` and
 * `user.*` 403 (`not authorized`), and `/1.0/config` lists the keys that
 * are; `/1.0/devices` gives the devices.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type CloudReply,
  JSON_TYPE,
  methodNotAllowed,
  OCTETS,
  reply,
  yamlScalar
} from "../instance.js"

/** the guest API's errors are plain text, as Go's http.Error writes them: `not found`, `not authorized` */
const failure = (status: number, text: string): CloudReply => reply(status, `${text}\n`)

const incusMetaData = (options: CloudHandlerOptions): string => {
  const instance = options.instance
  const name = instance.localHostname ?? instance.hostname
  const out = ["#cloud-config", `instance-id: ${yamlScalar(options.instanceId)}`]
  if (name !== undefined) out.push(`local-hostname: ${yamlScalar(name)}`)
  return `${out.join("\n")}\n`
}

/** the config keys the instance has set, and their values */
const incusConfig = (options: CloudHandlerOptions): Record<string, Uint8Array> => {
  const { userData, vendorData, networkConfig, legacyUserDataKey } = options.instance
  const config: Record<string, Uint8Array> = {}
  if (userData !== undefined) config[legacyUserDataKey ? "user.user-data" : "cloud-init.user-data"] = userData
  if (vendorData !== undefined) config["cloud-init.vendor-data"] = vendorData
  if (networkConfig !== undefined) config["cloud-init.network-config"] = networkConfig
  return config
}

/**
 * `/1.0/devices`: the instance's devices by name, as configured (a NIC per interface, the root disk); cloud-init reads
 * it with the meta-data and config, and takes a guest API without it for no API at all
 */
const incusDevices = (options: CloudHandlerOptions): Record<string, Record<string, string>> => {
  const nics = Math.max(1, options.instance.nics?.length ?? 0)
  const devices: Record<string, Record<string, string>> = { root: { type: "disk", path: "/", pool: "default" } }
  for (let i = 0; i < nics; i++) devices[`eth${i}`] = { type: "nic", name: `eth${i}`, network: "incusbr0" }
  return devices
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const config = incusConfig(options)
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const path = request.path.replace(/(.)\/+$/, "$1")
    switch (path) {
      case "/":
        return reply(200, JSON.stringify(["/1.0"]), JSON_TYPE)
      case "/1.0":
        return reply(200, JSON.stringify({ api_version: "1.0", instance_type: "container", location: "sim", state: "Started" }), JSON_TYPE)
      case "/1.0/meta-data":
        return reply(200, incusMetaData(options))
      case "/1.0/devices":
        return reply(200, JSON.stringify(incusDevices(options)), JSON_TYPE)
      case "/1.0/config":
        return reply(200, JSON.stringify(Object.keys(config).map((k) => `/1.0/config/${k}`)), JSON_TYPE)
      default: {
        const key = /^\/1\.0\/config\/([^/]+)$/.exec(path)?.[1]
        // only the `cloud-init.*` and `user.*` keys are the instance's to read: another is refused, set or not
        if (key !== undefined && !key.startsWith("user.") && !key.startsWith("cloud-init.")) return failure(403, "not authorized")
        const value = key === undefined || !Object.hasOwn(config, key) ? undefined : config[key]
        return value === undefined ? failure(404, "not found") : reply(200, value, OCTETS)
      }
    }
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "sim-incus-instance", socket: "/dev/incus/sock" }
