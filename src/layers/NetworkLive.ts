import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { byIfindex, isEthName } from "../domain/interfaces.js"
import type { NetworkShape } from "../services/Network.js"
import { RootFs } from "../services/RootFs.js"

/** what the kernel accepts as an interface name */
const IFACE = /^[^/\s:]{1,15}$/

/** a link-layer address as the kernel writes it (hex octets, `:` between): it goes into metadata paths, so nothing else is taken */
const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){1,31}$/

export const makeNetwork: Effect.Effect<NetworkShape, never, RootFs> = Effect.gen(function* () {
  const fs = yield* RootFs
  const sysNet = fs.at("/sys/class/net")
  // a name that is not an interface name never reaches the filesystem (`@nic:../../x`)
  const isName = (iface: string) => IFACE.test(iface) && iface !== "." && iface !== ".."
  const read = (path: string) =>
    fs.readTextIfExists(path).pipe(
      Effect.map(Option.map((s) => s.trim())),
      Effect.orElseSucceed(() => Option.none<string>())
    )
  return {
    ethernets: Effect.gen(function* () {
      const names = (yield* fs.readDirectory(sysNet).pipe(Effect.orElseSucceed(() => []))).filter(isEthName)
      return byIfindex(yield* Effect.forEach(names, (name) => Effect.map(read(`${sysNet}/${name}/ifindex`), (i) => ({ name, ifindex: Option.getOrUndefined(i) }))))
    }),
    operstate: (iface) => Effect.map(read(`${sysNet}/${iface}/operstate`), Option.getOrElse(() => "unknown")),
    macAddress: (iface) =>
      isName(iface) ? Effect.map(read(`${sysNet}/${iface}/address`), Option.filter((s) => MAC.test(s))) : Effect.succeed(Option.none()),
    // the link names the master's directory (`../eth0`, `../../../../virtual/net/bond0`): its last part is the name
    master: (iface) =>
      isName(iface)
        ? fs.readLink(`${sysNet}/${iface}/master`).pipe(
            Effect.map((target) => Option.some(target.split("/").pop() ?? "")),
            Effect.orElseSucceed(() => Option.none<string>())
          )
        : Effect.succeed(Option.none()),
    hasIpv4Route: (iface) =>
      Effect.map(read(fs.at("/proc/net/route")), (routes) =>
        Option.match(routes, {
          onNone: () => false,
          onSome: (text) => text.split("\n").slice(1).some((line) => line.split(/\s+/)[0] === iface)
        })
      )
  }
})
