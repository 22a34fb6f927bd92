/**
 * `tiny-cloud analyze [--json]`: where the last first boot spent its time:
 * every action, slowest first, with a proportional bar; each phase's total;
 * the time from the first phase's start to the end of the last that ended.
 */
import * as Effect from "effect/Effect"
import { formatSeconds, type ActionResult, type PhaseRun } from "../domain/run-record.js"
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
  /** from the first phase's start to the end of `spanEnd`, 0 while no phase has ended */
  readonly spanMs: number
  /** the phase of the attempt that ended last: one running or killed has no end */
  readonly spanEnd?: Phase
}

const endOf = (run: PhaseRun) => Date.parse(run.start) + run.durationMs!

export const analyse = (attempt: ReadonlyArray<PhaseRun>): Analysis => {
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
  const last = attempt.filter((run) => run.durationMs !== undefined).reduce<PhaseRun | undefined>((a, b) => (a === undefined || endOf(b) >= endOf(a) ? b : a), undefined)
  const spanMs = last === undefined ? 0 : endOf(last) - Date.parse(attempt[0]!.start)
  return { actions, phases, spanMs, ...(last !== undefined ? { spanEnd: last.phase } : {}) }
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

const render = ({ actions, phases, spanMs, spanEnd }: Analysis, style: Style, took: (phase: PhaseTotal) => string): string => {
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
    spanEnd !== undefined ? `${formatSeconds(spanMs)} from the start of ${phases[0]!.phase} to the end of ${spanEnd}` : "no phase has ended yet",
    ""
  ].join("\n")
}

export const analyzeCommand = (options: { readonly json: boolean }) =>
  Effect.gen(function* () {
    const { status, unreadable } = yield* currentStatus
    if (unreadable !== undefined) {
      yield* Effect.flatMap(Output, (o) => o.stderr(`tiny-cloud analyze: ${unreadable}\n`))
      return 1
    }
    const attempt = status.attempt
    const analysis = analyse(attempt)
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
