/** `ntp`: the client installed, its servers and pools configured, the service enabled and started. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { RootFs } from "../../../services/RootFs.js"
import { loadUserConfig } from "../load.js"
import type { NtpClient, NtpSettings } from "../../../domain/userdata/model.js"
import { system } from "./common.js"

const NTP: Readonly<Record<NtpClient, { readonly pkg?: string; readonly svc: string }>> = {
  chrony: { pkg: "chrony", svc: "chronyd" },
  busybox: { svc: "ntpd" },
  openntpd: { pkg: "openntpd", svc: "openntpd" }
}

/**
 * cloud-config `ntp.servers`, `pools`, `peers` and `allow` in the client's own
 * configuration (the reader has kept only host names and networks, and named
 * what a client cannot do: `allow` outside chrony, `peers` for openntpd).
 */
const ntpConfiguration = (ntp: NtpSettings) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { servers, pools, peers, allow } = ntp
    switch (ntp.client) {
      case "chrony": {
        const lines = [...servers.map((x) => `server ${x} iburst`), ...pools.map((x) => `pool ${x} iburst`), ...peers.map((x) => `peer ${x}`), ...allow.map((x) => `allow ${x}`)]
        if (lines.length > 0) yield* fs.addLinesOnce(fs.at("/etc/chrony/chrony.conf"), lines)
        return
      }
      case "openntpd": {
        const lines = [...servers.map((x) => `server ${x}`), ...pools.map((x) => `servers ${x}`)]
        if (lines.length > 0) yield* fs.addLinesOnce(fs.at("/etc/ntpd.conf"), lines)
        return
      }
      case "busybox": {
        const hosts = [...servers, ...pools, ...peers]
        if (hosts.length === 0) return
        const file = fs.at("/etc/conf.d/ntpd")
        const text = Option.getOrElse(yield* fs.readTextIfExists(file), () => "")
        const line = `NTPD_OPTS="-N ${hosts.map((x) => `-p ${x}`).join(" ")}"`
        const kept = text.split("\n").filter((l) => !/^\s*NTPD_OPTS=/.test(l) && l !== "")
        return yield* fs.writeAtomic(file, [...kept, line].map((l) => `${l}\n`).join(""))
      }
    }
  })

export const userdataNtp = Effect.gen(function* () {
  const { ntp } = yield* loadUserConfig("userdata_ntp")
  if (ntp === undefined) return
  const { pkg, svc } = NTP[ntp.client]
  if (pkg !== undefined) yield* system("apk", ["add", pkg], "apk add")
  yield* ntpConfiguration(ntp)
  yield* system("rc-update", ["add", svc, "default"], "rc-update add")
  yield* system("rc-service", [svc, "start"], "rc-service start")
})
