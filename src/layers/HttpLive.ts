import { kMaxLength } from "node:buffer"
import { statSync } from "node:fs"
import type { IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { HttpAnswerTooLarge, HttpTransportError } from "../domain/errors.js"
import { printable } from "../domain/text.js"
import { Http, type HttpRequest, type HttpResponse, type HttpShape } from "../services/Http.js"
import { http, https, zlib } from "./builtins.js"

/** what Node's HTTP parser refused in an answer, in words an operator reads: not llhttp's (`Expected HTTP/, RTSP/ or ICE/`) */
const refusedAnswer = (e: NodeJS.ErrnoException & { reason?: unknown }): string =>
  e.code === "HPE_INVALID_CONSTANT"
    ? "not an HTTP answer"
    : e.code === "HPE_HEADER_OVERFLOW"
      ? "the answer's header is too large"
      : `not a valid HTTP answer: ${typeof e.reason === "string" ? e.reason : e.message}`

/** OpenSSL's reason in the library's own line, which Node reports as a TLS error's message (`write EPROTO 80EC...:error:0A00010B:SSL routines:FUNCTION:wrong version number:FILE:LINE:` and a newline) */
const OPENSSL_REASON = /:error:[0-9A-Fa-f]+:[^:\n]*:[^:\n]*:([^:\n]+)/

/** this host has no route to the address's network, or no address of its family to send from (IPv6 disabled) */
const isNoNetwork = (e: NodeJS.ErrnoException) => e.code === "ENETUNREACH" || (e.code === "EADDRNOTAVAIL" && e.syscall === "connect")

/** `NAME: ` of a resolver's failure, the name it was asked for (getaddrinfo's errors carry it) */
const resolved = (e: NodeJS.ErrnoException): string => {
  const name = (e as { hostname?: unknown }).hostname
  return typeof name === "string" && name !== "" ? `${printable(name)}: ` : ""
}

const describe = (e: NodeJS.ErrnoException): string => {
  if (e.code?.startsWith("HPE_") === true) return refusedAnswer(e)
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused"
    // node's too for a connection its server closed before the answer's end (no system call failed): an answer cut short of its Content-Length or last chunk, or none at all
    case "ECONNRESET":
      return e.syscall === undefined ? "connection closed before the answer's end" : "connection reset"
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to host"
    // no address of the family to send from (IPv6 disabled): no route either
    case "EADDRNOTAVAIL":
      return e.syscall === "connect" ? "no route to host" : e.message
    case "ENOENT":
      return "no such socket"
    // a host name (IMDS_ENDPOINT, AZURE_WIRESERVER, a NoCloud seed's) the resolver does not know, or cannot ask yet (no DNS server
    // reached on a first boot): its own words (gai_strerror's), not node's `getaddrinfo ENOTFOUND NAME`; the URL names the host
    // (the name first, as ping and getent say it: a write_files source's line names no URL)
    case "ENOTFOUND":
      return `${resolved(e)}name or service not known`
    case "EAI_AGAIN":
      return `${resolved(e)}temporary failure in name resolution`
    // a link-local IPv6 address through no interface that is there (IMDS_ENDPOINT's `[fe80::...%IFACE]` naming none, or none given)
    case "EINVAL":
      return e.syscall === "connect" ? "the address is refused: a link-local one needs the name of an interface that is there" : e.message
    // a connection a route (`prohibit`) or a firewall of this instance's refuses
    case "EACCES":
      return "permission denied"
    case "EPERM":
      return "operation not permitted"
    // a TLS record that is none (a server answering in plain HTTP), a handshake refused
    case "EPROTO": {
      const reason = OPENSSL_REASON.exec(e.message)?.[1]
      return reason === undefined ? e.message : `TLS failed: ${reason}`
    }
    default:
      return e.message
  }
}

/** an answer's pieces under SMALL_PIECE bytes are gathered into blocks of BLOCK bytes */
const SMALL_PIECE = 16 * 1024
const BLOCK = 64 * 1024

/**
 * A `Location` as its writer meant it: Node hands a header's bytes over one
 * character each (latin1), but a non-ASCII Location is written in UTF-8 (a
 * path `/né/`), which requests re-decodes so and busybox wget sends on as its
 * bytes; one that is no UTF-8 stays as Node gave it.
 */
const utf8 = new TextDecoder("utf-8", { fatal: true })
const locationOf = (header: string | undefined): string | undefined => {
  if (header === undefined || !/[\x80-\xff]/.test(header)) return header
  try {
    return utf8.decode(Buffer.from(header, "latin1"))
  } catch {
    return header
  }
}

type AttemptError = (HttpTransportError & { code?: string; syscall?: string }) | HttpAnswerTooLarge

/** an answer as it came: a 2xx answer's body still in the content codings its `Content-Encoding` names, in the order they were applied */
type Coded = HttpResponse & { readonly codings?: ReadonlyArray<string> }

/** the codings a Content-Encoding names; `identity` is none */
const codingsOf = (header: string | undefined): ReadonlyArray<string> =>
  (header ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity")

type Zlib = typeof import("node:zlib")
type Decoder = (data: Uint8Array, options: { readonly maxOutputLength: number }, done: (error: Error | null, result: Buffer) => void) => void

/**
 * The most gzip members looked for before bytes that are none: a seed is a
 * file gzipped, or a few joined (`cat a.gz b.gz`). Each is decoded on its own,
 * in this process's one thread, so their number bounds how long it stops.
 */
const MAX_GZIP_MEMBERS = 64

/**
 * Where the complete gzip members at the start of `data` end (RFC 1952's
 * header, its deflate data, the 8 bytes of CRC and size): 0 where the first
 * is not one, or more than MAX_GZIP_MEMBERS come before the bytes that are
 * none. What they decode to is bounded by `maxOutputLength` all together, as
 * zlib's decoding of the answer is: a thousand members each decoding to just
 * under it (a member whose CRC zlib refused first) would be the limit a
 * thousand times over. zlib checks each member's CRC when they are decoded.
 */
const gzipMembersEnd = (z: Zlib, data: Uint8Array, maxOutputLength: number): number => {
  let end = 0
  let left = maxOutputLength
  for (let members = 0; ; members++) {
    const at = end
    if (data[at] !== 0x1f || data[at + 1] !== 0x8b || data[at + 2] !== 8) return end
    if (members === MAX_GZIP_MEMBERS) return 0
    const flags = data[at + 3]!
    let p = at + 10
    if (flags & 4) p += 2 + (data[p]! | (data[p + 1]! << 8)) // FEXTRA
    for (const field of [8, 16]) if (flags & field) p = data.indexOf(0, p) + 1 || data.length + 1 // FNAME, FCOMMENT
    if (flags & 2) p += 2 // FHCRC
    if (p >= data.length) return end
    try {
      const { buffer, engine } = z.inflateRawSync(data.subarray(p), { info: true, maxOutputLength: Math.max(1, left) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
      left -= buffer.length
      if (left < 0 || p + engine.bytesWritten + 8 > data.length) return end
      end = p + engine.bytesWritten + 8
    } catch {
      return end
    }
  }
}

/**
 * A decoder that reads what requests (urllib3) reads: gzip members followed
 * by bytes that are no member (a newline an upload added) are the members;
 * `deflate` is a zlib stream or, as some servers send it, raw deflate.
 */
const lenient =
  (first: Decoder, fallback: (data: Uint8Array, max: number) => readonly [Decoder, Uint8Array] | undefined): Decoder =>
  (data, options, done) =>
    first(data, options, (error, result) => {
      const other = error !== null && (error as NodeJS.ErrnoException).code !== "ERR_BUFFER_TOO_LARGE" ? fallback(data, options.maxOutputLength) : undefined
      return other === undefined ? done(error, result) : other[0](other[1], options, done)
    })

/** gzip members, and what follows them when it is no member: the members */
const gzip = (z: Zlib): Decoder =>
  lenient(z.unzip, (data, max) => {
    const end = gzipMembersEnd(z, data, max)
    return end > 0 && end < data.length ? [z.unzip, data.subarray(0, end)] : undefined
  })
/** zlib's one-shot decoder of each content coding read: `unzip` takes a gzip or a zlib stream, as HTTP's `deflate` is */
const DECODERS: Readonly<Record<string, (z: Zlib) => Decoder>> = {
  gzip,
  "x-gzip": gzip,
  deflate: (z) => lenient(z.unzip, (data) => [z.inflateRaw, data]),
  br: (z) => z.brotliDecompress
}

/**
 * A body in a content coding, which none asked for, decoded: a seed stored
 * gzipped with its Content-Encoding (S3, nginx's `gzip_static always`) comes
 * so whatever the request says, and cloud-init's requests decodes it. What
 * it decodes to is bounded by `maxBytes` as what came was (a gzip bomb stops
 * there); another coding, or two, fail in one line naming them.
 */
const decoded = (req: HttpRequest, { codings = [], ...response }: Coded): Effect.Effect<HttpResponse, AttemptError> => {
  // an empty body is empty in any coding, as urllib3 reads it (a 200 or 204 with the header and nothing else)
  if (codings.length === 0 || response.body.length === 0) return Effect.succeed(response)
  const decoder = codings.length === 1 && Object.hasOwn(DECODERS, codings[0]!) ? DECODERS[codings[0]!]! : undefined
  if (decoder === undefined) return Effect.fail(new HttpTransportError({ reason: `answered in Content-Encoding '${printable(codings.join(", "))}', which is not read here`, final: true }))
  return Effect.flatMap(zlib, (z) =>
    Effect.async<HttpResponse, AttemptError>((resume) =>
      // zlib refuses a limit past the largest buffer with an exception: no output can pass that one anyway
      decoder(z)(response.body, { maxOutputLength: Math.min(req.maxBytes, kMaxLength) }, (error, body) =>
        resume(
          error === null
            ? Effect.succeed({ ...response, body: new Uint8Array(body.buffer, body.byteOffset, body.length) })
            : (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
              ? Effect.fail(new HttpAnswerTooLarge({ limit: req.maxBytes }))
              : Effect.fail(new HttpTransportError({ reason: `the answer's ${codings[0]} coding is corrupt` }))
        )
      )
    )
  )
}

/**
 * one request; a 2xx answer's body is collected up to `maxBytes`, the connection dropped past it, with the codings it came in; another answer's is not read; redirects are answers like any other.
 * `timeoutMs` bounds the whole exchange, not only a silence: an answer trickled a byte at a time is cut off at it too.
 */
const attempt = (req: HttpRequest, localPort?: number) =>
  Effect.flatMap(req.protocol === "https" ? Effect.map(https, (m) => m.request) : Effect.map(http, (m) => m.request), (request) =>
    Effect.async<Coded, AttemptError>((resume) => {
      let settled = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const settle = (outcome: Effect.Effect<Coded, AttemptError>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(outcome)
      }
      /** the answer, once its head has come */
      let answer: IncomingMessage | undefined
      const tooLarge = () => {
        settle(Effect.fail(new HttpAnswerTooLarge({ limit: req.maxBytes })))
        r.destroy()
      }
      const r = request(
        {
          method: req.method,
          path: req.path,
          headers: { ...req.headers, ...(req.body !== undefined ? { "Content-Length": String(Buffer.byteLength(req.body)) } : {}) },
          timeout: req.timeoutMs,
          agent: false,
          ...(req.socketPath ? { socketPath: req.socketPath } : { host: req.host, port: req.port }),
          ...(localPort !== undefined ? { localPort } : {})
        },
        (res) => {
          answer = res
          const status = res.statusCode ?? 0
          // only a 2xx answer's body is ever used: another's is not read, so an error page of any size is its status (a 404 still 'not there', a 503 still worth another try)
          if (status < 200 || status >= 300) {
            const location = status >= 300 && status < 400 ? locationOf(res.headers.location) : undefined
            settle(Effect.succeed({ status, body: new Uint8Array(), ...(location !== undefined ? { location } : {}) }))
            r.destroy()
            return
          }
          const chunks: Array<Buffer> = []
          let size = 0
          // small pieces are copied into blocks: each piece kept as a Buffer of its own costs hundreds of bytes, and an answer sent a byte per chunk is a million pieces a MiB
          let block = Buffer.alloc(0)
          let used = 0
          const flush = () => {
            // a block cut short by a large piece is kept as a copy of its bytes: a byte before each 16 KiB piece must not hold 64 KiB
            if (used > 0) chunks.push(used < BLOCK / 2 ? Buffer.from(block.subarray(0, used)) : block.subarray(0, used))
            block = Buffer.alloc(0)
            used = 0
          }
          if (Number(res.headers["content-length"]) > req.maxBytes) return tooLarge()
          // node takes off a last `chunked` alone: any other transfer coding (gzip, chunked not last) would leave its bytes, or the chunks' framing, as the datum
          const transfer = codingsOf(res.headers["transfer-encoding"])
          if (transfer.length > 1 || (transfer.length === 1 && transfer[0] !== "chunked")) {
            settle(Effect.fail(new HttpTransportError({ reason: `answered in Transfer-Encoding '${printable(transfer.join(", "))}', which is not read here`, final: true })))
            r.destroy()
            return
          }
          res.on("data", (c: Buffer) => {
            size += c.length
            if (size > req.maxBytes) return tooLarge()
            if (c.length >= SMALL_PIECE) {
              flush()
              chunks.push(c)
              return
            }
            if (used + c.length > block.length) {
              flush()
              block = Buffer.alloc(BLOCK)
            }
            used += c.copy(block, used)
          })
          res.on("end", () => {
            flush()
            settle(Effect.succeed({ status, body: Buffer.concat(chunks, size), codings: codingsOf(res.headers["content-encoding"]) }))
          })
          res.on("error", (e) => settle(Effect.fail(new HttpTransportError({ reason: describe(e) }))))
        }
      )
      // an answer switching protocols (101, never asked for): node hands it to an 'upgrade' listener or silently drops the connection, which left the request waiting for its timeout; it is an answer of its status, with no body, as any other that is not 2xx
      r.on("upgrade", (res: IncomingMessage, socket: Duplex) => {
        socket.destroy()
        settle(Effect.succeed({ status: res.statusCode ?? 101, body: new Uint8Array() }))
      })
      /** whether a connection was made: a timeout before it is nothing at the address answering, not an answer that did not come */
      let connected = false
      r.on("socket", (socket: Socket) => (socket.connecting ? socket.once("connect", () => (connected = true)) : (connected = true)))
      const timeout = () => ({ reason: "timed out", timedOut: true, ...(connected ? {} : { unconnected: true }) })
      const timedOut = () => r.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" }))
      // decided a turn later, once the socket's data that came meanwhile has been read: a process stopped or starved of the
      // CPU past the timeout finds its timers due before that data (Node runs them before it polls), an answer in time
      const late: Array<ReturnType<typeof setImmediate>> = []
      const afterPoll = (f: () => void) => () => void late.push(setImmediate(f))
      r.on("timeout", afterPoll(timedOut))
      timer = setTimeout(
        afterPoll(() => {
          if (settled) return
          settle(Effect.fail(Object.assign(new HttpTransportError(timeout()), { code: "ETIMEDOUT" })))
          timedOut()
        }),
        req.timeoutMs
      )
      // bytes after a complete answer (its Content-Length or last chunk came) are no part of it: the answer stands, whether or not they came in the same packet
      r.on("error", (e: NodeJS.ErrnoException) =>
        answer?.complete === true ? undefined : settle(Effect.fail(Object.assign(new HttpTransportError(e.code === "ETIMEDOUT" ? timeout() : { reason: describe(e), ...(isNoNetwork(e) ? { noNetwork: true } : {}) }), { code: e.code, syscall: e.syscall })))
      )
      r.end(req.body)
      return Effect.sync(() => {
        clearTimeout(timer)
        late.forEach(clearImmediate)
        r.destroy()
      })
    })
  )

/**
 * A source port below 1024, as scaleway wants for user-data; busy ports are skipped: one a socket listens on (the bind's
 * EADDRINUSE), and one already connected from to the same address and port (the connect's EADDRNOTAVAIL: libuv binds
 * with SO_REUSEADDR, so the bind succeeds and the kernel refuses the connection's four numbers, taken), which is no
 * missing route; a host with no address to send from refuses every port so, and the last one's failure stands.
 */
const privileged = (req: HttpRequest) => {
  const start = 512 + Math.floor(Math.random() * 400)
  const busy = (e: AttemptError) => e._tag === "HttpTransportError" && (e.code === "EADDRINUSE" || (e.code === "EADDRNOTAVAIL" && e.syscall === "connect"))
  const tryFrom = (port: number, left: number): Effect.Effect<Coded, AttemptError> =>
    attempt(req, port).pipe(Effect.catchAll((e) => (busy(e) && left > 0 ? tryFrom(port >= 1023 ? 512 : port + 1, left - 1) : Effect.fail(e))))
  return tryFrom(start, 50)
}

/**
 * What only root may do, done by another user: binding a source port below
 * 1024, opening a socket of root's (incus's guest API). Final, as asking
 * again cannot change it; one line says why. A connection refused so over
 * TCP is not that (a `prohibit` route, a firewall, for root too): it is
 * asked again, as a route that comes up later is.
 */
const onlyRoot = (req: HttpRequest, e: { readonly syscall?: string }): string | undefined =>
  req.privilegedSourcePort && e.syscall === "bind" ? "it is served only to a source port below 1024, which only root may use"
  : req.socketPath ? "permission denied on its socket, which only root may use"
  : undefined

/**
 * A socket path where something other than a socket is (a regular file, a
 * directory, a FIFO): the kernel refuses the connection as it would a socket
 * no one listens on, but asking again cannot change it; one line says so.
 */
const notASocket = (req: HttpRequest): boolean => {
  if (req.socketPath === undefined) return false
  try {
    return !statSync(req.socketPath).isSocket()
  } catch {
    return false
  }
}

export const liveHttp: HttpShape = {
  request: (req) =>
    (req.privilegedSourcePort ? privileged(req) : attempt(req)).pipe(
      Effect.flatMap((answer) => decoded(req, answer)),
      Effect.catchAll((e): Effect.Effect<never, HttpTransportError | HttpAnswerTooLarge> => {
        const why = e._tag === "HttpTransportError" ? onlyRoot(req, e) : undefined
        if (why !== undefined && e._tag === "HttpTransportError" && (e.code === "EACCES" || e.code === "EPERM")) {
          return Effect.fail(new HttpTransportError({ reason: why, final: true }))
        }
        return e._tag === "HttpTransportError" && e.code === "ECONNREFUSED" && notASocket(req)
          ? Effect.fail(new HttpTransportError({ reason: "not a socket", final: true }))
          : Effect.fail(e)
      })
    )
}

export const HttpLive = Layer.succeed(Http, liveHttp)
