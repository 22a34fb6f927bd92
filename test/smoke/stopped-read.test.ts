/**
 * A process stopped (SIGSTOP, a paused VM) or starved of the CPU while a
 * metadata answer comes in: when it goes on, its timers are due before it
 * has read that answer (Node runs them before it polls). The answer came in
 * time and counts: no timeout, no second request, no read failed at its
 * deadline.
 */
import { spawn } from "node:child_process"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, describe, it } from "vitest"
import { makeInstance, PROGRAM, TEST_CODE_CACHE, type TestInstance } from "../support/harness.js"
import { bootAndServe, endResident, serverPid, servicesEnv, startService } from "../support/openrc.js"

const open: Array<TestInstance> = []
afterAll(() => Promise.all(open.map((i) => (endResident(i), i.close()))))

/** past IMDS_TIMEOUT and IMDS_DEADLINE (1 s each below): how long the asker is kept stopped once its answer is on its way */
const STOPPED_MS = 1500

/**
 * An aws metadata service that stops the asker (`stopped()`: its pid) as `path` is asked for the first time, answers it,
 * and lets it go on once STOPPED_MS have passed; `asked`: every request
 */
const stoppingService = async (path: string, stopped: () => number, data: Readonly<Record<string, string>>) => {
  const asked: Array<string> = []
  let once = false
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    asked.push(`${req.method} ${req.url}`)
    if (req.url === path && !once) {
      once = true
      const pid = stopped()
      process.kill(pid, "SIGSTOP")
      setTimeout(() => process.kill(pid, "SIGCONT"), STOPPED_MS)
    }
    const body = req.method === "PUT" ? "token-1" : data[req.url ?? ""]
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "text/plain" }).end(body ?? "")
  })
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
  return { endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`, asked, close: () => new Promise<void>((done) => server.close(() => done())) }
}

const SHORT = { IMDS_TIMEOUT: "1", IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "20", IMDS_RETRY_MAX_DELAY: "200" }

describe.concurrent("a process stopped while its metadata answer comes", () => {
  it("imds: the answer that came while it was stopped past IMDS_TIMEOUT and IMDS_DEADLINE is the answer, asked for once", async ({ expect }) => {
    const instance = await makeInstance({ cloud: "aws", noSimulator: true })
    open.push(instance)
    let pid = 0
    const service = await stoppingService("/latest/meta-data/hostname", () => pid, { "/latest/meta-data/hostname": "stopped-1.example.internal" })
    try {
      const child = spawn(process.execPath, [PROGRAM, "imds", "@hostname"], {
        env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env, ...SHORT, CLOUD: "aws", IMDS_ENDPOINT: service.endpoint },
        stdio: ["ignore", "pipe", "pipe"]
      })
      pid = child.pid!
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (c: Buffer) => (stdout += c))
      child.stderr.on("data", (c: Buffer) => (stderr += c))
      const code = await new Promise((done) => child.on("close", done))
      // before: 1, "imds: aws: cannot read http://127.0.0.1:PORT/latest/meta-data/hostname: timed out"
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "stopped-1.example.internal", stderr: "" })
      expect(service.asked).toEqual(["PUT /latest/api/token", "GET /latest/meta-data/hostname"])
    } finally {
      await service.close()
    }
  })

  it("the resident process: early's user-data, come while it was stopped past IMDS_TIMEOUT and IMDS_DEADLINE, is saved, each datum asked for once", async ({ expect }) => {
    const instance = await makeInstance({ cloud: "aws", noSimulator: true })
    open.push(instance)
    const userData = "#!/bin/sh\necho stopped\n"
    const service = await stoppingService("/latest/user-data", () => serverPid(instance)!, { "/latest/user-data": userData, "/latest/meta-data/hostname": "stopped-2.example.internal" })
    try {
      const env = { ...servicesEnv(instance), ...SHORT, CLOUD: "aws", IMDS_ENDPOINT: service.endpoint }
      await bootAndServe(env, instance)
      const early = await startService("early", env)
      // before: 1, "save_userdata: aws: cannot read http://127.0.0.1:PORT/latest/user-data: timed out"
      expect([early.code, early.stderr]).toEqual([0, "\n   ++ save_userdata: starting\n   ++ save_userdata: done\n"])
      expect(instance.read("/var/lib/cloud/user-data")).toBe(userData)
      expect(service.asked.filter((r) => r.includes("user-data") || r.startsWith("PUT"))).toEqual(["PUT /latest/api/token", "GET /latest/user-data"])
    } finally {
      await service.close()
    }
  })
})
