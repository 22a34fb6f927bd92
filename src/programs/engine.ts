import { Cause, Effect, Option } from "effect"
import type { Phase } from "../schema/config.js"
import { Log } from "../services/Log.js"
import type { Action, ActionEnv } from "./action.js"

export interface PhaseOutcome {
  readonly exitCode: 0 | 1
}

const describeFailure = (cause: Cause.Cause<{ readonly message: string }>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (e) => e.message,
    onNone: () => {
      const defect = Cause.squash(cause)
      return `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
    }
  })

/**
 * Runs the actions in order with the contract's log lines; a failed action
 * stops the phase with exit status 1, an unknown one is logged and passed over.
 */
export const runActions = (
  _phase: Phase,
  plan: ReadonlyArray<string>,
  skip: ReadonlySet<string>,
  registry: Readonly<Record<string, Action>>
): Effect.Effect<PhaseOutcome, never, ActionEnv> =>
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
      yield* log.log("err", `${name}: ${describeFailure(exit.cause)}`)
      yield* log.log("err", `${name}: failed`, "   ++ ")
      return { exitCode: 1 }
    }
    return { exitCode: 0 }
  })
