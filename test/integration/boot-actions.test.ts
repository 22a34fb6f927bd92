import { rmSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { useInstances } from "../support/harness.js"

const makeInstance = useInstances()

describe("boot phase actions", () => {
  it("set_default_interfaces picks the first eth* (by ifindex) whose link is up and sets the others down", async () => {
    const instance = await makeInstance({
      cloud: "aws",
      interfaces: [
        { name: "eth0", mac: "02:00:00:00:00:01", up: false },
        { name: "eth1", mac: "02:00:00:00:00:02", up: true },
        { name: "eth2", mac: "02:00:00:00:00:03", up: false }
      ]
    })
    expect((await instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces" })).code).toBe(0)
    expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth1\niface eth1\n\tuse dhcp\n\n")
    expect(instance.commands()).toEqual([
      "ip link set dev eth0 up",
      "ip link set dev eth1 up",
      "ip link set dev eth2 up",
      "ip link set dev eth0 down",
      "ip link set dev eth2 down"
    ])
  })

  it("set_default_interfaces falls back to the first interface and leaves an existing file alone", async () => {
    const instance = await makeInstance({ cloud: "aws", interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", up: false }] })
    await instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces" })
    expect(instance.read("/etc/network/interfaces")).toContain("auto eth0\n")
    instance.write("/etc/network/interfaces", "# mine\n")
    const again = await instance.run(["boot"], { INIT_ACTIONS_BOOT: "set_default_interfaces" })
    expect(again.stderr).toContain("set_default_interfaces: already set up\n")
    expect(instance.read("/etc/network/interfaces")).toBe("# mine\n")
  })

  it("install_hotplugs puts each module's mdev rule before a matching rule or the fallback, once", async () => {
    const instance = await makeInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug nvme_ebs_links" } })
    instance.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
    instance.write("/lib/mdev/nvme-ebs-links", "#!/bin/sh\n")
    instance.write("/etc/mdev.conf", "nvme.*\troot:disk 0660\n# fallback\n(.*)\troot:root 0660\n")
    for (let i = 0; i < 2; i++) expect((await instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })).code).toBe(0)
    expect(instance.read("/etc/mdev.conf")).toBe(
      "-nvme[0-9]+n.*\troot:disk 0660 */lib/mdev/nvme-ebs-links\nnvme.*\troot:disk 0660\neth[0-9]\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n\n# fallback\n(.*)\troot:root 0660\n"
    )
  })

  it("install_hotplugs fails a module whose helper is missing", async () => {
    const instance = await makeInstance({ cloud: "aws", env: { HOTPLUG_MODULES: "vnic_eth_hotplug" } })
    const r = await instance.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs" })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("vnic_eth_hotplug: failed\n")
    expect(r.stderr).toContain("   ++ install_hotplugs: failed\n")
  })
})

describe("main phase actions", () => {
  it("create_default_user leaves an existing user alone", async () => {
    const instance = await makeInstance({ cloud: "aws" })
    instance.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
    const r = await instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })
    expect(r.stderr).toContain("create_default_user: already exists\n")
    expect(instance.commands()).toEqual([])
  })

  it("grants doas once in /etc/doas.conf when there is no doas.d, and nothing for sudo without sudoers.d", async () => {
    const instance = await makeInstance({ cloud: "aws", env: { CLOUD_USER: "ops" } })
    rmSync(join(instance.root, "etc/doas.d"), { recursive: true })
    rmSync(join(instance.root, "etc/sudoers.d"), { recursive: true })
    instance.write("/etc/doas.conf", "permit persist :wheel\n")
    await instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user" })
    expect(instance.read("/etc/doas.conf")).toBe("permit persist :wheel\npermit nopass :wheel\n")
    expect(instance.read("/etc/sudoers.d/wheel")).toBeUndefined()
    expect(instance.commands()[1]).toBe("adduser -h /home/ops -s /bin/sh -G ops -D ops")
  })

  it("set_ssh_keys fails when the user does not exist", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAA k"] } })
    const r = await instance.run(["main"], { INIT_ACTIONS_MAIN: "set_ssh_keys" })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("set_ssh_keys: failed to find user alpine\n")
  })

  it("logs to syslog (local7, tag tiny-cloud/PHASE) and never logs keys or tokens", async () => {
    const key = "ssh-ed25519 AAAAC3NzaSecretLookingKey me@example"
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h.example", sshKeys: [key] } })
    const main = await instance.run(["main"])
    expect(main.code).toBe(0)
    const log = (await import("../../src/sim/fake-system.js")).readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger "))
    expect(log.map((c) => c.line)).toEqual(["logger -p local7.info -t tiny-cloud/main", "logger -p local7.notice -t tiny-cloud/main", "logger -p local7.info -t tiny-cloud/main"])
    expect(log[1]!.stdin).toEqual(["missing_userdata: no user-data found"])
    expect(log.flatMap((c) => c.stdin)).toContain("set_ssh_keys: done")
    const token = instance.sim!.requests.find((r) => r.method === "GET")!.headers["x-aws-ec2-metadata-token"] as string
    for (const text of [main.stderr, ...log.flatMap((c) => c.stdin)]) {
      expect(text).not.toContain("AAAAC3NzaSecretLookingKey")
      expect(text).not.toContain(token)
    }
  })
})
