/**
 * Azure's provisioning media as a real image: genisoimage's iso9660 (with
 * Rock Ridge, and with a UDF bridge, as Azure's is UDF) holding
 * `ovf-env.xml`. Where the kernel has the filesystem and the test is root,
 * the image is really mounted, in a private mount namespace; elsewhere
 * (this kernel may have no iso9660 driver) `blkid` says which types it
 * mounts as and `isoinfo` reads its files out, as the mount would present them.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ovfEnvXml } from "../../src/sim/clouds/azure.js"
import type { Invocation } from "../support/layers.js"
import { makeTestInstance } from "../support/instance.js"
import { describeSystem, which } from "../support/system.js"

const CLOUD_CONFIG = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: from the provisioning media\n"
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMedia media@example"

const kernelHas = (fstype: string) => readFileSync("/proc/filesystems", "utf8").split("\n").some((l) => l.split("\t").pop() === fstype)

/** what `mount -t FSTYPE /dev/sr0 DIR` does with the image standing for /dev/sr0 */
const mountImage = (image: () => string) => (i: Invocation) => {
  if (i.command !== "mount" || !i.args.includes("/dev/sr0")) return undefined
  const fstype = i.args[i.args.indexOf("-t") + 1]!
  const dir = i.args[i.args.length - 1]!
  if (process.getuid?.() === 0 && kernelHas(fstype) && which("unshare") !== undefined) {
    const scratch = mkdtempSync(join(dir, "..", "scratch-"))
    try {
      execFileSync(which("unshare")!, ["-m", "sh", "-c", 'mount -o ro,loop -t "$1" "$2" "$3" && cp -a "$3"/. "$4"/; s=$?; umount "$3"; exit $s', "sh", fstype, image(), scratch, dir])
      return { exitCode: 0 }
    } catch {
      return { exitCode: 32 }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  }
  // a UDF-bridged image mounts as udf or as iso9660; a plain one as iso9660
  const type = execFileSync(which("blkid")!, ["-o", "value", "-s", "TYPE", image()]).toString().trim()
  if (fstype !== type && fstype !== "iso9660") return { exitCode: 32 }
  for (const path of execFileSync(which("isoinfo")!, ["-R", "-f", "-i", image()]).toString().split("\n").filter((p) => p !== "")) {
    writeFileSync(join(dir, path), execFileSync(which("isoinfo")!, ["-R", "-x", path, "-i", image()]))
  }
  return { exitCode: 0 }
}

describeSystem("azure custom data from a real provisioning media image", { tools: { genisoimage: "genisoimage", isoinfo: "genisoimage", blkid: "util-linux" } }, () => {
  for (const { what, flags, fstype } of [
    { what: "iso9660 with Rock Ridge", flags: ["-R"], fstype: "iso9660" },
    { what: "UDF-bridged, as Azure's media is UDF", flags: ["-R", "-udf"], fstype: "udf" }
  ]) {
    it.scopedLive(`${what}: the media's CustomData is the user-data when IMDS has none; keys and hostname from IMDS`, () =>
      Effect.gen(function* () {
        let image = ""
        const instance = yield* makeTestInstance({ cloud: "azure", instance: { hostname: "vm-1", sshKeys: [KEY] }, answer: mountImage(() => image) })
        const source = join(instance.dir, "media")
        mkdirSync(source)
        writeFileSync(join(source, "ovf-env.xml"), ovfEnvXml({ hostname: "vm-1" }, new TextEncoder().encode(CLOUD_CONFIG)))
        image = join(instance.dir, "media.iso")
        execFileSync(which("genisoimage")!, ["-quiet", ...flags, "-V", "rd_rdfe_stable", "-o", image, source])
        const results = yield* instance.boot()
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        expect(instance.read("/var/lib/cloud/user-data")).toBe(CLOUD_CONFIG)
        expect(instance.read("/etc/motd")).toBe("from the provisioning media")
        expect(instance.read("/etc/hostname")).toBe("vm-1\n")
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
        const mounts = instance.commands().filter((c) => c.startsWith("mount "))
        expect(mounts.at(-1)).toMatch(new RegExp(`^mount -o ro -t ${fstype} /dev/sr0 `))
      })
    )
  }
})
