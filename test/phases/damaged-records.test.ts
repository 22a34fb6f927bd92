/**
 * The records a first boot keeps so that a rerun converges (the directories
 * write_files made, the user programs that ran, the journals of users and
 * appends), found damaged, unwritable or left by an image's builder: the
 * boot does its work as an undisturbed one does. In-process; the phases
 * killed while they write them are in test/smoke/killed-runcmd.
 */
import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { makeTestInstance } from "../support/instance.js"
import { scopedDir } from "../support/scratch.js"

/** an aws instance with this user-data; its metadata service always answers (see PATIENT_METADATA) */
/** a final phase that does its work but does not mark the bootstrap complete, as one killed just before the marker: the first boot's journals stay */
const NO_MARKER = { SKIP_INIT_ACTIONS: "bootstrap_complete" }

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl cloud"

const instanceWith = (userData: string) => makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { userData: new TextEncoder().encode(userData) } })

const marks = scopedDir("tiny-cloud-ran-", tmpdir())

describe.concurrent("a record of the directories write_files made, corrupt", () => {
  it.scopedLive("gives the owner only to directories above the file, whatever it names for it", () =>
    Effect.gen(function* () {
      const userData = "#cloud-config\nusers:\n  - default\n  - name: appuser\nwrite_files:\n  - path: /home/appdata/conf/settings.conf\n    content: x\n    owner: appuser\n"
      const instance = yield* instanceWith(userData)
      const record = [{ index: 0, path: "/home/appdata/conf/settings.conf", directories: ["/etc", "/../../tmp", "/", "/home/appdata/conf/settings.conf", "/home/appdata"] }]
      instance.write("/var/lib/cloud/.write_files-directories", JSON.stringify(record))
      for (const phase of ["boot", "early", "main"]) expect((yield* instance.run([phase])).code).toBe(0)
      expect(instance.commands().filter((c) => c.startsWith("chown "))).toEqual([
        `chown -h appuser ${instance.root}/home/appdata`,
        `chown -h appuser ${instance.root}/home/appdata/conf`,
        `chown -h appuser ${instance.root}/home/appdata/conf/settings.conf`
      ])
    })
  )
})

describe.concurrent("a record of user programs that ran, left by an image's builder (the marker removed by hand), or made for other user-data", () => {
  it.scopedLive("does not keep this instance's runcmd from running", () =>
    Effect.gen(function* () {
      const runs = join(yield* marks, "runs")
      const instance = yield* instanceWith(`#cloud-config\nruncmd:\n  - echo runcmd >> ${runs}\n`)
      instance.write("/var/lib/cloud/.userdata-ran", "userdata_runcmd 0123456789abcdef\n")
      expect((yield* instance.boot()).map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
    })
  )
})

describe.concurrent("a record of user programs that ran which cannot be written (a directory in its place)", () => {
  it.scopedLive("costs one warning: runcmd runs and its action is done, as before there was a record", () =>
    Effect.gen(function* () {
      const runs = join(yield* marks, "runs")
      const instance = yield* instanceWith(`#cloud-config\nruncmd:\n  - echo runcmd >> ${runs}\n`)
      instance.write("/var/lib/cloud/.userdata-ran/x", "")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[3]!.stderr).toMatch(/\nuserdata_runcmd: cannot record that its programs ran: [^\n]+\n {3}\+\+ userdata_runcmd: done\n/)
      expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )
})

describe.concurrent("the journal of the users made which cannot be written (a directory in its place, as a full state directory refuses it)", () => {
  it.scopedLive("costs one warning: the user is made with its password and keys, and userdata_users is done", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops"
      const instance = yield* instanceWith(`#cloud-config\nusers:\n  - default\n  - name: ops\n    ssh_authorized_keys: ["${key}"]\n`)
      instance.write("/var/lib/cloud/.users-created/x", "")
      const results = yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase]))
      expect(results.map((r) => r.code)).toEqual([0, 0, 0])
      expect(results[2]!.stderr).toMatch(/\nuserdata_users: ops: cannot record that this first boot made it: [^\n]+\n {3}\+\+ userdata_users: done\n/)
      expect(instance.read("/etc/passwd")).toMatch(/^ops:/m)
      expect(instance.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toContain("ops:*\n")
      expect(instance.read("/home/ops/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(instance.mode("/home/ops/.ssh/authorized_keys")).toBe(0o600)
    })
  )
})

describe.concurrent("the journal of the default user made which cannot be written (a directory in its place, as a full state directory refuses it)", () => {
  it.scopedLive("costs one warning, as userdata_users' does: the default user is made with the options user-data asks, its password and keys", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        env: PATIENT_METADATA,
        instance: { sshKeys: [KEY], userData: new TextEncoder().encode("#cloud-config\nusers:\n  - default\n  - name: alpine\n    gecos: Ops Team\n") }
      })
      instance.write("/var/lib/cloud/.default-user-created/x", "")
      const results = yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase]))
      expect(results.map((r) => r.code)).toEqual([0, 0, 0])
      // before: nothing said; a rerun after a kill then took the account for the image's own, its options 'not applied'
      expect(results[2]!.stderr).toMatch(/\ncreate_default_user: alpine: cannot record that this first boot made it: [^\n]+\n {3}\+\+ create_default_user: done\n/)
      expect(instance.commands()).toContain("adduser -h /home/alpine -s /bin/sh -G alpine -D -g Ops Team alpine")
      expect(instance.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toContain("alpine:*\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )
})

describe.concurrent("the new versions of the account files busybox left when an adduser was killed part-way (/etc/passwd+, /etc/group+, /etc/shadow+)", () => {
  it.scopedLive("are removed, each said: the default user and user-data's users are made with their passwords and keys, the hostname set", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops"
      const instance = yield* makeTestInstance({
        cloud: "aws",
        env: PATIENT_METADATA,
        instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY], userData: new TextEncoder().encode(`#cloud-config\nusers:\n  - default\n  - name: ops\n    ssh_authorized_keys: ["${key}"]\n`) }
      })
      for (const file of ["/etc/passwd", "/etc/group", "/etc/shadow"]) instance.write(`${file}+`, instance.read(file)!)
      const results = yield* instance.boot()
      // before: 'create_default_user: adduser: exited with status 1' (busybox: can't create '/etc/passwd+': File exists), main
      // stopped there, without the user, its keys or the hostname, and the bootstrap was complete
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      for (const file of ["/etc/passwd+", "/etc/group+", "/etc/shadow+"]) {
        expect(results[2]!.stderr).toContain(`\ncreate_default_user: removed ${file}, left by an account edit that was killed part-way`)
        expect(instance.read(file)).toBeUndefined()
      }
      expect(instance.read("/etc/passwd")).toMatch(/^alpine:.*\n(?:.*\n)*ops:/m)
      expect(instance.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toEqual(["alpine:*\n", "ops:*\n"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/home/ops/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(instance.read("/etc/hostname")).toBe("ip-10-0-0-1\n")
    })
  )
})

describe.concurrent("a record of user programs that ran, damaged to a huge file (600 MiB, more than a string holds)", () => {
  it.scopedLive("is not read: runcmd runs and its action is done; the record is replaced by one a rerun uses", () =>
    Effect.gen(function* () {
      const runs = join(yield* marks, "runs")
      const instance = yield* instanceWith(`#cloud-config\nruncmd:\n  - echo runcmd >> ${runs}\n`)
      instance.write("/var/lib/cloud/.userdata-ran", "")
      // sparse: it takes no room
      truncateSync(join(instance.root, "var/lib/cloud/.userdata-ran"), 600 * 1024 * 1024)
      // final without its marker, as a crash before it leaves the first boot: the record stays for the rerun
      const results = yield* instance.boot(NO_MARKER)
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[3]!.stderr).toContain("   ++ userdata_runcmd: done\n")
      expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
      expect(statSync(join(instance.root, "var/lib/cloud/.userdata-ran")).size).toBeLessThan(100)
      expect((yield* instance.run(["final"])).stderr).toContain("userdata_runcmd: its programs ran to their end in this first boot already; not run again\n")
      expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
    })
  )
})

describe.concurrent("the journals of write_files and users, damaged to huge files (600 MiB, more than a string holds)", () => {
  it.scopedLive("are not read: the files are written and appended once, the users made; the journals are replaced by ones a rerun uses", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nusers: [default, {name: ops}]\nwrite_files:\n  - {path: /srv/app/notes, content: "one\\n", append: true, owner: "ops:ops"}\n`
      const instance = yield* instanceWith(doc)
      const journals = [".users-created", ".write_files-appended", ".write_files-directories"].map((name) => join(instance.root, "var/lib/cloud", name))
      for (const journal of journals) {
        writeFileSync(journal, "")
        // sparse: it takes no room
        truncateSync(journal, 600 * 1024 * 1024)
      }
      // main run again, as after a crash (a completed first boot leaves no journal)
      const results = yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase]))
      expect(results.map((r) => r.code)).toEqual([0, 0, 0])
      expect(results[2]!.stderr).toContain("   ++ userdata_users: done\n")
      expect(results[2]!.stderr).toContain("   ++ userdata_write_files: done\n")
      expect(instance.read("/srv/app/notes")).toBe("one\n")
      for (const journal of journals) expect(statSync(journal).size).toBeLessThan(1000)
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/srv/app/notes")).toBe("one\n")
    })
  )
})

describe.concurrent("the journals of write_files, a directory in their place (they cannot be written, as in a full or read-only state directory)", () => {
  const doc = `#cloud-config\nusers: [default, {name: ops}]\nwrite_files:\n  - {path: /srv/app/conf/one, content: "one\\n", owner: "ops:ops"}\n  - {path: /srv/two, content: "two\\n"}\n  - {path: /etc/motd, content: "three\\n", append: true}\n`
  const owned = (root: string) => ["/srv", "/srv/app", "/srv/app/conf", "/srv/app/conf/one"].map((p) => `chown -h ops:ops ${root}${p}`)

  it.scopedLive(".write_files-directories: said in one line naming it and the entry; every file is written and given its owner all the same, the files after it too", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(doc)
      instance.write("/var/lib/cloud/.write_files-directories/x", "")
      const main = (yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase])))[2]!
      const journal = join(instance.root, "var/lib/cloud/.write_files-directories")
      expect(main.stderr).toContain(`userdata_write_files: write_files[0]: cannot record the directories this first boot makes for it: write ${journal}: not a regular file; refused\n`)
      expect(main.stderr).toContain("   ++ userdata_write_files: done\n")
      expect([instance.read("/srv/app/conf/one"), instance.read("/srv/two"), instance.read("/etc/motd")]).toEqual(["one\n", "two\n", "three\n"])
      expect(instance.commands().filter((c) => c.startsWith("chown -h ops:ops"))).toEqual(owned(instance.root))
    })
  )

  it.scopedLive(".write_files-appended: the append is not made (no rerun makes it twice), its line names the record; the other files are written", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(doc)
      instance.write("/var/lib/cloud/.write_files-appended/x", "")
      const main = (yield* Effect.forEach(["boot", "early", "main"], (phase) => instance.run([phase])))[2]!
      const journal = join(instance.root, "var/lib/cloud/.write_files-appended")
      expect(main.stderr).toContain(`write_files: cannot write /etc/motd: the append's record: write ${journal}: not a regular file; refused\n`)
      expect([instance.read("/srv/app/conf/one"), instance.read("/srv/two"), instance.read("/etc/motd")]).toEqual(["one\n", "two\n", undefined])
      expect(instance.commands().filter((c) => c.startsWith("chown -h ops:ops"))).toEqual(owned(instance.root))
    })
  )
})
