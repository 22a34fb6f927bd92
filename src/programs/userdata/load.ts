/**
 * The saved user-data as the `userdata_*` actions use it (parsed once, by
 * the UserData service).
 *
 * A key or entry that could not be used was skipped when it was read and
 * reported by `save_userdata` in the early phase; the actions apply the rest.
 * User-data that cannot be read at all (not YAML, not a map of keys, or
 * every key refused: what `tiny-cloud schema` calls invalid) fails every
 * action that needs it with the validator's one-line message, its problems
 * logged at error level by the first action of the phase that asks.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { emptyUserConfig, type UserConfig } from "../../domain/userdata/model.js"
import type { ParsedUserData } from "../../domain/userdata/parse.js"
import { formatProblem, UserDataError } from "../../domain/userdata/problem.js"
import { err } from "../../services/Log.js"
import { UserData } from "../../services/UserData.js"
import { PhaseContext } from "../action.js"

/**
 * The parsed user-data; fails with `UserDataError` when it cannot be read.
 * `action` prefixes the problem lines logged on first use.
 */
export const loadUserData = (action: string) =>
  Effect.gen(function* () {
    const analysis = yield* Effect.flatMap(UserData, (u) => u.analysis)
    // a document nothing can be used of (not a map of keys, every key refused) is invalid as a whole
    if (analysis.parsed !== undefined && analysis.usable) return analysis.parsed
    const { userDataReported } = yield* PhaseContext
    if (!(yield* Ref.getAndSet(userDataReported, true))) {
      yield* Effect.forEach(analysis.problems, (p) => err(`${action}: invalid user-data: ${formatProblem(p)}`), { discard: true })
    }
    return yield* Effect.fail(new UserDataError({ type: analysis.type, problems: analysis.problems }))
  })

/** the configuration of `#alpine-config`, `#cloud-config` or multipart user-data; empty for any other type */
export const loadUserConfig = (action: string) =>
  Effect.map(loadUserData(action), (parsed: ParsedUserData): UserConfig =>
    parsed.kind === "config" || parsed.kind === "multipart" ? parsed.config : emptyUserConfig
  )
