/**
 * AWS EC2 instance metadata service, IMDSv2 required.
 *
 * `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`
 * (1..21600) gives a token; every `GET /latest/...` needs it in
 * `X-aws-ec2-metadata-token` (else 401).
 */
import { randomBytes } from "node:crypto"
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type CloudReply,
  type Tree,
  type TreeDir,
  below,
  childrenOf,
  headerValue,
  isLeaf,
  leafBytes,
  lines,
  lookup,
  methodNotAllowed,
  nicsOf,
  notFound,
  OCTETS,
  present,
  reply
} from "../instance.js"

const AWS_TOKEN_HEADER = "x-aws-ec2-metadata-token"
const AWS_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
const MAX_TTL = 21600

/** where the simulated instance runs, named as EC2 names its places (EC2 serves these on every instance) */
const AWS_REGION = "us-east-1"
const AWS_AVAILABILITY_ZONE = "us-east-1a"
const AWS_AVAILABILITY_ZONE_ID = "use1-az1"
const AWS_INSTANCE_TYPE = "t3.micro"

const unauthorized = (): CloudReply =>
  reply(
    401,
    '<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head><title>401 - Unauthorized</title></head><body><h1>401 - Unauthorized</h1></body></html>\n',
    "text/html"
  )

const badRequest = (): CloudReply =>
  reply(
    400,
    '<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head><title>400 - Bad Request</title></head><body><h1>400 - Bad Request</h1></body></html>\n',
    "text/html"
  )

const awsTree = (options: CloudHandlerOptions): TreeDir => {
  const instance = options.instance
  const keys = present(instance.sshKeys)
  const nics = nicsOf(instance)
  const macs: Record<string, Tree> = {}
  nics.forEach((nic, i) => {
    macs[nic.mac] = {
      "device-number": String(i),
      mac: nic.mac,
      "local-ipv4s": lines(nic.ipv4),
      ipv6s: lines(nic.ipv6),
      "subnet-ipv4-cidr-block": lines(nic.ipv4Net),
      "subnet-ipv6-cidr-blocks": lines(nic.ipv6Net),
      "ipv4-prefix": lines(nic.ipv4Prefix),
      "ipv6-prefix": lines(nic.ipv6Prefix)
    }
  })
  const publicKeys: Record<string, Tree> = {}
  keys.forEach((key, i) => {
    publicKeys[String(i)] = { "openssh-key": key }
  })
  return {
    "meta-data": {
      hostname: instance.hostname,
      "instance-id": options.instanceId,
      "instance-type": AWS_INSTANCE_TYPE,
      "local-hostname": instance.localHostname,
      // the primary private address: the first of the first interface's (device-number 0)
      "local-ipv4": present(nics[0]?.ipv4)[0],
      network: nics.length === 0 ? undefined : { interfaces: { macs } },
      placement: { "availability-zone": AWS_AVAILABILITY_ZONE, "availability-zone-id": AWS_AVAILABILITY_ZONE_ID, region: AWS_REGION },
      "public-keys": keys.length === 0 ? undefined : publicKeys
    },
    "user-data": instance.userData
  }
}

/** EC2's directory listing: one name a line, sub-directories with `/`, no trailing newline */
const listing = (segments: ReadonlyArray<string>, node: Tree): string => {
  const children = childrenOf(node as TreeDir)
  if (segments.length === 2 && segments[0] === "meta-data" && segments[1] === "public-keys") {
    return children.map((c) => `${c.name}=key-${c.name}`).join("\n")
  }
  return children.map((c) => (isLeaf(c.node) ? c.name : `${c.name}/`)).join("\n")
}

const handler = (options: CloudHandlerOptions): CloudHandler => {
  /** token → expiry (ms) */
  const tokens = new Map<string, number>()
  const tree = awsTree(options)

  return (request) => {
    if (request.path === "/latest/api/token") {
      if (request.method !== "PUT") return methodNotAllowed()
      if (request.headers["x-forwarded-for"] !== undefined) return reply(403, "Forbidden\n")
      const raw = headerValue(request.headers[AWS_TTL_HEADER])
      if (raw === undefined || !/^\d+$/.test(raw.trim())) return badRequest()
      const ttl = Number(raw.trim())
      if (ttl < 1 || ttl > MAX_TTL) return badRequest()
      const token = randomBytes(42).toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
      tokens.set(token, options.now() + ttl * 1000)
      return reply(200, token, "text/plain", { "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": String(ttl) })
    }

    const segments = below(request.path, "/latest")
    if (segments === undefined) return notFound()
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()

    const token = headerValue(request.headers[AWS_TOKEN_HEADER])
    const expires = token === undefined ? undefined : tokens.get(token)
    if (expires === undefined) return unauthorized()
    if (options.tokenTtlEnforced && options.now() >= expires) {
      tokens.delete(token!)
      return unauthorized()
    }

    if (segments.length === 0) return reply(200, "dynamic\nmeta-data\nuser-data")
    const node = lookup(tree, segments)
    if (node === undefined) return notFound()
    if (isLeaf(node)) return reply(200, leafBytes(node), node instanceof Uint8Array ? OCTETS : "text/plain")
    return reply(200, listing(segments, node), "text/plain")
  }
}

export const simulated: SimulatedCloud = { handler, defaultInstanceId: "i-0123456789abcdef0" }
