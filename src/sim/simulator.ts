/**
 * A real HTTP metadata server for every cloud Tiny Cloud knows, with faults
 * (failing, resetting, slow or silent answers). Used by the tests against
 * 127.0.0.1 and by `tiny-cloud simulate`.
 *
 * Node built-ins only, plain async TypeScript.
 */
import { mkdirSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { dirname } from "node:path"
import { gzipSync } from "node:zlib"
import { CLOUD_NAMES } from "../clouds/registry.js"
import { messageOf } from "../domain/text.js"
import type { CloudReply, SimCloud, SimInstance, SimReport, SimulatedCloud } from "./instance.js"

export type { CloudHandler, CloudReply, CloudRequest, SimCloud, SimInstance, SimNic, SimReport } from "./instance.js"

/** every cloud the program knows is simulated, by a file of the same name in `./clouds/` */
export const SIM_CLOUDS: ReadonlyArray<SimCloud> = CLOUD_NAMES

/** the simulator file of a cloud */
export const simulatedCloud = async (cloud: SimCloud): Promise<SimulatedCloud> => {
  if (!SIM_CLOUDS.includes(cloud)) throw new Error(`no simulated cloud '${cloud}'`)
  const module = (await import(`./clouds/${cloud}.ts`)) as { readonly simulated: SimulatedCloud }
  return module.simulated
}

/**
 * why a cloud served on a unix socket under `root` cannot be served there, or undefined: a unix socket's path holds
 * at most 107 bytes (sun_path), a longer one is cut short, the socket bound at another name (or refused as in use,
 * where the cut lands on ROOT's own dev directory)
 */
export const socketPathProblem = (cloud: SimCloud, simulated: Pick<SimulatedCloud, "socket">, root: string): string | undefined => {
  if (simulated.socket === undefined) return undefined
  const path = `${root}${simulated.socket}`
  const bytes = Buffer.byteLength(path)
  return bytes > 107 ? `ROOT ${root} is too long: ${cloud}'s socket ${path} is ${bytes} bytes, a unix socket's path at most 107` : undefined
}

export interface SimFaults {
  /** the first N requests get `failStatus` */
  failFirst?: number
  /** default 503 */
  failStatus?: number
  /** for this long from the first request on, requests are answered by resetting the connection */
  downForMs?: number
  /** every answer is delayed this long */
  latencyMs?: number
  /** accept connections and requests but never answer */
  neverAnswer?: boolean
  /** hostile answers for some paths (the path as requested, without its query) */
  overrides?: ReadonlyArray<SimOverride>
  /** every answer is this many bytes of filler, streamed (a flood) */
  flood?: number
  /** every 2xx answer comes gzipped with its `Content-Encoding`, whatever the request asked (a seed stored so on S3) */
  gzip?: boolean
}

export interface SimOverride {
  readonly method?: string
  readonly path: string
  readonly status?: number
  readonly body?: string
  /** an answer of this many bytes, streamed in chunks and never held whole (a flood) */
  readonly fill?: number
}

export interface SimOptions {
  cloud: SimCloud
  instance: SimInstance
  faults?: SimFaults
  /** default 127.0.0.1 */
  host?: string
  /** default 0: any free port */
  port?: number
  /** the instance's ROOT: a cloud served on a unix socket (incus) listens there, under ROOT */
  root?: string
  /** aws: tokens expire after their TTL */
  tokenTtlEnforced?: boolean
  /** scaleway: user-data only for a source port below 1024, as the real service does; default true */
  privilegedPortEnforced?: boolean
}

export interface SimRequest {
  method: string
  /** the request target as sent, query included */
  path: string
  headers: Record<string, string | string[] | undefined>
  remotePort?: number
  /** the status answered; 0 while unanswered, and for a reset or a request never answered */
  status: number
  /** answered by resetting the connection */
  reset?: boolean
}

export interface RunningSim {
  /** `HOST:PORT` (`[V6]:PORT`); empty for a unix socket */
  endpoint: string
  socketPath?: string
  /** nocloud: `http://HOST:PORT/seed/` */
  seedUrl?: string
  /** files the instance needs to find the service (instance path → content) */
  instanceFiles: Readonly<Record<string, string>>
  /** a medium attached to the instance (azure's provisioning media): its device and the files `mount` presents */
  media?: { readonly device: string; readonly files: Readonly<Record<string, string>> }
  /** settings the instance needs to reach the cloud's other services here (azure: `AZURE_WIRESERVER`) */
  settings: Readonly<Record<string, string>>
  requests: SimRequest[]
  /** what the instance reported to the cloud (azure's Ready) */
  reports: SimReport[]
  close(): Promise<void>
}


/** the largest request body the simulator reads */
const MAX_BODY = 64 * 1024

const STATUS_TEXT: Record<number, string> = {
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  429: "Too Many Requests"
}

/** the path, percent-decoded where valid, with runs of `/` collapsed */
const normalisePath = (pathname: string): string => {
  let decoded = pathname
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    // keep it as sent
  }
  return decoded.replace(/\/{2,}/g, "/")
}

const resetSocket = (socket: Socket): void => {
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

export async function startSimulator(options: SimOptions): Promise<RunningSim> {
  const faults = options.faults ?? {}
  const failStatus = faults.failStatus ?? 503
  const host = options.host ?? "127.0.0.1"
  /** when the first request came (the fault window of `downForMs` opens then) */
  let firstRequestAt: number | undefined
  const simulated = await simulatedCloud(options.cloud)
  const reports: SimReport[] = []
  const handle = simulated.handler({
    instance: options.instance,
    instanceId: options.instance.instanceId ?? simulated.defaultInstanceId,
    tokenTtlEnforced: options.tokenTtlEnforced ?? false,
    privilegedPortEnforced: options.privilegedPortEnforced ?? true,
    now: () => Date.now(),
    report: (r) => void reports.push(r)
  })
  const requests: SimRequest[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let failed = 0
  let closed = false

  const send = (res: ServerResponse, record: SimRequest, answer: CloudReply) => {
    record.status = answer.status
    const plain = answer.body === undefined ? Buffer.alloc(0) : typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : Buffer.from(answer.body)
    const gzipped = faults.gzip === true && answer.status >= 200 && answer.status < 300
    const body = gzipped ? gzipSync(plain) : plain
    const write = () => {
      if (res.destroyed || res.writableEnded) return
      res.writeHead(answer.status, { ...answer.headers, ...(gzipped ? { "Content-Encoding": "gzip" } : {}), "Content-Length": String(body.length), Server: "tiny-cloud-sim" })
      res.end(body)
    }
    const latency = faults.latencyMs ?? 0
    if (latency > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        write()
      }, latency)
      timers.add(timer)
    } else {
      write()
    }
  }

  /** `bytes` bytes of filler, written as the client reads them */
  const flood = (res: ServerResponse, status: number, bytes: number) => {
    res.writeHead(status, { "Content-Type": "text/plain", Server: "tiny-cloud-sim" })
    const chunk = Buffer.alloc(64 * 1024, "x")
    let left = bytes
    const more = () => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, chunk.length)
        left -= n
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", more)
      }
      if (!res.destroyed) res.end()
    }
    more()
  }

  /** the request's body, up to a cap (a Health document is small); then the request is answered */
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY) chunks.push(chunk)
    })
    req.on("end", () => answer(req, res, size > MAX_BODY ? undefined : new Uint8Array(Buffer.concat(chunks))))
  }

  const answer = (req: IncomingMessage, res: ServerResponse, body: Uint8Array | undefined) => {
    const record: SimRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: { ...req.headers },
      ...(req.socket.remotePort !== undefined ? { remotePort: req.socket.remotePort } : {}),
      status: 0
    }
    requests.push(record)

    firstRequestAt ??= Date.now()
    if (faults.downForMs !== undefined && Date.now() - firstRequestAt < faults.downForMs) {
      record.reset = true
      resetSocket(req.socket)
      return
    }
    if (faults.neverAnswer) return
    if (faults.flood !== undefined) {
      record.status = 200
      return flood(res, 200, faults.flood)
    }
    const override = faults.overrides?.find((o) => (o.method ?? record.method) === record.method && o.path === (req.url ?? "/").split("?")[0])
    if (override !== undefined) {
      record.status = override.status ?? 200
      if (override.fill === undefined) return send(res, record, { status: record.status, body: override.body ?? "" })
      return flood(res, record.status, override.fill)
    }
    if (faults.failFirst !== undefined && failed < faults.failFirst) {
      failed += 1
      send(res, record, { status: failStatus, body: `${STATUS_TEXT[failStatus] ?? "Error"}\n`, headers: { "Content-Type": "text/plain" } })
      return
    }

    if (body === undefined) {
      send(res, record, { status: 413, body: "Request Entity Too Large\n", headers: { "Content-Type": "text/plain" } })
      return
    }
    let reply: CloudReply
    try {
      const url = new URL(req.url ?? "/", "http://sim.invalid")
      reply = handle({
        method: record.method,
        path: normalisePath(url.pathname),
        query: url.searchParams,
        headers: req.headers,
        ...(record.remotePort !== undefined ? { remotePort: record.remotePort } : {}),
        body
      })
    } catch (e) {
      reply = { status: 500, body: `simulator error: ${messageOf(e)}\n`, headers: { "Content-Type": "text/plain" } }
    }
    send(res, record, reply)
  }

  const server = createServer({ keepAliveTimeout: 1000 }, onRequest)
  server.on("connection", (socket: Socket) => {
    if (closed) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  server.on("clientError", (_err, socket) => {
    if (!socket.destroyed) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
  })

  if (simulated.socket !== undefined && options.root === undefined) throw new Error(`${options.cloud} is served on a unix socket under ROOT: name the root`)
  const socketPath = simulated.socket === undefined ? undefined : `${options.root}${simulated.socket}`
  const tooLong = options.root === undefined ? undefined : socketPathProblem(options.cloud, simulated, options.root)
  if (tooLong !== undefined) throw new Error(tooLong)
  if (socketPath !== undefined) {
    mkdirSync(dirname(socketPath), { recursive: true })
    rmSync(socketPath, { force: true })
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    const done = () => {
      server.off("error", reject)
      resolve()
    }
    if (socketPath !== undefined) server.listen(socketPath, done)
    else server.listen(options.port ?? 0, host, done)
  })

  let endpoint = ""
  let seedUrl: string | undefined
  if (socketPath === undefined) {
    const address = server.address() as AddressInfo
    const h = address.address.includes(":") ? `[${address.address}]` : address.address
    endpoint = `${h}:${address.port}`
    if (simulated.seedPath !== undefined) seedUrl = `http://${endpoint}${simulated.seedPath}`
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    if (closing !== undefined) return closing
    closed = true
    for (const t of timers) clearTimeout(t)
    timers.clear()
    closing = new Promise<void>((resolve) => {
      server.close(() => {
        if (socketPath !== undefined) rmSync(socketPath, { force: true })
        resolve()
      })
      for (const s of sockets) s.destroy()
      sockets.clear()
      server.closeAllConnections()
    })
    return closing
  }

  const media = simulated.media?.(options.instance)
  return {
    endpoint,
    ...(socketPath !== undefined ? { socketPath } : {}),
    instanceFiles: simulated.instanceFiles?.(seedUrl === undefined ? {} : { seedUrl }) ?? {},
    settings: endpoint === "" ? {} : (simulated.settings?.({ endpoint }) ?? {}),
    ...(media !== undefined ? { media } : {}),
    ...(seedUrl !== undefined ? { seedUrl } : {}),
    requests,
    reports,
    close
  }
}
