import { execFileSync, spawn, spawnSync } from "node:child_process"
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { actionLines, makeTestInstance, type InstanceOptions, type RunResult, type TestInstance } from "../support/instance.js"
import { lineOf } from "../support/layers.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { releaseFifo } from "../support/fifo.js"
import { skipAtRun } from "../support/system.js"
import { bytesOf } from "../../src/domain/text.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB b@example"
const KEY_C = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyC c@example"

const b64 = (data: string | Uint8Array) => Buffer.from(data).toString("base64")

/** an aws instance with this user-data; user programs run with the instance's environment (`$ROOT`) */
const userDataInstance = (userData: string | Uint8Array, options: InstanceOptions = {}) =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({
      cloud: "aws",
      ...options,
      env: { ...PATIENT_METADATA, ...options.env },
      instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY_A], ...options.instance, userData: typeof userData === "string" ? bytesOf(userData) : userData }
    })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    return i
  })

const phases = (i: TestInstance, names: ReadonlyArray<string> = ["early", "main", "final"]) =>
  Effect.gen(function* () {
    const results: Record<string, RunResult> = {}
    for (const name of names) results[name] = yield* i.run([name])
    return results
  })

const expectCodes = (results: Record<string, RunResult>, code = 0) => {
  for (const [name, r] of Object.entries(results)) expect({ name, code: r.code, stderr: r.code === code ? "" : r.stderr }).toEqual({ name, code, stderr: "" })
}

const started = (stderr: string) => actionLines(stderr).filter((l) => l.endsWith(": starting")).map((l) => l.slice(6, -10))

describe.concurrent("#alpine-config", () => {
  it.scopedLive("places its actions as §6 says and carries out every key", () =>
    Effect.gen(function* () {
      const gz = b64(gzipSync("zipped\n"))
      const doc = `#alpine-config
user: bob
ssh_authorized_keys:
  - ${KEY_B}
  - ${KEY_C}
bootcmd:
  - echo boot >> "$ROOT/tmp/bootcmd"
  - [sh, -c, 'echo argv >> "$ROOT/tmp/bootcmd"']
runcmd:
  - echo run >> "$ROOT/tmp/runcmd"
write_files:
  - path: /srv/app/plain.txt
    content: "hello\\n"
  - path: /srv/app/secret.conf
    content: "token\\n"
    permissions: "0600"
    owner: bob:bob
  - path: /srv/app/b64.bin
    encoding: b64
    content: ${b64("base64 text\n")}
  - path: /srv/app/zipped.txt
    encoding: gzip+base64
    content: ${gz}
  - path: /srv/app/binary.bin
    content: !!binary ${b64(new Uint8Array([0, 1, 2, 255]))}
  - path: /etc/motd
    content: "second line\\n"
    append: true
  - content: no path here
ntp:
  enabled: true
apk:
  cache: /var/cache/apk
  repositories:
    - base_url: https://mirror.example/alpine
      version: v3.20
      repos: [main, community]
package_update: true
package_upgrade: true
packages: [vim, curl]
`
      const i = yield* userDataInstance(doc)
      i.write("/etc/motd", "first line\n")
      i.write("/etc/apk/repositories", "https://mirror.example/alpine/v3.20/main\n")
      const early = yield* i.run(["early"])
      const main = yield* i.run(["main"])
      expectCodes({ early, main })
      expect(started(main.stderr)).toEqual([
        "userdata_user",
        "create_default_user",
        "set_hostname",
        "userdata_bootcmd",
        "userdata_write_files",
        "userdata_ntp",
        "userdata_apk_cache",
        "userdata_apk_repositories",
        "userdata_package_update",
        "userdata_package_upgrade",
        "userdata_packages",
        "set_ssh_keys",
        "ssh_authorized_keys"
      ])
      // user: CLOUD_USER is bob for this run; keys appended after the cloud's
      expect(i.read("/etc/passwd")).toContain("\nbob:x:")
      expect(i.read("/etc/passwd")).not.toContain("alpine")
      expect(i.read("/home/bob/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n${KEY_C}\n`)
      expect(i.mode("/home/bob/.ssh/authorized_keys")).toBe(0o600)
      // bootcmd in main, in order, argv entries as argv; runcmd not yet
      expect(i.read("/tmp/bootcmd")).toBe("boot\nargv\n")
      expect(i.read("/tmp/runcmd")).toBeUndefined()
      // write_files
      expect(i.read("/srv/app/plain.txt")).toBe("hello\n")
      expect(i.mode("/srv/app/plain.txt")).toBe(0o644)
      expect(i.read("/srv/app/secret.conf")).toBe("token\n")
      expect(i.mode("/srv/app/secret.conf")).toBe(0o600)
      expect(i.read("/srv/app/b64.bin")).toBe("base64 text\n")
      expect(i.read("/srv/app/zipped.txt")).toBe("zipped\n")
      expect([...readFileSync(join(i.root, "srv/app/binary.bin"))]).toEqual([0, 1, 2, 255])
      expect(i.read("/etc/motd")).toBe("first line\nsecond line\n")
      // apk cache: a relative link
      expect(lstatSync(join(i.root, "var/cache/apk")).isDirectory()).toBe(true)
      expect(readlinkSync(join(i.root, "etc/apk/cache"))).toBe("../../var/cache/apk")
      // repositories: each line once
      expect(i.read("/etc/apk/repositories")).toBe("https://mirror.example/alpine/v3.20/main\nhttps://mirror.example/alpine/v3.20/community\n")
      const root = i.root
      expect(i.commands().filter((c) => !c.startsWith("addgroup") && !c.startsWith("adduser") && !c.startsWith("chpasswd"))).toEqual([
        `hostname -F ${root}/etc/hostname`,
        // the bootcmd entries: a string through sh -c, a list as its argv
        `sh -c echo boot >> "$ROOT/tmp/bootcmd"`,
        `sh -c echo argv >> "$ROOT/tmp/bootcmd"`,
        `chown -h root:root ${root}/srv/app/plain.txt`,
        `chown -h bob:bob ${root}/srv/app/secret.conf`,
        `chown -h root:root ${root}/srv/app/b64.bin`,
        `chown -h root:root ${root}/srv/app/zipped.txt`,
        `chown -h root:root ${root}/srv/app/binary.bin`,
        `chown -h root:root ${root}/etc/motd`,
        // BEHAVIOUR.md 6: ntp is `apk add chrony`; `apk update` only for package_update
        "apk add chrony",
        "rc-update add chronyd default",
        "rc-service chronyd start",
        "apk update",
        "apk upgrade",
        "apk add vim curl"
      ])
      expect(i.commands()).toContain("adduser -h /home/bob -s /bin/sh -G bob -D bob")

      const final = yield* i.run(["final"])
      expectCodes({ final })
      expect(started(final.stderr)).toEqual(["userdata_runcmd", "userdata_autoinstall", "bootstrap_complete"])
      expect(i.read("/tmp/runcmd")).toBe("run\n")
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("user-data nothing can be used of fails each action that needs it, its problem logged once in the phase, by the first", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\n- not\n- a map\n")
      const { main } = yield* phases(i, ["early", "main"])
      expect(main!.code).toBe(1)
      const problems = main!.stderr.split("\n").filter((l) => l.includes(": invalid user-data: "))
      expect(problems.length, main!.stderr).toBe(1)
      expect(problems[0]).toMatch(/^userdata_user: invalid user-data: /)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )

  it.scopedLive("an append is recorded before it is made: one whose record cannot be written is not made, so that no rerun makes it twice", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#alpine-config\nwrite_files:\n  - path: /etc/motd\n    content: "added\\n"\n    append: true\n')
      i.write("/etc/motd", "first\n")
      // a directory with a file in it where the record goes: it cannot be replaced
      mkdirSync(join(i.root, "var/lib/cloud/.write_files-appended/in-the-way"), { recursive: true })
      const { main } = yield* phases(i, ["early", "main"])
      expect(main!.code).toBe(1)
      expect(i.read("/etc/motd")).toBe("first\n")
      rmSync(join(i.root, "var/lib/cloud/.write_files-appended"), { recursive: true })
      expectCodes(yield* phases(i, ["main"]))
      expect(i.read("/etc/motd")).toBe("first\nadded\n")
    })
  )

  it.scopedLive("an append happens once per first boot: a rerun after a crash does not repeat it, --bootstrap incomplete does", () =>
    Effect.gen(function* () {
      const doc = `#alpine-config
write_files:
  - path: /etc/motd
    content: "added\\n"
    append: true
  - path: /etc/motd
    content: "added\\n"
    append: true
`
      const i = yield* userDataInstance(doc)
      i.write("/etc/motd", "first\n")
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/etc/motd")).toBe("first\nadded\nadded\n")
      // main again, as after a crash before the bootstrap completed
      expectCodes(yield* phases(i, ["main"]))
      expect(i.read("/etc/motd")).toBe("first\nadded\nadded\n")
      // a crash between the journal and the file: the file lacks the append, so it is made
      i.write("/etc/motd", "first\nadded\n")
      expectCodes(yield* phases(i, ["main"]))
      expect(i.read("/etc/motd")).toBe("first\nadded\nadded\n")
      expectCodes(yield* phases(i, ["final"]))
      expectCodes({ incomplete: yield* i.run(["--bootstrap", "incomplete"]) })
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/etc/motd")).toBe("first\nadded\nadded\nadded\nadded\n")
    })
  )

  it.scopedLive("writes binary content byte-exact", () =>
    Effect.gen(function* () {
      const data = new Uint8Array([0, 1, 2, 127, 128, 255])
      const doc = `#alpine-config\nwrite_files:\n  - path: srv/raw.bin\n    content: !!binary ${b64(data)}\n  - path: /srv/gz.bin\n    encoding: gz\n    content: ${b64(gzipSync(data))}\n`
      const i = yield* userDataInstance(doc)
      expectCodes(yield* phases(i, ["early", "main"]))
      expect([...readFileSync(join(i.root, "srv/raw.bin"))]).toEqual([...data])
      expect([...readFileSync(join(i.root, "srv/gz.bin"))]).toEqual([...data])
    })
  )

  it.scopedLive("a set-user-ID or set-group-ID mode is the file's after its chown, which clears those bits on Linux (root's chown to the same owner too)", () =>
    Effect.gen(function* () {
      const doc = `#alpine-config\nwrite_files:\n  - {path: /usr/local/bin/suid, content: x, permissions: '4755'}\n  - {path: /usr/local/bin/sgid, content: x, permissions: '2755', owner: 'root:wheel'}\n  - {path: /srv/plain, content: x, permissions: '0750'}\n`
      const i = yield* userDataInstance(doc, {
        // the kernel's part of a chown: S_ISUID always goes, S_ISGID with group execution
        answer: (c) => {
          if (c.command !== "chown") return undefined
          const path = c.args[c.args.length - 1]!
          const mode = statSync(path).mode & 0o7777
          chmodSync(path, mode & ~(0o4000 | (mode & 0o010 ? 0o2000 : 0)))
          return undefined
        }
      })
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.mode("/usr/local/bin/suid")).toBe(0o4755)
      expect(i.mode("/usr/local/bin/sgid")).toBe(0o2755)
      expect(i.mode("/srv/plain")).toBe(0o750)
    })
  )

  it.scopedLive("a user map without a name: the problem is logged once with its line, the default user is kept", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nuser:\n  shell: /bin/ash\npackages: [vim]\n")
      const { early, main } = yield* phases(i, ["early", "main"])
      expectCodes({ early: early!, main: main! })
      expect(early!.stderr).toContain("save_userdata: invalid user-data: line 2: user: a user map needs a name; the default user is kept\n")
      expect(main!.stderr).not.toContain("invalid user-data")
      expect(main!.stderr).toContain("   ++ userdata_user: done\n")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(i.commands()).toContain("apk add vim")
    })
  )

  it.scopedLive("a user map without a name as the only key: the problem is logged, the default user is kept, and nothing else fails", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nuser:\n  shell: /bin/ash\n")
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(early!.stderr).toContain("\nsave_userdata: invalid user-data: line 2: user: a user map needs a name; the default user is kept\n")
      expect(actionLines(main!.stderr).filter((l) => !l.endsWith(": starting") && !l.endsWith(": done"))).toEqual([])
      expect(main!.stderr).not.toContain("invalid")
      expect(i.commands()).toContain("adduser -h /home/alpine -s /bin/sh -G alpine -D alpine")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("a write_files entry without a path is skipped with a warning; as the only entry it fails nothing", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nwrite_files:\n  - content: orphan\n")
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(early!.stderr).toBe("\n   ++ save_userdata: starting\nsave_userdata: line 3: write_files[0]: no path; skipped\n   ++ save_userdata: done\n")
      expect(main!.stderr).not.toContain("invalid")
      expect(actionLines(main!.stderr).filter((l) => !l.endsWith(": starting") && !l.endsWith(": done"))).toEqual([])
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("apk repositories: version from /etc/os-release, edge for edge and alpha releases, explicit versions kept", () =>
    Effect.gen(function* () {
      const doc = `#alpine-config
apk:
  repositories:
    - base_url: https://dl-cdn.alpinelinux.org/alpine/
      repos: [main, community]
    - base_url: https://edge.example/alpine
      version: edge
      repos: [testing]
    - base_url: https://local.example/repo
      version: "."
      repos: [extra]
`
      const i = yield* userDataInstance(doc)
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/etc/apk/repositories")).toBe(
        [
          "https://dl-cdn.alpinelinux.org/alpine/v3.21/main",
          "https://dl-cdn.alpinelinux.org/alpine/v3.21/community",
          "https://edge.example/alpine/edge/testing",
          "https://local.example/repo/extra",
          ""
        ].join("\n")
      )
      expect(i.mode("/etc/apk/repositories")).toBe(0o644)
      expect(i.commands()).not.toContain("setup-apkrepos -1 -c")
      // an alpha release counts as edge; lines already there stay single
      i.write("/etc/os-release", "ID=alpine\nVERSION_ID=3.22.0_alpha20250108\n")
      rmSync(join(i.root, "var/lib/cloud/.bootstrap-complete"), { force: true })
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/etc/apk/repositories")!.split("\n").filter((l) => l.includes("v3.21/main"))).toHaveLength(1)
      expect(i.read("/etc/apk/repositories")).toContain("https://dl-cdn.alpinelinux.org/alpine/edge/main\n")
      // os-release(5) allows the value quoted
      i.write("/etc/os-release", 'ID=alpine\nVERSION_ID="3.20.3"\n')
      rmSync(join(i.root, "var/lib/cloud/.bootstrap-complete"), { force: true })
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/etc/apk/repositories")).toContain("https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n")
    })
  )

  it.scopedLive("apk repositories on an image without a release in /etc/os-release: one without a version is added as BASE/REPO, as the shell edition does, with one warning", () =>
    Effect.gen(function* () {
      // the shell edition's own case (userdata_apk_repositories, no os-release): a local repository, and one with its version
      const doc = `#alpine-config
apk:
  repositories:
    - base_url: /srv/packages
      repos: [ "main", "community" ]
    - base_url: https://edge.example/alpine
      version: edge
      repos: [testing]
packages: [tmux]
`
      for (const osRelease of [undefined, 'NAME="Alpine Linux"\nID=alpine\n']) {
        const i = yield* userDataInstance(doc)
        if (osRelease === undefined) rmSync(join(i.root, "etc/os-release"))
        else i.write("/etc/os-release", osRelease)
        expectCodes(yield* phases(i, ["early"]))
        const main = yield* i.run(["main"])
        expect(main.code).toBe(0)
        expect(main.stderr.split("\n").filter((l) => l.startsWith("userdata_apk_repositories"))).toEqual([
          "userdata_apk_repositories: no release (VERSION_ID) in /etc/os-release: 1 repository without a version added as BASE/REPO"
        ])
        expect(actionLines(main.stderr)).toContain("   ++ userdata_apk_repositories: done")
        expect(i.read("/etc/apk/repositories")).toBe("/srv/packages/main\n/srv/packages/community\nhttps://edge.example/alpine/edge/testing\n")
        expect(i.commands()).toContain("apk add tmux")
        expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      }
    })
  )

  it.scopedLive("no apk key: setup-apkrepos -1 -c only when there is no repositories file", () =>
    Effect.gen(function* () {
      const without = yield* userDataInstance("#alpine-config\npackages: [jq]\n")
      expectCodes(yield* phases(without, ["early", "main"]))
      expect(without.commands()).toContain("setup-apkrepos -1 -c")
      expect(without.commands().indexOf("setup-apkrepos -1 -c")).toBeLessThan(without.commands().indexOf("apk add jq"))

      const withFile = yield* userDataInstance("#alpine-config\npackages: [jq]\n")
      withFile.write("/etc/apk/repositories", "https://x/v3.21/main\n")
      expectCodes(yield* phases(withFile, ["early", "main"]))
      expect(withFile.commands()).not.toContain("setup-apkrepos -1 -c")
      expect(withFile.commands()).toContain("apk add jq")
    })
  )

  it.scopedLive("a repository whose URL carries a user and password (a private mirror's) makes /etc/apk/repositories root's alone, added to or replaced", () =>
    Effect.gen(function* () {
      // added to the image's file (0644) by #alpine-config
      const added = yield* userDataInstance(`#alpine-config
apk:
  repositories:
    - base_url: https://deploy:S3CRET-MIRROR@mirror.example/alpine
      version: v3.21
      repos: [main]
`)
      added.write("/etc/apk/repositories", "https://dl-cdn.alpinelinux.org/alpine/v3.21/main\n")
      expectCodes(yield* phases(added, ["early", "main"]))
      expect(added.read("/etc/apk/repositories")).toBe("https://dl-cdn.alpinelinux.org/alpine/v3.21/main\nhttps://deploy:S3CRET-MIRROR@mirror.example/alpine/v3.21/main\n")
      expect(added.mode("/etc/apk/repositories")).toBe(0o600)
      // replaced (cloud-config apk_repos), and made where there was none
      const doc = `#cloud-config
apk_repos:
  alpine_repo:
    base_url: https://deploy:S3CRET-MIRROR@mirror.example/alpine
    version: v3.21
`
      const replaced = yield* userDataInstance(doc)
      replaced.write("/etc/apk/repositories", "https://dl-cdn.alpinelinux.org/alpine/v3.21/main\n")
      chmodSync(join(replaced.root, "etc/apk/repositories"), 0o640)
      expectCodes(yield* phases(replaced, ["early", "main"]))
      expect(replaced.read("/etc/apk/repositories")).toBe("https://deploy:S3CRET-MIRROR@mirror.example/alpine/v3.21/main\n")
      expect(replaced.mode("/etc/apk/repositories")).toBe(0o600)
      const made = yield* userDataInstance("#alpine-config\napk:\n  repositories:\n    - {base_url: 'https://:S3CRET-TOKEN@mirror.example/alpine', version: v3.21, repos: [main]}\n")
      expectCodes(yield* phases(made, ["early", "main"]))
      expect(made.mode("/etc/apk/repositories")).toBe(0o600)
      // nor is a line without credentials any other's business: the image's mode is kept
      const plain = yield* userDataInstance("#alpine-config\napk:\n  repositories:\n    - {base_url: 'https://mirror.example/alpine/@edge', version: v3.21, repos: [main]}\n")
      plain.write("/etc/apk/repositories", "https://dl-cdn.alpinelinux.org/alpine/v3.21/main\n")
      expectCodes(yield* phases(plain, ["early", "main"]))
      expect(plain.mode("/etc/apk/repositories")).toBe(0o644)
    })
  )

  it.scopedLive("cloud-config apk_repos: edge's testing written as cloud-init writes it, so that its packages install by name; the file's mode and owner kept", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config
apk_repos:
  alpine_repo:
    base_url: https://mirror.example/alpine
    version: v3.20
    community_enabled: true
    testing_enabled: true
  local_repo_base_url: https://local.example/repo
packages: [jq]
`
      const i = yield* userDataInstance(doc)
      // an image's file that holds a mirror's credentials: root's alone
      i.write("/etc/apk/repositories", "https://user:secret@mirror.example/alpine/v3.20/main\n")
      chmodSync(join(i.root, "etc/apk/repositories"), 0o600)
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/etc/apk/repositories")).toBe(
        [
          "https://mirror.example/alpine/v3.20/main",
          "https://mirror.example/alpine/v3.20/community",
          "https://mirror.example/alpine/edge/testing",
          "https://local.example/repo/v3.20",
          ""
        ].join("\n")
      )
      expect(i.mode("/etc/apk/repositories")).toBe(0o600)

      // cloud-init's own example (edge, with testing) and a package testing alone has: apk, which takes a package from a
      // repository tagged @TAG only when asked for as NAME@TAG, installs it from the lines written
      const edge = `#cloud-config
apk_repos:
  alpine_repo:
    base_url: https://some-alpine-mirror/alpine
    community_enabled: true
    testing_enabled: true
    version: edge
  local_repo_base_url: https://my-local-server/local-alpine
packages: [testing-only]
`
      let root = ""
      const j = yield* userDataInstance(edge, {
        answer: (c) => {
          if (c.command !== "apk" || c.args[0] !== "add") return undefined
          const lines = readFileSync(join(root, "etc/apk/repositories"), "utf8").split("\n")
          const found = lines.some((l) => l === "https://some-alpine-mirror/alpine/edge/testing")
          return found ? undefined : { exitCode: 1, stderr: bytesOf("ERROR: unable to select packages:\n  testing-only (no such package)\n") }
        }
      })
      root = j.root
      const { main } = yield* phases(j, ["early", "main"])
      expect(main!.stderr).toContain("   ++ userdata_packages: done\n")
      expect(j.commands()).toContain("apk add testing-only")
    })
  )

  it.scopedLive("cloud-config apk_repos: an empty version leaves the repositories alone, an empty local_repo_base_url adds none, as cloud-init reads them", () =>
    Effect.gen(function* () {
      const image = "https://mirror.example/alpine/v3.21/main\n"
      // a template's values left empty: cloud-init skips the module ('version' not specified), and its template adds no local line
      const empty = yield* userDataInstance('#cloud-config\napk_repos:\n  alpine_repo:\n    version: ""\n    community_enabled: true\n  local_repo_base_url: https://local.example/repo\npackages: [jq]\n')
      empty.write("/etc/apk/repositories", image)
      const { early } = yield* phases(empty, ["early", "main"])
      expect(empty.read("/etc/apk/repositories")).toBe(image)
      expect(early!.stderr).toContain("save_userdata: line 4: apk_repos.alpine_repo.version: empty; repositories left alone, as cloud-init leaves them\n")
      expect(empty.commands()).toContain("apk add jq")

      const noLocal = yield* userDataInstance('#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n  local_repo_base_url: ""\n')
      noLocal.write("/etc/apk/repositories", image)
      const run = yield* phases(noLocal, ["early", "main"])
      expectCodes(run)
      expect(noLocal.read("/etc/apk/repositories")).toBe("https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n")
    })
  )

  for (const [client, expected] of [
    ["busybox", ["rc-update add ntpd default", "rc-service ntpd start"]],
    ["openntpd", ["apk add openntpd", "rc-update add openntpd default", "rc-service openntpd start"]]
  ] as const) {
    it.scopedLive(`ntp with ${client}`, () =>
      Effect.gen(function* () {
        const i = yield* userDataInstance(`#alpine-config\nntp:\n  enabled: true\n  ntp_client: ${client}\napk: {}\n`)
        expectCodes(yield* phases(i, ["early", "main"]))
        expect(i.commands().filter((c) => /^(apk|rc-)/.test(c) && !c.includes("sshd"))).toEqual(expected)
      })
    )
  }

  it.scopedLive("ntp adds its package with apk add alone, as BEHAVIOUR.md 6 has it: no apk update the document does not ask for, an installed chrony too", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nntp:\n  enabled: true\napk: {}\n")
      i.write("/lib/apk/db/installed", "C:Q1x=\nP:chrony\nV:4.6-r0\n\n")
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.commands().filter((c) => /^(apk|rc-)/.test(c) && !c.includes("sshd"))).toEqual(["apk add chrony", "rc-update add chronyd default", "rc-service chronyd start"])
    })
  )

  it.scopedLive("ntp not enabled does nothing", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nntp:\n  enabled: false\napk: {}\n")
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.commands().filter((c) => /^(apk|rc-)/.test(c))).toEqual([])
    })
  )

  it.scopedLive("INIT_ACTIONS_MAIN without the place of some of its actions (no set_hostname): those are not run, as in the shell edition, and a warning names them", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(`#alpine-config\nuser: bob\nssh_authorized_keys: [${KEY_B}]\npackages: [vim]\nwrite_files: [{path: /etc/motd, content: hi}]\n`)
      expect((yield* i.run(["early"])).code).toBe(0)
      const main = yield* i.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_ssh_keys" })
      expect(main.code, main.stderr).toBe(0)
      expect(started(main.stderr)).toEqual(["userdata_user", "create_default_user", "set_ssh_keys", "ssh_authorized_keys"])
      expect(main.stderr).toContain(
        "user-data actions not run: userdata_bootcmd userdata_write_files userdata_ntp userdata_apk_cache userdata_apk_repositories userdata_package_update userdata_package_upgrade userdata_packages: the main phase's actions (INIT_ACTIONS_MAIN) have no set_hostname to run them after\n"
      )
      expect(i.commands()).not.toContain("apk add vim")
      expect(i.read("/home/bob/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n`)
      // an action the list names itself runs where it stands, and is not named
      const again = yield* i.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user userdata_packages set_ssh_keys" })
      expect(again.stderr).toMatch(/user-data actions not run: userdata_bootcmd .*userdata_package_upgrade: /)
      expect(again.stderr).not.toMatch(/not run: .*userdata_packages/)
      expect(i.commands()).toContain("apk add vim")
    })
  )

  it.scopedLive("bootcmd runs every entry with sh -c, as the shell edition; the failures are named by index, never by text; the phase goes on", () =>
    Effect.gen(function* () {
      const doc = `#alpine-config\nbootcmd:\n  - "true"\n  - echo TOPSECRET-OUTPUT; exit 3\n  - cd /tmp\n  - pwd >> "$ROOT/tmp/after"\n  - [sh, -c, 'exit 5']\n  -\npackages: [vim]\n`
      const i = yield* userDataInstance(doc)
      const { early, main } = yield* phases(i, ["early", "main"])
      expect(early!.code).toBe(0)
      expect(main!.code).toBe(1)
      expect(main!.stderr).toContain("userdata_bootcmd: bootcmd[1] exited with status 3; bootcmd[4] exited with status 5\n")
      expect(main!.stderr).toContain("   ++ userdata_bootcmd: failed\n")
      expect(main!.stderr).not.toContain("TOPSECRET")
      expect(main!.stdout).toContain("TOPSECRET-OUTPUT\n")
      expect(i.read("/var/log/user-data.log")).toContain("TOPSECRET-OUTPUT\n")
      // each entry in its own shell: `cd` does not carry over
      expect(i.read("/tmp/after")).not.toBe("/tmp\n")
      expect(i.commands()).toContain("apk add vim")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )

  it.scopedLive("a bootcmd entry that leaves a process in the background (`daemon &`) does not hold the main phase up until it exits, as `sh -c` in the shell edition did not", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#alpine-config\nbootcmd:\n  - (cat "$ROOT/tmp/release" >/dev/null; echo late) &\n  - echo after >> "$ROOT/tmp/after"\n')
      const fifo = join(i.root, "tmp/release")
      execFileSync("mkfifo", [fifo])
      // the background process waits until the test releases it, however long that takes
      yield* Effect.addFinalizer(() => Effect.sync(() => releaseFifo(fifo)))
      const { early, main } = yield* phases(i, ["early", "main"])
      expectCodes({ early: early!, main: main! })
      expect(i.read("/tmp/after")).toBe("after\n")
      expect(main!.stderr).toContain("   ++ ssh_authorized_keys: done\n")
    })
  )

  it.scopedLive("a failing runcmd fails the final phase (exit 1), and the bootstrap still completes: it never runs twice", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nruncmd:\n  - [sh, -c, 'exit 4']\n")
      const { final } = yield* phases(i)
      expect(final!.code).toBe(1)
      expect(final!.stderr).toContain("userdata_runcmd: runcmd[0] exited with status 4\n   ++ userdata_runcmd: failed\n")
      expect(actionLines(final!.stderr).slice(-2)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: done"])
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("a runcmd entry that cannot be started (an argument with a NUL byte) is reported without its words, and the next entries still run", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#alpine-config\nruncmd:\n  - [echo, "secret\\0word"]\n  - echo after >> "$ROOT/tmp/after"\n')
      const { final } = yield* phases(i)
      expect(final!.code).toBe(1)
      expect(final!.stderr).toContain("userdata_runcmd: runcmd[0] cannot be started: an argument contains a NUL byte\n   ++ userdata_runcmd: failed\n")
      expect(final!.stderr).not.toContain("secret")
      expect(i.read("/tmp/after")).toBe("after\n")
    })
  )

  it.scopedLive("autoinstall: the largest empty whole disk, lbu include, setup-disk with ERASE_DISKS, reboot", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n")
      const disk = (name: string, size: number, partitions: Array<string> = []) => {
        i.write(`/sys/class/block/${name}/size`, `${size}\n`)
        for (const p of partitions) {
          i.write(`/sys/class/block/${name}/${p}/partition`, "1\n")
          i.write(`/sys/class/block/${p}/partition`, "1\n")
        }
      }
      disk("vdb", 2_000_000)
      disk("vdc", 9_000_000, ["vdc1"])
      // a partition is never a disk to install to, however large
      i.write("/sys/class/block/vdc1/size", "8000000\n")
      disk("vdd", 4_000_000)
      disk("loop0", 8_000_000)
      disk("sr0", 8_000_000)
      // a whole disk mounted as it is (no partitions), and one an LVM or RAID device holds, are in use
      disk("vde", 7_000_000)
      i.write("/proc/mounts", `${i.read("/proc/mounts") ?? ""}/dev/vde /data ext4 rw 0 0\n`)
      disk("vdf", 6_000_000)
      i.write("/sys/class/block/vdf/holders/dm-0", "")
      expectCodes(yield* phases(i, ["early", "main"]))
      const final = yield* i.run(["final"])
      expectCodes({ final })
      expect(final.stderr).toContain("userdata_autoinstall: installing to /dev/vdd\n")
      expect(i.invocations().slice(-3).map((c) => (c.env?.ERASE_DISKS === undefined ? lineOf(c) : `${lineOf(c)} ERASE_DISKS=${c.env.ERASE_DISKS}`))).toEqual([
        "lbu include /root/.ssh /home",
        "setup-disk -m sys /dev/vdd ERASE_DISKS=/dev/vdd",
        "reboot"
      ])
    })
  )

  it.scopedLive("autoinstall in a container: the block devices its sysfs shows are the host's, none is installed to and nothing reboots", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n")
      // the host's spare disk (or one it mounts whole, which the container's /proc/mounts does not show)
      i.write("/sys/class/block/sdb/size", "8000000\n")
      i.write("/proc/1/environ", "container=lxc\0")
      const { final } = yield* phases(i)
      expectCodes({ final: final! })
      expect(final!.stderr).toContain("userdata_autoinstall: in a container (lxc): its disks are the host's; not installed\n")
      expect(i.commands().filter((c) => /^(lbu|setup-disk|reboot)\b/.test(c))).toEqual([])
    })
  )

  // blkid: a line naming what it recognises on the device (busybox's a TYPE, util-linux's also a partition table's PTTYPE), nothing for a blank disk
  const blkidSays = (said: Record<string, string>) => (c: { command: string; args: ReadonlyArray<string> }) =>
    c.command === "blkid" && said[c.args[0] ?? ""] !== undefined ? { stdout: bytesOf(`${c.args[0]}: ${said[c.args[0]!]}\n`) } : undefined
  const installs = (i: TestInstance) => i.commands().filter((c) => /^(lbu|setup-disk|reboot)\b/.test(c))

  it.scopedLive("autoinstall passes over a whole disk blkid finds a signature on (a volume formatted unpartitioned, swap, LVM, a cidata seed): the largest blank one is installed to", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n", { answer: blkidSays({ "/dev/vdb": 'UUID="0b6f0c1e" TYPE="ext4"', "/dev/vdc": 'UUID="Ab3kPq" TYPE="LVM2_member"', "/dev/vde": 'PTUUID="7d1c" PTTYPE="gpt"' }) })
      i.write("/sys/class/block/vdb/size", "9000000\n")
      i.write("/sys/class/block/vdc/size", "8000000\n")
      i.write("/sys/class/block/vde/size", "5000000\n")
      i.write("/sys/class/block/vdd/size", "2000000\n")
      const { final } = yield* phases(i)
      expectCodes({ final: final! })
      expect(final!.stderr).toContain("userdata_autoinstall: passed over, not empty: /dev/vdb holds ext4, /dev/vdc holds LVM2_member, /dev/vde holds gpt\n")
      expect(final!.stderr).toContain("userdata_autoinstall: installing to /dev/vdd\n")
      expect(installs(i)).toEqual(["lbu include /root/.ssh /home", "setup-disk -m sys /dev/vdd", "reboot"])
    })
  )

  it.scopedLive("autoinstall with every disk holding a signature installs nothing and says so in one line", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n", { answer: blkidSays({ "/dev/vdb": 'UUID="5e2a" TYPE="swap"', "/dev/vdc": 'LABEL="cidata" UUID="1234-ABCD" TYPE="vfat"' }) })
      i.write("/sys/class/block/vdb/size", "9000000\n")
      i.write("/sys/class/block/vdc/size", "2000000\n")
      const { final } = yield* phases(i)
      expectCodes({ final: final! })
      expect(final!.stderr.split("\n").filter((l) => l.includes("userdata_autoinstall: ") && !actionLines(l).length)).toEqual([
        "userdata_autoinstall: no empty disk found (/dev/vdb holds swap, /dev/vdc holds vfat); not installed"
      ])
      expect(installs(i)).toEqual([])
    })
  )

  it.scopedLive("autoinstall when blkid fails installs nothing: a disk it cannot tell about is never erased on a guess", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n", { answer: (c) => (c.command === "blkid" ? { exitCode: 4 } : undefined) })
      i.write("/sys/class/block/vdb/size", "9000000\n")
      const { final } = yield* phases(i)
      expectCodes({ final: final! })
      expect(final!.stderr).toContain("userdata_autoinstall: blkid /dev/vdb exited with status 4: cannot tell whether /dev/vdb holds data; not installed\n")
      expect(installs(i)).toEqual([])
    })
  )

  it.scopedLive("autoinstall to a blank disk of which util-linux's blkid says nothing, with its status 2: installed to, as busybox's answer (nothing, 0) is", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n", { answer: (c) => (c.command === "blkid" ? { exitCode: 2 } : undefined) })
      i.write("/sys/class/block/vdb/size", "9000000\n")
      const { final } = yield* phases(i)
      expectCodes({ final: final! })
      expect(final!.stderr).toContain("userdata_autoinstall: installing to /dev/vdb\n")
      expect(installs(i)).toEqual(["lbu include /root/.ssh /home", "setup-disk -m sys /dev/vdb", "reboot"])
    })
  )

  it.scopedLive("autoinstall without an empty disk logs it and succeeds", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nautoinstall: true\n")
      const { final } = yield* phases(i)
      expectCodes({ final: final! })
      expect(final!.stderr).toContain("userdata_autoinstall: no empty disk found; not installed\n")
      expect(i.commands()).not.toContain("reboot")
    })
  )

  it.scopedLive("a broken key or entry is skipped with one warning naming line, path and reason; the rest is applied", () =>
    Effect.gen(function* () {
      const doc = `#alpine-config\nssh_authorized_keys: [${KEY_B}]\npackages:\n  - ok\n  - [nested]\nwrite_files:\n  - path: /x\n    permissions: rwx\n  - path: /y\n    content: PRIVATEISH\n`
      const i = yield* userDataInstance(doc)
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(early!.stderr).toContain("save_userdata: invalid user-data: line 5: packages[1]: expected a package name (no spaces, not starting with -), got a list; skipped\n")
      expect(early!.stderr).toContain('save_userdata: invalid user-data: line 8: write_files[0].permissions: expected an octal mode such as 0644, got a string of 3 characters; write_files[0] skipped\n')
      expect(i.commands()).toContain("apk add ok")
      expect(i.read("/x")).toBeUndefined()
      expect(i.read("/y")).toBe("PRIVATEISH")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n`)
      for (const r of [early!, main!, final!]) expect(r.stderr).not.toContain("PRIVATEISH")
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("user-data that is not YAML fails the actions that need it with the validator's line; the user, keys, hostname and marker are in place", () =>
    Effect.gen(function* () {
      const doc = "#alpine-config\npackages: [ok\nruncmd:\n  - echo PRIVATEISH\n"
      const i = yield* userDataInstance(doc)
      const { early, main, final } = yield* phases(i)
      expect(early!.code).toBe(0)
      expect(early!.stderr).toMatch(/save_userdata: invalid user-data: line \d: YAML: .+\n/)
      expect(main!.code).toBe(1)
      expect(main!.stderr).toMatch(/userdata_user: #alpine-config user-data is invalid: line \d: YAML: .+\n/)
      expect(main!.stderr).toContain("   ++ userdata_user: failed\n")
      expect(main!.stderr).toContain("   ++ create_default_user: done\n")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(i.read("/etc/hostname")).toBe("ip-10-0-0-1\n")
      expect(final!.code).toBe(1)
      expect(final!.stderr).toContain("   ++ userdata_runcmd: failed\n")
      for (const r of [early!, main!, final!]) expect(r.stderr).not.toContain("PRIVATEISH")
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  it.scopedLive("a gzip bomb in write_files is refused without being expanded; the other files are written", () =>
    Effect.gen(function* () {
      // 64 gzip members of 16 MiB of zeros each: 1 GiB when expanded, about 1 MiB as written
      const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 })
      const bomb = Buffer.concat(Array.from({ length: 64 }, () => member))
      const doc = `#alpine-config\nwrite_files:\n  - path: /srv/bomb\n    encoding: gz+b64\n    content: ${b64(bomb)}\n  - path: /srv/fine\n    content: fine\n`
      // what zlib expands of the bomb (told by its length from the other tests' data, which run meanwhile): refused, it gives nothing
      const zlib = createRequire(import.meta.url)("node:zlib") as typeof import("node:zlib")
      let expanded = 0
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const original = zlib.gunzipSync
          zlib.gunzipSync = ((data: Buffer, options?: object) => {
            const out = original(data, options)
            if (data.length === bomb.length) expanded = Math.max(expanded, out.length)
            return out
          }) as typeof original
          syncBuiltinESMExports()
          return original
        }),
        (original) => Effect.sync(() => ((zlib.gunzipSync = original), syncBuiltinESMExports()))
      )
      const i = yield* userDataInstance(doc)
      const { early, main } = yield* phases(i, ["early", "main"])
      expect(expanded).toBe(0)
      expect(early!.code).toBe(0)
      expect(main!.code).toBe(0)
      expect(early!.stderr).toMatch(/save_userdata: invalid user-data: line 5: write_files\[0\]\.content: gzip content expands to more than \d+ bytes, the limit for all write_files; write_files\[0\] skipped\n/)
      expect(i.read("/srv/bomb")).toBeUndefined()
      expect(i.read("/srv/fine")).toBe("fine")
    })
  )

  it.scopedLive("USERDATA_MAX_BYTES past the largest buffer: gzip user-data and gzip write_files are expanded as under any other limit", () =>
    Effect.gen(function* () {
      // zlib refuses such a maxOutputLength: before, save_userdata ended in an internal error and every gzip write_files was 'too large'
      const doc = `#alpine-config\nwrite_files:\n  - path: /srv/gz\n    encoding: gz+b64\n    content: ${b64(gzipSync("zipped\n"))}\n`
      const i = yield* userDataInstance(new Uint8Array(gzipSync(doc)), { env: { USERDATA_MAX_BYTES: "1e20" } })
      const { early, main } = yield* phases(i, ["early", "main"])
      expect(early!.stderr).toBe("\n   ++ save_userdata: starting\n   ++ save_userdata: done\n")
      expect(main!.code).toBe(0)
      expect(i.read("/var/lib/cloud/user-data")).toBe(doc)
      expect(i.read("/srv/gz")).toBe("zipped\n")
    })
  )

  it.scopedLive("user-data that starts with gzip's two magic bytes but no deflate method (1f 8b 08) is no gzip data: saved as it is", () =>
    Effect.gen(function* () {
      const data = new Uint8Array([0x1f, 0x8b, 0x00, 0x41, 0x42, 0x0a])
      const i = yield* userDataInstance(data)
      const { early } = yield* phases(i, ["early"])
      expect(early!.stderr).toBe("\n   ++ save_userdata: starting\n   ++ save_userdata: done\n")
      expect(readFileSync(join(i.root, "var/lib/cloud/user-data"))).toEqual(Buffer.from(data))
    })
  )

  it.scopedLive("a write_files entry that cannot be written fails the action after the others are written", () =>
    Effect.gen(function* () {
      const doc = "#alpine-config\nwrite_files:\n  - path: /srv/dir\n    content: x\n  - path: /srv/ok\n    content: ok\n    owner: nobody\n"
      const i = yield* userDataInstance(doc)
      i.write("/srv/dir/inside", "a directory is in the way\n")
      const { main } = yield* phases(i, ["early", "main"])
      expect(main!.code).toBe(1)
      expect(main!.stderr).toContain("write_files: cannot write /srv/dir: ")
      expect(main!.stderr).toContain("userdata_write_files: 1 of 2 files not written as asked\n")
      expect(i.read("/srv/ok")).toBe("ok")
      expect(i.commands()).toContain(`chown -h nobody ${i.root}/srv/ok`)
    })
  )

  it.scopedLive("a file that cannot be written is named printable: its path's terminal escapes reach no console or log", () =>
    Effect.gen(function* () {
      const doc = '#alpine-config\nwrite_files:\n  - path: "/etc/hosts/\\e[31mx/y"\n    content: x\n'
      const i = yield* userDataInstance(doc)
      const { main } = yield* phases(i, ["early", "main"])
      expect(main!.code).toBe(1)
      expect(main!.stderr).toContain("\nwrite_files: cannot write /etc/hosts/\\x1b[31mx/y: not a directory\n")
      expect(main!.stderr).not.toContain("\u001b")
    })
  )

  it.scopedLive("a file whose parent directory is a file in the image says so: not a directory, never 'file already exists' for a file that is not there", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#alpine-config\nwrite_files:\n  - path: /etc/hosts/extra\n    content: x\napk:\n  cache: /etc/hosts\n")
      const { main } = yield* phases(i, ["early", "main"])
      expect(main!.stderr).toContain("\nwrite_files: cannot write /etc/hosts/extra: not a directory\n")
      expect(main!.stderr).toMatch(/\nuserdata_apk_cache: mkdir \S*\/etc\/hosts: not a directory\n/)
      expect(main!.stderr).not.toContain("already exists")
    })
  )
})

describe.concurrent("#alpine-config apk cache", () => {
  it.scopedLive("an empty /etc/apk/cache directory makes way for the link; one with files in it is left alone, the action failed", () =>
    Effect.gen(function* () {
      const doc = "#alpine-config\napk:\n  cache: /var/cache/apk\n"
      const i = yield* userDataInstance(doc)
      mkdirSync(join(i.root, "etc/apk/cache"), { recursive: true })
      yield* i.run(["early"])
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(readlinkSync(join(i.root, "etc/apk/cache"))).toBe("../../var/cache/apk")
      const full = yield* userDataInstance(doc)
      full.write("/etc/apk/cache/APKINDEX.tar.gz", "x")
      yield* full.run(["early"])
      const main = yield* full.run(["main"])
      expect(main.stderr).toContain("userdata_apk_cache: /etc/apk/cache is a directory with files in it; left alone\n")
      expect(full.read("/etc/apk/cache/APKINDEX.tar.gz")).toBe("x")
    })
  )

  it.scopedLive("a cache named as /etc/apk/cache itself is that directory, never a link to itself (apk could not use it)", () =>
    Effect.gen(function* () {
      for (const cache of ["/etc/apk/cache", "/etc/apk/cache/", "/etc/./apk//cache"]) {
        const i = yield* userDataInstance(`#alpine-config\napk:\n  cache: ${cache}\n`)
        yield* i.run(["early"])
        expect((yield* i.run(["main"])).code).toBe(0)
        expect(lstatSync(join(i.root, "etc/apk/cache")).isDirectory()).toBe(true)
      }
    })
  )

  it.scopedLive("an empty or blank cache is no cache: no /etc/apk/cache link to the root directory", () =>
    Effect.gen(function* () {
      for (const cache of ['""', '"  "']) {
        const i = yield* userDataInstance(`#alpine-config\napk:\n  cache: ${cache}\n`)
        yield* i.run(["early"])
        expect((yield* i.run(["main"])).code).toBe(0)
        expect(() => lstatSync(join(i.root, "etc/apk/cache"))).toThrow()
      }
    })
  )

  it.scopedLive("a cache that cannot be made fails in one line, its line break and NUL escaped: a line of the user's choosing never stands in the log", () =>
    Effect.gen(function* () {
      // /etc/hosts is a file: the directory cannot be made, and the error names the path
      for (const [cache, escaped] of [
        ["/etc/hosts/x\\ninjected: line", "/etc/hosts/x\\x0ainjected: line: "],
        ["/etc/hosts/\\0x", "/etc/hosts/\\x00x: "]
      ] as const) {
        const i = yield* userDataInstance(`#alpine-config\napk:\n  cache: "${cache}"\n`)
        yield* i.run(["early"])
        const main = yield* i.run(["main"])
        const lines = main.stderr.split("\n")
        expect(lines.filter((l) => l.startsWith("userdata_apk_cache: "))).toEqual([expect.stringContaining(escaped)])
        expect(lines).toContain("   ++ userdata_apk_cache: failed")
        expect(lines.some((l) => l.startsWith("injected"))).toBe(false)
        expect(main.stderr).not.toContain("\0")
      }
    })
  )
})

describe.concurrent("#cloud-config", () => {
  it.scopedLive("hostname and fqdn as cloud-init reads them: the host's name from hostname, the full one from fqdn; fqdn alone gives both", () =>
    Effect.gen(function* () {
      const both = yield* userDataInstance("#cloud-config\nhostname: web\nfqdn: web01.prod.example.com\n")
      const fqdnOnly = yield* userDataInstance("#cloud-config\nfqdn: db-2.prod.example.com\n")
      for (const i of [both, fqdnOnly]) expect((yield* phases(i, ["early", "main"])).main!.code).toBe(0)
      expect(both.read("/etc/hostname")).toBe("web\n")
      expect(both.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb01.prod.example.com web\n")
      expect(fqdnOnly.read("/etc/hostname")).toBe("db-2\n")
      expect(fqdnOnly.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tdb-2.prod.example.com db-2\n")
    })
  )

  it.scopedLive("a hostname or fqdn whose domain is not one names the host by its own label, as the cloud's name does, in one line; nothing else is lost", () =>
    Effect.gen(function* () {
      const name = `web-1.${"a".repeat(64)}.lan`
      const alone = yield* userDataInstance(`#cloud-config\nhostname: ${name}\n`)
      const withHost = yield* userDataInstance(`#cloud-config\nhostname: app\nfqdn: ${name}\n`)
      for (const [i, short] of [[alone, "web-1"], [withHost, "app"]] as const) {
        const { early, main } = yield* phases(i, ["early", "main"])
        expect(early!.stderr).not.toContain("hostname")
        expect(main!.code).toBe(1)
        expect(main!.stderr.split("\n").filter((l) => l.startsWith("userdata_hostname:"))).toEqual([`userdata_hostname: invalid hostname '${name}': the host is named ${short}, without a domain`])
        expect(i.read("/etc/hostname")).toBe(`${short}\n`)
        expect(i.read("/etc/hosts")).toBe(`127.0.0.1\tlocalhost\n127.0.1.1\t${short} ${short}\n`)
        expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      }
    })
  )

  it.scopedLive("hostname, users, keys, timezone, ssh_pwauth, deferred files; unsupported keys warned", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config
hostname: web
fqdn: web.example.com
users:
  - name: ops
    groups: [adm, docker]
    sudo: ALL=(ALL) NOPASSWD:ALL
    ssh_authorized_keys: [${KEY_B}]
  - name: deploy
    shell: /bin/ash
    ssh_authorized_keys: [${KEY_C}]
ssh_authorized_keys: [${KEY_C}]
timezone: Europe/Paris
ssh_pwauth: false
write_files:
  - path: /srv/now
    content: now
  - path: /home/deploy/later
    content: later
    owner: deploy:deploy
    defer: true
packages: [nginx]
runcmd:
  - test -f "$ROOT/home/deploy/later" && echo saw-deferred >> "$ROOT/tmp/runcmd"
manage_etc_hosts: true
snap: {}
`
      const i = yield* userDataInstance(doc)
      i.write("/usr/share/zoneinfo/Europe/Paris", "TZif")
      i.write("/etc/ssh/sshd_config", "Port 22\n#PasswordAuthentication yes\nPasswordAuthentication yes\nMatch User x\n  PasswordAuthentication yes\n")
      const { early, main } = yield* phases(i, ["early", "main"])
      expectCodes({ early: early!, main: main! })
      expect(early!.stderr).toContain("save_userdata: unsupported cloud-config keys: manage_etc_hosts, snap\n")
      expect(started(main!.stderr)).toEqual([
        "userdata_user",
        "create_default_user",
        "userdata_users",
        "set_hostname",
        "userdata_hostname",
        "userdata_bootcmd",
        "userdata_write_files",
        "userdata_ntp",
        "userdata_apk_cache",
        "userdata_apk_repositories",
        "userdata_package_update",
        "userdata_package_upgrade",
        "userdata_packages",
        "userdata_timezone",
        "set_ssh_keys",
        "ssh_authorized_keys",
        "userdata_ssh_pwauth"
      ])
      // the first user replaces CLOUD_USER; the cloud's key, then its own and the top-level ones
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_C}\n${KEY_B}\n`)
      expect(i.read("/home/deploy/.ssh/authorized_keys")).toBe(`${KEY_C}\n`)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
      const cmds = i.commands()
      expect(cmds).toEqual(
        expect.arrayContaining([
          "adduser -h /home/ops -s /bin/sh -G ops -D ops",
          "addgroup ops wheel",
          "addgroup adm",
          "addgroup ops adm",
          "addgroup docker",
          "addgroup ops docker",
          "adduser -h /home/deploy -s /bin/ash -G deploy -D deploy",
          `hostname -F ${i.root}/etc/hostname`,
          "apk add nginx",
          "setup-apkrepos -1 -c"
        ])
      )
      expect(cmds).not.toContain("addgroup deploy wheel")
      expect(i.invocations().filter((c) => c.command === "chpasswd").map((c) => [c.args.join(" "), c.stdin])).toEqual([
        ["-e", "ops:*\n"],
        ["-e", "deploy:*\n"]
      ])
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("ops ALL=(ALL) NOPASSWD:ALL\n")
      expect(i.mode("/etc/sudoers.d/90-tiny-cloud-users")).toBe(0o440)
      // user-data's name wins over the cloud's
      expect(i.read("/etc/hostname")).toBe("web\n")
      expect(i.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb.example.com web\n")
      expect(readlinkSync(join(i.root, "etc/localtime"))).toBe("/usr/share/zoneinfo/Europe/Paris")
      expect(i.read("/etc/timezone")).toBe("Europe/Paris\n")
      // everyone reads the zone's name, as setup-timezone leaves it
      expect(i.mode("/etc/timezone")).toBe(0o644)
      expect(cmds).not.toContain("apk add tzdata")
      expect(i.read("/etc/ssh/sshd_config")).toBe("Port 22\n#PasswordAuthentication yes\nPasswordAuthentication no\nMatch User x\n  PasswordAuthentication yes\n")
      // deferred files wait for the final phase
      expect(i.read("/srv/now")).toBe("now")
      expect(i.read("/home/deploy/later")).toBeUndefined()
      const final = yield* i.run(["final"])
      expectCodes({ final })
      expect(started(final.stderr)).toEqual(["userdata_write_deferred_files", "userdata_runcmd", "userdata_autoinstall", "bootstrap_complete"])
      expect(i.read("/home/deploy/later")).toBe("later")
      expect(i.commands()).toContain(`chown -h deploy:deploy ${i.root}/home/deploy/later`)
      expect(i.read("/tmp/runcmd")).toBe("saw-deferred\n")
    })
  )

  it.scopedLive("write_files owner as cloud-init reads it: ':group' changes the group alone, 'user:' the user alone, '-1:-1' neither", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nwrite_files:\n  - {path: /srv/g, content: g, owner: ':wheel'}\n  - {path: /srv/u, content: u, owner: 'nobody:'}\n  - {path: /srv/n, content: n, owner: '-1:-1'}\n"
      const i = yield* userDataInstance(doc)
      const { early, main } = yield* phases(i, ["early", "main"])
      expectCodes({ early: early!, main: main! })
      expect([i.read("/srv/g"), i.read("/srv/u"), i.read("/srv/n")]).toEqual(["g", "u", "n"])
      // /srv, not in this test's image, is made for the first file and gets its owner, as cloud-init gives it
      expect(i.commands().filter((c) => c.startsWith("chown "))).toEqual([`chown -h :wheel ${i.root}/srv`, `chown -h :wheel ${i.root}/srv/g`, `chown -h nobody ${i.root}/srv/u`])
    })
  )

  it.scopedLive("write_files into a user's directory where that user left links (to /etc/shadow, and a directory's to /etc): neither is followed, nothing of root's is written or given to the user; the files beside them are written", (ctx) =>
    Effect.gen(function* () {
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (a link of another uid)")
      const doc = "#cloud-config\nwrite_files:\n  - {path: /home/app/app.conf, content: 'token=t0ken', owner: 'app:app', permissions: '0600'}\n  - {path: /home/app/conf.d/x.conf, content: x, owner: 'app:app'}\n  - {path: /home/app/other.conf, content: o, owner: 'app:app'}\n"
      const i = yield* userDataInstance(doc)
      // an image's account, whose processes may run during the first boot: its home its own, links it made there
      const home = join(i.root, "home/app")
      mkdirSync(home, { recursive: true })
      chownSync(home, 1234, 1234)
      writeFileSync(join(i.root, "etc/shadow"), "root:*:20000::::::\n", { mode: 0o640 })
      symlinkSync("/etc/shadow", join(home, "app.conf"))
      symlinkSync("/etc", join(home, "conf.d"))
      for (const link of ["app.conf", "conf.d"]) lchownSync(join(home, link), 1234, 1234)
      const { early, main } = yield* phases(i, ["early", "main"])
      expectCodes({ early: early! })
      expect(main!.code).toBe(1)
      expect(main!.stderr.split("\n").filter((l) => l.startsWith("write_files:") || l.startsWith("userdata_write_files:"))).toEqual([
        "write_files: cannot write /home/app/app.conf: is a symbolic link of another user's (uid 1234); refused",
        "write_files: cannot write /home/app/conf.d/x.conf: passes through /home/app/conf.d, a symbolic link of another user's (uid 1234); refused",
        "userdata_write_files: 2 of 3 files not written as asked"
      ])
      // before: /etc/shadow held the token and `chown app:app` was run on it; /etc/x.conf was written and given to app
      // (the accounts' stand-ins add the default user's line to it)
      expect([i.read("/etc/shadow")?.startsWith("root:*:20000::::::\n"), i.read("/etc/shadow")?.includes("t0ken"), i.read("/etc/x.conf"), i.read("/home/app/other.conf")]).toEqual([true, false, undefined, "o"])
      expect(i.commands().filter((c) => c.startsWith("chown "))).toEqual([`chown -h app:app ${i.root}/home/app/other.conf`])
    })
  )

  it.scopedLive("write_files into a user's home, the file swapped by that user for a link to /etc/shadow as chown starts: the link is given the owner, not /etc/shadow", (ctx) =>
    Effect.gen(function* () {
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (a real chown to another uid)")
      const doc = "#cloud-config\nwrite_files:\n  - {path: /home/app/app.conf, content: 'token=t0ken', owner: '1234:1234', permissions: '0600'}\n"
      let swapped = 0
      const i = yield* userDataInstance(doc, {
        // the user, who may rename what root made in their home, as the chown starts; then the real chown, as root
        answer: (c) => {
          if (c.command !== "chown") return undefined
          const path = c.args[c.args.length - 1]!
          swapped++
          renameSync(path, `${path}.moved`)
          symlinkSync(join(i.root, "etc/shadow"), path)
          lchownSync(path, 1234, 1234)
          return { exitCode: spawnSync("chown", c.args).status ?? 1 }
        }
      })
      const home = join(i.root, "home/app")
      mkdirSync(home, { recursive: true })
      chownSync(home, 1234, 1234)
      writeFileSync(join(i.root, "etc/shadow"), "root:*:20000::::::\n", { mode: 0o640 })
      const { early, main } = yield* phases(i, ["early", "main"])
      expectCodes({ early: early!, main: main! })
      expect(swapped).toBe(1)
      // before: chown followed the link, /etc/shadow made uid 1234's
      expect(statSync(join(i.root, "etc/shadow")).uid).toBe(0)
      expect(lstatSync(join(home, "app.conf")).uid).toBe(1234)
    })
  )

  it.scopedLive("`default` keeps CLOUD_USER; a bare hostname; ssh_pwauth added before Match; tzdata added when missing", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nhostname: db-1\nusers: [default, extra]\nssh_pwauth: true\ntimezone: UTC\n"
      const i = yield* userDataInstance(doc)
      // a Match block's own PasswordAuthentication is that block's: the global one goes before it
      i.write("/etc/ssh/sshd_config", "Port 22\nMatch User x\n  X11Forwarding no\n  PasswordAuthentication no\n")
      chmodSync(join(i.root, "etc/ssh/sshd_config"), 0o600)
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(i.commands()).toContain("adduser -h /home/extra -s /bin/sh -G extra -D extra")
      expect(i.read("/etc/hostname")).toBe("db-1\n")
      expect(i.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tdb-1 db-1\n")
      expect(i.read("/etc/ssh/sshd_config")).toBe("Port 22\nPasswordAuthentication yes\nMatch User x\n  X11Forwarding no\n  PasswordAuthentication no\n")
      // a hardened image's mode is kept
      expect(i.mode("/etc/ssh/sshd_config")).toBe(0o600)
      expect(i.commands()).toContain("apk add tzdata")
      expect(i.read("/etc/timezone")).toBe("UTC\n")
      // running main again changes nothing more
      const sshd = i.read("/etc/ssh/sshd_config")
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/etc/ssh/sshd_config")).toBe(sshd)
      expect(i.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tdb-1 db-1\n")
    })
  )

  it.scopedLive("a time zone tzdata does not have (a made-up name, or a directory of zones) leaves /etc/localtime and /etc/timezone alone, with a warning", () =>
    Effect.gen(function* () {
      for (const zone of ["Mars/Olympus", "Europe"]) {
        const i = yield* userDataInstance(`#cloud-config\ntimezone: ${zone}\n`)
        i.write("/usr/share/zoneinfo/UTC", "TZif")
        i.write("/usr/share/zoneinfo/Europe/Paris", "TZif")
        i.write("/etc/timezone", "UTC\n")
        symlinkSync("/usr/share/zoneinfo/UTC", join(i.root, "etc/localtime"))
        const { main } = yield* phases(i, ["early", "main"])
        expect(main!.code).toBe(0)
        expect(main!.stderr).toContain("\nuserdata_timezone: no such time zone in /usr/share/zoneinfo; /etc/localtime and /etc/timezone left alone\n")
        expect([i.read("/etc/timezone"), readlinkSync(join(i.root, "etc/localtime"))]).toEqual(["UTC\n", "/usr/share/zoneinfo/UTC"])
      }
    })
  )

  it.scopedLive("a write_files entry for the cloud user's authorized_keys, which set_ssh_keys then replaces with the cloud's keys, is named; a deferred one is not", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nwrite_files:\n  - {path: /srv/keep, content: k}\n  - {path: /home/alpine/.ssh/../.ssh/authorized_keys, content: "${KEY_B}\\n"}\n  - {path: /home/alpine/.ssh/authorized_keys, content: "${KEY_C}\\n", append: true, defer: true}\n`
      const i = yield* userDataInstance(doc)
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(main!.stderr.split("\n").filter((l) => l.startsWith("userdata_write_files:"))).toEqual([
        "userdata_write_files: write_files[1]: /home/alpine/.ssh/authorized_keys is replaced by set_ssh_keys with the cloud's keys, when the cloud has some; ssh_authorized_keys adds keys to them"
      ])
      expect(final!.stderr).not.toContain("set_ssh_keys")
      // the cloud's key, then the deferred append
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_C}\n`)
    })
  )

  it.scopedLive("a deferred write_files entry over the default user's authorized_keys replaces the keys there, as cloud-init's does: named in the final phase, as is a mode sshd refuses", () =>
    Effect.gen(function* () {
      const replaced = yield* userDataInstance(
        `#cloud-config\nuser: ops\nssh_authorized_keys: [${KEY_C}]\nwrite_files:\n  - {path: /home/ops/.ssh/authorized_keys, content: "${KEY_B}\\n", defer: true}\n`
      )
      const { early, main, final } = yield* phases(replaced)
      expectCodes({ early: early!, main: main!, final: final! })
      // before: the cloud's key and ssh_authorized_keys' gone without a word
      expect(final!.stderr.split("\n").filter((l) => l.startsWith("userdata_write_deferred_files:"))).toEqual([
        "userdata_write_deferred_files: write_files[0]: /home/ops/.ssh/authorized_keys replaces the cloud's keys and ssh_authorized_keys' there, as cloud-init does: only its own keys log in as ops (append: true adds to them)"
      ])
      expect(replaced.read("/home/ops/.ssh/authorized_keys")).toBe(`${KEY_B}\n`)
      const writable = yield* userDataInstance(
        `#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, content: "${KEY_B}\\n", append: true, permissions: '0664', defer: true}\n`
      )
      const again = yield* phases(writable)
      expect(again.final!.stderr.split("\n").filter((l) => l.startsWith("userdata_write_deferred_files:"))).toEqual([
        "userdata_write_deferred_files: write_files[0]: /home/alpine/.ssh/authorized_keys gets mode 0664, which group or others may write: sshd (StrictModes) refuses every key in it"
      ])
      expect(writable.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n`)
    })
  )

  it.scopedLive("ssh_authorized_keys writes a key user-data lists twice (or the cloud gave already) once", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(`#cloud-config\nssh_authorized_keys: [${KEY_B}, ${KEY_A}, ${KEY_B}]\n`, { instance: { sshKeys: [KEY_A] } })
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n`)
    })
  )

  it.scopedLive("ssh_authorized_keys starts its keys on a line of their own after an authorized_keys written without a final newline (write_files' plain content), the cloud having no keys", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(`#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, content: "${KEY_B}"}\nssh_authorized_keys: [${KEY_C}]\n`, { instance: { sshKeys: [] } })
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_B}\n${KEY_C}\n`)
    })
  )

  it.scopedLive("ssh_authorized_keys adds no second line for a key the file has already with a CR or other blanks (an authorized_keys made on Windows, written by write_files), the cloud having no keys", () =>
    Effect.gen(function* () {
      const windows = `${KEY_B}\r\n${KEY_C.replaceAll(" ", "  ")}  \r\n`
      const i = yield* userDataInstance(
        `#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, encoding: b64, content: ${b64(windows)}}\nssh_authorized_keys: [${KEY_C}, ${KEY_B}, ${KEY_A}]\n`,
        { instance: { sshKeys: [] } }
      )
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${windows}${KEY_A}\n`)
    })
  )

  it.scopedLive("ssh_authorized_keys adds a key the file holds only where sshd reads no key: after a CR alone (the comment of the key before it) or after a no-break space; once, when run again", () =>
    Effect.gen(function* () {
      const there = `${KEY_B}\r${KEY_C}\n\u00a0${KEY_A}\n`
      const i = yield* userDataInstance(
        `#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, encoding: b64, content: ${b64(there)}}\nssh_authorized_keys: [${KEY_B}, ${KEY_C}, ${KEY_A}]\n`,
        { instance: { sshKeys: [] } }
      )
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${there}${KEY_C}\n${KEY_A}\n`)
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${there}${KEY_C}\n${KEY_A}\n`)
    })
  )

  it.scopedLive("ssh_authorized_keys adds a key the file holds with a no-break space between its words, where sshd splits at spaces and tabs alone and reads no key; a tab there is the key", () =>
    Effect.gen(function* () {
      const [type, blob, comment] = KEY_A.split(" ")
      const [typeC, blobC] = KEY_C.split(" ")
      // the type and the blob, or the blob and the comment, apart by a no-break space: no key to sshd (ssh-keygen -l reads none)
      const there = `${type}\u00a0${blob} ${comment}\n${typeC} ${blobC}\u00a0${comment}\n${KEY_B.replace(/ /g, "\t")}\n`
      const i = yield* userDataInstance(
        `#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, encoding: b64, content: ${b64(there)}}\nssh_authorized_keys: [${KEY_A}, ${typeC} ${blobC} ${comment}, ${KEY_B}]\n`,
        { instance: { sshKeys: [] } }
      )
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${there}${KEY_A}\n${typeC} ${blobC} ${comment}\n`)
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${there}${KEY_A}\n${typeC} ${blobC} ${comment}\n`)
    })
  )

  it.scopedLive("ssh_authorized_keys keeps the file's own bytes as they are: a comment not in UTF-8, a byte-order mark (whose line is no key to sshd, so its key is added)", () =>
    Effect.gen(function* () {
      const there = Buffer.concat([Buffer.from(`\ufeff${KEY_A}\n${KEY_B} Ren`), Buffer.from([0xe9]), Buffer.from("\n")])
      const i = yield* userDataInstance(
        `#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, encoding: b64, content: ${b64(there)}}\nssh_authorized_keys: [${KEY_A}, ${KEY_C}]\n`,
        { instance: { sshKeys: [] } }
      )
      expectCodes(yield* phases(i, ["early", "main"]))
      const file = join(i.root, "home/alpine/.ssh/authorized_keys")
      const after = Buffer.concat([there, Buffer.from(`${KEY_A}\n${KEY_C}\n`)])
      expect(readFileSync(file)).toEqual(after)
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(readFileSync(file)).toEqual(after)
    })
  )

  it.scopedLive("ssh_authorized_keys does not add again a key the file holds before a NUL, which sshd reads as the line's end (ssh-keygen -l reads the key)", () =>
    Effect.gen(function* () {
      const there = `${KEY_A}\u0000junk\n${KEY_B}\n`
      const i = yield* userDataInstance(
        `#cloud-config\nwrite_files:\n  - {path: /home/alpine/.ssh/authorized_keys, encoding: b64, content: ${b64(there)}}\nssh_authorized_keys: [${KEY_A}, ${KEY_C}]\n`,
        { instance: { sshKeys: [] } }
      )
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${there}${KEY_C}\n`)
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${there}${KEY_C}\n`)
    })
  )

  it.scopedLive("ssh_pwauth replaces a `PasswordAuthentication=no` line: sshd reads KEYWORD=VALUE too, and takes the first value", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nssh_pwauth: true\n")
      i.write("/etc/ssh/sshd_config", "Port 22\nPasswordAuthentication=no\nMatch User x\n  X11Forwarding no\n")
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/etc/ssh/sshd_config")).toBe("Port 22\nPasswordAuthentication yes\nMatch User x\n  X11Forwarding no\n")
    })
  )

  it.scopedLive("ssh_pwauth goes to a drop-in of its own when sshd_config includes sshd_config.d at its top, where an image's drop-in would otherwise win", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nssh_pwauth: true\n")
      const main = "Include /etc/ssh/sshd_config.d/*.conf\n\nPasswordAuthentication no\nMatch User x\n  X11Forwarding no\n"
      i.write("/etc/ssh/sshd_config", main)
      i.write("/etc/ssh/sshd_config.d/60-image.conf", "PasswordAuthentication no\n")
      i.write("/etc/ssh/sshd_config.d/10-banner.conf", "Banner none\n")
      expectCodes(yield* phases(i, ["early", "main"]))
      // sshd reads the drop-ins in their name's order where the Include is, and takes the first value
      expect(i.read("/etc/ssh/sshd_config.d/50-tiny-cloud.conf")).toBe("PasswordAuthentication yes\n")
      expect(i.mode("/etc/ssh/sshd_config.d/50-tiny-cloud.conf")).toBe(0o600)
      expect([i.read("/etc/ssh/sshd_config"), i.read("/etc/ssh/sshd_config.d/60-image.conf")]).toEqual([main, "PasswordAuthentication no\n"])
      // a rerun changes nothing
      expect((yield* i.run(["main"])).code).toBe(0)
      expect(i.read("/etc/ssh/sshd_config.d/50-tiny-cloud.conf")).toBe("PasswordAuthentication yes\n")
      expect(i.read("/etc/ssh/sshd_config")).toBe(main)
    })
  )

  it.scopedLive("ssh_pwauth edits sshd_config when its sshd_config.d is a file: the Include reads nothing there, and no drop-in can be made", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nssh_pwauth: true\n")
      i.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n")
      i.write("/etc/ssh/sshd_config.d", "not a directory\n")
      expectCodes(yield* phases(i, ["early", "main"]))
      expect(i.read("/etc/ssh/sshd_config")).toBe("Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n")
      expect(i.read("/etc/ssh/sshd_config.d")).toBe("not a directory\n")
    })
  )

  it.scopedLive("ssh_pwauth edits a PasswordAuthentication line above the Include, which sshd reads before any drop-in; one a drop-in reads first is named", () =>
    Effect.gen(function* () {
      const above = yield* userDataInstance("#cloud-config\nssh_pwauth: true\n")
      above.write("/etc/ssh/sshd_config", "PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\n")
      above.write("/etc/ssh/sshd_config.d/60-image.conf", "PasswordAuthentication no\n")
      expectCodes(yield* phases(above, ["early", "main"]))
      expect(above.read("/etc/ssh/sshd_config")).toBe("PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n")
      expect(above.read("/etc/ssh/sshd_config.d/50-tiny-cloud.conf")).toBeUndefined()
      const first = yield* userDataInstance("#cloud-config\nssh_pwauth: true\n")
      first.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n")
      first.write("/etc/ssh/sshd_config.d/10-hardening.conf", "passwordauthentication=no\n")
      const { main } = yield* phases(first, ["early", "main"])
      expect(main!.code).toBe(0)
      expect(first.read("/etc/ssh/sshd_config.d/50-tiny-cloud.conf")).toBe("PasswordAuthentication yes\n")
      expect(main!.stderr).toContain("\nuserdata_ssh_pwauth: /etc/ssh/sshd_config.d/10-hardening.conf sets PasswordAuthentication before /etc/ssh/sshd_config.d/50-tiny-cloud.conf; sshd takes its value\n")
    })
  )
})

describe.concurrent("multipart user-data", () => {
  const mime = (parts: ReadonlyArray<{ type: string; body: string; name?: string }>) =>
    [
      'Content-Type: multipart/mixed; boundary="==BOUNDARY=="',
      "MIME-Version: 1.0",
      "",
      ...parts.flatMap((p) => [
        "--==BOUNDARY==",
        `Content-Type: ${p.type}; charset="us-ascii"`,
        ...(p.name ? [`Content-Disposition: attachment; filename="${p.name}"`] : []),
        "",
        p.body
      ]),
      "--==BOUNDARY==--",
      ""
    ].join("\n")

  it.scopedLive("a hundred script parts are named so that a listing of user-data.parts shows them in the order they ran: 001 to 100, 100 after 099", () =>
    Effect.gen(function* () {
      const doc = mime(Array.from({ length: 100 }, (_, n) => ({ type: "text/x-shellscript", body: `#!/bin/sh\necho ${n + 1} >> "$ROOT/tmp/order"` })))
      const i = yield* userDataInstance(doc)
      const { final } = yield* phases(i)
      expect(final!.code, final!.stderr).toBe(0)
      const ran = Array.from({ length: 100 }, (_, n) => String(n + 1))
      expect(i.read("/tmp/order")).toBe(ran.map((n) => `${n}\n`).join(""))
      // in the order of the names, as `ls` (LC_ALL=C) and run-parts list them: each part's own number
      const listed = readdirSync(join(i.root, "var/lib/cloud/user-data.parts")).sort()
      expect(listed.map((name) => /echo (\d+) /.exec(i.read(`/var/lib/cloud/user-data.parts/${name}`)!)![1])).toEqual(ran)
      expect([listed[0], listed[98], listed[99]]).toEqual(["001", "099", "100"])
    }),
    // a hundred programs run: a minute on a machine whose two cores other suites share
    180_000
  )

  // cloud-init 22.4.2 (Debian 12), run on such a document: its scripts_user ran part-003, then runcmd
  it.scopedLive("runs script parts in order in the final phase, before runcmd as cloud-init does, and handles cloud-config parts as #cloud-config", () =>
    Effect.gen(function* () {
      const doc = mime([
        { type: "text/x-shellscript", name: "one.sh", body: '#!/bin/sh\necho one\necho one-err >&2\necho 1 >> "$ROOT/tmp/order"' },
        { type: "text/cloud-config", body: '#cloud-config\npackages: [htop]\nruncmd:\n  - echo runcmd >> "$ROOT/tmp/order"' },
        { type: "text/x-shellscript", body: '#!/bin/sh\necho two\necho 2 >> "$ROOT/tmp/order"' }
      ])
      const i = yield* userDataInstance(doc)
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(i.commands()).toContain("apk add htop")
      expect(started(final!.stderr)).toEqual(["userdata_write_deferred_files", "userdata_scripts", "userdata_runcmd", "userdata_autoinstall", "bootstrap_complete"])
      // the parts run as their path
      expect(i.commands().filter((c) => c.includes("/user-data.parts/"))).toEqual([`${i.root}/var/lib/cloud/user-data.parts/01`, `${i.root}/var/lib/cloud/user-data.parts/02`])
      expect(i.read("/tmp/order")).toBe("1\n2\nruncmd\n")
      // the saved user-data is no script itself: root's to read, not to run (a script alone is 0700)
      expect(i.mode("/var/lib/cloud/user-data")).toBe(0o600)
      expect(i.mode("/var/lib/cloud/user-data.parts")).toBe(0o700)
      expect(i.mode("/var/lib/cloud/user-data.parts/01")).toBe(0o700)
      expect(i.read("/var/lib/cloud/user-data.parts/02")).toBe(`#!/bin/sh\necho two\necho 2 >> "$ROOT/tmp/order"`)
      expect(i.read("/var/log/user-data.log")).toBe("one\none-err\ntwo\n")
      expect(i.read("/var/log/user-data.exit")).toBe("0\n")
      expect(final!.stdout).toBe("one\none-err\ntwo\n")
    })
  )

  it.scopedLive("appends each program's output to user-data.log in place, and completes once an append a crash left half done", () =>
    Effect.gen(function* () {
      // each part notes the log's inode: a log rewritten (copied whole) after every program is a new file each time
      const inode = 'stat -c %i "$ROOT/var/log/user-data.log" >> "$ROOT/tmp/inodes"'
      const doc = mime([
        { type: "text/x-shellscript", body: `#!/bin/sh\necho one\n${inode}` },
        { type: "text/x-shellscript", body: `#!/bin/sh\necho two\n${inode}` },
        { type: "text/x-shellscript", body: `#!/bin/sh\necho three\n${inode}` }
      ])
      const i = yield* userDataInstance(doc)
      // what a final phase killed while appending 'zero\n' to a log of 'old\n' leaves: the bytes to append, named with the log's length before, and half of them
      mkdirSync(join(i.root, "var/log"), { recursive: true })
      writeFileSync(join(i.root, "var/log/user-data.log"), "old\nze", { mode: 0o644 })
      writeFileSync(join(i.root, "var/log/.user-data.log.append-4"), "zero\n")
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(i.read("/var/log/user-data.log")).toBe("old\nzero\none\ntwo\nthree\n")
      const inodes = i.read("/tmp/inodes")!.trim().split("\n")
      expect(inodes).toHaveLength(3)
      expect(new Set([...inodes, String(lstatSync(join(i.root, "var/log/user-data.log")).ino)]).size).toBe(1)
      expect(readdirSync(join(i.root, "var/log")).filter((f) => f.startsWith("."))).toEqual([])
      // what the user's programs printed is root's to read, as when the log was rewritten with its mode
      expect(i.mode("/var/log/user-data.log")).toBe(0o600)
    })
  )

  it.scopedLive("an append's leftovers that are not the program's own file (a directory, a link out of ROOT) are never read; a log shorter than an append's recorded length is appended to at its end", () =>
    Effect.gen(function* () {
      const doc = mime([{ type: "text/x-shellscript", body: "#!/bin/sh\necho one" }])
      const i = yield* userDataInstance(doc)
      mkdirSync(join(i.root, "var/log/.user-data.log.append-0"), { recursive: true })
      writeFileSync(join(i.root, "secret"), "secret\n")
      symlinkSync(join(i.root, "secret"), join(i.root, "var/log/.user-data.log.append-1"))
      // a log rotated (emptied) after a crash left 'zero\n' to append at its old length 4
      writeFileSync(join(i.root, "var/log/user-data.log"), "")
      writeFileSync(join(i.root, "var/log/.user-data.log.append-4"), "zero\n")
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(i.read("/var/log/user-data.log")).toBe("zero\none\n")
    })
  )

  it.scopedLive("a user-data script's log that is there already with a mode others may read (0644) is made root's alone (0600): what the script prints may be secret", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#!/bin/sh\necho printed\n")
      mkdirSync(join(i.root, "var/log"), { recursive: true })
      writeFileSync(join(i.root, "var/log/user-data.log"), "old\n", { mode: 0o644 })
      chmodSync(join(i.root, "var/log/user-data.log"), 0o644)
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(i.read("/var/log/user-data.log")).toBe("printed\n")
      expect(i.mode("/var/log/user-data.log")).toBe(0o600)
    })
  )

  it.scopedLive("a log there already that another user owns (an image's leftover) is made root's, as a script's and as runcmd's: what the programs print may be secret", (ctx) =>
    Effect.gen(function* () {
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (chown to another uid)")
      for (const doc of ["#!/bin/sh\necho printed\n", "#cloud-config\nruncmd:\n  - echo printed\n"]) {
        const i = yield* userDataInstance(doc)
        const log = join(i.root, "var/log/user-data.log")
        mkdirSync(join(i.root, "var/log"), { recursive: true })
        writeFileSync(log, "", { mode: 0o600 })
        chownSync(log, 1234, 1234)
        const { early, main, final } = yield* phases(i)
        expectCodes({ early: early!, main: main!, final: final! })
        expect(i.read("/var/log/user-data.log")).toBe("printed\n")
        // before: still uid 1234's, who read what root's programs printed
        expect([statSync(log).uid, i.mode("/var/log/user-data.log")]).toEqual([0, 0o600])
      }
    })
  )

  it.scopedLive("two appends a crash left are completed in the order they were made", () =>
    Effect.gen(function* () {
      const doc = mime([{ type: "text/x-shellscript", body: "#!/bin/sh\necho four" }])
      const i = yield* userDataInstance(doc)
      mkdirSync(join(i.root, "var/log"), { recursive: true })
      // by length, not by name: '.append-12' sorts before '.append-4'
      writeFileSync(join(i.root, "var/log/user-data.log"), "old\n12345678th")
      writeFileSync(join(i.root, "var/log/.user-data.log.append-4"), "12345678")
      writeFileSync(join(i.root, "var/log/.user-data.log.append-12"), "three\n")
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(i.read("/var/log/user-data.log")).toBe("old\n12345678three\nfour\n")
    })
  )

  it.scopedLive("a script part sent with CR LF line ends, as MIME has them, or with a byte-order mark runs as written, as run_userdata runs one", () =>
    Effect.gen(function* () {
      const doc = mime([
        { type: "text/x-shellscript", body: '#!/bin/sh\necho crlf\necho 1 >> "$ROOT/tmp/order"\n' },
        { type: "text/x-shellscript", body: '\uFEFF#!/bin/sh\necho bom\necho 2 >> "$ROOT/tmp/order"\n' }
      ]).replace(/\n/g, "\r\n")
      const i = yield* userDataInstance(doc)
      const { early, main, final } = yield* phases(i)
      expectCodes({ early: early!, main: main!, final: final! })
      expect(i.read("/tmp/order")).toBe("1\n2\n")
      expect(i.read("/var/lib/cloud/user-data.parts/01")).toBe('#!/bin/sh\necho crlf\necho 1 >> "$ROOT/tmp/order"\n')
      expect(i.read("/var/lib/cloud/user-data.parts/02")).toBe('#!/bin/sh\necho bom\necho 2 >> "$ROOT/tmp/order"\n')
      expect(i.read("/var/log/user-data.exit")).toBe("0\n")
    })
  )

  it.scopedLive("a part whose #! names a program the image lacks fails the action naming that program; the next part still runs", () =>
    Effect.gen(function* () {
      const doc = mime([
        { type: "text/x-shellscript", body: "#!/usr/bin/no-such-bash -e\necho one" },
        { type: "text/x-shellscript", body: '#!/bin/sh\ntouch "$ROOT/tmp/second-ran"' }
      ])
      const i = yield* userDataInstance(doc)
      const { final } = yield* phases(i)
      expect(final!.code).toBe(1)
      expect(final!.stderr).toContain("userdata_scripts: script part 1 exited with a non-zero status (last: 127); part 1's interpreter /usr/bin/no-such-bash is not installed\n")
      expect(i.read("/tmp/second-ran")).toBe("")
      expect(i.read("/var/log/user-data.exit")).toBe("127\n")
    })
  )

  it.scopedLive("a part whose lines end in a CR alone fails the action saying its #! line holds a carriage return; the next part still runs", () =>
    Effect.gen(function* () {
      const doc = mime([
        { type: "text/x-shellscript", body: "#!/bin/sh\r:\r" },
        { type: "text/x-shellscript", body: '#!/bin/sh\ntouch "$ROOT/tmp/second-ran"' }
      ])
      const i = yield* userDataInstance(doc)
      const { final } = yield* phases(i)
      expect(final!.code).toBe(1)
      expect(final!.stderr).toContain(
        "userdata_scripts: script part 1 exited with a non-zero status (last: 127); part 1's #! line holds a carriage return (CR line ends, which the kernel does not read as a line's end): save the script with LF line ends\n"
      )
      expect(i.read("/tmp/second-ran")).toBe("")
    })
  )

  it.scopedLive("a failing part fails the action after every part ran; its status goes to user-data.exit", () =>
    Effect.gen(function* () {
      const doc = mime([
        { type: "text/x-shellscript", body: "#!/bin/sh\nexit 5" },
        { type: "text/x-shellscript", body: '#!/bin/sh\ntouch "$ROOT/tmp/second-ran"' }
      ])
      const i = yield* userDataInstance(doc)
      const { main, final } = yield* phases(i)
      expect(main!.code).toBe(0)
      expect(final!.code).toBe(1)
      expect(final!.stderr).toContain("userdata_scripts: script part 1 exited with a non-zero status (last: 5)\n")
      expect(i.read("/tmp/second-ran")).toBe("")
      expect(i.read("/var/log/user-data.exit")).toBe("5\n")
    })
  )
})

describe.concurrent("tiny-cloud schema FILE", () => {
  it.scopedLive("prints each problem with its line and path; exits 1 only when nothing of it can be applied (issue 8), so a skipped entry beside what applies exits 0; a valid file, or one with warnings alone, is `valid`, exit 0; the limit comes from tiny-cloud.conf", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      instance.write("/tmp/partly", "#alpine-config\npackages:\n  - ok\n  - [nested]\n")
      instance.write("/tmp/bad", "#alpine-config\npackages:\n  - [nested]\n")
      instance.write("/tmp/good", "#cloud-config\npackages: [vim]\n")
      const partly = `${instance.root}/tmp/partly`
      const bad = `${instance.root}/tmp/bad`
      const good = `${instance.root}/tmp/good`
      expect(yield* instance.run(["schema", partly])).toEqual({
        code: 0,
        stdout: `${partly}: line 4: packages[1]: expected a package name (no spaces, not starting with -), got a list; skipped\n`,
        stderr: ""
      })
      expect(yield* instance.run(["schema", bad])).toEqual({
        code: 1,
        stdout: `${bad}: line 3: packages[0]: expected a package name (no spaces, not starting with -), got a list; skipped\n`,
        stderr: ""
      })
      expect(yield* instance.run(["schema", good])).toEqual({ code: 0, stdout: `${good}: valid\n`, stderr: "" })
      instance.write("/tmp/warned", "#cloud-config\npackages: [vim]\napt: {preserve_sources_list: true}\n")
      const warned = `${instance.root}/tmp/warned`
      expect(yield* instance.run(["schema", warned])).toEqual({ code: 0, stdout: `${warned}: warning: unsupported cloud-config keys: apt\n${warned}: valid\n`, stderr: "" })
      // an empty file is nothing to apply: said, exit 1
      instance.write("/tmp/empty", "")
      const empty = `${instance.root}/tmp/empty`
      expect(yield* instance.run(["schema", empty])).toEqual({ code: 1, stdout: `${empty}: line 1: user-data is empty\n`, stderr: "" })
      instance.write("/etc/tiny-cloud.conf", "USERDATA_MAX_BYTES=10\n")
      expect(yield* instance.run(["schema", good])).toEqual({ code: 1, stdout: `${good}: line 1: user-data is 30 bytes, more than the limit of 10\n`, stderr: "" })
      // a file past the limit is not read: its size names it, whatever it is (3 GiB, sparse: more than Node reads into one buffer)
      const huge = `${instance.root}/tmp/huge`
      instance.write("/tmp/huge", "#cloud-config\n")
      truncateSync(huge, 3 * 1024 ** 3)
      expect(yield* instance.run(["schema", huge])).toEqual({ code: 1, stdout: `${huge}: line 1: user-data is 3221225472 bytes, more than the limit of 10\n`, stderr: "" })
      rmSync(huge)
      expect(yield* instance.run(["schema", `${instance.root}/tmp/none`])).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud schema: read ${instance.root}/tmp/none: not found\n` })
    })
  )

  it.scopedLive("reads tiny-cloud.conf as the early phase does: each invalid value or line is one line on stderr, as a phase says it, its default used; the file is still checked; exit 1, as a phase's and config's", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, conf: 'CLOUD_USER="Bad User"\nIMDS_MAX_KEYS=abc\nnot an assignment\n' })
      instance.write("/tmp/good", "#cloud-config\npackages: [vim]\n")
      instance.write("/tmp/bad", "#alpine-config\npackages:\n  - [nested]\n")
      const good = `${instance.root}/tmp/good`
      const bad = `${instance.root}/tmp/bad`
      const conf = [
        "tiny-cloud.conf:3: expected KEY=value, got 'not an assignment'; the line is ignored",
        "CLOUD_USER: invalid user name 'Bad User'; the default is used",
        "IMDS_MAX_KEYS: invalid value 'abc': expected a positive whole number; the default is used",
        ""
      ].join("\n")
      expect(yield* instance.run(["schema", good])).toEqual({ code: 1, stdout: `${good}: valid\n`, stderr: conf })
      expect(yield* instance.run(["schema", bad])).toEqual({
        code: 1,
        stdout: `${bad}: line 3: packages[0]: expected a package name (no spaces, not starting with -), got a list; skipped\n`,
        stderr: conf
      })
      // the limit of an invalid USERDATA_MAX_BYTES is the default's, from the environment as from the file
      instance.write("/etc/tiny-cloud.conf", "")
      expect(yield* instance.run(["schema", good], { USERDATA_MAX_BYTES: "lots" })).toEqual({
        code: 1,
        stdout: `${good}: valid\n`,
        stderr: "USERDATA_MAX_BYTES: invalid value 'lots': expected a whole number of bytes; the default is used\n"
      })
    })
  )

  it.scopedLive("reads compressed user-data as save_userdata does: decompressed first; a corrupt file is one line, exit 1", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      const zipped = join(instance.dir, "user-data.gz")
      const broken = join(instance.dir, "broken.gz")
      writeFileSync(zipped, gzipSync("#cloud-config\nhostname: gzhost\nsnap: {}\n"))
      writeFileSync(broken, gzipSync("#cloud-config\nhostname: gzhost\n").subarray(0, 12))
      expect(yield* instance.run(["schema", zipped])).toEqual({ code: 0, stdout: `${zipped}: warning: unsupported cloud-config keys: snap\n${zipped}: valid\n`, stderr: "" })
      const ko = yield* instance.run(["schema", broken])
      expect(ko.code).toBe(1)
      expect(ko.stdout).toMatch(new RegExp(`^${broken}: cannot decompress gzip data: [^\n]+\n$`))
    })
  )

  it.scopedLive("compressed user-data from a pipe larger than USERDATA_MAX_BYTES: its size as it is, in the boot's words, never decompressed", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      const zipped = join(instance.dir, "big.gz")
      // random words: the gzip data is larger than the limit itself
      const words = Array.from({ length: 400 }, (_, n) => `  - echo ${(n * 2654435761 % 4294967296).toString(36)}${(n * 40503 % 65536).toString(36)}\n`).join("")
      const bytes = gzipSync(`#cloud-config\nruncmd:\n${words}`)
      expect(bytes.length).toBeGreaterThan(1000)
      writeFileSync(zipped, bytes)
      const fifo = join(instance.dir, "user-data.pipe")
      execFileSync("mkfifo", [fifo])
      yield* Effect.addFinalizer(() => Effect.sync(() => releaseFifo(fifo)))
      const writer = spawn("sh", ["-c", `cat "${zipped}" > "${fifo}"`], { stdio: "ignore" })
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.kill()))
      expect(yield* instance.run(["schema", fifo], { USERDATA_MAX_BYTES: "1000" })).toEqual({
        code: 1,
        stdout: `${fifo}: line 1: user-data is ${bytes.length} bytes, more than the limit of 1000\n`,
        stderr: ""
      })
    })
  )

  it.scopedLive("exit 0 on a valid file; a skipped entry is a problem line, exit 1 only when nothing can be applied", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      const good = join(instance.dir, "good.yaml")
      const partly = join(instance.dir, "partly.yaml")
      const bad = join(instance.dir, "bad.yaml")
      writeFileSync(good, "#alpine-config\npackages: [vim]\nwrite_files:\n  - path: /a\n    permissions: '0600'\n")
      writeFileSync(partly, "#cloud-config\npackages: [vim, -rf]\nwrite_files:\n  - path: /a\n    permissions: rwx\nsnap: {}\ntimezone: ''\nusers: [default, {name: bob, shell: ''}]\n")
      writeFileSync(bad, "#alpine-config\npackages: vim\nwrite_files:\n  - path: /a\n    permissions: rwx\n")
      const ok = yield* instance.run(["schema", good])
      expect(ok.code).toBe(0)
      expect(ok.stdout).toBe(`${good}: valid\n`)
      const some = yield* instance.run(["schema", partly])
      expect(some.code).toBe(0)
      // what cloud-init's schema lets through (a mode it cannot read, an empty time zone or shell) is a warning at most
      expect(some.stdout.split("\n").filter(Boolean)).toEqual([
        `${partly}: warning: line 5: write_files[0].permissions: not a mode cloud-init can read (it gives the file its default 0644 too); the file gets 0644`,
        `${partly}: warning: line 7: timezone: empty; the time zone is left alone`,
        `${partly}: warning: unsupported cloud-config keys: snap`,
        `${partly}: line 2: packages[1]: expected a package name (no spaces, not starting with -), got a string of 3 characters; skipped`
      ])
      const ko = yield* instance.run(["schema", bad])
      expect(ko.code).toBe(1)
      expect(ko.stdout.split("\n").filter(Boolean)).toEqual([
        `${bad}: line 2: packages: expected a list, got a string of 3 characters; skipped`,
        `${bad}: line 5: write_files[0].permissions: expected an octal mode such as 0644, got a string of 3 characters; write_files[0] skipped`
      ])
    })
  )
})
