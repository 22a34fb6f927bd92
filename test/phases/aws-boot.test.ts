import { describe, expect, it } from "@effect/vitest"
import { chmodSync, chownSync, linkSync, mkdirSync, statSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import * as Effect from "effect/Effect"
import { actionLines, makeTestInstance } from "../support/instance.js"
import { describeSystem } from "../support/system.js"
import { onTestClock } from "../support/test-clock.js"
import { bytesOf } from "../../src/domain/text.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB b@example"

describe("first boot on aws", () => {
  it.scopedLive("sets hostname, keys, user-data and the marker; a second boot does nothing", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        instance: { hostname: "web-1.eu-west-1.compute.internal", sshKeys: [KEY_B, KEY_A], userData: bytesOf("#!/bin/sh\necho out\necho err >&2\nexit 0\n") }
      })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(actionLines(results[2]!.stderr)).toEqual([
        "   ++ create_default_user: starting",
        "   ++ create_default_user: done",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: done",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: done"
      ])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb-1.eu-west-1.compute.internal web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n${KEY_B}\n`)
      expect(instance.mode("/home/alpine/.ssh")).toBe(0o700)
      expect(instance.mode("/home/alpine/.ssh/authorized_keys")).toBe(0o600)
      expect(instance.read("/var/lib/cloud/user-data")).toBe("#!/bin/sh\necho out\necho err >&2\nexit 0\n")
      // root only, and the script owner-executable to run it
      expect(instance.mode("/var/lib/cloud/user-data")).toBe(0o700)
      expect(instance.read("/var/log/user-data.log")).toBe("out\nerr\n")
      expect(instance.read("/var/log/user-data.exit")).toBe("0\n")
      expect(results[3]!.stdout).toBe("out\nerr\n")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      expect(instance.commands()).toEqual([
        "sfdisk -q --no-reread -N 2 /dev/vda",
        "partx -u /dev/vda",
        "resize2fs /dev/vda2",
        "ip link set dev eth0 up",
        "rc-update add sshd default",
        "rc-update --update",
        "addgroup alpine",
        "adduser -h /home/alpine -s /bin/sh -G alpine -D alpine",
        "addgroup alpine wheel",
        "chpasswd -e",
        `hostname -F ${instance.root}/etc/hostname`,
        `${instance.root}/var/lib/cloud/user-data`
      ])
      expect(instance.invocations().find((c) => c.command === "chpasswd")?.stdin).toBe("alpine:*\n")
      expect(instance.read("/etc/sudoers.d/wheel")).toBe("%wheel ALL=(ALL) NOPASSWD: ALL\n")
      expect(instance.read("/etc/doas.d/wheel.conf")).toBe("permit nopass :wheel\n")
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")

      const before = instance.commands().length
      const again = yield* instance.boot()
      expect(again).toEqual([0, 1, 2, 3].map(() => ({ code: 0, stdout: "", stderr: "already bootstrapped\n" })))
      expect(instance.commands().length).toBe(before)
    })
  )

  it.scopedLive("no keys: set_ssh_keys logs 'no ssh key found' and writes nothing", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("set_ssh_keys: no ssh key found\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
    })
  )

  it.scopedLive("uses IMDSv2: a token is fetched once per process and sent with every read", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "a.b", sshKeys: [KEY_A] } })
      yield* instance.run(["main"])
      const requests = instance.sim!.requests
      expect(requests.filter((r) => r.method === "PUT").length).toBe(1)
      expect(requests.filter((r) => r.method === "GET").length).toBeGreaterThan(2)
      expect(requests.filter((r) => r.method === "GET").every((r) => typeof r.headers["x-aws-ec2-metadata-token"] === "string")).toBe(true)
      expect(requests.find((r) => r.method === "PUT")!.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("5")
    })
  )

  it.scopedLive("stores gzip-compressed user-data decompressed, byte-exact", () =>
    Effect.gen(function* () {
      const script = "#!/bin/sh\nprintf 'compressed ok'\n"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: gzipSync(script) } })
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(script)
    })
  )

  it.scopedLive("save_userdata stores user-data root's alone, a script owner-executable already as early leaves it (0700), other user-data 0600", () =>
    Effect.gen(function* () {
      const script = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho hi\n") } })
      expect((yield* script.run(["early"])).code).toBe(0)
      expect(script.mode("/var/lib/cloud/user-data")).toBe(0o700)
      const config = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#alpine-config\npackages: [jq]\n") } })
      expect((yield* config.run(["early"])).code).toBe(0)
      expect(config.mode("/var/lib/cloud/user-data")).toBe(0o600)
    })
  )

  it.scopedLive("missing user-data: no file, main starts with missing_userdata", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" } })
      instance.write("/var/lib/cloud/user-data", "#!/bin/sh\nold\n")
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      const main = yield* instance.run(["main"])
      expect(actionLines(main.stderr).slice(0, 2)).toEqual(["   ++ missing_userdata: starting", "   ++ missing_userdata: done"])
      expect(main.stderr).toContain("missing_userdata: no user-data found\n")
    })
  )

  it.scopedLive("empty user-data (no bytes, or gzip of none) is not an error: no file, an earlier one gone, main starts with missing_userdata", () =>
    Effect.gen(function* () {
      for (const userData of [new Uint8Array(), gzipSync("")]) {
        const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h", userData } })
        instance.write("/var/lib/cloud/user-data", "#!/bin/sh\nold\n")
        const early = yield* instance.run(["early"])
        expect([early.code, actionLines(early.stderr)]).toEqual([0, ["   ++ save_userdata: starting", "   ++ save_userdata: done"]])
        expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
        const main = yield* instance.run(["main"])
        expect(actionLines(main.stderr).slice(0, 2)).toEqual(["   ++ missing_userdata: starting", "   ++ missing_userdata: done"])
      }
    })
  )

  it.scopedLive("unknown user-data type warns in main, naming the type", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("just some text\n") } })
      yield* instance.run(["early"])
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain("   ++ unknown_userdata: starting\n")
      expect(main.stderr).toContain("unknown_userdata: unable to process 'unknown' user-data\n")
      const boothook = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#cloud-boothook\necho\n") } })
      yield* boothook.run(["early"])
      expect((yield* boothook.run(["main"])).stderr).toContain("unknown_userdata: unable to process 'cloud-boothook' user-data\n")
      // a jinja template before a script: not rendered, not run, and said why
      const jinja = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("## template: jinja\n#!/bin/sh\necho {{ v1.instance_id }}\n") } })
      yield* jinja.run(["early"])
      expect((yield* jinja.run(["main"])).stderr).toContain("unknown_userdata: unable to process 'jinja' user-data: jinja templates are not supported\n")
      // Terraform's cloudinit_config output as it is by default (base64 of gzip) on a cloud that serves it as given: said, not decoded, as in cloud-init
      const mime = 'Content-Type: multipart/mixed; boundary="MIMEBOUNDARY"\nMIME-Version: 1.0\r\n\r\n--MIMEBOUNDARY\r\nContent-Type: text/cloud-config\r\n\r\n#cloud-config\nhostname: x\n\r\n--MIMEBOUNDARY--\r\n'
      const b64 = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(gzipSync(mime).toString("base64")) } })
      yield* b64.run(["early"])
      expect((yield* b64.run(["main"])).stderr).toContain(
        "unknown_userdata: unable to process 'base64' user-data: base64 text is not decoded, as cloud-init does not decode it either: give the cloud the user-data itself (on gcp, or set user-data-encoding to base64; on hetzner, which keeps user-data as text, binary user-data as one base64 word without line breaks, as base64 -w0 writes it)\n"
      )
      // a #cloud-config saved as UTF-16 (Windows PowerShell 5's Out-File): not read, as cloud-init does not read it, and said why
      const utf16 = yield* makeTestInstance({ cloud: "aws", instance: { userData: new Uint8Array(Buffer.from("\ufeff#cloud-config\r\nhostname: x\r\n", "utf16le")) } })
      yield* utf16.run(["early"])
      expect((yield* utf16.run(["main"])).stderr).toContain(
        "unknown_userdata: unable to process 'utf-16' user-data: UTF-16 text is not read, as cloud-init does not read it either: save the user-data as UTF-8\n"
      )
    })
  )

  it.scopedLive("an unknown type's word is named printable: a first line's terminal escapes reach no console, log or status, and a long one is cut", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#\u001b[31mred\u001b]0;title\u0007\n") } })
      yield* instance.run(["early"])
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain("unknown_userdata: unable to process '\\x1b[31mred\\x1b]0;title\\x07' user-data\n")
      expect((yield* instance.run(["status"])).stdout).toContain("user-data: \\x1b[31mred\\x1b]0;title\\x07\n")
      expect(instance.read("/var/lib/cloud/status.json")).not.toMatch(/\\u001b|\\u0007/)
      const long = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(`#${"x".repeat(4000)}\n`) } })
      yield* long.run(["early"])
      expect((yield* long.run(["main"])).stderr).toContain(`unknown_userdata: unable to process '${"x".repeat(80)}...' user-data\n`)
    })
  )

  it.scopedLive("a failing user-data script fails run_userdata and records its status", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho bad\nexit 3\n") } })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(final.code).toBe(1)
      expect(instance.read("/var/log/user-data.exit")).toBe("3\n")
      expect(final.stderr).toContain("run_userdata: user-data script exited with status 3\n   ++ run_userdata: failed\n")
    })
  )

  it.scopedLive("a script whose #! names a program the image lacks (#!/bin/bash without bash) fails run_userdata naming that program", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/no-such-shell\necho hi\n") } })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(final.code).toBe(1)
      expect(instance.read("/var/log/user-data.exit")).toBe("127\n")
      expect(final.stderr).toContain("run_userdata: user-data script exited with status 127: its interpreter /bin/no-such-shell is not installed\n")
      // one that exists and fails with 127 itself is not blamed on its interpreter
      const own = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\nexit 127\n") } })
      yield* own.run(["early"])
      expect((yield* own.run(["final"])).stderr).toContain("run_userdata: user-data script exited with status 127\n")
    })
  )

  it.scopedLive("a script whose lines end in a CR alone (#!/bin/sh then CR, as old Mac editors save it) fails run_userdata saying so, not as a script that is not found", () =>
    Effect.gen(function* () {
      // the kernel ends the #! line at LF alone: it looks for the program '/bin/sh<CR>:<CR>', and sh says only "exec: /var/lib/cloud/user-data: not found"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\r:\r") } })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(final.code).toBe(1)
      expect(instance.read("/var/log/user-data.exit")).toBe("127\n")
      expect(final.stderr).toContain(
        "run_userdata: user-data script exited with status 127: its #! line holds a carriage return (CR line ends, which the kernel does not read as a line's end): save the script with LF line ends\n"
      )
    })
  )

  it.scopedLive("a script that starts (its #! after a blank line, its lines in CR LF) and ends with 127 is not said to hold a carriage return in its #! line", () =>
    Effect.gen(function* () {
      // run_userdata reads such a #! itself (a CR as a blank): the script runs, its last command (with its CR) is not found
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("\n#!/bin/sh\r\n:\r\nno_such_command_of_this_test\r\n") } })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(instance.read("/var/log/user-data.exit")).toBe("127\n")
      expect(final.stderr).toContain("run_userdata: user-data script exited with status 127\n")
      expect(final.stderr).not.toContain("carriage return")
    })
  )

  it.scopedLive("run_userdata named in INIT_ACTIONS_FINAL, which a script's type appends too, runs the user's script once", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf('#!/bin/sh\necho run >> "$ROOT/tmp/runs"\n') } })
      mkdirSync(join(instance.root, "tmp"), { recursive: true })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"], { INIT_ACTIONS_FINAL: "run_userdata" })
      expect(final.code).toBe(0)
      expect(actionLines(final.stderr)).toEqual(["   ++ run_userdata: starting", "   ++ run_userdata: done", "   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: done"])
      expect(instance.read("/tmp/runs")).toBe("run\n")
    })
  )

  it.scopedLive("run_userdata named in INIT_ACTIONS_FINAL runs no user-data that is not a script (sh would carry out a #cloud-config's lines): said, exit 0; with none it has nothing to do", () =>
    Effect.gen(function* () {
      const doc = '#cloud-config\nwrite_files:\n  - path: /srv/setup.sh\n    content: |\n      touch "$ROOT/tmp/ran"\n'
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      mkdirSync(join(instance.root, "tmp"), { recursive: true })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"], { INIT_ACTIONS_FINAL: "run_userdata" })
      expect(final.code).toBe(0)
      expect(final.stderr).toContain("\n   ++ run_userdata: starting\nrun_userdata: 'cloud-config' user-data is not a script; nothing to run\n   ++ run_userdata: done\n")
      expect(instance.read("/tmp/ran")).toBeUndefined()
      expect(instance.read("/var/log/user-data.exit")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")

      const none = yield* makeTestInstance({ cloud: "aws" })
      yield* none.run(["early"])
      const r = yield* none.run(["final"], { INIT_ACTIONS_FINAL: "run_userdata" })
      expect(r.code).toBe(0)
      expect(actionLines(r.stderr)).toEqual(["   ++ run_userdata: starting", "   ++ run_userdata: done", "   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: done"])
      expect(r.stderr).toContain("run_userdata: no user-data found\n")
    })
  )

  it.scopedLive("run_userdata leaves user-data.log root's alone to read, as the cloud-config runs' appends do, even when an image left it readable by all", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho secret\n") } })
      mkdirSync(join(instance.root, "var/log"), { recursive: true })
      writeFileSync(join(instance.root, "var/log/user-data.log"), "old\n", { mode: 0o644 })
      chmodSync(join(instance.root, "var/log/user-data.log"), 0o644)
      expect((yield* instance.boot()).map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/log/user-data.log")).toBe("secret\n")
      expect(instance.mode("/var/log/user-data.log")).toBe(0o600)
    })
  )

  it.scopedLive("user-data that cannot be read is not the earlier bootstrap's (--bootstrap incomplete): its commands do not run again", () =>
    Effect.gen(function* () {
      const userData = "#cloud-config\nruncmd:\n  - echo builder step\n"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(userData) } })
      expect((yield* instance.boot()).map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/log/user-data.log")).toBe("builder step\n")
      expect((yield* instance.run(["--bootstrap", "incomplete"])).code).toBe(0)
      // the next instance's metadata service refuses (its retries until the deadline on the TestClock)
      const down = { IMDS_ENDPOINT: "127.0.0.1:9", IMDS_DEADLINE: "1" }
      const early = yield* onTestClock(instance.run(["early"], down), "100 millis")
      expect(early.code).toBe(1)
      expect(actionLines(early.stderr)).toEqual(["   ++ save_userdata: starting", "   ++ save_userdata: failed"])
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      const final = yield* onTestClock(instance.run(["final"], down), "100 millis")
      // early read nothing: the first boot is not marked complete on it (BEHAVIOUR.md §4), the next boot runs it again
      expect(actionLines(final.stderr)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: failed"])
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
      expect(instance.read("/var/log/user-data.log")).toBe("builder step\n")
    })
  )

  it.scopedLive("the image's files grown huge (600 MiB, more than a string holds) fail their own action in one line or count as absent: the user, keys and hostname are still set up", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY_A] } })
      // (passwd, group and shadow count as absent so, but the test's stand-ins of adduser and chpasswd read them whole)
      for (const file of ["/etc/hosts", "/proc/mounts"]) {
        instance.write(file, "")
        truncateSync(join(instance.root, file), 600 * 1024 * 1024)
      }
      const [boot, early, main] = yield* instance.boot()
      expect(boot!.stderr).toContain(`expand_root: read ${instance.root}/proc/mounts: larger than 16777216 bytes\n`)
      expect(early!.code).toBe(0)
      expect(actionLines(main!.stderr)).toEqual([
        "   ++ missing_userdata: starting",
        "   ++ missing_userdata: done",
        "   ++ create_default_user: starting",
        "   ++ create_default_user: done",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: failed",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: done"
      ])
      expect(main!.stderr).toContain(`set_hostname: read ${instance.root}/etc/hosts: larger than 16777216 bytes\n`)
      expect(`${boot!.stderr}${main!.stderr}`).not.toContain("internal error")
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )

  it.scopedLive("an /etc/hostname the image left as a directory fails set_hostname alone, in one line: the user and the keys are still set up", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY_A] } })
      mkdirSync(join(instance.root, "etc/hostname"))
      const [, , main] = yield* instance.boot()
      expect(actionLines(main!.stderr).slice(2)).toEqual([
        "   ++ create_default_user: starting",
        "   ++ create_default_user: done",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: failed",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: done"
      ])
      expect([main!.code, main!.stderr.split("\n").filter((l) => l.startsWith("set_hostname:"))]).toEqual([1, [`set_hostname: write ${instance.root}/etc/hostname: not a regular file; refused`]])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
    })
  )

  it.scopedLive("a sudoers grant the image's /etc/sudoers.d cannot take (a directory in its place) fails create_default_user alone, in one line: the password that lets keys in, doas' grant, the hostname and the keys are still set", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY_A] } })
      mkdirSync(join(instance.root, "etc/sudoers.d/wheel"))
      const [, , main] = yield* instance.boot()
      expect(actionLines(main!.stderr).slice(2)).toEqual([
        "   ++ create_default_user: starting",
        "   ++ create_default_user: failed",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: done",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: done"
      ])
      expect([main!.code, main!.stderr.split("\n").filter((l) => l.startsWith("create_default_user:"))]).toEqual([
        1,
        [`create_default_user: write ${instance.root}/etc/sudoers.d/wheel: not a regular file; refused`]
      ])
      // adduser -D left the password locked (!), which sshd refuses keys for
      expect(instance.invocations().filter((c) => c.command === "chpasswd").map((c) => [c.args, c.stdin])).toEqual([[["-e"], "alpine:*\n"]])
      expect([instance.read("/etc/doas.d/wheel.conf"), instance.read("/etc/hostname"), instance.read("/home/alpine/.ssh/authorized_keys")]).toEqual([
        "permit nopass :wheel\n",
        "web-1\n",
        `${KEY_A}\n`
      ])
    })
  )

  it.scopedLive("sudo's and doas' grants both refused (directories in their places) fail create_default_user with a line for each: neither is passed over unsaid", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY_A] } })
      mkdirSync(join(instance.root, "etc/sudoers.d/wheel"))
      mkdirSync(join(instance.root, "etc/doas.d/wheel.conf"))
      const [, , main] = yield* instance.boot()
      expect(actionLines(main!.stderr).slice(2, 4)).toEqual(["   ++ create_default_user: starting", "   ++ create_default_user: failed"])
      expect([main!.code, main!.stderr.split("\n").filter((l) => l.startsWith("create_default_user:"))]).toEqual([
        1,
        [
          `create_default_user: write ${instance.root}/etc/sudoers.d/wheel: not a regular file; refused`,
          `create_default_user: write ${instance.root}/etc/doas.d/wheel.conf: not a regular file; refused`
        ]
      ])
      expect([instance.read("/etc/hostname"), instance.read("/home/alpine/.ssh/authorized_keys")]).toEqual(["web-1\n", `${KEY_A}\n`])
    })
  )

  it.scopedLive("a saved user-data grown past USERDATA_MAX_BYTES (600 MiB, a full disk's damage) is not read: main says so in one line and goes on as without user-data", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY_A], userData: bytesOf("#cloud-config\nruncmd:\n  - echo ran\n") } })
      for (const phase of ["boot", "early"]) expect((yield* instance.run([phase])).code).toBe(0)
      truncateSync(join(instance.root, "var/lib/cloud/user-data"), 600 * 1024 * 1024)
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain(`\nmissing_userdata: read ${instance.root}/var/lib/cloud/user-data: larger than 16777216 bytes; taken as no user-data\n   ++ missing_userdata: done\n`)
      expect(main.stderr).not.toContain("internal error")
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      yield* instance.run(["final"])
      expect(instance.read("/var/log/user-data.log")).toBeUndefined()
      // the record and status name the action once, as the log line does
      expect((yield* instance.run(["status"])).stdout).toContain(`\nerror: main/missing_userdata: read ${instance.root}/var/lib/cloud/user-data: larger than 16777216 bytes; taken as no user-data\n`)
    })
  )

  it.scopedLive("a user-data script killed by a signal records 128 plus its number, as sh gives it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf("#!/bin/sh\necho before\nkill -TERM $$\necho after\n") } })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(final.code).toBe(1)
      expect(instance.read("/var/log/user-data.log")).toBe("before\n")
      expect(instance.read("/var/log/user-data.exit")).toBe("143\n")
      expect(final.stderr).toContain("run_userdata: user-data script exited with status 143\n   ++ run_userdata: failed\n")
    })
  )
})

// only root can give files away
describeSystem("keys given to their user", { root: true }, () => {
  it.scopedLive("~/.ssh and authorized_keys belong to the user's uid and gid", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [KEY_A] } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1234:2345:Linux User,,,:/home/alpine:/bin/sh\n")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.stat("/home/alpine/.ssh")).toMatchObject({ uid: 1234, gid: 2345, mode: 0o700 })
      expect(instance.stat("/home/alpine/.ssh/authorized_keys")).toMatchObject({ uid: 1234, gid: 2345, mode: 0o600 })
    })
  )

  it.scopedLive("an authorized_keys that holds the keys already, 0600 and the user's, but is a hard link (root's keys another name of it): replaced, the other name left to root", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [KEY_A] } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1234:2345:Linux User,,,:/home/alpine:/bin/sh\n")
      instance.write("/root/.ssh/authorized_keys", `${KEY_A}\n`)
      mkdirSync(join(instance.root, "home/alpine/.ssh"), { recursive: true, mode: 0o700 })
      linkSync(join(instance.root, "root/.ssh/authorized_keys"), join(instance.root, "home/alpine/.ssh/authorized_keys"))
      for (const p of ["home/alpine/.ssh", "home/alpine/.ssh/authorized_keys"]) chownSync(join(instance.root, p), 1234, 2345)
      chmodSync(join(instance.root, "home/alpine/.ssh/authorized_keys"), 0o600)
      expect((yield* instance.run(["main"])).code).toBe(0)
      // before: left as it was, so that the user's edit of their keys was root's too
      expect(statSync(join(instance.root, "home/alpine/.ssh/authorized_keys")).nlink).toBe(1)
      expect(instance.stat("/home/alpine/.ssh/authorized_keys")).toMatchObject({ uid: 1234, gid: 2345, mode: 0o600 })
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_A}\n`)
      expect(statSync(join(instance.root, "root/.ssh/authorized_keys")).nlink).toBe(1)
    })
  )
})

describe("user-data scripts saved on Windows", () => {
  it.scopedLive("CR LF line ends and a byte-order mark: the script runs as cloud-init runs it, its lines as written", () =>
    Effect.gen(function* () {
      const script = "\ufeff#!/bin/sh\r\necho one\r\nprintf '%s|' two\r\n"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(script) } })
      yield* instance.run(["early"])
      const final = yield* instance.run(["final"])
      expect(final.code).toBe(0)
      expect(instance.read("/var/log/user-data.log")).toBe("one\ntwo|")
      expect(instance.read("/var/log/user-data.exit")).toBe("0\n")
      // the saved user-data is as it came; the copy that ran is beside it
      expect(instance.read("/var/lib/cloud/user-data")).toBe(script)
      expect(instance.read("/var/lib/cloud/user-data.script")).toBe("#!/bin/sh\necho one\nprintf '%s|' two\n")
    })
  )

  it.scopedLive("a script that runs as it is stays byte for byte, a CR inside a line included", () =>
    Effect.gen(function* () {
      const script = "#!/bin/sh\nprintf 'a\\r\\n' >/dev/null\necho 'x\r'\r\n"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(script) } })
      yield* instance.run(["early"])
      expect((yield* instance.run(["final"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(script)
    })
  )
})

describe("early phase on invalid configuration user-data", () => {
  it.scopedLive("saves it and reports each problem with its line and path, as tiny-cloud schema does", () =>
    Effect.gen(function* () {
      const doc = "#alpine-config\npackages:\n  - ok\n  - [nested]\n"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: bytesOf(doc) } })
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).toContain("save_userdata: invalid user-data: line 4: packages[1]: expected a package name (no spaces, not starting with -), got a list; skipped\n")
      expect(instance.read("/var/lib/cloud/user-data")).toBe(doc)
    })
  )

  it.scopedLive.each(["#alpine-config\n- a\n- b\n", "#cloud-config\n- a\n"])(
    "a document that is not a map of keys fails the actions that need it; the user, keys and hostname are still set (%j)",
    (doc) =>
      Effect.gen(function* () {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINotAMap n@example"
        const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example", sshKeys: [key], userData: bytesOf(doc) } })
        yield* instance.run(["early"])
        const main = yield* instance.run(["main"])
        expect(main.code).toBe(1)
        expect(actionLines(main.stderr).filter((l) => l.endsWith(": failed")).length).toBeGreaterThan(0)
        expect(instance.read("/etc/hostname")).toBe("h\n")
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
        expect((yield* instance.run(["final"])).code).toBe(1)
        expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      })
  )
})
