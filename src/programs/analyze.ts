/**
 * `tiny-cloud analyze [--json]`: where the last first boot spent its time:
 * every action, slowest first, with a proportional bar; each phase's total;
 * the time from the first phase's start to the end of the last that ended.
 */
import * as Effect from "effect/Effect"
import { attemptStart, currentAttempt, formatSeconds, isFinished, kernelBoot, type ActionResult, type PhaseRun } from "../domain/run-record.js"
import type { Phase } from "../domain/phases.js"
import { Config } from "../services/Config.js"
import { Output, print } from "../services/Output.js"
import { printable } from "../domain/text.js"
import { currentStatus, tookOf } from "./status.js"

export interface TimedAction {
  readonly phase: Phase
  readonly name: string
  readonly result: ActionResult
  readonly durationMs: number
  readonly message?: string
}

export interface PhaseTotal {
  readonly phase: Phase
  readonly start: string
  /** the phase's run, start to end (absent until it ends) */
  readonly durationMs?: number
  /** its actions' durations added up */
  readonly actionsMs: number
  readonly exitStatus?: number
}

export interface Analysis {
  /** slowest first */
  readonly actions: ReadonlyArray<TimedAction>
  readonly phases: ReadonlyArray<PhaseTotal>
  /** from the start of `spanStart` to the end of `spanEnd`, 0 while no phase has ended or when the clock was set back */
  readonly spanMs: number
  /** the phase of the attempt that ran first */
  readonly spanStart?: Phase
  /** the phase of the attempt that ended last: one running or killed has no end */
  readonly spanEnd?: Phase
  /** the wall clock was set back between two phases of the attempt (NTP on a first boot): their dates give no span, nor did the clock their starts were marked on (another boot's, an earlier edition's record) */
  readonly clockSetBack?: true
}

const endOf = (run: PhaseRun) => Date.parse(run.start) + run.durationMs!

/**
 * the time from `first`'s start to `last`'s end on the monotonic clock their starts were marked on, where both were
 * in one boot of the kernel: the wall clock's dates include whatever NTP stepped it by meanwhile (a clock at 1970 set
 * right between boot and early made it 56 years)
 */
const monotonicSpan = (first: PhaseRun, last: PhaseRun): number | undefined => {
  if (first.startMark === undefined || last.startMark === undefined || kernelBoot(first) === undefined || kernelBoot(first) !== kernelBoot(last)) return undefined
  const span = last.startMark + last.durationMs! - first.startMark
  // marks that contradict the record's order (a record edited or damaged) give no span: the dates do
  return span >= 0 ? span : undefined
}

/** the last first boot's runs (`runs`' attempt), timed; the order they ran in is the record's (one phase at a time), not their dates' */
export const analyse = (runs: ReadonlyArray<PhaseRun>): Analysis => {
  const attempt = currentAttempt(runs)
  const actions = attempt
    .flatMap((run) => run.actions.map((a): TimedAction => ({ phase: run.phase, ...a })))
    .map((a, i) => ({ a, i }))
    .sort((x, y) => y.a.durationMs - x.a.durationMs || x.i - y.i)
    .map(({ a }) => a)
  const phases = attempt.map(
    (run): PhaseTotal => ({
      phase: run.phase,
      start: run.start,
      ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
      actionsMs: run.actions.reduce((sum, a) => sum + a.durationMs, 0),
      ...(run.exitStatus !== undefined ? { exitStatus: run.exitStatus } : {})
    })
  )
  // a boot run again before final (rc-service tiny-cloud-boot restart) replaces the one that began the first boot, whose start is the span's
  const begun = runs[attemptStart(runs)]
  const ran = runs.filter((run) => attempt.includes(run) || (run === begun && run.phase === "boot"))
  const ended = ran.filter(isFinished)
  const [first, last] = [ran[0], ended[ended.length - 1]]
  const marked = last === undefined ? undefined : monotonicSpan(first!, last)
  const setBack = marked === undefined && ran.some((run, i) => i > 0 && Date.parse(run.start) < Math.max(...ran.slice(0, i).filter(isFinished).map(endOf)))
  const spanMs = last === undefined || setBack ? 0 : (marked ?? endOf(last) - Date.parse(first!.start))
  return { actions, phases, spanMs, ...(last !== undefined ? { spanStart: first!.phase, spanEnd: last.phase } : {}), ...(setBack ? { clockSetBack: true as const } : {}) }
}

const BAR_WIDTH = 30

interface Style {
  /** drawing character of the bars */
  readonly block: string
  readonly colour: boolean
}

/**
 * Plain ASCII and no colour unless stdout is a terminal; block characters
 * only on a UTF-8 terminal that is not a serial or virtual console.
 */
const styleFor = (isTerminal: boolean, env: Readonly<Record<string, string>>): Style => {
  const term = env.TERM ?? ""
  const utf8 = /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || "")
  const console = term === "" || term === "dumb" || term === "linux" || term.startsWith("vt")
  return {
    block: isTerminal && utf8 && !console ? "\u2588" : "#",
    colour: isTerminal && term !== "dumb" && (env.NO_COLOR ?? "") === ""
  }
}

const red = (text: string, style: Style) => (style.colour ? `\x1b[31m${text}\x1b[0m` : text)

const spanLine = ({ spanMs, spanStart, spanEnd, clockSetBack }: Analysis) =>
  spanEnd === undefined
    ? "no phase has ended yet"
    : `${clockSetBack ? "no span" : formatSeconds(spanMs)} from the start of ${spanStart!} to the end of ${spanEnd}${clockSetBack ? ": the clock was set back between two phases" : ""}`

const render = (analysis: Analysis, style: Style, took: (phase: PhaseTotal) => string): string => {
  const { actions, phases } = analysis
  const longest = Math.max(1, ...actions.map((a) => a.durationMs))
  // a name from tiny-cloud.conf as written, on one line: an action's own name is unchanged
  const shown = actions.map((a) => printable(a.name))
  const nameWidth = Math.max(6, ...shown.map((n) => n.length))
  const rows = actions.map((a, i) => {
    const bar = style.block.repeat(Math.round((a.durationMs / longest) * BAR_WIDTH))
    const row = `${formatSeconds(a.durationMs).padStart(9)}  ${a.phase.padEnd(5)}  ${shown[i]!.padEnd(nameWidth)}  ${a.result.padEnd(7)}  ${bar}`.trimEnd()
    return a.result === "failed" ? red(row, style) : row
  })
  const totals = phases.map(
    (p) => `${p.phase.padEnd(5)}  ${formatSeconds(p.actionsMs).padStart(9)}  ${took(p).padStart(9)}`
  )
  return [
    `${"DURATION".padStart(9)}  PHASE  ${"ACTION".padEnd(nameWidth)}  RESULT`,
    ...rows,
    "",
    `PHASE  ${"ACTIONS".padStart(9)}  ${"RUN".padStart(9)}`,
    ...totals,
    "",
    spanLine(analysis),
    ""
  ].join("\n")
}

export const analyzeCommand = (options: { readonly json: boolean }) =>
  Effect.gen(function* () {
    const { status, record, unreadable } = yield* currentStatus
    if (unreadable !== undefined) {
      yield* Effect.flatMap(Output, (o) => o.stderr(`tiny-cloud analyze: ${unreadable}\n`))
      return 1
    }
    const attempt = status.attempt
    const analysis = analyse(record.runs)
    if (options.json) {
      yield* print(`${JSON.stringify(analysis, null, 2)}\n`)
      return 0
    }
    if (attempt.length === 0) {
      yield* print("no phase has run yet\n")
      return 0
    }
    const output = yield* Output
    yield* print(render(analysis, styleFor(output.isTerminal === true, (yield* Config).values), tookOf(status)))
    return 0
  })
