/**
 * The saved user-data as the `userdata_*` actions use it (parsed once, by
 * the UserData service).
 *
 * Its problems (each `line N: PATH: message`) are logged at error level the
 * first time an action of the phase asks for it; an unusable document then
 * fails every action that needs it with the validator's one-line message.
 * Warnings (unsupported keys...) are left to `save_userdata`, which reports
 * them once, in the early phase.
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
 * The parsed user-data; fails with `UserDataError` when it cannot be used.
 * `action` prefixes the problem lines logged on first use.
 */
export const loadUserData = (action: string) =>
  Effect.gen(function* () {
    const analysis = yield* Effect.flatMap(UserData, (u) => u.analysis)
    if (analysis.problems.length === 0 && analysis.parsed !== undefined) return analysis.parsed
    const { userDataReported } = yield* PhaseContext
    if (!(yield* Ref.getAndSet(userDataReported, true))) {
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
