/**
 * Incus guest API (`/dev/incus/sock`), HTTP over a unix socket. No header.
 *
 * `/1.0/meta-data` answers cloud-init style `key: value` lines
 * (`instance-id`, `local-hostname`); user-data is the config key
 * `user.user-data` (also answered as `cloud-init.user-data`), 404 when unset.
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

const notFound = (): CloudReply => reply(404, JSON.stringify({ type: "error", error: "not found", error_code: 404 }), JSON_TYPE)

export const incusMetaData = (options: CloudHandlerOptions): string => {
  const instance = options.instance
  const name = instance.localHostname ?? instance.hostname
  const out = ["#cloud-config", `instance-id: ${yamlScalar(options.instanceId)}`]
  if (name !== undefined) out.push(`local-hostname: ${yamlScalar(name)}`)
  return `${out.join("\n")}\n`
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const userData = options.instance.userData
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
      case "/1.0/config":
        return reply(200, JSON.stringify(userData === undefined ? [] : ["/1.0/config/user.user-data"]), JSON_TYPE)
      case "/1.0/config/user.user-data":
      case "/1.0/config/cloud-init.user-data":
        return userData === undefined ? notFound() : reply(200, userData, OCTETS)
      default:
        return notFound()
    }
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "sim-incus-instance", socket: "/dev/incus/sock" }
