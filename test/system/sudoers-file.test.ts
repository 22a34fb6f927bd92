/**
 * The sudoers file a first boot writes, as visudo parses it: users whose
 * names sudoers would read otherwise (`ALL`, everyone; `Defaults` and
 * `sha256` and `1.2.3.4`, which start no user's line; `ADMIN`, an alias) each get their
 * own rules, and no rule that breaks the file is written.
 */
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { describeSystem, which } from "../support/system.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"

/** what visudo -c says of the file: its output, and whether it parsed */
const visudo = (file: string) => {
  try {
    return { ok: true, out: execFileSync(which("visudo")!, ["-c", "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) }
  } catch (e) {
    const failed = e as { stdout?: string; stderr?: string }
    return { ok: false, out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` }
  }
}

describeSystem("the sudoers file of a first boot as visudo reads it", { tools: { visudo: "sudo" } }, () => {
  it.scopedLive("users named ALL, Defaults, sha256, ADMIN and 1.2.3.4: each line parses and names that user alone; an unreadable rule writes none of its user's", () =>
    Effect.gen(function* () {
      const userData = [
        "#cloud-config",
        "users:",
        "  - default",
        ...["ALL", "Defaults", "sha256", "ADMIN", "1.2.3.4", "bob"].flatMap((name) => [`  - name: ${name}`, "    sudo: 'ALL=(ALL) NOPASSWD: ALL'"]),
        "  - name: carol",
        "    sudo: ['ALL=(ALL) ALL', 'ALL=(ALL) /bin/echo a,b']",
        ""
      ].join("\n")
      const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
      const runs = yield* i.boot()
      expect(runs.map((r) => r?.code)).toEqual([0, 0, 0, 0])
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe(
        ['"ALL" ALL=(ALL) NOPASSWD: ALL', '"Defaults" ALL=(ALL) NOPASSWD: ALL', '"sha256" ALL=(ALL) NOPASSWD: ALL', '"ADMIN" ALL=(ALL) NOPASSWD: ALL', '"1.2.3.4" ALL=(ALL) NOPASSWD: ALL', "bob ALL=(ALL) NOPASSWD: ALL", ""].join("\n")
      )
      const checked = visudo(join(i.root, "etc/sudoers.d/90-tiny-cloud-users"))
      expect(checked).toEqual({ ok: true, out: expect.not.stringMatching(/referenced but not defined/) })
      expect(visudo(join(i.root, "etc/sudoers.d/wheel")).ok).toBe(true)
    })
  )
})
