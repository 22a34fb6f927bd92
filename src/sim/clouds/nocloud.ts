/**
 * NoCloud seed over HTTP: `GET /seed/{meta-data,user-data,vendor-data,network-config}`
 * (runs of `/` are collapsed, so a seed URL with or without a trailing `/`
 * works). Files the instance does not have are 404.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  encoder,
  methodNotAllowed,
  notFound,
  OCTETS,
  present,
  reply,
  type SimInstance,
  yamlScalar
} from "../instance.js"

const SEED_PATH = "/seed/"
const DEFAULT_ID = "iid-sim-nocloud"

/** meta-data as YAML: `instance-id`, `local-hostname`, `hostname`, `public-keys` (a list of strings) */
const nocloudMetaData = (instance: SimInstance, instanceId = instance.instanceId ?? DEFAULT_ID): string => {
  const out = [`instance-id: ${yamlScalar(instanceId)}`]
  if (instance.localHostname !== undefined) out.push(`local-hostname: ${yamlScalar(instance.localHostname)}`)
  if (instance.hostname !== undefined) out.push(`hostname: ${yamlScalar(instance.hostname)}`)
  const keys = present(instance.sshKeys)
  if (keys.length > 0) out.push("public-keys:", ...keys.map((k) => `  - ${JSON.stringify(k)}`))
  return `${out.join("\n")}\n`
}

/** the seed directory's files: `meta-data` always, `user-data` when the instance has one */
export const nocloudSeedFiles = (instance: SimInstance, instanceId?: string): Record<string, Uint8Array> => {
  const files: Record<string, Uint8Array> = { "meta-data": encoder.encode(nocloudMetaData(instance, instanceId)) }
  if (instance.userData !== undefined) files["user-data"] = instance.userData
  return files
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const files = nocloudSeedFiles(options.instance, options.instanceId)
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const m = /^\/seed\/([^/]+)\/?$/.exec(request.path)
    const name = m?.[1]
    if (name === undefined || !["meta-data", "user-data", "vendor-data", "network-config"].includes(name)) return notFound()
    const body = files[name]
    return body === undefined ? notFound() : reply(200, body, name === "meta-data" ? "text/yaml" : OCTETS)
  }
}

export const simulated: SimulatedCloud = {
  handler,
  defaultInstanceId: DEFAULT_ID,
  seedPath: SEED_PATH,
  instanceFiles: ({ seedUrl }) => ({ "/proc/cmdline": `root=/dev/vda2 ds=nocloud;s=${seedUrl}\n` })
}
