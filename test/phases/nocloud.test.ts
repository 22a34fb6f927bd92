import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn } from "node:child_process"
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { simulated } from "../../src/sim/clouds/nocloud.js"
import { bytesOf } from "../../src/domain/text.js"
import { actionLines, makeTestInstance, type TestInstance } from "../support/instance.js"
import type { Invocation } from "../support/layers.js"
import { skipAtRun } from "../support/system.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoCloudKey n@example"
const META = `instance-id: iid-local01\nlocal-hostname: seeded.example.org\npublic-keys:\n  - ${KEY}\n`
const SCRIPT = "#!/bin/sh\necho seeded\n"

/** an instance with no simulator whose seed files are written under ROOT at `where` */
const localSeed = (where: string, files: Record<string, string>, env: Record<string, string> = { CLOUD: "nocloud" }) =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env })
    for (const [name, content] of Object.entries(files)) instance.write(`${where}/${name}`, content)
    return instance
  })

/** a directory outside the instance holding the files of a NoCloud volume */
const volumeDir = (files: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-cidata-"))
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/**
 * `findfs` and `mount` answering for one volume only: found under `label`,
 * mountable as `fstype` with that label (its files copied to the mount point)
 */
const onlyVolume = (volume: { readonly dir: string; readonly fstype: string; readonly label: string }) => (i: Invocation) => {
  if (i.command === "findfs") return { exitCode: i.args[0] === `LABEL=${volume.label}` ? 0 : 1 }
  if (i.command !== "mount") return undefined
  const [, , , fstype, source] = i.args
  if (fstype !== volume.fstype || source !== `LABEL=${volume.label}`) return { exitCode: 32 }
  const target = i.args[i.args.length - 1]!
  for (const name of readdirSync(volume.dir)) cpSync(join(volume.dir, name), join(target, name))
  return { exitCode: 0 }
}

const mountsOf = (commands: ReadonlyArray<string>) => commands.filter((c) => c.startsWith("mount ") || c.startsWith("umount "))

/** the temporary mount point of the first mount attempt, checked to be under $ROOT/run/tiny-cloud */
const mountPoint = (instance: TestInstance) => {
  const dir = mountsOf(instance.commands()).find((c) => c.startsWith("mount "))!.split(" ").pop()!
  expect(dir.startsWith(`${instance.root}/run/tiny-cloud/cidata-`)).toBe(true)
  return dir
}

describe("a first boot asked for again by removing the marker by hand (an image's builder's rm), on nocloud", () => {
  it.scopedLive("reads the instance's own seed: the hostname and keys are its own, not those of the copies the builder's first boot left", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", sshKeys: [KEY], userData: bytesOf(SCRIPT) } })
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=${instance.sim!.seedUrl!}\n`)
      // what the builder's completed first boot left beside its marker, which was then removed by hand
      const builderKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuilderKey builder@example"
      instance.write("/var/lib/cloud/nocloud/meta-data", `instance-id: iid-builder\nlocal-hostname: builder\npublic-keys:\n  - ${builderKey}\n`)
      instance.write("/var/lib/cloud/nocloud/user-data", "#!/bin/sh\necho builder\n")
      instance.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).not.toContain("builder")
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
      // read once: the later phases read the copies
      expect(instance.sim!.requests.filter((r) => r.path.endsWith("/meta-data")).length).toBe(1)
    })
  )
})

describe("NoCloud seed copies an image holds with no seed to read (its builder left only the copies and their mark)", () => {
  it.scopedLive("are read: the boot phase forgets their mark, finds no seed, and takes the copies again", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/nocloud/meta-data", `instance-id: iid-image\nlocal-hostname: copied\npublic-keys:\n  - ${KEY}\n`)
      instance.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("copied\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
    })
  )
  it.scopedLive("are read under the command line's h= too: its hostname, the copies' keys (they are not removed)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/nocloud/meta-data", `instance-id: iid-image\nlocal-hostname: copied\npublic-keys:\n  - ${KEY}\n`)
      instance.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      instance.write("/proc/cmdline", "root=/dev/vda2 ds=nocloud;h=fromcmd\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[0]!.stderr).toContain("no NoCloud seed found; the seed copies in")
      expect(instance.read("/etc/hostname")).toBe("fromcmd\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toContain("local-hostname: copied")
    })
  )
  it.scopedLive("are read where the command line's seedfrom names a directory that is not there, which is said: not 'no NoCloud seed found'", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/var/lib/cloud/nocloud/meta-data", `instance-id: iid-image\nlocal-hostname: copied\npublic-keys:\n  - ${KEY}\n`)
      instance.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      instance.write("/proc/cmdline", "root=/dev/vda2 ds=nocloud;s=/seed/missing/\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[0]!.stderr).not.toContain("no NoCloud seed found")
      expect(results[0]!.stderr).toContain(`NoCloud seedfrom '/seed/missing/' is no directory; the seed copies in ${instance.root}/var/lib/cloud/nocloud are used\n`)
      expect(instance.read("/etc/hostname")).toBe("copied\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )
  it.scopedLive("are read where a cidata volume is there but does not mount, which is said: not 'no NoCloud seed found'", () =>
    Effect.gen(function* () {
      const unmountable = (i: Invocation) =>
        i.command === "findfs" ? { exitCode: i.args[0] === "LABEL=cidata" ? 0 : 1 } : i.command === "mount" ? { exitCode: 32 } : undefined
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, answer: unmountable })
      instance.write("/var/lib/cloud/nocloud/meta-data", `instance-id: iid-image\nlocal-hostname: copied\npublic-keys:\n  - ${KEY}\n`)
      instance.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[0]!.stderr).not.toContain("no NoCloud seed found")
      expect(results[0]!.stderr).toContain(
        `a NoCloud seed volume (LABEL=cidata) is there but could not be mounted read-only as vfat or iso9660; the seed copies in ${instance.root}/var/lib/cloud/nocloud are used\n`
      )
      expect(instance.read("/etc/hostname")).toBe("copied\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )
})

describe("a NoCloud seed mark that is a directory (damage in the image's state directory)", () => {
  it.scopedLive("is not taken for a seed read already: the first boot reads the seed and sets the hostname and keys", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", sshKeys: [KEY] } })
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=${instance.sim!.seedUrl!}\n`)
      instance.write("/var/lib/cloud/nocloud/.nocloud_loaded/x", "")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
    })
  )
})

describe("first boot on nocloud", () => {
  it.scopedLive.each(["", "/"])("from an http seed on the command line (URL ending %j), with an ephemeral DHCP lease first", (slash) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", sshKeys: [KEY], userData: bytesOf(SCRIPT) } })
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=${instance.sim!.seedUrl!.replace(/\/$/, "")}${slash}\n`)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(actionLines(results[0]!.stderr)).toContain("   ++ set_network_interfaces: done")
      expect(instance.commands()).toContain("udhcpc -i eth0 -f -q")
      expect(instance.read("/etc/hostname")).toBe("web\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      expect(instance.read("/var/log/user-data.log")).toBe("seeded\n")
      expect(instance.mode("/var/lib/cloud/nocloud/meta-data")).toBe(0o600)
      expect(instance.read("/var/lib/cloud/nocloud/user-data")).toBe(SCRIPT)
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
      const seedRequests = instance.sim!.requests.filter((r) => r.path.endsWith("/meta-data"))
      expect(seedRequests.length).toBe(1)
    })
  )

  it.scopedLive.each([
    ["seed:SECRET-CANARY-1", "seed:SECRET-CANARY-1"],
    // a password without a user: requests sends it with an empty user
    [":SECRET-CANARY-1", ":SECRET-CANARY-1"]
  ])("an http seed URL's user and password (%s) are sent (Basic), as cloud-init sends them, and named in no line", ([written, sent]) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", sshKeys: [KEY], userData: bytesOf(SCRIPT) } })
      const url = instance.sim!.seedUrl!.replace("http://", `http://${written}@`)
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=${url}\n`)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      const seedRequests = instance.sim!.requests.filter((r) => r.path.endsWith("/meta-data"))
      expect(seedRequests.map((r) => r.headers.authorization)).toEqual([`Basic ${Buffer.from(sent!).toString("base64")}`])
      // every file of the seed is asked for with them
      const allSeed = instance.sim!.requests.filter((r) => /\/(meta-data|user-data|vendor-data|network-config)$/.test(r.path))
      expect(allSeed.map((r) => r.path.split("/").pop()).sort()).toEqual(["meta-data", "network-config", "user-data", "vendor-data"])
      for (const r of allSeed) expect(r.headers.authorization).toBe(`Basic ${Buffer.from(sent!).toString("base64")}`)
      for (const r of results) expect(r.stderr).not.toContain("SECRET-CANARY")
      expect(instance.read("/var/lib/cloud/status.json")).not.toContain("SECRET-CANARY")
    })
  )

  it.scopedLive("from ds=nocloud-net on the command line: detected with CLOUD unset, seed fetched from its URL", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "net.example.org", sshKeys: [KEY] }, env: { CLOUD: "auto" } })
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud-net;s=${instance.sim!.seedUrl}\n`)
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
      expect(actionLines(boot.stderr)).toContain("   ++ set_network_interfaces: done")
      expect(instance.commands()).toContain("udhcpc -i eth0 -f -q")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("net\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.sim!.requests.filter((r) => r.path.endsWith("/meta-data")).length).toBe(1)
    })
  )

  it.scopedLive("takes no DHCP lease when the interface already has an IPv4 route", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "h" } })
      instance.write("/proc/cmdline", `ds=nocloud;s=${instance.sim!.seedUrl}\n`)
      instance.write("/proc/net/route", "Iface\tDestination\tGateway\neth0\t00000000\t0100000A\n")
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(instance.commands().filter((c) => c.startsWith("udhcpc"))).toEqual([])
    })
  )

  it.scopedLive("from a seed directory named by seedfrom (file:// URL), with the hostname from the command line", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/here", { "meta-data": META, "user-data": SCRIPT })
      instance.write("/proc/cmdline", "ds=nocloud;h=cmdline-host;s=file:///seed/here/\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("cmdline-host\n")
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(instance.commands().filter((c) => c.startsWith("udhcpc"))).toEqual([])
    })
  )

  it.scopedLive("a seed whose meta-data lines end in a CR alone (saved with old Mac line ends) is read as cloud-init's PyYAML reads it: host and keys set", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META.replaceAll("\n", "\r") })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(yield* instance.imds(["@hostname", "+n", "@ssh-keys"])).toEqual({ code: 0, stdout: `seeded.example.org\n${KEY}\n`, stderr: "" })
    })
  )

  it.scopedLive("the command line's h= names the host over a seed whose meta-data has a hostname key of its own", () =>
    Effect.gen(function* () {
      // one seed for many machines, each named on its command line; the meta-data as cloud-init's NoCloud docs write it, with
      // `hostname:` (cloud-init names the host by local-hostname alone, which h= replaces: node-7)
      const shared = "instance-id: iid-abcdefg\nhostname: myhost\nlocal-hostname: myhost\n"
      const instance = yield* localSeed("/seed/here", { "meta-data": shared, "user-data": SCRIPT })
      instance.write("/proc/cmdline", "ds=nocloud;h=node-7;s=file:///seed/here/\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("node-7\n")
      expect(yield* instance.imds(["@hostname", "+n", "meta-data/hostname"])).toEqual({ code: 0, stdout: "node-7\nmyhost", stderr: "" })
    })
  )

  it.scopedLive.each([
    ["ftp://seed:SECRET-CANARY-1@10.0.0.1/seed/", "ftp://***@10.0.0.1/seed/"],
    // one slash after the scheme: a URL all the same to URL parsers, its user and password too
    ["http:/seed:SECRET-CANARY-1@10.0.0.1/seed/", "http:/***@10.0.0.1/seed/"],
    // a control character is shown escaped, never sent to a terminal or syslog as it is
    ["ftp://seed:SECRET-CANARY-1@10.0.0.1/\u001b[2Jseed/", "ftp://***@10.0.0.1/\\x1b[2Jseed/"],
    // a password with '/' in it (a base64 token), written as it is: no URL parser takes it, nor is its '/' a path's
    ["http://seed:SECRET/CANARY-1@10.0.0.1/seed/", "http://***@10.0.0.1/seed/"],
    // a query may carry a token, as the lines naming a seed file's URL hide it: the scheme left out, an IPv6 host's ']' left out
    ["10.0.0.1/seed/?token=SECRET-CANARY-1", "10.0.0.1/seed/?***"],
    ["http://[fd00::1/%s?token=SECRET-CANARY-1", "http://[fd00::1/%s?***"],
    ["ftp://seed:SECRET-CANARY-1@10.0.0.1/seed?file=&token=SECRET-CANARY-1", "ftp://***@10.0.0.1/seed?***"]
  ])("a seedfrom it cannot use (%s) is named without the user and password or the query of its URL (BEHAVIOUR.md 4.5: never a secret in a log)", ([seedFrom, shown]) =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META })
      instance.write("/proc/cmdline", `ds=nocloud;s=${seedFrom}\n`)
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain(`Unknown NoCloud seedfrom value '${shown}'\n`)
      expect(early.stderr).not.toContain("SECRET-CANARY")
      expect(instance.read("/var/lib/cloud/status.json")).not.toContain("SECRET-CANARY")
    })
  )

  it.scopedLive("an http seedfrom no URL parser takes is a seedfrom it cannot use: named without its credentials, the next seed is read, never an internal error", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META })
      instance.write("/proc/cmdline", "ds=nocloud;s=http://seed:pa?SECRET-CANARY-1@10.0.0.1/seed/\n")
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).toContain("Unknown NoCloud seedfrom value 'http://***@10.0.0.1/seed/'\n")
      expect(early.stderr).not.toContain("internal error")
      expect(early.stderr).not.toContain("SECRET-CANARY")
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
    })
  )

  it.scopedLive("seedfrom's __dmi.KEY__ placeholders are this machine's SMBIOS strings, as cloud-init reads them (one seed per serial number)", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seeds/SN-4711-B", { "meta-data": META, "user-data": SCRIPT })
      instance.write("/sys/class/dmi/id/product_serial", "SN-4711-B\n")
      instance.write("/proc/cmdline", "ds=nocloud;s=file:///seeds/__dmi.system-serial-number__/\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )

  it.scopedLive("a detection cache that names no cloud is detected again, and rewritten", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "local-hostname: seeded\n" }, {})
      instance.write("/var/lib/cloud/.autodetect", "gar\u001bbage\n")
      instance.write("/proc/cmdline", "ds=nocloud\n")
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "seeded", stderr: "" })
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
    })
  )

  it.scopedLive("meta-data nested deeper than any real one is refused unread, in one line naming it", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `local-hostname: ${"[".repeat(300_000)}${"]".repeat(300_000)}\n` })
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: "imds: nocloud: cannot read meta-data: invalid YAML: nested too deeply (more than 200 levels)\n" })
    })
  )

  it.scopedLive("meta-data that is no YAML fails in one line that never quotes it (yaml's message may: a block header, a tag, an alias)", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["password: |Sup3rSecret\n  x\n", "unexpected characters at line 2, column 12"],
        ["password: !!omap\n - Sup3rSecret: 1\n - Sup3rSecret: 2\n", "a tag it cannot resolve at line 2, column 11"],
        ['password: "x\\uSup3rSecret"\n', "an invalid escape sequence at line 2, column 13"],
        ["password: *Sup3rSecret\n", "an alias whose anchor is not set before it"],
        // a message that quotes nothing is kept
        ["password: x\n bad: y\n", "Nested mappings are not allowed in compact mappings at line 2, column 11"]
      ]
      for (const [bad, reason] of cases) {
        const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `local-hostname: h\n${bad}` })
        expect(yield* instance.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: `imds: nocloud: cannot read meta-data: invalid YAML: ${reason}\n` })
      }
    })
  )

  it.scopedLive("meta-data with a key written twice is read as cloud-init reads it, the last one winning: the hostname and keys are still set", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `local-hostname: first\n${META}` })
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "seeded.example.org", stderr: "" })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("a hostname that is a mapping is no name (never its first key): said in one line and left out, the local-hostname names the host", () =>
    Effect.gen(function* () {
      for (const value of ["{web: x}", "\n  web:\n    db: x"]) {
        const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `hostname: ${value}\nlocal-hostname: seeded\npublic-keys: [${KEY}]\n` })
        const warning = "NoCloud meta-data 'hostname' is a mapping, not a name; left out\n"
        expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "seeded", stderr: warning })
        const main = yield* instance.run(["main"])
        expect(main.stderr).toContain(warning)
        expect(actionLines(main.stderr)).toContain("   ++ set_ssh_keys: done")
        expect(instance.read("/etc/hostname")).toBe("seeded\n")
      }
    })
  )

  it.scopedLive("a local-hostname that is a mapping is said once by one read of @local-hostname, though that read falls back to @hostname, which falls back to it", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "instance-id: i-1\nlocal-hostname: {web: x}\n" })
      expect(yield* instance.imds(["@local-hostname"])).toEqual({
        code: 1,
        stdout: "",
        stderr: "NoCloud meta-data 'local-hostname' is a mapping, not a name; left out\nimds: @local-hostname: not found\n"
      })
    })
  )

  it.scopedLive("i= on the command line overrides meta-data's instance-id; the seed copy stays byte-exact", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "h.example", instanceId: "iid-from-seed" } })
      const seeded = yield* instance.imds(["meta-data/instance-id"])
      expect(seeded).toEqual({ code: 0, stdout: "iid-from-seed", stderr: "" })

      const overridden = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "h.example", instanceId: "iid-from-seed" } })
      overridden.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;i=iid-cmdline;s=${overridden.sim!.seedUrl}\n`)
      expect(yield* overridden.imds(["meta-data/instance-id"])).toEqual({ code: 0, stdout: "iid-cmdline", stderr: "" })
      expect(overridden.read("/var/lib/cloud/nocloud/meta-data")).toBe("instance-id: iid-from-seed\nhostname: h.example\n")
    })
  )

  it.scopedLive("instance-id= (the long key) overrides it too", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/long", { "meta-data": META })
      instance.write("/proc/cmdline", "ds=nocloud;instance-id=iid-long;s=/seed/long\n")
      expect(yield* instance.imds(["meta-data/instance-id"])).toEqual({ code: 0, stdout: "iid-long", stderr: "" })
    })
  )

  it.scopedLive("local-hostname= and seedfrom= (the long keys) are h= and s=", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/longer", { "meta-data": META })
      instance.write("/proc/cmdline", "ds=nocloud;local-hostname=named-long;seedfrom=/seed/longer\n")
      expect(yield* instance.imds(["@local-hostname", "+n", "meta-data/instance-id"])).toEqual({ code: 0, stdout: "named-long\niid-local01", stderr: "" })
    })
  )

  it.scopedLive("a ds=nocloud key it reads nothing from (hostname= for h=) is named once, by the phase that loads the seed, as the shell edition names it; the known keys still apply", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/typo", { "meta-data": META })
      instance.write("/proc/cmdline", "root=/dev/vda2 ds=nocloud;s=/seed/typo;hostname=typo;i=iid-cmdline;http://user:secret@10.0.0.1/seed/\n")
      instance.write("/sys/class/dmi/id/product_serial", "ds=nocloud;vendor=x\n")
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr.split("\n").filter((l) => l.startsWith("Unknown NoCloud"))).toEqual([
        "Unknown NoCloud SMBIOS serial key 'vendor'",
        "Unknown NoCloud kernel cmdline key 'hostname'",
        "Unknown NoCloud kernel cmdline key 'http://***@10.0.0.1/seed/'"
      ])
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).not.toContain("Unknown NoCloud")
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect((yield* instance.imds(["meta-data/instance-id"])).stdout).toBe("iid-cmdline")
    })
  )

  it.scopedLive("a ds=nocloud key it reads nothing from, named by several words or twice in one, is named once for each of the command line and the serial", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/twice", { "meta-data": META })
      instance.write("/proc/cmdline", "root=/dev/vda2 ds=nocloud;hostname=a;x=1;x=2 quiet ds=nocloud;s=/seed/twice;hostname=b;\n")
      instance.write("/sys/class/dmi/id/product_serial", "ds=nocloud;x=3;x=4\n")
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr.split("\n").filter((l) => l.startsWith("Unknown NoCloud"))).toEqual([
        "Unknown NoCloud SMBIOS serial key 'x'",
        "Unknown NoCloud kernel cmdline key 'hostname'",
        "Unknown NoCloud kernel cmdline key 'x'"
      ])
    })
  )

  it.scopedLive("of a command line with more unknown ds=nocloud keys than it names (a container's init arguments), the first 100 are named and the rest counted in one line", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/many", { "meta-data": META })
      const keys = Array.from({ length: 250 }, (_, i) => `k${i}=1`).join(";")
      instance.write("/proc/cmdline", `ds=nocloud;s=/seed/many;${keys}\n`)
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      const named = boot.stderr.split("\n").filter((l) => l.startsWith("Unknown NoCloud"))
      expect(named).toEqual(Array.from({ length: 100 }, (_, i) => `Unknown NoCloud kernel cmdline key 'k${i}'`))
      expect(boot.stderr).toContain("150 more unknown NoCloud keys are not named\n")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
    })
  )

  it.scopedLive("from the SMBIOS serial", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/serial", { "meta-data": META })
      instance.write("/sys/class/dmi/id/product_serial", "ds=nocloud;s=/seed/serial\n")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
    })
  )

  it.scopedLive("a bare ds=nocloud on the command line keeps the SMBIOS serial's seed; a key the command line gives wins (cloud-init merges both)", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/serial", { "meta-data": META })
      instance.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-virt root=UUID=0b1c ds=nocloud;i=iid-cmdline quiet\n")
      instance.write("/sys/class/dmi/id/product_serial", "ds=nocloud;s=/seed/serial;i=iid-serial\n")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect((yield* instance.imds(["meta-data/instance-id"])).stdout).toBe("iid-cmdline")
    })
  )

  it.scopedLive("a ds=nocloud;s=... appended after the image's bare ds=nocloud (at the boot prompt) is the seed: every ds word is read, a later key winning", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/appended", { "meta-data": META })
      instance.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-virt root=/dev/vda2 ds=nocloud;h=image modules=sd-mod ds=nocloud;s=/seed/appended quiet\n")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect((yield* instance.imds(["@local-hostname"])).stdout).toBe("image")
      instance.write("/proc/cmdline", "ds=nocloud;h=first ds=nocloud;h=second\n")
      expect((yield* instance.imds(["@local-hostname"])).stdout).toBe("second")
    })
  )

  it.scopedLive("from a cidata volume: mounted read-only, copied, unmounted", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, cidata: volume })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      const dir = mountPoint(instance)
      expect(mountsOf(instance.commands())).toEqual([`mount -o ro -t vfat LABEL=cidata ${dir}`, `umount ${dir}`])
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      // the mounted volume's files (vfat: readable by all) are out of others' reach while they are read
      expect(instance.mode("/run/tiny-cloud")).toBe(0o700)
    })
  )

  it.scopedLive("a mount point a crashed run left is unmounted and removed, though its pid is another program's now; one of a live process is left alone", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, cidata: volume })
      const other = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("sleep", ["600"], { stdio: "ignore" })),
        (child) => Effect.sync(() => child.kill())
      )
      // pid 2^22 + 1 is past the kernel's largest
      const dead = `${instance.root}/run/tiny-cloud/cidata-4194305-AbCdEf`
      const taken = `${instance.root}/run/tiny-cloud/cidata-${other.pid}-MnOpQr`
      const live = `${instance.root}/run/tiny-cloud/cidata-${process.pid}-GhIjKl`
      mkdirSync(dead, { recursive: true })
      mkdirSync(taken, { recursive: true })
      mkdirSync(live, { recursive: true })
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(mountsOf(instance.commands()).slice(0, 2).sort()).toEqual([`umount ${dead}`, `umount ${taken}`].sort())
      expect(existsSync(dead)).toBe(false)
      expect(existsSync(taken)).toBe(false)
      expect(existsSync(live)).toBe(true)
      expect(mountPoint(instance).startsWith(`${instance.root}/run/tiny-cloud/cidata-${process.pid}-`)).toBe(true)
    })
  )

  it.scopedLive("a link (or a file) with a crashed run's mount point's name is none: never given to umount, which would follow it out of ROOT", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT })
      // a directory outside ROOT, as a host's mount point would be
      const away = yield* volumeDir({})
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, cidata: volume })
      const link = `${instance.root}/run/tiny-cloud/cidata-4194305-AbCdEf`
      const file = `${instance.root}/run/tiny-cloud/cidata-4194306-GhIjKl`
      mkdirSync(`${instance.root}/run/tiny-cloud`, { recursive: true })
      symlinkSync(away, link)
      writeFileSync(file, "")
      expect((yield* instance.run(["boot"])).code).toBe(0)
      const dir = mountPoint(instance)
      expect(mountsOf(instance.commands())).toEqual([`mount -o ro -t vfat LABEL=cidata ${dir}`, `umount ${dir}`])
      expect(readdirSync(away)).toEqual([])
    })
  )

  it.scopedLive("a crashed run's mount point under $ROOT/tmp (its medium mounted one level down, in the private directory) is unmounted there and removed", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, cidata: volume })
      const dead = `${instance.root}/tmp/tiny-cloud-cidata-4194305-AbCdEf`
      mkdirSync(`${dead}/medium`, { recursive: true })
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(mountsOf(instance.commands()).filter((l) => l.includes("/tmp/"))).toEqual([`umount ${dead}/medium`])
      expect(existsSync(dead)).toBe(false)
    })
  )

  it.scopedLive("another user's directory with a crashed run's mount point's name in $ROOT/tmp (all may write there) is theirs: never given to umount nor removed", (ctx) =>
    Effect.gen(function* () {
      // another user's: only root can give the directory away
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (chown to another user)")
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, cidata: volume })
      const theirs = `${instance.root}/tmp/tiny-cloud-cidata-4194305-AbCdEf`
      mkdirSync(theirs, { recursive: true })
      writeFileSync(`${theirs}/notes`, "mine\n")
      chownSync(`${theirs}/notes`, 65534, 65534)
      chownSync(theirs, 65534, 65534)
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(mountsOf(instance.commands()).filter((l) => l.includes("/tmp/"))).toEqual([])
      expect(readdirSync(theirs)).toEqual(["notes"])
    })
  )

  it.scopedLive("without a volume, the mounts tried are vfat then iso9660, each as cidata then CIDATA, read-only", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      expect((yield* instance.run(["main"])).code).toBe(1)
      const dir = mountPoint(instance)
      expect(mountsOf(instance.commands())).toEqual([
        `mount -o ro -t vfat LABEL=cidata ${dir}`,
        `mount -o ro -t vfat LABEL=CIDATA ${dir}`,
        `mount -o ro -t iso9660 LABEL=cidata ${dir}`,
        `mount -o ro -t iso9660 LABEL=CIDATA ${dir}`
      ])
    })
  )

  it.scopedLive("from a vfat volume labelled only CIDATA", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, answer: onlyVolume({ dir: volume, fstype: "vfat", label: "CIDATA" }) })
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect((yield* instance.run(["main"])).code).toBe(0)
      const dir = mountPoint(instance)
      expect(mountsOf(instance.commands())).toEqual([`mount -o ro -t vfat LABEL=cidata ${dir}`, `mount -o ro -t vfat LABEL=CIDATA ${dir}`, `umount ${dir}`])
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
    })
  )

  it.scopedLive("from an iso9660 volume when no vfat one mounts", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, answer: onlyVolume({ dir: volume, fstype: "iso9660", label: "cidata" }) })
      expect((yield* instance.run(["main"])).code).toBe(0)
      const dir = mountPoint(instance)
      expect(mountsOf(instance.commands())).toEqual([
        `mount -o ro -t vfat LABEL=cidata ${dir}`,
        `mount -o ro -t vfat LABEL=CIDATA ${dir}`,
        `mount -o ro -t iso9660 LABEL=cidata ${dir}`,
        `umount ${dir}`
      ])
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
    })
  )

  it.scopedLive("a volume that holds no seed file (an iso9660 image made without Rock Ridge or Joliet: user_dat, meta_dat) is said, and the image's seed directory read in its place, as cloud-init does", () =>
    Effect.gen(function* () {
      const SAID = "the NoCloud seed volume (cidata) holds none of the seed files meta-data, user-data, vendor-data, network-config (an iso9660 image made without Rock Ridge or Joliet names them user_dat, meta_dat: genisoimage -rock -joliet)"
      const volume = yield* volumeDir({ meta_dat: META, user_dat: SCRIPT })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, answer: onlyVolume({ dir: volume, fstype: "iso9660", label: "cidata" }) })
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", META)
      instance.write("/var/lib/cloud/seed/nocloud/user-data", SCRIPT)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results.flatMap((r) => r.stderr.split("\n").filter((l) => l.includes("seed")))).toEqual([SAID])
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      // the volume was unmounted, its mount point removed
      expect(mountsOf(instance.commands()).at(-1)).toMatch(/^umount /)
      expect(readdirSync(join(instance.root, "run/tiny-cloud")).filter((n) => n.startsWith("cidata-"))).toEqual([])
      // without a seed directory, the volume is read as it is: said, and its meta-data empty
      const alone = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, answer: onlyVolume({ dir: volume, fstype: "iso9660", label: "cidata" }) })
      const boot = yield* alone.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr.split("\n").filter((l) => l.includes("NoCloud"))).toEqual([SAID, "NoCloud 'meta-data' is empty"])
    })
  )

  it.scopedLive("from the image's seed directory", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META, "user-data": SCRIPT })
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )

  it.scopedLive("from the image's seed directory named as older guides name it (seed/nocloud-net, which cloud-init also reads), seed/nocloud first", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud-net", { "meta-data": META, "user-data": SCRIPT })
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      const both = yield* localSeed("/var/lib/cloud/seed/nocloud-net", { "meta-data": "local-hostname: other\n" })
      both.write("/var/lib/cloud/seed/nocloud/meta-data", META)
      expect((yield* both.run(["early"])).code).toBe(0)
      expect(both.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      // an empty seed/nocloud (a directory made, the files put in seed/nocloud-net) does not hide seed/nocloud-net
      const empty = yield* localSeed("/var/lib/cloud/seed/nocloud-net", { "meta-data": META, "user-data": SCRIPT })
      mkdirSync(join(empty.root, "var/lib/cloud/seed/nocloud"), { recursive: true })
      const early = yield* empty.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).not.toContain("NoCloud 'meta-data' is empty")
      expect(empty.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(empty.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )

  it.scopedLive("after --bootstrap incomplete (an image made of the instance), the next first boot detects its cloud and reads its seed again", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META }, {})
      instance.write("/proc/cmdline", "quiet ds=nocloud\n")
      yield* instance.boot()
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
      expect(yield* instance.run(["--bootstrap", "incomplete"])).toEqual({ code: 0, stdout: "", stderr: "bootstrap marked incomplete\n" })
      expect(instance.read("/var/lib/cloud/.autodetect")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBeUndefined()
      const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClone c@example"
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", `instance-id: iid-clone\nlocal-hostname: clone.example.org\npublic-keys:\n  - ${other}\n`)
      expect((yield* instance.boot()).map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("clone\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${other}\n`)
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
    })
  )

  it.scopedLive("without any seed: 'Unable to load NoCloud datasource' and exit 1; boot still writes the default stanzas and enables sshd", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr).toContain("set_network_interfaces: Unable to load NoCloud datasource; the default stanzas are used\n")
      expect(actionLines(boot.stderr).slice(-2)).toEqual(["   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      expect(instance.commands()).toContain("rc-update add sshd default")
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain("set_hostname: Unable to load NoCloud datasource\n")
      expect(actionLines(main.stderr).slice(-1)).toEqual(["   ++ set_hostname: failed"])
      expect(instance.read("/etc/hostname")).toBeUndefined()
    })
  )

  it.scopedLive("a user-data over USERDATA_MAX_BYTES fails only what reads it: save_userdata says so, and the meta-data's hostname and keys are set", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META, "user-data": `#!/bin/sh\n${"x".repeat(2000)}\n` }, {
        CLOUD: "nocloud",
        USERDATA_MAX_BYTES: "1000"
      })
      expect((yield* instance.run(["boot"])).code).toBe(0)
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain("save_userdata: nocloud: cannot read user-data: larger than 1000 bytes (USERDATA_MAX_BYTES)\n")
      const main = yield* instance.run(["main"])
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      // never copied, never taken for empty user-data
      expect(instance.read("/var/lib/cloud/nocloud/user-data")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      expect(actionLines(main.stderr)).toContain("   ++ set_ssh_keys: done")
    })
  )

  it.scopedLive("a seed URL whose user-data fails (HTTP 503 until IMDS_DEADLINE) fails only what reads it: the meta-data's hostname and keys are set", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "nocloud",
        instance: { hostname: "web.example.org", sshKeys: [KEY], userData: bytesOf(SCRIPT) },
        faults: { overrides: [{ path: `${simulated.seedPath}user-data`, status: 503 }] },
        env: { IMDS_DEADLINE: "0.5" }
      })
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain(`save_userdata: nocloud: cannot read ${instance.sim!.seedUrl}user-data: HTTP 503\n`)
      const main = yield* instance.run(["main"])
      // before, the whole seed failed with user-data's error: set_hostname failed and the phase stopped there
      expect(actionLines(main.stderr)).toContain("   ++ set_hostname: done")
      expect(actionLines(main.stderr)).toContain("   ++ set_ssh_keys: done")
      expect(instance.read("/etc/hostname")).toBe("web\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      // never taken for empty user-data; read again by the next phase
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBeUndefined()
    })
  )

  it.scopedLive("warns about empty meta-data", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "", "user-data": SCRIPT })
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain("NoCloud 'meta-data' is empty\n")
    })
  )

  it.scopedLive("a vendor-data (a Proxmox VE cicustom vendor= snippet) is said not to be applied, naming its type and a cloud-config's keys, never their values; once, as the seed is loaded", () =>
    Effect.gen(function* () {
      const vendor = "#cloud-config\npackages:\n  - qemu-guest-agent\nruncmd:\n  - [rc-update, add, qemu-guest-agent, SECRET-CANARY]\n"
      const volume = yield* volumeDir({ "meta-data": META, "user-data": SCRIPT, "vendor-data": vendor })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, cidata: volume })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      const said = results.flatMap((r) => r.stderr.split("\n").filter((l) => l.includes("vendor-data")))
      expect(said).toEqual(["NoCloud 'vendor-data' (cloud-config) is not applied: its keys packages, runcmd are ignored"])
      expect(results.map((r) => r.stderr).join("")).not.toContain("SECRET-CANARY")
      expect(instance.read("/var/lib/cloud/nocloud/vendor-data")).toBe(vendor)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      // a script is named as one; an empty one (as Proxmox VE writes where none is given) is nothing to say
      for (const [content, line] of [["#!/bin/sh\necho vendor\n", "NoCloud 'vendor-data' (script) is not applied"], ["\n", undefined]] as const) {
        const other = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META, "vendor-data": content })
        const boot = yield* other.run(["boot"])
        expect(boot.stderr.split("\n").filter((l) => l.includes("vendor-data"))).toEqual(line === undefined ? [] : [line])
      }
    })
  )

  it.scopedLive("a seedfrom in the meta-data (a volume pointing at a seed server) is said not to be followed, in one line that never quotes it; the seed's own keys are set", () =>
    Effect.gen(function* () {
      const meta = `instance-id: iid-1\nseedfrom: http://user:secret@10.0.2.2:8000/\npublic-keys: [${KEY}]\n`
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta })
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      const said = "NoCloud meta-data 'seedfrom' is not followed; give it as s= in ds=nocloud on the kernel command line or the SMBIOS serial\n"
      expect(early.stderr).toContain(said)
      expect(early.stderr).not.toContain("secret")
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(meta)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).not.toContain(said)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("a seed the command line's s= names, whose meta-data names a seedfrom too (its own place), is not told to give s=", () =>
    Effect.gen(function* () {
      const meta = `instance-id: iid-1\nseedfrom: file:///srv/seed/\npublic-keys: [${KEY}]\n`
      const instance = yield* localSeed("/srv/seed", { "meta-data": meta })
      instance.write("/proc/cmdline", "root=/dev/vda2 ds=nocloud;s=file:///srv/seed/\n")
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).not.toContain("seedfrom")
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(meta)
    })
  )

  it.scopedLive("an HTML page a seed URL answers 200 for meta-data is said to be no mapping, never quoted; the phases go on with the user-data", () =>
    Effect.gen(function* () {
      const page = "<html>\n<head><title>Portal</title></head>\n<body>sign in first</body>\n</html>\n"
      const instance = yield* makeTestInstance({
        cloud: "nocloud",
        instance: { hostname: "web.example.org", sshKeys: [KEY], userData: bytesOf(SCRIPT) },
        faults: { overrides: [{ path: `${simulated.seedPath}meta-data`, body: page }] }
      })
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).toContain("NoCloud 'meta-data' is not a YAML mapping; ignored\n")
      expect(early.stderr).not.toContain("Portal")
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain("set_hostname: no hostname set\n")
    })
  )

  it.scopedLive("imds -E hides the lines the program logs while it reads the key, as the rest of the key's stderr (syslog still gets them)", () =>
    Effect.gen(function* () {
      const hidden = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" }, syslog: true })
      hidden.write("/var/lib/cloud/seed/nocloud/meta-data", "")
      expect(yield* hidden.imds(["-E", "@hostname"])).toEqual({ code: 1, stdout: "", stderr: "" })
      expect(hidden.invocations().filter((i) => i.command === "logger").map((i) => i.stdin)).toEqual(["NoCloud 'meta-data' is empty\n"])
      const shown = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "" })
      expect(yield* shown.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: "NoCloud 'meta-data' is empty\nimds: @hostname: not found\n" })
    })
  )

  it.scopedLive("imds: FILE is the seed file, FILE/ its top-level keys and FILE/KEY a value in it, for every seed file (yx -f FILE KEY)", () =>
    Effect.gen(function* () {
      const network = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META, "network-config": network })
      expect(yield* instance.imds(["network-config"])).toEqual({ code: 0, stdout: network, stderr: "" })
      expect(yield* instance.imds(["network-config/version", "+n", "network-config/ethernets/eth0/dhcp4"])).toEqual({ code: 0, stdout: "2\ntrue", stderr: "" })
      expect(yield* instance.imds(["network-config/"])).toEqual({ code: 0, stdout: "version\nethernets", stderr: "" })
      expect(yield* instance.imds(["meta-data/"])).toEqual({ code: 0, stdout: "instance-id\nlocal-hostname\npublic-keys", stderr: "" })
      expect(yield* instance.imds(["meta-data/local-hostname"])).toEqual({ code: 0, stdout: "seeded.example.org", stderr: "" })
      expect(yield* instance.imds(["vendor-data/x"])).toEqual({ code: 1, stdout: "", stderr: "imds: vendor-data/x: not found\n" })
      // the root holds the seed files and nothing else of their directory: its marker, `.` and `..` are not found
      for (const path of ["..", "../nocloud/meta-data", ".", ".nocloud_loaded"]) {
        expect(yield* instance.imds([path])).toEqual({ code: 1, stdout: "", stderr: `imds: ${path}: not found\n` })
      }
    })
  )

  it.scopedLive("imds: a value that reads as a number is printed as the seed writes it (007, 1.0, an id of 20 digits), as yx printed it", () =>
    Effect.gen(function* () {
      const meta = "instance-id: 12345678901234567890\nlocal-hostname: 007\nversion: 1.0\n"
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta, "network-config": "version: 2\nmtu: 0x5DC\n" })
      expect(yield* instance.imds(["meta-data/instance-id", "+n", "@hostname", "+n", "@local-hostname", "+n", "meta-data/version"])).toEqual({
        code: 0,
        stdout: "12345678901234567890\n007\n007\n1.0",
        stderr: ""
      })
      expect(yield* instance.imds(["network-config/version", "+n", "network-config/mtu"])).toEqual({ code: 0, stdout: "2\n0x5DC", stderr: "" })
    })
  )

  it.scopedLive("meta-data whose last value is a block scalar without a final line break: the value has none, as PyYAML and yx read it", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "instance-id: |\n  i-1\nlocal-hostname: |\n  web-1" })
      expect(yield* instance.imds(["meta-data/instance-id", "+n", "meta-data/local-hostname", "+n", "@local-hostname"])).toEqual({ code: 0, stdout: "i-1\n\nweb-1\nweb-1", stderr: "" })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
    })
  )

  it.scopedLive("meta-data whose lists hold themselves (an alias inside its own anchor) are read without them: no internal error, keys once", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `instance-id: i-1\nlocal-hostname: &h [seeded, *h]\npublic-keys: &k [${KEY}, *k]\n` })
      expect(yield* instance.imds(["meta-data/local-hostname"])).toEqual({ code: 0, stdout: "seeded", stderr: "" })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY}\n`, stderr: "" })
      const main = yield* instance.run(["main"])
      expect(actionLines(main.stderr)).toContain("   ++ set_ssh_keys: done")
      expect(main.stderr).not.toContain("internal error")
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
    })
  )

  it.scopedLive("public-keys items that are no key (a number, true, a map's number) are left out in one line counting them, the keys installed", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `instance-id: i-1\nlocal-hostname: seeded\npublic-keys: [${KEY}, 5, true, {x: 1}, null]\n` })
      const warning = "NoCloud meta-data 'public-keys': 3 items that are not strings left out\n"
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY}\n`, stderr: warning })
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain(warning)
      expect(actionLines(main.stderr)).toContain("   ++ set_ssh_keys: done")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("imds: a key a seed file does not have is not found, whatever its name (constructor, toString are none of the seed's)", () =>
    Effect.gen(function* () {
      const network = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META, "network-config": network })
      // a seed file's own name too: `constructor` is no seed file
      for (const path of ["constructor", "toString/", "__proto__/x", "meta-data/constructor", "meta-data/toString", "network-config/constructor", "network-config/ethernets/hasOwnProperty", "meta-data/public-keys/length"]) {
        expect(yield* instance.imds([path])).toEqual({ code: 1, stdout: "", stderr: `imds: ${path}: not found\n` })
      }
      expect(yield* instance.imds(["meta-data/public-keys/0"])).toMatchObject({ code: 0 })
    })
  )

  it.scopedLive("writes network-interfaces from meta-data and, without DHCP, the nameservers once", () =>
    Effect.gen(function* () {
      const meta = `local-hostname: n1\nnetwork-interfaces: |\n  auto eth0\n  iface eth0 inet static\n    address 10.0.0.9/24\nresolv_conf:\n  nameservers:\n    - 10.0.0.2\n    - 10.0.0.3\n`
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta })
      instance.write("/etc/resolv.conf", "nameserver 10.0.0.2\n")
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto eth0\niface eth0 inet static\n  address 10.0.0.9/24\n")
      expect(instance.read("/etc/resolv.conf")).toBe("nameserver 10.0.0.2\nnameserver 10.0.0.3\n")
    })
  )

  it.scopedLive("a network-interfaces without a final line break (a quoted YAML string, a |- block) is written with one, as a text file ends; with DHCP in it, the meta-data's nameservers are left to DHCP", () =>
    Effect.gen(function* () {
      const meta = `local-hostname: n1\nnetwork-interfaces: "auto eth0\\niface eth0 inet dhcp"\nresolv_conf:\n  nameservers: [10.0.0.2]\n`
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta })
      instance.write("/etc/resolv.conf", "nameserver 192.0.2.53\n")
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto eth0\niface eth0 inet dhcp\n")
      // DHCP configures the nameservers: the meta-data's are not added
      expect(instance.read("/etc/resolv.conf")).toBe("nameserver 192.0.2.53\n")
    })
  )

  it.scopedLive("a blank network-interfaces is none: the default stanzas are written", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `local-hostname: n1\nnetwork-interfaces: " \\n"\n` })
      expect((yield* instance.run(["boot"])).code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toMatch(/^auto lo\niface lo inet loopback\n\nauto eth0\n/)
    })
  )

  // Proxmox VE's cloud-init drive (PVE/QemuServer/Cloudinit.pm): a static address in network-config version 1, nothing in meta-data
  const PROXMOX_NETWORK =
    "version: 1\nconfig:\n    - type: physical\n      name: eth0\n      mac_address: 'bc:24:11:5e:7a:02'\n      subnets:\n      - type: static\n" +
    "        address: '192.168.50.21'\n        netmask: '255.255.255.0'\n        gateway: '192.168.50.1'\n    - type: nameserver\n      address:\n      - '192.168.50.1'\n"
  const NOT_APPLIED = "NoCloud 'network-config' is not applied (meta-data 'network-interfaces', an interfaces file, is read instead): its static"

  it.scopedLive.each([
    ["version 1 (Proxmox VE's)", PROXMOX_NETWORK, `address "192.168.50.21" for "eth0" is`],
    [
      "version 2, wrapped in network:",
      "network:\n  version: 2\n  ethernets:\n    id0:\n      match: {macaddress: 'bc:24:11:5e:7a:02'}\n      addresses: [192.168.50.21/24, '2001:db8::21/64']\n      gateway4: 192.168.50.1\n",
      `addresses "192.168.50.21/24" for "id0", "2001:db8::21/64" for "id0" are`
    ]
  ])("a seed whose network-config %s gives a static address, and no network-interfaces: the default stanzas, and one warning naming what is not applied", ([, network, said]) =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "instance-id: 15a9919c\n", "network-config": network })
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      expect(boot.stderr.split("\n").filter((l) => l.includes("network-config"))).toEqual([`${NOT_APPLIED} ${said} not configured`])
    })
  )

  it.scopedLive("a network-config by DHCP alone, or one beside a network-interfaces, or one that is no YAML: nothing said of it", () =>
    Effect.gen(function* () {
      for (const [meta, network] of [
        ["instance-id: n1\n", "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"],
        ["instance-id: n1\n", "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets:\n      - type: dhcp\n"],
        ["instance-id: n1\nnetwork-interfaces: |\n  auto eth0\n  iface eth0 inet static\n    address 192.168.50.21/24\n", PROXMOX_NETWORK],
        ["instance-id: n1\n", "version: [1\n"]
      ]) {
        const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta!, "network-config": network! })
        const boot = yield* instance.run(["boot"])
        expect(boot.code).toBe(0)
        expect(boot.stderr).not.toContain("network-config")
      }
    })
  )

  it.scopedLive("no seed at all: the seed is looked for once in the boot phase, its lines said once, and nothing said of network-config", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/proc/cmdline", "ds=nocloud;xyz=1\n")
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr.split("\n").filter((l) => l.startsWith("Unknown NoCloud"))).toEqual(["Unknown NoCloud kernel cmdline key 'xyz'"])
      expect(boot.stderr).toContain("set_network_interfaces: Unable to load NoCloud datasource; the default stanzas are used\n")
      expect(boot.stderr).not.toContain("network-config")
      // one look for a volume: vfat and iso9660, each label
      expect(instance.commands().filter((c) => c.startsWith("mount "))).toHaveLength(4)
    })
  )

  it.scopedLive.each([
    ["a mapping (network-config v2 put under the key)", "network-interfaces:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n", "a mapping"],
    ["a list of lines", "network-interfaces:\n  - auto eth0\n  - iface eth0 inet dhcp\n", "a list"],
    // its bytes, rendered as imds prints a structure, were their indexes, one a line
    ["bytes (!!binary)", `network-interfaces: !!binary ${Buffer.from("auto eth0\niface eth0 inet dhcp\n").toString("base64")}\n`, "binary (!!binary)"]
  ])("a network-interfaces that is %s is no interfaces file: named in one line, and the default stanzas are written", ([, given, kind]) =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": `local-hostname: n1\n${given}` })
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr).toContain(
        `set_network_interfaces: nocloud: cannot read meta-data/network-interfaces: ${kind}, not the text of an interfaces file; the default stanzas are used\n`
      )
      // rendered as imds prints it, the file held its keys (`version`, `ethernets`), which ifupdown-ng reads as no interface at all
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
    })
  )

  it.scopedLive.each(["a directory", "a FIFO"])("an interfaces file that is %s (planted in the image) and no network-interfaces: set_network_interfaces fails in one line, the boot phase still enables sshd", (kind) =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "local-hostname: n1\nresolv_conf:\n  nameservers: [10.0.0.2]\n" })
      const path = join(instance.root, "etc/network/interfaces")
      mkdirSync(join(instance.root, "etc/network"), { recursive: true })
      if (kind === "a directory") mkdirSync(path)
      else execFileSync("mkfifo", [path])
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(1)
      expect(boot.stderr).toContain(`set_network_interfaces: read ${path}: not a regular file; refused\n`)
      // before: the phase stopped there, sshd never enabled
      expect(actionLines(boot.stderr).slice(-4)).toEqual(["   ++ set_network_interfaces: starting", "   ++ set_network_interfaces: failed", "   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(instance.read("/etc/resolv.conf")).toBeUndefined()
    })
  )

  it.scopedLive("only IP addresses become nameserver lines; anything else in the list is named in a warning", () =>
    Effect.gen(function* () {
      const meta =
        `local-hostname: n1\nnetwork-interfaces: |\n  auto eth0\n  iface eth0 inet static\n    address 10.0.0.9/24\nresolv_conf:\n  nameservers:\n` +
        `    - 10.0.0.2\n    - "10.0.0.3\\nsearch evil.example"\n    - [nested]\n    - 2001:db8::53\n    - fe80::1%eth0\n    - fe80::2%eth0%lo\n    - "\\u009b2J\\x7f\\u202eevil"\n`
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta })
      const boot = yield* instance.run(["boot"])
      expect(boot.code).toBe(0)
      expect(instance.read("/etc/resolv.conf")).toBe("nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 2001:db8::53\nnameserver fe80::1%eth0\n")
      expect(boot.stderr).toContain('set_network_interfaces: ignoring nameserver "search evil.example": not an IP address\n')
      expect(boot.stderr).toContain('set_network_interfaces: ignoring nameserver "[\\"nested\\"]": not an IP address\n')
      expect(boot.stderr).toContain('set_network_interfaces: ignoring nameserver "fe80::2%eth0%lo": not an IP address\n')
      // a character a terminal or the console acts on (CSI as one character, DEL, a right-to-left override) is escaped as JSON escapes ESC
      expect(boot.stderr).toContain('set_network_interfaces: ignoring nameserver "\\u009b2J\\u007f\\u202eevil": not an IP address\n')
      expect(boot.stderr).not.toMatch(/[\x7f-\x9f\u202e]/)
    })
  )
})

/** what a seed server was asked: the path and the Authorization header */
interface Asked {
  readonly path: string
  readonly authorization: string | undefined
}

/**
 * A real HTTP server on 127.0.0.1 answering each request as `answer` says:
 * a redirect (`location`) or a body; every request is recorded.
 */
const seedServer = (answer: (path: string) => { readonly status: number; readonly location?: string; readonly body?: string }) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly origin: string; readonly asked: Array<Asked>; readonly close: () => Promise<void> }>((ready) => {
          const asked: Array<Asked> = []
          const server = createServer((req, res) => {
            asked.push({ path: req.url ?? "", authorization: req.headers.authorization })
            const a = answer(req.url ?? "")
            res.statusCode = a.status
            if (a.location !== undefined) res.setHeader("Location", a.location)
            res.end(a.body ?? "")
          })
          server.listen(0, "127.0.0.1", () =>
            ready({
              origin: `127.0.0.1:${(server.address() as AddressInfo).port}`,
              asked,
              close: () =>
                new Promise((closed) => {
                  server.closeAllConnections()
                  server.close(() => closed())
                })
            })
          )
        })
    ),
    (s) => Effect.promise(() => s.close())
  )

const fileOf = (path: string) => path.split("?")[0]!.split("/").pop()!
const SEED_FILE = /\/(meta-data|user-data|vendor-data|network-config)$/

describe("NoCloud http seeds that answer with a redirect (followed, as cloud-init's requests and busybox wget follow them)", () => {
  it.scopedLive("a short link (relative Location) to a moved directory on another host (absolute Location): every file read, the seed's credentials sent to its own host only", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", sshKeys: [KEY], userData: bytesOf(SCRIPT) } })
      // the other host, named with a user and password of the Location's own: never sent, never shown
      const moved = instance.sim!.seedUrl!.replace("http://", "http://other:SECRET-CANARY-2@")
      const short = yield* seedServer((path) =>
        path.startsWith("/s/") ? { status: 302, location: `../moved/${fileOf(path)}` }
        : path.startsWith("/moved/") ? { status: 301, location: `${moved}${fileOf(path)}` }
        : { status: 404 }
      )
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=http://seed:SECRET-CANARY-1@${short.origin}/s/\n`)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
      // each file its own two hops on the seed's host, with the seed's Authorization
      const basic = `Basic ${Buffer.from("seed:SECRET-CANARY-1").toString("base64")}`
      for (const name of ["meta-data", "user-data", "vendor-data", "network-config"]) {
        expect(short.asked.filter((a) => fileOf(a.path) === name)).toEqual([
          { path: `/s/${name}`, authorization: basic },
          { path: `/moved/${name}`, authorization: basic }
        ])
      }
      // the other host never sees an Authorization header: neither the seed's nor the Location's
      const there = instance.sim!.requests.filter((r) => SEED_FILE.test(r.path))
      expect(there.map((r) => fileOf(r.path)).sort()).toEqual(["meta-data", "network-config", "user-data", "vendor-data"])
      for (const r of there) expect(r.headers.authorization).toBeUndefined()
      for (const r of results) expect(r.stderr).not.toContain("SECRET-CANARY")
      expect(instance.read("/var/lib/cloud/status.json")).not.toContain("SECRET-CANARY")
    })
  )

  it.scopedLive.each([303, 307, 308])("a %d is followed too", (status) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", userData: bytesOf(SCRIPT) } })
      const seedUrl = instance.sim!.seedUrl!
      const short = yield* seedServer((path) => ({ status, location: `${seedUrl}${fileOf(path)}` }))
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${short.origin}/s/\n`)
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )

  it.scopedLive("a non-ASCII Location, written in UTF-8, is followed to that path (as requests and busybox wget follow it), never to its bytes read as latin1", () =>
    Effect.gen(function* () {
      // a header's bytes as Node's server writes them: one byte per character
      const utf8Bytes = (text: string) => Buffer.from(text, "utf8").toString("latin1")
      const seed = yield* seedServer((path) =>
        path === "/s/user-data" ? { status: 301, location: utf8Bytes("/né/user-data") }
        : path === "/n%C3%A9/user-data" ? { status: 200, body: SCRIPT }
        : { status: 404 }
      )
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", {})
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${seed.origin}/s/\n`)
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(seed.asked.filter((a) => fileOf(a.path) === "user-data").map((a) => a.path)).toEqual(["/s/user-data", "/n%C3%A9/user-data"])
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )

  it.scopedLive.each([
    [5, undefined],
    [6, "more than 5 redirects"]
  ] as const)("a chain of %d redirects: at most 5 are followed (%s)", ([hops, refused]) =>
    Effect.gen(function* () {
      const chain = yield* seedServer((path) => {
        const [, n, name] = /^\/c\/(\d+)\/(.*)$/.exec(path) ?? []
        if (Number(n) < hops) return { status: 302, location: `/c/${Number(n) + 1}/${name}` }
        return name === "user-data" ? { status: 200, body: SCRIPT } : { status: 404 }
      })
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", {})
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${chain.origin}/c/0/\n`)
      const early = yield* instance.run(["early"])
      if (refused === undefined) {
        expect(early.code).toBe(0)
        expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      } else {
        expect(early.stderr).toContain(`save_userdata: nocloud: cannot read http://${chain.origin}/c/0/user-data: ${refused}\n`)
        expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
        // the sixth redirect is where it stops: never asked a seventh time, never retried
        expect(chain.asked.filter((a) => fileOf(a.path) === "user-data").length).toBe(6)
      }
    })
  )

  it.scopedLive("a redirect loop fails that file's read in one line naming the seed URL, at once; the other files are read where the seed is", () =>
    Effect.gen(function* () {
      const loop = yield* seedServer((path) =>
        path === "/a/user-data" ? { status: 302, location: "/b/user-data" }
        : path === "/b/user-data" ? { status: 302, location: "/a/user-data" }
        : path === "/a/meta-data" ? { status: 200, body: META }
        : { status: 404 }
      )
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", {})
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${loop.origin}/a/\n`)
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain(`save_userdata: nocloud: cannot read http://${loop.origin}/a/user-data: HTTP 302: redirect loop\n`)
      expect(loop.asked.filter((a) => fileOf(a.path) === "user-data").map((a) => a.path)).toEqual(["/a/user-data", "/b/user-data"])
      expect(loop.asked.filter((a) => fileOf(a.path) === "meta-data").map((a) => a.path)).toEqual(["/a/meta-data"])
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )

  it.scopedLive("a redirected file is held to USERDATA_MAX_BYTES; its line names the seed URL, never the Location (a signed URL's secret)", () =>
    Effect.gen(function* () {
      const seed = yield* seedServer((path) =>
        path === "/s/user-data" ? { status: 307, location: "/store/user-data?X-Amz-Signature=SECRET-CANARY-3" }
        : path.startsWith("/store/user-data") ? { status: 200, body: `#!/bin/sh\n${"x".repeat(2000)}\n` }
        : path === "/s/meta-data" ? { status: 200, body: META }
        : { status: 404 }
      )
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", {}, { CLOUD: "nocloud", USERDATA_MAX_BYTES: "1000" })
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${seed.origin}/s/\n`)
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain(`save_userdata: nocloud: cannot read http://${seed.origin}/s/user-data: answer exceeds 1000 bytes (USERDATA_MAX_BYTES), after 1 redirect\n`)
      expect(seed.asked.map((a) => a.path)).toContain("/store/user-data?X-Amz-Signature=SECRET-CANARY-3")
      expect(early.stderr).not.toContain("SECRET-CANARY")
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )

  it.scopedLive("a hop that answers 503 is asked again, as the seed URL itself is (the same retries)", () =>
    Effect.gen(function* () {
      let refusals = 1
      const seed = yield* seedServer((path) =>
        path === "/s/user-data" ? { status: 302, location: "/store/user-data" }
        : path === "/store/user-data" ? (refusals-- > 0 ? { status: 503 } : { status: 200, body: SCRIPT })
        : { status: 404 }
      )
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", {})
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${seed.origin}/s/\n`)
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      // the redirect once; its target twice
      expect(seed.asked.filter((a) => fileOf(a.path) === "user-data").map((a) => a.path)).toEqual(["/s/user-data", "/store/user-data", "/store/user-data"])
    })
  )

  it.scopedLive("from an https seed: a redirect to https is followed, one to http (a downgrade) or to another scheme is refused in one line", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", userData: bytesOf(SCRIPT) }, httpsAsHttp: true })
      const seedUrl = instance.sim!.seedUrl!
      // the seed's own host, named in full in its Location
      const own = { origin: "" }
      const seed = yield* seedServer((path) =>
        path === "/s/meta-data" ? { status: 302, location: `https://${own.origin}/real/meta-data` }
        : path === "/real/meta-data" ? { status: 200, body: META }
        : path === "/s/user-data" ? { status: 301, location: `${seedUrl}user-data` }
        : path === "/s/network-config" ? { status: 302, location: "file:///etc/shadow" }
        : { status: 404 }
      )
      own.origin = seed.origin
      instance.write("/proc/cmdline", `ds=nocloud;s=https://${seed.origin}/s/\n`)
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain(`save_userdata: nocloud: cannot read https://${seed.origin}/s/user-data: HTTP 301 from https to http, not followed\n`)
      expect(instance.sim!.requests.filter((r) => SEED_FILE.test(r.path))).toEqual([])
      // an optional file: said as the seed is loaded, and left out
      expect(early.stderr).toContain(`nocloud: cannot read https://${seed.origin}/s/network-config: HTTP 302 to a file: URL, not followed; left out\n`)
      expect(yield* instance.imds(["network-config"])).toEqual({
        code: 1,
        stdout: "",
        stderr: `nocloud: cannot read https://${seed.origin}/s/network-config: HTTP 302 to a file: URL, not followed; left out\nimds: network-config: not found\n`
      })
      expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )
})

describe("NoCloud http seeds whose seedfrom has a %s or a query (cloud-init's read_seeded makes each file's URL so)", () => {
  const FILES: Record<string, string> = { "meta-data": META, "user-data": SCRIPT }
  it.scopedLive.each([
    // `%s` stands for the file's name, the query kept after it: /meta-data?node=7
    { seedfrom: "/%s?node=7", path: (name: string) => `/${name}?node=7` },
    // a query: the name after it, with no `/` put between (a server that picks the file by a parameter)
    { seedfrom: "/seed?file=", path: (name: string) => `/seed?file=${name}` }
  ])("seedfrom $seedfrom: every file asked at its own URL, the seed read", ({ seedfrom, path }) =>
    Effect.gen(function* () {
      const byPath = new Map(["meta-data", "user-data", "vendor-data", "network-config"].map((name) => [path(name), name]))
      const seed = yield* seedServer((asked) => {
        const name = byPath.get(asked)
        return name !== undefined && FILES[name] !== undefined ? { status: 200, body: FILES[name] } : { status: 404 }
      })
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${seed.origin}${seedfrom}\n`)
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "seeded.example.org", stderr: "" })
      expect(seed.asked.map((a) => a.path).sort()).toEqual([...byPath.keys()].sort())
    })
  )

  it.scopedLive("a file that cannot be read is named by its URL with the query hidden (it may carry a token)", () =>
    Effect.gen(function* () {
      const seed = yield* seedServer((asked) => (asked.startsWith("/meta-data?") ? { status: 403 } : { status: 404 }))
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/proc/cmdline", `ds=nocloud;s=http://${seed.origin}/%s?token=SECRET-CANARY-3\n`)
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: `imds: nocloud: cannot read http://${seed.origin}/meta-data?***: HTTP 403\n` })
      expect(seed.asked.map((a) => a.path)).toContain("/meta-data?token=SECRET-CANARY-3")
    })
  )

  it.scopedLive("a seed of public S3 objects, whose bucket answers 403 for the optional vendor-data and network-config it does not hold: none, as cloud-init takes them; the seed is read once and marked loaded", () =>
    Effect.gen(function* () {
      const seed = yield* seedServer((asked) =>
        asked === "/seed/meta-data" ? { status: 200, body: META }
        : asked === "/seed/user-data" ? { status: 200, body: SCRIPT }
        : { status: 403, body: "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>" }
      )
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=http://${seed.origin}/seed/\n`)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
      expect(seed.asked.map((a) => a.path).sort()).toEqual(["/seed/meta-data", "/seed/network-config", "/seed/user-data", "/seed/vendor-data"])
      expect(yield* instance.imds(["vendor-data"])).toEqual({ code: 1, stdout: "", stderr: "imds: vendor-data: not found\n" })
      // a 403 for the meta-data is a seed that cannot be read (a private bucket), as before
      const private_ = yield* seedServer(() => ({ status: 403 }))
      const other = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      other.write("/proc/cmdline", `ds=nocloud;s=http://${private_.origin}/seed/\n`)
      expect(yield* other.imds(["@hostname"])).toEqual({ code: 1, stdout: "", stderr: `imds: nocloud: cannot read http://${private_.origin}/seed/meta-data: HTTP 403\n` })
    })
  )

  it.scopedLive("an optional vendor-data or network-config the seed server fails (HTTP 500 until IMDS_DEADLINE) is said once and left out: the seed is marked loaded, no later phase waits for it again", () =>
    Effect.gen(function* () {
      const seed = yield* seedServer((asked) =>
        asked === "/seed/meta-data" ? { status: 200, body: META } : asked === "/seed/user-data" ? { status: 200, body: SCRIPT } : { status: 500 }
      )
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud", IMDS_DEADLINE: "1" } })
      instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=http://${seed.origin}/seed/\n`)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      const said = results.flatMap((r) => r.stderr.split("\n").filter((l) => l.includes("left out")))
      expect(said).toEqual([
        `nocloud: cannot read http://${seed.origin}/seed/vendor-data: HTTP 500; left out`,
        `nocloud: cannot read http://${seed.origin}/seed/network-config: HTTP 500; left out`
      ])
      expect(instance.read("/var/lib/cloud/nocloud/.nocloud_loaded")).toBe("")
      expect(seed.asked.filter((a) => a.path === "/seed/meta-data")).toHaveLength(1)
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )
})

describe("nocloud detection (CLOUD unset)", () => {
  it.scopedLive("from ds=nocloud on the command line, cached in .autodetect", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META }, {})
      instance.write("/proc/cmdline", "quiet ds=nocloud\n")
      const r = yield* instance.imds(["@hostname"])
      expect(r.stdout).toBe("seeded.example.org")
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
    })
  )

  it.scopedLive("a first boot asked for again by removing the marker by hand detects its cloud again: an image built on aws gives a nocloud instance its own hostname and keys", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META }, {})
      instance.write("/proc/cmdline", "quiet ds=nocloud\n")
      // the builder's first boot on aws cached its detection; its marker was then removed by hand
      instance.write("/var/lib/cloud/.autodetect", "aws\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("a cached detection no sign of the machine contradicts (placed by the image's builder, nothing recognised) is kept by the first boot's boot phase and used", () =>
    Effect.gen(function* () {
      // a seed directory alone is no sign of nocloud to detection: the builder chose the cloud by its cache
      const instance = yield* localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META }, {})
      instance.write("/var/lib/cloud/.autodetect", "nocloud\n")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
      expect(instance.read("/etc/hostname")).toBe("seeded\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("from ds=nocloud in the SMBIOS serial, cached in .autodetect", () =>
    Effect.gen(function* () {
      const instance = yield* localSeed("/seed/serial", { "meta-data": META }, {})
      instance.write("/sys/class/dmi/id/product_serial", "ds=nocloud;s=/seed/serial\n")
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 0, stdout: "seeded.example.org", stderr: "" })
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
    })
  )

  it.scopedLive("from a volume labelled only CIDATA, found with findfs", () =>
    Effect.gen(function* () {
      const volume = yield* volumeDir({ "meta-data": META })
      const instance = yield* makeTestInstance({ noSimulator: true, answer: onlyVolume({ dir: volume, fstype: "vfat", label: "CIDATA" }) })
      const r = yield* instance.imds(["@hostname"])
      expect(r).toEqual({ code: 0, stdout: "seeded.example.org", stderr: "" })
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
      // openstack's detector looks for its config drive too
      expect(instance.commands().filter((c) => c.startsWith("findfs "))).toEqual([
        "findfs LABEL=cidata",
        "findfs LABEL=CIDATA",
        "findfs LABEL=config-2",
        "findfs LABEL=CONFIG-2"
      ])
    })
  )
})
