/** The memory a phase needs against a flood: the answer is cut at its limit, never held whole. */
import { spawn } from "node:child_process"
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer, type AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { makeInstance, PROGRAM, type TestInstance } from "../support/harness.js"

const MiB = 1024 * 1024
const open: Array<TestInstance> = []
afterAll(() => Promise.all(open.map((i) => i.close())))

/**
 * the program as its own process (a phase, or `imds KEY`); its peak RSS in MB and its exit code; `piped`: its stdout a
 * pipe this process empties (OpenRC's logger, as a phase's console may be), not /dev/null, which takes every write at once
 */
const peakRss = (instance: TestInstance, ...args: Array<string>) => peakRssOf(instance, false, args)

const peakRssOf = (instance: TestInstance, piped: boolean, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ readonly mb: number; readonly code: number | null; readonly stdout: number }>((done) => {
    const report = join(instance.dir, "rss")
    const child = spawn(process.execPath, ["--require", new URL("./rss.cjs", import.meta.url).pathname, PROGRAM, ...args], {
      env: { ...instance.env, ...env, RSS_REPORT: report },
      stdio: ["ignore", piped ? "pipe" : "ignore", "ignore"]
    })
    let stdout = 0
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.length))
    child.on("close", (code) => done({ mb: Math.round(Number(readFileSync(report, "utf8")) / 1024), code, stdout }))
  })

it("fault: a final phase whose runcmd prints 256 MiB, echoed to a pipe, stays under 150 MB of memory; all of it is echoed and logged", async () => {
  const userData = new TextEncoder().encode("#cloud-config\nruncmd:\n - head -c 268435456 /dev/zero\n")
  const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h", userData } })
  open.push(instance)
  for (const phase of ["boot", "early", "main"]) await instance.run([phase])
  const { mb, code, stdout } = await peakRssOf(instance, true, ["final"])
  process.stdout.write(`memory: final with a runcmd of 256 MiB output: peak RSS ${mb} MB\n`)
  expect([code, stdout, statSync(join(instance.root, "var/log/user-data.log")).size]).toEqual([0, 256 * MiB, 256 * MiB])
  expect(mb).toBeLessThan(150)
})

it("fault: a system command that floods its stderr (hostname, 100 MiB) costs the main phase no more memory", async () => {
  const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h" } })
  open.push(instance)
  // in place of the stand-in's link (written through, it would be every stand-in)
  rmSync(join(instance.fake.bin, "hostname"))
  writeFileSync(join(instance.fake.bin, "hostname"), "#!/bin/sh\nhead -c 104857600 /dev/zero | tr '\\0' x >&2\nexit 1\n", { mode: 0o755 })
  for (const phase of ["boot", "early"]) await instance.run([phase])
  const { mb } = await peakRssOf(instance, false, ["main"])
  process.stdout.write(`memory: main with a hostname flooding its stderr: peak RSS ${mb} MB\n`)
  expect(mb).toBeLessThan(100)
})

const FLOODED = {
  early: ["/latest/user-data"],
  main: ["/latest/meta-data/hostname", "/latest/meta-data/public-keys/"]
}

it.each(["early", "main"] as const)("fault: the %s phase against 100 MiB answers stays under 100 MB of memory", async (phase) => {
  const overrides = FLOODED[phase].map((path) => ({ path, fill: 100 * MiB }))
  const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h" }, faults: { overrides } })
  open.push(instance)
  const { mb } = await peakRss(instance, phase)
  process.stdout.write(`memory: ${phase} against 100 MiB answers: peak RSS ${mb} MB\n`)
  expect(mb).toBeLessThan(100)
})

/**
 * `imds KEY` on hetzner against a service whose every answer is a chunked
 * body: `piece` (chunks of the encoding) sent `times` times, as fast as the
 * program reads; its peak RSS and exit code
 */
const againstChunkedService = async (key: string, times: number, piece: string) => {
  const server = createServer((socket) => {
    socket.on("error", () => {})
    socket.once("data", () => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
      let sent = 0
      const more = () => {
        while (sent < times) {
          sent++
          if (!socket.write(piece)) return void socket.once("drain", more)
        }
        socket.end("0\r\n\r\n")
      }
      more()
    })
  })
  await new Promise<void>((up) => server.listen(0, "127.0.0.1", up))
  try {
    const instance = await makeInstance({ noSimulator: true })
    open.push(instance)
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`
    // a timeout long enough for the whole answer to be read, however slowly
    const env = { CLOUD: "hetzner", IMDS_ENDPOINT: endpoint, IMDS_TIMEOUT: "600", IMDS_DEADLINE: "600" }
    return await peakRss({ ...instance, env: { ...instance.env, ...env } }, "imds", key)
  } finally {
    server.close()
  }
}

it("fault: an answer of 1 MiB sent in one-byte chunks is held in under 100 MB of memory", async () => {
  // 1 MiB (IMDS_MAX_BYTES) of body, each byte its own chunk: node gives it a million pieces
  const { mb, code } = await againstChunkedService("@hostname", 16, "1\r\na\r\n".repeat(64 * 1024))
  process.stdout.write(`memory: 1 MiB in one-byte chunks: peak RSS ${mb} MB\n`)
  // read whole (the answer is exactly IMDS_MAX_BYTES), and held in little more than its size
  expect(code).toBe(0)
  expect(mb).toBeLessThan(100)
})

it("fault: user-data of 16 MB sent as a byte before each 16 KiB chunk is held in little more than its size", async () => {
  // 1000 times a one-byte chunk, then one of 16 KiB (under USERDATA_MAX_BYTES): small pieces are gathered into blocks,
  // which a large piece cuts short; a block cut after one byte must not keep its 64 KiB
  const { mb, code } = await againstChunkedService("@userdata", 1000, `1\r\n\n\r\n4000\r\n${"#".repeat(16 * 1024)}\r\n`)
  process.stdout.write(`memory: 16 MB user-data, a byte before each 16 KiB chunk: peak RSS ${mb} MB\n`)
  expect(code).toBe(0)
  expect(mb).toBeLessThan(135)
})

it("fault: user-data of USERDATA_MAX_BYTES served base64 (oci, in lines as `base64` writes them) is decoded in little more than its size and its answer", async () => {
  // the answer is a third larger than the user-data: each copy of it made while decoding (the text, the text without
  // its line breaks, the text without its padding) cost 22 MB, 216 MB in all
  const userData = Buffer.alloc(16 * MiB, "#")
  userData.write("#!/bin/sh\n")
  const body = `${userData.toString("base64").replace(/.{76}/g, "$&\n")}\n`
  const instance = await makeInstance({ cloud: "oci", instance: { hostname: "h" }, faults: { overrides: [{ path: "/opc/v2/instance/metadata/user_data", body }] } })
  open.push(instance)
  const { mb, code } = await peakRss(instance, "early")
  process.stdout.write(`memory: 16 MiB user-data served base64: peak RSS ${mb} MB\n`)
  expect(code).toBe(0)
  expect(instance.read("/var/lib/cloud/user-data")?.length).toBe(16 * MiB)
  expect(mb).toBeLessThan(175)
})

it("fault: user-data of USERDATA_MAX_BYTES given to hetzner as one base64 token is decoded in little more than its size and its answer", async () => {
  // the token was made text twice, to be told one and to be decoded: 210 MB
  const userData = Buffer.alloc(16 * MiB, "#")
  userData.write("#!/bin/sh\n")
  const instance = await makeInstance({ cloud: "hetzner", instance: { hostname: "h", userData: new TextEncoder().encode(userData.toString("base64")) } })
  open.push(instance)
  const { mb, code } = await peakRss(instance, "early")
  process.stdout.write(`memory: 16 MiB user-data as a base64 token on hetzner: peak RSS ${mb} MB\n`)
  expect(code).toBe(0)
  expect(instance.read("/var/lib/cloud/user-data")?.length).toBe(16 * MiB)
  expect(mb).toBeLessThan(175)
})
