import { describe, expect, it } from "@effect/vitest"
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { appLayer } from "../../src/layers/live.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { describeCause } from "../../src/programs/failure.js"
import { Output } from "../../src/services/Output.js"
import { actionLines, makeTestInstance, type RunResult, type TestInstance } from "../support/instance.js"
import { capturingOutput, lineOf, recordingCommands, type Invocation } from "../support/layers.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { skipAtRun } from "../support/system.js"
import { advancingClock } from "../support/test-clock.js"

/**
 * makeTestInstance counts `logger` as not installed; to see what goes to
 * syslog, run the program over a recording runner of our own on which
 * `logger` is installed (the instance gives ROOT and env).
 */
const withLogger = (instance: TestInstance, answer?: (i: Invocation) => { readonly stdout: Uint8Array } | undefined) =>
  Effect.gen(function* () {
    const recorder = yield* recordingCommands({ root: instance.root, missing: answer === undefined ? ["getent"] : [], ...(answer !== undefined ? { answer } : {}) })
    const run = (args: ReadonlyArray<string>, extraEnv: Readonly<Record<string, string>> = {}): Effect.Effect<RunResult> =>
      Effect.gen(function* () {
        const route = routeTinyCloud(args)
        if (route._tag !== "Program") return yield* Effect.die(new Error(`${args.join(" ")} is not a program`))
        const { layer: output, captured } = yield* capturingOutput
        const program = yield* Effect.promise(route.load)
        const layer = appLayer({ ...instance.env, ...extraEnv }, route.logTag, { commands: recorder.layer, http: HttpLive, output })
        const code = yield* Effect.scoped(Effect.provide(program, layer)).pipe(
          Effect.catchAllCause((cause) => Effect.as(Effect.flatMap(Output, (o) => o.stderr(`${route.errorPrefix}: ${describeCause(cause)}\n`)), 1)),
          Effect.provide(output)
        )
        return { code, stdout: captured.stdout(), stderr: captured.stderr() }
      })
    return { run, invocations: (): ReadonlyArray<Invocation> => Effect.runSync(Ref.get(recorder.calls)) }
  })

/** the lines one `logger` invocation sends: its stdin lines, else the message on its command line */
/** the image's own alpine (uid 1000), whose home group members may write (0775), owned by it where the test may chown */
const withGroupWritableHome = (instance: TestInstance) => {
  instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n")
  instance.write("/etc/group", "root:x:0:root\nalpine:x:1000:\n")
  mkdirSync(join(instance.root, "home/alpine"), { recursive: true })
  chmodSync(join(instance.root, "home/alpine"), 0o775)
  if (process.getuid?.() === 0) chownSync(join(instance.root, "home/alpine"), 1000, 1000)
}

const sent = (i: Invocation): ReadonlyArray<string> => {
  if (i.stdin !== undefined) return i.stdin.split("\n").filter((l) => l !== "")
  const tag = i.args.indexOf("-t")
  return [i.args.slice(tag + 2).join(" ")]
}

describe("boot phase actions", () => {
  it.scopedLive("set_default_interfaces picks the first eth* (by ifindex) whose link is up and sets the others down", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        interfaces: [
          { name: "eth0", mac: "02:00:00:00:00:01", up: false },
          { name: "eth1", mac: "02:00:00:00:00:02", up: true },
          { name: "eth2", mac: "02:00:00:00:00:03", up: false }
        ]
      })
      expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces" })).code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth1\niface eth1\n\tuse dhcp\n\n")
      expect(instance.commands()).toEqual([
        "ip link set dev eth0 up",
        "ip link set dev eth1 up",
        "ip link set dev eth2 up",
        "ip link set dev eth0 down",
        "ip link set dev eth2 down"
      ])
    })
  )

  it.scopedLive("set_default_interfaces orders by ifindex, not by name: eth1 before eth0 when the kernel numbered it first; none up, the first is chosen", () =>
    Effect.gen(function* () {
      // the fake sysfs numbers them in the order given: eth1 ifindex 2, eth0 ifindex 3
      const instance = yield* makeTestInstance({
        cloud: "aws",
        interfaces: [
          { name: "eth1", mac: "02:00:00:00:00:02", up: false },
          { name: "eth0", mac: "02:00:00:00:00:01", up: false }
        ]
      })
      expect(instance.read("/sys/class/net/eth1/ifindex")).toBe("2\n")
      expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces", TINY_CLOUD_LINK_WAIT_MAX: "0" })).code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth1\niface eth1\n\tuse dhcp\n\n")
      expect(instance.commands()).toEqual(["ip link set dev eth1 up", "ip link set dev eth0 up", "ip link set dev eth0 down"])
    })
  )

  it.scopedLive("set_default_interfaces: a port of another interface (Azure's accelerated-networking VF, eth0 its master) is neither chosen, though its link is up first, nor set down", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "azure",
        interfaces: [
          { name: "eth0", mac: "00:0d:3a:8c:6f:21", up: false },
          { name: "eth1", mac: "00:0d:3a:8c:6f:21", up: true },
          { name: "eth2", mac: "00:0d:3a:8c:7a:90", up: false }
        ]
      })
      // hv_netvsc enslaves the VF to the synthetic NIC of its MAC
      symlinkSync("../eth0", join(instance.root, "sys/class/net/eth1/master"))
      expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces", TINY_CLOUD_LINK_WAIT_MAX: "0" })).code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      expect(instance.commands()).toEqual(["ip link set dev eth0 up", "ip link set dev eth1 up", "ip link set dev eth2 up", "ip link set dev eth2 down"])
    })
  )

  it.scopedLive("set_default_interfaces takes a link that comes up while it waits (TINY_CLOUD_LINK_WAIT_MAX)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        interfaces: [
          { name: "eth0", mac: "02:00:00:00:00:01", up: false },
          { name: "eth1", mac: "02:00:00:00:00:02", up: false }
        ]
      })
      instance.write("/sys/class/net/eth1/operstate", "down\n")
      // the link comes up while the action waits (up to 2 s)
      yield* Effect.fork(Effect.delay(Effect.sync(() => instance.write("/sys/class/net/eth1/operstate", "up\n")), "150 millis"))
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces", TINY_CLOUD_LINK_WAIT_MAX: "20" })
      expect(r.code).toBe(0)
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth1\niface eth1\n\tuse dhcp\n\n")
      expect(instance.commands()).toEqual(["ip link set dev eth0 up", "ip link set dev eth1 up", "ip link set dev eth0 down"])
    })
  )

  it.scopedLive("set_default_interfaces: an ip link that fails (a NIC gone since sysfs was read) is a warning; the file is written and the phase goes on", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        interfaces: [
          { name: "eth0", mac: "02:00:00:00:00:01", up: true },
          { name: "eth1", mac: "02:00:00:00:00:02", up: false }
        ],
        answer: (i) => (i.command === "ip" && i.args.includes("eth1") ? { exitCode: 1 } : undefined)
      })
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces enable_sshd" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain("ip link set dev eth1 up: exited with status 1\n")
      expect(r.stderr).toContain("ip link set dev eth1 down: exited with status 1\n")
      expect(actionLines(r.stderr)).toEqual([
        "   ++ set_default_interfaces: starting",
        "   ++ set_default_interfaces: done",
        "   ++ enable_sshd: starting",
        "   ++ enable_sshd: done"
      ])
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      expect(instance.commands()).toContain("rc-update add sshd default")
    })
  )

  it.scopedLive("set_ephemeral_network: a udhcpc that fails (no such device) is a warning; the boot phase goes on to the interfaces file and sshd", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "nocloud",
        instance: { hostname: "web.example.org" },
        answer: (i) => (i.command === "udhcpc" ? { exitCode: 1, stderr: new TextEncoder().encode("udhcpc: SIOCGIFINDEX: No such device\n") } : undefined)
      })
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_ephemeral_network set_network_interfaces enable_sshd" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain("\nset_ephemeral_network: no DHCP lease on eth0: udhcpc: exited with status 1; the boot goes on without it\n")
      expect(actionLines(r.stderr).filter((l) => l.endsWith(": done"))).toEqual(["set_ephemeral_network", "set_network_interfaces", "enable_sshd"].map((a) => `   ++ ${a}: done`))
      expect(instance.commands().filter((c) => !c.startsWith("ip link "))).toEqual(["udhcpc -i eth0 -f -q", "rc-update add sshd default", "rc-update --update"])
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
    })
  )

  // on the TestClock: the commands' 2 s and the deadline's second pass without being waited for
  it.scoped("set_ephemeral_network: a udhcpc that gets no answer (no DHCP server) is given IMDS_DEADLINE, then a warning; the boot phase goes on", () =>
    Effect.gen(function* () {
      // every command takes 2 s: udhcpc outlasts a deadline of 1 s
      const instance = yield* makeTestInstance({ cloud: "nocloud", instance: { hostname: "web.example.org" }, commandDelayMs: 2000 })
      const { result: r, elapsedMs } = yield* advancingClock(instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_ephemeral_network", IMDS_DEADLINE: "1" }), "100 millis")
      expect(elapsedMs).toBeGreaterThanOrEqual(1000)
      expect(r.code).toBe(0)
      expect(r.stderr).toContain("\nset_ephemeral_network: no DHCP lease on eth0 within 1 s (IMDS_DEADLINE); the boot goes on without it\n")
    })
  )

  it.scopedLive("set_default_interfaces: a NIC's hotplug event that assembles the interfaces file while the interface is chosen keeps its stanzas; nocloud's set_network_interfaces too", () =>
    Effect.gen(function* () {
      const assembled = "# NOTE: /sbin/assemble-interfaces rewrites this file.\n\nauto lo\niface lo\n  use link\n  use loopback\n\nauto eth0\niface eth0\n  use dhcp\n  use imds\n\nauto eth1\niface eth1\n  use dhcp\n  use imds\n\n"
      for (const [cloud, action] of [["aws", "set_default_interfaces"], ["nocloud", "set_network_interfaces"]] as const) {
        let instance: TestInstance | undefined
        instance = yield* makeTestInstance({
          cloud,
          interfaces: [
            { name: "eth0", mac: "02:00:00:00:00:01", up: true },
            { name: "eth1", mac: "02:00:00:00:00:02", up: true }
          ],
          // vnic-eth-hotplug for eth1 (attached at launch) writes the file as the links are set up
          answer: (i) => {
            if (lineOf(i) === "ip link set dev eth0 up") instance!.write("/etc/network/interfaces", assembled)
            return undefined
          }
        })
        if (cloud === "nocloud") instance.write("/var/lib/cloud/seed/nocloud/meta-data", "instance-id: i-1\n")
        const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: action })
        expect(r.code).toBe(0)
        expect(r.stderr).toContain(`${action}: already set up\n`)
        expect(instance.read("/etc/network/interfaces")).toBe(assembled)
      }
    })
  )

  it.scopedLive("set_default_interfaces falls back to the first interface and leaves an existing file alone", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", up: false }] })
      yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces" })
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      instance.write("/etc/network/interfaces", "# mine\n")
      const again = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces" })
      expect(again.stderr).toContain("set_default_interfaces: already set up\n")
      expect(instance.read("/etc/network/interfaces")).toBe("# mine\n")
    })
  )

  it.scopedLive("install_hotplugs puts each module's mdev rule before a matching rule or the fallback, once", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug nvme_ebs_links" } })
      instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
      instance.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
      instance.write("/etc/mdev.conf", "nvme.*\troot:disk 0660\n# fallback\n(.*)\troot:root 0660\n")
      for (let i = 0; i < 2; i++) expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })).code).toBe(0)
      expect(instance.read("/etc/mdev.conf")).toBe(
        "-nvme[0-9]+n.*\troot:disk 0660 */lib/mdev/nvme-ebs-links\nnvme.*\troot:disk 0660\neth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n\n# fallback\n(.*)\troot:root 0660\n"
      )
    })
  )

  it.scopedLive("install_hotplugs: an mdev.conf with neither a matching rule nor `# fallback`, its last line unended, gets the rule on a line of its own; vnic_eth_hotplug assembles the interfaces of the NICs attached at launch", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug" } })
      instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
      instance.write("/etc/mdev.conf", "null\troot:root 666")
      expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })).code).toBe(0)
      expect(instance.read("/etc/mdev.conf")).toBe("null\troot:root 666\neth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n")
      // a NIC attached at launch gets no hotplug event: its stanza comes from this run
      expect(instance.commands()).toContain("assemble-interfaces")
    })
  )

  it.scopedLive("install_hotplugs: the shell edition's vnic rule (eth[0-9], which mdev never matches with eth10 and on) is replaced where it is, '-' kept, not doubled", () =>
    Effect.gen(function* () {
      for (const prefix of ["", "-"]) {
        const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug" } })
        instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
        instance.write("/etc/mdev.conf", `null\troot:root 666\n${prefix}eth[0-9]\troot:root 0644 */lib/mdev/vnic-eth-hotplug\neth.*\troot:root 0644\n# fallback\n`)
        for (let i = 0; i < 2; i++) expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })).code).toBe(0)
        expect(instance.read("/etc/mdev.conf")).toBe(`null\troot:root 666\n${prefix}eth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\neth.*\troot:root 0644\n# fallback\n`)
      }
    })
  )

  it.scopedLive("install_hotplugs: every rule of the shell edition's vnic pattern is replaced, read by its fields (spaces, a trailing CR, another mode, '@'), as the operator wrote it; one left beside the new rule goes", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug" } })
      instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
      const conf = (p: string) =>
        `null\troot:root 666\n${p}\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n-${p}  root:root 0600   @/lib/mdev/vnic-eth-hotplug\r\n${p}\troot:root 0644\n# fallback\n`
      instance.write("/etc/mdev.conf", conf("eth[0-9]"))
      for (let i = 0; i < 2; i++) expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })).code).toBe(0)
      // the last line runs no helper: not the rule, left as it is
      expect(instance.read("/etc/mdev.conf")).toBe(conf("eth[0-9]+").replace(/eth\[0-9\]\+(\troot:root 0644\n# fallback)/, "eth[0-9]$1"))
      // an old rule beside the new one (as an earlier release left it) runs the helper twice for eth0 to eth9: it goes
      instance.write("/etc/mdev.conf", `eth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\neth[0-9] root:root 0644 */lib/mdev/vnic-eth-hotplug\n# fallback\n`)
      expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })).code).toBe(0)
      expect(instance.read("/etc/mdev.conf")).toBe("eth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n# fallback\n")
    })
  )

  it.scopedLive("install_hotplugs fails a module whose helper is missing", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug" } })
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("\t  >> vnic_eth_hotplug: installing\n\t  >> vnic_eth_hotplug: failed\n")
      // one line saying why
      expect(r.stderr).toContain("\ninstall_hotplugs: vnic_eth_hotplug: /lib/mdev/vnic-eth-hotplug is missing\n   ++ install_hotplugs: failed\n")
    })
  )

  it.scopedLive("install_hotplugs: an mdev.conf it cannot write (a directory in its place) fails the module, and the action's line names the file", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug" } })
      instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
      rmSync(join(instance.root, "etc/mdev.conf"))
      mkdirSync(join(instance.root, "etc/mdev.conf"))
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("\t  >> vnic_eth_hotplug: failed\n")
      expect(r.stderr).toContain(`\ninstall_hotplugs: vnic_eth_hotplug: read ${instance.root}/etc/mdev.conf: not a regular file; refused\n   ++ install_hotplugs: failed\n`)
    })
  )

  it.scopedLive("install_hotplugs: vnic_eth_hotplug's assembly failing (an image without interfaces.d) is its error line; the rule is installed and the boot goes on to the interfaces file and sshd", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "aws",
        env: { HOTPLUG_MODULES: "vnic_eth_hotplug" },
        interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", up: true }],
        answer: (i) => (i.command === "assemble-interfaces" ? { exitCode: 1 } : undefined)
      })
      instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs set_default_interfaces enable_sshd" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(
"\ninstall_hotplugs: vnic_eth_hotplug: assemble-interfaces: exited with status 1\n\t  >> vnic_eth_hotplug: installed\n"
      )
      expect(actionLines(r.stderr).filter((l) => l.endsWith(": done"))).toEqual(["install_hotplugs", "set_default_interfaces", "enable_sshd"].map((a) => `   ++ ${a}: done`))
      expect(instance.read("/etc/mdev.conf")).toContain("eth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n")
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      expect(instance.commands()).toContain("rc-update add sshd default")
    })
  )

  it.scopedLive("install_hotplugs on a HOTPLUG_TYPE other than mdev: one line naming it, every module unknown, mdev.conf alone; the boot goes on", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "nvme_ebs_links", HOTPLUG_TYPE: "udev" } })
      instance.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
      const before = instance.read("/etc/mdev.conf")
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs enable_sshd" })
      expect(r.code).toBe(0)
      expect(actionLines(r.stderr)).toEqual(["   ++ install_hotplugs: starting", "   ++ install_hotplugs: done", "   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(r.stderr).toContain("\ninstall_hotplugs: unsupported HOTPLUG_TYPE 'udev'\n\t  >> nvme_ebs_links: installing\n\t  >> nvme_ebs_links: unknown\n")
      expect(instance.read("/etc/mdev.conf")).toBe(before)
      // with no modules there is nothing to install: the hotplug system is not looked at, no error line
      const none = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs", HOTPLUG_MODULES: "", HOTPLUG_TYPE: "udev" })
      expect(none.code).toBe(0)
      expect(none.stderr).toBe("\n   ++ install_hotplugs: starting\n   ++ install_hotplugs: done\n")
    })
  )

  it.scopedLive("install_hotplugs: nvme_ebs_links is aws's; on another cloud it is unknown and its rule stays out of mdev.conf", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "gcp", env: { HOTPLUG_MODULES: "nvme_ebs_links" } })
      instance.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
      const before = instance.read("/etc/mdev.conf")
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs enable_sshd" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain("\t  >> nvme_ebs_links: installing\n\t  >> nvme_ebs_links: unknown\n")
      expect(actionLines(r.stderr)).toEqual(["   ++ install_hotplugs: starting", "   ++ install_hotplugs: done", "   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(instance.read("/etc/mdev.conf")).toBe(before)
    })
  )

  it.scopedLive("install_hotplugs names a module it does not know as unknown (constructor too, which every object has) and installs the others; the boot goes on", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "bogus constructor nvme_ebs_links" } })
      instance.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs enable_sshd" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(
        "\t  >> bogus: installing\n\t  >> bogus: unknown\n\t  >> constructor: installing\n\t  >> constructor: unknown\n\t  >> nvme_ebs_links: installing\n\t  >> nvme_ebs_links: installed\n"
      )
      expect(actionLines(r.stderr)).toEqual(["   ++ install_hotplugs: starting", "   ++ install_hotplugs: done", "   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(instance.read("/etc/mdev.conf")).toContain("*/lib/mdev/nvme-ebs-links")
    })
  )

  it.scopedLive("install_hotplugs: nvme_ebs_links without nvme-cli installs its rule (it works once nvme-cli is there) and says in a warning that its links wait for it; the boot goes on", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "nvme_ebs_links" }, missing: ["nvme"] })
      instance.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs enable_sshd" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(
        "\t  >> nvme_ebs_links: installed\ninstall_hotplugs: nvme_ebs_links: nvme is not installed (nvme-cli): /lib/mdev/nvme-ebs-links does nothing until it is\n"
      )
      expect(actionLines(r.stderr)).toEqual(["   ++ install_hotplugs: starting", "   ++ install_hotplugs: done", "   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(instance.read("/etc/mdev.conf")).toContain("*/lib/mdev/nvme-ebs-links")
      // with nvme-cli there, nothing more is said
      const other = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "nvme_ebs_links" } })
      other.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
      const quiet = yield* other.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })
      expect(quiet.stderr).not.toContain("is not installed")
    })
  )

  it.scopedLive("install_hotplugs: a HOTPLUG_TYPE or module name with control characters is named escaped, on its one line", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic\u001b[2J", HOTPLUG_TYPE: "mdev\u009b2J" } })
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain("\ninstall_hotplugs: unsupported HOTPLUG_TYPE 'mdev\\x9b2J'\n\t  >> vnic\\x1b[2J: installing\n\t  >> vnic\\x1b[2J: unknown\n")
      expect(r.stderr).not.toMatch(/[\u001b\u009b]/)
    })
  )
})

/**
 * An instance whose record's newest boot run never ended (the resident process SIGKILLed during it) and whose
 * $ROOT/proc shows that run's resize2fs of the root (pid 4242) still running
 */
const afterKilledBoot = Effect.gen(function* () {
  const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
  const killed = { phase: "boot", start: new Date().toISOString(), pid: 999_999_999, cloud: "aws", cloudChosenBy: "configured", userDataType: "missing", userDataWarnings: [], actions: [] }
  instance.write("/var/lib/cloud/status.json", JSON.stringify({ version: 1, runs: [killed] }))
  instance.write("/proc/4242/cmdline", "resize2fs\0/dev/vda2\0")
  return instance
})

const DISK_COMMANDS = /^(sfdisk|partx|resize2fs) /

describe("expand_root after a boot run that was killed", () => {
  // on the TestClock: the five minutes pass without being waited for
  it.scoped("a resize2fs it left that never ends (stuck on a failing disk) is waited for 5 minutes, then named in one error line; the root is not grown by this run, and the boot goes on to sshd", () =>
    Effect.gen(function* () {
      const instance = yield* afterKilledBoot
      // before: the wait had no end (here a TimeoutException at 10 minutes on the TestClock), and sshd was never enabled
      const { result: r, elapsedMs } = yield* advancingClock(instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root enable_sshd" }).pipe(Effect.timeout("10 minutes")), "5 seconds")
      expect(elapsedMs).toBeGreaterThanOrEqual(5 * 60_000)
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(
        "\nexpand_root: resize2fs (pid 4242) is running already (left by a run that was killed); waiting for it to end\n" +
          "expand_root: resize2fs (pid 4242) is still running after 5 minutes (left by a run that was killed); the root filesystem is not grown by this run\n" +
          "   ++ expand_root: done\n"
      )
      expect(instance.commands().filter((c) => DISK_COMMANDS.test(c))).toEqual([])
      expect(instance.commands()).toContain("rc-update add sshd default")
      const status = yield* instance.run(["status"])
      expect(status.stdout).toContain("error: boot/expand_root: resize2fs (pid 4242) is still running after 5 minutes")
    })
  )

  it.scoped("the wait ends when the program does, or when its pid is another program's: the root is grown then", () =>
    Effect.gen(function* () {
      const endings: ReadonlyArray<(instance: TestInstance) => void> = [
        (instance) => rmSync(join(instance.root, "proc/4242"), { recursive: true }),
        (instance) => instance.write("/proc/4242/cmdline", "sleep\0" + "60\0")
      ]
      for (const ended of endings) {
        const instance = yield* afterKilledBoot
        const boot = Effect.gen(function* () {
          yield* Effect.fork(Effect.delay(Effect.sync(() => ended(instance)), "1 minute"))
          return yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
        })
        const { result: r, elapsedMs } = yield* advancingClock(boot, "5 seconds")
        expect([r.code, elapsedMs >= 60_000 && elapsedMs < 5 * 60_000]).toEqual([0, true])
        expect(r.stderr).not.toContain("still running")
        expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
      }
    })
  )
})

describe("main phase actions", () => {
  it.scopedLive("create_default_user keeps an existing account and its password, and only makes sure it is in wheel", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws" })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
      instance.write("/etc/shadow", "root:*:1::::::\nalpine:$6$salt$hash:1::::::\n")
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })
      expect(r.stderr).toContain("create_default_user: already exists\n")
      expect(instance.commands()).toEqual(["addgroup alpine wheel"])
      instance.write("/etc/group", "root:x:0:root\nwheel:x:10:root,alpine\nalpine:x:1000:\n")
      yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })
      expect(instance.commands()).toEqual(["addgroup alpine wheel"])
    })
  )

  it.scopedLive("create_default_user gives an existing account with an empty password (a console login without one) `*`: no password login, and keys still work", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws" })
      instance.write("/etc/group", "root:x:0:root\nwheel:x:10:root,alpine\nalpine:x:1000:\n")
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
      instance.write("/etc/shadow", "root:*:1::::::\nalpine::1::::::\n")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })).code).toBe(0)
      expect(instance.commands()).toEqual(["chpasswd -e"])
      expect(instance.read("/etc/shadow")).toBe("root:*:1::::::\nalpine:*:1::::::\n")
    })
  )

  it.scopedLive("create_default_user gives an existing account whose password is locked (`!!`, passwd -l's `!HASH`) `*`: sshd without PAM refuses a locked account's keys", () =>
    Effect.gen(function* () {
      for (const locked of ["!!", "!$6$salt$hash", "!*"]) {
        const instance = yield* makeTestInstance({ cloud: "aws" })
        instance.write("/etc/group", "root:x:0:root\nwheel:x:10:root,alpine\nalpine:x:1000:\n")
        instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
        instance.write("/etc/shadow", `root:*:1::::::\nalpine:${locked}:1::::::\n`)
        expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })).code).toBe(0)
        expect(instance.commands()).toEqual(["chpasswd -e"])
        expect(instance.read("/etc/shadow")).toBe("root:*:1::::::\nalpine:*:1::::::\n")
      }
    })
  )

  it.scopedLive("create_default_user says so when the cloud user is an account the image has whose shell logs no one in (user: daemon)", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDaemon d@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example.internal", sshKeys: [key], userData: new TextEncoder().encode("#alpine-config\nuser: daemon\n") } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/bin/false\n")
      instance.write("/etc/shadow", "root:*:1::::::\ndaemon:!::0:::::\nnobody:!::0:::::\n")
      expect((yield* instance.run(["early"])).code).toBe(0)
      const r = yield* instance.run(["main"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain("create_default_user: daemon exists already with the shell /sbin/nologin, which logs no one in: the cloud's keys get no shell as daemon\n")
      // the account kept as it is, and the keys and the hostname set all the same
      expect(instance.read("/etc/passwd")).toContain("daemon:x:2:2:daemon:/sbin:/sbin/nologin\n")
      expect(instance.read("/sbin/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      // /bin/false, adduser's shell for a system account, logs no one in either (CLOUD_USER=nobody)
      const nobody = yield* makeTestInstance({ cloud: "aws" })
      nobody.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
      expect((yield* nobody.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user", CLOUD_USER: "nobody" })).stderr).toContain(
        "create_default_user: nobody exists already with the shell /bin/false, which logs no one in: the cloud's keys get no shell as nobody\n"
      )
      // an account with a shell is no such account
      const plain = yield* makeTestInstance({ cloud: "aws" })
      plain.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/ash\n")
      expect((yield* plain.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })).stderr).not.toContain("logs no one in")
    })
  )

  it.scopedLive("create_default_user killed after adduser converges when run again: wheel, the password for keys, sudo and doas", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws" })
      // what addgroup and adduser left before the kill
      instance.write("/etc/group", "root:x:0:root\nwheel:x:10:root\nalpine:x:1000:\n")
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n")
      instance.write("/etc/shadow", "root:*:1::::::\nalpine:!:20000:0:99999:7:::\n")
      expect((yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })).code).toBe(0)
      expect(instance.commands()).toEqual(["addgroup alpine wheel", "chpasswd -e"])
      expect(instance.read("/etc/group")).toBe("root:x:0:root\nwheel:x:10:root,alpine\nalpine:x:1000:\n")
      expect(instance.read("/etc/shadow")).toBe("root:*:1::::::\nalpine:*:20000:0:99999:7:::\n")
      expect(instance.read("/etc/sudoers.d/wheel")).toBe("%wheel ALL=(ALL) NOPASSWD: ALL\n")
      expect(instance.read("/etc/doas.d/wheel.conf")).toBe("permit nopass :wheel\n")
      // root's alone to change, as visudo and Alpine's doas package make their files
      expect([instance.mode("/etc/sudoers.d/wheel"), instance.mode("/etc/doas.d/wheel.conf")]).toEqual([0o440, 0o600])
    })
  )

  it.scopedLive("an image without a wheel group: busybox's addgroup USER wheel fails, which is a warning; the main phase goes on to the keys and the hostname, with the contract's commands", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoWheel w@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example.internal", sshKeys: [key] } })
      instance.write("/etc/group", "root:x:0:root\n")
      const r = yield* instance.run(["main"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain("create_default_user: alpine not added to wheel: addgroup alpine wheel: exited with status 1: addgroup: unknown group wheel\n")
      expect(instance.commands()).toEqual([
        "addgroup alpine",
        "adduser -h /home/alpine -s /bin/sh -G alpine -D alpine",
        "addgroup alpine wheel",
        "chpasswd -e",
        `hostname -F ${instance.root}/etc/hostname`
      ])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
    })
  )

  it.scopedLive("grants doas once in /etc/doas.conf when there is no doas.d, and nothing for sudo without sudoers.d", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", env: { CLOUD_USER: "ops" } })
      rmSync(join(instance.root, "etc/doas.d"), { recursive: true })
      rmSync(join(instance.root, "etc/sudoers.d"), { recursive: true })
      instance.write("/etc/doas.conf", "permit persist :wheel\n")
      chmodSync(join(instance.root, "etc/doas.conf"), 0o644)
      yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })
      expect(instance.read("/etc/doas.conf")).toBe("permit persist :wheel\npermit nopass :wheel\n")
      // a line added, the file's own mode kept
      expect(instance.mode("/etc/doas.conf")).toBe(0o644)
      expect(instance.read("/etc/sudoers.d/wheel")).toBeUndefined()
      expect(instance.commands()[1]).toBe("adduser -h /home/ops -s /bin/sh -G ops -D ops")
    })
  )

  it.scopedLive("set_ssh_keys makes a home the account lacks as adduser would: 0755 and the user's, its parents 0755; ~/.ssh 0700", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHome h@example"] } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n")
      instance.write("/etc/group", "root:x:0:root\nalpine:x:1000:\n")
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(r.code).toBe(0)
      expect([instance.mode("/home"), instance.mode("/home/alpine"), instance.mode("/home/alpine/.ssh")]).toEqual([0o755, 0o755, 0o700])
      if (process.getuid?.() === 0) expect(instance.stat("/home/alpine")).toMatchObject({ uid: 1000, gid: 1000 })
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHome h@example\n")
    })
  )

  it.scopedLive("set_ssh_keys makes an image's ~/.ssh that others may write 0700 again: sshd's StrictModes would refuse the keys in it; authorized_keys 0600", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStrict s@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [key] } })
      instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n")
      instance.write("/etc/group", "root:x:0:root\nalpine:x:1000:\n")
      mkdirSync(join(instance.root, "home/alpine/.ssh"), { recursive: true })
      chmodSync(join(instance.root, "home/alpine/.ssh"), 0o777)
      instance.write("/home/alpine/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld o@example\n")
      chmodSync(join(instance.root, "home/alpine/.ssh/authorized_keys"), 0o666)
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect([instance.mode("/home/alpine/.ssh"), instance.mode("/home/alpine/.ssh/authorized_keys")]).toEqual([0o700, 0o600])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
    })
  )

  it.scopedLive("set_ssh_keys says so when the image's home is one group or others may write, whose keys sshd's StrictModes refuses; not where sshd_config turns StrictModes off", (ctx) =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHomeMode h@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [key] } })
      withGroupWritableHome(instance)
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
      // the image's home is left as it is
      expect(instance.mode("/home/alpine")).toBe(0o775)
      expect(r.stderr).toContain("\nset_ssh_keys: the home /home/alpine may be written by group or others (mode 0775): sshd (StrictModes) refuses alpine's keys\n")
      instance.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n")
      instance.write("/etc/ssh/sshd_config.d/10-lax.conf", "StrictModes no\n")
      const lax = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(lax.code, lax.stderr).toBe(0)
      expect(lax.stderr).not.toContain("StrictModes")
      // a home of another account's (sshd takes the user's or root's alone)
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (chown to another uid)")
      rmSync(join(instance.root, "etc/ssh/sshd_config.d/10-lax.conf"))
      chmodSync(join(instance.root, "home/alpine"), 0o755)
      chownSync(join(instance.root, "home/alpine"), 2000, 2000)
      const other = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(other.code, other.stderr).toBe(0)
      expect(other.stderr).toContain("\nset_ssh_keys: the home /home/alpine is owned by uid 2000, neither alpine nor root: sshd (StrictModes) refuses alpine's keys\n")
    })
  )

  it.scopedLive("set_ssh_keys reads sshd's settings as sshd does: a quoted value, a comment after it (StrictModes \"no\" # lax is no, no false word of the home)", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQuotedValue q@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [key] } })
      withGroupWritableHome(instance)
      instance.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysFile '.ssh/authorized_keys' # the stock one\n")
      instance.write("/etc/ssh/sshd_config.d/10-lax.conf", 'StrictModes "no" # a shared home\n')
      const lax = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(lax.code, lax.stderr).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(lax.stderr).not.toContain("StrictModes")
      expect(lax.stderr).not.toContain("AuthorizedKeysFile")
      instance.write("/etc/ssh/sshd_config.d/10-lax.conf", "StrictModes no\nPubkeyAuthentication no # passwords only\n")
      const off = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(off.code, off.stderr).toBe(0)
      expect(off.stderr).toContain("\nset_ssh_keys: sshd's PubkeyAuthentication is no: the keys written log no one in as alpine\n")
    })
  )

  it.scopedLive("set_ssh_keys reads the drop-ins an sshd_config with CRLF line ends includes, as sshd does: their StrictModes no, no false word of the home", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrlfConfig c@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [key] } })
      withGroupWritableHome(instance)
      instance.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\r\n\r\nAuthorizedKeysFile\t.ssh/authorized_keys\r\n")
      instance.write("/etc/ssh/sshd_config.d/10-lax.conf", "StrictModes no\r\n")
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(r.stderr).not.toContain("StrictModes")
    })
  )

  it.scopedLive("set_ssh_keys says so when sshd takes no key (PubkeyAuthentication no), or none of root's (PermitRootLogin no) and root is the cloud user", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRootLogin r@example"
      const instance = yield* makeTestInstance({ cloud: "aws", conf: "CLOUD_USER=root\n", instance: { sshKeys: [key] } })
      instance.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\n")
      instance.write("/etc/ssh/sshd_config.d/40-hardening.conf", "PermitRootLogin no\n")
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect(instance.read("/root/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(r.stderr).toContain("\nset_ssh_keys: sshd's PermitRootLogin is no: the keys written log no one in as root\n")
      expect(r.stderr).not.toContain("PubkeyAuthentication")
      instance.write("/etc/ssh/sshd_config.d/40-hardening.conf", "PubkeyAuthentication no\n")
      const noKeys = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(noKeys.code, noKeys.stderr).toBe(0)
      expect(noKeys.stderr).toContain("\nset_ssh_keys: sshd's PubkeyAuthentication is no: the keys written log no one in as root\n")
      // prohibit-password, sshd's default, takes root's keys
      expect(noKeys.stderr).not.toContain("PermitRootLogin")
    })
  )

  it.scopedLive("set_ssh_keys writes the cloud's keys each once, sorted as imds @ssh-keys prints them, a key served with a doubled blank as the one it is", () =>
    Effect.gen(function* () {
      const a = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwiceA a@example"
      const b = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwiceB b@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [a, b.replace(" ", "  "), a] } })
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${a}\n${b}\n`)
    })
  )

  it.scopedLive("set_ssh_keys says so when sshd reads its keys elsewhere: an image's drop-in setting AuthorizedKeysFile before sshd_config's own line", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIElsewhere e@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [key] } })
      instance.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysFile .ssh/authorized_keys\n")
      instance.write("/etc/ssh/sshd_config.d/40-hardening.conf", "AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n")
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(r.stderr).toContain(
        "set_ssh_keys: sshd reads the keys of AuthorizedKeysFile /etc/ssh/authorized_keys/%u, not /home/alpine/.ssh/authorized_keys: the keys written there log no one in as alpine\n"
      )
      // one that names the home's file among others says nothing
      instance.write("/etc/ssh/sshd_config.d/40-hardening.conf", "AuthorizedKeysFile /etc/ssh/authorized_keys/%u %h/.ssh/authorized_keys\n")
      const again = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).not.toContain("AuthorizedKeysFile")
    })
  )

  it.scopedLive("under a ROOT, an account of this machine's (getent) is not the instance's: CLOUD_USER is created in ROOT and gets the keys there", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostAccount h@example"
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: [key] } })
      const host = new TextEncoder().encode("alpine:x:4242:4242::/srv/host-alpine:/bin/bash\n")
      const system = yield* withLogger(instance, (i) => (i.command === "getent" ? { stdout: host } : undefined))
      const r = yield* system.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_ssh_keys" })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).not.toContain("already exists")
      expect(system.invocations().map((i) => i.command).filter((c) => c !== "logger")).toEqual(["addgroup", "adduser", "addgroup", "chpasswd"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
      expect(instance.read("/srv/host-alpine/.ssh/authorized_keys")).toBeUndefined()
    })
  )

  it.scopedLive("set_ssh_keys fails when the user does not exist", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAA k"] } })
      const r = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("set_ssh_keys: failed to find user alpine\n")
    })
  )
})

describe("syslog", () => {
  const KEY = "ssh-ed25519 AAAAC3NzaSecretLookingKey me@example"

  it.scopedLive("each line goes to logger with facility local7 at its level and tag tiny-cloud/PHASE[PID]", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example", sshKeys: [KEY] } })
      const system = yield* withLogger(instance)
      expect((yield* system.run(["main"])).code).toBe(0)
      const log = system.invocations().filter((i) => i.command === "logger")
      const tag = `tiny-cloud/main[${process.pid}]`
      const levelOf = (line: string) => log.filter((i) => sent(i).includes(line)).map((i) => i.args.slice(0, 4).join(" "))
      expect(levelOf("missing_userdata: no user-data found")).toEqual([`-p local7.notice -t ${tag}`])
      expect(levelOf("set_ssh_keys: done")).toEqual([`-p local7.info -t ${tag}`])
      expect(log.every((i) => i.args[2] === "-t" && i.args[3] === tag)).toBe(true)
    })
  )

  it.scopedLive("the action lines at their levels (BEHAVIOUR.md §4): starting and done info, skipped notice, unknown and failed err; disabled and already bootstrapped info", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAA k"] } })
      const system = yield* withLogger(instance)
      const main = yield* system.run(["main"], { INIT_ACTIONS_MAIN: "no_such_action set_hostname set_ssh_keys", SKIP_INIT_ACTIONS: "set_hostname" })
      expect(main.code).toBe(1)
      instance.write("/etc/tiny-cloud.disabled", "")
      expect((yield* system.run(["final"])).stderr).toBe("tiny-cloud disabled\n")
      rmSync(join(instance.root, "etc/tiny-cloud.disabled"))
      instance.write("/var/lib/cloud/.bootstrap-complete", "")
      expect((yield* system.run(["final"])).stderr).toBe("already bootstrapped\n")
      const levels = system
        .invocations()
        .filter((i) => i.command === "logger")
        .flatMap((i) => sent(i).map((line) => `${i.args[1]} ${line}`))
      expect(levels).toEqual([
        "local7.info missing_userdata: starting",
        "local7.notice missing_userdata: no user-data found",
        "local7.info missing_userdata: done",
        "local7.info no_such_action: starting",
        "local7.err no_such_action: unknown",
        "local7.notice set_hostname: skipped",
        "local7.info set_ssh_keys: starting",
        "local7.err set_ssh_keys: failed to find user alpine",
        "local7.err set_ssh_keys: failed",
        "local7.info tiny-cloud disabled",
        "local7.info already bootstrapped"
      ])
    })
  )

  it.scopedLive("a user map without a name is an error logged (BEHAVIOUR.md §6): at error level, while the rest of the document is applied", () =>
    Effect.gen(function* () {
      const userData = new TextEncoder().encode("#alpine-config\nuser:\n  shell: /bin/ash\npackages:\n  - vim\n  - [nested]\n")
      const instance = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { userData } })
      const system = yield* withLogger(instance)
      expect((yield* system.run(["early"])).code).toBe(0)
      const log = system.invocations().filter((i) => i.command === "logger")
      const levelOf = (line: string) => log.filter((i) => sent(i).some((l) => l.startsWith(line))).map((i) => i.args[1])
      expect(levelOf("save_userdata: invalid user-data: line 2: user: a user map needs a name; the default user is kept")).toEqual(["local7.err"])
      // an entry skipped while the rest is applied stays a warning
      expect(levelOf("save_userdata: invalid user-data: line 6: packages[1]:")).toEqual(["local7.warning"])
    })
  )

  it.scopedLive("a line goes to syslog when it happens, before the commands that follow it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example" } })
      const system = yield* withLogger(instance)
      expect((yield* system.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })).code).toBe(0)
      const calls = system.invocations()
      const addgroup = calls.findIndex((i) => i.command === "addgroup")
      expect(addgroup).toBeGreaterThanOrEqual(0)
      const sentBefore = calls.slice(0, addgroup).flatMap((i) => (i.command === "logger" ? sent(i) : []))
      expect(sentBefore).toEqual(["missing_userdata: starting", "missing_userdata: no user-data found", "missing_userdata: done", "create_default_user: starting"])
    })
  )

  it.scopedLive("never logs keys or tokens", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h.example", sshKeys: [KEY] } })
      const system = yield* withLogger(instance)
      const main = yield* system.run(["main"])
      expect(main.code).toBe(0)
      const log = system.invocations().filter((i) => i.command === "logger")
      expect(log.flatMap(sent)).toContain("set_ssh_keys: done")
      const token = instance.sim!.requests.find((r) => r.method === "GET")!.headers["x-aws-ec2-metadata-token"] as string
      for (const text of [main.stderr, ...log.flatMap(sent), ...log.flatMap((i) => i.args)]) {
        expect(text).not.toContain("AAAAC3NzaSecretLookingKey")
        expect(text).not.toContain(token)
      }
    })
  )
})
