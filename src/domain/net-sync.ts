/**
 * What `imds-net-sync` changes (BEHAVIOUR.md §8): the difference between
 * the secondary addresses and policy rules an interface has and those its
 * metadata lists, as `ip` argument lists. Reading `ip`'s output and the
 * metadata's lists is here too; running `ip` is the program's.
 */
import { ipv4, ipv6 } from "./ip.js"

export type Family = 4 | 6

export interface InterfaceAddress {
  readonly family: Family
  /** canonical */
  readonly address: string
  readonly prefix: number
  readonly scope: string
}

/** the addresses in `ip addr show dev IFACE` output */
export const parseAddresses = (text: string): ReadonlyArray<InterfaceAddress> =>
  text.split("\n").flatMap((line): Array<InterfaceAddress> => {
    const m = /^\s*inet(6?)\s+([0-9a-fA-F.:]+)\/(\d+)\b(.*)$/.exec(line)
    if (!m) return []
    const family: Family = m[1] === "6" ? 6 : 4
    const address = family === 6 ? ipv6(m[2]!) : ipv4(m[2]!)
    const scope = /\bscope\s+(\S+)/.exec(m[4]!)?.[1] ?? "global"
    return address === undefined ? [] : [{ family, address, prefix: Number(m[3]), scope }]
  })

export interface Rule {
  readonly kind: "from" | "to"
  /** canonical */
  readonly address: string
}

/** the `from A lookup T` and `to A lookup T` rules in `ip -4|-6 rule show table T` output; other rules are not ours */
export const parseRules = (text: string, family: Family, table: number): ReadonlyArray<Rule> =>
  text.split("\n").flatMap((line): Array<Rule> => {
    const m = /^\d+:\s+from\s+(\S+)(?:\s+to\s+(\S+))?\s+lookup\s+(\S+)\s*$/.exec(line.trim())
    if (!m || m[3] !== String(table)) return []
    const canonical = family === 6 ? ipv6 : ipv4
    const host = (a: string) => canonical(a.replace(family === 6 ? /\/128$/ : /\/32$/, ""))
    if (m[2] === undefined) {
      const a = m[1] === "all" ? undefined : host(m[1]!)
      return a === undefined ? [] : [{ kind: "from", address: a }]
    }
    const a = m[1] === "all" ? host(m[2]) : undefined
    return a === undefined ? [] : [{ kind: "to", address: a }]
  })

/** the gateway in `ip -6 route show dev IFACE default` output */
export const parseDefaultGateway = (text: string): string | undefined => {
  const m = /^default\s+via\s+(\S+)/m.exec(text)
  return m ? ipv6(m[1]!) : undefined
}

/** whether a line of `ip route show` is this route: its destination, and each of its `via GW`, `dev IFACE`, `src A`... in the line */
const isRoute = (words: ReadonlyArray<string>, route: ReadonlyArray<string>): boolean => {
  if (words[0] !== route[0]) return false
  const pairs = new Set(words.slice(1).map((w, i) => `${w} ${words[i + 2]}`))
  for (let i = 1; i < route.length; i += 2) if (!pairs.has(`${route[i]} ${route[i + 1]}`)) return false
  return true
}

/**
 * Of the routes a table should hold (each an `ip route add` argument list,
 * its destination first, then its options and their values), those to add:
 * all when the table has none; the missing ones when every route it has is
 * one of them (a run killed between its routes, or one whose route failed);
 * none when it holds any other route (another destination, or a default
 * route through another gateway): someone else's table.
 */
export const missingRoutes = (shown: string, routes: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<ReadonlyArray<string>> => {
  const lines = shown.split("\n").map((line) => line.trim().split(/\s+/)).filter((words) => words[0] !== "")
  const present = lines.map((words) => routes.find((r) => isRoute(words, r)))
  if (present.includes(undefined)) return []
  return routes.filter((r) => !present.includes(r))
}

/** the highest routing table Linux has: table numbers are 32 bits */
const TABLE_MAX = 2 ** 32 - 1

/** the policy-routing table of ethN: 10000 + N (imds-net-sync uses it for interfaces other than eth0); none for a number past the tables */
export const routeTableOf = (iface: string): number | undefined => {
  const m = /^eth(0|[1-9]\d{0,9})$/.exec(iface)
  const table = m ? 10000 + Number(m[1]) : undefined
  return table !== undefined && table <= TABLE_MAX ? table : undefined
}

/**
 * An address no interface holds as a global unicast one: IPv4 0/8, 127/8,
 * 224/4 and above (multicast, reserved, broadcast); IPv6 ::, ::1, fe80::/10,
 * fec0::/10 (site-local: the kernel gives it scope site) and ff00::/8. The kernel refuses some and gives others another scope (or
 * none), so a sync would add them again on every run.
 */
const isHostAddress = (canonical: string, family: Family): boolean => {
  if (family === 4) {
    const first = Number(canonical.split(".")[0])
    return first !== 0 && first !== 127 && first < 224
  }
  const head = parseInt(canonical.split(":")[0] || "0", 16)
  return canonical !== "::" && canonical !== "::1" && (head & 0xffc0) !== 0xfe80 && (head & 0xffc0) !== 0xfec0 && (head & 0xff00) !== 0xff00
}

/**
 * The most addresses of one family a NIC's list gives: Azure's 256 IP
 * configurations a NIC are the most a cloud gives, AWS's 50, OCI's 33. A
 * list of a megabyte would be some 70 000 addresses, three `ip` runs each:
 * an `ifup` held for the better part of an hour.
 */
export const ADDRESSES_MAX = 1024

/**
 * A metadata list (one value a line) as canonical addresses, in order, each
 * once, the first ADDRESSES_MAX of them (`leftOut` counts the others); what
 * is not an address is named in `invalid`, an address no interface can hold
 * as a secondary (`isHostAddress`) in `unusable`.
 */
export const addressList = (
  text: string,
  family: Family
): {
  readonly addresses: ReadonlyArray<string>
  readonly invalid: ReadonlyArray<string>
  readonly unusable: ReadonlyArray<string>
  readonly leftOut: number
} => {
  const canonical = family === 6 ? ipv6 : ipv4
  const addresses = new Set<string>()
  const invalid: Array<string> = []
  const unusable: Array<string> = []
  let leftOut = 0
  for (const item of text.split(/\s+/).filter((s) => s !== "")) {
    const a = canonical(item)
    if (a === undefined) invalid.push(item)
    else if (!isHostAddress(a, family)) unusable.push(a)
    else if (addresses.has(a)) continue
    else if (addresses.size < ADDRESSES_MAX) addresses.add(a)
    else leftOut++
  }
  return { addresses: [...addresses], invalid, unusable, leftOut }
}

export interface SyncState {
  readonly iface: string
  readonly family: Family
  /** the table of the interface's rules; none for eth0 */
  readonly table: number | undefined
  /** the addresses the metadata lists as secondaries (IPv4 after the primary; every IPv6) */
  readonly wanted: ReadonlyArray<string>
  /** the secondaries the interface has: `/32` (IPv4, the primary excepted) or `/128` scope global (IPv6) */
  readonly present: ReadonlyArray<string>
  /** the interface's rules in its table */
  readonly rules: ReadonlyArray<Rule>
}

/**
 * The secondaries an interface has, from its addresses: the kernel flags no
 * `/32` as secondary, so the prefix says it. The primary is never one: the
 * metadata's; when the metadata names none, the interface's own first IPv4
 * address (DHCP's, a `/32` on some clouds) unless the metadata lists it as a
 * secondary, so metadata without a primary never takes the instance off its
 * network. When it names one, every other `/32` is a secondary, as §8 says.
 * An IPv6 address the metadata lists that the interface has with another
 * prefix (DHCPv6's, a static /64) is there: the kernel holds an IPv6 address
 * once, whatever its prefix, and refuses to add it again as /128.
 */
export const secondariesOf = (
  addresses: ReadonlyArray<InterfaceAddress>,
  family: Family,
  primary: string | undefined,
  wanted: ReadonlyArray<string> = []
): ReadonlyArray<string> => {
  const own = addresses.find((a) => a.family === 4)?.address
  return addresses
    .filter(
      (a) =>
        a.family === family &&
        (family === 4
          ? a.prefix === 32 && a.address !== primary && (primary !== undefined || a.address !== own || wanted.includes(a.address))
          : (a.prefix === 128 && a.scope === "global") || wanted.includes(a.address))
    )
    .map((a) => a.address)
}

/**
 * The `ip` argument lists that make the interface match: each address no
 * longer listed deleted with its rules, then each listed one added where
 * missing and its rules put right. Nothing when they match.
 */
export const planSync = (s: SyncState): ReadonlyArray<ReadonlyArray<string>> => {
  const v = `-${s.family}`
  const bits = s.family === 4 ? "32" : "128"
  const has = (kind: Rule["kind"], address: string) => s.rules.some((r) => r.kind === kind && r.address === address)
  const rule = (op: "add" | "del", kind: Rule["kind"], address: string) => [v, "rule", op, kind, address, "lookup", String(s.table)]
  const plan: Array<ReadonlyArray<string>> = []
  const ruleFixes = (address: string, want: boolean) =>
    s.table === undefined
      ? []
      : (["from", "to"] as const).filter((kind) => has(kind, address) !== want).map((kind) => rule(want ? "add" : "del", kind, address))
  for (const a of s.present.filter((a) => !s.wanted.includes(a))) plan.push([v, "addr", "del", `${a}/${bits}`, "dev", s.iface], ...ruleFixes(a, false))
  // in the metadata's order, each address then its rules: a run killed anywhere and run again adds the rest in the order
  // one run adds all (the kernel gives each rule the priority below the last, so the order is the rules' priorities)
  for (const a of s.wanted) {
    if (!s.present.includes(a)) plan.push([v, "addr", "add", `${a}/${bits}`, "dev", s.iface])
    plan.push(...ruleFixes(a, true))
  }
  // rules of addresses the interface has not and the metadata lists not
  for (const r of s.rules.filter((r) => !s.wanted.includes(r.address) && !s.present.includes(r.address))) plan.push(rule("del", r.kind, r.address))
  return plan
}
