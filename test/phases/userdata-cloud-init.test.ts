/**
 * User-data written for cloud-init, on a first boot (issue 8): whatever is
 * odd or broken in it, the instance ends with its default user, the cloud's
 * keys, its hostname and the marker; what is odd is named; runcmd runs as
 * cloud-init runs it; passwords never reach a log or a command line.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { linkSync, mkdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { digestOf } from "../../src/domain/append-journal.js"
import { bytesOf } from "../../src/domain/text.js"
import { makeTestInstance, type InstanceOptions, type RunResult, type TestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"

const userDataInstance = (userData: string, options: InstanceOptions = {}) =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({
      cloud: "aws",
      ...options,
      env: { ...PATIENT_METADATA, ...options.env },
      instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [KEY_A], userData: bytesOf(userData) }
    })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    i.write("/etc/ssh/sshd_config", "Port 22\n")
    return i
  })

/** the first boot: boot, early, main, final */
const firstBoot = (i: TestInstance) =>
  Effect.map(i.boot(), ([boot, early, main, final]) => ({ boot: boot!, early: early!, main: main!, final: final! }))

/** the user exists with the cloud's key, the hostname is set, the bootstrap is complete */
const expectReachable = (i: TestInstance, user: string, hostname = "ip-10-0-0-1") => {
  expect(i.read("/etc/passwd")).toMatch(new RegExp(`^${user}:x:`, "m"))
  expect(i.read(`/home/${user}/.ssh/authorized_keys`)).toContain(`${KEY_A}\n`)
  expect(i.read("/etc/hostname")).toBe(`${hostname}\n`)
  expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
}

const codes = (r: Record<string, RunResult>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.code === 0 ? 0 : `${v.code}: ${v.stderr}`]))

const mime = (head: string, parts: ReadonlyArray<string>) => `${head}\n\n${parts.map((p) => `--XX\n${p}\n`).join("")}--XX--\n`

interface Trigger {
  readonly doc: string
  readonly user?: string
  readonly hostname?: string
  /** what the early phase says, after `save_userdata: ` */
  readonly says?: string
  /** the final phase's stdout; the main phase's stderr */
  readonly check?: (i: TestInstance, stdout: string, mainStderr: string) => void
}

const TRIGGERS: Record<string, Trigger> = {
  "duplicate top-level keys": {
    doc: "#cloud-config\npackages: [vim]\npackages: [htop]\n",
    says: "line 3: packages: duplicate key; the last one is used, as cloud-init does",
    check: (i) => expect(i.commands()).toContain("apk add htop")
  },
  "ntp_client: ntp": {
    doc: "#cloud-config\nntp:\n  ntp_client: ntp\n  servers: [time.example.com]\n",
    check: (i) => {
      expect(i.commands()).toContain("rc-update add ntpd default")
      expect(i.read("/etc/conf.d/ntpd")).toBe('NTPD_OPTS="-N -p time.example.com"\n')
    }
  },
  "users: default": { doc: "#cloud-config\nusers: default\n" },
  "users as a name": { doc: "#cloud-config\nusers: bob\n", user: "bob" },
  "users as a comma-separated string": {
    doc: "#cloud-config\nusers: 'default, bob, carol'\n",
    check: (i) => expect(i.commands()).toEqual(expect.arrayContaining(["adduser -h /home/bob -s /bin/sh -G bob -D bob", "adduser -h /home/carol -s /bin/sh -G carol -D carol"]))
  },
  "users as a map": {
    doc: "#cloud-config\nusers:\n  bob:\n    groups: [adm]\n  default: true\n",
    check: (i) => expect(i.commands()).toContain("addgroup bob adm")
  },
  "users as a list of lists": { doc: "#cloud-config\nusers:\n  - [bob, carol]\n", user: "bob", check: (i) => expect(i.read("/etc/passwd")).toMatch(/^carol:x:/m) },
  "hostname: my_host": { doc: "#cloud-config\nhostname: my_host\n", hostname: "my-host", says: "line 2: hostname: not a valid host name; it is used with each '_' made '-'" },
  "a null item in runcmd": {
    doc: '#cloud-config\nruncmd:\n  - echo one >> "$ROOT/tmp/ran"\n  -\n  - echo two >> "$ROOT/tmp/ran"\n',
    check: (i) => expect(i.read("/tmp/ran")).toBe("one\ntwo\n")
  },
  'ssh_pwauth: "yes"': { doc: '#cloud-config\nssh_pwauth: "yes"\n', check: (i) => expect(i.read("/etc/ssh/sshd_config")).toBe("Port 22\nPasswordAuthentication yes\n") },
  "sudo: true": {
    doc: "#cloud-config\nusers:\n  - default\n  - name: bob\n    sudo: true\n",
    says: "line 5: users[1].sudo: true is not a sudo rule; ALL=(ALL) NOPASSWD:ALL is used",
    check: (i) => expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("bob ALL=(ALL) NOPASSWD:ALL\n")
  },
  "groups as a map": {
    doc: "#cloud-config\nusers:\n  - default\n  - name: bob\n    groups:\n      adm:\n      audio:\n",
    check: (i) => expect(i.commands()).toEqual(expect.arrayContaining(["addgroup bob adm", "addgroup bob audio"]))
  },
  // as a list merged from two parts (list(append)) gives them: busybox's addgroup refuses a group that is there, so each is made once
  "a group named twice, at the top and in a user's groups": {
    doc: "#cloud-config\ngroups:\n  - docker\n  - docker: [alpine]\n  - ops\nusers:\n  - default\n  - name: bob\n    groups: [adm, docker, adm]\n    sudo: ALL=(ALL) NOPASSWD:ALL\n",
    check: (i) => {
      expect(i.read("/etc/group")).toMatch(/^docker:x:\d+:alpine,bob$/m)
      expect(i.read("/etc/group")).toMatch(/^ops:x:\d+:$/m)
      expect(i.read("/etc/group")).toMatch(/^adm:x:\d+:bob$/m)
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("bob ALL=(ALL) NOPASSWD:ALL\n")
    }
  },
  "shell: bash": {
    doc: "#cloud-config\nusers:\n  - default\n  - name: bob\n    shell: bash\npackages: [bash]\n",
    says: 'line 5: users[1].shell: not a path; the shell of that name in /bin is used',
    check: (i) => expect(i.commands()).toContain("adduser -h /home/bob -s /bin/bash -G bob -D bob")
  },
  "shell: /bin/bash, which the image lacks and packages do not install": {
    doc: "#cloud-config\nusers:\n  - name: ops\n    shell: /bin/bash\n  - name: bob\n    shell: /bin/zsh\n",
    user: "ops",
    check: (i, _, main) => {
      expect(i.commands()).toEqual(expect.arrayContaining(["adduser -h /home/ops -s /bin/sh -G ops -D ops", "adduser -h /home/bob -s /bin/sh -G bob -D bob"]))
      expect(main).toContain("userdata_user: ops: shell /bin/bash is not installed and not in packages; /bin/sh is used, so that ops can log in\n")
    }
  },
  "a further system account's shell the image lacks: made as asked, as cloud-init makes it (no one logs in as it)": {
    doc: "#cloud-config\nusers:\n  - default\n  - name: worker\n    system: true\n    shell: /bin/bash\n",
    check: (i, _, main) => {
      expect(i.commands()).toContain("adduser -s /bin/bash -D -S -H worker")
      expect(main).not.toContain("worker: shell")
    }
  },
  "permissions: 493": {
    doc: "#cloud-config\nwrite_files:\n  - path: /usr/local/bin/tool\n    content: '#!/bin/sh'\n    permissions: 493\n",
    check: (i) => expect(i.mode("/usr/local/bin/tool")).toBe(0o755)
  },
  "base64 with characters outside the alphabet": {
    doc: "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    encoding: b64\n    content: aGVsbG8K...\n",
    says: "line 5: write_files[0].content: 3 characters outside the base64 alphabet were dropped, as cloud-init drops them",
    check: (i) => expect(i.read("/etc/motd")).toBe("hello\n")
  },
  "packages by package manager": {
    doc: "#cloud-config\npackages:\n  - vim\n  - apt: [libpython3.8]\n  - snap: [certbot]\n",
    says: "unsupported cloud-config keys: packages[1].apt, packages[2].snap",
    check: (i) => expect(i.commands()).toContain("apk add vim")
  },
  // cloud-init merges an entry that names the default user with its `default` entry before it makes the account (ug_util's
  // normalize_users_groups): the account is made with the entry's shell and comment
  "the default user listed by its name beside default": {
    doc: "#cloud-config\nusers:\n  - default\n  - name: alpine\n    shell: /bin/ash\n    gecos: Alpine admin\n",
    check: (i) => expect(i.commands()).toContain("adduser -h /home/alpine -s /bin/ash -G alpine -D -g Alpine admin alpine")
  },
  "blank lines and spaces before #cloud-config": { doc: "\n\n   #cloud-config\nhostname: spaced\n", hostname: "spaced" },
  "#Cloud-Config": { doc: "#Cloud-Config\nhostname: cased\n", hostname: "cased" },
  // as GitHub-runner recipes write it: cloud-init takes the user-data for the type its first line starts with
  "#cloud-config: (a colon after the header)": {
    doc: "#cloud-config:\nhostname: colon\npackages: [curl]\n",
    hostname: "colon",
    check: (i) => expect(i.commands()).toContain("apk add curl")
  },
  "MIME that starts with a From line": {
    doc: mime("From nobody Thu Jan  1 00:00:00 1970\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX", [
      'Content-Type: text/x-shellscript\n\n#!/bin/sh\necho from-mime >> "$ROOT/tmp/ran"'
    ]),
    check: (i) => expect(i.read("/tmp/ran")).toBe("from-mime\n")
  },
  "a text/plain part that starts with a blank line": {
    doc: mime("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX", ["Content-Type: text/plain\n\n\n#cloud-config\nhostname: sniffed", "Content-Type: text/plain\n\n\n#!/bin/sh\necho sniffed-script"]),
    hostname: "sniffed",
    check: (_, stdout) => expect(stdout).toBe("sniffed-script\n")
  },
  "#cloud-config-archive": {
    doc: [
      "#cloud-config-archive",
      "- type: text/cloud-config",
      "  content: |",
      "    hostname: archived",
      "    runcmd: ['echo one >> \"$ROOT/tmp/ran\"']",
      "- content: |",
      "    #!/bin/sh",
      "    echo sniffed-script",
      "- type: text/cloud-config",
      "  Merge-Type: list(append)+dict(recurse_array)+str()",
      "  content: \"runcmd: ['echo two >> \\\"$ROOT/tmp/ran\\\"']\"",
      "- type: text/cloud-boothook",
      "  content: \"#!/bin/sh\\necho boot\"",
      ""
    ].join("\n"),
    hostname: "archived",
    says: "part 4 (line 13): text/cloud-boothook parts are not supported; part ignored",
    check: (i, stdout) => {
      expect(i.read("/tmp/ran")).toBe("one\ntwo\n")
      expect(stdout).toContain("sniffed-script\n")
    }
  },
  "## template: jinja": {
    doc: "## template: jinja\n#cloud-config\nhostname: {{ ds.meta_data.hostname }}\npackages: [vim]\n",
    says: "line 1: jinja templates are not supported; the rest is read as plain cloud-config",
    check: (i) => expect(i.commands()).toContain("apk add vim")
  }
}

describe.concurrent("a first boot with user-data cloud-init accepts", () => {
  for (const [name, trigger] of Object.entries(TRIGGERS)) {
    it.scopedLive(`${name}: user, keys, hostname and marker in place${trigger.says ? "; the odd part named" : ""}`, () =>
      Effect.gen(function* () {
        const i = yield* userDataInstance(trigger.doc)
        const { boot, early, main, final } = yield* firstBoot(i)
        expect(codes({ boot, early, main, final })).toEqual({ boot: 0, early: 0, main: 0, final: 0 })
        expectReachable(i, trigger.user ?? "alpine", trigger.hostname)
        if (trigger.says !== undefined) expect(early.stderr).toContain(`save_userdata: ${trigger.says}\n`)
        trigger.check?.(i, final.stdout, main.stderr)
      })
    )
  }
})

describe.concurrent("cloud-config bootcmd and runcmd", () => {
  it.scopedLive("a record of the programs that ran grown past its bound (a full disk's damage) is none: runcmd runs, and the record is written anew", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nruncmd: [echo ran]\n")
      for (const phase of ["boot", "early", "main"]) yield* i.run([phase])
      i.write("/var/lib/cloud/.userdata-ran", "x".repeat(2 * 1024 * 1024))
      // without its marker, which would take the record with the first boot it completes
      const final = yield* i.run(["final"], { SKIP_INIT_ACTIONS: "bootstrap_complete" })
      expect(final.code, final.stderr).toBe(0)
      expect(final.stdout).toBe("ran\n")
      expect(i.read("/var/lib/cloud/.userdata-ran")).toMatch(/^userdata_runcmd \S+\n$/)
    })
  )

  it.scopedLive("runcmd is one shell script: cd and export carry over, a failing line does not stop it; the bootstrap completes; a second boot runs nothing", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nruncmd: [cd /tmp, export FOO=bar, pwd, echo $FOO, false, echo after]\n")
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expect(final.stdout).toBe("/tmp\nbar\nafter\n")
      expect(i.read("/var/log/user-data.log")).toBe("/tmp\nbar\nafter\n")
      // the script as cloud-init writes it, root only
      expect(i.read("/var/lib/cloud/user-data.runcmd")).toBe("#!/bin/sh\ncd /tmp\nexport FOO=bar\npwd\necho $FOO\nfalse\necho after\n")
      expect(i.mode("/var/lib/cloud/user-data.runcmd")).toBe(0o700)
      expectReachable(i, "alpine")

      const commands = i.commands().length
      const again = yield* i.boot()
      expect(again.map((r) => [r.code, r.stdout, r.stderr])).toEqual([0, 1, 2, 3].map(() => [0, "", "already bootstrapped\n"]))
      expect(i.commands().length).toBe(commands)
      expect(i.read("/var/log/user-data.log")).toBe("/tmp\nbar\nafter\n")
    })
  )

  it.scopedLive("bootcmd runs as one script in main; lists are quoted argument lines; its status is the last line's", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nbootcmd:\n  - cd "$ROOT/tmp"\n  - [sh, -c, "echo \\"it's $0\\" > quoted", "one arg"]\n  - exit 3\nruncmd:\n  - touch "$ROOT/tmp/runcmd-ran"\n`
      const i = yield* userDataInstance(doc)
      const { main, final } = yield* firstBoot(i)
      expect(i.read("/var/lib/cloud/user-data.bootcmd")).toBe(`#!/bin/sh\ncd "$ROOT/tmp"\n'sh' '-c' 'echo "it'\\''s $0" > quoted' 'one arg'\nexit 3\n`)
      expect(i.read("/tmp/quoted")).toBe("it's one arg\n")
      expect(main.code, main.stderr).toBe(1)
      expect(main.stderr).toContain("userdata_bootcmd: bootcmd exited with status 3\n   ++ userdata_bootcmd: failed\n")
      // the failure is the user's: everything else goes on, and the first boot is not run again
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(final.code).toBe(0)
      expect(i.read("/tmp/runcmd-ran")).toBe("")
      expectReachable(i, "alpine")
    })
  )
})

describe.concurrent("cloud-config users", () => {
  const HASH = "$6$rounds=4096$saltsalt$9oE3cT4x0Ue2pQv7Lr1b"
  const PLAIN = "Plain-Text-Secret-42"

  it.scopedLive("passwords: the hash reaches chpasswd -e; a plain-text password goes to chpasswd's input only, never to a log or a command line; locked is `*`", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config
users:
  - name: ops
    passwd: ${HASH}
    lock_passwd: false
  - name: carol
    plain_text_passwd: ${PLAIN}
    lock_passwd: false
  - name: dave
    hashed_passwd: ${HASH}
  - name: erin
    plain_text_passwd: ${PLAIN}
  - name: frank
`
      const i = yield* userDataInstance(doc)
      const { boot, early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expectReachable(i, "ops")
      const passwords = i.invocations().filter((c) => c.command === "chpasswd" || c.command === "passwd").map((c) => [c.command, c.args.join(" "), c.stdin])
      expect(passwords).toEqual([
        // ops, the default user: locked at creation, then its hash
        ["chpasswd", "-e", "ops:*\n"],
        ["chpasswd", "-e", `ops:${HASH}\n`],
        // hashed by chpasswd itself
        ["chpasswd", "", `carol:${PLAIN}\n`],
        // lock_passwd is true by default, as in cloud-init: password login stays locked, with `*` so keys still work
        ["chpasswd", "-e", "dave:*\n"],
        ["chpasswd", "-e", "erin:*\n"],
        ["chpasswd", "-e", "frank:*\n"]
      ])
      for (const r of [boot, early, main, final]) expect(`${r.stdout}${r.stderr}`).not.toContain(PLAIN)
      expect(i.commands().join("\n")).not.toContain(PLAIN)
      expect(i.commands().join("\n")).not.toContain(HASH)
    })
  )

  it.scopedLive("the default user listed by name beside `default` or `user`: its own keys join the cloud's, its groups and password are set", () =>
    Effect.gen(function* () {
      const OWN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnKey own@example"
      const byDefault = yield* userDataInstance(
        `#cloud-config\nusers:\n  - default\n  - name: alpine\n    groups: [docker]\n    lock_passwd: false\n    hashed_passwd: ${HASH}\n    ssh_authorized_keys: [${OWN}]\n`
      )
      const byUser = yield* userDataInstance(`#cloud-config\nuser: ops\nusers:\n  - name: ops\n    ssh_authorized_keys: [${OWN}]\n`)
      for (const [i, user] of [[byDefault, "alpine"], [byUser, "ops"]] as const) {
        const { early, main, final } = yield* firstBoot(i)
        expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
        // set_ssh_keys writes the cloud's keys afresh: the user's own come after them, not before
        expect(i.read(`/home/${user}/.ssh/authorized_keys`)).toBe(`${KEY_A}\n${OWN}\n`)
      }
      expect(byDefault.commands()).toContain("addgroup alpine docker")
      expect(byDefault.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toEqual(["alpine:*\n", `alpine:${HASH}\n`])
    })
  )

  // cloud-init merges the entry naming the default user last (ug_util._normalize_users): `user`'s keys and rules win, groups are joined
  it.scopedLive("`user` and a `users` entry naming the same user: user's keys and sudo rule alone are set, the groups of both; said", () =>
    Effect.gen(function* () {
      const K1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne k1@example"
      const K2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo k2@example"
      const i = yield* userDataInstance(
        `#cloud-config\nuser:\n  name: ops\n  ssh_authorized_keys: [${K1}]\n  sudo: "ALL=(ALL) NOPASSWD:/bin/true"\n  groups: [adm]\nusers:\n  - name: ops\n    ssh_authorized_keys: [${K2}]\n    sudo: "ALL=(ALL) ALL"\n    groups: [docker]\n`
      )
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expect(early.stderr).toContain("save_userdata: line 8: users[0]: the default user, as user names it: its ssh_authorized_keys, sudo not used, as cloud-init takes user's\n")
      // before: K2 and `ops ALL=(ALL) ALL` too
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${KEY_A}\n${K1}\n`)
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("ops ALL=(ALL) NOPASSWD:/bin/true\n")
      expect(i.commands()).toEqual(expect.arrayContaining(["addgroup ops adm", "addgroup ops docker"]))
    })
  )

  it.scopedLive("`user` without a name and a `users` entry naming CLOUD_USER: user's keys alone are set; said", () =>
    Effect.gen(function* () {
      const K1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne k1@example"
      const K2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo k2@example"
      const i = yield* userDataInstance(`#cloud-config\nuser: {ssh_authorized_keys: [${K1}]}\nusers:\n  - {name: alpine, ssh_authorized_keys: [${K2}], groups: [docker]}\n`)
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expect(early.stderr).toContain("save_userdata: line 4: users[0]: the default user, as CLOUD_USER names it: its ssh_authorized_keys not used, as cloud-init takes user's\n")
      // before: K2 too
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${K1}\n`)
      expect(i.commands()).toContain("addgroup alpine docker")
    })
  )

  it.scopedLive("the default user listed by name while create_default_user is skipped and made no account: its entry makes it, as any user's", () =>
    Effect.gen(function* () {
      const OWN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnKey own@example"
      const i = yield* userDataInstance(`#cloud-config\nusers:\n  - default\n  - name: alpine\n    ssh_authorized_keys: [${OWN}]\n`, {
        env: { SKIP_INIT_ACTIONS: "create_default_user" }
      })
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expect(i.commands()).toContain("adduser -h /home/alpine -s /bin/sh -G alpine -D alpine")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${OWN}\n`)
    })
  )

  // cloud-init's integration test test_users_groups.py: a new user with lock_passwd: false and no password
  // ("nopassworduser") boots with the warning 'Not unlocking password for user nopassworduser', its account left locked
  it.scopedLive("lock_passwd: false with no password: the account made now stays locked (`*`), and a warning says there is none to unlock", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nusers:\n  - default\n  - name: nopw\n    gecos: No password here\n    lock_passwd: false\n  - name: withpw\n    lock_passwd: false\n    hashed_passwd: "$6$salt$withHash"\n  - name: locked\n`
      const i = yield* userDataInstance(doc)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.read("/etc/shadow")).toMatch(/^nopw:\*:/m)
      // before: nothing said, the lock_passwd: false passed over
      expect(main.stderr).toContain(
        "\nuserdata_users: nopw: lock_passwd is false but no password is given (passwd, hashed_passwd or plain_text_passwd, not empty): there is none to unlock; the password stays locked (*), keys work\n"
      )
      expect(main.stderr).not.toContain("withpw: lock_passwd")
      expect(main.stderr).not.toContain("locked: lock_passwd")
      expect(main.stderr).not.toContain("alpine: lock_passwd")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("an empty password (a template's empty variable) sets none: the account is locked with `*`, never left without a password", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nusers:\n  - default\n  - {name: ann, plain_text_passwd: "", lock_passwd: false}\n  - {name: ben, hashed_passwd: "", lock_passwd: false}\n  - {name: cid, passwd: "", lock_passwd: false}\n`
      const i = yield* userDataInstance(doc)
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      const passwords = i.invocations().filter((c) => c.command === "chpasswd").map((c) => [c.args.join(" "), c.stdin])
      expect(passwords).toEqual([
        ["-e", "alpine:*\n"],
        ["-e", "ann:*\n"],
        ["-e", "ben:*\n"],
        ["-e", "cid:*\n"]
      ])
    })
  )

  it.scopedLive("a run killed between adduser and chpasswd sets the password when run again; an account the image had keeps its own, locked or not", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nusers:\n  - default\n  - name: deploy\n    passwd: ${HASH}\n    lock_passwd: false\n  - name: kept\n    passwd: ${HASH}\n    lock_passwd: false\n  - name: svc\n    ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISvc svc@example"]\n`
      const i = yield* userDataInstance(doc)
      // as the killed run left them: deploy journalled and made by adduser (`!`); kept and svc the image's, svc locked on purpose
      const passwd = i.read("/etc/passwd") ?? ""
      const shadow = i.read("/etc/shadow") ?? ""
      i.write("/etc/passwd", `${passwd}deploy:x:1001:1001::/home/deploy:/bin/sh\nkept:x:1002:1002::/home/kept:/bin/sh\nsvc:x:1003:1003::/home/svc:/bin/sh\n`)
      i.write("/etc/shadow", `${shadow}deploy:!:20000:0:99999:7:::\nkept:$6$own$hash:20000:0:99999:7:::\nsvc:!:20000:0:99999:7:::\n`)
      i.write("/var/lib/cloud/.users-created", `deploy ${digestOf(bytesOf(doc))}\n`)
      yield* firstBoot(i)
      const shadowOf = (user: string) => (i.read("/etc/shadow") ?? "").split("\n").find((l) => l.startsWith(`${user}:`))?.split(":")[1]
      expect(shadowOf("deploy")).toBe(HASH)
      expect(shadowOf("kept")).toBe("$6$own$hash")
      expect(shadowOf("svc")).toBe("!")
    })
  )

  it.scopedLive("an image made from an instance whose marker was removed by hand keeps that first boot's .users-created: its deploy is the image's account for other user-data", () =>
    Effect.gen(function* () {
      // the builder's first boot not marked complete (a completed one removes its journals)
      const builder = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: deploy\n", { env: { SKIP_INIT_ACTIONS: "bootstrap_complete" } })
      expect((yield* firstBoot(builder)).main.code).toBe(0)
      const i = yield* userDataInstance(`#cloud-config\ngroups:\n  - docker: [deploy]\nusers:\n  - default\n  - name: deploy\n    passwd: ${HASH}\n    lock_passwd: false\n    groups: [adm]\n`)
      for (const file of ["/etc/passwd", "/etc/group", "/var/lib/cloud/.users-created"]) i.write(file, builder.read(file)!)
      // the image's deploy locked by its builder as adduser leaves an account (`!`)
      i.write("/etc/shadow", (builder.read("/etc/shadow") ?? "").replace(/^deploy:[^:]*:/m, "deploy:!:"))
      const { main } = yield* firstBoot(i)
      // before: 'userdata_users: deploy does not exist; not added to group docker', and the image's deploy given user-data's password
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).not.toContain("deploy does not exist")
      expect(i.commands()).toContain("addgroup deploy docker")
      // the entry's groups are an image account's to keep: not joined, and named (a top-level group's members are joined)
      expect(i.commands()).not.toContain("addgroup deploy adm")
      expect(main.stderr).toContain("\nuserdata_users: deploy exists already and keeps its own account: user-data's groups [adm], passwd not applied\n")
      expect((i.read("/etc/shadow") ?? "").split("\n").find((l) => l.startsWith("deploy:"))?.split(":")[1]).toBe("!")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("shell: /bin/bash that the image has, not in packages, is the account's: only a missing login shell becomes /bin/sh", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: bob\n    shell: /bin/bash\n")
      i.write("/bin/bash", "#!/bin/sh\n")
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.commands()).toContain("adduser -h /home/bob -s /bin/bash -G bob -D bob")
      expect(main.stderr).not.toContain("is not installed")
    })
  )

  it.scopedLive("the default user listed by its name, an account the image has: it keeps its own, and one line names what is not applied", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    shell: /bin/bash\n    gecos: Alpine admin\n    uid: 1500\n")
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/ash\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}alpine:x:1000:\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expectReachable(i, "alpine")
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual([])
      // before: nothing said what was not applied, and 'shell /bin/bash is not installed ...; /bin/sh is used', which it was not
      expect(main.stderr).toContain("\ncreate_default_user: alpine exists already and keeps its own account: user-data's shell /bin/bash, uid 1500, gecos not applied\n")
      expect(main.stderr).not.toContain("is not installed")
    })
  )

  it.scopedLive("the default user an account the image has: user-data's passwd is not set, as cloud-init sets it only on an account it makes, and said; hashed_passwd is", () =>
    Effect.gen(function* () {
      const byUser = yield* userDataInstance(`#cloud-config\nuser: {name: alpine, passwd: "${HASH}", lock_passwd: false}\n`)
      const byName = yield* userDataInstance(`#cloud-config\nusers:\n  - default\n  - {name: alpine, passwd: "${HASH}", lock_passwd: false}\n`)
      const hashed = yield* userDataInstance(`#cloud-config\nuser: {name: alpine, hashed_passwd: "${HASH}", lock_passwd: false}\n`)
      for (const i of [byUser, byName, hashed]) {
        i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n`)
        i.write("/etc/group", `${i.read("/etc/group") ?? ""}alpine:x:1000:\n`)
        i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}alpine:$6$own$imageHash:20000:0:99999:7:::\n`)
      }
      for (const i of [byUser, byName]) {
        const { main } = yield* firstBoot(i)
        expect(main.code, main.stderr).toBe(0)
        // before: chpasswd -e fed user-data's hash, the image's password replaced without a word
        expect(i.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toEqual([])
        expect(main.stderr).toContain("\nuserdata_users: alpine exists already and keeps its own account: user-data's passwd not applied\n")
        expect(main.stderr).not.toContain(HASH)
        expectReachable(i, "alpine")
      }
      expect((yield* firstBoot(hashed)).main.code).toBe(0)
      expect(hashed.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toEqual([`alpine:${HASH}\n`])
    })
  )

  it.scopedLive("write_files writing a further user's authorized_keys keeps that user's ssh_authorized_keys, added after the file's, as cloud-init (files first, then users) has them", () =>
    Effect.gen(function* () {
      const fromFile = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobFile bob-file@example"
      const fromUsers = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobUsers bob-users@example"
      const i = yield* userDataInstance(
        `#cloud-config\nusers:\n  - default\n  - name: bob\n    ssh_authorized_keys: ["${fromUsers}"]\nwrite_files:\n  - path: /home/bob/.ssh/authorized_keys\n    content: "${fromFile}\\n"\n    permissions: '0600'\n`
      )
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      // before: the file as written alone, bob's key from users dropped without a word
      expect(i.read("/home/bob/.ssh/authorized_keys")).toBe(`${fromFile}\n${fromUsers}\n`)
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a line of ssh_authorized_keys that is no key is named once, when read (save_userdata), not again by ssh_authorized_keys or userdata_users", () =>
    Effect.gen(function* () {
      const OWN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnKey own@example"
      const BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobUsers bob-users@example"
      const i = yield* userDataInstance(`#cloud-config\nssh_authorized_keys:\n  - not a key at all\n  - ${OWN}\nusers:\n  - default\n  - name: bob\n    ssh_authorized_keys: [bogus line, ${BOB}]\n`)
      const { early, main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(early.stderr.split("\n").filter((l) => l.includes("not an OpenSSH public key"))).toEqual([
        "save_userdata: line 3: ssh_authorized_keys[0]: not an OpenSSH public key; left out",
        "save_userdata: line 8: users[1].ssh_authorized_keys[0]: not an OpenSSH public key; left out"
      ])
      // before: "ssh_authorized_keys: 1 line that is not an OpenSSH public key dropped", and userdata_users' of bob's
      expect(main.stderr).not.toContain("not an OpenSSH public key")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${OWN}\n`)
      expect(i.read("/home/bob/.ssh/authorized_keys")).toBe(`${BOB}\n`)
    })
  )

  it.scopedLive("write_files writing a further user's authorized_keys, that user's keys holding a line that is no key: the line is named once, when read, not again by userdata_users or userdata_write_files", () =>
    Effect.gen(function* () {
      const fromFile = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobFile bob-file@example"
      const fromUsers = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobUsers bob-users@example"
      const i = yield* userDataInstance(
        `#cloud-config\nusers:\n  - default\n  - name: bob\n    ssh_authorized_keys: ["${fromUsers}", "not a key at all"]\nwrite_files:\n  - path: /home/bob/.ssh/authorized_keys\n    content: "${fromFile}\\n"\n    permissions: '0600'\n`
      )
      const { early, main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.read("/home/bob/.ssh/authorized_keys")).toBe(`${fromFile}\n${fromUsers}\n`)
      // before: said again by userdata_users, and before that by userdata_write_files too, of the same line
      expect(early.stderr.split("\n").filter((l) => l.includes("not an OpenSSH public key"))).toEqual(["save_userdata: line 5: users[1].ssh_authorized_keys[1]: not an OpenSSH public key; left out"])
      expect(main.stderr).not.toContain("not an OpenSSH public key")
    })
  )

  it.scopedLive("write_files writing a further user's authorized_keys whose keys cannot be added again (a link in place of ~/.ssh): said, and userdata_write_files fails", () =>
    Effect.gen(function* () {
      const fromUsers = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobUsers bob-users@example"
      const i = yield* userDataInstance(
        `#cloud-config\nusers:\n  - default\n  - name: bob\n    ssh_authorized_keys: ["${fromUsers}"]\nwrite_files:\n  - path: /home/bob/.ssh/authorized_keys\n    content: "# none\\n"\n`
      )
      mkdirSync(join(i.root, "home/bob"), { recursive: true })
      mkdirSync(join(i.root, "srv/elsewhere"), { recursive: true })
      symlinkSync("../../srv/elsewhere", join(i.root, "home/bob/.ssh"))
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(1)
      expect(main.stderr).toMatch(/\nuserdata_write_files: bob: its ssh_authorized_keys not added to \/home\/bob\/\.ssh\/authorized_keys: [^\n]+\n/)
      expect(main.stderr).toContain("userdata_write_files: a user's ssh_authorized_keys not added to the file written over them")
      expectReachable(i, "alpine")
    })
  )

  // cloud-init 22.4.2 (Debian 12), users: [default, {name: root, groups: [adm]}]: "User root already exists, skipping.", root not added to adm
  it.scopedLive("a further user the image has already is in its primary group (/etc/passwd's gid) though /etc/group does not list it: that group is not named as not applied", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: deploy\n    groups: [users, adm]\n")
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}deploy:x:1100:100:Linux User,,,:/home/deploy:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}users:x:100:\nadm:x:4:\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      // before: 'user-data's groups [users, adm] not applied', where deploy is in users by its gid
      expect(main.stderr).toContain("\nuserdata_users: deploy exists already and keeps its own account: user-data's groups [adm] not applied\n")
      expect(i.commands().filter((c) => c.startsWith("addgroup") && c.includes("deploy"))).toEqual([])
      expect(i.read("/etc/group")).toMatch(/^users:x:100:$/m)
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a further user the image has already: its account, groups and passwd are kept, as cloud-init keeps them, and one line names what is not applied", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(
        '#cloud-config\nusers:\n  - default\n  - name: deploy\n    shell: /bin/ash\n    homedir: /srv/deploy\n    passwd: "$6$salt$hashOfDeploy"\n    lock_passwd: false\n    groups: [adm, users, docker]\n'
      )
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}deploy:x:1100:1100:Linux User,,,:/home/deploy:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}deploy:x:1100:\nadm:x:4:\nusers:x:100:deploy\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.commands().filter((c) => c.startsWith("adduser") && c.endsWith(" deploy"))).toEqual([])
      // before: added to adm and docker (made for it), where cloud-init adds an account it did not make to no group
      expect(i.commands().filter((c) => c.startsWith("addgroup"))).not.toContain("addgroup deploy adm")
      expect(i.read("/etc/group")).not.toMatch(/^docker:/m)
      expect(i.read("/etc/group")).toMatch(/^adm:x:4:$/m)
      // before: nothing said; the shell, home and password asked were dropped without a word
      expect(main.stderr).toContain("\nuserdata_users: deploy exists already and keeps its own account: user-data's homedir /srv/deploy, shell /bin/ash, groups [adm, docker], passwd not applied\n")
      expect(main.stderr).not.toContain("hashOfDeploy")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive.each([
    { given: "a passwd", userData: `#cloud-config\nuser: {name: alpine, passwd: "${HASH}"}\n` },
    { given: "lock_passwd and no passwd", userData: "#cloud-config\nuser: {name: alpine, lock_passwd: true}\n" }
  ])("the default user an account the image has with a password, given $given: lock_passwd (true by default), which cloud-init applies to it, not applied here is said, as of a further user", ({ userData }) =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(userData)
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}alpine:x:1000:\n`)
      i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}alpine:$6$own$imageHash:20000:0:99999:7:::\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      // before: nothing said in main (the early phase says a passwd stays locked, '*'), and the image's password still
      // logs alpine in, where cloud-init locks it (`passwd -l`)
      expect(main.stderr).toContain("\nuserdata_users: alpine exists already and keeps its own account: user-data's lock_passwd not applied\n")
      expect(main.stderr).not.toContain(HASH)
      expect(main.stderr).not.toContain("imageHash")
      expect(i.read("/etc/shadow")).toContain("\nalpine:$6$own$imageHash:")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a further user the image has with a password: lock_passwd (cloud-init's default, true) does not lock it here, said in the same line; a locked one is nothing to name", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: ops\n    groups: [adm]\n  - name: svc\n    groups: [adm]\n")
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}ops:x:1100:1100:Linux User,,,:/home/ops:/bin/sh\nsvc:x:1101:1101:Linux User,,,:/home/svc:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}ops:x:1100:\nsvc:x:1101:\nadm:x:4:ops,svc\n`)
      i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}ops:$6$salt$opsHash:20000:0:99999:7:::\nsvc:*:20000:0:99999:7:::\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      // before: nothing said; cloud-init would have locked ops's password
      expect(main.stderr).toContain("\nuserdata_users: ops exists already and keeps its own account: user-data's lock_passwd not applied\n")
      expect(main.stderr).not.toContain("svc exists already")
      expect(main.stderr).not.toContain("opsHash")
      expect(i.read("/etc/shadow")).toContain("\nops:$6$salt$opsHash:")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a further user the image has with a password, given a passwd too: lock_passwd (true by default), which cloud-init applies to it, not applied here is said, as without a passwd", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#cloud-config\nusers:\n  - default\n  - name: ops\n    passwd: "$6$salt$newHash"\n    groups: [adm]\n')
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}ops:x:1100:1100:Linux User,,,:/home/ops:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}ops:x:1100:\nadm:x:4:ops\n`)
      i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}ops:$6$salt$opsHash:20000:0:99999:7:::\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      // before: nothing said, and the image's password still logs ops in, where cloud-init locks it
      expect(main.stderr).toContain("\nuserdata_users: ops exists already and keeps its own account: user-data's lock_passwd not applied\n")
      expect(main.stderr).not.toContain("Hash")
      expect(i.read("/etc/shadow")).toContain("\nops:$6$salt$opsHash:")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a further user the image has, given a passwd that lock_passwd (true by default) locks: the reading's line says it, and no second line names that passwd", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#cloud-config\nusers:\n  - default\n  - name: svc\n    passwd: "$6$salt$svcHash"\n    groups: [adm]\n')
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}svc:x:1101:1101:Linux User,,,:/home/svc:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}svc:x:1101:\nadm:x:4:svc\n`)
      i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}svc:*:20000:0:99999:7:::\n`)
      const { early, main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(early.stderr).toContain("users[1]: a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work\n")
      expect(main.stderr).not.toContain("svc exists already")
      expect(main.stderr).not.toContain("svcHash")
      expect(i.read("/etc/shadow")).toContain("\nsvc:*:")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a further user the image has whose password is locked (`!`, `passwd -l`'s `!HASH`), given keys: it keeps it, and a warning says sshd without PAM refuses its keys; one without keys is nothing to name", () =>
    Effect.gen(function* () {
      const ops = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsKey o@example"
      const i = yield* userDataInstance(
        `#cloud-config\nusers:\n  - default\n  - name: ops\n    ssh_authorized_keys: [${ops}]\n  - name: root\n    ssh_authorized_keys: [${ops}]\n  - name: svc\n    groups: [adm]\n`
      )
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}ops:x:1100:1100:Linux User,,,:/home/ops:/bin/sh\nsvc:x:1101:1101:Linux User,,,:/home/svc:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}ops:x:1100:\nsvc:x:1101:\nadm:x:4:svc\n`)
      i.write("/etc/shadow", `root:*::0:::::\nops:!$6$salt$opsHash:20000:0:99999:7:::\nsvc:!:20000:0:99999:7:::\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${ops}\n`)
      expect(i.read("/root/.ssh/authorized_keys")).toBe(`${ops}\n`)
      expect(i.read("/etc/shadow")).toMatch(/^ops:!\$6\$salt\$opsHash:/m)
      // before: the keys written beside a locked password, which sshd (Alpine's, without PAM) refuses them for, and nothing said
      expect(main.stderr).toContain("\nuserdata_users: ops exists already with a locked password (!), which it keeps: sshd without PAM (Alpine's) refuses its keys\n")
      expect(main.stderr).not.toContain("root exists already with a locked password")
      expect(main.stderr).not.toContain("svc exists already with a locked password")
      expect(main.stderr).not.toContain("opsHash")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a default user given a locked hash (`!`, a shadow file's `!$6$...`) with lock_passwd: false gets it, and a warning says sshd without PAM refuses its keys", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#cloud-config\nusers:\n  - name: ops\n    lock_passwd: false\n    hashed_passwd: "!$6$salt$lockedHash"\n  - name: svc\n    lock_passwd: false\n    hashed_passwd: "$6$salt$svcHash"\n')
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      // before: the cloud's key written beside a locked password, which sshd (Alpine's, without PAM) refuses it for, and nothing said
      expect(main.stderr).toContain("\nuserdata_users: ops: its password is set to a locked one (!), with which sshd without PAM (Alpine's) refuses its keys too\n")
      expect(main.stderr).not.toContain("svc: its password")
      expect(main.stderr).not.toContain("lockedHash")
    })
  )

  it.scopedLive("an account the image has, asked for its own home with a trailing slash and its own shell: nothing named as not applied", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    homedir: /home/alpine/\n    shell: /bin/sh\n")
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}alpine:x:1000:\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      // before: 'alpine exists already and keeps its own account: user-data's homedir /home/alpine/ not applied', the same directory
      expect(main.stderr).not.toContain("not applied")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("an account the image has with /bin/sh, asked for a shell not installed: the shell is named as not applied", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    shell: /bin/bash\n")
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}alpine:x:1000:\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual([])
      // before: nothing named, the image's /bin/sh taken for the one this boot gives for a shell not installed
      expect(main.stderr).toContain("\ncreate_default_user: alpine exists already and keeps its own account: user-data's shell /bin/bash not applied\n")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("the default user's shell not installed: /bin/sh is used, and main run again (killed after adduser) names nothing as not applied", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    shell: /bin/bash\n")
      for (const phase of ["boot", "early", "main"]) yield* i.run([phase])
      expect(i.commands()).toContain("adduser -h /home/alpine -s /bin/sh -G alpine -D alpine")
      const again = yield* i.run(["main"])
      expect(again.code, again.stderr).toBe(0)
      // before: 'create_default_user: alpine exists already and keeps its own account: user-data's shell /bin/bash not applied', of the account this boot made
      expect(again.stderr).not.toContain("not applied")
      expect((yield* i.run(["final"])).code).toBe(0)
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a user this boot made (journalled), killed before it joined its groups: main run again joins them, as an account of the image's would not", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nusers:\n  - default\n  - name: deploy\n    groups: [adm, docker]\n"
      const i = yield* userDataInstance(doc)
      // as the killed run left it: deploy journalled and made by adduser, in none of its groups yet, docker not made
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}deploy:x:1100:1100::/home/deploy:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}deploy:x:1100:\nadm:x:4:\n`)
      i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}deploy:*:20000:0:99999:7:::\n`)
      i.write("/var/lib/cloud/.users-created", `deploy ${digestOf(bytesOf(doc))}\n`)
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).not.toContain("keeps its own account")
      expect(i.read("/etc/group")).toMatch(/^adm:x:4:deploy$/m)
      expect(i.read("/etc/group")).toMatch(/^docker:x:\d+:deploy$/m)
    })
  )

  it.scopedLive("a user this boot made is journalled as it is made: killed between its adduser and chpasswd, main run again sets the password (keys can log in)", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(`#cloud-config\nusers:\n  - default\n  - name: svc\n    ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISvc svc@example"]\n`)
      const shadowOf = (user: string) => (i.read("/etc/shadow") ?? "").split("\n").find((l) => l.startsWith(`${user}:`))?.split(":")[1]
      for (const phase of ["boot", "early", "main"]) yield* i.run([phase])
      expect(shadowOf("svc")).toBe("*")
      // as a kill between adduser and chpasswd leaves it: adduser's `!`, with which sshd refuses even keys
      i.write("/etc/shadow", (i.read("/etc/shadow") ?? "").replace(/^svc:\*:/m, "svc:!:"))
      const again = yield* i.run(["main"])
      expect(again.code, again.stderr).toBe(0)
      expect(shadowOf("svc")).toBe("*")
    })
  )

  it.scopedLive("a top-level group's member that users makes later is left out, as it did not exist yet: main run again (killed after users) leaves it out too", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(`#cloud-config\ngroups:\n  - admins: [deploy, root]\nusers:\n  - default\n  - name: deploy\n`)
      for (const phase of ["boot", "early"]) yield* i.run([phase])
      const main = yield* i.run(["main"])
      expect(main.stderr).toContain("userdata_users: deploy does not exist; not added to group admins\n")
      const undisturbed = i.read("/etc/group")
      expect(undisturbed).toMatch(/^admins:x:\d+:root$/m)
      // as a main killed after userdata_users leaves it: deploy made and journalled, the bootstrap not complete
      const again = yield* i.run(["main"])
      expect(again.code, again.stderr).toBe(0)
      expect(i.read("/etc/group")).toBe(undisturbed)
    })
  )

  it.scopedLive("the default user's entry that made its account (create_default_user skipped), killed between adduser and chpasswd, sets the password when run again: keys can log in", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nusers:\n  - default\n  - name: alpine\n"
      const i = yield* userDataInstance(doc, { env: { SKIP_INIT_ACTIONS: "create_default_user" } })
      // as the killed run left it: journalled and made by adduser (`!`: sshd refuses even keys)
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}alpine:x:1001:1001::/home/alpine:/bin/sh\n`)
      i.write("/etc/shadow", `${i.read("/etc/shadow") ?? ""}alpine:!:20000:0:99999:7:::\n`)
      i.write("/var/lib/cloud/.users-created", `alpine ${digestOf(bytesOf(doc))}\n`)
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expect((i.read("/etc/shadow") ?? "").split("\n").find((l) => l.startsWith("alpine:"))?.split(":")[1]).toBe("*")
    })
  )

  it.scopedLive("uid, homedir, shell, primary group, comment, system; doas rules; groups; the default user's account as asked", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config
groups:
  - ops-team: [root]
users:
  - name: ops
    uid: 2000
    homedir: /srv/ops
    shell: /bin/ash
    gecos: Operations
    doas: [permit nopass ops as root]
  - name: svc
    primary_group: services
    system: true
  - name: tmp
    no_create_home: true
    groups: [extra]
    create_groups: false
`
      const i = yield* userDataInstance(doc)
      const { early, main } = yield* firstBoot(i)
      expect(codes({ early, main })).toEqual({ early: 0, main: 0 })
      const accounts = i.commands().filter((c) => c.startsWith("adduser") || c.startsWith("addgroup"))
      expect(accounts).toEqual([
        "addgroup ops",
        "adduser -h /srv/ops -s /bin/ash -G ops -D -u 2000 -g Operations ops",
        // its own doas rules are its rights: not wheel's as well
        "addgroup ops-team",
        "addgroup root ops-team",
        "addgroup services",
        // a system account gets only what is asked for, as cloud-init makes it on Alpine
        "adduser -G services -D -S -H svc",
        "addgroup tmp",
        "adduser -h /home/tmp -s /bin/sh -G tmp -D -H tmp"
      ])
      expect(main.stderr).toContain("userdata_users: group extra does not exist and create_groups is false; tmp not added to it\n")
      expect(i.read("/etc/doas.d/ops.conf")).toBe("permit nopass ops as root\n")
      expect(i.mode("/etc/doas.d/ops.conf")).toBe(0o600)
    })
  )

  it.scopedLive("a doas rule doas cannot read (quotes left open, a brace outside setenv, a \\ at its end) is not written: doas would refuse every user, the default user's wheel too", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config
users:
  - default
  - name: bob
    doas: ['permit nopass bob cmd "/bin/sh']
  - name: carl
    doas: ['permit nopass carl cmd /usr/bin/find args -exec {} ;']
  - name: dan
    doas: ['permit nopass dan cmd /bin/ls \\']
  - name: eve
    doas: ['permit setenv { FOO=1 } eve', 'permit nopass eve cmd /bin/find args "{}" x\\ y']
`
      const i = yield* userDataInstance(doc)
      i.write("/etc/doas.d/.keep", "")
      const { early, main } = yield* firstBoot(i)
      expect(codes({ early, main })).toEqual({ early: 0, main: 0 })
      const why = ", which doas cannot read and which would stop doas for every user; none of its doas rules are written\n"
      expect(early.stderr).toContain(`save_userdata: line 5: users[1].doas[0]: leaves its quotes open${why}`)
      expect(early.stderr).toContain(`save_userdata: line 7: users[2].doas[0]: has a { that is not setenv's (quote it: "{}")${why}`)
      expect(early.stderr).toContain(`save_userdata: line 9: users[3].doas[0]: ends with a \\${why}`)
      for (const user of ["bob", "carl", "dan"]) expect(i.read(`/etc/doas.d/${user}.conf`)).toBeUndefined()
      expect(i.read("/etc/doas.d/wheel.conf")).toBe("permit nopass :wheel\n")
      expect(i.read("/etc/doas.d/eve.conf")).toBe('permit setenv { FOO=1 } eve\npermit nopass eve cmd /bin/find args "{}" x\\ y\n')
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("the default user's doas rule that doas cannot read is not written, in one warning", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance('#cloud-config\nuser:\n  doas: [\'permit nopass alpine cmd "/bin/sh\']\n')
      i.write("/etc/doas.d/.keep", "")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(main.stderr).toContain(
        "userdata_users: a doas rule of the default user leaves its quotes open, which doas cannot read and which would stop doas for every user; none of its doas rules written\n"
      )
      expect(i.read("/etc/doas.d/alpine.conf")).toBeUndefined()
      expectReachable(i, "alpine")
    })
  )
})

describe.concurrent("the default user's account options", () => {
  it.scopedLive("that adduser refused, main run again (killed after the account was made with the defaults): the same lines and failure, not an account the image had", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    uid: 1500\n", {
        answer: (c) => (c.command === "adduser" && c.args.includes("-u") ? { exitCode: 1 } : undefined)
      })
      for (const phase of ["boot", "early"]) yield* i.run([phase])
      const first = yield* i.run(["main"])
      expect(first.code).toBe(1)
      const again = yield* i.run(["main"])
      expect(again.code).toBe(1)
      // before: 'alpine exists already and keeps its own account: user-data's uid 1500 not applied', and main ended 0 with userdata_users done
      expect(again.stderr).not.toContain("exists already and keeps its own account")
      expect(again.stderr).toContain("\ncreate_default_user: user-data's uid 1500 not applied; made without the account options user-data asks\n")
      expect(again.stderr).toContain("\nuserdata_users: alpine not made as asked\n")
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual(["adduser -h /home/alpine -s /bin/sh -G alpine -D -u 1500 alpine", "adduser -h /home/alpine -s /bin/sh -G alpine -D alpine"])
      expect((yield* i.run(["final"])).code).toBe(0)
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a journal damaged to a huge file (600 MiB, more than a string holds) is replaced: main run again still knows the account as this boot's, refused as before", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    uid: 1500\n", {
        answer: (c) => (c.command === "adduser" && c.args.includes("-u") ? { exitCode: 1 } : undefined)
      })
      const journal = join(i.root, "var/lib/cloud/.default-user-created")
      writeFileSync(journal, "")
      // sparse: it takes no room
      truncateSync(journal, 600 * 1024 * 1024)
      for (const phase of ["boot", "early"]) yield* i.run([phase])
      expect((yield* i.run(["main"])).code).toBe(1)
      expect(statSync(journal).size).toBeLessThan(100)
      const again = yield* i.run(["main"])
      // before: the journal kept its damage and no line, and the rerun took alpine for the image's ('keeps its own account', main 0)
      expect(again.code).toBe(1)
      expect(again.stderr).toContain("\ncreate_default_user: user-data's uid 1500 not applied; made without the account options user-data asks\n")
    })
  )

  it.scopedLive("an image made from an instance whose first boot left its journal (killed between the marker and its removal): the account is the image's for other user-data", () =>
    Effect.gen(function* () {
      // the builder's instance: its alpine made for a shell not installed (/bin/sh), and recorded as made by that first boot
      // (a completed first boot removes the journal: its final here writes no marker, so the journal stays as after such a kill)
      const builder = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    shell: /bin/bash\n", { env: { SKIP_INIT_ACTIONS: "bootstrap_complete" } })
      expect((yield* firstBoot(builder)).main.code).toBe(0)
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - default\n  - name: alpine\n    uid: 1500\n")
      for (const file of ["/etc/passwd", "/etc/group", "/etc/shadow", "/var/lib/cloud/.default-user-created"]) i.write(file, builder.read(file)!)
      const { main } = yield* firstBoot(i)
      // before: 'user-data's uid 1500 not applied; made without the account options user-data asks', and userdata_users failed (main 1)
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).toContain("\ncreate_default_user: alpine exists already and keeps its own account: user-data's uid 1500 not applied\n")
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual([])
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("that adduser refuses never keep the user from existing: it is made with the defaults, and userdata_users fails naming it (the user-data was not applied)", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - name: ops\n    primary_group: staff\n", {
        answer: (c) => (c.command === "addgroup" && c.args.join(" ") === "staff" ? { exitCode: 1 } : undefined)
      })
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(1)
      expect(main.stderr).toContain("create_default_user: addgroup: exited with status 1; made without the account options user-data asks\n   ++ create_default_user: done\n")
      expect(main.stderr).toContain(
        "   ++ userdata_users: starting\nuserdata_users: ops: addgroup: exited with status 1; made without the account options user-data asks\nuserdata_users: ops not made as asked\n   ++ userdata_users: failed\n"
      )
      const status = yield* i.run(["status"])
      expect([status.code, status.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(status.stdout).toContain("error: main/userdata_users: ops not made as asked\n")
      expect(i.commands().filter((c) => c.startsWith("adduser") || c.startsWith("addgroup"))).toEqual([
        "addgroup staff",
        "addgroup ops",
        "adduser -h /home/ops -s /bin/sh -G ops -D ops",
        "addgroup ops wheel"
      ])
      expectReachable(i, "ops")
    })
  )
})

describe.concurrent("a user's key list with an empty entry (a template's unset variable)", () => {
  it.scopedLive("still installs the user's other keys, the default user's and a further user's; the entry is named", () =>
    Effect.gen(function* () {
      const keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyB b@example"
      const keyC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyC c@example"
      const doc = `#cloud-config\nusers:\n  - name: admin\n    ssh_authorized_keys:\n      - ${keyB}\n      -\n  - name: ops\n    ssh_authorized_keys: [${keyC}, null]\n`
      const i = yield* userDataInstance(doc)
      const { early, main } = yield* firstBoot(i)
      expect(early.stderr).toContain("save_userdata: invalid user-data: line 6: users[0].ssh_authorized_keys[1]: expected a string, got null; skipped\n")
      expect(main.code, main.stderr).toBe(0)
      expectReachable(i, "admin")
      expect(i.read("/home/admin/.ssh/authorized_keys")).toBe(`${KEY_A}\n${keyB}\n`)
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${keyC}\n`)
    })
  )
})

describe.concurrent("a security key's certificate in ssh_authorized_keys", () => {
  // made here with OpenSSH 9.2's ssh-keygen -s (it reads them as ED25519-SK-CERT and ECDSA-SK-CERT); cloud-init takes both types as keys
  const SK_ED25519_CERT = "sk-ssh-ed25519-cert-v01@openssh.com AAAAI3NrLXNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIDdisDEF921v3KciP9xLgoIPia4edSDvnYL8lo0ix2mwAAAAICCBH3M4a1E4lQuq0ZWndKVh2YrHUomtJ0j7H49AaBXmAAAABHNzaDoAAAAAAAAAAAAAAAEAAAAEdGVzdAAAAAoAAAAGYWxwaW5lAAAAAAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIOwIGTdqVeDsZ/JQD2sm/NwtqKU8agdHUm9uZOdxDEj4AAAAUwAAAAtzc2gtZWQyNTUxOQAAAEBwbcTXPv1257Mpa3IC0rAwnyarbxWkmqyDDs2qxXD2kvoKFfO0xbKL2M2GFFXwMBZ2k7rZ2pJqorT7cc4Lh9wC fido@example"
  const SK_ECDSA_CERT = "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAK3NrLWVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgpCRwBQkpdmI+a+A9rTdOwMJfA7Z0LIb/eLo7zVMv5lgAAAAIbmlzdHAyNTYAAABBBLPdNLBIciP0ykYhDebnqh4gBxVCPGU0jD7DhyJK/Cl48bKm0aWB3ehVgZigbwidkQGvWkBgyWg6h3Vihmun0nQAAAAEc3NoOgAAAAAAAAAAAAAAAQAAAAV0ZXN0MgAAAAoAAAAGYWxwaW5lAAAAAAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIOwIGTdqVeDsZ/JQD2sm/NwtqKU8agdHUm9uZOdxDEj4AAAAUwAAAAtzc2gtZWQyNTUxOQAAAECBMuXUrHRbQqy5+OXQtcLa+4d+snBUCXB0x4M5nezudCVozxWJr5kM1bxZjw/Pupxuu5WHYvxcZEnegwHCtjUM fido-ec@example"
  it.scopedLive("is a key: installed, not named as something that is not one", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance(`#cloud-config\nssh_authorized_keys:\n  - ${SK_ED25519_CERT}\n  - ${SK_ECDSA_CERT}\n`)
      const { early, main } = yield* firstBoot(i)
      expect(early.stderr).not.toContain("not an OpenSSH public key")
      expect(main.code, main.stderr).toBe(0)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${SK_ED25519_CERT}\n${SK_ECDSA_CERT}\n`)
    })
  )
})

describe.concurrent("further users", () => {
  it.scopedLive("one that adduser refuses (a uid in use) keeps no other from being made with its keys; the action fails at the end, naming it", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nusers:\n  - default\n  - name: deploy\n    uid: 1000\n  - name: ops\n    groups: [adm]\n    ssh_authorized_keys: [${KEY_A}]\n`
      const i = yield* userDataInstance(doc, {
        answer: (c) => (c.command === "adduser" && c.args.includes("deploy") ? { exitCode: 1 } : undefined)
      })
      const { main, final } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(1)
      expect(main.stderr).toContain("\n   ++ userdata_users: failed\n")
      expect(main.stderr).toContain("\nuserdata_users: deploy: adduser: exited with status 1\nuserdata_users: deploy not made as asked\n")
      expect(i.commands()).toEqual(expect.arrayContaining(["adduser -h /home/ops -s /bin/sh -G ops -D ops", "addgroup ops adm"]))
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(final.code).toBe(0)
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("one made whose group or password cannot be set still gets its keys and sudo rule; the action fails, naming it", () =>
    Effect.gen(function* () {
      const doc = `#cloud-config\nusers:\n  - default\n  - name: ops\n    groups: [adm]\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    ssh_authorized_keys: [${KEY_A}]\n`
      const i = yield* userDataInstance(doc, {
        answer: (c) => (c.command === "addgroup" && c.args.join(" ") === "ops adm" ? { exitCode: 1 } : undefined)
      })
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(1)
      expect(main.stderr).toContain("\nuserdata_users: ops: addgroup exited with status 1\n")
      expect(main.stderr).toContain("\nuserdata_users: ops not made as asked\n")
      expect(i.read("/home/ops/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("ops ALL=(ALL) NOPASSWD:ALL\n")
      expect(i.invocations().filter((c) => c.command === "chpasswd").map((c) => c.stdin)).toContain("ops:*\n")
      expectReachable(i, "alpine")
    })
  )
})

describe.concurrent("a further user's sudo rules where sudo is not installed", () => {
  const line = (user: string) => `userdata_users: ${user}: sudo is not installed and not in packages; its sudo rules give it nothing (a doas rule or the group wheel would)`

  it.scopedLive("are written as cloud-init writes them and named, as they give no root; not when sudo is there or coming, or doas or wheel gives root", () =>
    Effect.gen(function* () {
      // as the tutorials write a deploy user (Hetzner's, DigitalOcean's), on an Alpine image that has doas
      const users = [
        "  - name: deploy\n    sudo: ALL=(ALL) NOPASSWD:ALL\n",
        "  - name: admin\n    groups: [wheel]\n    sudo: ALL=(ALL) NOPASSWD:ALL\n",
        "  - name: ops\n    doas: [permit nopass ops]\n    sudo: ALL=(ALL) NOPASSWD:ALL\n"
      ]
      const i = yield* userDataInstance(`#cloud-config\nusers:\n  - default\n${users.join("")}`)
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.read("/etc/sudoers.d/90-tiny-cloud-users")).toBe("deploy ALL=(ALL) NOPASSWD:ALL\nadmin ALL=(ALL) NOPASSWD:ALL\nops ALL=(ALL) NOPASSWD:ALL\n")
      expect(main.stderr.split("\n").filter((l) => l.includes("sudo is not installed"))).toEqual([line("deploy")])
      expectReachable(i, "alpine")

      const installed = yield* userDataInstance(`#cloud-config\nusers:\n  - default\n${users[0]}`)
      installed.write("/usr/bin/sudo", "")
      expect((yield* firstBoot(installed)).main.stderr).not.toContain("sudo is not installed")
      const coming = yield* userDataInstance(`#cloud-config\npackages: [sudo]\nusers:\n  - default\n${users[0]}`)
      expect((yield* firstBoot(coming)).main.stderr).not.toContain("sudo is not installed")
      // the default user's rule comes with wheel
      const first = yield* userDataInstance(`#cloud-config\nusers:\n${users[0]}`)
      expect((yield* firstBoot(first)).main.stderr).not.toContain("sudo is not installed")
    })
  )
})

describe.concurrent("a system account as the default user", () => {
  it.scopedLive("gets /bin/sh, not adduser's /sbin/nologin, so that the cloud's keys log in; a shell it asks for is kept, and further system accounts are as asked", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - name: svc\n    system: true\n  - name: worker\n    system: true\n")
      const { early, main, final } = yield* firstBoot(i)
      expect(codes({ early, main, final })).toEqual({ early: 0, main: 0, final: 0 })
      expect(main.stderr).toContain("\nuserdata_user: svc: a system account gets /sbin/nologin from Alpine's adduser; /bin/sh is used, so that svc, the default user, can log in with the cloud's keys\n")
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual(["adduser -s /bin/sh -D -S -H svc", "adduser -D -S -H worker"])
      expectReachable(i, "svc")
      const asked = yield* userDataInstance("#cloud-config\nuser: {name: svc, system: true, shell: /sbin/nologin}\n")
      const { main: askedMain } = yield* firstBoot(asked)
      expect(askedMain.stderr).not.toContain("\nuserdata_user: ")
      expect(asked.commands().filter((c) => c.startsWith("adduser"))).toEqual(["adduser -s /sbin/nologin -D -S -H svc"])
    })
  )

  // a service account first in `users` (prometheus, node_exporter) takes CLOUD_USER's place: the cloud's keys go to it
  it.scopedLive("asking for a shell that logs no one in keeps it, and says that the cloud's keys get no shell", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nusers:\n  - name: prometheus\n    system: true\n    shell: /sbin/nologin\n  - name: admin\n    groups: wheel\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.commands().filter((c) => c.startsWith("adduser"))).toEqual(["adduser -s /sbin/nologin -D -S -H prometheus", "adduser -h /home/admin -s /bin/sh -G admin -D admin"])
      expect(main.stderr.split("\n").filter((l) => l.includes("logs no one in"))).toEqual([
        "create_default_user: prometheus is made with the shell /sbin/nologin, which logs no one in: the cloud's keys get no shell as prometheus"
      ])
    })
  )
})

describe.concurrent("write_files owner", () => {
  it.scopedLive("the directories made for a file get its owner, as cloud-init gives them; those already there and root's are left alone", () =>
    Effect.gen(function* () {
      const doc = readFileSync(join(import.meta.dirname, "../fixtures/cloud-config/write-files-new-directories.yaml"), "utf8")
      const i = yield* userDataInstance(doc)
      const { main, final } = yield* firstBoot(i)
      expect(codes({ main, final })).toEqual({ main: 0, final: 0 })
      expect(i.commands().filter((c) => c.startsWith("chown "))).toEqual([
        `chown -h root:root ${i.root}/opt/site/motd`,
        `chown -h appuser ${i.root}/home/appdata`,
        `chown -h appuser ${i.root}/home/appdata/settings.conf`,
        `chown -h appuser:appuser ${i.root}/home/appdata/cache`,
        `chown -h appuser:appuser ${i.root}/home/appdata/cache/tmp`,
        `chown -h appuser:appuser ${i.root}/home/appdata/cache/tmp/state`
      ])
      expect(i.read("/home/appdata/cache/tmp/state")).toBe("fresh\n")
      expectReachable(i, "alpine")
    })
  )

  it.scopedLive("a thousand entries each in a directory of its own: every directory gets its owner, and the record of the directories made keeps only what a rerun still needs (each entry rewrote every record before it)", () =>
    Effect.gen(function* () {
      const entries = Array.from({ length: 1000 }, (_, n) => `  - {path: /srv/app/d${n}/settings.conf, content: "${n}", owner: "alpine:alpine"}\n`)
      const i = yield* userDataInstance(`#cloud-config\nwrite_files:\n${entries.join("")}`)
      const results = yield* Effect.forEach(["boot", "early", "main"], (phase) => i.run([phase]))
      expect(results.map((r) => r.code)).toEqual([0, 0, 0])
      const chowns = i.commands().filter((c) => c.startsWith("chown -h alpine:alpine "))
      // /srv and /srv/app too, made for the first
      expect(chowns.length).toBe(2 + 1000 * 2)
      expect(chowns.slice(-2)).toEqual([`chown -h alpine:alpine ${i.root}/srv/app/d999`, `chown -h alpine:alpine ${i.root}/srv/app/d999/settings.conf`])
      // the last entry's own: those before it were given their owner, and a rerun needs none of theirs
      const records = JSON.parse(i.read("/var/lib/cloud/.write_files-directories")!) as Array<{ index: number; directories: Array<string> }>
      expect(records).toEqual([{ index: 999, path: "/srv/app/d999/settings.conf", directories: ["/srv/app/d999"] }])
    })
  )
})

/** an HTTP server for write_files sources: it answers by path, and keeps the headers it was sent */
const sourceServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly seen: Array<IncomingMessage["headers"]>; readonly close: () => void }>((resume) => {
    const seen: Array<IncomingMessage["headers"]> = []
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.headers)
      if (req.url === "/hello" && req.headers["x-token"] === "sesame") return void res.end("hello from source\n")
      if (req.url === "/hello") return void res.writeHead(403).end("forbidden")
      if (req.url === "/redirect") return void res.writeHead(302, { Location: "/hello" }).end()
      if (req.url === "/big") return void res.end("x".repeat(4096))
      if (req.url === "/zstd") return void res.writeHead(200, { "Content-Encoding": "zstd" }).end("coded")
      res.writeHead(404).end("not here")
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() })))
  }),
  (s) => Effect.sync(() => s.close())
)

describe.concurrent("write_files source", () => {
  it.scopedLive("is fetched with its headers; a failed fetch falls back to content; redirects are not followed; the size is capped", () =>
    Effect.gen(function* () {
      const server = yield* sourceServer
      const doc = `#cloud-config
write_files:
  - path: /srv/hello
    source:
      uri: ${server.url}/hello
      headers: {X-Token: sesame}
    permissions: '0750'
  - path: /srv/fallback
    source: {uri: "${server.url}/missing"}
    content: fallback
  - path: /srv/redirected
    source: {uri: "${server.url}/redirect", headers: {X-Token: sesame}}
  - path: /srv/big
    source: {uri: "${server.url}/big"}
    content: small
`
      const i = yield* userDataInstance(doc, { env: { USERDATA_MAX_BYTES: "2048" } })
      const { main, final } = yield* firstBoot(i)
      expect(i.read("/srv/hello")).toBe("hello from source\n")
      expect(i.mode("/srv/hello")).toBe(0o750)
      expect(server.seen.find((h) => h["x-token"] === "sesame")).toBeDefined()
      expect(i.read("/srv/fallback")).toBe("fallback")
      expect(main.stderr).toContain("userdata_write_files: write_files[1]: cannot fetch its source (HTTP 404); its content is written instead\n")
      expect(i.read("/srv/redirected")).toBeUndefined()
      expect(main.stderr).toContain("userdata_write_files: write_files[2]: cannot fetch its source (HTTP 302: redirects are not followed); nothing to write\n")
      expect(i.read("/srv/big")).toBe("small")
      expect(main.stderr).toContain("userdata_write_files: write_files[3]: cannot fetch its source (more than 2048 bytes); its content is written instead\n")
      expect(main.stderr).toContain("userdata_write_files: 1 of 4 files not written as asked\n")
      expect(main.code, main.stderr).toBe(1)
      expect(main.stderr).not.toContain("sesame")
      expect(final.code).toBe(0)
      expectReachable(i, "alpine")
    })
  )
})

describe.concurrent("write_files source in a content coding not read here", () => {
  it.scopedLive("is asked for once: asking again cannot change the coding (before, three times, a second apart)", () =>
    Effect.gen(function* () {
      const server = yield* sourceServer
      const doc = `#cloud-config\nwrite_files:\n  - path: /srv/coded\n    source: {uri: "${server.url}/zstd"}\n    content: fallback\n`
      const i = yield* userDataInstance(doc)
      const { main } = yield* firstBoot(i)
      expect(main.stderr).toContain(
        "userdata_write_files: write_files[0]: cannot fetch its source (answered in Content-Encoding 'zstd', which is not read here); its content is written instead\n"
      )
      expect(i.read("/srv/coded")).toBe("fallback")
      expect(server.seen.length).toBe(1)
      // a warning, not an error: the file is written as cloud-init writes it, and the run records no error of it
      const status = yield* i.run(["status"])
      expect(status.stdout).not.toContain("userdata_write_files")
    })
  )
})

describe.concurrent("write_files source with credentials in its uri", () => {
  it.scopedLive("a user or password with a '%' that escapes nothing is sent as written, as cloud-init's unquote leaves it", () =>
    Effect.gen(function* () {
      const server = yield* sourceServer
      const url = new URL(server.url)
      // before, decodeURIComponent threw: 'userdata_write_files: internal error: URI malformed'
      const doc = `#cloud-config\nwrite_files:\n  - path: /srv/creds\n    source: {uri: "http://us%zzer:p%41ss%@${url.host}/missing"}\n    content: fallback\n`
      const i = yield* userDataInstance(doc)
      const { main } = yield* firstBoot(i)
      expect(main.stderr).not.toContain("internal error")
      expect(main.stderr).toContain("userdata_write_files: write_files[0]: cannot fetch its source (HTTP 404); its content is written instead\n")
      expect(i.read("/srv/creds")).toBe("fallback")
      expect(server.seen.map((h) => h.authorization)).toEqual([`Basic ${Buffer.from("us%zzer:pAss%").toString("base64")}`])
    })
  )
})

describe.concurrent("cloud-config ntp", () => {
  it.scopedLive("chrony gets servers, pools, peers and allow; the service is enabled and started", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nntp:\n  servers: [ntp1.example]\n  pools: [pool.example]\n  peers: [km001]\n  allow: [192.168.23.0/24]\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.read("/etc/chrony/chrony.conf")).toBe("server ntp1.example iburst\npool pool.example iburst\npeer km001\nallow 192.168.23.0/24\nmakestep 1.0 3\n")
      expect(i.commands().filter((c) => c.includes("chrony"))).toEqual(["apk add chrony", "rc-update add chronyd default", "rc-service --ifstarted chronyd restart", "rc-service chronyd start"])
    })
  )

  it.scopedLive("the servers given replace the package's own sources, which are left commented out, and makestep the stock initstepslew; a second run changes nothing", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nntp:\n  servers: [10.0.0.1]\n")
      const stock = "# default config\npool pool.ntp.org iburst\ninitstepslew 10 pool.ntp.org\ndriftfile /var/lib/chrony/chrony.drift\nrtcsync\n"
      i.write("/etc/chrony/chrony.conf", stock)
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      const expected = "# default config\n#pool pool.ntp.org iburst\n#initstepslew 10 pool.ntp.org\ndriftfile /var/lib/chrony/chrony.drift\nrtcsync\nserver 10.0.0.1 iburst\nmakestep 1.0 3\n"
      expect(i.read("/etc/chrony/chrony.conf")).toBe(expected)
      expect((yield* i.run(["--bootstrap", "incomplete"])).code).toBe(0)
      const again = yield* i.run(["main"], { INIT_ACTIONS_MAIN: "userdata_ntp" })
      expect(again.stderr).toContain("   ++ userdata_ntp: done\n")
      expect(i.read("/etc/chrony/chrony.conf")).toBe(expected)
    })
  )

  it.scopedLive("allow alone names no time source: the package's own sources and initstepslew stay, no makestep", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nntp:\n  allow: [10.0.0.0/8]\n")
      i.write("/etc/chrony/chrony.conf", "pool pool.ntp.org iburst\ninitstepslew 10 pool.ntp.org\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.read("/etc/chrony/chrony.conf")).toBe("pool pool.ntp.org iburst\ninitstepslew 10 pool.ntp.org\nallow 10.0.0.0/8\n")
    })
  )

  it.scopedLive("openntpd: a server is `server`, a pool `servers` (each of its addresses a source); the stock ones commented out", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nntp:\n  ntp_client: openntpd\n  servers: [ntp1.example]\n  pools: [pool.example]\n")
      i.write("/etc/ntpd.conf", "servers pool.ntp.org\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.read("/etc/ntpd.conf")).toBe("#servers pool.ntp.org\nserver ntp1.example\nservers pool.example\n")
    })
  )

  it.scopedLive("a makestep of the image's own is kept, none added beside it", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nntp:\n  pools: [pool.example]\n")
      i.write("/etc/chrony/chrony.conf", "pool pool.ntp.org iburst\nmakestep 0.1 5\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.read("/etc/chrony/chrony.conf")).toBe("#pool pool.ntp.org iburst\nmakestep 0.1 5\npool pool.example iburst\n")
    })
  )
})

/**
 * OpenRC's services as a cloud image has them: the ones in `running` were
 * started with the default runlevel, and each daemon reads its configuration
 * file when it starts. `rc-service SVC start` leaves a started one as it is;
 * `restart` starts it again (with `--ifstarted`, a started one alone). What
 * each read last is in `read`.
 */
const openrcServices = (configs: Readonly<Record<string, string>>, running: ReadonlyArray<string>) => {
  const state = { root: "", read: new Map<string, string>(), started: new Set(running) }
  const answer = (c: { readonly command: string; readonly args: ReadonlyArray<string> }) => {
    const [svc, verb] = c.args.filter((a) => !a.startsWith("-"))
    if (c.command !== "rc-service" || svc === undefined || configs[svc] === undefined) return undefined
    if (verb === "restart" && c.args.includes("--ifstarted") && !state.started.has(svc)) return {}
    if (verb === "start" && state.started.has(svc)) return {}
    state.started.add(svc)
    state.read.set(svc, readFileSync(join(state.root, configs[svc]), "utf8"))
    return {}
  }
  return { state, answer }
}

describe.concurrent("cloud-config ntp where the image's client runs already", () => {
  const STOCK = "# default config\npool pool.ntp.org iburst\ninitstepslew 10 pool.ntp.org\ndriftfile /var/lib/chrony/chrony.drift\n"

  it.scopedLive("chronyd, started with the default runlevel before main, is restarted to read the servers given: cloud-init's ntpq assertion, as chronyc would see it", () =>
    Effect.gen(function* () {
      const services = openrcServices({ chronyd: "/etc/chrony/chrony.conf", ntpd: "/etc/conf.d/ntpd" }, ["chronyd", "ntpd"])
      const i = yield* userDataInstance("#cloud-config\nntp:\n  servers: [172.16.15.14]\n  pools: [0.cloud-init.mypool]\n", { answer: services.answer })
      services.state.root = i.root
      i.write("/etc/chrony/chrony.conf", STOCK)
      i.write("/lib/apk/db/installed", "C:Q1abc=\nP:chrony\nV:4.6-r0\n\n")
      services.state.read.set("chronyd", STOCK)
      expect((yield* firstBoot(i)).main.code).toBe(0)
      expect(services.state.read.get("chronyd")).toContain("\nserver 172.16.15.14 iburst\npool 0.cloud-init.mypool iburst\n")
      expect(i.commands().filter((c) => c.startsWith("rc-service chronyd") || c.includes("--ifstarted"))).toEqual(["rc-service --ifstarted chronyd restart", "rc-service chronyd start"])

      // busybox ntpd reads its servers from /etc/conf.d/ntpd when it starts
      const j = yield* userDataInstance("#cloud-config\nntp:\n  ntp_client: ntp\n  servers: [172.16.15.14]\n", { answer: services.answer })
      services.state.root = j.root
      j.write("/etc/conf.d/ntpd", 'NTPD_OPTS="-N -p pool.ntp.org"\n')
      services.state.read.set("ntpd", 'NTPD_OPTS="-N -p pool.ntp.org"\n')
      expect((yield* firstBoot(j)).main.code).toBe(0)
      expect(services.state.read.get("ntpd")).toBe('NTPD_OPTS="-N -p 172.16.15.14"\n')
    })
  )

  it.scopedLive("a client that is not running yet is started once, with the servers; one given no configuration is not restarted", () =>
    Effect.gen(function* () {
      const services = openrcServices({ chronyd: "/etc/chrony/chrony.conf" }, [])
      const i = yield* userDataInstance("#cloud-config\nntp:\n  servers: [10.0.0.1]\n", { answer: services.answer })
      services.state.root = i.root
      expect((yield* firstBoot(i)).main.code).toBe(0)
      expect(services.state.read.get("chronyd")).toBe("server 10.0.0.1 iburst\nmakestep 1.0 3\n")

      const running = openrcServices({ chronyd: "/etc/chrony/chrony.conf" }, ["chronyd"])
      const j = yield* userDataInstance("#cloud-config\nntp:\n  enabled: true\n", { answer: running.answer })
      running.state.root = j.root
      j.write("/etc/chrony/chrony.conf", STOCK)
      j.write("/lib/apk/db/installed", "C:Q1abc=\nP:chrony\nV:4.6-r0\n\n")
      expect((yield* firstBoot(j)).main.code).toBe(0)
      expect(j.commands().filter((c) => c.startsWith("rc-service") && !c.includes("sshd"))).toEqual(["rc-service chronyd start"])
    })
  )
})

/**
 * apk as it answers on a cloud image, whose builder removed /var/cache/apk:
 * `apk add` finds no package until `apk update` has fetched the indexes, and
 * `apk update` fails where the mirror cannot be reached (`offline`).
 */
const freshImageApk = (offline = false) => {
  let indexes = false
  return (c: { readonly command: string; readonly args: ReadonlyArray<string> }) => {
    if (c.command !== "apk") return undefined
    if (c.args[0] === "update") {
      indexes = !offline
      return { exitCode: offline ? 1 : 0 }
    }
    return c.args[0] === "add" && !indexes ? { exitCode: 1, stderr: bytesOf(`ERROR: unable to select packages:\n  ${c.args[1]} (no such package)\n`) } : undefined
  }
}

describe.concurrent("packages the ntp and timezone keys need, on an image without apk's indexes", () => {
  it.scopedLive("chrony and tzdata are added after apk update, fetched once in the phase (again once apk_repos has changed the repositories)", () =>
    Effect.gen(function* () {
      const doc = "#cloud-config\nntp:\n  enabled: true\n  servers: [169.254.169.123]\ntimezone: Europe/Berlin\nruncmd: [date]\n"
      const i = yield* userDataInstance(doc, { answer: freshImageApk() })
      i.write("/etc/apk/repositories", "https://dl-cdn.alpinelinux.org/alpine/v3.21/main\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("   ++ userdata_ntp: done\n")
      expect(main.stderr).toContain("   ++ userdata_timezone: done\n")
      expect(i.read("/etc/chrony/chrony.conf")).toBe("server 169.254.169.123 iburst\nmakestep 1.0 3\n")
      expect(i.commands().filter((c) => /^(apk|rc-service|rc-update add)/.test(c) && !c.includes("sshd"))).toEqual([
        "apk update",
        "apk add chrony",
        "rc-update add chronyd default",
        "rc-service --ifstarted chronyd restart",
        "rc-service chronyd start",
        "apk add tzdata"
      ])

      const repos = "#cloud-config\nntp: {enabled: true}\napk_repos:\n  alpine_repo: {version: v3.21}\npackages: [jq]\n"
      const j = yield* userDataInstance(repos, { answer: freshImageApk() })
      expect((yield* firstBoot(j)).main.code).toBe(0)
      expect(j.commands().filter((c) => c.startsWith("apk"))).toEqual(["apk update", "apk add chrony", "apk update", "apk add jq"])
    })
  )

  it.scopedLive("an installed package is left alone: no apk at all, so a mirror out of reach does not stop chrony's configuration", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("#cloud-config\nntp:\n  servers: [10.0.0.1]\n", { answer: freshImageApk(true) })
      i.write("/lib/apk/db/installed", "C:Q1abc=\nP:chrony\nV:4.6-r0\n\nC:Q1def=\nP:chrony-openrc\nV:4.6-r0\n\n")
      const { main } = yield* firstBoot(i)
      expect(main.code).toBe(0)
      expect(i.read("/etc/chrony/chrony.conf")).toBe("server 10.0.0.1 iburst\nmakestep 1.0 3\n")
      expect(i.commands().filter((c) => c.startsWith("apk"))).toEqual([])

      // a big image's database (every file of every package listed) past 16 MiB: chrony is found in it all the same
      const big = yield* userDataInstance("#cloud-config\nntp:\n  servers: [10.0.0.1]\n", { answer: freshImageApk(true) })
      big.write("/lib/apk/db/installed", `${`C:Q1x=\nP:texlive\nV:1-r0\n${"R:file\nZ:Q1abcdefghijklmnopqrstuvwxyz0=\n".repeat(600_000)}\n`}C:Q1abc=\nP:chrony\nV:4.6-r0\n`)
      expect((yield* firstBoot(big)).main.code).toBe(0)
      expect(big.read("/etc/chrony/chrony.conf")).toBe("server 10.0.0.1 iburst\nmakestep 1.0 3\n")
      expect(big.commands().filter((c) => c.startsWith("apk"))).toEqual([])

      // not installed and out of reach: the action fails naming apk update, the rest of main goes on
      const j = yield* userDataInstance("#cloud-config\nntp:\n  servers: [10.0.0.1]\n", { answer: freshImageApk(true) })
      const after = yield* firstBoot(j)
      expect(after.main.stderr).toContain("userdata_ntp: apk update exited with status 1\n")
      expectReachable(j, "alpine")
    })
  )
})

describe.concurrent("a user-data script", () => {
  it.scopedLive("whose #! comes after blank lines runs with the interpreter it names", () =>
    Effect.gen(function* () {
      const i = yield* userDataInstance("\n\n#!/bin/sh -e\necho $- | grep -q e && echo errexit\n")
      const { final } = yield* firstBoot(i)
      expect(final.code).toBe(0)
      expect(final.stdout).toBe("errexit\n")
      expect(i.commands()).toContain(`/bin/sh -e ${i.root}/var/lib/cloud/user-data`)
    })
  )
})

describe("an image account's authorized_keys that has other names", () => {
  it.scopedLive("a hard link the account made to /etc/shadow (fs.protected_hardlinks 0): user-data's keys are installed, none of shadow's lines go into the file made the account's, and it is said", () =>
    Effect.gen(function* () {
      const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyB b@example"
      const i = yield* userDataInstance(`#cloud-config\nusers:\n  - default\n  - name: app\n    ssh_authorized_keys: [${KEY_B}]\n`)
      i.write("/etc/passwd", `${i.read("/etc/passwd") ?? ""}app:x:1234:1234::/home/app:/bin/sh\n`)
      i.write("/etc/group", `${i.read("/etc/group") ?? ""}app:x:1234:\n`)
      i.write("/etc/shadow", "root:$6$secret$hash:20000::::::\napp:*:20000::::::\n")
      const ssh = join(i.root, "home/app/.ssh")
      mkdirSync(ssh, { recursive: true, mode: 0o700 })
      linkSync(join(i.root, "etc/shadow"), join(ssh, "authorized_keys"))
      const { main } = yield* firstBoot(i)
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).toContain("userdata_users: /home/app/.ssh/authorized_keys has other names and is not app's: its lines are not kept\n")
      // before: the file made app's (0600) began with shadow's lines
      expect(i.read("/home/app/.ssh/authorized_keys")).toBe(`${KEY_B}\n`)
      // the other name, /etc/shadow, is left as it was (the stand-in adduser has added alpine's line since)
      expect(i.read("/etc/shadow")).toMatch(/^root:\$6\$secret\$hash:20000::::::\napp:\*:20000::::::\n(alpine:[^\n]*\n)?$/)
      expectReachable(i, "alpine")
    })
  )
})
