/**
 * The configuration (BEHAVIOUR.md §2, §7): `$ROOT/etc/tiny-cloud.conf` and
 * the environment, which wins, over the contract's defaults.
 */
import * as Either from "effect/Either"
import { ConfigError } from "./errors.js"
import { PHASES, type Phase } from "./phases.js"
import { parseAssignments } from "./shell-words.js"

/** largest user-data (and write_files content) accepted after decompression: the one default */
export const DEFAULT_USERDATA_MAX_BYTES = 16 * 1024 * 1024

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
  /** every KEY=value seen (file, then environment), for keys other modules own */
  readonly values: Readonly<Record<string, string>>
  /** things the operator should hear about once (deprecated values...) */
  readonly warnings: ReadonlyArray<string>
}

/** The file's assignments; the first line that is not one is an error naming it. */
export const parseConfFile = (text: string, name = "tiny-cloud.conf"): Either.Either<Record<string, string>, ConfigError> => {
  const { values, problems } = parseAssignments(text)
  const first = problems[0]
  return first === undefined ? Either.right(values) : Either.left(new ConfigError({ reason: `${name}:${first.line}: ${first.reason}` }))
}

const words = (value: string | undefined): ReadonlyArray<string> => (value ?? "").split(/\s+/).filter((w) => w !== "")

type NumberRule = readonly [test: (n: number) => boolean, expected: string]
const positive = (expected: string): NumberRule => [(n) => Number.isFinite(n) && n > 0, expected]
const count = (expected: string): NumberRule => [(n) => Number.isInteger(n) && n > 0, expected]
const whole = (expected: string): NumberRule => [(n) => Number.isInteger(n) && n >= 0, expected]

const numeric = {
  IMDS_TOKEN_TTL: whole("a whole number of seconds"),
  IMDS_TIMEOUT: positive("a positive number of seconds"),
  IMDS_DEADLINE: positive("a positive number of seconds"),
  TINY_CLOUD_LINK_WAIT_MAX: whole("a whole number of tenths of a second"),
  USERDATA_MAX_BYTES: whole("a whole number of bytes"),
  IMDS_RETRY_DELAY: whole("a whole number of milliseconds"),
  IMDS_RETRY_MAX_DELAY: whole("a whole number of milliseconds"),
  IMDS_MAX_BYTES: count("a positive whole number of bytes"),
  IMDS_MAX_KEYS: count("a positive whole number")
} as const

const number = (values: Record<string, string>, key: keyof typeof numeric, fallback: number): Either.Either<number, ConfigError> => {
  const raw = values[key]
  if (raw === undefined || raw === "") return Either.right(fallback)
  const [test, expected] = numeric[key]
  const text = raw.trim()
  const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : Number.NaN
  return test(n) ? Either.right(n) : Either.left(new ConfigError({ reason: `${key}: invalid value '${raw}': expected ${expected}` }))
}

const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/

/**
 * Settings from the file's values and the environment (which wins), with the
 * contract's defaults. `root` comes from the environment only: the file lives under it.
 */
export const resolveSettings = (
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, string>>
): Either.Either<Settings, ConfigError> =>
  Either.gen(function* () {
    const values: Record<string, string> = { ...file }
    for (const [k, v] of Object.entries(env)) if (v !== undefined && /^[A-Z_][A-Z0-9_]*$/.test(k)) values[k] = v
    const root = (env.ROOT ?? "").replace(/\/+$/, "")
    const warnings: Array<string> = []
    let cloud = (values.CLOUD ?? "").trim() || "auto"
    if (cloud === "alpine") {
      warnings.push("CLOUD=alpine is an old name for nocloud; set CLOUD=nocloud in /etc/tiny-cloud.conf")
      cloud = "nocloud"
    }
    const cloudUser = values.CLOUD_USER || "alpine"
    if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(cloudUser)) {
      return yield* Either.left(new ConfigError({ reason: `CLOUD_USER: invalid user name '${cloudUser}'` }))
    }
    const endpoint = values.IMDS_ENDPOINT || undefined
    if (endpoint !== undefined && !ENDPOINT.test(endpoint)) {
      return yield* Either.left(new ConfigError({ reason: `IMDS_ENDPOINT: expected HOST or HOST:PORT, got '${endpoint}'` }))
    }
    const initActions: Partial<Record<Phase, ReadonlyArray<string>>> = {}
    for (const phase of PHASES) {
      const key = `INIT_ACTIONS_${phase.toUpperCase()}`
      if (values[key] !== undefined) initActions[phase] = words(values[key])
    }
    return {
      root,
      cloud,
      cloudUser,
      varDir: values.TINY_CLOUD_VAR || `${root}/var/lib/cloud`,
      logDir: values.TINY_CLOUD_LOGS || `${root}/var/log`,
      skipActions: words(values.SKIP_INIT_ACTIONS),
      initActions,
      hotplugType: values.HOTPLUG_TYPE || "mdev",
      hotplugModules: words(values.HOTPLUG_MODULES),
      imdsTokenTtl: yield* number(values, "IMDS_TOKEN_TTL", 5),
      imdsEndpoint: endpoint,
      imdsTimeout: yield* number(values, "IMDS_TIMEOUT", 2),
      imdsDeadline: yield* number(values, "IMDS_DEADLINE", 60),
      linkWaitMax: yield* number(values, "TINY_CLOUD_LINK_WAIT_MAX", 10),
      debug: (values.DEBUG ?? "") !== "",
      userDataMaxBytes: yield* number(values, "USERDATA_MAX_BYTES", DEFAULT_USERDATA_MAX_BYTES),
      imdsRetryDelay: yield* number(values, "IMDS_RETRY_DELAY", 100),
      imdsRetryMaxDelay: yield* number(values, "IMDS_RETRY_MAX_DELAY", 2000),
      imdsMaxBytes: yield* number(values, "IMDS_MAX_BYTES", 1024 * 1024),
      imdsMaxKeys: yield* number(values, "IMDS_MAX_KEYS", 1000),
      values,
      warnings
    }
  })
