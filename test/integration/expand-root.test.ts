import { execFileSync } from "node:child_process"
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { type TestInstance, useInstances } from "../support/harness.js"

// The real sfdisk and resize2fs work on image files standing in for /dev/vda and /dev/vdb.
const sbin = (tool: string) => execFileSync("sh", ["-c", `command -v ${tool} || echo /usr/sbin/${tool}`], { env: { PATH: "/usr/sbin:/sbin:/usr/bin:/bin" } }).toString().trim()

const wrap = (instance: TestInstance, tool: string, device: string, image: string) => {
  const path = join(instance.fake.bin, tool)
  rmSync(path, { force: true })
  writeFileSync(
    path,
    `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> "$FAKE_COMMAND_LOG"\nfor a; do shift; if [ "$a" = "${device}" ]; then set -- "$@" "${image}"; else set -- "$@" "$a"; fi; done\nexec ${sbin(tool)} "$@"\n`
  )
  chmodSync(path, 0o755)
}

const blockCount = (image: string) => Number(/Block count:\s+(\d+)/.exec(execFileSync(sbin("dumpe2fs"), ["-h", image], { stdio: ["ignore", "pipe", "ignore"] }).toString())![1])

const makeInstance = useInstances()

describe("expand_root with the real tools", () => {
  it("grows the root partition to the end of its disk", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    const disk = join(instance.dir, "vda.img")
    execFileSync("truncate", ["-s", "64M", disk])
    execFileSync(sbin("sfdisk"), ["-q", disk], { input: "label: dos\nstart=2048, size=16384, type=83\nstart=18432, size=20480, type=83\n" })
    wrap(instance, "sfdisk", "/dev/vda", disk)
    const r = await instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r.code).toBe(0)
    const table = JSON.parse(execFileSync(sbin("sfdisk"), ["--json", disk]).toString()) as { partitiontable: { partitions: Array<{ start: number; size: number }> } }
    const second = table.partitiontable.partitions[1]!
    expect(second.start).toBe(18432)
    expect(second.start + second.size).toBe((64 * 1024 * 1024) / 512)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
  })

  it("grows a whole-disk ext4 root filesystem to the size of its device", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    const image = join(instance.dir, "vdb.img")
    execFileSync("truncate", ["-s", "16M", image])
    execFileSync(sbin("mkfs.ext4"), ["-q", "-F", "-b", "4096", image])
    execFileSync("truncate", ["-s", "48M", image])
    instance.write("/proc/mounts", "/dev/vdb / ext4 rw 0 0\n")
    mkdirSync(join(instance.root, "sys/class/block/vdb"), { recursive: true })
    wrap(instance, "resize2fs", "/dev/vdb", image)
    expect(blockCount(image)).toBe(4096)
    const r = await instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r.code).toBe(0)
    expect(blockCount(image)).toBe(12288)
    expect(instance.commands()).toEqual(["resize2fs /dev/vdb"])
  })

  it("leaves filesystems other than ext2/3/4 alone", async () => {
    const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/vda2 / xfs rw 0 0\n")
    const r = await instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r.code).toBe(0)
    expect(instance.commands()).toEqual([])
  })
})

