/**
 * The image's own files that the phases edit keep the mode and owner its
 * builder gave them (a shell redirection into the file keeps them too): a
 * file kept from others, as an image may keep /etc/chrony/chrony.conf or an
 * interfaces file, is not made readable by all by a first boot.
 */
import { chmodSync, chownSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance, type TestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { bytesOf } from "../../src/domain/text.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const uid = process.getuid?.() ?? 0
// a group of its own where the test may give one (root): the owner is kept, not only the mode
const gid = uid === 0 ? 123 : (process.getgid?.() ?? 0)

/** an image's file with its own mode and group */
const imageFile = (i: TestInstance, path: string, text: string, mode: number) => {
  i.write(path, text)
  chmodSync(join(i.root, path), mode)
  chownSync(join(i.root, path), uid, gid)
}

it.scopedLive("boot and main: mdev.conf, a NoCloud meta-data's interfaces file, /etc/hostname and /etc/hosts", () =>
  Effect.gen(function* () {
    const meta = "local-hostname: n1.example\nnetwork-interfaces: |\n  auto eth0\n  iface eth0 inet dhcp\n"
    const i = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "nocloud", HOTPLUG_MODULES: "vnic_eth_hotplug" } })
    i.write("/var/lib/cloud/seed/nocloud/meta-data", meta)
    i.write("/lib/mdev/vnic-eth-hotplug", "#!/bin/sh\n")
    imageFile(i, "/etc/mdev.conf", "null\troot:root 666\n", 0o640)
    imageFile(i, "/etc/network/interfaces", "auto wlan0\niface wlan0\n  wifi-psk secret\n", 0o600)
    imageFile(i, "/etc/hostname", "localhost\n", 0o640)
    imageFile(i, "/etc/hosts", "127.0.0.1\tlocalhost\n", 0o640)
    expect((yield* i.run(["boot"], { INIT_ACTIONS_BOOT: "install_hotplugs set_network_interfaces" })).code).toBe(0)
    expect((yield* i.run(["main"], { INIT_ACTIONS_MAIN: "set_hostname" })).code).toBe(0)
    expect(i.read("/etc/mdev.conf")).toContain("vnic-eth-hotplug")
    expect(i.read("/etc/network/interfaces")).toBe("auto eth0\niface eth0 inet dhcp\n")
    expect(i.read("/etc/hostname")).toBe("n1\n")
    expect(i.stat("/etc/mdev.conf")).toEqual({ uid, gid, mode: 0o640 })
    expect(i.stat("/etc/network/interfaces")).toEqual({ uid, gid, mode: 0o600 })
    expect(i.stat("/etc/hostname")).toEqual({ uid, gid, mode: 0o640 })
    expect(i.stat("/etc/hosts")).toEqual({ uid, gid, mode: 0o640 })
  })
)

it.scopedLive("cloud-config ntp and timezone: chrony.conf, busybox ntpd's conf.d and /etc/timezone", () =>
  Effect.gen(function* () {
    for (const client of ["chrony", "busybox"]) {
      const ud = `#cloud-config\nntp:\n  enabled: true\n  ntp_client: ${client}\n  servers: [10.0.0.1]\ntimezone: UTC\n`
      const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "h1", sshKeys: [KEY], userData: bytesOf(ud) } })
      mkdirSync(join(i.root, "tmp"), { recursive: true })
      i.write("/usr/share/zoneinfo/UTC", "TZif2")
      imageFile(i, "/etc/chrony/chrony.conf", "pool pool.ntp.org iburst\n", 0o640)
      imageFile(i, "/etc/conf.d/ntpd", 'NTPD_OPTS="-N -p pool.ntp.org"\n', 0o600)
      imageFile(i, "/etc/timezone", "Europe/Paris\n", 0o640)
      const phases = yield* i.boot()
      expect(phases.map((p) => p.code)).toEqual([0, 0, 0, 0])
      const file = client === "chrony" ? "/etc/chrony/chrony.conf" : "/etc/conf.d/ntpd"
      expect(i.read(file)).toContain("10.0.0.1")
      expect(i.read("/etc/timezone")).toBe("UTC\n")
      expect(i.stat(file)).toEqual({ uid, gid, mode: client === "chrony" ? 0o640 : 0o600 })
      expect(i.stat("/etc/timezone")).toEqual({ uid, gid, mode: 0o640 })
    }
  })
)
