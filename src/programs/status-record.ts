/** `$TINY_CLOUD_VAR/status.json`: the phases write their runs, `status` and `analyze` read them. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { monotonicMillis } from "../domain/monotonic.js"
import { RUN_DIR } from "../domain/resident.js"
import type { Phase } from "../domain/phases.js"
import { emptyRecord, formatRecord, isDamagedRecord, parseRecord, processStart, RECORD_MAX_BYTES, systemBoot, withRun, type PhaseRun, type RunRecord } from "../domain/run-record.js"
import { unknownSkipsWarning } from "../domain/settings.js"
import { textOf } from "../domain/text.js"
import type { CloudChoice } from "../services/Cloud.js"
import { Config } from "../services/Config.js"
import { warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { UserData } from "../services/UserData.js"
import type { PhaseOutcome } from "./engine.js"
import { describeCause } from "./failure.js"

const recordPath = Effect.map(Config, (s) => `${s.varDir}/status.json`)

/**
 * The record of this boot where the state directory refuses it (read-only, made immutable, full): in the run directory,
 * root's, emptied at each boot, so that `status` still tells the phases that ran (a failed bootstrap_complete among them)
 * and `--wait` ends; read in place of the state directory's while it is there, removed once that takes the record again
 */
const spareRecordPath = Effect.map(RootFs, (fs) => fs.at(`${RUN_DIR}/status.json`))

/**
 * The record as it is (none yet is empty), or why it cannot be used: it is
 * root's only, or damaged (then `damaged` holds its text, which the next
 * phase keeps aside before it starts a new record; `oversized`, when it is
 * too large to be read, is not kept).
 */
export const loadRecord: Effect.Effect<
  { readonly record: RunRecord; readonly unreadable?: string; readonly damaged?: string; readonly oversized?: true },
  never,
  Config | RootFs
> = Effect.gen(function* () {
  const fs = yield* RootFs
  const spare = yield* spareRecordPath
  const spareThere = (yield* fs.isFile(spare)) && !(yield* fs.isSymlink(spare))
  const path = spareThere ? spare : yield* recordPath
  // the program's own file: a link in its place is never followed
  if (yield* fs.isSymlink(path)) return { record: emptyRecord, unreadable: `${path} is a symbolic link; refused` }
  // none in the state directory, and another user cannot tell whether the run directory (root's alone) holds this boot's:
  // the record is unreadable to them, said as the state directory's would be, not taken for none (`not started`)
  if (!spareThere && !(yield* fs.exists(path))) {
    // (only where it is refused: a link loop or a file in the run directory's place holds no record for anyone, root included)
    const unseen = yield* Effect.option(Effect.flip(fs.ownership(spare)))
    if (Option.isSome(unseen) && unseen.value.code === "EACCES") return { record: emptyRecord, unreadable: unseen.value.message }
  }
  return yield* fs.readFileIfExists(path, { maxBytes: RECORD_MAX_BYTES }).pipe(
    Effect.map(Option.map(textOf)),
    Effect.map((text) =>
      Option.isSome(text) && isDamagedRecord(text.value)
        ? { record: emptyRecord, unreadable: `${path} is damaged`, damaged: text.value }
        : { record: Option.match(text, { onNone: () => emptyRecord, onSome: parseRecord }) }
    ),
    Effect.catchAll((e) => Effect.succeed({ record: emptyRecord, unreadable: e.message, ...(e.exceeded !== undefined ? { oversized: true as const } : {}) }))
  )
})

export const readRecord = Effect.map(loadRecord, ({ record }) => record)

/**
 * When the process `pid` started (`processStart`), undefined when it is gone
 * or has ended; "self" is this process, and undefined where /proc is another
 * PID namespace's (whose /proc/self is not our pid)
 */
const processStartOf = (pid: number | "self") =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const stat = yield* fs.readTextIfExists(`/proc/${pid}/stat`)
    if (Option.isNone(stat) || (pid === "self" && !stat.value.startsWith(`${process.pid} `))) return undefined
    const bootId = Option.getOrElse(yield* fs.readTextIfExists("/proc/sys/kernel/random/boot_id"), () => "")
    return processStart(stat.value, systemBoot(bootId, Option.getOrUndefined(yield* fs.readTextIfExists("/proc/1/stat"))))
  }).pipe(Effect.orElseSucceed(() => undefined))

/**
 * whether the process `pid` is the one that started at `pidStart` (a run's), not one that has its pid since; an earlier
 * edition's names the kernel's boot id alone, not its init's start (a phase it runs while this one is installed)
 */
export const startedAt = (pid: number, pidStart: string) =>
  Effect.map(processStartOf(pid), (now) => now === pidStart || now?.replace(/@\d+\//, "/") === pidStart)

/** the run in place of its running entry, for root only, replaced atomically; a record that cannot be written is only reported */
const saveRun = (run: PhaseRun) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const path = yield* recordPath
    const { record, damaged, oversized } = yield* loadRecord
    if (damaged !== undefined) {
      yield* fs.writeAtomic(`${path}.damaged`, damaged, { mode: 0o600, noFollow: true })
      yield* warn(`the run record ${path} was damaged: kept as ${path}.damaged, a new one started`)
    }
    if (oversized) yield* warn(`the run record ${path} was damaged (larger than ${RECORD_MAX_BYTES} bytes): a new one started`)
    const text = formatRecord(withRun(record, run))
    const spare = yield* spareRecordPath
    yield* fs.writeAtomic(path, text, { mode: 0o600, noFollow: true }).pipe(
      Effect.zipRight(Effect.flatMap(fs.exists(spare), (there) => (there ? fs.remove(spare).pipe(Effect.ignore) : Effect.void))),
      Effect.tapError(() =>
        fs.makeDirectory(fs.at(RUN_DIR), { mode: 0o700 }).pipe(Effect.zipRight(fs.writeAtomic(spare, text, { mode: 0o600, noFollow: true })), Effect.ignore)
      )
    )
  }).pipe(Effect.catchAll((e) => warn(`cannot write the run record: ${e.message}`)))

/**
 * what the user-data check warns about (the document is parsed already when a
 * phase used it); user-data of a type nothing here runs (`#include`,
 * `#cloud-boothook`...) is the check's refusal, as `schema` says it. A script
 * is run as it is: the check has nothing to say of one, and it is not parsed
 * (the parser, YAML and Schema stay unloaded, main's before ssh-ready included)
 */
const userDataWarnings = (type: string) =>
  type !== "missing" && type !== "script"
    ? Effect.gen(function* () {
        const analysis = yield* Effect.flatMap(UserData, (u) => u.analysis)
        const { checkAnalysis, formatProblem } = yield* Effect.promise(() => import("../domain/userdata/validate.js"))
        // a key or entry skipped (or the whole document refused) is worth at least a warning's mention
        const { problems, warnings } = checkAnalysis(analysis)
        return [...problems.map((p) => `invalid user-data: ${formatProblem(p)}`), ...warnings]
      })
    : Effect.succeed<ReadonlyArray<string>>([])

/**
 * When a phase started: the date its record gives (the wall clock's), and
 * the mark on the monotonic clock its duration is measured from, as the
 * wall clock may be stepped meanwhile (NTP setting a wrong clock right)
 */
export interface Started {
  readonly at: number
  readonly mark: number
}

/**
 * Writes the phase's running entry now; `finish` replaces it with the
 * outcome, the user-data's type as it is after the phase (early saves it)
 * and the check's problems and warnings.
 */
export const startRun = (phase: Phase, started: Started, cloud: CloudChoice, userDataType: string) =>
  Effect.gen(function* () {
    const pidStart = yield* processStartOf("self")
    const running: PhaseRun = {
      phase,
      start: new Date(started.at).toISOString(),
      pid: process.pid,
      ...(pidStart !== undefined ? { pidStart } : {}),
      startMark: started.mark,
      cloud: cloud.name,
      cloudChosenBy: cloud.chosenBy,
      userDataType,
      userDataWarnings: [],
      actions: []
    }
    yield* saveRun(running)
    // the outcome is the phase's, whatever becomes of its record
    const finish = (outcome: PhaseOutcome) =>
      Effect.gen(function* () {
        const type = yield* Effect.flatMap(UserData, (u) => u.word)
        const settings = yield* Config
        const configProblems = settings.problems.map((p) => p.message)
        const configWarnings = [unknownSkipsWarning(settings)].filter((w): w is string => w !== undefined)
        yield* saveRun({
          ...running,
          ...(configProblems.length > 0 ? { configProblems } : {}),
          ...(configWarnings.length > 0 ? { configWarnings } : {}),
          durationMs: (yield* monotonicMillis) - started.mark,
          exitStatus: outcome.exitCode,
          userDataType: type,
          userDataWarnings: yield* userDataWarnings(type),
          actions: outcome.actions.map(({ name, result, durationMs, message, errors, metadataUnread }) => ({
            name,
            result,
            durationMs,
            ...(message !== undefined ? { message } : {}),
            ...(errors !== undefined ? { errors } : {}),
            ...(metadataUnread !== undefined ? { metadataUnread } : {})
          }))
        })
      }).pipe(Effect.catchAllCause((cause) => warn(`cannot write the run record: ${describeCause(cause)}`)))
    return { finish }
  })
