/**
 * Files of the image that refuse writes as operators make them (`chattr +i /etc/resolv.conf`, an append-only log),
 * under the built program, each phase a process of its own: what the refusal touches fails in one line naming the file
 * and the kernel's reason; what it does not touch (sshd, the keys, the user's programs) is still done.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "vitest"
import { actionLines, PROGRAM, useInstances, type TestInstance } from "../support/harness.js"
import { describeSystem, skipAtRun, which } from "../support/system.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const newInstance = useInstances()

/**
 * `body` with the instance's files made `chattr FLAG` (+i, +a), the flag taken off again after it, whatever it did (the
 * instance's directory is removed then); where the file system has no such flag, the test is skipped with the reason
 * printed (skipAtRun: under CI, where the tools are there, it fails)
 */
const withFlag = async (ctx: { readonly skip: (note?: string) => void }, instance: TestInstance, flag: string, paths: ReadonlyArray<string>, body: () => Promise<void>): Promise<void> => {
  const hostPaths = paths.map((p) => join(instance.root, p))
  const set = hostPaths.filter((p) => spawnSync(which("chattr")!, [flag, p]).status === 0)
  try {
    if (set.length < hostPaths.length) return skipAtRun(ctx, `${instance.root}: chattr ${flag} refused (a file system without the flag?)`)
    await body()
  } finally {
    for (const p of set) spawnSync(which("chattr")!, [flag.replace("+", "-"), p])
  }
}

describeSystem("files of the image that refuse writes (chattr +i, +a) under the built program", { root: true, tools: { chattr: "e2fsprogs" } }, () => {
  it("an immutable /etc/resolv.conf on a NoCloud instance with static interfaces and nameservers: set_network_interfaces fails in one line, the boot phase still enables sshd", async (ctx) => {
    const instance = await newInstance({ cloud: "nocloud", noSimulator: true, env: { CLOUD: "nocloud" } })
    const seed = join(instance.root, "var/lib/cloud/seed/nocloud")
    mkdirSync(seed, { recursive: true })
    writeFileSync(
      join(seed, "meta-data"),
      `instance-id: i-1\nlocal-hostname: seed-box\npublic-keys:\n  - ${KEY}\nnetwork-interfaces: |\n  auto eth0\n  iface eth0 inet static\n    address 10.0.0.5/24\nresolv_conf:\n  nameservers: [10.0.0.2]\n`
    )
    instance.write("/etc/resolv.conf", "nameserver 192.0.2.53\n")
    await withFlag(ctx, instance, "+i", ["etc/resolv.conf"], async () => {
      const [boot, , main] = await instance.boot()
      expect(boot!.code).toBe(1)
      expect(boot!.stderr).toContain(`set_network_interfaces: write ${instance.root}/etc/resolv.conf: operation not permitted\n`)
      expect(actionLines(boot!.stderr).slice(-4)).toEqual(["   ++ set_network_interfaces: starting", "   ++ set_network_interfaces: failed", "   ++ enable_sshd: starting", "   ++ enable_sshd: done"])
      expect(instance.commands()).toContain("rc-update add sshd default")
      expect(instance.read("/etc/network/interfaces")).toContain("iface eth0 inet static\n")
      expect(instance.read("/etc/resolv.conf")).toBe("nameserver 192.0.2.53\n")
      expect(main!.code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("seed-box\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  })

  it("an immutable /etc/mdev.conf with HOTPLUG_MODULES: install_hotplugs fails in one line naming it, the boot phase still writes the interfaces and enables sshd", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    // the helper the image has (an image with tiny-cloud installed): only the rule is refused
    instance.write("/lib/mdev/vnic-eth-hotplug", "")
    await withFlag(ctx, instance, "+i", ["etc/mdev.conf"], async () => {
      const boot = await instance.run(["boot"], { HOTPLUG_MODULES: "vnic_eth_hotplug" })
      expect(boot.code).toBe(1)
      expect(boot.stderr).toContain(`install_hotplugs: vnic_eth_hotplug: write ${instance.root}/etc/mdev.conf: operation not permitted\n`)
      const lines = actionLines(boot.stderr)
      expect(lines.slice(lines.indexOf("   ++ install_hotplugs: failed"))).toEqual([
        "   ++ install_hotplugs: failed",
        "   ++ set_ephemeral_network: starting",
        "   ++ set_ephemeral_network: done",
        "   ++ set_default_interfaces: starting",
        "   ++ set_default_interfaces: done",
        "   ++ enable_sshd: starting",
        "   ++ enable_sshd: done"
      ])
      expect(instance.commands()).toContain("rc-update add sshd default")
      expect(instance.read("/etc/network/interfaces")).toContain("iface eth0")
      expect(instance.read("/etc/mdev.conf")).not.toContain("vnic-eth-hotplug")
      expect((await instance.run(["status"])).stdout).toMatch(/^failed at boot\/install_hotplugs: vnic_eth_hotplug: write .*\/etc\/mdev.conf: operation not permitted\n/)
    })
  })

  it("an immutable /etc/mdev.conf that holds the hotplug rule already: install_hotplugs is done, as tiny-cloud(8) says", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    instance.write("/lib/mdev/vnic-eth-hotplug", "")
    instance.write("/etc/mdev.conf", "-eth[0-9]+\troot:root 0600 */lib/mdev/vnic-eth-hotplug\n")
    await withFlag(ctx, instance, "+i", ["etc/mdev.conf"], async () => {
      const boot = await instance.run(["boot"], { HOTPLUG_MODULES: "vnic_eth_hotplug" })
      expect(boot.code, boot.stderr).toBe(0)
      expect(actionLines(boot.stderr)).toContain("   ++ install_hotplugs: done")
    })
  })

  it("an immutable authorized_keys (keys pinned by the operator) on azure: set_ssh_keys fails in one line naming it, what main does after it still comes (ssh_pwauth, report_ready)", async (ctx) => {
    const userData = new TextEncoder().encode("#cloud-config\nssh_pwauth: false\n")
    const instance = await newInstance({ cloud: "azure", instance: { hostname: "vm-1", sshKeys: [KEY], userData } })
    instance.write("/home/alpine/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinned op@example\n")
    await withFlag(ctx, instance, "+i", ["home/alpine/.ssh/authorized_keys"], async () => {
      const [, , main] = await instance.boot()
      const keys = `${instance.root}/home/alpine/.ssh/authorized_keys`
      expect(main!.code).toBe(1)
      expect(main!.stderr).toContain(`set_ssh_keys: write ${keys}: operation not permitted\n`)
      const lines = actionLines(main!.stderr)
      expect(lines.slice(lines.indexOf("   ++ set_ssh_keys: failed"))).toEqual([
        "   ++ set_ssh_keys: failed",
        "   ++ ssh_authorized_keys: starting",
        "   ++ ssh_authorized_keys: done",
        "   ++ userdata_ssh_pwauth: starting",
        "   ++ userdata_ssh_pwauth: done",
        "   ++ report_ready: starting",
        "   ++ report_ready: done"
      ])
      expect(instance.sim!.reports.map((r) => r.state)).toEqual(["Ready"])
      expect(instance.read("/etc/ssh/sshd_config.d/50-tiny-cloud.conf")).toBe("PasswordAuthentication no\n")
      expect(instance.read("/etc/hostname")).toBe("vm-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinned op@example\n")
      expect(readdirSync(join(instance.root, "home/alpine/.ssh"))).toEqual(["authorized_keys"])
    })
  })

  it.for([["immutable", "+i"], ["append-only", "+a"]] as const)("an %s user-data.log: the user-data script still runs, its output echoed and said not kept in one line, the log as it was", async ([, flag], ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode('#!/bin/sh\necho said\necho ran >> "$ROOT/tmp/ran"\n') } })
    instance.write("/tmp/ran", "")
    instance.write("/var/log/user-data.log", "earlier\n")
    await withFlag(ctx, instance, flag, ["var/log/user-data.log"], async () => {
      const [, , , final] = await instance.boot()
      expect(final!.stderr).toContain(`run_userdata: cannot keep its program's output: write ${instance.root}/var/log/user-data.log: operation not permitted\n`)
      expect(final!.stdout).toContain("said\n")
      expect(actionLines(final!.stderr)).toContain("   ++ run_userdata: done")
      expect(instance.read("/tmp/ran")).toBe("ran\n")
      expect(instance.read("/var/log/user-data.log")).toBe("earlier\n")
      expect(readdirSync(join(instance.root, "var/log")).sort()).toEqual(["user-data.exit", "user-data.log"])
      expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
    })
  })

  it("an immutable /etc/network/interfaces: assemble-interfaces says in one line, in the kernel's words, that it cannot lock it, and leaves it and its directory as they were", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", noSimulator: true })
    instance.write("/etc/network/interfaces.d/lo", "auto lo\niface lo\n  use loopback\n")
    instance.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    await withFlag(ctx, instance, "+i", ["etc/network/interfaces"], async () => {
      const r = await instance.run(["assemble-interfaces"])
      // before: '... cannot lock PATH: EPERM: operation not permitted, open 'PATH''
      expect([r.code, r.stderr]).toEqual([1, `assemble-interfaces: cannot lock ${instance.root}/etc/network/interfaces: operation not permitted\n`])
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n")
      expect(readdirSync(join(instance.root, "etc/network")).sort()).toEqual(["interfaces", "interfaces.d"])
    })
  })

  it("an append-only /etc (chattr +a on the directory: nothing there is renamed over or removed): set_hostname names the kernel's refusal of /etc/hostname, not 'not a directory'", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    instance.write("/etc/hostname", "image\n")
    await withFlag(ctx, instance, "+a", ["etc"], async () => {
      const main = await instance.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })
      expect(main.code).toBe(1)
      // before: 'write .../etc/hostname: not a directory' (rmSync's words for the temporary it could not unlink)
      expect(main.stderr).toContain(`set_hostname: write ${instance.root}/etc/hostname: operation not permitted\n`)
      expect(instance.read("/etc/hostname")).toBe("image\n")
    })
  })

  it("an immutable /etc/hostname that names the host already (the operator's pin): set_hostname is done, the host named from it, /etc/hosts written", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    instance.write("/etc/hostname", "web-1\n")
    await withFlag(ctx, instance, "+i", ["etc/hostname"], async () => {
      const main = await instance.run(["main"])
      // before: 'set_hostname: write .../etc/hostname: operation not permitted', failed, for a file that needed no change
      expect([main.code, main.stderr]).toEqual([0, expect.not.stringContaining("set_hostname: write")])
      expect(instance.commands()).toContain(`hostname -F ${instance.root}/etc/hostname`)
      expect(instance.read("/etc/hosts")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb-1.example web-1\n")
    })
  })

  it("an immutable interfaces file that holds the NoCloud meta-data's network-interfaces already: set_network_interfaces is done, the nameservers written", async (ctx) => {
    const instance = await newInstance({ cloud: "nocloud", noSimulator: true, env: { CLOUD: "nocloud" } })
    const stanzas = "auto eth0\niface eth0 inet static\n  address 10.0.0.5/24\n"
    instance.write("/var/lib/cloud/seed/nocloud/meta-data", `instance-id: i-1\nlocal-hostname: seed-box\nnetwork-interfaces: |\n${stanzas.replace(/^/gm, "  ").trimEnd()}\nresolv_conf:\n  nameservers: [10.0.0.2]\n`)
    instance.write("/etc/network/interfaces", stanzas)
    instance.write("/etc/resolv.conf", "")
    await withFlag(ctx, instance, "+i", ["etc/network/interfaces"], async () => {
      const boot = await instance.run(["boot"])
      // before: 'set_network_interfaces: write .../etc/network/interfaces: operation not permitted', failed
      expect([boot.code, actionLines(boot.stderr)]).toEqual([0, expect.arrayContaining(["   ++ set_network_interfaces: done", "   ++ enable_sshd: done"])])
      expect(instance.read("/etc/resolv.conf")).toBe("nameserver 10.0.0.2\n")
    })
  })

  it("an immutable /etc/timezone: userdata_timezone fails in one line naming it, /etc/localtime left as it was (cloud-init writes /etc/timezone first)", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode("#cloud-config\ntimezone: Europe/Paris\n") } })
    instance.write("/usr/share/zoneinfo/Europe/Paris", "TZif-paris")
    instance.write("/usr/share/zoneinfo/UTC", "TZif-utc")
    instance.write("/etc/timezone", "UTC\n")
    symlinkSync("/usr/share/zoneinfo/UTC", join(instance.root, "etc/localtime"))
    await withFlag(ctx, instance, "+i", ["etc/timezone"], async () => {
      const [, , main] = await instance.boot()
      expect(main!.code).toBe(1)
      expect(main!.stderr).toContain(`userdata_timezone: write ${instance.root}/etc/timezone: operation not permitted\n`)
      // before: /etc/localtime led to Europe/Paris already, /etc/timezone still said UTC
      expect(readlinkSync(join(instance.root, "etc/localtime"))).toBe("/usr/share/zoneinfo/UTC")
      expect(instance.read("/etc/timezone")).toBe("UTC\n")
    })
  })

  it("an immutable /etc/timezone that names the zone already, /etc/localtime leading to it (the operator's pin): userdata_timezone is done, neither rewritten", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode("#cloud-config\ntimezone: Europe/Paris\n") } })
    instance.write("/usr/share/zoneinfo/Europe/Paris", "TZif-paris")
    instance.write("/etc/timezone", "Europe/Paris\n")
    symlinkSync("/usr/share/zoneinfo/Europe/Paris", join(instance.root, "etc/localtime"))
    const link = lstatSync(join(instance.root, "etc/localtime")).ino
    await withFlag(ctx, instance, "+i", ["etc/timezone"], async () => {
      const [, , main] = await instance.boot()
      // before: userdata_timezone failed ('write .../etc/timezone: operation not permitted'), main exited 1, nothing to change
      expect(main!.stderr).not.toContain("userdata_timezone: write")
      expect(main!.code).toBe(0)
      expect(lstatSync(join(instance.root, "etc/localtime")).ino).toBe(link)
      expect(instance.read("/etc/timezone")).toBe("Europe/Paris\n")
    })
  })

  it("an immutable authorized_keys and ~/.ssh that hold the cloud's keys already, as set_ssh_keys makes them (the operator's pin): set_ssh_keys is done", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    expect((await instance.run(["main"])).code).toBe(0)
    await withFlag(ctx, instance, "+i", ["home/alpine/.ssh/authorized_keys", "home/alpine/.ssh"], async () => {
      const main = await instance.run(["main"])
      // before: set_ssh_keys failed ('operation not permitted': ~/.ssh's chmod, then the file's write), for files that needed no change
      expect([main.code, actionLines(main.stderr)]).toEqual([0, expect.arrayContaining(["   ++ set_ssh_keys: done"])])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  })

  it("an immutable $ROOT/run/tiny-cloud and $ROOT/tmp on a NoCloud instance with a cidata volume: one line names both places a mount point was refused", async (ctx) => {
    const instance = await newInstance({ cloud: "nocloud", noSimulator: true, env: { CLOUD: "nocloud" } })
    const volume = join(instance.dir, "cidata")
    mkdirSync(volume)
    writeFileSync(join(volume, "meta-data"), `instance-id: i-1\nlocal-hostname: seed-box\npublic-keys:\n  - ${KEY}\n`)
    mkdirSync(join(instance.root, "run/tiny-cloud"), { recursive: true })
    mkdirSync(join(instance.root, "tmp"), { recursive: true })
    await withFlag(ctx, instance, "+i", ["run/tiny-cloud", "tmp"], async () => {
      const [, early] = await instance.boot({ FAKE_CIDATA: volume })
      const [run, tmp] = [join(instance.root, "run/tiny-cloud"), join(instance.root, "tmp")]
      // before: '... mktemp RUN/cidata-: operation not permitted', $ROOT/tmp's refusal unsaid
      expect(early!.stderr).toContain(`save_userdata: cannot copy the NoCloud seed: mktemp ${run}/cidata-: operation not permitted, nor mktemp ${tmp}/tiny-cloud-cidata-: operation not permitted\n`)
      expect(instance.commands().filter((l) => l.startsWith("mount "))).toEqual([])
    })
  })

  it("an immutable state directory ($ROOT/var/lib/cloud) through the four phases: status says bootstrap_complete failed, exit 1, and --wait returns", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    mkdirSync(join(instance.root, "var/lib/cloud"), { recursive: true })
    await withFlag(ctx, instance, "+i", ["var/lib/cloud"], async () => {
      const [, , main, final] = await instance.boot()
      expect(main!.stderr).toContain(`cannot write the run record: write ${instance.root}/var/lib/cloud/status.json: operation not permitted\n`)
      expect(final!.code).toBe(1)
      const said = `failed at final/bootstrap_complete: write ${instance.root}/var/lib/cloud/.bootstrap-complete: operation not permitted\n`
      // before: 'not started', exit 0; and --wait waited for ever (exit 3 with --timeout)
      const status = await instance.run(["status"])
      expect([status.code, status.stdout.split("\n")[0] + "\n"]).toEqual([1, said])
      expect(status.stdout).toContain("\nmain: ")
      const waited = await instance.run(["status", "--wait"])
      expect([waited.code, waited.stdout.split("\n")[0] + "\n"]).toEqual([1, said])
    })
  })

  it("an immutable state directory through the four phases, then `status` as another user (nobody): the record is said unreadable on stderr, not taken for none", async (ctx) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    mkdirSync(join(instance.root, "var/lib/cloud"), { recursive: true })
    await withFlag(ctx, instance, "+i", ["var/lib/cloud"], async () => {
      await instance.boot()
    })
    // the instance's directory open to all, as / is; the run directory stays root's alone (0700), as the phases made it
    chmodSync(instance.dir, 0o755)
    const asNobody = spawnSync(process.execPath, [PROGRAM, "status"], { env: instance.env, uid: 65534, gid: 65534, encoding: "utf8" })
    // before: 'not started' and nothing on stderr, as if no phase had run (man: for another user a line says so)
    expect(asNobody.stdout).toBe("not started\n")
    expect(asNobody.stderr).toBe(`tiny-cloud status: stat ${instance.root}/run/tiny-cloud/status.json: permission denied; the state comes from the marker files alone\n`)
  })
})
