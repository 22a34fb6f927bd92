/**
 * A process stopped or starved of the CPU while a metadata answer comes in:
 * when it runs again, its timers are due before it has read that answer
 * (Node runs them before it polls). The answer came in time and counts. Here
 * the event loop is held (as a slow CPU holds it) while the answer is sent,
 * and until past IMDS_TIMEOUT and IMDS_DEADLINE.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { makeHttpMetadataClient } from "../../src/clouds/imds-http.js"
import { resolveSettings } from "../../src/domain/settings.js"
import { liveClock } from "../../src/layers/ClockLive.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { Config } from "../../src/services/Config.js"

/**
 * An HTTP service in a process of its own, which answers while this one is held: once asked, it says so (`dir/asked`),
 * answers when this process is held (`dir/held`), and then says how many answers it has handed to the kernel (`dir/sent`)
 */
const service = (dir: string) =>
  new Promise<{ readonly port: number; readonly asked: () => number; readonly close: () => void }>((listening) => {
    const at = (name: string) => JSON.stringify(join(dir, name))
    const script = `const fs = require("node:fs"); let n = 0; require("node:http").createServer((q, s) => { n++; fs.writeFileSync(${at("asked")}, ""); const answer = () => fs.existsSync(${at("held")}) ? s.end("stalled-1", () => fs.writeFileSync(${at("sent")}, String(n))) : setTimeout(answer, 5); answer() }).listen(0, "127.0.0.1", function () { console.log(this.address().port) })`
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout.setEncoding("utf8").once("data", (port: string) => listening({ port: Number(port), asked: () => Number(readFileSync(join(dir, "sent"), "utf8")), close: () => child.kill() }))
  })

/** once the service is asked, holds this thread (no timer, no I/O runs), as a slow CPU holds it, until its answer is sent and `ms` more have passed */
const holdWhileAnswered = (dir: string, ms: number) =>
  setImmediate(function spin() {
    if (!existsSync(join(dir, "asked"))) return void setImmediate(spin)
    const wait = (n: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n)
    writeFileSync(join(dir, "held"), "")
    while (!existsSync(join(dir, "sent"))) wait(5)
    wait(ms)
  })

describe("a metadata answer that came while the process was held", () => {
  it("is the answer, past IMDS_TIMEOUT and IMDS_DEADLINE: not a timeout, nor asked for again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-stalled-"))
    const http = await service(dir)
    try {
      const config = Layer.succeed(Config, Either.getOrThrow(resolveSettings({ IMDS_TIMEOUT: "1", IMDS_DEADLINE: "1", IMDS_ENDPOINT: `127.0.0.1:${http.port}` }, {})))
      const read = Effect.flatMap(makeHttpMetadataClient({ cloud: "testcloud", endpoint: "169.254.169.254", root: "/latest/" }), (c) => c.text("meta-data/hostname")).pipe(
        Effect.either,
        Effect.provide(Layer.merge(HttpLive, config)),
        Effect.withClock(liveClock)
      )
      holdWhileAnswered(dir, 1500)
      const result = await Effect.runPromise(read)
      // before: Left "testcloud: cannot read http://127.0.0.1:PORT/latest/meta-data/hostname: timed out"
      expect(Either.isRight(result) && Option.getOrUndefined(result.right)).toBe("stalled-1")
      expect(http.asked()).toBe(1)
    } finally {
      http.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
