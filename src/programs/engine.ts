import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isUserDataAction } from "../domain/actions.js"
import { isMetadataUnread } from "../domain/errors.js"
import { monotonicMillis } from "../domain/monotonic.js"
import type { ActionResult, ActionRun } from "../domain/run-record.js"
import { Log, type LogShape } from "../services/Log.js"
import { Output } from "../services/Output.js"
import type { ActionError } from "./action.js"
import { describeCause } from "./failure.js"
import { ownEntry } from "../domain/own.js"
import { oneLine, printable } from "../domain/text.js"

/**
 * a failure that costs its action alone: a value it cannot use, or no cloud to read (`unknown`, or a CLOUD naming
 * none: BEHAVIOUR.md §4.6, the actions that need no metadata still run, after it as before it), or what the cloud
 * does not have at all (`report_ready` named in INIT_ACTIONS_MAIN of an image that also boots on aws)
 */
const confined = (cause: Cause.Cause<ActionError>) =>
  Option.exists(Cause.failureOption(cause), (e) => e._tag === "UnusableValue" || e._tag === "NoCloud" || e._tag === "MetadataUnsupported")
const metadataUnread = (cause: Cause.Cause<ActionError>) => Option.exists(Cause.failureOption(cause), isMetadataUnread)

/** what became of one action of the plan: what the run record keeps of it */
export type ActionOutcome = ActionRun

export interface PhaseOutcome {
  readonly exitCode: 0 | 1
  readonly actions: ReadonlyArray<ActionOutcome>
}

/**
 * Runs the actions in order with the contract's log lines (an empty line on
 * stderr first). A failed core action stops the phase with exit status 1; a
 * failed user-data action is logged and the phase goes on, ending with exit
 * status 1, so the user's own commands never stop the bootstrap; so does an
 * action failed by a value it cannot use (an invalid host name, a key list
 * past IMDS_MAX_KEYS), which keeps no other action from its work, and one that
 * needs metadata where there is no cloud to read, or what its cloud does not have; an unknown action is logged and
 * passed over. An action done after error lines of its own (an unknown hotplug module) is
 * recorded with them, so that the record says what its lines said.
 */
export const runActions = <R>(
  plan: ReadonlyArray<string>,
  skip: ReadonlySet<string>,
  registry: Readonly<Record<string, Effect.Effect<void, ActionError, R>>>
): Effect.Effect<PhaseOutcome, never, R | Log | Output> =>
  Effect.gen(function* () {
    const log = yield* Log
    const actions: Array<ActionOutcome> = []
    let exitCode: 0 | 1 = 0
    if (plan.length > 0) yield* Effect.flatMap(Output, (o) => o.stderr("\n"))
    for (const name of plan) {
      // a word of INIT_ACTIONS_* as its lines and record show it: escaped, on its one line (an action's own name is unchanged)
      const shown = printable(name)
      const startedAt = yield* monotonicMillis
      const record = (result: ActionResult, message?: string, errors: ReadonlyArray<string> = [], unread = false) =>
        Effect.map(monotonicMillis, (now) =>
          void actions.push({
            name: shown,
            result,
            durationMs: now - startedAt,
            ...(message !== undefined ? { message } : {}),
            ...(errors.length > 0 ? { errors } : {}),
            ...(unread ? { metadataUnread: true as const } : {})
          })
        )
      if (skip.has(name)) {
        yield* log.log("notice", `${shown}: skipped`, "   -- ")
        yield* record("skipped")
        continue
      }
      yield* log.log("info", `${shown}: starting`, "   ++ ")
      const action = ownEntry(registry, name)
      if (action === undefined) {
        yield* log.log("err", `${shown}: unknown`, "   ++ ")
        yield* record("unknown")
        continue
      }
      // its error lines, as it logs them (without its own name): said by an action that goes on to its end, they are the record's too
      const errors: Array<string> = []
      const keep = (message: string) => Effect.sync(() => void errors.push(oneLine(message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message)))
      const logged: LogShape = { log: (level, message, prefix) => Effect.zipRight(level === "err" ? keep(message) : Effect.void, log.log(level, message, prefix)) }
      const exit = yield* Effect.exit(Effect.provideService(action, Log, logged))
      if (exit._tag === "Success") {
        yield* log.log("info", `${name}: done`, "   ++ ")
        yield* record("done", undefined, errors)
        continue
      }
      // on one line in the record too, as the log writes it: status prints it to a terminal
      const message = oneLine(describeCause(exit.cause))
      yield* log.log("err", `${name}: ${message}`)
      yield* log.log("err", `${name}: failed`, "   ++ ")
      yield* record("failed", message, [], !isUserDataAction(name) && metadataUnread(exit.cause))
      exitCode = 1
      if (!isUserDataAction(name) && !confined(exit.cause)) break
    }
    return { exitCode, actions }
  })
