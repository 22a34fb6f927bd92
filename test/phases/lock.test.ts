/**
 * The lock the in-process harness gives a phase (in memory, no process) and
 * the program's own (flock(1)) keep the same contract, as far as a test of
 * something else sees it: one holder at a time, `waiting` said only when
 * another holds the lock, a missing directory named, a missing file not made.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
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
import { scratchDir, scopedDir } from "../support/scratch.js"
import { describeSystem } from "../support/system.js"

const contract = (make: () => LockShape) => {
  const dir = scopedDir("tiny-cloud-lock-")

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

describe("a later boot (the bootstrap complete)", () => {
  // BEHAVIOUR.md §4: the marker there, the phase says `already bootstrapped` and ends: it waits for no lock, and says nothing of one
  it.scopedLive("takes no lock: with the program's own lock and no flock to take it with, each phase says `already bootstrapped` alone", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "lock-5.example.internal" }, realLock: true })
      instance.write("/var/lib/cloud/.bootstrap-complete", "")
      const results = yield* instance.boot({ PATH: join(instance.dir, "no-tools") })
      expect(results).toEqual([0, 1, 2, 3].map(() => ({ code: 0, stdout: "", stderr: "already bootstrapped\n" })))
      expect(instance.commands()).toEqual([])
    })
  )
})

describeSystem("the program's lock (flock(1))", { tools: { flock: "util-linux" } }, () => {
  contract(() => makeLiveLock(process.env))

  /** whether this process has a child `flock -x 0` (the lock's, waiting) */
  const flockWaiting = () =>
    readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .some((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
          const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
          return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8") === ["flock", "-x", "0", ""].join("\0")
        } catch {
          return false
        }
      })

  it.scopedLive("a wait for a lock that is interrupted (a phase's timeout, its end) leaves no flock waiting: its place in the queue goes with it", () =>
    Effect.gen(function* () {
      const path = yield* scopedDir("tiny-cloud-lock-")
      const lock = makeLiveLock(process.env)
      const first = yield* Scope.make()
      yield* Effect.addFinalizer(() => Scope.close(first, Exit.void))
      yield* Scope.extend(lock.directory(path, Effect.void), first)
      const waiting = yield* Effect.fork(Effect.scoped(lock.directory(path, Effect.void)))
      while (!flockWaiting()) yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(waiting)
      // killed, not left to take the lock once the first lets go: a flock left waiting holds this loop until the test's timeout
      while (flockWaiting()) yield* Effect.sleep("20 millis")
    })
  )

  it.scopedLive("a file replaced (renamed over) by a holder of its lock while it was waited for: the lock is taken on the file the path names now", () =>
    Effect.gen(function* () {
      const dir = yield* scopedDir("tiny-cloud-lock-")
      const path = join(dir, "interfaces")
      writeFileSync(path, "old\n")
      writeFileSync(join(dir, "new"), "new\n")
      // another program that locks the file alone (not its directory), and replaces it before it lets go, as assemble-interfaces does
      const holder = spawn("flock", ["-x", path, "sh", "-c", `: > ${dir}/ready; while [ ! -e ${dir}/go ]; do sleep 0.02; done; mv ${dir}/new ${path}`], { stdio: "ignore" })
      const ended = Effect.async<void>((resume) => void holder.on("exit", () => resume(Effect.void)))
      while (!existsSync(join(dir, "ready"))) yield* Effect.sleep("20 millis")
      const held = yield* Scope.make()
      const locking = yield* Effect.fork(Scope.extend(makeLiveLock(process.env).exclusive(path), held))
      while (!flockWaiting()) yield* Effect.sleep("20 millis")
      writeFileSync(join(dir, "go"), "")
      yield* ended
      yield* Fiber.join(locking)
      expect(readFileSync(path, "utf8")).toBe("new\n")
      // the file the path names is locked: another's try fails at once
      expect(spawnSync("flock", ["-n", path, "true"]).status).toBe(1)
      yield* Scope.close(held, Exit.void)
      // and free once it is let go: at once but for a program another test's thread forked as it let go, which holds a
      // copy of the descriptor until it execs (a moment, longer under load)
      while (spawnSync("flock", ["-n", path, "true"]).status !== 0) yield* Effect.sleep("20 millis")
    })
  )
})

describe("a flock(1) that misbehaves", () => {
  const withFlock = (script: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const dir = scratchDir("tiny-cloud-lock-")
        mkdirSync(join(dir, "bin"))
        writeFileSync(join(dir, "bin", "flock"), `#!/bin/sh\n${script}\n`, { mode: 0o755 })
        return dir
      }),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
  const failure = (dir: string) =>
    Effect.flip(Effect.scoped(makeLiveLock({ PATH: `${join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}` }).directory(dir, Effect.void)))

  it.scopedLive("killed by a signal: the lock's line names the signal, not a status `null`", () =>
    Effect.gen(function* () {
      const dir = yield* withFlock("kill -KILL $$")
      expect((yield* failure(dir)).reason).toBe("flock killed by SIGKILL")
    })
  )

  it.scopedLive("one that may not be run (without its x bit): the lock's line says so in words, not Node's `spawn flock EACCES`", () =>
    Effect.gen(function* () {
      const dir = yield* withFlock("exit 0")
      chmodSync(join(dir, "bin", "flock"), 0o644)
      const error = yield* Effect.flip(Effect.scoped(makeLiveLock({ PATH: join(dir, "bin") }).directory(dir, Effect.void)))
      expect(error.reason).toBe("flock cannot be started: permission denied")
    })
  )

  it.scopedLive("flooding its stderr (20 MB on one line): the lock's line holds 200 characters of it, and no more is kept", () =>
    Effect.gen(function* () {
      const dir = yield* withFlock("head -c 20000000 /dev/zero | tr '\\0' x >&2; exit 1")
      expect((yield* failure(dir)).reason).toBe("x".repeat(200))
    })
  )
})
