/**
 * Azure's wireserver, which waits for the instance to say it is ready
 * (BEHAVIOUR.md §5): the goal state, then a Health document saying Ready.
 * Loaded only by the `report_ready` action.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError } from "../domain/errors.js"
import { textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { RootFs } from "../services/RootFs.js"
import { type HttpMetadataClient, makeHttpMetadataClient, retrySchedule } from "./imds-http.js"

/** the address every Azure VM reaches its wireserver at, when DHCP named no other */
export const WIRESERVER = "168.63.129.16"
/**
 * Where the DHCP options of each interface are kept (`$ROOT/run/tiny-cloud/dhcp/IFACE`,
 * `KEY=VALUE` lines as udhcpc hands them to its script): Alpine's udhcpc keeps no
 * lease file, so its post-bound hook writes them (`udhcpc/post-bound/tiny-cloud`).
 */
const DHCP_OPTIONS_DIR = "/run/tiny-cloud/dhcp"

const AGENT_HEADERS = { "x-ms-agent-name": "tiny-cloud", "x-ms-version": "2012-11-30" }

/** DHCP option 245 as udhcpc writes an option it has no name for: the address as 8 hex digits (`A83F8110`) */
const addressOfOption245 = (hex: string): Option.Option<string> => {
  const m = /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim())
  return m === null ? Option.none() : Option.some(m.slice(1, 5).map((h) => parseInt(h, 16)).join("."))
}

/**
 * Where dhcpcd (which ifupdown-ng's `use dhcp` runs where it is installed)
 * keeps each interface's lease: the DHCP message as the server sent it,
 * `IFACE.lease` (`dhcpcd-IFACE.lease` before dhcpcd 7); dhcpcd hands its
 * hooks only the options it has names for, so 245 is read from there.
 */
const DHCPCD_LEASES_DIR = "/var/lib/dhcpcd"

/** the BOOTP header before the magic cookie and the options */
const BOOTP_HEADER = 236
const MAGIC_COOKIE = [0x63, 0x82, 0x53, 0x63]

/** DHCP option 245 of a DHCP message (a dhcpcd lease) as an address; none when it has no such option of four bytes */
const option245OfLease = (message: Uint8Array): Option.Option<string> => {
  if (message.length < BOOTP_HEADER + 4 || MAGIC_COOKIE.some((b, i) => message[BOOTP_HEADER + i] !== b)) return Option.none()
  for (let at = BOOTP_HEADER + 4; at < message.length; ) {
    const code = message[at]!
    if (code === 255) break
    if (code === 0) {
      at++
      continue
    }
    const length = message[at + 1]
    if (length === undefined || at + 2 + length > message.length) break
    if (code === 245 && length === 4) return Option.some([...message.subarray(at + 2, at + 6)].join("."))
    at += 2 + length
  }
  return Option.none()
}

/** option 245 from the first interface's kept DHCP options that has it, else (no udhcpc this boot) from the first dhcpcd lease that has it */
const fromDhcp = Effect.gen(function* () {
  const fs = yield* RootFs
  const namesIn = (dir: string) =>
    Effect.map(fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<string>)), (names) => [...names].sort())
  const dir = fs.at(DHCP_OPTIONS_DIR)
  const kept = yield* namesIn(dir)
  for (const name of kept) {
    const text = yield* fs.readTextIfExists(`${dir}/${name}`).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    const value = Option.flatMap(text, (t) => Option.fromNullable(/^opt245=(.*)$/m.exec(t)?.[1]))
    const address = Option.flatMap(value, addressOfOption245)
    if (Option.isSome(address)) return address
  }
  // where udhcpc's hook kept this boot's options, udhcpc is the DHCP client: a dhcpcd lease is an earlier life's (the image builder's)
  if (kept.length > 0) return Option.none<string>()
  const leases = fs.at(DHCPCD_LEASES_DIR)
  for (const name of (yield* namesIn(leases)).filter((n) => n.endsWith(".lease"))) {
    // a DHCP message is at most a few KiB: a larger file is no lease
    const message = yield* fs.readFileIfExists(`${leases}/${name}`, { maxBytes: 65536 }).pipe(Effect.orElseSucceed(() => Option.none<Uint8Array>()))
    const address = Option.flatMap(message, option245OfLease)
    if (Option.isSome(address)) return address
  }
  return Option.none<string>()
})

/** `AZURE_WIRESERVER`, else the address DHCP option 245 gave (udhcpc's, dhcpcd's), else 168.63.129.16 */
export const wireserverAddress = Effect.gen(function* () {
  const setting = (yield* Config).azureWireserver
  return setting ?? Option.getOrElse(yield* fromDhcp, () => WIRESERVER)
})

export interface GoalState {
  readonly incarnation: string
  readonly containerId: string
  readonly instanceId: string
}

const unescape = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!)
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!)

/**
 * The text of the first `<TAG>` (or `<TAG attributes>`) element inside
 * `xml`, up to the first `</TAG>` after it. Found with indexOf, never a
 * backtracking regex, so a hostile answer of many open tags is read in
 * linear time: when the first complete open tag has no close after it, no
 * later one can have either.
 */
export const element = (xml: string, tag: string): string | undefined => {
  const open = `<${tag}`
  const close = `</${tag}>`
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at + 1)) {
    const after = at + open.length
    const next = xml[after]
    let openEnd: number
    if (next === ">") openEnd = after
    else if (next !== undefined && /\s/.test(next)) openEnd = xml.indexOf(">", after)
    else continue // `<TAGS...`: another tag
    if (openEnd < 0) return undefined
    const end = xml.indexOf(close, openEnd + 1)
    return end < 0 ? undefined : xml.slice(openEnd + 1, end)
  }
  return undefined
}

/** the goal state's incarnation, container id and first role instance id; undefined when one is missing */
export const parseGoalState = (xml: string): GoalState | undefined => {
  const incarnation = element(xml, "Incarnation")?.trim()
  const container = element(xml, "Container")
  const containerId = container === undefined ? undefined : element(container, "ContainerId")?.trim()
  const role = container === undefined ? undefined : element(container, "RoleInstance")
  const instanceId = role === undefined ? undefined : element(role, "InstanceId")?.trim()
  if (!incarnation || !containerId || !instanceId) return undefined
  return { incarnation: unescape(incarnation), containerId: unescape(containerId), instanceId: unescape(instanceId) }
}

/** the Health document that reports the role instance Ready for the goal state's incarnation */
export const healthDocument = (goal: GoalState): string =>
  [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
    `  <GoalStateIncarnation>${escape(goal.incarnation)}</GoalStateIncarnation>`,
    "  <Container>",
    `    <ContainerId>${escape(goal.containerId)}</ContainerId>`,
    "    <RoleInstanceList>",
    "      <Role>",
    `        <InstanceId>${escape(goal.instanceId)}</InstanceId>`,
    "        <Health>",
    "          <State>Ready</State>",
    "        </Health>",
    "      </Role>",
    "    </RoleInstanceList>",
    "  </Container>",
    "</Health>",
    ""
  ].join("\n")

const GOAL_STATE = "/machine/?comp=goalstate"
const HEALTH = "/machine/?comp=health"
const NO_GOAL_STATE = "no goal state with an incarnation, a container and a role instance"

/**
 * How many times a Health report the wireserver refuses as stale (410: the goal state's incarnation moved on
 * between the two requests, as when boot diagnostics are turned on during the boot, coreos/afterburn#461) is
 * made anew from a goal state asked for again (afterburn tries 5 times)
 */
const STALE_TRIES = 5

/** one goal state and the Health document of its incarnation */
const report = (client: HttpMetadataClient) =>
  Effect.gen(function* () {
    // early in a boot the wireserver may give a goal state without its role instance yet (WALinuxAgent asks again): asked again until the deadline
    const answer = yield* client.get(GOAL_STATE, { incomplete: (body) => (parseGoalState(textOf(body)) === undefined ? NO_GOAL_STATE : undefined) })
    const goal = Option.flatMap(answer, (body) => Option.fromNullable(parseGoalState(textOf(body))))
    if (Option.isNone(goal)) {
      return yield* Effect.fail(new ImdsError({ cloud: "azure", url: client.urlOf(GOAL_STATE), reason: NO_GOAL_STATE, unusable: true }))
    }
    yield* client.post(HEALTH, healthDocument(goal.value), { "Content-Type": "text/xml; charset=utf-8" }, { staleOn: [410] })
  })

/**
 * GET the goal state, POST Health saying Ready; each request retried like a metadata read, and both made
 * anew when the wireserver says the report is of an incarnation that is no longer current. The result names the wireserver.
 */
export const reportReady = Effect.gen(function* () {
  const address = yield* wireserverAddress
  const settings = yield* Config
  // the goal state moves on: asked again, it is asked anew, never given from the answers the resident process keeps
  const client = yield* makeHttpMetadataClient({ cloud: "azure", endpoint: address, fixedEndpoint: true, fresh: true, root: "/machine/", headers: AGENT_HEADERS })
  yield* report(client).pipe(Effect.retry({ schedule: retrySchedule(settings), times: STALE_TRIES, while: (e) => e.stale === true }))
  return `the Azure wireserver at ${address}`
})
