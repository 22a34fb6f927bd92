/**
 * `imds-net-sync` (BEHAVIOUR.md §8), also `tiny-cloud net-sync` and the
 * ifupdown-ng executor `imds`: an interface's secondary addresses, and for
 * interfaces other than eth0 its route table and policy rules, made to
 * match its metadata. Only the difference is applied; a second run
 * changes nothing; a metadata read that fails changes nothing.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MetadataError } from "../../domain/errors.js"
import { firstHost, ipv4, ipv4Cidr } from "../../domain/ip.js"
import { ADDRESSES_MAX, addressList, missingRoutes, parseAddresses, parseDefaultGateway, parseRules, planSync, routeTableOf, secondariesOf, type Family } from "../../domain/net-sync.js"
import { printable, quoted, textOf } from "../../domain/text.js"
import { Commands } from "../../services/Commands.js"
import { debug, err, info, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { Network } from "../../services/Network.js"
import { envValue, failed, helper } from "./helper.js"
import { askUntilFound } from "../ask-until-found.js"

/** how long to wait for the IPv6 router of the link, and how often to look */
const ROUTER_WAIT_TRIES = 20
const ROUTER_WAIT_EVERY = Duration.millis(500)

/** how many of the metadata's values that are no usable address are named one by one */
const IGNORED_LISTED = 100

/** an `ip` command line in a message: the interface's name in it printable */
const commandLine = (args: ReadonlyArray<string>) => printable(args.join(" "), 4096)

/** an `ip` query: its output; a query that fails is empty (a route table that does not exist yet) */
const show = (args: ReadonlyArray<string>) =>
  Effect.flatMap(Commands, (c) => c.run("ip", args, { allowFailure: true, maxOutputBytes: 1 << 20 })).pipe(
    Effect.tap((r) => debug(`${r.exitCode === 0 ? "OK" : "none"}: ip ${commandLine(args)}`)),
    Effect.map((r) => (r.exitCode === 0 ? textOf(r.stdout) : ""))
  )

/** an `ip` change, logged; true when it worked */
const change = (args: ReadonlyArray<string>) =>
  Effect.flatMap(Commands, (c) => c.run("ip", args, { allowFailure: true })).pipe(
    Effect.map((r) => r.exitCode === 0),
    Effect.orElseSucceed(() => false),
    Effect.tap((ok) => (ok ? info(`OK: ip ${commandLine(args)}`) : err(`FAIL: ip ${commandLine(args)}`)))
  )

/**
 * the NIC's metadata: fetched at once, concurrently (one session token: the
 * metadata client shares it). `unpublished`: this cloud publishes no NICs at
 * all (nocloud, hetzner...), so there is nothing to sync, as for a NIC the
 * metadata does not know
 */
const nicMetadata = (mac: string) =>
  Effect.gen(function* () {
    const md = yield* Metadata
    // a key this cloud does not publish is an empty list
    const optional = (key: string) =>
      md.nic(mac, key).pipe(Effect.catchTag("MetadataUnsupported", () => Effect.succeed(Option.none<Uint8Array>())))
    const text = (o: Option.Option<Uint8Array>) => Option.match(o, { onNone: () => "", onSome: textOf })
    const published = md.nic(mac, "@mac").pipe(
      Effect.map((o) => ({ known: Option.isSome(o), unpublished: undefined })),
      Effect.catchTag("MetadataUnsupported", (e) => Effect.succeed({ known: false, unpublished: e.message }))
    )
    const [nic, ipv4, ipv6, ipv4Net] = yield* Effect.all([published, optional("@ipv4"), optional("@ipv6"), optional("@ipv4-net")], {
      concurrency: "unbounded"
    })
    return { ...nic, ipv4: text(ipv4), ipv6: text(ipv6), ipv4Net: text(ipv4Net).trim().split(/\s+/)[0] ?? "" }
  })

/** the link's IPv6 router, as its default route names it; waits for router advertisements up to 10 s */
const ipv6Router = (iface: string) =>
  askUntilFound(
    Effect.map(show(["-6", "route", "show", "dev", iface, "default"]), (shown) => Option.fromNullable(parseDefaultGateway(shown))),
    ROUTER_WAIT_TRIES,
    ROUTER_WAIT_EVERY
  )

/** the routes of table T it lacks (`missingRoutes`): IPv4 default and subnet routes, IPv6 default route; true when all went well */
const tableRoutes = (iface: string, table: number, family: Family, primary: string | undefined, subnet: string) =>
  Effect.gen(function* () {
    const t = String(table)
    const shown = yield* show([`-${family}`, "route", "show", "table", t])
    const empty = shown.trim() === ""
    if (family === 4) {
      const net = ipv4Cidr(subnet)
      if (net === undefined || primary === undefined) {
        if (!empty) return true
        yield* warn(`${printable(iface)}: no IPv4 subnet or primary address in the metadata; no routes in table ${t}`)
        return true
      }
      const cidr = `${net.network}/${net.bits}`
      // a subnet the primary is not in, /0, or one whose first host is the primary gives no gateway: routes through it would fail or mislead
      const gateway = firstHost(net)
      if (net.bits === 0 || ipv4Cidr(`${primary}/${net.bits}`)?.network !== net.network || gateway === primary) {
        if (!empty) return true
        yield* warn(`${printable(iface)}: IPv4 subnet ${cidr} has no gateway for the primary address ${primary}; no routes in table ${t}`)
        return true
      }
      const routes = missingRoutes(shown, [
        ["default", "via", gateway, "dev", iface],
        [cidr, "dev", iface, "proto", "kernel", "scope", "link", "src", primary]
      ])
      let ok = true
      for (const route of routes) ok = (yield* change(["-4", "route", "add", ...route, "table", t])) && ok
      return ok
    }
    if (!empty) return true
    const router = yield* ipv6Router(iface)
    if (Option.isNone(router)) {
      yield* warn("Unable to get IPv6 gateway RA after 10s")
      return true
    }
    return yield* change(["-6", "route", "add", "default", "via", router.value, "dev", iface, "table", t])
  })

/** the sync itself, for post-up or a run by hand */
const sync = (argument: string | undefined) =>
  helper(
    Effect.gen(function* () {
      const iface = argument ?? (yield* envValue("IFACE"))
      if (iface === undefined) return yield* failed("IFACE not set, aborting")
      const mac = yield* Effect.flatMap(Network, (n) => n.macAddress(iface))
      // the name in every line, as the kernel allows it (an escape character too), printable
      const shown = printable(iface)
      if (Option.isNone(mac)) return yield* failed(`${shown}: no such interface`)
      yield* info(`SYNCING: ${shown}`)
      // a port's addresses are its master's: Azure's accelerated-networking VF has the MAC of the synthetic NIC it serves, and
      // what the metadata lists for that MAC put on the VF (which the master takes every frame from) would be unreachable
      const master = yield* Effect.flatMap(Network, (n) => n.master(iface))
      if (Option.isSome(master)) {
        yield* info(`${shown}: a port of ${printable(master.value)}, which holds its addresses; nothing changed`)
        return 0
      }
      const nic = yield* nicMetadata(mac.value).pipe(Effect.mapError((e: MetadataError) => ({ message: `${shown}: ${e.message}; nothing changed` })))
      if (nic.unpublished !== undefined) {
        // the ifupdown-ng executor runs on every cloud (DEFAULT's `use imds`): one without NIC metadata is not an error on each ifup
        yield* warn(`${shown}: ${nic.unpublished}; nothing changed`)
        return 0
      }
      if (!nic.known) {
        yield* warn(`${shown}: the metadata has no NIC with MAC ${mac.value}; nothing changed`)
        return 0
      }
      const v4 = addressList(nic.ipv4, 4)
      const v6 = addressList(nic.ipv6, 6)
      const ignored = [
        ...[...v4.invalid, ...v6.invalid].map((bad) => `${shown}: ignoring ${quoted(bad, 60)}: not an IP address`),
        ...[...v4.unusable, ...v6.unusable].map((odd) => `${shown}: ignoring ${odd}: not a unicast host address`)
      ]
      // a list of thousands is one run's few lines, not thousands in syslog
      for (const line of ignored.slice(0, IGNORED_LISTED)) yield* warn(line)
      if (ignored.length > IGNORED_LISTED) yield* warn(`${shown}: ${ignored.length - IGNORED_LISTED} more ignored values are not listed`)
      for (const [family, list] of [[4, v4], [6, v6]] as const) {
        if (list.leftOut > 0) yield* warn(`${shown}: ${list.leftOut} IPv${family} addresses past the first ${ADDRESSES_MAX} of the metadata's list are left out`)
      }
      // the metadata's first IPv4 address, usable or not, is the primary; a first line that is no address leaves it unknown
      const primary = ipv4(nic.ipv4.split(/\s+/).find((s) => s !== "") ?? "")
      const wanted4 = v4.addresses.filter((a) => a !== primary)
      // eth0 routes by the main table; another ethN by its own, for the addresses it has rules for
      const table = iface === "eth0" ? undefined : routeTableOf(iface)

      const addresses = parseAddresses(yield* show(["addr", "show", "dev", iface]))
      let ok = true
      for (const [family, wanted] of [
        [4, wanted4],
        [6, v6.addresses]
      ] as const) {
        const rules = table === undefined ? [] : parseRules(yield* show([`-${family}`, "rule", "show", "table", String(table)]), family, table)
        if (table !== undefined && wanted.length > 0) ok = (yield* tableRoutes(iface, table, family, primary, nic.ipv4Net)) && ok
        const plan = planSync({ iface, family, table, wanted, present: secondariesOf(addresses, family, primary, wanted), rules })
        for (const args of plan) ok = (yield* change(args)) && ok
      }
      yield* info(`FINISHED: ${shown}`)
      return ok ? 0 : 1
    })
  )

/**
 * `imds-net-sync [IFACE]`: IFACE from the argument or the environment; under ifupdown-ng (PHASE set) only `post-up` syncs.
 * Another phase does nothing, before anything is said: not even the configuration's problems, which post-up reports
 * (ifupdown-ng runs the executor in every phase of every ifup and ifdown)
 */
export const netSync = (argument: string | undefined) =>
  Effect.flatMap(envValue("PHASE"), (phase) => (phase !== undefined && phase !== "post-up" ? Effect.succeed(0) : sync(argument)))
