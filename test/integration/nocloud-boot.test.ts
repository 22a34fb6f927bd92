import { describe, expect, it } from "vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { actionLines, useInstances } from "../support/harness.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoCloudKey n@example"
const META = `instance-id: iid-local01\nlocal-hostname: seeded.example.org\npublic-keys:\n  - ${KEY}\n`
const SCRIPT = "#!/bin/sh\necho seeded\n"

const makeInstance = useInstances()

const localSeed = async (where: string, files: Record<string, string>, env: Record<string, string> = {}) => {
  const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "nocloud", ...env } })
  for (const [name, content] of Object.entries(files)) instance.write(`${where}/${name}`, content)
  return instance
}

describe("first boot on nocloud", () => {
  it.each(["", "/"])("from an http seed on the command line (URL ending %j), with an ephemeral DHCP lease first", async (slash) => {
    const instance = await makeInstance({ cloud: "nocloud", instance: { hostname: "web.example.org", sshKeys: [KEY], userData: new TextEncoder().encode(SCRIPT) } })
    instance.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=${instance.sim!.seedUrl!.replace(/\/$/, "")}${slash}\n`)
    const results = await instance.boot()
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

  it("takes no DHCP lease when the interface already has an IPv4 route", async () => {
    const instance = await makeInstance({ cloud: "nocloud", instance: { hostname: "h" } })
    instance.write("/proc/cmdline", `ds=nocloud;s=${instance.sim!.seedUrl}\n`)
    instance.write("/proc/net/route", "Iface\tDestination\tGateway\neth0\t00000000\t0100000A\n")
    expect((await instance.run(["boot"])).code).toBe(0)
    expect(instance.commands().filter((c) => c.startsWith("udhcpc"))).toEqual([])
  })

  it("from a seed directory named by seedfrom (file:// URL), with the hostname from the command line", async () => {
    const instance = await localSeed("/seed/here", { "meta-data": META, "user-data": SCRIPT }, {})
    instance.write("/proc/cmdline", "ds=nocloud;h=cmdline-host;s=file:///seed/here/\n")
    const results = await instance.boot()
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/etc/hostname")).toBe("cmdline-host\n")
    expect(instance.read("/var/lib/cloud/nocloud/meta-data")).toBe(META)
    expect(instance.commands().filter((c) => c.startsWith("udhcpc"))).toEqual([])
  })

  it("from the SMBIOS serial", async () => {
    const instance = await localSeed("/seed/serial", { "meta-data": META })
    instance.write("/sys/class/dmi/id/product_serial", "ds=nocloud;s=/seed/serial\n")
    expect((await instance.run(["main"])).code).toBe(0)
    expect(instance.read("/etc/hostname")).toBe("seeded\n")
  })

  it("from a cidata volume: mounted read-only, copied, unmounted", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
    const volume = join(instance.dir, "cidata")
    mkdirSync(volume)
    writeFileSync(join(volume, "meta-data"), META)
    writeFileSync(join(volume, "user-data"), SCRIPT)
    const results = await instance.boot({ FAKE_CIDATA: volume })
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    const mounts = instance.commands().filter((c) => c.startsWith("mount ") || c.startsWith("umount "))
    expect(mounts[0]).toMatch(/^mount -o ro -t vfat LABEL=cidata \S+\/run\/tiny-cloud\/cidata-\S+$/)
    expect(mounts[1]).toBe(`umount ${mounts[0]!.split(" ").pop()}`)
    expect(mounts.length).toBe(2)
    expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
  })

  it("from the image's seed directory", async () => {
    const instance = await localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": META, "user-data": SCRIPT })
    expect((await instance.run(["early"])).code).toBe(0)
    expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
  })

  it("without any seed: 'Unable to load NoCloud datasource' and exit 1", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
    const main = await instance.run(["main"])
    expect(main.code).toBe(1)
    expect(main.stderr).toContain("Unable to load NoCloud datasource")
    expect(instance.read("/etc/hostname")).toBeUndefined()
  })

  it("warns about empty meta-data", async () => {
    const instance = await localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": "", "user-data": SCRIPT })
    const early = await instance.run(["early"])
    expect(early.stderr).toContain("NoCloud 'meta-data' is empty")
  })

  it("writes network-interfaces from meta-data and, without DHCP, the nameservers once", async () => {
    const meta = `local-hostname: n1\nnetwork-interfaces: |\n  auto eth0\n  iface eth0 inet static\n    address 10.0.0.9/24\nresolv_conf:\n  nameservers:\n    - 10.0.0.2\n    - 10.0.0.3\n`
    const instance = await localSeed("/var/lib/cloud/seed/nocloud", { "meta-data": meta })
    instance.write("/etc/resolv.conf", "nameserver 10.0.0.2\n")
    expect((await instance.run(["boot"])).code).toBe(0)
    expect(instance.read("/etc/network/interfaces")).toBe("auto eth0\niface eth0 inet static\n  address 10.0.0.9/24\n")
    expect(instance.read("/etc/resolv.conf")).toBe("nameserver 10.0.0.2\nnameserver 10.0.0.3\n")
  })

  it("is detected from ds=nocloud on the command line and cached in .autodetect", async () => {
    const instance = await makeInstance({ noSimulator: true })
    instance.write("/var/lib/cloud/seed/nocloud/meta-data", META)
    instance.write("/proc/cmdline", "quiet ds=nocloud\n")
    const r = await instance.imds(["@hostname"])
    expect(r.stdout).toBe("seeded.example.org")
    expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
  })
})
