/**
 * `#alpine-config` documents as Alpine's users write them for the shell
 * edition (test/fixtures/cloud-config-real/alpine-config-*.yaml, those with
 * no program of their own to run), booted whole: what the shell edition's
 * alpine-config handler does with each (alpine-config(5)), and the user, keys
 * and hostname always there.
 */
import { readFileSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { actionLines, makeTestInstance } from "../support/instance.js"

const DIR = join(import.meta.dirname, "../fixtures/cloud-config-real")
const HOST = "node-7.example.internal"
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICloudKeyOfTheInstance000000000000000000000 cloud@example"

const boot = (name: string) =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: HOST, sshKeys: [KEY], userData: readFileSync(join(DIR, name)) } })
    const results = yield* instance.boot()
    expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
    expect(results.flatMap((r) => actionLines(r.stderr)).filter((l) => !l.endsWith("starting") && !l.endsWith("done"))).toEqual([])
    expect(instance.read("/etc/hostname")).toBe("node-7\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    return instance
  })

describe("#alpine-config documents users wrote", () => {
  it.scopedLive("a user of their own (user: {name}), busybox ntpd, a local apk cache, packages: the cloud's key and the document's both the user's", () =>
    Effect.gen(function* () {
      const instance = yield* boot("alpine-config-user-ntp-apk-cache.yaml")
      expect(instance.read("/home/ops/.ssh/authorized_keys")).toBe(
        `${KEY}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsExtraKeyForAlpineUsersReview000000000 ops@laptop\n`
      )
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
      const commands = instance.commands()
      expect(commands).toContain("adduser -h /home/ops -s /bin/sh -G ops -D ops")
      // busybox's ntpd: a service, no package; the repositories left as the image has them (an apk key is given)
      expect(commands.filter((c) => /^(apk|rc-update add ntpd|rc-service|setup-apkrepos)/.test(c))).toEqual([
        "rc-update add ntpd default",
        "rc-service ntpd start",
        "apk update",
        "apk add htop tmux"
      ])
      expect(instance.read("/etc/apk/repositories")).toBeUndefined()
      expect(readlinkSync(join(instance.root, "etc/apk/cache"))).toBe("../../var/cache/apk-local")
    })
  )

  it.scopedLive("user as a plain name, write_files in the shell edition's forms: modes, base64, an append, an entry without a path passed over", () =>
    Effect.gen(function* () {
      const instance = yield* boot("alpine-config-user-string-write-files.yaml")
      expect(instance.read("/home/builder/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/etc/motd")).toBe("Welcome to the build box\nsecond line\n")
      expect(instance.mode("/usr/local/bin/hello")).toBe(0o755)
      expect(instance.mode("/etc/motd")).toBe(0o644)
      expect(instance.read("/etc/conf.d/foo")).toBe('FOO_OPTS="-v"\n')
      // no apk key and no repositories file: the shell edition's setup-apkrepos
      expect(instance.commands()).toContain("setup-apkrepos -1 -c")
    })
  )

  it.scopedLive("a mirror without version directories (version: .) and edge beside it; enabled: yes; gz content; a file of the cloud user's", () =>
    Effect.gen(function* () {
      const instance = yield* boot("alpine-config-mirror-version-dot.yaml")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/etc/apk/repositories")).toBe(
        "https://mirror.example.org/alpine/main\nhttps://mirror.example.org/alpine/community\nhttps://dl-cdn.alpinelinux.org/alpine/edge/testing\n"
      )
      expect(instance.read("/etc/profile.d/pager.sh")).toBe("export PAGER=less\n")
      expect(instance.read("/home/alpine/.profile")).toBe("export EDITOR=vi\n")
      expect(instance.mode("/home/alpine/.profile")).toBe(0o600)
      const commands = instance.commands()
      // ntp enabled: yes (YAML 1.1's true, as the shell edition's yx gives it): chrony, the default client
      expect(commands.filter((c) => /^(apk|rc-update add chronyd|rc-service)/.test(c))).toEqual([
        "apk add chrony",
        "rc-update add chronyd default",
        "rc-service chronyd start",
        "apk add nginx=1.24.0-r0 py3-pip"
      ])
    })
  )
})
