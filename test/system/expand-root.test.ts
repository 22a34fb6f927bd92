/** expand_root with the real sfdisk and resize2fs, on image files standing in for /dev/vda and /dev/vdb. */
import { execFileSync, spawnSync } from "node:child_process"
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { PROGRAM, TEST_CODE_CACHE } from "../support/harness.js"
import type { Invocation } from "../support/layers.js"
import { makeTestInstance } from "../support/instance.js"
import { describeSystem, which } from "../support/system.js"
import { scopedDir } from "../support/scratch.js"

/** runs the real tool for the recorded invocation, with the device named by an image file */
const onImage =
  (tools: ReadonlyArray<string>, device: string, image: () => string) =>
  (i: Invocation) => {
    if (!tools.includes(i.command)) return undefined
    const args = i.args.map((a) => (a === device ? image() : a))
    execFileSync(which(i.command)!, args, { input: i.stdin ?? "", stdio: ["pipe", "ignore", "pipe"] })
    return { exitCode: 0 }
  }

const blockCount = (image: string) => Number(/Block count:\s+(\d+)/.exec(execFileSync(which("dumpe2fs")!, ["-h", image], { stdio: ["ignore", "pipe", "ignore"] }).toString())![1])

describeSystem("expand_root with the real tools", { tools: { sfdisk: "fdisk", "mkfs.ext4": "e2fsprogs", resize2fs: "e2fsprogs", dumpe2fs: "e2fsprogs" } }, () => {
  it.scopedLive("grows the root partition to the end of its disk", () =>
    Effect.gen(function* () {
      let disk = ""
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" }, answer: onImage(["sfdisk"], "/dev/vda", () => disk) })
      disk = join(instance.dir, "vda.img")
      execFileSync("truncate", ["-s", "64M", disk])
      execFileSync(which("sfdisk")!, ["-q", disk], { input: "label: dos\nstart=2048, size=16384, type=83\nstart=18432, size=20480, type=83\n" })
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
      expect(r.code).toBe(0)
      const table = JSON.parse(execFileSync(which("sfdisk")!, ["--json", disk]).toString()) as { partitiontable: { partitions: Array<{ start: number; size: number }> } }
      const second = table.partitiontable.partitions[1]!
      expect(second.start).toBe(18432)
      expect(second.start + second.size).toBe((64 * 1024 * 1024) / 512)
      expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
    })
  )

  it.scopedLive("grows a whole-disk ext4 root filesystem to the size of its device", () =>
    Effect.gen(function* () {
      let image = ""
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" }, answer: onImage(["resize2fs"], "/dev/vdb", () => image) })
      image = join(instance.dir, "vdb.img")
      execFileSync("truncate", ["-s", "16M", image])
      execFileSync(which("mkfs.ext4")!, ["-q", "-F", "-b", "4096", image])
      execFileSync("truncate", ["-s", "48M", image])
      instance.write("/proc/mounts", "/dev/vdb / ext4 rw 0 0\n")
      mkdirSync(join(instance.root, "sys/class/block/vdb"), { recursive: true })
      expect(blockCount(image)).toBe(4096)
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
      expect(r.code).toBe(0)
      expect(blockCount(image)).toBe(12288)
      expect(instance.commands()).toEqual(["resize2fs /dev/vdb"])
    })
  )
})

/** an image file as a disk of the kernel's, with its partitions (from partx where the kernel does not read the table itself); detached when the test ends */
const loopDisk = (image: string) =>
  Effect.acquireRelease(
    Effect.sync(() => execFileSync(which("losetup")!, ["--find", "--show", "--partscan", image]).toString().trim()),
    (device) => Effect.sync(() => void spawnSync(which("losetup")!, ["-d", device]))
  ).pipe(
    Effect.tap((device) =>
      Effect.sync(() => {
        if (!existsSync(`/sys/class/block/${device.slice("/dev/".length)}p1`)) spawnSync(which("partx")!, ["-a", device])
      })
    )
  )

const LOOP_TOOLS = { losetup: "mount", partx: "util-linux", unshare: "util-linux", mount: "mount", sfdisk: "fdisk", "mkfs.ext4": "e2fsprogs", resize2fs: "e2fsprogs", dumpe2fs: "e2fsprogs", e2fsck: "e2fsprogs" }

/**
 * An instance whose root is the second partition (ext4, 8 MiB) of a GPT image of 32 MiB on a loop device, the
 * image grown to 64 MiB as a cloud's volume is larger than its snapshot: its ROOT shows the partition as
 * /proc/mounts and sysfs do (`options`, the mount's), and `run` runs the built program's boot phase on it with the
 * real tools (through `wrap`, a command line it is appended to); syslog is the host's, so the program's lines go nowhere
 */
const grownLoopInstance = (options: string) =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-loop-", tmpdir())
    const image = join(dir, "disk.img")
    execFileSync("truncate", ["-s", "32M", image])
    execFileSync(which("sfdisk")!, ["-q", image], { input: "label: gpt\nstart=2048, size=8192\nstart=10240, size=16384\n" })
    execFileSync(which("mkfs.ext4")!, ["-q", "-b", "4096", "-E", `offset=${10240 * 512}`, image, "8M"])
    execFileSync("truncate", ["-s", "64M", image])
    const disk = (yield* loopDisk(image)).slice("/dev/".length)
    const partition = `${disk}p2`
    const root = join(dir, "root")
    mkdirSync(join(root, "proc"), { recursive: true })
    writeFileSync(join(root, "proc/mounts"), `/dev/${partition} / ext4 ${options} 0 0\n`)
    mkdirSync(join(root, `sys/devices/virtual/block/${disk}/${partition}`), { recursive: true })
    writeFileSync(join(root, `sys/devices/virtual/block/${disk}/${partition}/partition`), readFileSync(`/sys/class/block/${partition}/partition`))
    mkdirSync(join(root, "sys/class/block"), { recursive: true })
    symlinkSync(`../../devices/virtual/block/${disk}/${partition}`, join(root, `sys/class/block/${partition}`))
    const bin = join(dir, "bin")
    mkdirSync(bin)
    writeFileSync(join(bin, "logger"), "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 })
    const env = { ROOT: root, CLOUD: "aws", INIT_ACTIONS_BOOT: "expand_root", PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
    const run = (wrap: ReadonlyArray<string> = []) => {
      const [command, ...args] = [...wrap, process.execPath, PROGRAM, "boot"]
      return spawnSync(command!, args, { env, encoding: "utf8" })
    }
    const table = () => JSON.parse(execFileSync(which("sfdisk")!, ["--json", image]).toString()) as { partitiontable: { lastlba: number; partitions: Array<{ start: number; size: number }> } }
    return { dir, disk, partition, run, table }
  })

describeSystem("expand_root on a loop device", { root: true, tools: LOOP_TOOLS }, () => {
  it.scopedLive("a root mounted read-only (in a mount namespace of its own): the partition grows, the filesystem is left as it was, and the failure is named by resize2fs's own error, not its version", () =>
    Effect.gen(function* () {
      const instance = yield* grownLoopInstance("ro,relatime")
      const mnt = join(instance.dir, "mnt")
      mkdirSync(mnt)
      const r = instance.run([which("unshare")!, "-m", "sh", "-c", 'mount -o ro "$1" "$2" && shift 2 && exec "$@"', "sh", `/dev/${instance.partition}`, mnt])
      // without CAP_SYS_RESOURCE the kernel refuses any on-line resize (EPERM), with it a read-only one (EROFS): either is resize2fs's own line
      expect(r.stderr).toMatch(/^\n {3}\+\+ expand_root: starting\nexpand_root: resize2fs: exited with status 1: resize2fs: \S[^\n]*\n {3}\+\+ expand_root: failed\n$/)
      expect(r.status).toBe(1)
      const table = instance.table().partitiontable
      expect(table.partitions[1]!.start).toBe(10240)
      expect(table.partitions[1]!.start + table.partitions[1]!.size - 1).toBe(table.lastlba)
      expect(table.lastlba).toBeGreaterThan((60 * 1024 * 1024) / 512)
      expect(blockCount(`/dev/${instance.partition}`)).toBe(2048)
      expect(spawnSync(which("e2fsck")!, ["-fn", `/dev/${instance.partition}`]).status).toBe(0)
    })
  )

  it.scopedLive("a rerun after a crash between sfdisk and partx, and a boot after a whole one, converge: done, the partition and its filesystem to the end of the disk (the backup GPT moved there), nothing shrunk", () =>
    Effect.gen(function* () {
      const instance = yield* grownLoopInstance("rw,relatime")
      // the partition open, as a mounted root is: the kernel keeps its partitions through sfdisk's re-read of the table
      yield* Effect.acquireRelease(
        Effect.sync(() => openSync(`/dev/${instance.partition}`, "r")),
        (fd) => Effect.sync(() => closeSync(fd))
      )
      const sizes = () => ({ kernel: Number(readFileSync(`/sys/class/block/${instance.partition}/size`, "utf8")), table: instance.table().partitiontable.partitions[1]!.size, blocks: blockCount(`/dev/${instance.partition}`) })
      // the first run's sfdisk, then the crash: the table grown, the kernel and the filesystem not
      execFileSync(which("sfdisk")!, ["-q", "--no-reread", "-N", "2", `/dev/${instance.disk}`], { input: ", +\n", stdio: ["pipe", "ignore", "ignore"] })
      const crashed = sizes()
      expect(crashed.kernel).toBe(16384)
      expect(crashed.table).toBeGreaterThan(16384)
      const rerun = instance.run()
      expect(rerun.stderr).toBe("\n   ++ expand_root: starting\n   ++ expand_root: done\n")
      expect(rerun.status).toBe(0)
      const grown = sizes()
      const table = instance.table().partitiontable
      expect(grown).toEqual({ kernel: crashed.table, table: crashed.table, blocks: Math.floor((crashed.table * 512) / 4096) })
      expect(10240 + grown.table - 1).toBe(table.lastlba)
      expect(table.lastlba).toBeGreaterThan((60 * 1024 * 1024) / 512)
      // a boot that runs it again (a bootstrap not marked complete)
      const again = instance.run()
      expect(again.stderr).toBe("\n   ++ expand_root: starting\n   ++ expand_root: done\n")
      expect(sizes()).toEqual(grown)
      expect(spawnSync(which("e2fsck")!, ["-fn", `/dev/${instance.partition}`]).status).toBe(0)
    })
  )
})

it.scopedLive("expand_root leaves filesystems other than ext2/3/4 alone", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/vda2 / xfs rw 0 0\n")
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r).toEqual({ code: 0, stdout: "", stderr: "\n   ++ expand_root: starting\nexpand_root: xfs is not supported\n   ++ expand_root: done\n" })
    expect(instance.commands()).toEqual([])
  })
)

it.scopedLive("expand_root grows an ext2 or ext3 root as it grows ext4: resize2fs takes each", () =>
  Effect.gen(function* () {
    for (const fstype of ["ext2", "ext3"]) {
      const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
      instance.write("/proc/mounts", `/dev/vda2 / ${fstype} rw 0 0\n`)
      const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
      expect(r).toEqual({ code: 0, stdout: "", stderr: "\n   ++ expand_root: starting\n   ++ expand_root: done\n" })
      expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
    }
  })
)

it.scopedLive("expand_root follows a root device named by a link (its escaped space read as /proc/mounts writes it) to the partition, and grows it", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    mkdirSync(join(instance.root, "dev/disk/by-label"), { recursive: true })
    symlinkSync("../../vda2", join(instance.root, "dev/disk/by-label/my root"))
    instance.write("/proc/mounts", "/dev/disk/by-label/my\\040root / ext4 rw 0 0\n")
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r.code).toBe(0)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/disk/by-label/my root"])
    // a name sysfs knows is the kernel's, whatever the image's /dev makes of it
    symlinkSync("loop0", join(instance.root, "dev/vda2"))
    instance.write("/proc/mounts", "/dev/vda2 / ext4 rw 0 0\n")
    yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(instance.commands().slice(3)).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
  })
)

it.scopedLive("expand_root: /dev/root (a kernel that mounted the root itself) is the command line's root= device; a root= it cannot find stays /dev/root; a /dev/root link is followed", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/root / ext4 rw 0 0\n")
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r.code).toBe(0)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
    instance.write("/proc/cmdline", "root=PARTUUID=0c0ffee0-02 quiet\n")
    yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(instance.commands().slice(3)).toEqual(["resize2fs /dev/root"])
    // a /dev/root link names the device itself
    mkdirSync(join(instance.root, "dev"), { recursive: true })
    symlinkSync("vda2", join(instance.root, "dev/root"))
    yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(instance.commands().slice(4)).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
  })
)

it.scopedLive("expand_root: /dev/root is the kernel's own root= (a quoted one unquoted), not one after `--`, which is init's", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/root / ext4 rw 0 0\n")
    instance.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-virt root=/dev/vda2 quiet -- root=/dev/vdb single\n")
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
    instance.write("/proc/cmdline", 'BOOT_IMAGE=/boot/vmlinuz-virt root="/dev/vda2" quiet\n')
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands().slice(3)).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
  })
)

it.scopedLive("expand_root: the root is the last mount on / (an initramfs's rootfs comes first), and the last root= of the command line, as the kernel takes it", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "rootfs / rootfs rw 0 0\n/dev/vda2 / ext4 rw 0 0\n")
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
    instance.write("/proc/mounts", "/dev/root / ext4 rw 0 0\n")
    instance.write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-virt root=/dev/vdb1 quiet root=/dev/vda2\n")
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands().slice(3)).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
  })
)

it.scopedLive("expand_root: /dev/root whose root= names no link the image has (PARTUUID= under mdev) is the device the mounted root's number names", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/root / ext4 rw 0 0\n")
    instance.write("/proc/cmdline", "root=PARTUUID=0c0ffee0-02 rootfstype=ext4 quiet\n")
    instance.write("/proc/self/mountinfo", "1 1 0:2 / / rw - rootfs rootfs rw\n22 1 254:2 / / rw,relatime - ext4 /dev/root rw\n23 22 0:5 / /dev rw - devtmpfs devtmpfs rw\n")
    mkdirSync(join(instance.root, "sys/dev/block"), { recursive: true })
    symlinkSync("../../devices/virtual/block/vda/vda2", join(instance.root, "sys/dev/block/254:2"))
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
  })
)

it.scopedLive("expand_root: /dev/root by the mounted root's number is the last name of its sys/dev/block link, whether or not the link's target is in the image; a link to `..` names nothing", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/root / ext4 rw 0 0\n")
    instance.write("/proc/cmdline", "root=PARTUUID=0c0ffee0-02 rootfstype=ext4 quiet\n")
    // optional fields before the `-`
    instance.write("/proc/self/mountinfo", "22 1 259:2 / / rw,relatime shared:1 master:2 - ext4 /dev/root rw\n")
    instance.write("/sys/class/block/nvme0n1p2/partition", "2\n")
    mkdirSync(join(instance.root, "sys/dev/block"), { recursive: true })
    symlinkSync("../../devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/nvme0n1p2", join(instance.root, "sys/dev/block/259:2"))
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/nvme0n1", "partx -u /dev/nvme0n1", "resize2fs /dev/nvme0n1p2"])
    instance.write("/proc/self/mountinfo", "22 1 259:3 / / rw,relatime - ext4 /dev/root rw\n")
    symlinkSync("../../class/block/..", join(instance.root, "sys/dev/block/259:3"))
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands().slice(3)).toEqual(["resize2fs /dev/root"])
  })
)

it.scopedLive("expand_root: a root partition sfdisk cannot take to the end of its disk (a partition after it, a logical one at the end of its extended one) is named in one line, with the room left; one that reaches it is not", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    // the kernel's sizes after partx, in 512-byte sectors: a 64 MiB disk, vda2 of 4 MiB at 5 MiB, a swap partition vda3 right after it
    instance.write("/sys/class/block/vda/size", "131072\n")
    instance.write("/sys/class/block/vda2/start", "10240\n")
    instance.write("/sys/class/block/vda2/size", "8192\n")
    instance.write("/sys/class/block/vda/vda1/start", "2048\n")
    instance.write("/sys/class/block/vda/vda3/start", "18432\n")
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(r).toEqual({ code: 0, stdout: "", stderr: "\n   ++ expand_root: starting\nexpand_root: /dev/vda2 cannot grow to the end of /dev/vda: /dev/vda3 follows it (55 MiB left unused)\n   ++ expand_root: done\n" })
    expect(instance.commands()).toEqual(["sfdisk -q --no-reread -N 2 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda2"])
    // nothing after it, and still short: the end of its extended partition
    rmSync(join(instance.root, "sys/class/block/vda/vda3"), { recursive: true })
    const logical = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(logical.stderr).toContain("\nexpand_root: /dev/vda2 cannot grow to the end of /dev/vda: sfdisk finds no room after it (the end of its extended partition, or of what an MBR table can address) (55 MiB left unused)\n")
    // to the end, but for a GPT's backup (33 sectors) and its alignment: grown as it can be, nothing said
    instance.write("/sys/class/block/vda2/size", `${131072 - 10240 - 33 - 2047}\n`)
    const grown = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(grown.stderr).toBe("\n   ++ expand_root: starting\n   ++ expand_root: done\n")
  })
)

it.scopedLive("expand_root: on an MBR disk past 2 TiB (2^32 sectors), where sfdisk's `+` wraps and would shrink the root under its filesystem, the partition is grown to the table's end, never shrunk, and it is said", () =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    let dump = "label: dos\nunit: sectors\n\n/dev/vda1 : start=2048, size=129024, type=83\n"
    const instance = yield* makeTestInstance({
      noSimulator: true,
      env: { CLOUD: "aws" },
      answer: (i) => {
        if (i.command !== "sfdisk") return undefined
        if (i.args[0] === "-d") return { exitCode: 0, stdout: new TextEncoder().encode(dump) }
        lines.push(i.stdin ?? "")
        return undefined
      }
    })
    // a 64 MiB image's root, vda1 to its end, on a volume of 2 TiB + 16 MiB: sfdisk 2.38's `+` made it 15 MiB
    instance.write("/proc/mounts", "/dev/vda1 / ext4 rw 0 0\n")
    instance.write("/sys/class/block/vda1/partition", "1\n")
    instance.write("/sys/class/block/vda1/start", "2048\n")
    instance.write("/sys/class/block/vda1/size", "129024\n")
    instance.write("/sys/class/block/vda/size", `${2 ** 32 + 32768}\n`)
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect([r.code, r.stderr]).toEqual([0, "\n   ++ expand_root: starting\nexpand_root: /dev/vda is larger than its MBR partition table can address (2^32 sectors): /dev/vda1 is grown to the table's end, not the disk's\n   ++ expand_root: done\n"])
    expect(instance.commands()).toEqual(["sfdisk -d /dev/vda", "sfdisk -q --no-reread -N 1 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda1"])
    expect(lines).toEqual([`, ${2 ** 32 - 2048}\n`])
    // run again, the partition at the table's end: nothing for sfdisk to do
    instance.write("/sys/class/block/vda1/size", `${2 ** 32 - 2048}\n`)
    const again = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect(again.stderr).toContain("\nexpand_root: /dev/vda is larger than its MBR partition table can address (2^32 sectors): /dev/vda1 is not grown past the table's end\n   ++ expand_root: done\n")
    expect(instance.commands().slice(4)).toEqual(["sfdisk -d /dev/vda", "resize2fs /dev/vda1"])
    // a GPT disk of that size is grown with `+` as any other
    dump = "label: gpt\nunit: sectors\n\n/dev/vda1 : start=2048, size=129024\n"
    instance.write("/sys/class/block/vda1/size", "129024\n")
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands().slice(6)).toEqual(["sfdisk -d /dev/vda", "sfdisk -q --no-reread -N 1 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda1"])
    expect(lines.slice(1)).toEqual([", +\n"])
  })
)

it.scopedLive("expand_root: on an MBR disk past 2 TiB, a root partition with another after it, or a logical one in its extended one, is grown with `+` into its own room (the table's end would overlap the next: sfdisk refuses it), and the boot goes on", () =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    // sfdisk 2.38 on such a disk: `, 4294965248` for vda1 fails ("Failed to resize partition #1"), `, +` leaves it as it is
    let dump = "label: dos\nunit: sectors\n\n/dev/vda1 : start=        2048, size=      129024, type=83\n/dev/vda2 : start=      131072, size=       20480, type=82\n"
    const instance = yield* makeTestInstance({
      noSimulator: true,
      env: { CLOUD: "aws" },
      answer: (i) => {
        if (i.command !== "sfdisk") return undefined
        if (i.args[0] === "-d") return { exitCode: 0, stdout: new TextEncoder().encode(dump) }
        lines.push(i.stdin ?? "")
        return i.stdin === ", +\n" ? undefined : { exitCode: 1, stderr: new TextEncoder().encode("Failed to resize partition.\n") }
      }
    })
    instance.write("/proc/mounts", "/dev/vda1 / ext4 rw 0 0\n")
    instance.write("/sys/class/block/vda1/partition", "1\n")
    instance.write("/sys/class/block/vda1/start", "2048\n")
    instance.write("/sys/class/block/vda1/size", "129024\n")
    instance.write("/sys/class/block/vda/vda2/start", "131072\n")
    instance.write("/sys/class/block/vda/size", `${2 ** 32 + 32768}\n`)
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root enable_sshd" })
    expect([r.code, r.stderr]).toEqual([0, expect.stringContaining("\nexpand_root: /dev/vda1 cannot grow to the end of /dev/vda: /dev/vda2 follows it (")])
    expect(instance.commands()).toEqual(["sfdisk -d /dev/vda", "sfdisk -q --no-reread -N 1 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda1", "rc-update add sshd default", "rc-update --update"])
    // a logical root (vda5) at the end of its extended partition (vda2), nothing after it
    dump = "label: dos\nunit: sectors\n\n/dev/vda1 : start=        2048, size=       20480, type=83\n/dev/vda2 : start=       22528, size=      239616, type=5\n/dev/vda5 : start=       24576, size=      237568, type=83\n"
    instance.write("/proc/mounts", "/dev/vda5 / ext4 rw 0 0\n")
    instance.write("/sys/class/block/vda5/partition", "5\n")
    instance.write("/sys/class/block/vda5/start", "24576\n")
    instance.write("/sys/class/block/vda5/size", "237568\n")
    rmSync(join(instance.root, "sys/class/block/vda/vda2"), { recursive: true })
    const logical = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect([logical.code, logical.stderr]).toEqual([0, expect.stringContaining("\nexpand_root: /dev/vda5 cannot grow to the end of /dev/vda: sfdisk finds no room after it")])
    expect(instance.commands().slice(6)).toEqual(["sfdisk -d /dev/vda", "sfdisk -q --no-reread -N 5 /dev/vda", "partx -u /dev/vda", "resize2fs /dev/vda5"])
    expect(lines).toEqual([", +\n", ", +\n"])
  })
)

it.scopedLive("expand_root: a root on a device-mapper volume (LVM: a /dev/mapper node as lvm makes it under mdev, or a link to dm-0) is said to be one, not a partition: only its filesystem is grown", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    instance.write("/proc/mounts", "/dev/mapper/vg0-root / ext4 rw,relatime 0 0\n")
    instance.write("/sys/class/block/dm-0/dm/name", "vg0-root\n")
    const line = "\nexpand_root: /dev/mapper/vg0-root is a device-mapper volume, not a partition: neither it nor its disk is grown, only its filesystem to the volume's size\n   ++ expand_root: done\n"
    const node = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect([node.code, node.stderr]).toEqual([0, `\n   ++ expand_root: starting${line}`])
    mkdirSync(join(instance.root, "dev/mapper"), { recursive: true })
    symlinkSync("../dm-0", join(instance.root, "dev/mapper/vg0-root"))
    const linked = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })
    expect([linked.code, linked.stderr]).toEqual([0, `\n   ++ expand_root: starting${line}`])
    expect(instance.commands()).toEqual(["resize2fs /dev/mapper/vg0-root", "resize2fs /dev/mapper/vg0-root"])
    // a whole disk (no partition table) is no volume: nothing said
    instance.write("/proc/mounts", "/dev/vdb / ext4 rw 0 0\n")
    mkdirSync(join(instance.root, "sys/class/block/vdb"), { recursive: true })
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).stderr).toBe("\n   ++ expand_root: starting\n   ++ expand_root: done\n")
  })
)

it.scopedLive("expand_root: without sysfs's link to the disk, nvme0n1p2's disk is nvme0n1 and mmcblk0p2's mmcblk0 (the p comes off, the disk's own digit stays)", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "aws" } })
    for (const [partition, disk] of [["nvme0n1p2", "nvme0n1"], ["mmcblk0p2", "mmcblk0"], ["sda10", "sda"]] as const) {
      instance.write(`/sys/class/block/${partition}/partition`, `${partition.replace(/^.*\D/, "")}\n`)
      instance.write("/proc/mounts", `/dev/${partition} / ext4 rw 0 0\n`)
      const before = instance.commands().length
      expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
      const number = partition.replace(/^.*\D/, "")
      expect(instance.commands().slice(before)).toEqual([`sfdisk -q --no-reread -N ${number} /dev/${disk}`, `partx -u /dev/${disk}`, `resize2fs /dev/${partition}`])
    }
  })
)

it.scopedLive("expand_root in a container (container= in its init's environment, as LXC and Incus set it) grows nothing, whatever /proc/mounts shows: the root filesystem and its disk are the host's, and the boot goes on to sshd", () =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, env: { CLOUD: "incus" } })
    // an Incus container on a directory pool: the host's partition, which sysfs shows, and no node of it in the container's /dev
    instance.write("/proc/mounts", "/dev/sda2 / ext4 rw,relatime,idmapped 0 0\n")
    instance.write("/sys/class/block/sda2/partition", "2\n")
    instance.write("/proc/1/environ", "container=lxc\0PATH=/usr/sbin:/usr/bin:/sbin:/bin\0")
    const r = yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root enable_sshd" })
    expect(r.code).toBe(0)
    expect(r.stderr).toContain("\n   ++ expand_root: starting\nexpand_root: in a container (lxc): the root filesystem is the host's to grow\n   ++ expand_root: done\n")
    expect(instance.commands()).toEqual(["rc-update add sshd default", "rc-update --update"])
    // no container= (a VM's or a machine's init): grown as before
    instance.write("/proc/1/environ", "HOME=/\0TERM=linux\0")
    expect((yield* instance.run(["boot"], { INIT_ACTIONS_BOOT: "expand_root" })).code).toBe(0)
    expect(instance.commands().slice(2)).toEqual(["sfdisk -q --no-reread -N 2 /dev/sda", "partx -u /dev/sda", "resize2fs /dev/sda2"])
  })
)
