import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { UnusableValue, type FsError } from "../../domain/errors.js"
import { ipv4, ipv6 } from "../../domain/ip.js"
import { lines, quoted, textOf } from "../../domain/text.js"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { Lock } from "../../services/Lock.js"
import { err, info, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { Network } from "../../services/Network.js"
import { RootFs } from "../../services/RootFs.js"
import { PhaseContext } from "../action.js"
import { askUntilFound } from "../ask-until-found.js"
import { INTERFACES, interfacesLockPath } from "../network/helper.js"

/**
 * `ip link set dev IFACE up|down`. One that fails (a NIC gone since the
 * directory was read, no `ip`) is a warning: as with the shell edition, it
 * never keeps the boot phase from writing the interfaces file and enabling sshd.
 */
const link = (iface: string, state: "up" | "down") =>
  Effect.flatMap(Commands, (c) => c.run("ip", ["link", "set", "dev", iface, state], { allowFailure: true })).pipe(
    Effect.map((r) => (r.exitCode === 0 ? undefined : `exited with status ${r.exitCode}`)),
    Effect.catchAll((e) => Effect.succeed(e.reason)),
    Effect.flatMap((problem) => (problem === undefined ? Effect.void : warn(`ip link set dev ${iface} ${state}: ${problem}`)))
  )

/**
 * The interface to configure: `eth*` by ifindex, all set up, the first whose
 * link comes up within TINY_CLOUD_LINK_WAIT_MAX tenths of a second, else the
 * first; the others are set down again. A port of another interface (sysfs
 * `master`: Azure's accelerated-networking VF, which hv_netvsc enslaves to
 * the synthetic NIC of its MAC, a bond's or a bridge's port) is neither
 * chosen nor set down: its master carries its traffic, and a VF set down
 * turns the accelerated path off (hv_netvsc does not bring it up again)
 */
const chooseInterface = Effect.gen(function* () {
  const net = yield* Network
  const { linkWaitMax } = yield* Config
  const all = yield* net.ethernets
  if (all.length === 0) return Option.none<string>()
  yield* Effect.forEach(all, (i) => link(i, "up"), { discard: true })
  const ports = yield* Effect.filter(all, (i) => Effect.map(net.master(i), Option.isSome))
  // where every one is a port, they are all there is to choose from
  const ifaces = ports.length < all.length ? all.filter((i) => !ports.includes(i)) : all
  const firstUp = Effect.findFirst(ifaces, (i) => Effect.map(net.operstate(i), (state) => state === "up"))
  const iface = Option.getOrElse(yield* askUntilFound(firstUp, linkWaitMax + 1, "100 millis"), () => ifaces[0]!)
  yield* Effect.forEach(
    ifaces.filter((i) => i !== iface),
    (i) => link(i, "down"),
    { discard: true }
  )
  return Option.some(iface)
})

const defaultInterfaces = (iface: Option.Option<string>) =>
  "auto lo\niface lo inet loopback\n\n" + Option.match(iface, { onNone: () => "", onSome: (i) => `auto ${i}\niface ${i}\n\tuse dhcp\n\n` })

const interfacesFile = Effect.map(RootFs, (fs) => fs.at(INTERFACES))

/**
 * A write of the image's network files (the interfaces file, resolv.conf): one the file or its directory refuses (made
 * immutable, as operators pin resolv.conf with `chattr +i`; a read-only /etc) fails this action alone, as set_hostname's
 * /etc/hostname does: the boot phase still goes on to enable sshd, which needs neither
 */
const imageFile = <A, R>(write: Effect.Effect<A, FsError, R>) => write.pipe(Effect.mapError((e) => new UnusableValue({ reason: e.message })))

/**
 * The default stanzas for `iface`, where the interfaces file is still missing once the lock vnic-eth-hotplug holds
 * while it assembles the file is held: a NIC's event that assembled it while the interface was chosen (up to
 * TINY_CLOUD_LINK_WAIT_MAX) keeps its stanzas. The lock taken is that of the file's directory, which the helper takes
 * first: no file is made for it, which a crash would leave empty, to be taken for a configuration. A lock that cannot
 * be taken (no flock) is said, and the file written without it, as it always could be.
 */
const defaultInterfacesUnlessWritten = (action: string, iface: Option.Option<string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* RootFs
      const path = yield* interfacesFile
      yield* fs.makeDirectory(path.slice(0, path.lastIndexOf("/")))
      const locked = yield* interfacesLockPath
      yield* (yield* Lock)
        .directory(locked.slice(0, locked.lastIndexOf("/")), info(`${action}: ${INTERFACES} is being assembled (a NIC's hotplug event); waiting for it`))
        .pipe(Effect.catchTag("LockError", (e) => warn(`${action}: ${e.message}; the file is written without the lock`)))
      if (yield* fs.exists(path)) {
        yield* info(`${action}: already set up`)
        return
      }
      yield* fs.writeAtomic(path, defaultInterfaces(iface))
    })
  )

export const setDefaultInterfaces = Effect.gen(function* () {
  const fs = yield* RootFs
  const path = yield* interfacesFile
  if (yield* fs.exists(path)) {
    yield* info("set_default_interfaces: already set up")
    return
  }
  yield* imageFile(defaultInterfacesUnlessWritten("set_default_interfaces", yield* chooseInterface))
})

/**
 * NoCloud's boot phase: meta-data `network-interfaces` (a literal interfaces
 * file) if given, else the default stanzas; when nothing is configured by
 * DHCP, the meta-data's nameservers go to resolv.conf once. Meta-data that
 * cannot be read (no seed) is an error line, and the default stanzas: as
 * with the shell edition, the boot phase goes on to sshd.
 */
export const setNetworkInterfaces = Effect.gen(function* () {
  const fs = yield* RootFs
  const md = yield* Metadata
  const path = yield* interfacesFile
  const unreadable = yield* Effect.either(md.networkInterfaces)
  if (Either.isLeft(unreadable)) {
    yield* err(`set_network_interfaces: ${unreadable.left.message}; the default stanzas are used`)
    if (!(yield* fs.exists(path))) yield* imageFile(defaultInterfacesUnlessWritten("set_network_interfaces", yield* chooseInterface))
    return
  }
  const given = unreadable.right.pipe(Option.filter((s) => s.trim() !== ""))
  // (keep: one that holds it already is left as it is, the operator's, made immutable with it, nothing to refuse)
  if (Option.isSome(given)) yield* imageFile(fs.writeAtomic(path, given.value.endsWith("\n") ? given.value : `${given.value}\n`, { keep: true }))
  else if (!(yield* fs.exists(path))) yield* imageFile(defaultInterfacesUnlessWritten("set_network_interfaces", yield* chooseInterface))
  // the image's file, which may be anything (a directory, a FIFO planted there): one that cannot be read fails this action alone too
  const written = Option.getOrElse(yield* imageFile(fs.readTextIfExists(path)), () => "")
  const usesDhcp = written.split("\n").some((l) => /^\s*iface\s.*\sdhcp\b/.test(l) || /^\s*use\s+dhcp\b/.test(l))
  if (usesDhcp) return
  const listed = Option.match(yield* md.get("meta-data/resolv_conf/nameservers"), { onNone: () => [], onSome: (b) => lines(textOf(b)) })
  const servers: Array<string> = []
  for (const server of listed.map((s) => s.trim()).filter((s) => s !== "")) {
    if (isNameserver(server)) servers.push(server)
    else yield* warn(`set_network_interfaces: ignoring nameserver ${quoted(server, 60)}: not an IP address`)
  }
  if (servers.length > 0) yield* imageFile(fs.addLinesOnce(fs.at("/etc/resolv.conf"), servers.map((s) => `nameserver ${s}`)))
})

/** what resolv.conf takes after `nameserver`: an IPv4 or IPv6 address, the latter with a `%zone` for a link-local one */
const isNameserver = (text: string): boolean => {
  const [address = "", zone, ...rest] = text.split("%")
  if (rest.length > 0) return false
  if (zone !== undefined) return /^[A-Za-z0-9_.-]{1,15}$/.test(zone) && ipv6(address) !== undefined
  return ipv4(address) !== undefined || ipv6(address) !== undefined
}

/**
 * Where the cloud wants it: the chosen interface up and a one-shot DHCP lease
 * on it. `udhcpc -f -q` asks until a server answers, for ever where none does:
 * it is given IMDS_DEADLINE seconds, the time the seed it is for may take. A
 * lease not had is a warning, as a link not set up is: the boot phase goes on
 * to the interfaces file and sshd, and the seed is read once networking is up.
 */
export const setEphemeralNetwork = Effect.gen(function* () {
  const { cloud } = yield* PhaseContext
  if (!(yield* cloud.ephemeralNetwork)) return
  const iface = yield* chooseInterface
  if (Option.isNone(iface)) {
    yield* info("set_ephemeral_network: no ethernet interface found")
    return
  }
  if (yield* Effect.flatMap(Network, (n) => n.hasIpv4Route(iface.value))) return
  const { imdsDeadline } = yield* Config
  const noLease = `set_ephemeral_network: no DHCP lease on ${iface.value}`
  // chooseInterface has brought it up
  const problem = yield* Effect.flatMap(Commands, (c) => c.run("udhcpc", ["-i", iface.value, "-f", "-q"])).pipe(
    Effect.timeoutFail({ duration: Duration.seconds(imdsDeadline), onTimeout: () => `${noLease} within ${imdsDeadline} s (IMDS_DEADLINE)` }),
    Effect.as(undefined),
    Effect.catchAll((e) => Effect.succeed(typeof e === "string" ? e : `${noLease}: ${e.message}`))
  )
  if (problem !== undefined) yield* warn(`${problem}; the boot goes on without it`)
})

export const enableSshd = Effect.gen(function* () {
  const commands = yield* Commands
  yield* commands.run("rc-update", ["add", "sshd", "default"])
  yield* commands.run("rc-update", ["--update"])
})
