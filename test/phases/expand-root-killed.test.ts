/**
 * expand_root after a boot run that was killed (BEHAVIOUR.md §3, e7a553d):
 * a disk program that run left running on the root's disk or filesystem
 * ($ROOT/proc/PID/cmdline, as the kernel's /proc has it) is waited for before
 * expand_root runs its own; any other is not. On the TestClock: the wait's
 * rounds are seen as sleeps, and pass when the test moves the clock on.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { makeTestInstance, type TestInstance } from "../support/instance.js"
import { realTurn } from "../support/test-clock.js"

const STATUS_FILE = "/var/lib/cloud/status.json"
const ONLY = { INIT_ACTIONS_BOOT: "expand_root" }

/** a boot run, then its record made that of a run whose process was killed (no end) */
const killedBoot = (i: TestInstance) =>
  Effect.gen(function* () {
    expect((yield* i.run(["boot"], ONLY)).code).toBe(0)
    const { runs } = JSON.parse(i.read(STATUS_FILE)!) as { runs: ReadonlyArray<Record<string, unknown>> }
    const { durationMs: _d, exitStatus: _e, ...running } = runs[runs.length - 1]!
    i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs.slice(0, -1), { ...running, pid: 999_999_999 }] }))
  })

/** a process in $ROOT/proc with this command line */
const leftRunning = (i: TestInstance, pid: number, argv: ReadonlyArray<string>) => {
  mkdirSync(join(i.root, `proc/${pid}`), { recursive: true })
  writeFileSync(join(i.root, `proc/${pid}/cmdline`), `${argv.join("\0")}\0`)
}

/** boot run again: whether it waited (a sleep on the clock before it ended), and its result once the process is gone */
const bootAgain = (i: TestInstance, pid: number) =>
  Effect.gen(function* () {
    // a second later: a run of this process that started in the same millisecond as its last would replace it in the record
    yield* TestClock.adjust("1 second")
    const fiber = yield* Effect.fork(i.run(["boot"], ONLY))
    let waited = false
    while (Option.isNone(yield* Fiber.poll(fiber))) {
      yield* realTurn
      // the wait's round: a sleep of 200 ms from now (a sleep some other fiber began, ended or not, stays listed till the clock passes it)
      const now = yield* TestClock.currentTimeMillis
      if (Chunk.some(yield* TestClock.sleeps(), (at) => at === now + 200)) {
        waited = true
        break
      }
    }
    const ranWhileWaiting = diskCommands(i).length
    rmSync(join(i.root, `proc/${pid}`), { recursive: true })
    // the round ends once: the wait sees the process gone and ends, and the clock stays put for the commands after it
    if (waited) yield* TestClock.adjust("200 millis")
    return { waited, ranWhileWaiting, result: yield* Fiber.join(fiber) }
  })

const diskCommands = (i: TestInstance) => i.commands().filter((c) => /^(sfdisk|partx|resize2fs) /.test(c))

const DISK_COMMANDS = ["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"]

describe("expand_root after a killed boot run", () => {
  for (const argv of [
    ["sfdisk", "-q", "--no-reread", "-N", "2", "/dev/vda"],
    ["partx", "-u", "/dev/vda"],
    ["/usr/sbin/resize2fs", "/dev/vda2"]
  ]) {
    it.scoped(`waits for ${argv.join(" ")} left running, then runs its own`, () =>
      Effect.gen(function* () {
        const i = yield* makeTestInstance({ cloud: "aws", noSimulator: true })
        yield* killedBoot(i)
        leftRunning(i, 4242, argv)
        const { waited, ranWhileWaiting, result } = yield* bootAgain(i, 4242)
        expect({ waited, ranWhileWaiting }).toEqual({ waited: true, ranWhileWaiting: 3 })
        expect(result.code).toBe(0)
        const name = argv[0]!.slice(argv[0]!.lastIndexOf("/") + 1)
        expect(result.stderr).toContain(`\nexpand_root: ${name} (pid 4242) is running already (left by a run that was killed); waiting for it to end\n`)
        expect(diskCommands(i)).toEqual([...DISK_COMMANDS, ...DISK_COMMANDS])
      })
    )
  }

  it.scoped("a disk program of another disk, or after a boot run that ended, is not waited for", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws", noSimulator: true })
      yield* killedBoot(i)
      leftRunning(i, 4242, ["resize2fs", "/dev/vdb1"])
      const other = yield* bootAgain(i, 4242)
      expect([other.waited, other.result.code, other.result.stderr]).toEqual([false, 0, expect.not.stringContaining("is running already")])
      // the record's newest boot run ended: nothing the killed one started can be running
      leftRunning(i, 4243, ["resize2fs", "/dev/vda2"])
      const ended = yield* bootAgain(i, 4243)
      expect([ended.waited, ended.result.code]).toEqual([false, 0])
    })
  )
})
