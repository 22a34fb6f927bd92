/**
 * create_default_user's record of the account it made in this first boot
 * (`$TINY_CLOUD_VAR/.default-user-created`, BEHAVIOUR.md §5): `--bootstrap
 * incomplete` starts a new first boot, where that account is the image's own,
 * also after a first boot that did not complete.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"

it.scopedLive("after --bootstrap incomplete, the default user made by the earlier first boot is the image's: it keeps its own account, said in one warning, and main does not fail", () =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({
      cloud: "aws",
      env: PATIENT_METADATA,
      instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY_A], userData: new TextEncoder().encode("#cloud-config\nusers:\n  - default\n  - name: alpine\n    uid: 1500\n") },
      // uid 1500 in use: the first boot makes alpine with the defaults
      answer: (c) => (c.command === "adduser" && c.args.includes("-u") ? { exitCode: 1 } : undefined)
    })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    i.write("/etc/ssh/sshd_config", "Port 22\n")
    // a first boot that did not complete (its final writes no marker): a completed one removes the journal itself
    const first = yield* i.boot({ SKIP_INIT_ACTIONS: "bootstrap_complete" })
    expect(first.map((r) => r.code)).toEqual([0, 0, 1, 0])
    expect(i.read("/var/lib/cloud/.default-user-created")).toBeDefined()
    expect((yield* i.run(["--bootstrap", "incomplete"])).code).toBe(0)
    const again = yield* i.boot()
    // before: the account taken for this boot's, 'user-data's uid 1500 not applied; made without ...' and userdata_users failed
    expect(again[2]!.stderr).toContain("\ncreate_default_user: alpine exists already and keeps its own account: user-data's uid 1500 not applied\n")
    expect(again[2]!.stderr).not.toContain("made without the account options")
    expect(again.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(i.commands().filter((c) => c.startsWith("adduser"))).toHaveLength(2)
  })
)
