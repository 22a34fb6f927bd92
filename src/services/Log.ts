import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

export type Level = "debug" | "info" | "notice" | "warn" | "err"

/** The program's own messages: stderr and syslog. Never user-data, keys or tokens. */
export interface LogShape {
  /** one line on stderr (after `prefix`, e.g. "   ++ ") and the same message to syslog, as it happens */
  readonly log: (level: Level, message: string, prefix?: string) => Effect.Effect<void>
  /** makes ready, before its first line, what sends lines of `level` to syslog (a process to start): said nothing yet */
  readonly prepare?: (level: Level) => Effect.Effect<void>
}

/** Where the lines go besides syslog: every line to stderr (the phases), or only errors, as `TAG: message` (the network helpers) */
export interface LogOptions {
  readonly stderr?: "all" | "errors"
  /** false: no line goes to syslog (work done ahead for a phase, which says its own lines when it runs) */
  readonly syslog?: boolean
}

/** While true in a fiber, its log lines go to syslog only, not to stderr (`imds -E`: the stderr of the keys it hides is the program's own too) */
export const stderrHidden = FiberRef.unsafeMake(false)

export class Log extends Context.Tag("tiny-cloud/Log")<Log, LogShape>() {}

export const info = (message: string) => Effect.flatMap(Log, (l) => l.log("info", message))
export const notice = (message: string) => Effect.flatMap(Log, (l) => l.log("notice", message))
export const warn = (message: string) => Effect.flatMap(Log, (l) => l.log("warn", message))
export const err = (message: string) => Effect.flatMap(Log, (l) => l.log("err", message))
export const debug = (message: string) => Effect.flatMap(Log, (l) => l.log("debug", message))
