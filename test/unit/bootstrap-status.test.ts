/**
 * `--bootstrap status` is answered without the Effect runtime; it must read
 * the marker where the Bootstrap service keeps it: the configuration's
 * TINY_CLOUD_VAR, links resolved inside ROOT, whatever else is wrong with
 * the configuration.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { afterEach, describe, expect, it } from "vitest"
import { bootstrapState, bootstrapStatus } from "../../src/entry/bootstrap-status.js"
import { appLayer, livePlatform } from "../../src/layers/live.js"
import { Bootstrap } from "../../src/services/Bootstrap.js"
import { Config } from "../../src/services/Config.js"

const dirs: Array<string> = []
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "tc-bootstrap-status-"))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const touch = (path: string) => {
  mkdirSync(join(path, ".."), { recursive: true })
  writeFileSync(path, "")
}

describe("--bootstrap status", () => {
  it("is complete only once the marker exists under ROOT", () => {
    const root = temp()
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
    touch(join(root, "var/lib/cloud/.bootstrap-complete"))
    expect(bootstrapStatus({ ROOT: `${root}/` })).toBe("complete\n")
  })

  it("looks in the TINY_CLOUD_VAR the configuration names, even when another line of it is invalid", () => {
    const root = temp()
    touch(join(root, "var/lib/cloud/.bootstrap-complete"))
    touch(join(root, "etc/tiny-cloud.conf"))
    writeFileSync(join(root, "etc/tiny-cloud.conf"), `IMDS_TIMEOUT=0\nTINY_CLOUD_VAR=${root}/state\nnot a line\n`)
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
    touch(join(root, "state/.bootstrap-complete"))
    expect(bootstrapStatus({ ROOT: root })).toBe("complete\n")
    // the environment wins over the file
    expect(bootstrapStatus({ ROOT: root, TINY_CLOUD_VAR: `${root}/var/lib/cloud` })).toBe("complete\n")
    expect(bootstrapStatus({ ROOT: root, TINY_CLOUD_VAR: `${root}/elsewhere` })).toBe("incomplete\n")
  })

  it("resolves an absolute link inside ROOT, never on the host", () => {
    const root = temp()
    const host = temp()
    touch(join(host, ".bootstrap-complete"))
    mkdirSync(join(root, "var/lib"), { recursive: true })
    // on the instance, /var/lib/cloud -> HOST names a directory that does not exist
    symlinkSync(host, join(root, "var/lib/cloud"))
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
    touch(join(root, host, ".bootstrap-complete"))
    expect(bootstrapStatus({ ROOT: root })).toBe("complete\n")
  })
})

/** what the Bootstrap service and the configuration say, over the live layers */
const serviceState = (env: Record<string, string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const bootstrap = yield* Bootstrap
      return { complete: yield* bootstrap.isComplete, disabled: yield* bootstrap.isDisabled, idle: (yield* Config).residentIdle }
    }).pipe(Effect.scoped, Effect.provide(appLayer(env, "tiny-cloud/serve", livePlatform, { lenientConfig: true })))
  )

// the resident process asks it at its start and every 2 s while it waits, without building the live layers
describe("the bootstrap's state as the resident process reads it", () => {
  it("is what the Bootstrap service and the configuration say: disabled, complete, the idle timeout", async () => {
    const root = temp()
    const host = temp()
    const state = (env: Record<string, string>) => {
      const { settings, complete, disabled } = bootstrapState(env)
      return { complete, disabled, idle: settings.residentIdle }
    }
    const steps: Array<() => void> = [
      () => {},
      () => writeFileSync(join(root, "etc/tiny-cloud.conf"), `TINY_CLOUD_RESIDENT_IDLE=30\nTINY_CLOUD_VAR=${root}/state\nnot a line\n`),
      () => touch(join(root, "var/lib/cloud/.bootstrap-complete")),
      () => touch(join(root, "state/.bootstrap-complete")),
      // a state directory that is a link to itself holds no marker: the first boot is not complete
      () => {
        rmSync(join(root, "state"), { recursive: true })
        symlinkSync("state", join(root, "state"))
      },
      // a configuration that cannot be read is none: the marker is looked for at the default place
      () => {
        rmSync(join(root, "etc/tiny-cloud.conf"))
        mkdirSync(join(root, "etc/tiny-cloud.conf"))
      },
      () => rmSync(join(root, "etc/tiny-cloud.conf"), { recursive: true }),
      // a link in /etc resolved inside ROOT: the host's file of that name is not the instance's
      () => {
        touch(join(host, "tiny-cloud.disabled"))
        rmSync(join(root, "etc"), { recursive: true })
        symlinkSync(host, join(root, "etc"))
      },
      () => touch(join(root, host, "tiny-cloud.disabled")),
      // a directory of that name disables too, as the services' `[ -e ]` takes it
      () => {
        rmSync(join(root, host, "tiny-cloud.disabled"))
        mkdirSync(join(root, host, "tiny-cloud.disabled"))
      }
    ]
    mkdirSync(join(root, "etc"), { recursive: true })
    const seen = []
    for (const step of steps) {
      step()
      for (const env of [{ ROOT: root }, { ROOT: root, TINY_CLOUD_RESIDENT_IDLE: "5" }] as Array<Record<string, string>>) {
        const expected = await serviceState(env)
        expect(state(env)).toEqual(expected)
        seen.push(expected)
      }
    }
    // every case was met
    expect(new Set(seen.map((s) => JSON.stringify(s))).size).toBeGreaterThanOrEqual(5)
    expect(seen.some((s) => s.disabled) && seen.some((s) => s.complete) && seen.some((s) => !s.complete && !s.disabled)).toBe(true)
  })
})
