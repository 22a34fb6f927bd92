/**
 * The default user named in `users` beside `default` (2338f28): its entry's
 * account options go to create_default_user where the default user's own
 * description (`user`) does not give them, as cloud-init merges the two, the
 * default user's first (BEHAVIOUR.md §5).
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"

const firstBoot = (userData: string) =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({
      cloud: "aws",
      env: PATIENT_METADATA,
      instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY_A], userData: new TextEncoder().encode(userData) }
    })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    i.write("/etc/ssh/sshd_config", "Port 22\n")
    const runs = yield* i.boot()
    return { i, runs }
  })

describe("the default user named in users beside default", () => {
  it.scopedLive("user's own options win over the named entry's; the entry gives what user does not", () =>
    Effect.gen(function* () {
      const { i, runs } = yield* firstBoot("#cloud-config\nuser:\n  name: alpine\n  gecos: Given by user\nusers:\n  - default\n  - name: alpine\n    gecos: Given by users\n    uid: 1500\n")
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual(["adduser -h /home/alpine -s /bin/sh -G alpine -D -u 1500 -g Given by user alpine"])
      expect(i.read("/etc/passwd")).toMatch(/^alpine:x:1500:\d+:Given by user:\/home\/alpine:\/bin\/sh$/m)
    })
  )
})
