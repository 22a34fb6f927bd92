/**
 * The saved user-data (`$TINY_CLOUD_VAR/user-data`) as the `userdata_*`
 * actions use it: read and parsed once per process, on first need.
 *
 * Its problems (each `line N: PATH: message`) are logged at error level the
 * first time an action asks for it; an unusable document then fails every
 * action that needs it with the validator's one-line message. Warnings
 * (unsupported keys...) are left to `save_userdata`, which reports them
 * once, in the early phase.
 */
import { Effect, Option } from "effect"
import { Config } from "../../services/Config.js"
import { err } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"
import type { Analysis, ParsedUserData } from "./parse.js"
import { emptyUserConfig, type UserConfig } from "./model.js"

interface Loaded {
  readonly analysis: Analysis
  /** problems are logged once per process */
  logged: boolean
}

const cache = new Map<string, Loaded>()

const MISSING: Analysis = { type: "missing", parsed: { kind: "missing", type: "missing" }, problems: [] }

const analysisOf = (path: string) =>
  Effect.gen(function* () {
    const cached = cache.get(path)
    if (cached !== undefined) return cached
    const fs = yield* RootFs
    const { userDataMaxBytes } = yield* Config
    const bytes = yield* fs.readFileIfExists(path)
    const analysis = Option.isNone(bytes)
      ? MISSING
      : yield* Effect.promise(() => import("./parse.js")).pipe(
          Effect.map(({ analyseUserData }) =>
            analyseUserData(bytes.value, { maxBytes: userDataMaxBytes, maxDecompressedBytes: userDataMaxBytes })
          )
        )
    const loaded: Loaded = { analysis, logged: false }
    cache.set(path, loaded)
    return loaded
  })

/**
 * The parsed user-data; fails with `UserDataError` when it cannot be used.
 * `action` prefixes the problem lines logged on first use.
 */
export const loadUserData = (action: string) =>
  Effect.gen(function* () {
    const loaded = yield* analysisOf(`${(yield* Config).varDir}/user-data`)
    const { analysis } = loaded
    if (analysis.problems.length === 0 && analysis.parsed !== undefined) return analysis.parsed
    const { formatProblem, UserDataError } = yield* Effect.promise(() => import("./parse.js"))
    if (!loaded.logged) {
      loaded.logged = true
      yield* Effect.forEach(analysis.problems, (p) => err(`${action}: invalid user-data: ${formatProblem(p)}`), { discard: true })
    }
    if (analysis.parsed === undefined) return yield* Effect.fail(new UserDataError({ type: analysis.type, problems: analysis.problems }))
    return analysis.parsed
  })

/** the configuration of `#alpine-config`, `#cloud-config` or multipart user-data; empty for any other type */
export const loadUserConfig = (action: string) =>
  Effect.map(loadUserData(action), (parsed: ParsedUserData): UserConfig =>
    parsed.kind === "config" || parsed.kind === "multipart" ? parsed.config : emptyUserConfig
  )
