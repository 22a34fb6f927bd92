/**
 * `--bootstrap incomplete` (BEHAVIOUR.md §1) in-process, over a Bootstrap of the test's own: what a real one
 * cannot be made to do under a ROOT of a test's (root removes whatever a tree holds): a file that cannot be
 * removed, the marker among them.
 */
import { tmpdir } from "node:os"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { FsError } from "../../src/domain/errors.js"
import { appLayer } from "../../src/layers/live.js"
import { bootstrapCommand } from "../../src/programs/admin.js"
import { Bootstrap } from "../../src/services/Bootstrap.js"
import { capturingLog } from "../support/layers.js"
import { scopedDir } from "../support/scratch.js"

const incomplete = (kept: ReadonlyArray<FsError>, completeAfter: boolean) =>
  Effect.gen(function* () {
    const root = yield* scopedDir("tiny-cloud-incomplete-", tmpdir())
    const { layer: log, lines } = yield* capturingLog
    const bootstrap = Layer.succeed(Bootstrap, {
      isComplete: Effect.succeed(completeAfter),
      markComplete: Effect.void,
      markIncomplete: Effect.succeed(kept),
      beginFirstBoot: () => Effect.succeed([]),
      isDisabled: Effect.succeed(false)
    })
    const code = yield* bootstrapCommand("incomplete").pipe(Effect.provide(Layer.merge(bootstrap, log)), Effect.provide(appLayer({ ROOT: root }, "tiny-cloud")))
    return { code, lines: (yield* lines.get).map((l) => `${l.level} ${l.line}`) }
  })

const cache = new FsError({ op: "remove", path: "/var/lib/cloud/.autodetect", reason: "operation not permitted", code: "EPERM" })
const marker = new FsError({ op: "remove", path: "/var/lib/cloud/.bootstrap-complete", reason: "operation not permitted", code: "EPERM" })

it.scoped("everything removed: 'bootstrap marked incomplete', exit 0", () =>
  Effect.map(incomplete([], false), (r) => expect(r).toEqual({ code: 0, lines: ["warn bootstrap marked incomplete"] }))
)

it.scoped("a file that cannot be removed is named and exits 1; the marker gone, it is still marked incomplete", () =>
  Effect.map(incomplete([cache], false), (r) => expect(r).toEqual({ code: 1, lines: [`err ${cache.message}`, "warn bootstrap marked incomplete"] }))
)

it.scoped("the marker that cannot be removed: named, exit 1, and never said to be marked incomplete", () =>
  Effect.map(incomplete([marker], true), (r) => expect(r).toEqual({ code: 1, lines: [`err ${marker.message}`] }))
)
