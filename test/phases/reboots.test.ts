/**
 * Later first boots of one instance: the marker removed (`--bootstrap
 * incomplete`, or by hand as an image builder removes it) and the instance
 * booted again, with its own metadata or another instance's.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRebootKey a@example"
const bytes = (text: string) => new TextEncoder().encode(text)

const instanceWith = (userData: string) =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "web-1.example", sshKeys: [KEY], userData: bytes(userData) } })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    return i
  })

const codes = (results: ReadonlyArray<{ readonly code: number }>) => results.map((r) => r.code)

describe.concurrent("the marker removed by hand after a completed first boot (an image builder's rm, the shell edition's --bootstrap incomplete)", () => {
  it.scopedLive("the next boot runs the first boot again as --bootstrap incomplete asks it: the same user-data's runcmd runs and its append is made again", () =>
    Effect.gen(function* () {
      const i = yield* instanceWith('#cloud-config\nwrite_files:\n  - {path: /etc/motd, content: "added\\n", append: true}\nruncmd:\n  - echo ran >> "$ROOT/tmp/runcmd"\n')
      i.write("/etc/motd", "image\n")
      expect(codes(yield* i.boot())).toEqual([0, 0, 0, 0])
      rmSync(join(i.root, "var/lib/cloud/.bootstrap-complete"))
      const again = yield* i.boot()
      expect(codes(again)).toEqual([0, 0, 0, 0])
      expect(again[3]!.stderr).not.toContain("not run again")
      expect(i.read("/tmp/runcmd")).toBe("ran\nran\n")
      expect(i.read("/etc/motd")).toBe("image\nadded\nadded\n")
      // a completed first boot's journals go with it
      expect(readdirSync(join(i.root, "var/lib/cloud")).filter((f) => f.startsWith("."))).toEqual([".bootstrap-complete"])
    })
  )
})
