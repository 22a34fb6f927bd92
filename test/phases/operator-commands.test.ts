/** `tiny-cloud config`, `autodetect`, and the command lines of the operator's commands. */
import { existsSync, readdirSync, readlinkSync, rmSync, symlinkSync, truncateSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { CONFIG_KEYS } from "../../src/domain/settings.js"
import { makeTestInstance } from "../support/instance.js"

/** an instance with nothing simulated and only ROOT in the environment, as a fresh image */
const image = (conf?: string, env: Record<string, string> = {}) =>
  makeTestInstance({ noSimulator: true, ...(conf !== undefined ? { conf } : {}), env })

/** one detector's line of `autodetect -v`: the names in a column as wide as the longest */
const verdict = (cloud: string, what: string) => `  ${cloud.padEnd(Math.max(...CLOUD_NAMES.map((c) => c.length)) + 2)}${what}`

/** what `--enable` says on stderr, one entry a line (the last empty: the text ends with a line break) */
const ENABLED = [
  "- tiny-cloud* services removed from all runlevels",
  "+ tiny-cloud-boot service added to boot runlevel",
  "+ tiny-cloud-early service added to default runlevel",
  "+ tiny-cloud-main service added to default runlevel",
  "+ tiny-cloud-final service added to default runlevel",
  ""
]

const lineOf = (stdout: string, key: string) => stdout.split("\n").find((l) => l.startsWith(`${key}=`))

describe("tiny-cloud config", () => {
  it.scopedLive("every key with its value and source: the environment over the file, the file's line, the default", () =>
    Effect.gen(function* () {
      const i = yield* image("# tiny-cloud.conf\nCLOUD=aws\n\nCLOUD_USER=ops\nIMDS_TIMEOUT='3'\n", { CLOUD: "gcp" })
      const r = yield* i.run(["config"])
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(lineOf(r.stdout, "CLOUD")).toMatch(/^CLOUD=gcp +# environment$/)
      expect(lineOf(r.stdout, "CLOUD_USER")).toMatch(/^CLOUD_USER=ops +# \/etc\/tiny-cloud\.conf line 4$/)
      expect(lineOf(r.stdout, "IMDS_TIMEOUT")).toMatch(/^IMDS_TIMEOUT=3 +# \/etc\/tiny-cloud\.conf line 5$/)
      expect(lineOf(r.stdout, "IMDS_TOKEN_TTL")).toMatch(/^IMDS_TOKEN_TTL=5 +# default$/)
      expect(lineOf(r.stdout, "TINY_CLOUD_VAR")).toMatch(new RegExp(`^TINY_CLOUD_VAR=${i.root}/var/lib/cloud +# default$`))
      expect(lineOf(r.stdout, "INIT_ACTIONS_MAIN")).toMatch(/^INIT_ACTIONS_MAIN='create_default_user set_hostname set_ssh_keys' +# default$/)
      expect(r.stdout.trimEnd().split("\n")).toHaveLength(CONFIG_KEYS.length)
    })
  )

  it.scopedLive("shows what the program uses: a phase's own action list (an empty one too), DEBUG as written, the code cache of the environment only", () =>
    Effect.gen(function* () {
      const i = yield* image('INIT_ACTIONS_MAIN="set_hostname"\nINIT_ACTIONS_FINAL=""\nDEBUG=yes\nTINY_CLOUD_CODE_CACHE=/x\n')
      const r = yield* i.run(["config"])
      expect(lineOf(r.stdout, "INIT_ACTIONS_MAIN")).toMatch(/^INIT_ACTIONS_MAIN=set_hostname +# \/etc\/tiny-cloud\.conf line 1$/)
      expect(lineOf(r.stdout, "INIT_ACTIONS_FINAL")).toMatch(/^INIT_ACTIONS_FINAL='' +# \/etc\/tiny-cloud\.conf line 2$/)
      expect(lineOf(r.stdout, "DEBUG")).toMatch(/^DEBUG=yes +# \/etc\/tiny-cloud\.conf line 3$/)
      expect(r.stdout.split("\n").find((l) => l.startsWith("#TINY_CLOUD_CODE_CACHE="))).toMatch(/^#TINY_CLOUD_CODE_CACHE=\/run\/tiny-cloud +# default$/)
      const environment = yield* i.run(["config"], { TINY_CLOUD_CODE_CACHE: "/tmp/cc" })
      expect(environment.stdout.split("\n").find((l) => l.startsWith("#TINY_CLOUD_CODE_CACHE="))).toMatch(/^#TINY_CLOUD_CODE_CACHE=\/tmp\/cc +# environment$/)
    })
  )

  it.scopedLive("its output is a tiny-cloud.conf that gives the same settings", () =>
    Effect.gen(function* () {
      const i = yield* image('SKIP_INIT_ACTIONS="expand_root  enable_sshd"\nINIT_ACTIONS_FINAL=""\nCLOUD_USER="o\'brien"\n')
      const first = yield* i.run(["config"])
      i.write("/etc/tiny-cloud.conf", first.stdout)
      const again = yield* i.run(["config"])
      expect(again.stderr).not.toContain("warning:")
      const values = (text: string) => text.split("\n").map((l) => l.replace(/ +#.*$/, ""))
      expect(values(again.stdout)).toEqual(values(first.stdout))
    })
  )

  it.scopedLive("flags CLOUD_USR=x as unknown, suggesting CLOUD_USER; a key it cannot place is unknown without a suggestion (__proto__ too); ROOT in the file is ignored", () =>
    Effect.gen(function* () {
      const i = yield* image("CLOUD_USR=x\nFROBNICATE=1\nROOT=/elsewhere\n__proto__=1\n")
      const r = yield* i.run(["config"])
      expect(r.code).toBe(0)
      expect(r.stderr).toBe(
        [
          "warning: /etc/tiny-cloud.conf line 1: unknown key CLOUD_USR; did you mean CLOUD_USER?",
          "warning: /etc/tiny-cloud.conf line 2: unknown key FROBNICATE",
          "warning: /etc/tiny-cloud.conf line 3: ROOT is read from the environment only; ignored here",
          "warning: /etc/tiny-cloud.conf line 4: unknown key __proto__",
          ""
        ].join("\n")
      )
      // read from the environment only: a comment in the output, which reads back as a tiny-cloud.conf without a warning
      expect(lineOf(r.stdout, "#ROOT")).toMatch(new RegExp(`^#ROOT=${i.root} +# environment$`))
      // a phase warns of each the same way, before its actions, and goes on: a mistyped key is no silent default
      const final = yield* i.run(["final"])
      expect(final.code).toBe(0)
      expect(final.stderr.split("\n").slice(0, 5)).toEqual([
        "/etc/tiny-cloud.conf line 1: unknown key CLOUD_USR; did you mean CLOUD_USER?",
        "/etc/tiny-cloud.conf line 2: unknown key FROBNICATE",
        "/etc/tiny-cloud.conf line 3: ROOT is read from the environment only; ignored here",
        "/etc/tiny-cloud.conf line 4: unknown key __proto__",
        ""
      ])
    })
  )

  it.scopedLive("reports every invalid value and line, keeps showing the rest, exits 1", () =>
    Effect.gen(function* () {
      const i = yield* image("IMDS_TIMEOUT=soon\nthis is not an assignment\nCLOUD=nimbus\nCLOUD_USER=bad:user\n", { IMDS_DEADLINE: "-1" })
      const r = yield* i.run(["config"])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(
        [
          "invalid: tiny-cloud.conf:2: expected KEY=value, got 'this is not an assignment'",
          "invalid: /etc/tiny-cloud.conf line 3: CLOUD: unknown cloud 'nimbus'",
          "invalid: /etc/tiny-cloud.conf line 4: CLOUD_USER: invalid user name 'bad:user'",
          "invalid: /etc/tiny-cloud.conf line 1: IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds",
          "invalid: environment: IMDS_DEADLINE: invalid value '-1': expected a positive number of seconds",
          ""
        ].join("\n")
      )
      expect(lineOf(r.stdout, "IMDS_TIMEOUT")).toMatch(/^IMDS_TIMEOUT=soon +# \/etc\/tiny-cloud\.conf line 1 \(invalid\)$/)
      expect(lineOf(r.stdout, "HOTPLUG_TYPE")).toMatch(/^HOTPLUG_TYPE=mdev +# default$/)
      // a phase reports each problem the same way, and goes on with the defaults
      const boot = yield* i.run(["boot"])
      expect([boot.code, ...boot.stderr.split("\n").slice(0, 4)]).toEqual([
        1,
        "tiny-cloud.conf:2: expected KEY=value, got 'this is not an assignment'; the line is ignored",
        "CLOUD_USER: invalid user name 'bad:user'; the default is used",
        "IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds; the default is used",
        "IMDS_DEADLINE: invalid value '-1': expected a positive number of seconds; the default is used"
      ])
    })
  )

  it.scopedLive("an AZURE_WIRESERVER that is not HOST or HOST:PORT is invalid as an IMDS_ENDPOINT is: config names it and exits 1, imds stops at it, a phase names it once and goes on", () =>
    Effect.gen(function* () {
      const i = yield* image("AZURE_WIRESERVER=http://168.63.129.16/\n")
      const r = yield* i.run(["config"])
      expect([r.code, r.stderr]).toEqual([1, "invalid: /etc/tiny-cloud.conf line 1: AZURE_WIRESERVER: expected HOST or HOST:PORT, got 'http://168.63.129.16/'\n"])
      expect(lineOf(r.stdout, "AZURE_WIRESERVER")).toMatch(/^AZURE_WIRESERVER=http:\/\/168\.63\.129\.16\/ +# \/etc\/tiny-cloud\.conf line 1 \(invalid\)$/)
      expect(yield* i.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: "imds: AZURE_WIRESERVER: expected HOST or HOST:PORT, got 'http://168.63.129.16/'\n" })
      const final = yield* i.run(["final"])
      expect([final.code, final.stderr.split("\n")[0]]).toEqual([1, "AZURE_WIRESERVER: expected HOST or HOST:PORT, got 'http://168.63.129.16/'; the default is used"])
    })
  )

  it.scopedLive("reports what a boot takes but cannot do as asked: unknown actions and hotplug modules, another hotplug system, a token lifetime AWS refuses, a relative directory", () =>
    Effect.gen(function* () {
      const i = yield* image(
        "INIT_ACTIONS_MAIN='create_default_user set_hostnme set_ssh_keys'\nSKIP_INIT_ACTIONS=expand_rot\nHOTPLUG_TYPE=udev\nHOTPLUG_MODULES='vnic_eth_hotplug foo toString'\nIMDS_TOKEN_TTL=99999\nTINY_CLOUD_VAR=state\n"
      )
      const r = yield* i.run(["config"])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(
        [
          "invalid: /etc/tiny-cloud.conf line 6: TINY_CLOUD_VAR: 'state' is not an absolute path",
          "invalid: /etc/tiny-cloud.conf line 2: SKIP_INIT_ACTIONS: unknown action 'expand_rot'",
          "invalid: /etc/tiny-cloud.conf line 1: INIT_ACTIONS_MAIN: unknown action 'set_hostnme'",
          "invalid: /etc/tiny-cloud.conf line 3: HOTPLUG_TYPE: unsupported 'udev'; mdev is the one with modules",
          "invalid: /etc/tiny-cloud.conf line 4: HOTPLUG_MODULES: unknown modules 'foo', 'toString'",
          "invalid: /etc/tiny-cloud.conf line 5: IMDS_TOKEN_TTL: invalid value '99999': expected a positive whole number of seconds, at most 21600",
          ""
        ].join("\n")
      )
    })
  )

  it.scopedLive("a hotplug module of another cloud (nvme_ebs_links, aws's) is unknown to config as to install_hotplugs on the configured cloud; with auto, detected at boot, it is not", () =>
    Effect.gen(function* () {
      const i = yield* image("CLOUD=gcp\nHOTPLUG_MODULES='vnic_eth_hotplug nvme_ebs_links'\n")
      const r = yield* i.run(["config"])
      // before: exit 0, nothing said, while the boot phase logs `>> nvme_ebs_links: unknown`
      expect([r.code, r.stderr]).toEqual([1, "invalid: /etc/tiny-cloud.conf line 2: HOTPLUG_MODULES: unknown module 'nvme_ebs_links'\n"])
      for (const cloud of ["aws", "auto"]) {
        const ok = yield* (yield* image(`CLOUD=${cloud}\nHOTPLUG_MODULES='vnic_eth_hotplug nvme_ebs_links'\n`)).run(["config"])
        expect([ok.code, ok.stderr]).toEqual([0, ""])
      }
    })
  )

  it.scopedLive("another HOTPLUG_TYPE with no module to install is valid to config, as the boot phase takes it without a word", () =>
    Effect.gen(function* () {
      const i = yield* image("HOTPLUG_TYPE=udev\n")
      const r = yield* i.run(["config"])
      // before: exit 1, "invalid: ... HOTPLUG_TYPE: unsupported 'udev'; mdev is the one with modules", while install_hotplugs, with nothing to install, says nothing
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(lineOf(r.stdout, "HOTPLUG_TYPE")).toMatch(/^HOTPLUG_TYPE=udev +# \/etc\/tiny-cloud\.conf line 1$/)
    })
  )

  it.scopedLive("an endpoint written as a URL with a user and password is printed with them hidden, as its problem names it (--json too)", () =>
    Effect.gen(function* () {
      const i = yield* image("IMDS_ENDPOINT=https://user:pass@host\n", { AZURE_WIRESERVER: "http://u:s3cret@10.0.0.1:80" })
      const r = yield* i.run(["config"])
      expect(r.code).toBe(1)
      expect(lineOf(r.stdout, "IMDS_ENDPOINT")).toMatch(/^IMDS_ENDPOINT='https:\/\/\*\*\*@host' +# \/etc\/tiny-cloud\.conf line 1 \(invalid\)$/)
      expect(lineOf(r.stdout, "AZURE_WIRESERVER")).toMatch(/^AZURE_WIRESERVER='http:\/\/\*\*\*@10\.0\.0\.1:80' +# environment \(invalid\)$/)
      expect(r.stderr).toContain("IMDS_ENDPOINT: expected HOST or HOST:PORT, got 'https://***@host'")
      const json = yield* i.run(["config", "--json"])
      expect(json.stdout).toContain('"value": "https://***@host"')
      for (const out of [r.stdout, r.stderr, json.stdout]) expect(out).not.toMatch(/pass|s3cret/)
      // a token in its query, as a seed URL's: hidden in the report, its problem, and the phases' and imds' lines
      const token = yield* image("", { IMDS_ENDPOINT: "http://169.254.169.254/latest?token=SECRET-CANARY-1" })
      const t = yield* token.run(["config"])
      expect(lineOf(t.stdout, "IMDS_ENDPOINT")).toMatch(/^IMDS_ENDPOINT='http:\/\/169\.254\.169\.254\/latest\?\*\*\*' +# environment \(invalid\)$/)
      expect(t.stderr).toContain("IMDS_ENDPOINT: expected HOST or HOST:PORT, got 'http://169.254.169.254/latest?***'")
      for (const out of [t.stdout, t.stderr, (yield* token.run(["config", "--json"])).stdout, (yield* token.imds(["@hostname"])).stderr]) expect(out).not.toContain("SECRET-CANARY")
    })
  )

  it.scopedLive("names an unknown action or hotplug module, or another hotplug system, escaped: control characters of tiny-cloud.conf never reach the terminal", () =>
    Effect.gen(function* () {
      const i = yield* image('INIT_ACTIONS_BOOT="x\u001b[2Jy"\nHOTPLUG_TYPE="m\u009bd"\nHOTPLUG_MODULES="a\u001b]0;t\u0007b"\n')
      const r = yield* i.run(["config"])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(
        [
          "invalid: /etc/tiny-cloud.conf line 1: INIT_ACTIONS_BOOT: unknown action 'x\\x1b[2Jy'",
          "invalid: /etc/tiny-cloud.conf line 2: HOTPLUG_TYPE: unsupported 'm\\x9bd'; mdev is the one with modules",
          "invalid: /etc/tiny-cloud.conf line 3: HOTPLUG_MODULES: unknown module 'a\\x1b]0;t\\x07b'",
          ""
        ].join("\n")
      )
    })
  )

  it.scopedLive("--json: each key with value, source and line; the warnings and problems", () =>
    Effect.gen(function* () {
      const i = yield* image("CLOUD_USR=x\nIMDS_TIMEOUT=soon\nCLOUD=alpine\n")
      const r = yield* i.run(["config", "--json"])
      expect([r.code, r.stderr]).toEqual([1, ""])
      const json = JSON.parse(r.stdout) as { valid: boolean; keys: ReadonlyArray<Record<string, unknown>>; warnings: ReadonlyArray<string>; problems: ReadonlyArray<string> }
      expect(json.valid).toBe(false)
      expect(json.keys.find((k) => k.key === "CLOUD")).toEqual({ key: "CLOUD", value: "nocloud", source: "file", line: 3 })
      expect(json.keys.find((k) => k.key === "IMDS_TIMEOUT")).toEqual({
        key: "IMDS_TIMEOUT",
        value: "soon",
        source: "file",
        line: 2,
        problem: "IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds"
      })
      expect(json.keys.find((k) => k.key === "CLOUD_USER")).toEqual({ key: "CLOUD_USER", value: "alpine", source: "default" })
      expect(json.warnings).toEqual([
        "/etc/tiny-cloud.conf line 1: unknown key CLOUD_USR; did you mean CLOUD_USER?",
        "CLOUD provider alpine is deprecated. Use nocloud"
      ])
      expect(json.problems).toEqual(["/etc/tiny-cloud.conf line 2: IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds"])
    })
  )
})

describe("tiny-cloud autodetect", () => {
  it.scopedLive("prints the cloud detection finds, whatever CLOUD says, writing nothing; -v adds every detector's verdict", () =>
    Effect.gen(function* () {
      const i = yield* image(undefined, { CLOUD: "aws" })
      i.write("/proc/cmdline", "console=ttyS0 ds=nocloud\n")
      expect(yield* i.run(["autodetect"])).toEqual({ code: 0, stdout: "nocloud\n", stderr: "" })
      expect(i.read("/var/lib/cloud/.autodetect")).toBeUndefined()
      const verbose = yield* i.run(["autodetect", "-v"])
      expect(verbose.code).toBe(0)
      expect(verbose.stdout.split("\n")).toEqual([
        "nocloud",
        ...CLOUD_NAMES.map((c) => verdict(c, c === "nocloud" ? "priority 10" : "not recognised")),
        "CLOUD=aws is configured: the phases use it, not detection",
        ""
      ])
    })
  )

  it.scopedLive("a tiny-cloud.conf with an invalid value or line still gets the answer, exit 0, each problem named as a phase names it; -v says what the phases take", () =>
    Effect.gen(function* () {
      // the phases read such a file leniently (the key's default, the line ignored) and detect all the same
      const i = yield* image("IMDS_TIMEOUT=2s\nCLOUD=gcp junk\n")
      i.write("/sys/class/dmi/id/sys_vendor", "Amazon EC2\n")
      const problems = [
        "tiny-cloud.conf:2: unexpected 'junk' after CLOUD=...; quote values with spaces; the line is ignored",
        "IMDS_TIMEOUT: invalid value '2s': expected a positive number of seconds; the default is used",
        ""
      ]
      const r = yield* i.run(["autodetect"])
      expect([r.code, r.stdout, r.stderr.split("\n")]).toEqual([0, "aws\n", problems])
      const verbose = yield* i.run(["autodetect", "-v"])
      expect([verbose.code, verbose.stderr.split("\n")]).toEqual([0, problems])
      // the line is ignored, so CLOUD is auto: nothing configured is named
      expect(verbose.stdout.split("\n")).toEqual(["aws", ...CLOUD_NAMES.map((c) => verdict(c, c === "aws" ? "priority 50" : "not recognised")), ""])
      expect(i.read("/var/lib/cloud/.autodetect")).toBeUndefined()
    })
  )

  it.scopedLive("a CLOUD that names no cloud (CLOUD=frob, config's 'invalid') is named on stderr as the phases' actions name it; stdout is still the cloud detection finds, exit 0", () =>
    Effect.gen(function* () {
      const i = yield* image("CLOUD=frob\n")
      i.write("/sys/class/dmi/id/sys_vendor", "Amazon EC2\n")
      const line = "unknown cloud 'frob': set CLOUD in /etc/tiny-cloud.conf"
      expect(yield* i.run(["autodetect"])).toEqual({ code: 0, stdout: "aws\n", stderr: `${line}\n` })
      const main = yield* i.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })
      expect(main.stderr.split("\n")).toContain(`set_hostname: ${line}`)
      // a cloud it knows, or auto, is none
      for (const cloud of ["gcp", "auto"]) expect((yield* i.run(["autodetect"], { CLOUD: cloud })).stderr).toBe("")
      expect(i.read("/var/lib/cloud/.autodetect")).toBeUndefined()
    })
  )

  it.scopedLive("nothing recognised: unknown, exit 0; -v names a cached detection the phases would use", () =>
    Effect.gen(function* () {
      const i = yield* image()
      expect(yield* i.run(["autodetect"])).toEqual({ code: 0, stdout: "unknown\n", stderr: "" })
      i.write("/var/lib/cloud/.autodetect", "gcp\n")
      i.write("/sys/class/dmi/id/sys_vendor", "Hetzner\n")
      // the first boot's boot phase has run: the later phases take the cache it made
      expect((yield* i.run(["boot"])).code).toBe(0)
      i.write("/var/lib/cloud/.autodetect", "gcp\n")
      const r = yield* i.run(["autodetect", "--verbose"])
      expect(r.stdout.split("\n")[0]).toBe("hetzner")
      expect(r.stdout).toContain(`${verdict("hetzner", "priority 50")}\n`)
      expect(r.stdout).toContain(`the phases use the cached detection: gcp (${i.root}/var/lib/cloud/.autodetect)\n`)
    })
  )

  it.scopedLive("-v before a first boot's boot phase (an image's builder's cache left, the marker removed by hand): the cache is not what the phases use, the boot phase detects again", () =>
    Effect.gen(function* () {
      const i = yield* image()
      i.write("/var/lib/cloud/.autodetect", "gcp\n")
      i.write("/sys/class/dmi/id/sys_vendor", "Hetzner\n")
      const r = yield* i.run(["autodetect", "-v"])
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(r.stdout).not.toContain("the phases use the cached detection")
      expect(r.stdout).toContain(`the phases detect again: the boot phase of a first boot removes the cached detection, gcp (${i.root}/var/lib/cloud/.autodetect), which this machine's signs contradict\n`)
      // as they do
      expect((yield* i.run(["boot"])).code).toBe(0)
      expect(i.read("/var/lib/cloud/.autodetect")).toBe("hetzner\n")
    })
  )

  it.scopedLive("-v before a first boot's boot phase where an earlier first boot's record is left (it ran to its final phase, an action failed, the marker removed by hand): the boot phase detects again, as -v says", () =>
    Effect.gen(function* () {
      const i = yield* image()
      i.write("/var/lib/cloud/seed/nocloud/meta-data", "instance-id: iid-image\nlocal-hostname: builder\n")
      i.write("/var/lib/cloud/seed/nocloud/user-data", "#!/bin/sh\nexit 3\n")
      i.write("/var/lib/cloud/.autodetect", "nocloud\n")
      // the image's builder's first boot: its script failed in the final phase
      expect((yield* i.boot()).map((r) => r.code)).toEqual([0, 0, 0, 1])
      rmSync(`${i.root}/var/lib/cloud/.bootstrap-complete`)
      i.write("/sys/class/dmi/id/sys_vendor", "Hetzner\n")
      const r = yield* i.run(["autodetect", "-v"])
      expect(r.stdout).toContain(`the phases detect again: the boot phase of a first boot removes the cached detection, nocloud (${i.root}/var/lib/cloud/.autodetect), which this machine's signs contradict\n`)
      yield* i.run(["boot"])
      expect(i.read("/var/lib/cloud/.autodetect")).toBe("hetzner\n")
      // the boot phase of this first boot has run: the later phases take the cache it made
      expect((yield* i.run(["autodetect", "-v"])).stdout).toContain(`the phases use the cached detection: hetzner (${i.root}/var/lib/cloud/.autodetect)\n`)
    })
  )

  it.scopedLive("-v before a first boot's boot phase with a cache nothing on the machine contradicts (nothing recognised: placed by the image's builder): the phases use it, as they do", () =>
    Effect.gen(function* () {
      const i = yield* image()
      i.write("/var/lib/cloud/.autodetect", "gcp\n")
      const r = yield* i.run(["autodetect", "-v"])
      expect(r.stdout).toContain(`the phases use the cached detection: gcp (${i.root}/var/lib/cloud/.autodetect)\n`)
      yield* i.run(["boot"])
      expect(i.read("/var/lib/cloud/.autodetect")).toBe("gcp\n")
    })
  )

  it.scopedLive("in a container, -v says why the DMI clouds are not recognised: the host's DMI strings and command line are not read", () =>
    Effect.gen(function* () {
      const i = yield* image()
      i.write("/sys/class/dmi/id/sys_vendor", "Amazon EC2\n")
      i.write("/proc/cmdline", "console=ttyS0 ds=nocloud;s=http://10.0.0.1/host-seed/\n")
      i.write("/proc/1/environ", "PATH=/sbin:/bin\0container=lxc\0")
      const r = yield* i.run(["autodetect", "-v"])
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(r.stdout.split("\n")).toEqual([
        "unknown",
        ...CLOUD_NAMES.map((c) => verdict(c, "not recognised")),
        "in a container (lxc): the host's DMI strings, kernel command line and filesystem labels are not read; the command line is init's arguments (/proc/1/cmdline)",
        ""
      ])
      // outside one (an empty container=), nothing of the kind is said
      i.write("/proc/1/environ", "container=\0")
      const vm = yield* i.run(["autodetect", "-v"])
      expect(vm.stdout.split("\n")[0]).toBe("nocloud")
      expect(vm.stdout).not.toContain("in a container")
    })
  )

  it.scopedLive("-v never names a cache the phases pass over (one naming no cloud: damaged, or another version's): they detect again", () =>
    Effect.gen(function* () {
      const i = yield* image()
      i.write("/sys/class/dmi/id/sys_vendor", "Hetzner\n")
      for (const damaged of ["aws\u001b[2J\n", "alpine\n", "aws\n"]) {
        i.write("/var/lib/cloud/.autodetect", damaged)
        // the last grown huge (600 MiB, sparse: more than a string holds)
        if (damaged === "aws\n") truncateSync(join(i.root, "var/lib/cloud/.autodetect"), 600 * 1024 * 1024)
        const r = yield* i.run(["autodetect", "-v"])
        expect([r.code, r.stderr]).toEqual([0, ""])
        expect(r.stdout.split("\n")[0]).toBe("hetzner")
        expect(r.stdout).not.toContain("cached detection")
        expect(r.stdout).not.toContain("\u001b")
      }
    })
  )
})

describe("command lines", () => {
  it.scopedLive("--bootstrap complete, status, incomplete", () =>
    Effect.gen(function* () {
      const instance = yield* image()
      expect((yield* instance.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
      expect((yield* instance.run(["--bootstrap", "complete"])).code).toBe(0)
      expect((yield* instance.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
      const incomplete = yield* instance.run(["--bootstrap", "incomplete"])
      expect(incomplete.stderr).toBe("bootstrap marked incomplete\n")
      expect((yield* instance.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
    })
  )

  it.scopedLive("--enable links the four services into their runlevels after removing old links; --disable only removes", () =>
    Effect.gen(function* () {
      const instance = yield* image()
      instance.write("/etc/runlevels/sysinit/tiny-cloud-old", "")
      instance.write("/etc/runlevels/default/sshd", "")
      expect(yield* instance.run(["--enable"])).toEqual({
        code: 0,
        stdout: "",
        stderr: ENABLED.join("\n")
      })
      const levels = join(instance.root, "etc/runlevels")
      expect(readlinkSync(join(levels, "boot/tiny-cloud-boot"))).toBe("/etc/init.d/tiny-cloud-boot")
      for (const s of ["early", "main", "final"]) expect(readlinkSync(join(levels, `default/tiny-cloud-${s}`))).toBe(`/etc/init.d/tiny-cloud-${s}`)
      expect(existsSync(join(levels, "sysinit/tiny-cloud-old"))).toBe(false)
      expect(yield* instance.run(["--disable"])).toEqual({ code: 0, stdout: "", stderr: "- tiny-cloud* services removed from all runlevels\n" })
      expect(readdirSync(join(levels, "default"))).toEqual(["sshd"])
      expect(readdirSync(join(levels, "boot"))).toEqual([])
    })
  )

  it.scopedLive("--enable and --disable need nothing tiny-cloud.conf says: a shell-edition line this edition cannot read, or an invalid value, keeps no image from being enabled", () =>
    Effect.gen(function* () {
      const instance = yield* image()
      // the shell edition sourced its tiny-cloud.conf: shell code in it was taken
      instance.write("/etc/tiny-cloud.conf", 'CLOUD=aws\n[ -f /etc/cloud-user ] && CLOUD_USER=bob\nIMDS_TIMEOUT=abc\n')
      const enabled = yield* instance.run(["--enable"])
      expect([enabled.code, enabled.stderr.split("\n")]).toEqual([
        0,
        ENABLED
      ])
      const levels = join(instance.root, "etc/runlevels")
      expect([readdirSync(join(levels, "boot")), readdirSync(join(levels, "default")).sort()]).toEqual([["tiny-cloud-boot"], ["tiny-cloud-early", "tiny-cloud-final", "tiny-cloud-main"]])
      expect(yield* instance.run(["--disable"])).toEqual({ code: 0, stdout: "", stderr: "- tiny-cloud* services removed from all runlevels\n" })
      expect([readdirSync(join(levels, "boot")), readdirSync(join(levels, "default"))]).toEqual([[], []])
    })
  )

  it.scopedLive("a disabled instance logs 'tiny-cloud disabled' and does nothing", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" } })
      instance.write("/etc/tiny-cloud.disabled", "")
      const r = yield* instance.run(["main"])
      expect([r.code, r.stderr]).toEqual([0, "tiny-cloud disabled\n"])
      expect(instance.commands()).toEqual([])
    })
  )

  it.scopedLive("-b, -E and -D are --bootstrap, --enable and --disable", () =>
    Effect.gen(function* () {
      const i = yield* image()
      expect(yield* i.run(["-b", "status"])).toEqual({ code: 0, stdout: "incomplete\n", stderr: "" })
      expect(yield* i.run(["-b", "complete"])).toMatchObject({ code: 0 })
      expect(yield* i.run(["--bootstrap", "status"])).toEqual({ code: 0, stdout: "complete\n", stderr: "" })
      expect((yield* i.run(["-E"])).stderr).toContain("+ tiny-cloud-final service added to default runlevel\n")
      expect(yield* i.run(["-D"])).toEqual({ code: 0, stdout: "", stderr: "- tiny-cloud* services removed from all runlevels\n" })
    })
  )

  it.scopedLive("a line or value tiny-cloud.conf gets wrong stops none of --enable, --disable, status, analyze: they need nothing it says", () =>
    Effect.gen(function* () {
      const i = yield* image("this is not an assignment\nIMDS_TIMEOUT=soon\n")
      const enable = yield* i.run(["--enable"])
      expect([enable.code, enable.stderr.split("\n").at(-2)]).toEqual([0, "+ tiny-cloud-final service added to default runlevel"])
      expect(readlinkSync(join(i.root, "etc/runlevels/boot/tiny-cloud-boot"))).toBe("/etc/init.d/tiny-cloud-boot")
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: "not started\n", stderr: "" })
      expect(yield* i.run(["analyze"])).toEqual({ code: 0, stdout: "no phase has run yet\n", stderr: "" })
      expect(yield* i.run(["--disable"])).toEqual({ code: 0, stdout: "", stderr: "- tiny-cloud* services removed from all runlevels\n" })
      expect(readdirSync(join(i.root, "etc/runlevels/boot"))).toEqual([])
    })
  )

  it.scopedLive("status --timeout without --wait, or of no time at all: its usage on stderr, exit 1", () =>
    Effect.gen(function* () {
      const i = yield* image()
      const usage = { code: 1, stdout: "", stderr: "Usage: tiny-cloud status [--json] [--wait [--timeout SECONDS]]\n" }
      for (const args of [["status", "--timeout", "5"], ["status", "--wait", "--timeout", "0"], ["status", "--wait", "--timeout=0.0"]]) {
        expect([args, yield* i.run(args)]).toEqual([args, usage])
      }
    })
  )

  it.scopedLive("--enable and --disable look into the runlevel directories only: a file beside them is passed over", () =>
    Effect.gen(function* () {
      const i = yield* image()
      i.write("/etc/runlevels/.keep", "")
      i.write("/etc/runlevels/sysinit/.keep", "")
      symlinkSync("/etc/init.d/tiny-cloud", join(i.root, "etc/runlevels/sysinit/tiny-cloud"))
      expect(yield* i.run(["--enable"])).toEqual({
        code: 0,
        stdout: "",
        stderr: ENABLED.join("\n")
      })
      expect(readdirSync(join(i.root, "etc/runlevels/sysinit"))).toEqual([".keep"])
      expect(readlinkSync(join(i.root, "etc/runlevels/boot/tiny-cloud-boot"))).toBe("/etc/init.d/tiny-cloud-boot")
      expect(yield* i.run(["--disable"])).toEqual({ code: 0, stdout: "", stderr: "- tiny-cloud* services removed from all runlevels\n" })
      expect(readdirSync(join(i.root, "etc/runlevels/default"))).toEqual([])
    })
  )

  it.scopedLive("--enable: an entry that cannot be removed is named and exits 1; every other link is still replaced", () =>
    Effect.gen(function* () {
      const i = yield* image()
      yield* i.run(["--enable"])
      i.write("/etc/runlevels/default/tiny-cloud-zdir/keep", "")
      rmSync(join(i.root, "etc/runlevels/default/tiny-cloud-main"))
      i.write("/etc/runlevels/default/tiny-cloud-main/keep", "")
      const r = yield* i.run(["--enable"])
      expect(r.code).toBe(1)
      const lines = r.stderr.trimEnd().split("\n")
      expect(lines.filter((l) => !l.startsWith("+"))).toEqual([
        `remove ${i.root}/etc/runlevels/default/tiny-cloud-main: is a directory`,
        `remove ${i.root}/etc/runlevels/default/tiny-cloud-zdir: is a directory`,
        "- tiny-cloud* services removed from all runlevels, but for the entries named",
        expect.stringMatching(/^symlink .*tiny-cloud-main: /)
      ])
      for (const [service, level] of [["tiny-cloud-boot", "boot"], ["tiny-cloud-early", "default"], ["tiny-cloud-final", "default"]]) {
        expect(lines).toContain(`+ ${service} service added to ${level} runlevel`)
        expect(readlinkSync(join(i.root, `etc/runlevels/${level}/${service}`))).toBe(`/etc/init.d/${service}`)
      }
      // --disable says the same of them, and exits 1 too
      const disabled = yield* i.run(["--disable"])
      expect([disabled.code, disabled.stderr.trimEnd().split("\n")]).toEqual([
        1,
        [
          `remove ${i.root}/etc/runlevels/default/tiny-cloud-main: is a directory`,
          `remove ${i.root}/etc/runlevels/default/tiny-cloud-zdir: is a directory`,
          "- tiny-cloud* services removed from all runlevels, but for the entries named"
        ]
      ])
    })
  )

  it.scopedLive("--bootstrap=WHAT and -bWHAT, as getopt takes them", () =>
    Effect.gen(function* () {
      const i = yield* image()
      expect(yield* i.run(["--bootstrap=status"])).toEqual({ code: 0, stdout: "incomplete\n", stderr: "" })
      expect(yield* i.run(["-bcomplete"])).toMatchObject({ code: 0, stderr: "bootstrap marked complete\n" })
      expect(yield* i.run(["-bstatus"])).toEqual({ code: 0, stdout: "complete\n", stderr: "" })
      expect((yield* i.run(["--bootstrap=", "status"])).code).toBe(1)
      expect((yield* i.run(["--bootstrap=later"])).code).toBe(1)
    })
  )

  it.scopedLive.each([
    [["status", "--timeout", "5"], "status [--json] [--wait [--timeout SECONDS]]"],
    [["status", "--wait", "--timeout", "soon"], "status [--json] [--wait [--timeout SECONDS]]"],
    [["status", "--wait", "--timeout"], "status [--json] [--wait [--timeout SECONDS]]"],
    [["status", "--json", "--json"], "status [--json] [--wait [--timeout SECONDS]]"],
    [["analyze", "--slowest"], "analyze [--json]"],
    [["autodetect", "-x"], "autodetect [-v]"],
    [["config", "CLOUD"], "config [--json]"],
    [["completion"], "completion {bash|zsh|fish}"],
    [["hotplug", "constructor"], "hotplug { vnic-eth | nvme-ebs }"]
  ] as ReadonlyArray<readonly [ReadonlyArray<string>, string]>)("%j: its usage on stderr, exit 1", ([args, synopsis]) =>
    Effect.gen(function* () {
      const i = yield* image()
      expect(yield* i.run(args)).toEqual({ code: 1, stdout: "", stderr: `Usage: tiny-cloud ${synopsis}\n` })
    })
  )

  it.scopedLive("status --wait --timeout of a million digits and a letter: its usage on stderr, exit 1, read in linear time", () =>
    Effect.gen(function* () {
      const i = yield* image()
      expect(yield* i.run(["status", "--wait", "--timeout", `${"0".repeat(1_000_000)}x`])).toEqual({
        code: 1,
        stdout: "",
        stderr: "Usage: tiny-cloud status [--json] [--wait [--timeout SECONDS]]\n"
      })
    })
  )

  it.scopedLive.each([
    [["status", "-h"], "status [--json] [--wait [--timeout SECONDS]]"],
    [["config", "--help"], "config [--json]"],
    [["schema", "-h"], "schema FILE"],
    [["completion", "--help"], "completion {bash|zsh|fish}"],
    [["main", "-h"], "main"]
  ] as ReadonlyArray<readonly [ReadonlyArray<string>, string]>)("%j: its usage on stdout, exit 0", ([args, synopsis]) =>
    Effect.gen(function* () {
      const i = yield* image()
      expect(yield* i.run(args)).toEqual({ code: 0, stdout: `Usage: tiny-cloud ${synopsis}\n`, stderr: "" })
    })
  )

  it.scopedLive("--timeout=N is --timeout N; the usage names every command", () =>
    Effect.gen(function* () {
      const i = yield* image()
      yield* i.run(["-b", "complete"])
      expect(yield* i.run(["status", "--wait", "--timeout=1.5", "--json"])).toMatchObject({ code: 0, stdout: expect.stringContaining('"state": "done"') })
      const help = yield* i.run(["--help"])
      expect(yield* i.run(["frobnicate", "--json"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^Usage: tiny-cloud \[-h\|--help\]/) })
      for (const command of ["status", "analyze", "autodetect", "config", "completion", "schema", "simulate", "imds", "-b|--bootstrap", "-E|--enable", "-D|--disable"]) {
        expect(help.stdout).toContain(command)
      }
    })
  )
})
