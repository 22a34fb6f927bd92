/**
 * cloud-config as cloud-init's documented examples write it, on a first
 * boot: the rights a user's entry gives (`sudo`, `doas`) are the rights it
 * has; doas rules are checked as cloud-init checks them; packages are
 * refreshed before an upgrade or an install; list items of a command are
 * written as Python writes them; an empty `users` keeps the default user.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance, type TestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { bytesOf } from "../../src/domain/text.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"

const userDataInstance = (userData: string) =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY_A], userData: bytesOf(userData) } })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    return i
  })

/** boot, early, main and final; each exits 0 */
const firstBoot = (i: TestInstance) =>
  Effect.gen(function* () {
    const [boot, early, main, final] = yield* i.boot()
    expect([boot, early, main, final].map((r) => (r!.code === 0 ? 0 : r!.stderr))).toEqual([0, 0, 0, 0])
    return { early: early!, main: main!, final: final! }
  })

/** the user exists with the cloud's key, and the bootstrap is complete */
const expectReachable = (i: TestInstance, user: string) => {
  expect(i.read("/etc/passwd")).toMatch(new RegExp(`^${user}:x:`, "m"))
  expect(i.read(`/home/${user}/.ssh/authorized_keys`)).toBe(`${KEY_A}\n`)
  expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
}

/** no wheel membership, and none of wheel's passwordless rules written */
const expectNoWheel = (i: TestInstance, user: string) => {
  expect(i.commands()).not.toContain(`addgroup ${user} wheel`)
  expect(i.read("/etc/sudoers.d/wheel")).toBeUndefined()
  expect(i.read("/etc/doas.d/wheel.conf")).toBeUndefined()
}

describe.concurrent("the rights a default user's entry gives", () => {
  const NO_RIGHTS: Record<string, readonly [doc: string, user: string]> = {
    "`sudo: false` on the first user": ["#cloud-config\nusers:\n  - name: bob\n    sudo: false\n", "bob"],
    "`sudo: null` on the first user": ["#cloud-config\nusers: [{name: bob, sudo: null}]\n", "bob"],
    // cc_users_groups example 7: "change the user to not have sudo rights"
    "`user` with `sudo: null`": ["#cloud-config\nuser:\n  name: mynewdefault\n  sudo: null\n", "mynewdefault"],
    "a map without a name, `sudo: false`": ["#cloud-config\nusers:\n  - sudo: false\n", "alpine"]
  }
  for (const [name, [doc, user]] of Object.entries(NO_RIGHTS)) {
    it.scopedLive(`${name}: no wheel, no sudo or doas rules; still reachable`, () =>
      Effect.gen(function* () {
        const i = yield* userDataInstance(doc)
        yield* firstBoot(i)
        expectReachable(i, user)
        expectNoWheel(i, user)
        expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBeUndefined()
      })
    )
  }

  it.scopedLive("a first user without sudo or doas stands in for the default user, with wheel", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - name: bob\n    groups: [adm]\n")
      yield* firstBoot(i)
      expectReachable(i, "bob")
      expect(i.commands()).toContain("addgroup bob wheel")
      expect(i.read("/etc/sudoers.d/wheel")).toBe("%wheel ALL=(ALL) NOPASSWD: ALL\n")
      expect(i.read("/etc/doas.d/wheel.conf")).toBe("permit nopass :wheel\n")
    })
  )

  // cc_users_groups example 4: doas is last-match-wins, so wheel's rule would undo the user's deny
  it.scopedLive("own doas rules: written, and wheel's blanket rule is not added over them", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config
users:
- name: newsuper
  gecos: Big Stuff
  groups: users, admin
  doas:
    - permit nopass newsuper
    - deny newsuper as root
  lock_passwd: true
`
      const i = yield* userDataInstance(doc)
      yield* firstBoot(i)
      expectReachable(i, "newsuper")
      expect(i.read("/etc/doas.d/newsuper.conf")).toBe("permit nopass newsuper\ndeny newsuper as root\n")
      expectNoWheel(i, "newsuper")
      expect(i.commands()).toEqual(expect.arrayContaining(["addgroup newsuper users", "addgroup newsuper admin"]))
    })
  )

  it.scopedLive("own sudo rules: written, and wheel kept (where only doas is installed, wheel is what gives root)", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - name: ops\n    sudo: ALL=(ALL) /sbin/apk\n")
      yield* firstBoot(i)
      expectReachable(i, "ops")
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("ops ALL=(ALL) /sbin/apk\n")
      expect(i.commands()).toContain("addgroup ops wheel")
    })
  )

  it.scopedLive("`default` listed: CLOUD_USER keeps wheel; a further user's `sudo: false` changes nothing for it", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers: [default, {name: bob, sudo: false}]\n")
      yield* firstBoot(i)
      expectReachable(i, "alpine")
      expect(i.commands()).toContain("addgroup alpine wheel")
      expect(i.commands()).not.toContain("addgroup bob wheel")
    })
  )
})

describe.concurrent("doas rules must name their user, as cloud-init checks them", () => {
  it.scopedLive("a rule naming another user: none of the user's rules written, a warning that does not quote the rule", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alice\n    doas:\n      - permit nopass bob\n      - permit alice as root\n")
      const { early } = yield* firstBoot(i)
      expect(early.stderr).toContain(
        "save_userdata: line 6: users[1].doas[0]: not a doas rule for this user (permit or deny, options, then the user's name); none of its doas rules are written, as cloud-init does\n"
      )
      expect(early.stderr).not.toContain("permit nopass bob")
      expect(i.read("/etc/doas.d/alice.conf")).toBeUndefined()
      expect(i.read("/etc/passwd")).toMatch(/^alice:x:/m)
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("the default user's rules, from a map without a name, are checked against CLOUD_USER when written", () =>
    Effect.gen(function* () {
      const other = yield* userDataInstance("#cloud-config\nusers:\n  - doas: [permit nopass bob]\n")
      const own = yield* userDataInstance("#cloud-config\nusers:\n  - doas: ['permit persist alpine as root cmd /sbin/apk args update']\n")
      const { main } = yield* firstBoot(other)
      yield* firstBoot(own)
      expect(main.stderr).toContain("userdata_users: a doas rule of the default user does not name that user; none of its doas rules written, as cloud-init does\n")
      expect(other.read("/etc/doas.d/alpine.conf")).toBeUndefined()
      expect(own.read("/etc/doas.d/alpine.conf")).toBe("permit persist alpine as root cmd /sbin/apk args update\n")
      for (const i of [other, own]) {
        expectReachable(i, "alpine")
        expectNoWheel(i, "alpine")
      }
    })
  )
})

describe.concurrent("package sources refreshed as cloud-init refreshes them", () => {
  const apk = (i: TestInstance) => i.commands().filter((c) => c.startsWith("apk "))
  const CASES: Record<string, readonly [doc: string, commands: ReadonlyArray<string>, says?: ReadonlyArray<string>]> = {
    "package_upgrade alone": ["#cloud-config\npackage_upgrade: true\n", ["apk update", "apk upgrade"]],
    "packages alone": ["#cloud-config\npackages: [vim]\n", ["apk update", "apk add vim"]],
    "nothing asked": ["#cloud-config\npackage_update: false\npackage_upgrade: false\n", []],
    "apt_update and apt_upgrade, cloud-init's deprecated names": [
      "#cloud-config\napt_update: true\napt_upgrade: true\npackages: [pwgen]\n",
      ["apk update", "apk upgrade", "apk add pwgen"],
      ["line 2: apt_update: deprecated; read as package_update, as cloud-init does", "line 3: apt_upgrade: deprecated; read as package_upgrade, as cloud-init does"]
    ],
    "either name true asks, whatever the other says": ["#cloud-config\napt_upgrade: true\npackage_upgrade: false\n", ["apk update", "apk upgrade"]]
  }
  for (const [name, [doc, commands, says = []]] of Object.entries(CASES)) {
    it.scopedLive(name, () =>
      Effect.gen(function* () {
        const i = yield* userDataInstance(doc)
        const { early } = yield* firstBoot(i)
        expect(apk(i)).toEqual(commands)
        for (const line of says) expect(early.stderr).toContain(`save_userdata: ${line}\n`)
        expect(early.stderr).not.toContain("unsupported cloud-config keys")
      })
    )
  }
})

describe.concurrent("list items written as Python writes them", () => {
  it.scopedLive("runcmd and bootcmd argument lists: booleans are True and False, null None, a whole float with its .0, a date its text", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nbootcmd:\n  - [echo, false, no]\nruncmd:\n  - [echo, 1, true, 2.50, yes, 9.0]\n  - echo true\n  - [echo, -n, 2024-01-01, null]\n"
      const i = yield* userDataInstance(doc)
      yield* firstBoot(i)
      expect(i.read("/var/lib/cloud/user-data.bootcmd")).toBe("#!/bin/sh\n'echo' 'False' 'False'\n")
      expect(i.read("/var/lib/cloud/user-data.runcmd")).toBe("#!/bin/sh\n'echo' '1' 'True' '2.5' 'True' '9.0'\necho true\n'echo' '-n' '2024-01-01' 'None'\n")
    })
  )

  it.scopedLive("a package pair's version: true is True; a false, 0, empty or null version, or none ([name], with a warning: cloud-init's schema wants a pair), gives the name alone", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\npackages:\n  - [flag, true]\n  - [plain, false]\n  - [zero, 0]\n  - [empty, '']\n  - [pinned, 1.2]\n  - [whole, 3.0]\n  - [unset, null]\n  - [alone]\n")
      const { early } = yield* firstBoot(i)
      // the pairs are cloud-init's own; the one-item list is installed as cloud-init's Alpine install_packages installs it, and said (its schema wants a pair)
      expect(early.stderr.split("\n").filter((l) => l.includes("packages"))).toEqual([
        "save_userdata: line 10: packages[7]: a one-item list, not the [name, version] pair cloud-init's schema asks for: installed as the name alone, as cloud-init installs it on Alpine"
      ])
      expect(i.commands()).toContain("apk add flag=True plain zero empty pinned=1.2 whole=3.0 unset alone")
    })
  )
})

describe.concurrent("`users: []`", () => {
  // cc_users_groups example 8 asks for no default user; the instance would be unreachable
  it.scopedLive("keeps the default user, and says so", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers: []\n")
      const { early } = yield* firstBoot(i)
      expect(early.stderr).toContain(
        "save_userdata: line 2: users: empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable\n"
      )
      expectReachable(i, "alpine")
      expect(i.commands()).toContain("addgroup alpine wheel")
    })
  )

  it.scopedLive("says nothing when `user` names the default user", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nuser: bob\nusers: []\n")
      const { early } = yield* firstBoot(i)
      expect(early.stderr).not.toContain("users:")
      expectReachable(i, "bob")
    })
  )
})
