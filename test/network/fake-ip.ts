/**
 * A stand-in for iproute2's `ip` over a model of one machine's addresses,
 * route tables and policy rules: it answers the invocations imds-net-sync
 * makes as the real tool prints them, and acts out the changes, so a run
 * after a run sees what the first did. For the in-process tests; the
 * system tests run the real `ip` in a network namespace.
 */
import type { CommandResult } from "../../src/services/Commands.js"
import type { Invocation } from "../support/layers.js"

interface Address {
  readonly family: 4 | 6
  readonly cidr: string
  readonly scope: string
}

interface RuleEntry {
  readonly family: 4 | 6
  readonly pref: number
  readonly from: string
  readonly to: string | undefined
  readonly table: string
}

export interface FakeIp {
  readonly answer: (i: Invocation) => Partial<CommandResult> | undefined
  readonly addresses: (iface: string) => ReadonlyArray<string>
  readonly routes: (family: 4 | 6, table: number) => ReadonlyArray<string>
  readonly rules: (family: 4 | 6) => ReadonlyArray<string>
  /** the `ip` invocations, as command lines */
  readonly calls: () => ReadonlyArray<string>
}

const text = (s: string): Partial<CommandResult> => ({ stdout: new TextEncoder().encode(s) })
const failure = (message: string): Partial<CommandResult> => ({ exitCode: 2, stderr: new TextEncoder().encode(`${message}\n`) })

export const fakeIp = (initial: Readonly<Record<string, ReadonlyArray<string>>>, ipv6Router?: string): FakeIp => {
  const addresses = new Map<string, Array<Address>>(
    Object.entries(initial).map(([iface, cidrs]) => [
      iface,
      cidrs.map((cidr) => ({ family: cidr.includes(":") ? 6 : 4, cidr, scope: cidr.startsWith("fe80") ? "link" : "global" }) as Address)
    ])
  )
  const routes = new Map<string, Array<string>>()
  const rules: Array<RuleEntry> = []
  const calls: Array<string> = []

  const answer = (i: Invocation): Partial<CommandResult> | undefined => {
    if (i.command !== "ip") return undefined
    calls.push(["ip", ...i.args].join(" "))
    const args = [...i.args]
    const family: 4 | 6 = args[0] === "-6" ? 6 : 4
    if (args[0] === "-4" || args[0] === "-6") args.shift()
    const [object, verb, ...rest] = args
    const named = rest.findIndex((w) => w === "table" || w === "lookup")
    const table = named < 0 ? "" : (rest[named + 1] ?? "")
    if (object === "addr" && verb === "show") {
      const iface = rest[1]!
      if (!addresses.has(iface)) return failure(`Device "${iface}" does not exist.`)
      return text(
        `3: ${iface}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n` +
          addresses
            .get(iface)!
            .map((a) => `    inet${a.family === 6 ? "6" : ""} ${a.cidr} scope ${a.scope} ${iface}\n       valid_lft forever preferred_lft forever\n`)
            .join("")
      )
    }
    if (object === "addr") {
      const [cidr, , iface] = rest
      const list = addresses.get(iface!)!
      const at = list.findIndex((a) => a.cidr === cidr)
      if (verb === "add") {
        // the kernel holds an IPv6 address once, whatever its prefix; an IPv4 address once per prefix
        const held = family === 6 ? list.some((a) => a.cidr.split("/")[0] === cidr!.split("/")[0]) : at >= 0
        if (held) return failure("RTNETLINK answers: File exists")
        list.push({ family, cidr: cidr!, scope: "global" })
      } else {
        if (at < 0) return failure("RTNETLINK answers: Cannot assign requested address")
        list.splice(at, 1)
      }
      return {}
    }
    if (object === "route" && verb === "show" && rest[0] === "dev") {
      return text(family === 6 && ipv6Router !== undefined ? `default via ${ipv6Router} proto ra metric 1024 pref medium\n` : "")
    }
    if (object === "route" && verb === "show") {
      const list = routes.get(`${family}:${table}`)
      if (list === undefined) return family === 4 ? failure("Error: ipv4: FIB table does not exist.\nDump terminated") : text("")
      return text(list.map((r) => `${r}\n`).join(""))
    }
    if (object === "route" && verb === "add") {
      const key = `${family}:${table}`
      routes.set(key, [...(routes.get(key) ?? []), rest.slice(0, rest.indexOf("table")).join(" ")])
      return {}
    }
    if (object === "rule" && verb === "show") {
      return text(
        rules
          .filter((r) => r.family === family && r.table === table)
          .sort((a, b) => a.pref - b.pref)
          .map((r) => `${r.pref}:\tfrom ${r.from}${r.to === undefined ? "" : ` to ${r.to}`} lookup ${r.table}\n`)
          .join("")
      )
    }
    if (object === "rule") {
      const [kind, address] = rest
      const from = kind === "from" ? address! : "all"
      const to = kind === "to" ? address : undefined
      const at = rules.findIndex((r) => r.family === family && r.from === from && r.to === to && r.table === table)
      if (verb === "add") rules.push({ family, pref: Math.min(32766, ...rules.map((r) => r.pref)) - 1, from, to, table })
      else if (at < 0) return failure("RTNETLINK answers: No such file or directory")
      else rules.splice(at, 1)
      return {}
    }
    return failure(`fake ip: unexpected ip ${i.args.join(" ")}`)
  }

  return {
    answer,
    addresses: (iface) => (addresses.get(iface) ?? []).map((a) => a.cidr),
    routes: (family, table) => routes.get(`${family}:${table}`) ?? [],
    rules: (family) => rules.filter((r) => r.family === family).map((r) => `from ${r.from}${r.to === undefined ? "" : ` to ${r.to}`} lookup ${r.table}`).sort(),
    calls: () => [...calls]
  }
}
