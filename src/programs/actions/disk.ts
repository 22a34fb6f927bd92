import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Commands } from "../../services/Commands.js"
import { info } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"

const rootMount = (mounts: string) => {
  let found: { device: string; fstype: string } | undefined
  for (const line of mounts.split("\n")) {
    const [device, mountpoint, fstype] = line.split(/\s+/)
    if (mountpoint === "/" && device && fstype) found = { device, fstype }
  }
  return found
}

/** the disk holding a partition: sysfs's parent, else the name without the partition suffix */
const diskOf = (partitionName: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const real = yield* fs.realPath(fs.at(`/sys/class/block/${partitionName}`)).pipe(Effect.option)
    const parent = Option.map(real, (p) => p.split("/").slice(-2, -1)[0] ?? "").pipe(Option.filter((p) => p !== "" && p !== "block"))
    if (Option.isSome(parent)) return parent.value
    return partitionName.replace(/^(.*\d)p\d+$/, "$1").replace(/^(.*\D)\d+$/, "$1")
  })

export const expandRoot = Effect.gen(function* () {
  const fs = yield* RootFs
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
  const name = root.device.replace(/^\/dev\//, "")
  const partition = yield* fs.readTextIfExists(fs.at(`/sys/class/block/${name}/partition`))
  if (Option.isSome(partition) && partition.value.trim() !== "") {
    const disk = `/dev/${yield* diskOf(name)}`
    yield* c.run("sfdisk", ["-q", "--no-reread", "-N", partition.value.trim(), disk], { stdin: ", +\n" })
    yield* c.run("partx", ["-u", disk])
  }
  yield* c.run("resize2fs", [root.device])
})
