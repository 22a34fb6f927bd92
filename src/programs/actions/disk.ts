import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { monotonicMillis } from "../../domain/monotonic.js"
import { followsKilledBoot } from "../../domain/run-record.js"
import { printable, textOf } from "../../domain/text.js"
import { Commands } from "../../services/Commands.js"
import { err, info } from "../../services/Log.js"
import { containerKind, RootFs } from "../../services/RootFs.js"
import { readRecord } from "../status-record.js"

/** a field of /proc/mounts: the kernel writes a space, tab, newline or backslash in it as `\040`, `\011`, `\012`, `\134` */
const unescaped = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))

const rootMount = (mounts: string) => {
  let found: { device: string; fstype: string } | undefined
  for (const line of mounts.split("\n")) {
    const [device, mountpoint, fstype] = line.split(/\s+/)
    if (mountpoint === "/" && device && fstype) found = { device: unescaped(device), fstype }
  }
  return found
}

/** the kernel's own parameters, split as it splits them: double quotes hold blanks and are dropped, and what follows `--` is init's */
const kernelParameters = (cmdline: string) => {
  const words = (cmdline.match(/(?:[^\s"]|"[^"]*(?:"|$))+/g) ?? []).map((w) => w.replace(/"/g, ""))
  const end = words.indexOf("--")
  return end < 0 ? words : words.slice(0, end)
}

/** `root=` of the kernel command line (the last one, as the kernel takes it) as a device path: `/dev/NAME`, or `UUID=`, `LABEL=`, `PARTUUID=`, `PARTLABEL=` as their /dev/disk/by-* link */
const cmdlineRoot = (cmdline: string) => {
  const value = kernelParameters(cmdline).filter((w) => w.startsWith("root=")).at(-1)?.slice("root=".length) ?? ""
  if (value.startsWith("/dev/")) return value
  const tag = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.+)$/.exec(value)
  return tag === null ? undefined : `/dev/disk/by-${tag[1]!.toLowerCase()}/${tag[2]!}`
}

/**
 * The root filesystem's device as sysfs names it, from its number (`MAJOR:MINOR`
 * of the last mount on `/` in `$ROOT/proc/self/mountinfo`, the last name of its `$ROOT/sys/dev/block` link):
 * what /dev/root is when the command line's root= names nothing the image has
 */
const mountedRoot = Effect.gen(function* () {
  const fs = yield* RootFs
  const mountinfo = yield* fs.readTextIfExists(fs.at("/proc/self/mountinfo")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
  // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...
  const number = Option.getOrElse(mountinfo, () => "")
    .split("\n")
    .map((line) => line.split(" "))
    .filter((f) => f[4] === "/" && /^\d+:\d+$/.test(f[2] ?? ""))
    .at(-1)?.[2]
  if (number === undefined) return undefined
  // the link's own last name is the kernel's name of the device: its target need not be followed (nor be in the image)
  const target = yield* fs.readLink(fs.at(`/sys/dev/block/${number}`)).pipe(Effect.option)
  const name = Option.getOrUndefined(Option.map(target, (t) => t.replace(/\/+$/, "").split("/").pop() ?? ""))
  return name !== undefined && name !== "" && name !== "." && name !== ".." && (yield* fs.exists(fs.at(`/sys/class/block/${name}`))) ? `/dev/${name}` : undefined
})

/**
 * The root device as its kernel name: a link (`/dev/disk/by-uuid/...`,
 * `/dev/mapper/...`) followed inside ROOT to the node it names; `/dev/root`
 * (what the kernel shows when it mounted the root itself, without an
 * initramfs), unless it is a link, is the device of the command line's `root=`,
 * else the one the mounted root's device number names.
 */
const rootDevice = (device: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    let path = device
    // a /dev/root link (made by some device managers) names the device itself
    if (device === "/dev/root" && !(yield* fs.isSymlink(fs.at(device)))) {
      const cmdline = yield* fs.readTextIfExists(fs.at("/proc/cmdline")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      const named = cmdlineRoot(Option.getOrElse(cmdline, () => ""))
      // a UUID= or LABEL= whose link the image does not make (mdev without persistent names) tells nothing: the mounted root's number does
      if (named === undefined || (named.startsWith("/dev/disk/") && !(yield* fs.isSymlink(fs.at(named))))) return (yield* mountedRoot) ?? device
      path = named
    }
    const at = fs.at(path)
    // a name the kernel knows is taken as it is, whatever /dev holds in the image
    if (!(yield* fs.isSymlink(at)) || (yield* fs.exists(fs.at(`/sys/class/block/${path.replace(/^\/dev\//, "")}`)))) return path
    const host = yield* fs.realPath(at).pipe(Effect.orElse(() => fs.resolve(at)), Effect.option)
    const instance = Option.map(host, (h) => h.slice(fs.root.length)).pipe(Option.filter((p) => p.startsWith("/dev/") && !p.startsWith("/dev/disk/")))
    return Option.getOrElse(instance, () => path)
  })

/** the disk holding a partition: sysfs's parent, else the name without the partition suffix */
const diskOf = (partitionName: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const real = yield* fs.realPath(fs.at(`/sys/class/block/${partitionName}`)).pipe(Effect.option)
    const parent = Option.map(real, (p) => p.split("/").slice(-2, -1)[0] ?? "").pipe(Option.filter((p) => p !== "" && p !== "block"))
    if (Option.isSome(parent)) return parent.value
    // nvme0n1p2, mmcblk0p2, loop0p1: the disk's name ends in a digit, and `p` comes before the partition's; vda2, sda10: the digits alone
    const pNumbered = /^(.*\d)p\d+$/.exec(partitionName)
    return pNumbered !== null ? pNumbered[1]! : partitionName.replace(/^(.*\D)\d+$/, "$1")
  })

/** a number of 512-byte sectors sysfs gives (`start`, `size`), or undefined where it gives none */
const sectors = (path: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const text = Option.getOrElse(yield* fs.readTextIfExists(fs.at(path)).pipe(Effect.orElseSucceed(() => Option.none<string>())), () => "").trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  })

/** how much room sfdisk may leave at the end: the backup GPT's 33 sectors, and a MiB of alignment */
const END_SLACK = 33 + 2048

/**
 * Why the partition, once grown, still ends short of its disk's end (by the kernel's sizes in sysfs, as partx left
 * them), and the room left there: sfdisk's `+` takes the free room after it alone, so a partition after it (a swap
 * partition) keeps it where it is, as does the end of a logical partition's extended one. Undefined when it reaches
 * the end, or where sysfs does not say.
 */
const shortOfTheEnd = (diskName: string, partitionName: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const [start, size, diskSize] = [yield* sectors(`/sys/class/block/${partitionName}/start`), yield* sectors(`/sys/class/block/${partitionName}/size`), yield* sectors(`/sys/class/block/${diskName}/size`)]
    if (start === undefined || size === undefined || diskSize === undefined || start + size + END_SLACK >= diskSize) return undefined
    // the disk's other partitions, as sysfs lists them under it: the first that starts after ours ends its room
    let next: { readonly name: string; readonly start: number } | undefined
    for (const entry of yield* fs.readDirectory(fs.at(`/sys/class/block/${diskName}`)).pipe(Effect.orElseSucceed(() => []))) {
      const other = entry === partitionName ? undefined : yield* sectors(`/sys/class/block/${diskName}/${entry}/start`)
      if (other !== undefined && other >= start + size && (next === undefined || other < next.start)) next = { name: entry, start: other }
    }
    return {
      why: next !== undefined ? `/dev/${printable(next.name)} follows it` : "sfdisk finds no room after it (the end of its extended partition, or of what an MBR table can address)",
      mib: Math.floor(((diskSize - start - size) * 512) / 1048576)
    }
  })

/** an MBR (dos) table addresses 2^32 logical sectors: a partition ends there at most */
const MBR_SECTORS = 2 ** 32

/**
 * sfdisk's line for the root partition: `, +`, the free room after it; but on a disk past what an MBR table
 * addresses, sfdisk's `+` wraps around 2^32 sectors (util-linux 2.38: a 63 MiB root on a 2 TiB + 16 MiB disk became
 * 15 MiB, under its filesystem), so there the size that ends it at the table's end is given, or undefined when that
 * would not grow it. Which table the disk has is asked of sfdisk only then. A root partition with another after it,
 * or inside another (a logical one in its extended one), has its room end before the table's: `+` takes that room
 * without wrapping, where the table's end would overlap the next partition (sfdisk refuses it, and the boot stops).
 */
const growLine = (disk: string, diskName: string, partitionName: string) =>
  Effect.gen(function* () {
    const sectorBytes = (yield* sectors(`/sys/class/block/${diskName}/queue/logical_block_size`)) ?? 512
    const diskSize = yield* sectors(`/sys/class/block/${diskName}/size`)
    if (diskSize === undefined || (diskSize * 512) / sectorBytes <= MBR_SECTORS) return ", +\n"
    const dump = yield* Effect.flatMap(Commands, (c) => c.run("sfdisk", ["-d", disk], { maxOutputBytes: 1048576 }))
    const table = textOf(dump.stdout)
    if (!/^label: dos$/m.test(table)) return ", +\n"
    const [start, size] = [yield* sectors(`/sys/class/block/${partitionName}/start`), yield* sectors(`/sys/class/block/${partitionName}/size`)]
    if (start === undefined || size === undefined) return undefined
    // the table's partitions, in its sectors: `NAME : start=  2048, size=  129024, type=83`
    const own = (start * 512) / sectorBytes
    const others = [...table.matchAll(/ : start=\s*(\d+), size=\s*(\d+)/g)].map((m) => ({ start: Number(m[1]), end: Number(m[1]) + Number(m[2]) }))
    if (others.some((p) => p.start > own || (p.start < own && p.end > own))) return ", +\n"
    const largest = MBR_SECTORS - own
    return largest > (size * 512) / sectorBytes ? `, ${largest}\n` : undefined
  })

const DISK_TOOLS: ReadonlySet<string> = new Set(["sfdisk", "partx", "resize2fs"])

/** a disk tool that runs on one of `devices`, by its command line ($ROOT/proc/PID/cmdline) */
const diskToolRunning = (devices: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const pids = (yield* fs.readDirectory(fs.at("/proc")).pipe(Effect.orElseSucceed(() => []))).filter((e) => /^\d+$/.test(e))
    for (const pid of pids) {
      const cmdline = yield* fs.readTextIfExists(fs.at(`/proc/${pid}/cmdline`)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      const [program = "", ...args] = Option.getOrElse(cmdline, () => "").split("\0")
      const name = program.slice(program.lastIndexOf("/") + 1)
      if (DISK_TOOLS.has(name) && args.some((a) => devices.includes(a))) return Option.some(`${name} (pid ${pid})`)
    }
    return Option.none<string>()
  })

/** how long a disk program a killed run left is waited for: an online resize of a large filesystem can take minutes */
const DISK_TOOL_WAIT = Duration.minutes(5)

/**
 * A run killed while its sfdisk, partx or resize2fs ran (the resident process SIGKILLed: the boot service then
 * runs boot again at once) leaves that program running: it is waited for, not run a second time beside it
 * (two resize2fs of one filesystem: the second fails, busy). Whether the root may be grown now: one still
 * running after DISK_TOOL_WAIT (stuck on a failing disk) is an error line, and the boot goes on to networking and sshd.
 */
const afterDiskTools = (devices: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    // only after a boot run that never ended: every other boot would read every process's command line for nothing
    if (!followsKilledBoot((yield* readRecord).runs)) return true
    const running = yield* diskToolRunning(devices)
    if (Option.isNone(running)) return true
    yield* info(`expand_root: ${printable(running.value)} is running already (left by a run that was killed); waiting for it to end`)
    // on the monotonic clock (Schedule.upTo counts on the wall clock, which NTP may step back meanwhile)
    const ends = (yield* monotonicMillis) + Duration.toMillis(DISK_TOOL_WAIT)
    const still = yield* diskToolRunning(devices).pipe(
      Effect.repeat(
        Schedule.recurWhile<Option.Option<string>>(Option.isSome).pipe(
          Schedule.addDelay(() => "200 millis"),
          Schedule.checkEffect(() => Effect.map(monotonicMillis, (now) => now < ends))
        )
      )
    )
    if (Option.isNone(still)) return true
    yield* err(`expand_root: ${printable(still.value)} is still running after ${Duration.toMinutes(DISK_TOOL_WAIT)} minutes (left by a run that was killed); the root filesystem is not grown by this run`)
    return false
  })

export const expandRoot = Effect.gen(function* () {
  const fs = yield* RootFs
  const kind = yield* containerKind
  if (kind !== undefined) {
    yield* info(`expand_root: in a container (${printable(kind)}): the root filesystem is the host's to grow`)
    return
  }
  const mounts = Option.getOrElse(yield* fs.readTextIfExists(fs.at("/proc/mounts")), () => "")
  const root = rootMount(mounts)
  if (root === undefined) {
    yield* info("expand_root: no root filesystem in /proc/mounts")
    return
  }
  if (!/^ext[234]$/.test(root.fstype)) {
    yield* info(`expand_root: ${root.fstype} is not supported`)
    return
  }
  const c = yield* Commands
  const device = yield* rootDevice(root.device)
  const name = device.replace(/^\/dev\//, "")
  // the filesystem by the name it is mounted by; /dev/root, which mdev does not make, by its device's
  const filesystem = root.device === "/dev/root" ? device : root.device
  const partition = yield* fs.readTextIfExists(fs.at(`/sys/class/block/${name}/partition`))
  const partitioned = Option.isSome(partition) && partition.value.trim() !== ""
  const disk = partitioned ? `/dev/${yield* diskOf(name)}` : undefined
  if (!(yield* afterDiskTools(disk === undefined ? [filesystem] : [disk, filesystem]))) return
  if (Option.isSome(partition) && disk !== undefined) {
    const line = yield* growLine(disk, disk.slice("/dev/".length), name)
    if (line === ", +\n") {
      yield* c.run("sfdisk", ["-q", "--no-reread", "-N", partition.value.trim(), disk], { stdin: line })
      yield* c.run("partx", ["-u", disk])
      const short = yield* shortOfTheEnd(disk.slice("/dev/".length), name)
      if (short !== undefined) yield* info(`expand_root: ${printable(device)} cannot grow to the end of ${printable(disk)}: ${short.why} (${short.mib} MiB left unused)`)
    } else {
      yield* info(`expand_root: ${printable(disk)} is larger than its MBR partition table can address (2^32 sectors): ${printable(device)} ${line === undefined ? "is not grown past the table's end" : "is grown to the table's end, not the disk's"}`)
      if (line !== undefined) {
        yield* c.run("sfdisk", ["-q", "--no-reread", "-N", partition.value.trim(), disk], { stdin: line })
        yield* c.run("partx", ["-u", disk])
      }
    }
  }
  // LVM or LUKS: what holds the volume is not grown here, nor the volume; resize2fs takes the filesystem to the volume's size
  if (!partitioned && (device.startsWith("/dev/mapper/") || /^dm-\d+$/.test(name) || (yield* fs.exists(fs.at(`/sys/class/block/${name}/dm`)))))
    yield* info(`expand_root: ${printable(filesystem)} is a device-mapper volume, not a partition: neither it nor its disk is grown, only its filesystem to the volume's size`)
  yield* c.run("resize2fs", [filesystem])
})
