/** The host's identity from cloud-config: `hostname`/`fqdn` and `timezone`. */
import * as Effect from "effect/Effect"
import { warn } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { applyHostname, withoutRootDot } from "../../actions/hostname.js"
import { loadUserConfig } from "../load.js"
import { apkInstall } from "./apk.js"

/**
 * cloud-config `fqdn` and `hostname` replace the cloud's name, as cloud-init
 * reads them: the host's own name is `hostname` (its first label), else the
 * first label of `fqdn`; the full name is `fqdn`, else `hostname`.
 */
export const userdataHostname = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_hostname")
  const fqdn = config.fqdn === undefined ? undefined : withoutRootDot(config.fqdn)
  const host = config.hostname === undefined ? undefined : withoutRootDot(config.hostname)
  const name = fqdn ?? host
  if (name === undefined || name === "") return
  const short = (fqdn !== undefined && host !== undefined && host !== "" ? host : name).split(".")[0]!
  // the cloud's 127.0.1.1 line goes: ours takes its place
  yield* applyHostname(name, short, "userdata_hostname")
})

/**
 * cloud-config `timezone`, the way Alpine's setup-timezone does it with
 * tzdata: `/etc/localtime` links to `/usr/share/zoneinfo/TZ` (tzdata is
 * added when that file is missing) and `/etc/timezone` names the zone. A
 * name tzdata does not have is no zone: both are left alone.
 */
export const userdataTimezone = Effect.gen(function* () {
  const { timezone } = yield* loadUserConfig("userdata_timezone")
  if (timezone === undefined) return
  const fs = yield* RootFs
  const zone = `/usr/share/zoneinfo/${timezone}`
  // a zone is a file: `Europe` is a directory of zones
  const isZone = Effect.zipWith(fs.exists(fs.at(zone)), fs.isDirectory(fs.at(zone)), (there, directory) => there && !directory)
  if (!(yield* isZone)) yield* apkInstall("tzdata")
  const linked = yield* isZone
  if (!linked) {
    if (yield* fs.isDirectory(fs.at("/usr/share/zoneinfo"))) {
      // tzdata is there and has no such zone: the name is none, which setup-timezone and cloud-init refuse too
      yield* warn("userdata_timezone: no such time zone in /usr/share/zoneinfo; /etc/localtime and /etc/timezone left alone")
      return
    }
    yield* warn("userdata_timezone: no zoneinfo for the time zone after adding tzdata; /etc/localtime left alone")
  }
  // /etc/timezone first, as cloud-init writes it: one that refuses the name (made immutable) fails the action with
  // /etc/localtime still leading where it did, not the host half moved to the new zone. Each that is so already is left
  // as it is (an operator's, made immutable with that zone: nothing to refuse), as set_hostname leaves /etc/hostname
  yield* fs.writeAtomic(fs.at("/etc/timezone"), `${timezone}\n`, { mode: 0o644, keep: true })
  const leads = (yield* fs.isSymlink(fs.at("/etc/localtime"))) && (yield* Effect.orElseSucceed(fs.readLink(fs.at("/etc/localtime")), () => "")) === zone
  if (linked && !leads) yield* fs.symlink(zone, fs.at("/etc/localtime"))
})
