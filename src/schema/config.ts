import { Data, Either, Schema } from "effect"

export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

import { PHASES, type Phase } from "./phases.js"

export { PHASES, type Phase }

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
  /** largest decompressed user-data (and write_files content) accepted, bytes */
  readonly userDataMaxBytes: number
  /** every KEY=value seen (file, then environment), for keys other modules own */
  readonly values: Readonly<Record<string, string>>
  /** things the operator should hear about once (deprecated values...) */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Parses shell `KEY=value` assignments without evaluating anything. Quoted
 * values may span lines, as the stock file's action lists do.
 */
export const parseConfFile = (text: string, name = "tiny-cloud.conf"): Either.Either<Record<string, string>, ConfigError> => {
  const values: Record<string, string> = {}
  let i = 0
  let line = 1
  const fail = (reason: string) => Either.left(new ConfigError({ reason: `${name}:${line}: ${reason}` }))
  while (i < text.length) {
    const c = text[i]!
    if (c === "\n") {
      line++
      i++
    } else if (c === " " || c === "\t" || c === "\r" || c === ";") {
      i++
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++
    } else {
      const m = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=/.exec(text.slice(i, i + 300))
      if (!m) return fail(`expected KEY=value, got '${text.slice(i).split("\n")[0]!.slice(0, 60)}'`)
      const key = m[1]!
      const startLine = line
      i += m[0].length
      let value = ""
      while (i < text.length && !/[\s;]/.test(text[i]!)) {
        const q = text[i]!
        if (q === "'" || q === '"') {
          const end = text.indexOf(q, i + 1)
          if (end < 0) {
            line = startLine
            return fail(`unterminated quote in value of ${key}`)
          }
          const inner = text.slice(i + 1, end)
          line += inner.split("\n").length - 1
          value += q === '"' ? inner.replace(/\\([\\"$`])/g, "$1") : inner
          i = end + 1
        } else if (q === "\\" && i + 1 < text.length) {
          value += text[i + 1]
          i += 2
        } else {
          value += q
          i++
        }
      }
      while (i < text.length && (text[i] === " " || text[i] === "\t")) i++
      if (i < text.length && text[i] !== "\n" && text[i] !== "#" && text[i] !== ";") {
        return fail(`unexpected '${text.slice(i).split("\n")[0]!.slice(0, 40)}' after ${key}=...; quote values with spaces`)
      }
      values[key] = value
    }
  }
  return Either.right(values)
}

const words = (value: string | undefined): ReadonlyArray<string> => (value ?? "").split(/\s+/).filter((w) => w !== "")

const positive = Schema.NumberFromString.pipe(Schema.filter((n) => Number.isFinite(n) && n > 0))
const whole = Schema.NumberFromString.pipe(Schema.filter((n) => Number.isInteger(n) && n >= 0))

const numeric = {
  IMDS_TOKEN_TTL: [whole, "a whole number of seconds"],
  IMDS_TIMEOUT: [positive, "a positive number of seconds"],
  IMDS_DEADLINE: [positive, "a positive number of seconds"],
  TINY_CLOUD_LINK_WAIT_MAX: [whole, "a whole number of tenths of a second"],
  USERDATA_MAX_BYTES: [whole, "a whole number of bytes"],
  IMDS_RETRY_DELAY: [whole, "a whole number of milliseconds"],
  IMDS_RETRY_MAX_DELAY: [whole, "a whole number of milliseconds"]
} as const

const number = (values: Record<string, string>, key: keyof typeof numeric, fallback: number): Either.Either<number, ConfigError> => {
  const raw = values[key]
  if (raw === undefined || raw === "") return Either.right(fallback)
  const [schema, expected] = numeric[key]
  return Schema.decodeUnknownEither(schema)(raw.trim()).pipe(
    Either.mapLeft(() => new ConfigError({ reason: `${key}: invalid value '${raw}': expected ${expected}` }))
  )
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
      userDataMaxBytes: yield* number(values, "USERDATA_MAX_BYTES", 16 * 1024 * 1024),
      imdsRetryDelay: yield* number(values, "IMDS_RETRY_DELAY", 100),
      imdsRetryMaxDelay: yield* number(values, "IMDS_RETRY_MAX_DELAY", 2000),
      values,
      warnings
    }
  })
