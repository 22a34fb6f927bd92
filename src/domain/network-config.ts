/**
 * cloud-init's network configuration (a NoCloud seed's `network-config`,
 * version 1 or 2), read only for what tiny-cloud does not apply: the static
 * addresses it gives interfaces. Without them, the interface it names is
 * configured by DHCP (the default stanzas), which on a network that has no
 * DHCP server (a Proxmox VM with a static address) leaves the instance
 * unreachable: that is said, never done silently.
 */

import { quoted } from "./text.js"

/** a mapping's own value `key`, undefined for anything else */
const at = (o: unknown, key: string): unknown =>
  o !== null && typeof o === "object" && !Array.isArray(o) && Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined

const listOf = (v: unknown): ReadonlyArray<unknown> => (Array.isArray(v) ? v : [])

/** a scalar as text (YAML may give a number), undefined for anything else */
const scalar = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined)

/** the v2 sections whose entries may carry `addresses` */
const V2_SECTIONS = ["ethernets", "bonds", "bridges", "vlans"]

/** the v1 subnet types that give an address without DHCP */
const V1_STATIC = ["static", "static6"]

export interface StaticAddress {
  /** the interface as the configuration names it (v1 `name`, else its `mac_address`; v2 the entry's id) */
  readonly iface: string
  readonly address: string
}

/**
 * The static addresses a network-config document gives, in its order: v1
 * `config[].subnets[]` of type `static`/`static6` (`address`), v2
 * `ethernets`/`bonds`/`bridges`/`vlans` entries' `addresses`; the document
 * may be wrapped in a top-level `network:`, as cloud-init accepts it. None
 * for `config: disabled`, DHCP-only configurations, and anything else.
 */
const staticAddresses = (document: unknown): ReadonlyArray<StaticAddress> => {
  const doc = at(document, "network") !== undefined && at(document, "version") === undefined ? at(document, "network") : document
  const version = scalar(at(doc, "version"))
  if (version === "2") {
    return V2_SECTIONS.flatMap((section) => {
      const entries = at(doc, section)
      if (entries === null || typeof entries !== "object" || Array.isArray(entries)) return []
      return Object.entries(entries as Record<string, unknown>).flatMap(([iface, entry]) =>
        listOf(at(entry, "addresses")).flatMap((a) => {
          const address = scalar(a)
          return address === undefined ? [] : [{ iface, address }]
        })
      )
    })
  }
  return listOf(at(doc, "config")).flatMap((entry) => {
    const iface = scalar(at(entry, "name")) ?? scalar(at(entry, "mac_address")) ?? "?"
    return listOf(at(entry, "subnets")).flatMap((subnet) => {
      const type = scalar(at(subnet, "type"))
      const address = scalar(at(subnet, "address"))
      return type !== undefined && V1_STATIC.includes(type) && address !== undefined ? [{ iface, address }] : []
    })
  })
}

/** how many of the static addresses the line names */
const STATIC_LISTED = 10

/**
 * the line that says a network-config (`what`, not applied, for the reason `instead`) leaves its static addresses
 * unconfigured; undefined where it gives none
 */
export const staticNotConfigured = (what: string, instead: string, document: unknown): string | undefined => {
  const given = staticAddresses(document)
  if (given.length === 0) return undefined
  const named = given.slice(0, STATIC_LISTED).map((a) => `${quoted(a.address, 60)} for ${quoted(a.iface, 60)}`)
  const more = given.length > STATIC_LISTED ? ` and ${given.length - STATIC_LISTED} more` : ""
  return `${what} is not applied (${instead}): its static ${given.length === 1 ? "address" : "addresses"} ${named.join(", ")}${more} ${given.length === 1 ? "is" : "are"} not configured`
}
