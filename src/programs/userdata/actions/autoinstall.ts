/** `autoinstall: true`: the running system installed to the largest empty disk. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { printable, textOf } from "../../../domain/text.js"
import { Commands } from "../../../services/Commands.js"
import { info, warn } from "../../../services/Log.js"
import { containerKind, RootFs } from "../../../services/RootFs.js"
import { loadUserConfig } from "../load.js"
import { system } from "./common.js"

const NOT_DISKS = /^(loop|ram|zram|sr|fd|dm-|md|nbd|mtdblock)/

/** whole disks with no partitions, not read-only, not mounted, largest first */
const emptyDisks = Effect.gen(function* () {
  const fs = yield* RootFs
  const block = fs.at("/sys/class/block")
  const mounts = Option.getOrElse(yield* fs.readTextIfExists(fs.at("/proc/mounts")), () => "")
  const mounted = new Set(mounts.split("\n").map((l) => l.split(/\s+/)[0] ?? ""))
  const found: Array<{ name: string; size: number }> = []
  for (const name of yield* fs.readDirectory(block)) {
    const dir = `${block}/${name}`
    if (NOT_DISKS.test(name) || (yield* fs.exists(`${dir}/partition`)) || mounted.has(`/dev/${name}`)) continue
    const read = (file: string) => fs.readTextIfExists(`${dir}/${file}`).pipe(Effect.map(Option.getOrElse(() => "")))
    const size = Number((yield* read("size")).trim())
    if (!Number.isFinite(size) || size <= 0 || (yield* read("ro")).trim() === "1") continue
    const entries = yield* fs.readDirectory(dir)
    const partitioned = yield* Effect.reduce(entries, false, (seen, e) => (seen ? Effect.succeed(true) : fs.exists(`${dir}/${e}/partition`)))
    if (partitioned || (yield* fs.readDirectory(`${dir}/holders`)).length > 0) continue
    found.push({ name, size })
  }
  return found.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1))
})

interface Found {
  /** the signature's type */
  readonly holds?: string
  /** why blkid could not tell */
  readonly failed?: string
}

/**
 * What a disk holds by blkid's answer for it alone: a signature (its TYPE, or PTTYPE: a partition table sysfs has
 * not shown yet), nothing (a blank disk: busybox's answers nothing, util-linux's nothing with status 2), or a
 * failure (not run, another status): sysfs shows no unpartitioned ext4 volume, swap or cidata seed, and setup-disk
 * with ERASE_DISKS would erase it. (busybox's recognises no LVM physical volume; util-linux's does)
 */
const signatureOf = (dev: string) =>
  Effect.flatMap(Commands, (c) => c.run("blkid", [dev], { allowFailure: true, maxOutputBytes: 65536 })).pipe(
    Effect.map((r): Found => {
      const said = textOf(r.stdout).trim()
      if (r.exitCode !== 0 && r.exitCode !== 2) return { failed: `blkid ${dev} exited with status ${r.exitCode}` }
      if (said === "") return {}
      const type = /\bTYPE="([^"]*)"/.exec(said)?.[1] ?? /\bPTTYPE="([^"]*)"/.exec(said)?.[1]
      return { holds: type === undefined || type === "" ? "a signature" : printable(type, 32) }
    }),
    Effect.catchTag("CommandError", (e) => Effect.succeed<Found>({ failed: `blkid ${dev}: ${printable(e.reason)}` }))
  )

/** `autoinstall: true`: the running system to the largest empty disk, then reboot */
export const userdataAutoinstall = Effect.gen(function* () {
  if (!(yield* loadUserConfig("userdata_autoinstall")).autoinstall) return
  // a container's sysfs shows the host's block devices, and its /proc/mounts not what the host mounts
  const container = yield* containerKind
  if (container !== undefined) {
    yield* warn(`userdata_autoinstall: in a container (${printable(container)}): its disks are the host's; not installed`)
    return
  }
  // largest first, the first blkid finds blank; one blkid cannot tell about stops the install (never erase on a guess)
  const passed: Array<string> = []
  let dev: string | undefined
  for (const disk of yield* emptyDisks) {
    const candidate = `/dev/${disk.name}`
    const found = yield* signatureOf(candidate)
    if (found.failed !== undefined) {
      yield* warn(`userdata_autoinstall: ${found.failed}: cannot tell whether ${candidate} holds data; not installed`)
      return
    }
    if (found.holds === undefined) {
      dev = candidate
      break
    }
    passed.push(`${candidate} holds ${found.holds}`)
  }
  if (dev === undefined) {
    yield* warn(`userdata_autoinstall: no empty disk found${passed.length > 0 ? ` (${passed.join(", ")})` : ""}; not installed`)
    return
  }
  if (passed.length > 0) yield* info(`userdata_autoinstall: passed over, not empty: ${passed.join(", ")}`)
  yield* info(`userdata_autoinstall: installing to ${dev}`)
  yield* system("lbu", ["include", "/root/.ssh", "/home"], "lbu include")
  yield* system("setup-disk", ["-m", "sys", dev], "setup-disk", { env: { ERASE_DISKS: dev } })
  yield* system("reboot", [], "reboot")
})
