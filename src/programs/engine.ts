import * as Effect from "effect/Effect"
import { Log } from "../services/Log.js"
import type { ActionError } from "./action.js"
import { describeCause } from "./failure.js"

export interface PhaseOutcome {
  readonly exitCode: 0 | 1
}

/**
 * Runs the actions in order with the contract's log lines; a failed action
 * stops the phase with exit status 1, an unknown one is logged and passed over.
 */
export const runActions = <R>(
  plan: ReadonlyArray<string>,
  skip: ReadonlySet<string>,
  registry: Readonly<Record<string, Effect.Effect<void, ActionError, R>>>
): Effect.Effect<PhaseOutcome, never, R | Log> =>
  Effect.gen(function* () {
    const log = yield* Log
    for (const name of plan) {
      if (skip.has(name)) {
        yield* log.log("notice", `${name}: skipped`, "   -- ")
        continue
      }
      yield* log.log("info", `${name}: starting`, "   ++ ")
      const action = Object.hasOwn(registry, name) ? registry[name] : undefined
      if (action === undefined) {
        yield* log.log("err", `${name}: unknown`, "   ++ ")
        continue
      }
      const exit = yield* Effect.exit(action)
      if (exit._tag === "Success") {
        yield* log.log("info", `${name}: done`, "   ++ ")
        continue
      }
      yield* log.log("err", `${name}: ${describeCause(exit.cause)}`)
      yield* log.log("err", `${name}: failed`, "   ++ ")
      return { exitCode: 1 }
    }
    return { exitCode: 0 }
  })
