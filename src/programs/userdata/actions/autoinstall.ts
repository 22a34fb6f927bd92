/** `autoinstall: true`: the running system installed to the largest empty disk. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { printable } from "../../../domain/text.js"
import { info, warn } from "../../../services/Log.js"
import { containerKind, RootFs } from "../../../services/RootFs.js"
import { loadUserConfig } from "../load.js"
import { system } from "./common.js"

const NOT_DISKS = /^(loop|ram|zram|sr|fd|dm-|md|nbd|mtdblock)/

/** whole disks with no partitions, not read-only, not mounted, largest first */
export const emptyDisks = Effect.gen(function* () {
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

/** `autoinstall: true`: the running system to the largest empty disk, then reboot */
export const userdataAutoinstall = Effect.gen(function* () {
  if (!(yield* loadUserConfig("userdata_autoinstall")).autoinstall) return
  // a container's sysfs shows the host's block devices, and its /proc/mounts not what the host mounts
  const container = yield* containerKind
  if (container !== undefined) {
    yield* warn(`userdata_autoinstall: in a container (${printable(container)}): its disks are the host's; not installed`)
    return
  }
  const disk = (yield* emptyDisks)[0]
  if (disk === undefined) {
    yield* warn("userdata_autoinstall: no empty disk found; not installed")
    return
  }
  const dev = `/dev/${disk.name}`
  yield* info(`userdata_autoinstall: installing to ${dev}`)
  yield* system("lbu", ["include", "/root/.ssh", "/home"], "lbu include")
  yield* system("setup-disk", ["-m", "sys", dev], "setup-disk", { env: { ERASE_DISKS: dev } })
  yield* system("reboot", [], "reboot")
})
