/**
 * Google Compute Engine metadata server.
 *
 * Header `Metadata-Flavor: Google` is required (403 otherwise). A directory
 * asked for without its trailing `/` is redirected (301) to it; a directory
 * lists its children one a line, each line ending in a newline, sub-
 * directories with `/`. `?recursive=true` (`True`, `1`...) or `?alt=json` gives JSON.
 *
 * `ssh-keys` holds `login:key` lines for every user of the project, as a
 * real project's does: besides the instance's keys (for `alpine`), a key of
 * another user and an expired `google-ssh` key of `alpine`, which are not
 * the instance's. `sshKeys` (deprecated), `block-project-ssh-keys` and
 * base64 user-data with `user-data-encoding` are there when the instance
 * says so.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type Tree,
  type TreeDir,
  below,
  childrenOf,
  firstHostOf,
  headerValue,
  isLeaf,
  JSON_TYPE,
  leafBytes,
  lines,
  lookup,
  methodNotAllowed,
  netmaskOf,
  nicsOf,
  prefixLength,
  present,
  reply,
  toBase64,
  toJson
} from "../instance.js"

const ROOT = "/computeMetadata/v1"
const FLAVOR = { "Metadata-Flavor": "Google" }
const GCP_TEXT = "application/text"

/** GCP's `ssh-keys` attribute: `login:key` lines */
const gcpSshKeys = (keys: ReadonlyArray<string> | undefined, login = "alpine"): string | undefined =>
  lines(present(keys).map((k) => `${login}:${k}`))

/** keys every real project has that are not the instance user's: another user's, and one Google's tools added for a while, expired */
export const GCP_OTHER_KEYS: ReadonlyArray<string> = [
  "someone-else:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherUsersKeyNotForTheCloudUser someone-else@example",
  'alpine:ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYExpiredKey google-ssh {"userName":"alpine@example.com","expireOn":"2020-01-01T00:00:00+0000"}'
]

/** the instance's `ssh-keys`: its keys among the project's other ones; none when the instance has no keys */
const instanceSshKeys = (keys: ReadonlyArray<string> | undefined): string | undefined => {
  const own = gcpSshKeys(keys)
  return own === undefined ? undefined : `${own}\n${GCP_OTHER_KEYS.join("\n")}`
}

const gcpTree = (options: CloudHandlerOptions): TreeDir => {
  const instance = options.instance
  return {
    instance: {
      attributes: {
        "block-project-ssh-keys": instance.blockProjectSshKeys === undefined ? undefined : String(instance.blockProjectSshKeys).toUpperCase(),
        "ssh-keys": instanceSshKeys(instance.sshKeys),
        sshKeys: gcpSshKeys(instance.legacySshKeys),
        "user-data": instance.userData === undefined || !instance.userDataBase64 ? instance.userData : toBase64(instance.userData),
        "user-data-encoding": instance.userData !== undefined && instance.userDataBase64 ? "base64" : undefined
      },
      hostname: instance.hostname,
      id: options.instanceId,
      name: instance.hostname?.split(".")[0],
      "network-interfaces": nicsOf(instance).map((nic) => {
        const net = present(nic.ipv4Net)[0]
        const bits = net === undefined ? undefined : prefixLength(net)
        return {
          mac: nic.mac,
          ip: present(nic.ipv4)[0],
          ipv6s: lines(nic.ipv6),
          subnetmask: bits === undefined ? undefined : netmaskOf(bits),
          gateway: net === undefined ? undefined : firstHostOf(net),
          network: "projects/000000000000/networks/default",
          "ip-aliases": present(nic.ipv4Prefix),
          "forwarded-ips": [],
          "forwarded-ipv6s": present(nic.ipv6Prefix)
        }
      }),
      zone: "projects/000000000000/zones/sim-a"
    },
    project: {
      attributes: {
        "ssh-keys": gcpSshKeys(instance.projectSshKeys)
      },
      "numeric-project-id": "000000000000",
      "project-id": "tiny-cloud-sim"
    }
  }
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** what the metadata server takes for `recursive=true`, as Go's strconv.ParseBool reads it: cloud-init asks `?recursive=True` */
const GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"]

/** recursive JSON as GCP gives it: keys camel-cased except user attribute names */
const gcpJson = (node: Tree, underAttributes = false): unknown => {
  if (isLeaf(node)) return toJson(node)
  if (Array.isArray(node)) return (node as ReadonlyArray<Tree>).map((n) => gcpJson(n))
  const out: Record<string, unknown> = {}
  for (const c of childrenOf(node as TreeDir)) out[underAttributes ? c.name : camel(c.name)] = gcpJson(c.node, c.name === "attributes")
  return out
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  const tree = gcpTree(options)
  return (request) => {
    if (request.headers["x-forwarded-for"] !== undefined || headerValue(request.headers["metadata-flavor"]) !== "Google") {
      return reply(
        403,
        "<!DOCTYPE html>\n<html lang=en>\n<title>Error 403 (Forbidden)!!1</title>\n<p>Your client does not have permission to get URL <code>" +
          request.path.replace(/[<>&]/g, "") +
          "</code> from this server. Missing Metadata-Flavor:Google header.\n",
        "text/html; charset=UTF-8",
        FLAVOR
      )
    }
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const segments = below(request.path, ROOT)
    if (segments === undefined) return reply(404, "Not Found\n", "text/html; charset=UTF-8", FLAVOR)
    const node = lookup(tree, segments)
    const trailing = request.path.endsWith("/")
    if (node === undefined || (isLeaf(node) && trailing)) return reply(404, "Not Found\n", "text/html; charset=UTF-8", FLAVOR)
    const json = GO_TRUE.includes(request.query.get("recursive") ?? "") || request.query.get("alt") === "json"
    if (isLeaf(node)) {
      if (json) return reply(200, JSON.stringify(toJson(node)), JSON_TYPE, FLAVOR)
      return reply(200, leafBytes(node), GCP_TEXT, FLAVOR)
    }
    if (!trailing && segments.length > 0) {
      const search = request.query.toString()
      return reply(301, "", GCP_TEXT, { ...FLAVOR, Location: `${request.path}/${search === "" ? "" : `?${search}`}` })
    }
    if (json) return reply(200, JSON.stringify(gcpJson(node, segments[segments.length - 1] === "attributes")), JSON_TYPE, FLAVOR)
    const children = childrenOf(node as TreeDir)
    return reply(200, children.map((c) => (isLeaf(c.node) ? `${c.name}\n` : `${c.name}/\n`)).join(""), GCP_TEXT, FLAVOR)
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "4611686018427387904" }
