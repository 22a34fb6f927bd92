import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { detectionOutdated } from "../domain/bootstrap.js"
import type { Phase } from "../domain/phases.js"
import { monotonicMillis } from "../domain/monotonic.js"
import { planPhase, unplacedActions } from "../domain/plan.js"
import { fileWarnings, problemLine, unknownSkipsWarning } from "../domain/settings.js"
import { USERDATA_CHANGES, userDataTypeOf } from "../domain/userdata/type.js"
import { Bootstrap } from "../services/Bootstrap.js"
import { Cloud } from "../services/Cloud.js"
import { Config } from "../services/Config.js"
import { Lock } from "../services/Lock.js"
import { err, info, Log, notice, warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { UserData } from "../services/UserData.js"
import { PhaseContext } from "./action.js"
import { ACTIONS, type ActionServices } from "./actions/index.js"
import { runActions } from "./engine.js"
import { startRun, type Started } from "./status-record.js"
import { oneLine } from "../domain/text.js"
import { LockHeldByCaller } from "../domain/errors.js"
import { underLockHolder } from "./phase-lock.js"
import { guardStateDirectory } from "./state-directory.js"

/**
 * One phase at a time: the state directory's lock, held until the phase
 * ends. A phase started while another runs (its service killed while the
 * resident process runs it, the next service then running its own; a phase
 * run by hand) waits for it, so that final never marks the bootstrap
 * complete while main still works. A lock that cannot be taken (no flock)
 * is said, and the phase runs without it, as it always could. One run by a
 * program of the phase that holds it (a user-data script, runcmd) would wait
 * for its own caller's end: it is not run, said in one line (false).
 */
const oneAtATime = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  yield* fs.makeDirectory(varDir)
  const path = yield* fs.resolve(varDir)
  yield* guardStateDirectory(path)
  const waiting = Effect.flatMap(underLockHolder, (under) =>
    under ? Effect.fail(new LockHeldByCaller()) : notice("another phase is running; waiting for it to end")
  )
  yield* (yield* Lock).directory(path, waiting)
  return true
}).pipe(
  Effect.catchTag("LockHeldByCaller", (e) => Effect.as(err(e.message), false)),
  Effect.catchAll((e) => Effect.as(warn(`cannot lock ${e.path}: ${e.reason}; the phase runs without the lock`), true))
)

/**
 * the lock (whether the phase may run: oneAtATime), and meanwhile the logger of the phase's lines (info: its
 * actions'), started while flock runs rather than after it, at the first line (Node forks the whole process for each)
 */
const lockedAndLogging = Effect.flatMap(Log, (log) =>
  log.prepare === undefined ? oneAtATime : Effect.map(Effect.all([oneAtATime, log.prepare("info")], { concurrency: 2 }), ([go]) => go)
)

/** `CLOUD=auto` and `.autodetect` naming a cloud this machine's signs contradict (see detectionOutdated): detected again */
const cachedDetectionOutdated = Effect.gen(function* () {
  if ((yield* Config).cloud !== "auto") return false
  const cloud = yield* Cloud
  const cached = yield* cloud.cached
  if (Option.isNone(cached)) return false
  return detectionOutdated(cached.value, (yield* cloud.detect).cloud)
})

/**
 * One phase of the first boot, as OpenRC runs it; the result is the exit
 * status. `decided` runs once the phase is known to do its work (not
 * disabled, not complete, its lock held): the resident process's read-ahead
 * waits for it, so that a phase that ends there asks the metadata service nothing.
 */
export const runPhase = (phase: Phase, decided: Effect.Effect<void> = Effect.void) =>
  Effect.scoped(Effect.gen(function* () {
    const bootstrap = yield* Bootstrap
    if (yield* bootstrap.isDisabled) {
      yield* info("tiny-cloud disabled")
      return 0
    }
    if (yield* bootstrap.isComplete) {
      yield* info("already bootstrapped")
      return 0
    }
    if (!(yield* lockedAndLogging)) return 1
    // the phase waited for may have been the final one
    if (yield* bootstrap.isComplete) {
      yield* info("already bootstrapped")
      return 0
    }
    // what an earlier first boot left that cannot be removed is taken by this one's phases: said once the cloud is known (the
    // seed's mark costs only nocloud's), the phase goes on
    const leftOver = phase === "boot" ? yield* bootstrap.beginFirstBoot({ forgetDetection: yield* cachedDetectionOutdated }) : []
    yield* decided
    const started: Started = { at: yield* Clock.currentTimeMillis, mark: yield* monotonicMillis }
    const settings = yield* Config
    yield* Effect.forEach([...fileWarnings(settings), ...settings.warnings], warn, { discard: true })
    // a name of SKIP_INIT_ACTIONS no action has skips nothing: the operator who meant it sees that action run
    const unknownSkips = unknownSkipsWarning(settings)
    if (unknownSkips !== undefined) yield* warn(unknownSkips)
    // a bad value costs only its own key: the first boot goes on, and the phase exits 1
    yield* Effect.forEach(settings.problems, (p) => err(problemLine(p)), { discard: true })
    const cloud = yield* Effect.flatMap(Cloud, (c) => c.choice)
    for (const left of leftOver) if (left.cloud === undefined || left.cloud === cloud.name) yield* warn(`${left.error.message}; ${left.kept}`)
    const word = yield* Effect.flatMap(UserData, (u) => u.word)
    const userDataChanges = USERDATA_CHANGES[userDataTypeOf(word)]
    const plan = planPhase(phase, settings.initActions[phase], cloud.changes, userDataChanges)
    // the cloud's and the user-data's actions whose place the phase's list lacks (azure's report_ready without set_ssh_keys:
    // a provisioning Azure counts as failed): not run, and said so; but those SKIP_INIT_ACTIONS leaves out anyway
    for (const [whose, changes] of [[`${cloud.name}'s`, cloud.changes], ["user-data", userDataChanges]] as const) {
      for (const left of unplacedActions(phase, plan, changes)) {
        const actions = left.actions.filter((a) => !settings.skipActions.includes(a))
        if (actions.length === 0) continue
        const where = left.op === "replace" ? "in place of" : left.op
        yield* warn(`${whose} actions not run: ${actions.join(" ")}: the ${phase} phase's actions (INIT_ACTIONS_${phase.toUpperCase()}) have no ${left.anchor} to run them ${where}`)
      }
    }
    const context = PhaseContext.of({
      phase,
      cloudUser: yield* Ref.make(settings.cloudUser),
      cloudUserAccount: yield* Ref.make({}),
      cloudUserAccountRefused: yield* Ref.make<string | undefined>(undefined),
      userDataWord: word,
      cloud,
      userDataReported: yield* Ref.make(false),
      apkIndexFresh: yield* Ref.make(false),
      markComplete: yield* Ref.make(false)
    })
    const run = yield* startRun(phase, started, cloud, word)
    const actions = yield* runActions<ActionServices>(plan, new Set(settings.skipActions), ACTIONS).pipe(Effect.provideService(PhaseContext, context))
    const outcome = settings.problems.length > 0 ? { ...actions, exitCode: 1 as const } : actions
    yield* run.finish(outcome)
    if (!(yield* Ref.get(context.markComplete))) return outcome.exitCode
    return yield* bootstrap.markComplete.pipe(
      Effect.as(outcome.exitCode),
      // the record is told: bootstrap_complete failed after all
      Effect.catchAll((e) =>
        Effect.gen(function* () {
          yield* err(`bootstrap_complete: ${e.message}`)
          const failed = outcome.actions.map((a) => (a.name === "bootstrap_complete" ? { ...a, result: "failed" as const, message: oneLine(e.message) } : a))
          yield* run.finish({ exitCode: 1, actions: failed })
          return 1
        })
      )
    )
  }))
