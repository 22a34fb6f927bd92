/** `imds` as scripts call it: the bundled program by that name, its switches and exit status. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeInstance, PROGRAM, TEST_CODE_CACHE, type TestInstance } from "../support/harness.js"
import { itSystem } from "../support/system.js"

const HOST = "web-1.example.internal"
const KEYS = ["ssh-ed25519 AAAA first", "ssh-ed25519 BBBB second"]

let instance: TestInstance
beforeAll(async () => {
  instance = await makeInstance({ cloud: "aws", instance: { hostname: HOST, localHostname: "ip-10-0-0-5.local", sshKeys: [KEYS[1]!, KEYS[0]!], userData: new Uint8Array([0, 1, 2, 255]) } })
  symlinkSync(PROGRAM, join(instance.dir, "imds"))
})
afterAll(() => instance.close())

describe.concurrent("imds", () => {
  it("prints each key as served, separators only where asked", async () => {
    expect(await instance.imds(["@hostname", "+n", "@local-hostname", "+s", "meta-data/instance-id", "+t", "@ssh-keys"])).toEqual({
      code: 0,
      stdout: `${HOST}\nip-10-0-0-5.local i-0123456789abcdef0\t${KEYS.join("\n")}\n`,
      stderr: ""
    })
    expect(Buffer.from((await instance.imds(["@userdata"])).stdout, "latin1")).toEqual(Buffer.from([0, 1, 2, 255]))
  })

  it("+e stops at the first error with its status; -e goes on; -E hides the line; +E shows it again", async () => {
    const [stops, goesOn, hidden] = await Promise.all([
      instance.imds(["@hostname", "+n", "meta-data/nothing-here", "@hostname"]),
      instance.imds(["-e", "meta-data/nothing-here", "-E", "meta-data/nothing-here", "+E", "@hostname", "+n"]),
      instance.imds(["-E", "meta-data/nothing-here", "@hostname"])
    ])
    expect(stops).toEqual({ code: 1, stdout: `${HOST}\n`, stderr: "imds: meta-data/nothing-here: not found\n" })
    expect(goesOn).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "imds: meta-data/nothing-here: not found\n" })
    expect(hidden).toEqual({ code: 1, stdout: "", stderr: "" })
  })

  it("is also `tiny-cloud imds`; -h is usage on stdout, no argument usage on stderr and exit 1", async () => {
    expect(await instance.run(["imds", "@hostname", "+n"])).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
    const help = await instance.imds(["-h"])
    expect([help.code, help.stdout.startsWith("Usage: imds"), help.stderr]).toEqual([0, true, ""])
    const none = await instance.imds([])
    expect([none.code, none.stdout, none.stderr.startsWith("Usage: imds")]).toEqual([1, "", true])
    // an unknown option is usage on stderr and exit 1, before any key is printed, in either spelling
    const help1 = help.stdout
    for (const args of [["-x"], ["@hostname", "-x"], ["--json", "@hostname"], ["imds", "@hostname", "+n", "-", "@hostname"]]) {
      const r = args[0] === "imds" ? await instance.run(args) : await instance.imds(args)
      expect(r).toEqual({ code: 1, stdout: "", stderr: help1 })
    }
  })

  itSystem("output that cannot be written is imds's one line and exit 1 by either spelling, `imds` and `tiny-cloud imds`", { files: ["/dev/full"] }, async () => {
    const full = (command: ReadonlyArray<string>) =>
      new Promise<{ code: number | null; stderr: string }>((done) => {
        const fd = openSync("/dev/full", "w")
        const child = spawn(process.execPath, [...command], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env }, stdio: ["ignore", fd, "pipe"] })
        closeSync(fd)
        let stderr = ""
        child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()))
        child.on("close", (code) => done({ code, stderr }))
      })
    const told = { code: 1, stderr: "imds: cannot write to standard output: no space left on device\n" }
    for (const args of [["@hostname", "+n"], ["-h"]]) {
      expect(await full([join(instance.dir, "imds"), ...args])).toEqual(told)
      expect(await full([PROGRAM, "imds", ...args])).toEqual(told)
    }
  })

  it("into a pipe closed early it ends quietly", async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn("sh", ["-c", `"${instance.dir}/imds" @userdata @hostname @hostname | head -c 1 >/dev/null`], { env: instance.env })
      let stderr = ""
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
      child.on("close", (code) => done({ code, stderr }))
    })
    expect(r).toEqual({ code: 0, stderr: "" })
  })

  it("into a pipe whose reader is gone before it writes (EPIPE) it exits 0 itself, not only the pipeline (whose status is the reader's)", async () => {
    const closed = join(instance.dir, "reader-closed")
    const status = join(instance.dir, "imds-status")
    // the reader closes its end and says so; only then does imds start: its first write fails with EPIPE
    const script = `{ while [ ! -e "${closed}" ]; do sleep 0.01; done; "${instance.dir}/imds" @userdata @hostname; echo $? > "${status}"; } | { exec 0<&-; : > "${closed}"; }`
    const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn("sh", ["-c", script], { env: instance.env })
      let stderr = ""
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
      child.on("close", (code) => done({ code, stderr }))
    })
    expect([r, readFileSync(status, "utf8")]).toEqual([{ code: 0, stderr: "" }, "0\n"])
  })
})

describe("YAML a cloud serves", () => {
  it("a tag the parser does not know (an Ansible !vault) is no warning on stderr quoting the document's line", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
    const userData = `#cloud-config\ndb_password: !vault hunter2\nssh_authorized_keys:\n  - ${key}\n`
    const incus = await makeInstance({ cloud: "incus", instance: { userData: new TextEncoder().encode(userData) } })
    try {
      expect(await incus.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${key}\n`, stderr: "" })
    } finally {
      await incus.close()
    }
  })
})

describe("imds on incus under a ROOT too long for a unix socket's path", () => {
  it("names the socket's path as too long at once, where the connection went to a name cut short", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-long-root-"))
    const root = join(dir, "r".repeat(120))
    mkdirSync(join(root, "dev/incus"), { recursive: true })
    mkdirSync(join(root, "etc"))
    writeFileSync(join(root, "etc/tiny-cloud.conf"), "CLOUD=incus\n")
    // the guest API's socket, bound at a short name and moved under ROOT (a path past 107 bytes cannot be bound)
    const server = createServer((c) => c.end("HTTP/1.0 200 OK\r\n\r\nc1"))
    await new Promise<void>((done) => server.listen(join(dir, "sock"), done))
    renameSync(join(dir, "sock"), join(root, "dev/incus/sock"))
    try {
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [PROGRAM, "imds", "@hostname"], { env: { PATH: process.env.PATH, ROOT: root, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE } })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
        child.on("close", (code) => done({ code, stdout, stderr }))
      })
      const socket = join(root, "dev/incus/sock")
      expect(r).toEqual({ code: 1, stdout: "", stderr: `imds: incus: cannot read unix:${socket}: its path is ${Buffer.byteLength(socket)} bytes, a unix socket's at most 107 (ROOT is too long)\n` })
    } finally {
      server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
