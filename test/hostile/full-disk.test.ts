/**
 * A disk that fills under the program: writes fail as the kernel fails
 * them (test/support/full-disk.ts), on the in-process program.
 */
import { readdirSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { fillingDisk } from "../support/full-disk.js"
import { makeTestInstance } from "../support/instance.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KiB = 1024
const script = (size: number) => new TextEncoder().encode(`#!/bin/sh\necho ran > /root/ran\n# ${"x".repeat(size)}\n`)

describe("a state directory that fills", () => {
  it.scopedLive("user-data larger than the room left is not saved in part: save_userdata fails naming the file and the reason, nothing is left, the user, keys and hostname are set", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: script(100 * KiB) } })
      const state = `${instance.root}/var/lib/cloud`
      yield* fillingDisk(state, 64 * KiB)
      const [boot, early, main] = yield* instance.boot()
      expect([boot!.code, early!.code, main!.code]).toEqual([0, 1, 0])
      expect(early!.stderr).toContain(`save_userdata: write ${state}/user-data: no space left on device\n`)
      expect(readdirSync(state).filter((f) => f.includes("user-data"))).toEqual([])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("NoCloud: a seed whose user-data the state directory cannot take still names the host and gives its keys; the copy is said, the seed read from its source", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: script(100 * KiB) } })
      const state = `${instance.root}/var/lib/cloud`
      yield* fillingDisk(state, 64 * KiB)
      const [boot, early, main, final] = yield* instance.boot()
      expect([boot!.code, early!.code, main!.code, final!.code]).toEqual([0, 1, 0, 0])
      expect(main!.stderr).toContain(`cannot copy the NoCloud seed: write ${state}/nocloud/user-data: no space left on device; read from the seed itself\n`)
      expect(early!.stderr).toContain(`save_userdata: write ${state}/user-data: no space left on device\n`)
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(readdirSync(`${state}/nocloud`)).toEqual(["meta-data"])
    })
  )

  it.scopedLive("a write the system takes in parts is written whole", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: script(100 * KiB) } })
      // room for all of it, each write taking a page at most
      yield* fillingDisk(`${instance.root}/var/lib/cloud`, 1024 * KiB, 4 * KiB)
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(new TextDecoder().decode(script(100 * KiB)))
    })
  )

  it.scopedLive("a write the system takes none of (write(2) returning 0) fails in one line, not asked again without end; nothing is left", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: script(KiB) } })
      const state = `${instance.root}/var/lib/cloud`
      yield* fillingDisk(state, 1024 * KiB, 0)
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(1)
      expect(early.stderr).toContain(`save_userdata: write ${state}/user-data: the file system took none of its bytes\n`)
      expect(readdirSync(state).filter((f) => f.includes("user-data"))).toEqual([])
    })
  )
})

describe("a log directory that fills", () => {
  it.scopedLive("the output of a user program that the log cannot take is said in one line; the program's status stands, the next programs run, and they are recorded as run", () =>
    Effect.gen(function* () {
      const doc = '#alpine-config\nruncmd:\n  - head -c 100000 /dev/zero | tr "\\\\0" a\n  - echo second >> "$ROOT/tmp/ran"\n'
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(doc) } })
      instance.write("/tmp/ran", "")
      instance.write("/var/log/.keep", "")
      const log = `${instance.root}/var/log`
      const [, early, main] = yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase]))
      expect([early!.code, main!.code]).toEqual([0, 0])
      // the programs run now, their output to the log's temporary beside it; the log itself is full
      const fill = yield* Effect.scoped(Effect.gen(function* () {
        yield* fillingDisk(log, 64 * KiB)
        // without its marker, which would take the record of the programs that ran with the first boot it completes
        return yield* instance.run(["final"], { SKIP_INIT_ACTIONS: "bootstrap_complete" })
      }))
      expect(fill.stderr).toContain(`userdata_runcmd: cannot keep its programs' output: append ${log}/user-data.log: no space left on device\n`)
      expect(fill.stderr).toContain("   ++ userdata_runcmd: done\n")
      expect(fill.code).toBe(0)
      expect(instance.read("/tmp/ran")).toBe("second\n")
      expect(instance.read("/var/lib/cloud/.userdata-ran")).toMatch(/^userdata_runcmd \S+\n$/)
    })
  )

  it.scopedLive("an append the log takes in part is cut off and its bytes given back: the log as it was, no append left pending", () =>
    Effect.gen(function* () {
      const doc = '#alpine-config\nruncmd:\n  - head -c 100000 /dev/zero | tr "\\\\0" a\n'
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(doc) } })
      instance.write("/var/log/user-data.log", "earlier\n")
      const log = `${instance.root}/var/log`
      yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase]))
      // room for the program's output beside the log, and for half of it once more
      const fill = yield* Effect.scoped(Effect.gen(function* () {
        yield* fillingDisk(log, 150 * KiB)
        return yield* instance.run(["final"])
      }))
      expect(fill.stderr).toContain(`userdata_runcmd: cannot keep its programs' output: append ${log}/user-data.log: no space left on device\n`)
      expect(fill.code).toBe(0)
      expect(readdirSync(log)).toEqual(["user-data.log"])
      expect(instance.read("/var/log/user-data.log")).toBe("earlier\n")
    })
  )
})
