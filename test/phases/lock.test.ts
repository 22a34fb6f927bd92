/**
 * The lock the in-process harness gives a phase (in memory, no process) and
 * the program's own (flock(1)) keep the same contract, as far as a test of
 * something else sees it: one holder at a time, `waiting` said only when
 * another holds the lock, a missing directory named, a missing file not made.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { makeLiveLock } from "../../src/layers/LockLive.js"
import type { LockShape } from "../../src/services/Lock.js"
import { makeTestInstance } from "../support/instance.js"
import { makeMemoryLock } from "../support/memory-lock.js"
import { scratchDir } from "../support/scratch.js"
import { describeSystem } from "../support/system.js"

const contract = (make: () => LockShape) => {
  const dir = Effect.acquireRelease(
    Effect.sync(() => scratchDir("tiny-cloud-lock-")),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  )

  it.scopedLive("a directory's lock held: the next says `waiting` and gets it once the first lets go; a free one says nothing", () =>
    Effect.gen(function* () {
      const lock = make()
      const path = yield* dir
      const said: Array<string> = []
      const first = yield* Scope.make()
      yield* Scope.extend(lock.directory(path, Effect.sync(() => said.push("first"))), first)
      const waited = yield* Deferred.make<void>()
      const second = yield* Effect.fork(Effect.scoped(Effect.zipRight(lock.directory(path, Effect.zipRight(Effect.sync(() => said.push("second")), Deferred.succeed(waited, undefined))), Effect.succeed("held"))))
      yield* Deferred.await(waited)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(second))).toBe(true)
      yield* Scope.close(first, Exit.void)
      expect(yield* Fiber.join(second)).toBe("held")
      expect(said).toEqual(["second"])
    })
  )

  it.scopedLive("a file's lock: one holder at a time; a missing file is not made (a holder killed before it put its file there would leave it empty: set_default_interfaces takes that for the image's)", () =>
    Effect.gen(function* () {
      const lock = make()
      const path = join(yield* dir, "interfaces")
      const first = yield* Scope.make()
      yield* Scope.extend(lock.exclusive(path), first)
      expect(existsSync(path)).toBe(false)
      const second = yield* Effect.fork(Effect.scoped(Effect.as(lock.exclusive(path), "held")))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(second))).toBe(true)
      yield* Scope.close(first, Exit.void)
      expect(yield* Fiber.join(second)).toBe("held")
    })
  )

  it.scopedLive("a directory that does not exist is named, for either lock", () =>
    Effect.gen(function* () {
      const lock = make()
      const missing = join(yield* dir, "absent")
      expect((yield* Effect.flip(Effect.scoped(lock.directory(missing, Effect.void)))).message).toBe(`cannot lock ${missing}: no such directory`)
      expect((yield* Effect.flip(Effect.scoped(lock.exclusive(join(missing, "file"))))).message).toBe(`cannot lock ${missing}: no such directory`)
      mkdirSync(missing)
      yield* Effect.scoped(lock.exclusive(join(missing, "file")))
    })
  )
}

describe("the in-process harness's lock (in memory)", () => {
  contract(makeMemoryLock)

  // a flock process per lock was most of the processes the in-process tests started (1360 of 1624 in test/phases/)
  it.scopedLive("is the phases' unless a test asks for the real one: with no flock on their PATH, the phases lock without a word", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "lock-4.example.internal" } })
      const results = yield* instance.boot({ PATH: join(instance.dir, "no-tools") })
      expect(results.map((r) => [r.code, r.stderr.includes("cannot lock")])).toEqual([[0, false], [0, false], [0, false], [0, false]])
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )
})

describeSystem("the program's lock (flock(1))", { tools: { flock: "util-linux" } }, () => contract(() => makeLiveLock(process.env)))
