/**
 * The configuration (BEHAVIOUR.md §2, §7): `$ROOT/etc/tiny-cloud.conf` and
 * the environment, which wins, over the contract's defaults.
 */
import * as Either from "effect/Either"
import { isActionName } from "./actions.js"
import { PHASES, type Phase } from "./phases.js"
import { parseAssignments, type BadLine, type Unexpanded } from "./shell-words.js"
import { printable, withoutSecrets } from "./text.js"

/** where the configuration file is: under ROOT, which only the environment sets */
export const confPath = (env: Readonly<Record<string, string | undefined>>): string => `${(env.ROOT ?? "").replace(/\/+$/, "")}/etc/tiny-cloud.conf`

/** the longest user name busybox adduser takes: shorter than LOGIN_NAME_MAX (256, its NUL included); CLOUD_USER's and user-data's */
export const USER_NAME_MAX_LENGTH = 255

/** largest user-data (and write_files content) accepted after decompression: the one default */
export const DEFAULT_USERDATA_MAX_BYTES = 16 * 1024 * 1024

/** where a key's value came from */
export type Source = { readonly from: "default" } | { readonly from: "environment" } | { readonly from: "file"; readonly line: number }

/**
 * Something wrong with the configuration: a key's value, or a line of the
 * file that is not an assignment. Plain data (loadConfig fails with the
 * first as a ConfigError), so that what reads the configuration outside the
 * Effect runtime (`--bootstrap status`) loads none of it.
 */
export interface ConfigProblem {
  readonly key?: string
  /** line of the file, for a line that is not an assignment */
  readonly line?: number
  /** one line naming the problem, as a phase reports it */
  readonly message: string
}

/**
 * Every key this program reads (BEHAVIOUR.md §2, §7): the one list, for
 * `tiny-cloud config`, tiny-cloud.conf(5) and the typo check.
 */
export const CONFIG_KEYS = [
  "ROOT",
  "CLOUD",
  "CLOUD_USER",
  "TINY_CLOUD_VAR",
  "TINY_CLOUD_LOGS",
  "SKIP_INIT_ACTIONS",
  "INIT_ACTIONS_BOOT",
  "INIT_ACTIONS_EARLY",
  "INIT_ACTIONS_MAIN",
  "INIT_ACTIONS_FINAL",
  "HOTPLUG_TYPE",
  "HOTPLUG_MODULES",
  "IMDS_TOKEN_TTL",
  "IMDS_ENDPOINT",
  "IMDS_TIMEOUT",
  "IMDS_DEADLINE",
  "TINY_CLOUD_LINK_WAIT_MAX",
  "DEBUG",
  "IMDS_RETRY_DELAY",
  "IMDS_RETRY_MAX_DELAY",
  "USERDATA_MAX_BYTES",
  "IMDS_MAX_BYTES",
  "IMDS_MAX_KEYS",
  "AZURE_WIRESERVER",
  "TINY_CLOUD_RESIDENT_IDLE",
  "TINY_CLOUD_CODE_CACHE"
] as const
export type ConfigKey = (typeof CONFIG_KEYS)[number]

/** keys read from the environment only: the file lives under ROOT; the code cache is set up before the file is read */
export const ENVIRONMENT_ONLY: ReadonlySet<string> = new Set<ConfigKey>(["ROOT", "TINY_CLOUD_CODE_CACHE"])

export interface Settings {
  readonly root: string
  /** `auto`, a cloud name, or whatever the operator wrote (checked later) */
  readonly cloud: string
  readonly cloudUser: string
  readonly varDir: string
  readonly logDir: string
  readonly skipActions: ReadonlyArray<string>
  readonly initActions: Partial<Record<Phase, ReadonlyArray<string>>>
  readonly hotplugType: string
  readonly hotplugModules: ReadonlyArray<string>
  readonly imdsTokenTtl: number
  readonly imdsEndpoint: string | undefined
  /** azure: the wireserver `report_ready` tells, `HOST` or `HOST:PORT`; undefined: the one DHCP named, else the well-known one */
  readonly azureWireserver: string | undefined
  /** seconds */
  readonly imdsTimeout: number
  /** seconds */
  readonly imdsDeadline: number
  /** tenths of a second */
  readonly linkWaitMax: number
  readonly debug: boolean
  /** first retry delay and longest delay between metadata retries, milliseconds */
  readonly imdsRetryDelay: number
  readonly imdsRetryMaxDelay: number
  /** largest decompressed user-data (and write_files content) accepted, bytes; also the cap on a user-data answer or seed file */
  readonly userDataMaxBytes: number
  /** largest metadata answer accepted, bytes */
  readonly imdsMaxBytes: number
  /** most entries a metadata key list may have */
  readonly imdsMaxKeys: number
  /** seconds the resident process of a first boot waits for its next phase */
  readonly residentIdle: number
  /** every KEY=value seen (file, then environment), for keys other modules own */
  readonly values: Readonly<Record<string, string>>
  /** where each of `values` came from */
  readonly sources: Readonly<Record<string, Source>>
  /** the line of each key the file assigns, the environment's or not */
  readonly fileLines: Readonly<Record<string, number>>
  /** the first expansion sh would make in a value of the file that is used (the environment's value is not), kept as written */
  readonly unexpanded: Readonly<Record<string, Unexpanded>>
  /** things the operator should hear about once (deprecated values...) */
  readonly warnings: ReadonlyArray<string>
  /** invalid values and lines, whose keys keep their defaults; only settings resolved leniently have any */
  readonly problems: ReadonlyArray<ConfigProblem>
}

const lineProblem = (p: BadLine, name: string): ConfigProblem => ({ line: p.line, message: `${name}:${p.line}: ${p.reason}` })

/** The file's assignments; the first line that is not one is an error naming it. */
export const parseConfFile = (text: string, name = "tiny-cloud.conf"): Either.Either<Record<string, string>, ConfigProblem> => {
  const { values, problems } = parseAssignments(text)
  const first = problems[0]
  return first === undefined ? Either.right(values) : Either.left(lineProblem(first, name))
}

const words = (value: string | undefined): ReadonlyArray<string> => (value ?? "").split(/\s+/).filter((w) => w !== "")

/** the test, what it expects, and the most the value may be (a wait must fit a timer: 2^31-1 ms, about 24 days) */
type NumberRule = readonly [test: (n: number) => boolean, expected: string, most?: number]
const positive = (expected: string, most?: number): NumberRule => [(n) => Number.isFinite(n) && n > 0, expected, most]
const count = (expected: string, most?: number): NumberRule => [(n) => Number.isInteger(n) && n > 0, expected, most]
const whole = (expected: string, most?: number): NumberRule => [(n) => Number.isInteger(n) && n >= 0, expected, most]

const TIMER_MAX_MS = 2 ** 31 - 1
/** the longest IMDSv2 token lifetime AWS grants, in seconds */
const AWS_TOKEN_TTL_MAX = 21600
const TIMER_MAX_SECONDS = Math.floor(TIMER_MAX_MS / 1000) - 1

const numeric = {
  // what AWS grants: any other lifetime is refused (HTTP 400), and with it every metadata read
  IMDS_TOKEN_TTL: count("a positive whole number of seconds", AWS_TOKEN_TTL_MAX),
  IMDS_TIMEOUT: positive("a positive number of seconds", TIMER_MAX_SECONDS),
  IMDS_DEADLINE: positive("a positive number of seconds", TIMER_MAX_SECONDS),
  TINY_CLOUD_LINK_WAIT_MAX: whole("a whole number of tenths of a second", TIMER_MAX_SECONDS * 10),
  USERDATA_MAX_BYTES: whole("a whole number of bytes"),
  IMDS_RETRY_DELAY: whole("a whole number of milliseconds", TIMER_MAX_MS),
  IMDS_RETRY_MAX_DELAY: whole("a whole number of milliseconds", TIMER_MAX_MS),
  IMDS_MAX_BYTES: count("a positive whole number of bytes"),
  IMDS_MAX_KEYS: count("a positive whole number"),
  TINY_CLOUD_RESIDENT_IDLE: positive("a positive number of seconds", TIMER_MAX_SECONDS)
} as const

/**
 * `HOST` or `HOST:PORT`, as IMDS_ENDPOINT (and AZURE_WIRESERVER) are written; an IPv6 address is bracketed to be given a
 * port, or an interface: a link-local one is reached through one (`[fe80::a9fe:a9fe%eth1]`, as openstack's default)
 */
const ENDPOINT = /^(\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]{1,15})?\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/**
 * an IPv6 address as it is written without brackets (`fd00:ec2::254`, `::ffff:169.254.169.254`): a HOST, the port the
 * default; two colons at least, so never `HOST:PORT`. Only an address: eight groups of up to four hex digits, `::` once
 * for some, an IPv4 address as the last two; a typo (`169.254.169.254::80`) is refused as any other bad value
 */
export const isBareIpv6 = (text: string): boolean => {
  if (text.length > 45) return false
  const last = text.lastIndexOf(":")
  const tail = text.slice(last + 1)
  const v4 = tail.includes(".")
  if (v4 && !IPV4.test(tail)) return false
  const halves = (v4 ? `${text.slice(0, last + 1)}0` : text).split("::")
  if (halves.length > 2) return false
  const groups = halves.flatMap((h) => (h === "" ? [] : h.split(":")))
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false
  const count = groups.length + (v4 ? 1 : 0)
  return halves.length === 2 ? count <= 7 : count === 8
}

const isEndpoint = (text: string): boolean => {
  if (isBareIpv6(text)) return true
  const port = ENDPOINT.exec(text)?.[2]
  return ENDPOINT.test(text) && (port === undefined || Number(port) <= 65535)
}

// `\d+(\.\d*)?`, not `\d+\.?\d*`: two runs of digits side by side backtrack quadratically over a long one that does not end well
const isNumber = (text: string) => /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(text)

/**
 * Settings from the file's values and the environment (which wins), with the
 * contract's defaults; an invalid value is a problem and its key keeps its
 * default. `root` comes from the environment only: the file lives under it.
 */
const resolve = (
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, string>>,
  lines: Readonly<Record<string, number>>,
  expansions: Readonly<Record<string, Unexpanded>> = {}
): Settings => {
  // keyed by the file's names, `__proto__` one like any other
  const values: Record<string, string> = Object.assign(Object.create(null), file)
  const sources: Record<string, Source> = Object.create(null)
  const fileLines: Record<string, number> = Object.create(null)
  for (const k of Object.keys(file)) {
    fileLines[k] = lines[k] ?? 0
    sources[k] = { from: "file", line: fileLines[k] }
  }
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && /^[A-Z_][A-Z0-9_]*$/.test(k)) {
      values[k] = v
      sources[k] = { from: "environment" }
    }
  }
  const unexpanded: Record<string, Unexpanded> = Object.create(null)
  for (const [k, e] of Object.entries(expansions)) if (sources[k]?.from === "file") unexpanded[k] = e
  const problems: Array<ConfigProblem> = []
  const invalid = <A>(key: ConfigKey, message: string, fallback: A): A => {
    problems.push({ key, message })
    return fallback
  }
  const number = (key: keyof typeof numeric, fallback: number): number => {
    const raw = values[key]
    if (raw === undefined || raw === "") return fallback
    const [test, expected, most = Infinity] = numeric[key]
    const n = isNumber(raw.trim()) ? Number(raw.trim()) : Number.NaN
    if (test(n) && n <= most) return n
    return invalid(key, `${key}: invalid value '${printable(raw)}': expected ${expected}${test(n) ? `, at most ${most}` : ""}`, fallback)
  }
  const root = (env.ROOT ?? "").replace(/\/+$/, "")
  /**
   * a state or log directory: an absolute path (a relative one would be the working directory's, outside ROOT);
   * one the file gives is the instance's, under ROOT as the file itself is (the environment's is the caller's, as given)
   */
  const directory = (key: "TINY_CLOUD_VAR" | "TINY_CLOUD_LOGS", fallback: string): string => {
    const given = values[key]
    if (given === undefined || given === "") return fallback
    if (!given.startsWith("/")) return invalid(key, `${key}: '${printable(given)}' is not an absolute path`, fallback)
    const outside = root !== "" && given !== root && !given.startsWith(`${root}/`)
    return outside && sources[key]?.from === "file" ? `${root}${given}` : given
  }
  const warnings: Array<string> = []
  let cloud = (values.CLOUD ?? "").trim() || "auto"
  if (cloud === "alpine") {
    // the shell edition's words
    warnings.push("CLOUD provider alpine is deprecated. Use nocloud")
    cloud = "nocloud"
  }
  const userName = values.CLOUD_USER || "alpine"
  // as busybox adduser takes a name, and user-data's `user:` (schema/fields.ts UserName): a digit may come first
  const cloudUser = !/^[a-z0-9_][a-z0-9_.-]*\$?$/i.test(userName)
    ? invalid("CLOUD_USER", `CLOUD_USER: invalid user name '${printable(userName)}'`, "alpine")
    : userName.length > USER_NAME_MAX_LENGTH
      ? invalid("CLOUD_USER", `CLOUD_USER: invalid user name '${printable(userName)}': longer than ${USER_NAME_MAX_LENGTH} characters`, "alpine")
      : userName
  const endpoint = (key: "IMDS_ENDPOINT" | "AZURE_WIRESERVER", given: string | undefined): string | undefined =>
    given === undefined || isEndpoint(given) ? given : invalid(key, `${key}: expected HOST or HOST:PORT, got '${printable(withoutSecrets(given))}'`, undefined)
  const initActions: Partial<Record<Phase, ReadonlyArray<string>>> = {}
  for (const phase of PHASES) {
    const key = `INIT_ACTIONS_${phase.toUpperCase()}`
    if (values[key] !== undefined) initActions[phase] = words(values[key])
  }
  return {
    root,
    cloud,
    cloudUser,
    varDir: directory("TINY_CLOUD_VAR", `${root}/var/lib/cloud`),
    logDir: directory("TINY_CLOUD_LOGS", `${root}/var/log`),
    skipActions: words(values.SKIP_INIT_ACTIONS),
    initActions,
    hotplugType: values.HOTPLUG_TYPE || "mdev",
    hotplugModules: words(values.HOTPLUG_MODULES),
    imdsTokenTtl: number("IMDS_TOKEN_TTL", 5),
    imdsEndpoint: endpoint("IMDS_ENDPOINT", values.IMDS_ENDPOINT || undefined),
    azureWireserver: endpoint("AZURE_WIRESERVER", values.AZURE_WIRESERVER?.trim() || undefined),
    imdsTimeout: number("IMDS_TIMEOUT", 2),
    imdsDeadline: number("IMDS_DEADLINE", 60),
    linkWaitMax: number("TINY_CLOUD_LINK_WAIT_MAX", 10),
    debug: (values.DEBUG ?? "") !== "",
    userDataMaxBytes: number("USERDATA_MAX_BYTES", DEFAULT_USERDATA_MAX_BYTES),
    imdsRetryDelay: number("IMDS_RETRY_DELAY", 100),
    imdsRetryMaxDelay: number("IMDS_RETRY_MAX_DELAY", 2000),
    imdsMaxBytes: number("IMDS_MAX_BYTES", 1024 * 1024),
    imdsMaxKeys: number("IMDS_MAX_KEYS", 1000),
    residentIdle: number("TINY_CLOUD_RESIDENT_IDLE", 600),
    values,
    sources,
    fileLines,
    unexpanded,
    warnings,
    problems
  }
}

/** a problem as a command that goes on without it reports it: what is used instead */
export const problemLine = (p: ConfigProblem): string =>
  `${p.message}; ${p.key !== undefined ? "the default is used" : p.line !== undefined ? "the line is ignored" : "the file is ignored"}`

/** The settings, or the first problem. */
export const resolveSettings = (
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, string>>,
  lines: Readonly<Record<string, number>> = {},
  expansions: Readonly<Record<string, Unexpanded>> = {}
): Either.Either<Settings, ConfigProblem> => {
  const settings = resolve(env, file, lines, expansions)
  const first = settings.problems[0]
  return first === undefined ? Either.right(settings) : Either.left(first)
}

/** The settings from the file's text and the environment; the first problem fails. */
export const settingsFrom = (env: Readonly<Record<string, string | undefined>>, text: string): Either.Either<Settings, ConfigProblem> => {
  const conf = parseAssignments(text)
  const first = conf.problems[0]
  return first === undefined ? resolveSettings(env, conf.values, conf.lines, conf.unexpanded) : Either.left(lineProblem(first, "tiny-cloud.conf"))
}

/** The settings whatever is wrong: bad lines and invalid values are in `problems`, their keys keep their defaults. */
export const settingsFromLeniently = (env: Readonly<Record<string, string | undefined>>, text: string): Settings => {
  const conf = parseAssignments(text)
  const settings = resolve(env, conf.values, conf.lines, conf.unexpanded)
  return { ...settings, problems: [...conf.problems.map((p) => lineProblem(p, "tiny-cloud.conf")), ...settings.problems] }
}

/**
 * an expansion kept as written, as a message shows it: only its first character where it stands in a value's user and
 * password or in its query (a token's place); else a query it holds (`${T:-http://host/?token=...}`) hidden as a URL's is
 */
const shownExpansion = (e: Unexpanded, value: string): string => {
  const query = value.indexOf("?")
  return e.at < value.lastIndexOf("@") || (query >= 0 && e.at > query) ? `${e.text[0]}...` : printable(withoutSecrets(e.text), 40)
}

/**
 * What the file says that this program does not use: a key it does not know
 * (naming the key probably meant), a key read from the environment only;
 * what it says that sh would read otherwise: an expansion (`$HOME`), kept as
 * written. `tiny-cloud config` and every phase warn of each.
 */
export const fileWarnings = (s: Settings): ReadonlyArray<string> =>
  Object.entries(s.fileLines).flatMap(([key, line]) => {
    const where = `/etc/tiny-cloud.conf line ${line}`
    if (ENVIRONMENT_ONLY.has(key)) return [`${where}: ${key} is read from the environment only; ignored here`]
    if ((CONFIG_KEYS as ReadonlyArray<string>).includes(key)) {
      const e = s.unexpanded[key]
      return e === undefined ? [] : [`${where}: ${key}: '${shownExpansion(e, s.values[key] ?? "")}' is taken as written, not expanded: nothing in this file is evaluated`]
    }
    const near = nearestKey(key)
    return [`${where}: unknown key ${printable(key)}${near !== undefined ? `; did you mean ${near}?` : ""}`]
  })

/**
 * The names of SKIP_INIT_ACTIONS no action has (`expand-root`, a comma list `set_hostname,set_ssh_keys`): they skip
 * nothing, where an unknown name of INIT_ACTIONS_* has its `unknown` line. Every phase warns of them in one line
 * (`tiny-cloud config` calls them invalid); undefined when every name is an action's.
 */
export const unknownSkipsWarning = (s: Settings): string | undefined => {
  const unknown = [...new Set(s.skipActions.filter((n) => !isActionName(n)))]
  if (unknown.length === 0) return undefined
  const one = unknown.length === 1
  const commas = unknown.some((n) => n.includes(",")) ? " (names are separated by blanks)" : ""
  return `SKIP_INIT_ACTIONS: unknown action${one ? "" : "s"} ${unknown.map((n) => `'${printable(n)}'`).join(", ")}: ${one ? "it skips" : "they skip"} nothing${commas}`
}

/** `CLOUD_USR` → `CLOUD_USER`: the known key a few typing slips away, if any */
export const nearestKey = (key: string): ConfigKey | undefined => {
  // two slips change the length by two at most: only keys that close are measured (a long line costs nothing)
  const near = CONFIG_KEYS.filter((known) => Math.abs(known.length - key.length) <= 2)
    .map((known) => ({ known, d: editDistance(key.toUpperCase(), known) }))
    .sort((a, b) => a.d - b.d)[0]
  return near !== undefined && near.d <= 2 && near.d * 3 < key.length ? near.known : undefined
}

/** optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours (three rows kept) */
const editDistance = (a: string, b: string): number => {
  let before = new Uint32Array(b.length + 1)
  let previous = Uint32Array.from({ length: b.length + 1 }, (_, j) => j)
  let row = new Uint32Array(b.length + 1)
  for (let i = 1; i <= a.length; i++) {
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, before[j - 2]! + 1)
    }
    ;[before, previous, row] = [previous, row, before]
  }
  return previous[b.length]!
}
