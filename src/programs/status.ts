/**
 * `tiny-cloud status [--json] [--wait [--timeout SECONDS]]`: is the
 * bootstrap done, what failed, how long each phase took; read from the run
 * record and the marker files. Loads neither the engine nor YAML: it runs
 * from login shells while the boot goes on.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { describeState, formatSeconds, isFinished, statusOf, userDataUnsaved, type PhaseRun, type RunRecord, type Status } from "../domain/run-record.js"
import { Bootstrap } from "../services/Bootstrap.js"
import { Output, print } from "../services/Output.js"
import { RootFs } from "../services/RootFs.js"
import { underLockHolder } from "./phase-lock.js"
import { loadRecord, startedAt } from "./status-record.js"
import { SERVER_TITLE } from "../domain/resident.js"
import { oneLine, printable } from "../domain/text.js"

export interface StatusOptions {
  readonly json: boolean
  readonly wait: boolean
  /** with `wait`: give up after this many seconds (exit 3) */
  readonly timeoutSeconds?: number
}

/** how often `--wait` looks again: a small file read and two file tests */
const POLL_INTERVAL = Duration.millis(500)

/** exit status of `--wait` when the timeout passed first */
const TIMED_OUT = 3

/** `--wait` run by a program of the phase that runs */
const underPhase = (timeoutSeconds: number | undefined) =>
  `waiting for the end of the phase this command runs under (a user-data script, runcmd): run in the foreground, it waits ${
    timeoutSeconds === undefined ? "for ever; start it in the background (&) or give --timeout" : "until --timeout passes; start it in the background (&)"
  }`

/** a process's command name (`/proc/PID/comm`), undefined without one */
const commandName = (pid: number | "self") =>
  Effect.flatMap(RootFs, (fs) => fs.readTextIfExists(`/proc/${pid}/comm`)).pipe(
    Effect.map((name) => (Option.isSome(name) ? name.value.trim() : undefined)),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * whether the run's process still runs it: the process of its pid started
 * when the run's did; after a crash or a reboot, another process (another
 * phase, `imds`, this `status`, the resident process of a later boot) may
 * have that pid. A run of an earlier edition, or of a PID namespace whose /proc
 * was not its own, has no start: a process of its pid is the phase's when it
 * is a program's (this one's name) or the resident process's
 */
const phaseAlive = (run: PhaseRun) =>
  Effect.gen(function* () {
    if (run.pidStart !== undefined) return yield* startedAt(run.pid, run.pidStart)
    if (!(yield* Effect.flatMap(RootFs, (fs) => fs.exists(`/proc/${run.pid}`)))) return false
    const name = yield* commandName(run.pid)
    return name === undefined || name === (yield* commandName("self")) || name === SERVER_TITLE.slice(0, 15)
  })

export const currentStatus = Effect.gen(function* () {
  const bootstrap = yield* Bootstrap
  const { record, unreadable } = yield* loadRecord
  const newest = record.runs[record.runs.length - 1]
  const complete = yield* bootstrap.isComplete
  // a running entry whose process is gone is a phase that died; a final one recorded whose marker is not there yet is
  // still running while its process is (it writes the marker after its record, its last write)
  const alive = newest !== undefined && (!isFinished(newest) || (newest.phase === "final" && !complete)) && (yield* phaseAlive(newest))
  const status = statusOf(record, {
    complete,
    disabled: yield* bootstrap.isDisabled,
    isRunning: (pid) => alive && pid === newest.pid
  })
  return { status, record, unreadable }
})

const waitUntilSettled = Effect.repeat(currentStatus, { schedule: Schedule.spaced(POLL_INTERVAL), until: ({ status }) => status.settled })

/**
 * How long a phase of the attempt took, or why it has no duration: an
 * unfinished entry runs only while its process does, the status's live phase
 * (the attempt has one run per phase, in phase order). The state is no guide:
 * after an earlier phase failed it says `failed at ...` while a later phase runs.
 */
export const tookOf = (status: Status) => (run: Pick<PhaseRun, "phase" | "durationMs">): string =>
  run.durationMs !== undefined ? formatSeconds(run.durationMs) : run.phase === status.live ? "running" : "did not finish"

const render = (status: Status): string => {
  const lines = [describeState(status.state)]
  const newest = status.attempt[status.attempt.length - 1]
  if (newest !== undefined) {
    // none kept is not none given: early failed to save it
    const userData = newest.userDataType === "missing" && userDataUnsaved(status.attempt) ? "not saved (save_userdata failed)" : newest.userDataType
    lines.push(`cloud: ${printable(newest.cloud)} (${newest.cloudChosenBy})`, `user-data: ${userData}`)
    const took = tookOf(status)
    for (const run of status.attempt) {
      lines.push(`${run.phase}: ${took(run)}${run.exitStatus ? `, exit ${run.exitStatus}` : ""}`)
    }
  }
  lines.push(...status.errors.map((e) => `error: ${e}`), ...status.warnings.map((w) => `warning: ${w}`))
  // what the record says (edited by hand, or another edition's: a message, a type, a warning) on its one line of
  // printable text, as the phases wrote it, never raw on a terminal
  return `${lines.map(oneLine).join("\n")}\n`
}

/** the record with the derived state */
const renderJson = (status: Status, record: RunRecord): string =>
  `${JSON.stringify({ ...status.state, summary: describeState(status.state), exitStatus: status.exitStatus, errors: status.errors, warnings: status.warnings, ...record }, null, 2)}\n`

export const statusCommand = (options: StatusOptions) =>
  Effect.gen(function* () {
    let timedOut = false
    if (options.wait) {
      // asked by a program of the phase that runs (a user-data script, runcmd, bootcmd), the wait is for its own caller's
      // end: in the background (`status --wait && ... &`, as cloud-init's users write it) it ends with the phase; in the
      // foreground the phase waits for it in turn, which no process can tell from outside: said, and waited as asked
      if (!(yield* currentStatus).status.settled && (yield* underLockHolder)) yield* Effect.flatMap(Output, (o) => o.stderr(`tiny-cloud status: ${underPhase(options.timeoutSeconds)}\n`))
      const waited = options.timeoutSeconds === undefined ? Effect.asSome(waitUntilSettled) : Effect.timeoutOption(waitUntilSettled, Duration.seconds(options.timeoutSeconds))
      timedOut = Option.isNone(yield* waited)
    }
    const { status, record, unreadable } = yield* currentStatus
    // not root: the marker files still tell done from not done
    if (unreadable !== undefined) yield* Effect.flatMap(Output, (o) => o.stderr(`tiny-cloud status: ${unreadable}; the state comes from the marker files alone\n`))
    yield* print(options.json ? renderJson(status, record) : render(status))
    return timedOut ? TIMED_OUT : status.exitStatus
  })
