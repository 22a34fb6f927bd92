import { Effect, Option } from "effect"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { info } from "../../services/Log.js"
import { Network } from "../../services/Network.js"
import { RootFs } from "../../services/RootFs.js"
import { PhaseContext, type Action } from "../action.js"

const link = (iface: string, state: "up" | "down") =>
  Effect.flatMap(Commands, (c) => c.run("ip", ["link", "set", "dev", iface, state]))

/**
 * The interface to configure: `eth*` by ifindex, all set up, the first whose
 * link comes up within TINY_CLOUD_LINK_WAIT_MAX tenths of a second, else the
 * first; the others are set down again.
 */
export const chooseInterface = Effect.gen(function* () {
  const net = yield* Network
  const { linkWaitMax } = yield* Config
  const ifaces = yield* net.ethernets
  if (ifaces.length === 0) return Option.none<string>()
  yield* Effect.forEach(ifaces, (i) => link(i, "up"), { discard: true })
  let chosen: string | undefined
  for (let n = 0; n <= linkWaitMax && chosen === undefined; n++) {
    for (const i of ifaces) {
      if ((yield* net.operstate(i)) === "up") {
        chosen = i
        break
      }
    }
    if (chosen === undefined && n < linkWaitMax) yield* Effect.sleep("100 millis")
  }
  const iface = chosen ?? ifaces[0]!
  yield* Effect.forEach(
    ifaces.filter((i) => i !== iface),
    (i) => link(i, "down"),
    { discard: true }
  )
  return Option.some(iface)
})

export const defaultInterfaces = (iface: Option.Option<string>) =>
  "auto lo\niface lo inet loopback\n\n" + Option.match(iface, { onNone: () => "", onSome: (i) => `auto ${i}\niface ${i}\n\tuse dhcp\n\n` })

export const interfacesFile = Effect.map(RootFs, (fs) => fs.at("/etc/network/interfaces"))

export const setDefaultInterfaces: Action = Effect.gen(function* () {
  const fs = yield* RootFs
  const path = yield* interfacesFile
  if (yield* fs.exists(path)) {
    yield* info("set_default_interfaces: already set up")
    return
  }
  yield* fs.writeAtomic(path, defaultInterfaces(yield* chooseInterface))
})

export const setEphemeralNetwork: Action = Effect.gen(function* () {
  const { provider } = yield* PhaseContext
  const wanted = provider?.ephemeralNetwork ? yield* provider.ephemeralNetwork : false
  if (!wanted) return
  const iface = yield* chooseInterface
  if (Option.isNone(iface)) {
    yield* info("set_ephemeral_network: no ethernet interface found")
    return
  }
  if (yield* Effect.flatMap(Network, (n) => n.hasIpv4(iface.value))) return
  // chooseInterface has brought it up
  yield* Effect.flatMap(Commands, (c) => c.run("udhcpc", ["-i", iface.value, "-f", "-q"]))
})

export const enableSshd: Action = Effect.gen(function* () {
  const commands = yield* Commands
  yield* commands.run("rc-update", ["add", "sshd", "default"])
  yield* commands.run("rc-update", ["--update"])
})
