/**
 * `nvme-ebs-links` (BEHAVIOUR.md §8, aws): an EBS volume shows up as
 * `nvmeXnY`; the name it was attached as (`sdf`, `/dev/xvdf`) is in the
 * controller's vendor-specific data. mdev runs this in /dev with
 * `MDEV=nvmeXnY[pZ]`; it links `sdF[Z]` and `xvdF[Z]` to the device there.
 * mdev's rule matches every NVMe namespace, so instance-store volumes come
 * here too: their controllers name them `ephemeralN:sdF` (or `:none`).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { monotonicMillis } from "../../domain/monotonic.js"
import { printable } from "../../domain/text.js"
import { Commands } from "../../services/Commands.js"
import { notice } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"
import { envValue, failed, helper } from "./helper.js"

/** where the EBS device name is in `nvme id-ctrl -b` output: the vendor-specific area */
const VENDOR_OFFSET = 3072
const VENDOR_LENGTH = 32
/** the vendor data may lag the device at attach time */
const VENDOR_DATA_WAIT = Duration.seconds(3)
const RETRY_EVERY = Duration.millis(100)

/**
 * The name in the vendor-specific area: an EBS volume's `sdf` or
 * `/dev/xvdf`, space-padded, gives `{ letters: "f" }`; an instance-store
 * volume's `ephemeral0:sdb` (NUL-padded, anything after the first NUL
 * ignored) gives `{ letters: "b" }`. A name there that has no links, which
 * is final: `ephemeral0:none` (no device name in the launch's block device
 * mapping) and a root volume's `/dev/sda1` (a partition's name, as images
 * registered or imported with that root device have it) give `{ unlinked }`,
 * why. Undefined when it holds no such name (yet).
 */
const ebsName = (identify: Uint8Array): { readonly letters: string } | { readonly unlinked: string } | undefined => {
  const area = Buffer.from(identify.subarray(VENDOR_OFFSET, VENDOR_OFFSET + VENDOR_LENGTH)).toString("latin1")
  const text = area.split("\0")[0]!.trim()
  const m = /^(?:(ephemeral\d+):)?(?:(?:\/dev\/)?((?:sd|xvd)([a-z]{1,2}))(\d*)|(none))$/.exec(text)
  if (m === null || (m[5] !== undefined && m[1] === undefined)) return undefined
  if (m[5] !== undefined) return { unlinked: `instance storage ${m[1]} without a device name` }
  return m[4] === "" ? { letters: m[3]! } : { unlinked: `attached as ${m[2]}${m[4]}, a partition's name` }
}

class NotYet {
  readonly _tag = "NotYet"
}

const readName = (device: string) =>
  Effect.flatMap(Commands, (c) => c.run("nvme", ["id-ctrl", `/dev/${device}`, "-b"], { allowFailure: true, maxOutputBytes: 65536 })).pipe(
    Effect.mapError(() => new NotYet()),
    Effect.flatMap((r) => {
      const name = r.exitCode === 0 ? ebsName(r.stdout) : undefined
      return name === undefined ? Effect.fail(new NotYet()) : Effect.succeed(name)
    })
  )

const add = (dir: string, device: string, base: string, partition: string) =>
  Effect.gen(function* () {
    // VENDOR_DATA_WAIT on the monotonic clock (Schedule.upTo counts on the wall clock, which NTP may step back meanwhile: an hour's retries)
    const ends = (yield* monotonicMillis) + Duration.toMillis(VENDOR_DATA_WAIT)
    // each attempt within the time left: an `nvme id-ctrl` that hangs (a controller not answering its admin commands
    // yet, whose kernel timeout is a minute) is stopped there, as mdev waits for this program before its next event
    const attempt = Effect.flatMap(monotonicMillis, (now) =>
      readName(base).pipe(Effect.timeoutFail({ duration: Duration.millis(Math.max(0, ends - now)), onTimeout: () => new NotYet() }))
    )
    const name = yield* attempt.pipe(
      Effect.retry(Schedule.spaced(RETRY_EVERY).pipe(Schedule.checkEffect(() => Effect.map(monotonicMillis, (now) => now < ends)))),
      Effect.option
    )
    if (name._tag === "None") return yield* failed(`Failed to get EBS volume alias for ${device} after ${Duration.toSeconds(VENDOR_DATA_WAIT)} s`)
    if ("unlinked" in name.value) {
      yield* notice(`${device} is ${name.value.unlinked}: no symlinks`)
      return 0
    }
    const fs = yield* RootFs
    let code = 0
    for (const prefix of ["sd", "xvd"]) {
      const link = `${prefix}${name.value.letters}${partition}`
      // a disk of that name (a Xen instance's xvdb) or any other file is never replaced by a link to another
      if ((yield* fs.exists(`${dir}/${link}`)) && !(yield* fs.isSymlink(`${dir}/${link}`))) {
        code = yield* failed(`${link} exists and is not a symlink: not replaced by one for ${device}`)
        continue
      }
      yield* fs.symlink(device, `${dir}/${link}`)
      yield* notice(`Added ${link} symlink for ${device}`)
    }
    return code
  })

const remove = (dir: string, device: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    for (const name of yield* fs.readDirectory(dir)) {
      if (!/^(sd|xvd)/.test(name)) continue
      const target = yield* fs.readLink(`${dir}/${name}`).pipe(Effect.orElseSucceed(() => ""))
      if (target !== device) continue
      yield* fs.remove(`${dir}/${name}`)
      yield* notice(`Removed ${name} symlink for ${device}`)
    }
    return 0
  })

/**
 * the kernel's other uevent actions: mdev runs a `*` rule's program for each of them too, as `change` when an EBS
 * volume is grown (modify-volume: the kernel tells of the new size so); the links stay as they are, and nothing is
 * said, as the shell edition does nothing for them
 */
const OTHER_UEVENTS: ReadonlySet<string> = new Set(["change", "move", "online", "offline", "bind", "unbind"])

/** `nvme-ebs-links` with the links in `dir` (mdev runs it in /dev: the current directory); ACTION unset (`mdev -s` at boot) is add */
export const nvmeEbsLinks = (dir: string) =>
  helper(
    Effect.gen(function* () {
      const device = yield* envValue("MDEV")
      const action = (yield* envValue("ACTION")) ?? "add"
      const m = device === undefined ? null : /^(nvme\d+n\d+)(?:p(\d+))?$/.exec(device)
      if (device === undefined || m === null) return yield* failed(device === undefined ? "MDEV undefined, aborting" : `MDEV '${printable(device)}' is not an NVMe namespace`)
      if (action === "add") {
        if (!(yield* Effect.flatMap(Commands, (c) => c.has("nvme")))) return yield* failed("nvme cli not installed")
        return yield* add(dir, device, m[1]!, m[2] ?? "")
      }
      // a remove reads no controller: without nvme (removed since the add) it still takes the links away, or they would name the next volume given that device
      if (action === "remove") return yield* remove(dir, device)
      if (OTHER_UEVENTS.has(action)) return 0
      return yield* failed(`Unknown action '${printable(action)}'`)
    })
  )
