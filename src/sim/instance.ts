/**
 * The simulated instance: what a test (or `tiny-cloud simulate`) says the
 * cloud knows about the machine, and the small pieces every simulated cloud
 * shares (path splitting, metadata trees, replies).
 *
 * Plain TypeScript on node built-ins only: this is embedded in the shipped
 * program.
 */
import type { IncomingHttpHeaders } from "node:http"

/** a cloud's name, as the registry (`src/clouds/registry.ts`) lists it */
export type SimCloud = string

export interface SimNic {
  mac: string
  ipv4?: string[]
  ipv6?: string[]
  ipv4Net?: string[]
  ipv6Net?: string[]
  ipv4Prefix?: string[]
  ipv6Prefix?: string[]
}

export interface SimInstance {
  /** FQDN or short name; absent → the cloud answers 404 (or empty where the real cloud does) */
  hostname?: string
  localHostname?: string
  /** absent/empty → no keys */
  sshKeys?: string[]
  /** raw bytes as the user gave them; the sim encodes base64 where the cloud does; absent → 404 */
  userData?: Uint8Array
  nics?: SimNic[]
  instanceId?: string
  /** the instance's vendor-data and network-config, where the cloud serves them (incus, digitalocean, openstack) */
  vendorData?: Uint8Array
  networkConfig?: Uint8Array
  /** gcp only: project-level keys */
  projectSshKeys?: string[]
  /** gcp only: the instance's `block-project-ssh-keys` attribute */
  blockProjectSshKeys?: boolean
  /** gcp only: keys in the instance's deprecated `sshKeys` attribute */
  legacySshKeys?: string[]
  /** gcp only: user-data served base64-encoded, with `user-data-encoding: base64` */
  userDataBase64?: boolean
  /** azure only: custom data (`--custom-data`), on the provisioning media's `ovf-env.xml`, not in IMDS */
  customData?: Uint8Array
  /** azure only: the VM's resource name (`compute/name`), which is not its computer name; default `SHORTNAME_0`, as a scale set's instance */
  resourceName?: string
  /** incus only: user-data under the older config key `user.user-data` instead of `cloud-init.user-data` */
  legacyUserDataKey?: boolean
  /** scaleway only: keys given as instance tags `AUTHORIZED_KEY=TYPE_BLOB` */
  tagKeys?: string[]
}

/** One request as a cloud handler sees it. */
export interface CloudRequest {
  readonly method: string
  /** the URL path, percent-decoded, runs of `/` collapsed to one */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly remotePort?: number
  /** the request's body (a POST's); empty for none */
  readonly body: Uint8Array
}

/** something the instance told the cloud, as the cloud understood it (azure's Health report: kind `health`, its fields) */
export interface SimReport {
  readonly kind: string
  readonly [field: string]: string
}

export interface CloudReply {
  readonly status: number
  readonly body?: string | Uint8Array
  readonly headers?: Readonly<Record<string, string>>
}

export interface CloudHandlerOptions {
  readonly instance: SimInstance
  /** the instance's id, or the cloud's default one */
  readonly instanceId: string
  readonly tokenTtlEnforced: boolean
  /** scaleway: user-data only for clients on a source port below 1024 (which needs root) */
  readonly privilegedPortEnforced: boolean
  /** milliseconds, injectable clock */
  readonly now: () => number
  /** records what the instance reported (`RunningSim.reports`) */
  readonly report: (report: SimReport) => void
}

export type CloudHandler = (request: CloudRequest) => CloudReply

/** What each simulator file (`src/sim/clouds/NAME.ts`) exports as `simulated`. */
export interface SimulatedCloud {
  readonly handler: (options: CloudHandlerOptions) => CloudHandler
  /** used when the instance names no id */
  readonly defaultInstanceId: string
  /** served on a unix socket at this instance path (under the instance's ROOT) rather than TCP */
  readonly socket?: string
  /** a seed served over HTTP under this path (NoCloud's `seedfrom`) */
  readonly seedPath?: string
  /** part of it answers only clients on a source port below 1024, which needs root (scaleway's user-data) */
  readonly privilegedPort?: boolean
  /** files the instance needs to find this cloud's service (a seed URL on the kernel command line) */
  readonly instanceFiles?: (service: { readonly seedUrl?: string }) => Readonly<Record<string, string>>
  /** a medium attached to the instance (azure's provisioning media): the files `mount DEVICE` presents */
  readonly media?: (instance: SimInstance) => { readonly device: string; readonly files: Readonly<Record<string, string>> } | undefined
  /**
   * settings the instance needs to reach this cloud's other services at the
   * simulator (azure's wireserver, served beside its metadata service), as
   * `IMDS_ENDPOINT` reaches the metadata service
   */
  readonly settings?: (service: { readonly endpoint: string }) => Readonly<Record<string, string>>
}

// ---------------------------------------------------------------------------
// replies

export const TEXT = "text/plain; charset=utf-8"
export const JSON_TYPE = "application/json; charset=utf-8"
export const OCTETS = "application/octet-stream"

export const reply = (status: number, body: string | Uint8Array = "", contentType: string = TEXT, headers?: Record<string, string>): CloudReply => ({
  status,
  body,
  headers: { "Content-Type": contentType, ...headers }
})

/** a request header's value (the first, where the client sent it twice) */
export const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)

export const notFound = (): CloudReply => reply(404, "Not Found\n")
export const methodNotAllowed = (): CloudReply => reply(405, "Method Not Allowed\n")

// ---------------------------------------------------------------------------
// data helpers

export const encoder = new TextEncoder()
export const decoder = new TextDecoder()

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/** the non-empty entries of an optional list */
export const present = (xs: ReadonlyArray<string> | undefined): string[] => (xs ?? []).filter((x) => x !== "")

/** newline-separated values, no trailing newline; undefined when there are none */
export const lines = (xs: ReadonlyArray<string> | undefined): string | undefined => {
  const p = present(xs)
  return p.length === 0 ? undefined : p.join("\n")
}

export const nicsOf = (instance: SimInstance): SimNic[] => instance.nics ?? []

/** prefix length of a CIDR, or undefined */
export const prefixLength = (cidr: string): number | undefined => {
  const m = /\/(\d+)$/.exec(cidr)
  return m ? Number(m[1]) : undefined
}

/** dotted IPv4 netmask of a prefix length */
export const netmaskOf = (bits: number): string => {
  const n = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".")
}

/** first usable address of an IPv4 CIDR (the conventional gateway) */
export const firstHostOf = (cidr: string): string | undefined => {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
  if (!m) return undefined
  const bits = Number(m[5])
  const addr = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0
  const mask = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0
  const gw = (((addr & mask) >>> 0) + (bits >= 31 ? 0 : 1)) >>> 0
  return [24, 16, 8, 0].map((s) => (gw >>> s) & 255).join(".")
}

/** the conventional gateway of an IPv6 prefix written with its trailing `::` (2001:db8:1::/64: 2001:db8:1::1) */
export const firstHostOf6 = (cidr: string): string => cidr.replace(/::?\/\d+$/, "::1")

// ---------------------------------------------------------------------------
// metadata trees: the shape most metadata services have

export type Leaf = string | number | boolean | Uint8Array
export type Tree = Leaf | TreeList | TreeDir
export interface TreeList extends ReadonlyArray<Tree> {}
export interface TreeDir {
  readonly [name: string]: Tree | undefined
}

export const isLeaf = (t: Tree): t is Leaf =>
  typeof t === "string" || typeof t === "number" || typeof t === "boolean" || t instanceof Uint8Array

/** the node at `segments`, or undefined */
export const lookup = (tree: Tree, segments: ReadonlyArray<string>): Tree | undefined => {
  let node: Tree | undefined = tree
  for (const seg of segments) {
    if (node === undefined || isLeaf(node)) return undefined
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(seg)) return undefined
      node = (node as TreeList)[Number(seg)]
    } else {
      const dir = node as TreeDir
      node = Object.prototype.hasOwnProperty.call(dir, seg) ? dir[seg] : undefined
    }
  }
  return node
}

/** child names of a directory (present entries only); list indices for a list */
export const childrenOf = (node: TreeList | TreeDir): Array<{ name: string; node: Tree }> => {
  if (Array.isArray(node)) return (node as TreeList).map((n, i) => ({ name: String(i), node: n }))
  return Object.entries(node as TreeDir)
    .filter((e): e is [string, Tree] => e[1] !== undefined)
    .map(([name, n]) => ({ name, node: n }))
}

export const leafBytes = (leaf: Leaf): string | Uint8Array => (leaf instanceof Uint8Array ? leaf : String(leaf))

/** plain JSON value of a tree (bytes decoded as UTF-8, absent entries dropped) */
export const toJson = (tree: Tree): unknown => {
  if (tree instanceof Uint8Array) return decoder.decode(tree)
  if (isLeaf(tree)) return tree
  if (Array.isArray(tree)) return (tree as TreeList).map(toJson)
  const out: Record<string, unknown> = {}
  for (const { name, node } of childrenOf(tree as TreeDir)) out[name] = toJson(node)
  return out
}

/** path segments of a path below `root` (root given without trailing slash), or undefined when outside */
export const below = (path: string, root: string): string[] | undefined => {
  if (path === root || path === `${root}/`) return []
  if (!path.startsWith(`${root}/`)) return undefined
  return path.slice(root.length + 1).split("/").filter((s) => s !== "")
}

// ---------------------------------------------------------------------------
// YAML scalars (for nocloud meta-data and incus meta-data)

const YAML_RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i

/** a YAML scalar: plain when unambiguous, else a double-quoted (JSON) string */
export const yamlScalar = (value: string): string =>
  /^[A-Za-z_][A-Za-z0-9._\/-]*$/.test(value) && !YAML_RESERVED.test(value) ? value : JSON.stringify(value)
