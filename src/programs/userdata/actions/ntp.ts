/** `ntp`: the client installed, its servers and pools configured, the service enabled and started (restarted when it runs already and its configuration was given). */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { RootFs } from "../../../services/RootFs.js"
import { loadUserConfig } from "../load.js"
import type { NtpClient, NtpSettings } from "../../../domain/userdata/model.js"
import { apkInstall } from "./apk.js"
import { system } from "./common.js"

const NTP: Readonly<Record<NtpClient, { readonly pkg?: string; readonly svc: string }>> = {
  chrony: { pkg: "chrony", svc: "chronyd" },
  busybox: { svc: "ntpd" },
  openntpd: { pkg: "openntpd", svc: "openntpd" }
}

/**
 * The configuration file with `lines` in it once; when they name time
 * sources, the file's own sources (lines matching `source`) are commented
 * out: cloud-init renders the file with the sources it is given alone.
 * True when there are lines for it.
 */
const withSources = (path: string, lines: ReadonlyArray<string>, source: RegExp, namesSources: boolean) =>
  Effect.gen(function* () {
    if (lines.length === 0) return false
    const fs = yield* RootFs
    const file = fs.at(path)
    const text = Option.getOrElse(yield* fs.readTextIfExists(file), () => "")
    const own = new Set(lines)
    const kept = text
      .split("\n")
      .map((l) => (namesSources && source.test(l) && !own.has(l) ? `#${l}` : l))
      .join("\n")
    if (kept !== text) yield* fs.writeAtomic(file, kept, { keep: true })
    yield* fs.addLinesOnce(file, lines)
    return true
  })

/**
 * cloud-config `ntp.servers`, `pools`, `peers` and `allow` in the client's own
 * configuration, in place of its stock sources (the reader has kept only host
 * names and networks, and named what a client cannot do: `allow` outside
 * chrony, `peers` for openntpd); true when they gave it anything.
 */
const ntpConfiguration = (ntp: NtpSettings) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { servers, pools, peers, allow } = ntp
    const namesSources = servers.length + pools.length > 0
    switch (ntp.client) {
      case "chrony": {
        const path = "/etc/chrony/chrony.conf"
        // the stock initstepslew, which steps a clock far off at boot, goes with the stock sources it names:
        // makestep (cloud-init's, unless the file has its own) steps it from the sources given
        const steps = /^\s*makestep\s/m.test(Option.getOrElse(yield* fs.readTextIfExists(fs.at(path)), () => ""))
        const step = namesSources && !steps ? ["makestep 1.0 3"] : []
        const lines = [...servers.map((x) => `server ${x} iburst`), ...pools.map((x) => `pool ${x} iburst`), ...peers.map((x) => `peer ${x}`), ...allow.map((x) => `allow ${x}`), ...step]
        return yield* withSources(path, lines, /^\s*(server|pool|peer|initstepslew)\s/, namesSources)
      }
      case "openntpd": {
        const lines = [...servers.map((x) => `server ${x}`), ...pools.map((x) => `servers ${x}`)]
        return yield* withSources("/etc/ntpd.conf", lines, /^\s*(server|servers)\s/, namesSources)
      }
      case "busybox": {
        const hosts = [...servers, ...pools, ...peers]
        if (hosts.length === 0) return false
        const file = fs.at("/etc/conf.d/ntpd")
        const text = Option.getOrElse(yield* fs.readTextIfExists(file), () => "")
        const line = `NTPD_OPTS="-N ${hosts.map((x) => `-p ${x}`).join(" ")}"`
        const kept = text.split("\n").filter((l) => !/^\s*NTPD_OPTS=/.test(l) && l !== "")
        yield* fs.writeAtomic(file, [...kept, line].map((l) => `${l}\n`).join(""), { keep: true })
        return true
      }
    }
  })

export const userdataNtp = Effect.gen(function* () {
  const { ntp } = yield* loadUserConfig("userdata_ntp")
  if (ntp === undefined) return
  const { pkg, svc } = NTP[ntp.client]
  if (pkg !== undefined) yield* (ntp.install === "cloud-init" ? apkInstall(pkg) : system("apk", ["add", pkg], "apk add"))
  const configured = yield* ntpConfiguration(ntp)
  yield* system("rc-update", ["add", svc, "default"], "rc-update add")
  // a client that runs already keeps what it read at its start: the image's chronyd starts in the default runlevel beside
  // tiny-cloud-main, so `start` alone leaves it on the stock sources until the next boot. It is restarted to read the ones
  // given, as cloud-init restarts it; one not running is left to `start`
  if (configured) yield* system("rc-service", ["--ifstarted", svc, "restart"], "rc-service restart")
  yield* system("rc-service", [svc, "start"], "rc-service start")
})
