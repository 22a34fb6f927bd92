import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, statSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { mkdirs } from "../../src/layers/directories.js"
import { scopedDir } from "../support/scratch.js"

const modeOf = (path: string) => statSync(path).mode & 0o7777

describe("mkdirs", () => {
  it.scoped("gives the directory its mode and each parent it makes 0755, as root's mkdir -p: a private /run/tiny-cloud in a ROOT without /run leaves /run open to all", () =>
    Effect.gen(function* () {
      const root = yield* scopedDir("tiny-cloud-mkdirs-")
      mkdirs(join(root, "run/tiny-cloud"), 0o700)
      mkdirs(join(root, "home/alpine"), 0o755)
      expect([modeOf(join(root, "run")), modeOf(join(root, "run/tiny-cloud"))]).toEqual([0o755, 0o700])
      expect([modeOf(join(root, "home")), modeOf(join(root, "home/alpine"))]).toEqual([0o755, 0o755])
    }))

  it.scoped("leaves a parent that is there as it is", () =>
    Effect.gen(function* () {
      const root = yield* scopedDir("tiny-cloud-mkdirs-")
      mkdirSync(join(root, "run"), { mode: 0o711 })
      mkdirs(join(root, "run/tiny-cloud"), 0o700)
      expect([modeOf(join(root, "run")), modeOf(join(root, "run/tiny-cloud"))]).toEqual([0o711, 0o700])
    }))
})
