/**
 * The live services every command is given (appLayer): built one after
 * another in the fiber that asks for them, each given those before it.
 * Layer.merge and Layer.provide build their parts concurrently, a fiber and
 * a scope each, which was a third of the CPU an `imds` run took.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Supervisor from "effect/Supervisor"
import { afterEach, describe, expect, it } from "vitest"
import { appLayer, livePlatform } from "../../src/layers/live.js"
import { describeCause } from "../../src/programs/failure.js"
import { Bootstrap } from "../../src/services/Bootstrap.js"
import { Config } from "../../src/services/Config.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const instanceRoot = () => {
  const root = mkdtempSync(join(tmpdir(), "tc-app-layer-"))
  dirs.push(root)
  mkdirSync(join(root, "etc"))
  mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
  return root
}

/** counts the fibers started under it */
class Started extends Supervisor.AbstractSupervisor<number> {
  count = 0
  get value() {
    return Effect.sync(() => this.count)
  }
  override onStart() {
    this.count++
  }
}

describe("appLayer", () => {
  it("builds and releases every service in the fiber that asks, starting no other", async () => {
    const root = instanceRoot()
    const started = new Started()
    const services = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(Layer.build(appLayer({ ROOT: root, PATH: "" }, "test", livePlatform)), (context) =>
          Effect.provide(Effect.all({ config: Config, bootstrap: Bootstrap }), context)
        )
      ).pipe(Effect.supervised(started))
    )
    expect(services.config.root).toBe(root)
    expect(started.count).toBe(0)
  })

  it("fails with the configuration's problem, in one line, when the configuration is not lenient", async () => {
    const root = instanceRoot()
    writeFileSync(join(root, "etc/tiny-cloud.conf"), "IMDS_DEADLINE=soon\n")
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(appLayer({ ROOT: root, PATH: "" }, "test", livePlatform))))
    if (exit._tag !== "Failure") return expect.unreachable("the layer was built")
    expect(Chunk.size(Cause.failures(exit.cause))).toBe(1)
    expect(describeCause(exit.cause)).toMatch(/IMDS_DEADLINE/)
  })
})
