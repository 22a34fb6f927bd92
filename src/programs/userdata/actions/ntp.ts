/** `ntp`: the client installed, its servers and pools configured, the service enabled and started. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { err } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { loadUserConfig } from "../load.js"
import type { NtpClient } from "../../../domain/userdata/model.js"
import { system } from "./common.js"

const NTP: Readonly<Record<NtpClient, { readonly pkg?: string; readonly svc: string }>> = {
  chrony: { pkg: "chrony", svc: "chronyd" },
  busybox: { svc: "ntpd" },
  openntpd: { pkg: "openntpd", svc: "openntpd" }
}

/** cloud-config `ntp.servers` / `ntp.pools` in the client's own configuration */
const ntpServers = (client: NtpClient, servers: ReadonlyArray<string>, pools: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const ok = (name: string) => /^[A-Za-z0-9.:_[\]-]+$/.test(name)
    if (![...servers, ...pools].every(ok)) yield* err("userdata_ntp: a server or pool that is not a host name was skipped")
    const s = servers.filter(ok)
    const p = pools.filter(ok)
    if (s.length + p.length === 0) return
    switch (client) {
      case "chrony":
        return yield* fs.addLinesOnce(fs.at("/etc/chrony/chrony.conf"), [...s.map((x) => `server ${x} iburst`), ...p.map((x) => `pool ${x} iburst`)])
      case "openntpd":
        return yield* fs.addLinesOnce(fs.at("/etc/ntpd.conf"), [...s.map((x) => `server ${x}`), ...p.map((x) => `servers ${x}`)])
      case "busybox": {
        const file = fs.at("/etc/conf.d/ntpd")
        const text = Option.getOrElse(yield* fs.readTextIfExists(file), () => "")
        const line = `NTPD_OPTS="-N ${[...s, ...p].map((x) => `-p ${x}`).join(" ")}"`
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
  yield* ntpServers(ntp.client, ntp.servers, ntp.pools)
  yield* system("rc-update", ["add", svc, "default"], "rc-update add")
  yield* system("rc-service", [svc, "start"], "rc-service start")
})
