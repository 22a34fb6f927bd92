/** assemble-interfaces (BEHAVIOUR.md §8): /etc/network/interfaces from interfaces.d/, on a pretend instance. */
import { chmodSync, chownSync, readFileSync, rmSync, truncateSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { routeHelper } from "../../src/programs/cli.js"
import { makeTestInstance } from "../support/instance.js"
import { itSystem } from "../support/system.js"
import { shippedStanza } from "../support/shipped.js"

const HEADER = "# NOTE: /sbin/assemble-interfaces rewrites this file.  Edit files in\n#      /etc/network/interfaces.d/ to persist any customizations.\n\n"

const nics = (...names: Array<string>) => names.map((name, i) => ({ name, mac: `02:00:00:00:00:0${i}`, up: true }))

it("the shipped stanzas are those the contract names", () => {
  expect(shippedStanza("lo")).toBe("auto lo\niface lo\n  use link\n  use loopback\n")
  expect(shippedStanza("DEFAULT")).toBe("auto %%\niface %%\n  use dhcp\n  use imds\n")
})

it.scopedLive("lo, then eth* by number, then the other stanzas by name; missing stanzas made from DEFAULT; a gone NIC's and hidden files left out", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth10", "eth0", "eth2") })
    instance.write("/sys/class/net/lo/address", "00:00:00:00:00:00\n")
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    instance.write("/etc/network/interfaces.d/eth0", "auto eth0\niface eth0\n  use dhcp\n\n\n")
    instance.write("/etc/network/interfaces.d/eth5", "auto eth5\niface eth5\n  use dhcp\n")
    instance.write("/etc/network/interfaces.d/wg0", "auto wg0\niface wg0\n  use wireguard")
    instance.write("/etc/network/interfaces.d/br0", "auto br0\niface br0\n  bridge-ports none\n")
    instance.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    // a directory there (an operator's old stanzas put aside) is no stanza
    instance.write("/etc/network/interfaces.d/old/eth0", "auto eth0\niface eth0 inet static\n")
    // nor is a hidden file, which the shell edition's `interfaces.d/*` never lists: an editor's swap file, a write a killed run left
    instance.write("/etc/network/interfaces.d/.wg0.swp", "auto wg1\n")
    instance.write("/etc/network/interfaces.d/.eth0.tmp-123-1", "auto eth9\n")

    const r = yield* instance.run(["assemble-interfaces"])

    expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.read("/etc/network/interfaces")).toBe(
      HEADER +
        "auto lo\niface lo\n  use link\n  use loopback\n\n" +
        "auto eth0\niface eth0\n  use dhcp\n\n" +
        "auto eth2\niface eth2\n  use dhcp\n  use imds\n\n" +
        "auto eth10\niface eth10\n  use dhcp\n  use imds\n\n" +
        "auto br0\niface br0\n  bridge-ports none\n\n" +
        "auto wg0\niface wg0\n  use wireguard\n\n"
    )
    expect(instance.read("/etc/network/interfaces.bak")).toBe("auto lo\niface lo inet loopback\n")
    expect(instance.read("/etc/network/interfaces.d/eth2")).toBe("auto eth2\niface eth2\n  use dhcp\n  use imds\n")
    expect(instance.read("/etc/network/interfaces.d/eth10")).toBe("auto eth10\niface eth10\n  use dhcp\n  use imds\n")
    expect(instance.read("/etc/network/interfaces.d/eth5")).toBe("auto eth5\niface eth5\n  use dhcp\n")
  })
)

it.scopedLive("stanza bytes in any encoding (Latin-1, UTF-8, invalid) are copied as they are, a UTF-8 character ending in 0xA0 at a stanza's end too; DEFAULT's into a new NIC's file", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0", "eth1") })
    const bytes = (...parts: Array<string | Array<number>>) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))))
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    // "# Büro" in Latin-1; "voilà" in UTF-8 (C3 A0) last; bytes that are no UTF-8
    instance.write("/etc/network/interfaces.d/DEFAULT", bytes("auto %%\niface %%\n  use dhcp\n# B", [0xfc], "ro\n"))
    instance.write("/etc/network/interfaces.d/eth0", bytes("auto eth0\niface eth0\n  use dhcp\n# voil", [0xc3, 0xa0], "\n\n"))
    instance.write("/etc/network/interfaces.d/zz", bytes("# ", [0xff, 0xfe, 0x80], "\n"))
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    const file = (path: string) => readFileSync(join(instance.root, path))
    expect(file("etc/network/interfaces.d/eth1")).toEqual(bytes("auto eth1\niface eth1\n  use dhcp\n# B", [0xfc], "ro\n"))
    expect(file("etc/network/interfaces")).toEqual(
      bytes(
        HEADER,
        "auto lo\niface lo\n  use link\n  use loopback\n\n",
        "auto eth0\niface eth0\n  use dhcp\n# voil", [0xc3, 0xa0], "\n\n",
        "auto eth1\niface eth1\n  use dhcp\n# B", [0xfc], "ro\n\n",
        "# ", [0xff, 0xfe, 0x80], "\n\n"
      )
    )
  })
)

it.scopedLive("run again after one killed between making the new NIC's stanza and replacing the interfaces file: interfaces.bak keeps the file from before it", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
    instance.write("/sys/class/net/lo/address", "00:00:00:00:00:00\n")
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    const original = "auto lo\niface lo inet loopback\n# the image's own\n"
    const assembled = HEADER + "auto lo\niface lo\n  use link\n  use loopback\n\n" + "auto eth0\niface eth0\n  use dhcp\n  use imds\n\n"
    // as the killed run left it: the file before it kept, eth0's stanza made, the file not yet replaced
    instance.write("/etc/network/interfaces", original)
    instance.write("/etc/network/interfaces.bak", original)
    instance.write("/etc/network/interfaces.d/eth0", "auto eth0\niface eth0\n  use dhcp\n  use imds\n")

    const r = yield* instance.run(["assemble-interfaces"])

    expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.read("/etc/network/interfaces")).toBe(assembled)
    expect(instance.read("/etc/network/interfaces.bak")).toBe(original)
  })
)

it.scopedLive("a stanza file deleted by hand is made again from DEFAULT, and interfaces.bak is the file before, as after every assembly", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0", "eth1") })
    instance.write("/sys/class/net/lo/address", "00:00:00:00:00:00\n")
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    instance.write("/etc/network/interfaces", "# ORIGINAL\n")
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    const assembled = instance.read("/etc/network/interfaces")
    expect(instance.read("/etc/network/interfaces.bak")).toBe("# ORIGINAL\n")

    rmSync(join(instance.root, "etc/network/interfaces.d/eth1"))
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })

    expect(instance.read("/etc/network/interfaces")).toBe(assembled)
    expect(instance.read("/etc/network/interfaces.bak")).toBe(assembled)
    expect(instance.read("/etc/network/interfaces.d/eth1")).toBe("auto eth1\niface eth1\n  use dhcp\n  use imds\n")
  })
)

it.scopedLive("is the same program as /sbin/assemble-interfaces; without interfaces.d it fails and writes nothing", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true })
    const byName = routeHelper("assemble-interfaces", [])!
    const r = yield* instance.runRoute(byName)
    expect(r).toEqual({ code: 1, stdout: "", stderr: `assemble-interfaces: ${instance.root}/etc/network/interfaces.d: no such file or directory\n` })
    // the shell edition's own test of this case looks for cd's words
    expect(r.stderr).toMatch(/([Nn]o such file or directory|can't cd to)/)
    expect(instance.read("/etc/network/interfaces")).toBeUndefined()
    instance.write("/etc/network/interfaces.d", "a file\n")
    const file = yield* instance.runRoute(byName)
    expect(file).toEqual({ code: 1, stdout: "", stderr: `assemble-interfaces: ${instance.root}/etc/network/interfaces.d: not a directory\n` })
  })
)

it.scopedLive("a NIC without a stanza and no DEFAULT: an error line, nothing written", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0", "eth1") })
    instance.write("/etc/network/interfaces.d/eth0", "auto eth0\niface eth0\n  use dhcp\n")
    instance.write("/etc/network/interfaces", "previous\n")
    const r = yield* instance.run(["assemble-interfaces"])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`assemble-interfaces: ${instance.root}/etc/network/interfaces.d/DEFAULT: not found; a new interface's stanza is made from it\n`)
    expect(instance.read("/etc/network/interfaces")).toBe("previous\n")
    expect(instance.read("/etc/network/interfaces.bak")).toBeUndefined()
  })
)

it.scopedLive("interfaces.bak a directory: an error line naming it, the interfaces file kept, no stanza made for the new NIC", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0", "eth1") })
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    instance.write("/etc/network/interfaces.d/eth0", "auto eth0\niface eth0\n  use dhcp\n")
    instance.write("/etc/network/interfaces", "previous\n")
    instance.write("/etc/network/interfaces.bak/keep", "x")
    const r = yield* instance.run(["assemble-interfaces"])
    expect(r).toEqual({ code: 1, stdout: "", stderr: `assemble-interfaces: write ${instance.root}/etc/network/interfaces.bak: not a regular file; refused\n` })
    expect(instance.read("/etc/network/interfaces")).toBe("previous\n")
    expect(instance.read("/etc/network/interfaces.d/eth1")).toBeUndefined()
  })
)

it.scopedLive("a bad line or value of tiny-cloud.conf costs only its own key, as in a phase: named in an error line, the interfaces still assembled, exit 1", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0"), conf: "IMDS_TIMEOUT=abc\nthis is no assignment\n" })
    instance.write("/sys/class/net/lo/address", "00:00:00:00:00:00\n")
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    const r = yield* instance.run(["assemble-interfaces"])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr.split("\n")).toEqual([
      "assemble-interfaces: tiny-cloud.conf:2: expected KEY=value, got 'this is no assignment'; the line is ignored",
      "assemble-interfaces: IMDS_TIMEOUT: invalid value 'abc': expected a positive number of seconds; the default is used",
      ""
    ])
    expect(instance.read("/etc/network/interfaces")).toBe(HEADER + shippedStanza("lo") + "\n" + "auto eth0\niface eth0\n  use dhcp\n  use imds\n\n")
  })
)

it.scopedLive("stanza files written on Windows (CRLF) or ending in blank lines: LF line ends, one blank line after each stanza", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
    instance.write("/etc/network/interfaces.d/eth0", "auto eth0\r\niface eth0\r\n  use dhcp\r\n\r\n")
    instance.write("/etc/network/interfaces.d/wg0", "auto wg0\niface wg0\n  use wireguard\n  \n\t\n")
    instance.write("/etc/network/interfaces.d/br0", "auto br0\r\niface br0\r\n  bridge-ports none")
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.read("/etc/network/interfaces")).toBe(
      HEADER +
        shippedStanza("lo") +
        "\n" +
        "auto eth0\niface eth0\n  use dhcp\n\n" +
        "auto br0\niface br0\n  bridge-ports none\n\n" +
        "auto wg0\niface wg0\n  use wireguard\n\n"
    )
    // the stanza files themselves are the operator's: kept as they are
    expect(instance.read("/etc/network/interfaces.d/eth0")).toBe("auto eth0\r\niface eth0\r\n  use dhcp\r\n\r\n")
  })
)

it.scopedLive("a stanza file far larger than an interfaces file (a log or an image put there by mistake), or stanzas over 1 MiB together: one line naming it, nothing written", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0", "eth1") })
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    instance.write("/etc/network/interfaces", "previous\n")
    // 600 MB, sparse: read whole, it was more than a string may hold ('internal error: Cannot create a string longer than ...')
    instance.write("/etc/network/interfaces.d/big", "")
    truncateSync(join(instance.root, "etc/network/interfaces.d/big"), 600 * 1024 * 1024)
    const big = yield* instance.run(["assemble-interfaces"])
    expect(big).toEqual({ code: 1, stdout: "", stderr: `assemble-interfaces: read ${instance.root}/etc/network/interfaces.d/big: larger than 1048576 bytes\n` })

    instance.write("/etc/network/interfaces.d/big", "")
    const half = `# ${"x".repeat(600 * 1024)}\n`
    instance.write("/etc/network/interfaces.d/eth0", half)
    instance.write("/etc/network/interfaces.d/wg0", half)
    const together = yield* instance.run(["assemble-interfaces"])
    expect(together).toEqual({ code: 1, stdout: "", stderr: `assemble-interfaces: ${instance.root}/etc/network/interfaces.d: the stanzas are larger than 1048576 bytes together\n` })

    expect(instance.read("/etc/network/interfaces")).toBe("previous\n")
    expect(instance.read("/etc/network/interfaces.bak")).toBeUndefined()
    expect(instance.read("/etc/network/interfaces.d/eth1")).toBeUndefined()
  })
)

it.scopedLive("lo's stanza comes first even where sysfs does not list lo (an image's ROOT, a chroot): the loopback is never left out", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.read("/etc/network/interfaces")).toBe(HEADER + shippedStanza("lo") + "\n" + "auto eth0\niface eth0\n  use dhcp\n  use imds\n\n")
  })
)

it.scopedLive("the interfaces file keeps its mode and owner, interfaces.bak gets them as `cp -a` gives them, a NIC's stanza made from DEFAULT gets DEFAULT's", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
    // a group of its own where the test may give one (root): the owner must be kept, not only the mode
    const group = process.getuid?.() === 0 ? 4 : (process.getgid?.() ?? 0)
    const owned = (path: string, text: string, mode: number) => {
      instance.write(path, text)
      chmodSync(join(instance.root, path), mode)
      chownSync(join(instance.root, path), process.getuid?.() ?? 0, group)
    }
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    owned("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"), 0o640)
    owned("/etc/network/interfaces.d/wlan0", "auto wlan0\niface wlan0\n  use dhcp\n  wifi-ssid x\n  wifi-psk secret\n", 0o600)
    owned("/etc/network/interfaces", "auto wlan0\niface wlan0\n  wifi-psk old-secret\n", 0o600)
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    const own = { uid: process.getuid?.() ?? 0, gid: group }
    expect(instance.stat("/etc/network/interfaces")).toEqual({ ...own, mode: 0o600 })
    expect(instance.stat("/etc/network/interfaces.bak")).toEqual({ ...own, mode: 0o600 })
    expect(instance.stat("/etc/network/interfaces.d/eth0")).toEqual({ ...own, mode: 0o640 })
    expect(instance.read("/etc/network/interfaces")).toContain("wifi-psk secret\n")
    expect(instance.read("/etc/network/interfaces.bak")).toBe("auto wlan0\niface wlan0\n  wifi-psk old-secret\n")
  })
)

it.scopedLive("a stanza file kept from others (a wifi-psk, 0600) keeps the interfaces file that copies it from them too, a new one or one readable by all", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
    instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
    instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
    instance.write("/etc/network/interfaces.d/wlan0", "auto wlan0\niface wlan0\n  use dhcp\n  wifi-psk secret\n")
    chmodSync(join(instance.root, "etc/network/interfaces.d/wlan0"), 0o600)
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.read("/etc/network/interfaces")).toContain("wifi-psk secret\n")
    expect(instance.mode("/etc/network/interfaces")).toBe(0o600)
    // one group may read: the file readable by all before is then its group's too, not others'
    chmodSync(join(instance.root, "etc/network/interfaces.d/wlan0"), 0o640)
    chmodSync(join(instance.root, "etc/network/interfaces"), 0o644)
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.mode("/etc/network/interfaces")).toBe(0o640)
    // the stanzas readable by all: the file keeps its own mode, as before
    chmodSync(join(instance.root, "etc/network/interfaces.d/wlan0"), 0o644)
    expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(instance.mode("/etc/network/interfaces")).toBe(0o640)
  })
)

itSystem("a DEFAULT another user owns or may write: the NIC's stanza made from it is root's, and no one else's to write, as root's ifupdown runs its lines", { root: true }, () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const instance = yield* makeTestInstance({ noSimulator: true, interfaces: nics("eth0") })
        instance.write("/etc/network/interfaces.d/lo", shippedStanza("lo"))
        instance.write("/etc/network/interfaces.d/DEFAULT", shippedStanza("DEFAULT"))
        chmodSync(join(instance.root, "etc/network/interfaces.d/DEFAULT"), 0o664)
        chownSync(join(instance.root, "etc/network/interfaces.d/DEFAULT"), 1000, 1000)
        expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
        // DEFAULT's group keeps the read it had
        expect(instance.stat("/etc/network/interfaces.d/eth0")).toEqual({ uid: 0, gid: 1000, mode: 0o644 })
        expect(instance.stat("/etc/network/interfaces")).toEqual({ uid: 0, gid: 0, mode: 0o644 })
      })
    )
  )
)
