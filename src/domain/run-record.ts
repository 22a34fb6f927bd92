/**
 * The run record, `$TINY_CLOUD_VAR/status.json`: what each phase run did,
 * appended run by run, and the state of the bootstrap read from it (for
 * `tiny-cloud status` and `analyze`). It holds names, results, timings and
 * the program's own one-line messages: never user-data content, keys or tokens.
 */
import { isUserDataAction } from "./actions.js"
import { PHASES, type Phase } from "./phases.js"
import { RUN_DIR } from "./resident.js"

export type ActionResult = "done" | "failed" | "skipped" | "unknown"

export interface ActionRun {
  readonly name: string
  readonly result: ActionResult
  readonly durationMs: number
  /** the one-line reason of a failure */
  readonly message?: string
  /** the error lines of an action done all the same (an unknown hotplug module) */
  readonly errors?: ReadonlyArray<string>
  /** failed because the metadata service could not be read (not an absent datum, not a value that cannot be used) */
  readonly metadataUnread?: true
}

export interface PhaseRun {
  readonly phase: Phase
  /** ISO 8601, UTC */
  readonly start: string
  /** the process that ran it, to tell a running phase from one that died */
  readonly pid: number
  /**
   * that process's start (`processStart`): a pid another process has since (a
   * crash's, taken by a later program; a reboot's) is not the phase's. Absent
   * from records of earlier editions, and where /proc is another PID namespace's
   */
  readonly pidStart?: string
  /**
   * the start on the monotonic clock of the process that ran it (ms): the kernel's
   * CLOCK_MONOTONIC, from its boot, which NTP never steps. Within one boot (`pidStart`'s)
   * it gives the time between two phases, their dates only where the clock was not stepped.
   * Absent from records of earlier editions
   */
  readonly startMark?: number
  /** absent while the phase runs */
  readonly durationMs?: number
  readonly exitStatus?: number
  readonly cloud: string
  readonly cloudChosenBy: "configured" | "detected"
  /** the user-data's type word (`missing`, `script`, `cloud-config`, `cloud-boothook`...) */
  readonly userDataType: string
  /** what the user-data check warned about (unknown keys, skipped entries...) */
  readonly userDataWarnings: ReadonlyArray<string>
  /** the configuration's invalid values and lines the phase reported (their keys kept their defaults) */
  readonly configProblems?: ReadonlyArray<string>
  /** what the configuration asks that the phase could not do, though nothing in it is invalid for the phase (SKIP_INIT_ACTIONS naming no action) */
  readonly configWarnings?: ReadonlyArray<string>
  readonly actions: ReadonlyArray<ActionRun>
}

export interface RunRecord {
  readonly version: 1
  readonly runs: ReadonlyArray<PhaseRun>
}

export const emptyRecord: RunRecord = { version: 1, runs: [] }

/** the record keeps this many runs, the newest */
export const MAX_RUNS = 64

/**
 * The most of a record file that is read: MAX_RUNS runs take some hundreds
 * of KiB; a larger file is damaged, and one read whole would cost a phase
 * its memory (or, past 512 MiB, the phase itself: no string holds it)
 */
export const RECORD_MAX_BYTES = 4 * 1024 * 1024

const RESULTS: ReadonlyArray<string> = ["done", "failed", "skipped", "unknown"]

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
const isStrings = (v: unknown): v is ReadonlyArray<string> => Array.isArray(v) && v.every((s) => typeof s === "string")
// past 2^53 a number is no count a run could have written (a mark of 1e300 made a span of 1e297 s)
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0

const isActionRun = (v: unknown): v is ActionRun =>
  isObject(v) &&
  typeof v.name === "string" &&
  RESULTS.includes(v.result as string) &&
  isCount(v.durationMs) &&
  (v.message === undefined || typeof v.message === "string") &&
  (v.errors === undefined || isStrings(v.errors)) &&
  (v.metadataUnread === undefined || v.metadataUnread === true)

const isPhaseRun = (v: unknown): v is PhaseRun =>
  isObject(v) &&
  (PHASES as ReadonlyArray<unknown>).includes(v.phase) &&
  typeof v.start === "string" &&
  !Number.isNaN(Date.parse(v.start)) &&
  isCount(v.pid) &&
  (v.pidStart === undefined || typeof v.pidStart === "string") &&
  (v.startMark === undefined || isCount(v.startMark)) &&
  (v.durationMs === undefined || isCount(v.durationMs)) &&
  // a run that ended has its duration (the phase writes both at once): analyze's span ends there
  (v.exitStatus === undefined || (isCount(v.exitStatus) && v.durationMs !== undefined)) &&
  typeof v.cloud === "string" &&
  (v.cloudChosenBy === "configured" || v.cloudChosenBy === "detected") &&
  typeof v.userDataType === "string" &&
  isStrings(v.userDataWarnings) &&
  (v.configProblems === undefined || isStrings(v.configProblems)) &&
  (v.configWarnings === undefined || isStrings(v.configWarnings)) &&
  Array.isArray(v.actions) &&
  v.actions.every(isActionRun)

/** whether a record file's text is not a record at all (cut short, overwritten, another format) */
export const isDamagedRecord = (text: string): boolean => {
  try {
    const data: unknown = JSON.parse(text)
    return !(isObject(data) && data.version === 1 && Array.isArray(data.runs))
  } catch {
    return true
  }
}

/** The record in a file's text; what is not a run (a damaged file, another version) is left out. */
export const parseRecord = (text: string): RunRecord => {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return emptyRecord
  }
  return isObject(data) && data.version === 1 && Array.isArray(data.runs) ? { version: 1, runs: data.runs.filter(isPhaseRun) } : emptyRecord
}

/**
 * When the process of a `/proc/PID/stat` text started, in the boot of
 * `bootId` (`systemBoot`): its start time (the 22nd
 * field, clock ticks since the boot) alone may well be the same in two boots
 * that start the same programs in the same order. Undefined for a zombie (a
 * process that has ended) and for a text that is no stat line. The command
 * name, in parentheses, may hold anything: the fields are counted from its last ')'.
 */
export const processStart = (stat: string, bootId: string): string | undefined => {
  const ticks = startTicks(stat)
  return ticks === undefined ? undefined : `${bootId.trim()}/${ticks}`
}

const startTicks = (stat: string): string | undefined => {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const ticks = fields[19]
  return stat.lastIndexOf(")") < 0 || ticks === undefined || !/^\d+$/.test(ticks) || fields[0] === "Z" ? undefined : ticks
}

/**
 * The boot of the system a process runs in, as `processStart` takes it: the
 * kernel's boot id and, where `/proc/1/stat` is read, when its init started.
 * A container started again on the same host kernel has the host's boot id,
 * and an init of its own each time: another boot of its own.
 */
export const systemBoot = (bootId: string, initStat: string | undefined): string => {
  const init = initStat === undefined ? undefined : startTicks(initStat)
  return init === undefined ? bootId.trim() : `${bootId.trim()}@${init}`
}

/** `run` in place of the entry of the same process, phase and start (its running entry), else appended; the newest MAX_RUNS kept */
export const withRun = (record: RunRecord, run: PhaseRun): RunRecord => {
  const same = (r: PhaseRun) => r.pid === run.pid && r.phase === run.phase && r.start === run.start
  const runs = [...record.runs.filter((r) => !same(r)), run]
  return { version: 1, runs: runs.slice(-MAX_RUNS) }
}

export const formatRecord = (record: RunRecord): string => `${JSON.stringify(record, null, 2)}\n`

const order = (phase: Phase) => PHASES.indexOf(phase)

/** the boot a run was made in (its pidStart's `systemBoot`), undefined where it is not known */
export const kernelBoot = (run: PhaseRun): string | undefined => {
  const id = run.pidStart?.slice(0, Math.max(0, run.pidStart.lastIndexOf("/")))
  return id === "" ? undefined : id
}

/** a final phase's run that completed the bootstrap (its marker written; one it could not write is recorded failed) */
const completedBootstrap = (run: PhaseRun): boolean => run.phase === "final" && run.actions.some((a) => a.name === "bootstrap_complete" && a.result === "done")

/**
 * The runs of the latest bootstrap attempt: the newest run of each phase
 * since the run that began it, in phase order. A phase run again by hand
 * replaces its earlier run; a new boot starts a new attempt, and so does a
 * phase run after one that completed the bootstrap (none runs while the
 * marker is there: it was removed, and the phases run by hand, not from a
 * boot), so that an earlier first boot's runs are not taken for this one's.
 * A boot run in the same boot of the system as the attempt's first run
 * (`systemBoot`: a container started again is another), before any final run
 * (the boot service started again by an operator, or its client running boot
 * after the resident process died during it), is the same first boot: its
 * early and main still count.
 */
export const currentAttempt = (runs: ReadonlyArray<PhaseRun>): ReadonlyArray<PhaseRun> => {
  const latest = new Map<Phase, PhaseRun>()
  for (const r of runs.slice(attemptStart(runs))) latest.set(r.phase, r)
  return [...latest.values()].sort((a, b) => order(a.phase) - order(b.phase))
}

/** where `currentAttempt`'s attempt begins in `runs`: the run that began it (a boot run, or the first after a completed final), or 0 */
export const attemptStart = (runs: ReadonlyArray<PhaseRun>): number => {
  let start = 0
  runs.forEach((r, i) => {
    if (r.phase === "boot") {
      const begun = runs[start]
      const same = begun !== undefined && begun !== r && kernelBoot(r) !== undefined && kernelBoot(r) === kernelBoot(begun) && !runs.slice(start, i).some((x) => x.phase === "final")
      if (!same) start = i
    } else if (completedBootstrap(r) && i + 1 < runs.length) start = i + 1
  })
  return start
}

export const isFinished = (run: PhaseRun): boolean => run.exitStatus !== undefined

/**
 * Whether the newest boot run follows a boot run that never ended (its
 * process killed: the resident process SIGKILLed during boot, whose client
 * runs boot again at once, or a power cut): only then can a program the
 * killed run started still be running.
 */
export const followsKilledBoot = (runs: ReadonlyArray<PhaseRun>): boolean => {
  const boots = runs.filter((r) => r.phase === "boot")
  const before = boots[boots.length - 2]
  return before !== undefined && !isFinished(before) && runs.indexOf(before) === runs.indexOf(boots[boots.length - 1]!) - 1
}

/**
 * Whether the latest attempt's early phase failed to save the user-data
 * (too large, undecodable, a full disk, a metadata service that did not
 * answer): its `missing` type is then no user-data kept, not none given.
 */
export const userDataUnsaved = (runs: ReadonlyArray<PhaseRun>): boolean =>
  currentAttempt(runs).some((run) => run.phase === "early" && run.actions.some((a) => a.name === "save_userdata" && a.result === "failed"))

/**
 * The mark early leaves when save_userdata failed this boot, in the run directory (emptied at each boot), not in
 * the state directory: where the user-data could not be saved, replaced or removed there (read-only, immutable, full),
 * neither can the record be written, and an earlier instance's user-data left there must not count as this one's
 */
export const USERDATA_UNSAVED = `${RUN_DIR}/user-data.unsaved`

/**
 * Whether the newest run is the running entry of the final phase of process
 * `pid`: only such a record is asked what came before final, as one that
 * could not be written (a full state directory) lacks the ends of phases that
 * did end, and the starts of phases that did run.
 */
const ownFinalRunning = (runs: ReadonlyArray<PhaseRun>, pid: number): boolean => {
  const newest = runs[runs.length - 1]
  return newest !== undefined && newest.phase === "final" && newest.pid === pid && !isFinished(newest)
}

/**
 * For the final phase of process `pid`, running: the first earlier phase of
 * its attempt that has not ended. `started` when its run never ended (killed);
 * not when a first boot's attempt, which begins with its boot phase, has no
 * run of it at all (killed before it recorded its start, as the resident
 * process may be once it took the phase; or never started, as OpenRC starts
 * neither early nor main when the network they need did not come up). An
 * attempt without a boot run (phases run by hand) lacks no phase it did not run.
 * Asked as `ownFinalRunning` says.
 */
export const unfinishedBeforeFinal = (runs: ReadonlyArray<PhaseRun>, pid: number): { readonly phase: Phase; readonly started: boolean } | undefined => {
  if (!ownFinalRunning(runs, pid)) return undefined
  const attempt = currentAttempt(runs)
  const expected = attempt[0]!.phase === "boot" ? PHASES : attempt.map((r) => r.phase)
  for (const phase of expected.filter((p) => p !== "final")) {
    const run = attempt.find((r) => r.phase === phase)
    if (run === undefined || !isFinished(run)) return { phase, started: run !== undefined }
  }
  return undefined
}

/**
 * For the final phase of process `pid`, running: the first action of an
 * earlier phase of its attempt that failed because the metadata service
 * could not be read, with its phase; asked as `ownFinalRunning` says.
 */
export const unreadBeforeFinal = (runs: ReadonlyArray<PhaseRun>, pid: number): { readonly phase: Phase; readonly action: string } | undefined => {
  if (!ownFinalRunning(runs, pid)) return undefined
  for (const run of currentAttempt(runs)) {
    const action = run.phase !== "final" ? run.actions.find((a) => a.metadataUnread === true) : undefined
    if (action !== undefined) return { phase: run.phase, action: action.name }
  }
  return undefined
}

/** what `tiny-cloud status` says */
export type State =
  | { readonly state: "not started" }
  | { readonly state: "running"; readonly phase?: Phase; readonly after?: Phase }
  | { readonly state: "done" }
  | { readonly state: "done with errors" }
  | { readonly state: "failed"; readonly phase: Phase; readonly action?: string; readonly message: string }
  | { readonly state: "disabled" }

export interface Status {
  readonly state: State
  /** 0 done, not finished or disabled; 1 failed; 2 done with errors */
  readonly exitStatus: 0 | 1 | 2
  /** nothing more will happen without someone acting: the final phase has run, or the bootstrap is complete, or disabled */
  readonly settled: boolean
  readonly attempt: ReadonlyArray<PhaseRun>
  /** the phase of the attempt whose process still runs it (a failed earlier phase does not stop it) */
  readonly live?: Phase
  /** the failed actions but the one the state names, and the error lines of actions done all the same, as `PHASE/ACTION: MESSAGE`, each message once */
  readonly errors: ReadonlyArray<string>
  /** the configuration's problems (an unknown action of INIT_ACTIONS_* or SKIP_INIT_ACTIONS among them) and the user-data check's warnings, as `configuration: PROBLEM` and `user-data: WARNING` */
  readonly warnings: ReadonlyArray<string>
}

export interface Facts {
  readonly complete: boolean
  readonly disabled: boolean
  /** whether the process that wrote a running entry still runs */
  readonly isRunning: (pid: number) => boolean
}

/** the first core failure of the attempt: a failed core action, or a phase that died before it ended */
const failureOf = (attempt: ReadonlyArray<PhaseRun>, live: PhaseRun | undefined): State | undefined => {
  for (const run of attempt) {
    const failed = run.actions.find((a) => a.result === "failed" && !isUserDataAction(a.name))
    if (failed !== undefined) return { state: "failed", phase: run.phase, action: failed.name, message: failed.message ?? "failed" }
    if (!isFinished(run) && run !== live) return { state: "failed", phase: run.phase, message: "the phase ended before it finished (process gone)" }
  }
  return undefined
}

/**
 * `PHASE/ACTION: MESSAGE`, one line per message: user-data that cannot be
 * used at all fails every user-data action with the same message, one problem
 * (`main/userdata_user and 16 more actions: ...`); up to three are all named
 * (`main/set_hostname, main/set_ssh_keys: ...`, a metadata service unread)
 */
const sayOnce = (errors: ReadonlyArray<{ readonly where: string; readonly message: string }>): ReadonlyArray<string> => {
  // an action that said a line twice (a hotplug module listed twice) is one action
  const byMessage = new Map<string, ReadonlyArray<string>>()
  for (const { where, message } of errors) byMessage.set(message, [...new Set([...(byMessage.get(message) ?? []), where])])
  return [...byMessage].map(([message, where]) => `${where.length > 3 ? `${where[0]} and ${where.length - 1} more actions` : where.join(", ")}: ${message}`)
}

/** The state of the bootstrap, from the record and the marker files. */
export const statusOf = (record: RunRecord, facts: Facts): Status => {
  const attempt = currentAttempt(record.runs)
  const newest = record.runs[record.runs.length - 1]
  // final's record is written before the marker: while its process is still there, the phase is not over
  const finishing = newest !== undefined && newest.phase === "final" && !facts.complete
  const live = newest !== undefined && (!isFinished(newest) || finishing) && facts.isRunning(newest.pid) ? newest : undefined
  // a failure wins over everything else, being disabled afterwards included
  const failure = failureOf(attempt, live)
  // every other failed action: a value it cannot use fails a core action alone, and the phase goes on (a second may fail)
  const named = (phase: Phase, a: ActionRun) => failure?.state === "failed" && failure.phase === phase && failure.action === a.name
  const errors = sayOnce(attempt.flatMap((r) =>
    r.actions.flatMap((a) => [
      ...(a.result === "failed" && !named(r.phase, a) ? [a.message ?? "failed"] : []),
      // what an action said was wrong, though it went on (an unknown hotplug module): its work is not all done;
      // save_userdata's lines of the user-data check are the run's check warnings already
      ...(a.result === "done" ? (a.errors ?? []).filter((e) => !r.userDataWarnings.includes(e)) : [])
    ].map((message) => ({ where: `${r.phase}/${a.name}`, message })))
  ))
  const lastDone = [...attempt].reverse().find(isFinished)
  // an action INIT_ACTIONS_* names that does not exist (a typo: `config` calls it invalid) is passed over by the phase, its work undone
  const unknown = attempt.flatMap((r) =>
    r.actions.filter((a) => a.result === "unknown").map((a) => `INIT_ACTIONS_${r.phase.toUpperCase()}: unknown action '${a.name}', passed over`)
  )
  const warnings = [
    ...[...(lastDone?.configProblems ?? []), ...unknown, ...(lastDone?.configWarnings ?? [])].map((p) => `configuration: ${p}`),
    ...(lastDone?.userDataWarnings ?? []).map((w) => `user-data: ${w}`)
  ]
  const status = (state: State, exitStatus: 0 | 1 | 2, settled: boolean): Status => ({
    state,
    exitStatus,
    settled,
    attempt,
    ...(live !== undefined ? { live: live.phase } : {}),
    errors,
    warnings
  })
  const finalDone = attempt.some((r) => r.phase === "final" && isFinished(r))
  const settled = live === undefined && (finalDone || facts.complete || facts.disabled)
  if (failure !== undefined) return status(failure, 1, settled)
  // disabled while a phase still runs: that phase goes on to its end, and --wait waits for it
  if (facts.disabled) return status({ state: "disabled" }, 0, settled)
  if (live !== undefined) return status({ state: "running", phase: live.phase }, 0, false)
  if (facts.complete) return errors.length + warnings.length > 0 ? status({ state: "done with errors" }, 2, true) : status({ state: "done" }, 0, true)
  // nothing ran yet; or the final phase ran and the marker is gone (`--bootstrap incomplete`): the next boot runs it again
  if (attempt.length === 0 || finalDone) return status({ state: "not started" }, 0, false)
  return status({ state: "running", after: attempt[attempt.length - 1]!.phase }, 0, false)
}

/** `0.840s` */
export const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(3)}s`

/** `failed at main/set_ssh_keys: MESSAGE`, `running main`... */
export const describeState = (state: State): string => {
  switch (state.state) {
    case "failed":
      return `failed at ${state.phase}${state.action !== undefined ? `/${state.action}` : ""}: ${state.message}`
    case "running":
      return state.phase !== undefined ? `running ${state.phase}` : `running (${state.after ?? "boot"} done)`
    default:
      return state.state
  }
}
