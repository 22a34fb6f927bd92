import { Context, Effect } from "effect"

export type Level = "debug" | "info" | "notice" | "warn" | "err"

export interface LogShape {
  /** one line on stderr (after `prefix`, e.g. "   ++ ") and the same message to syslog */
  readonly log: (level: Level, message: string, prefix?: string) => Effect.Effect<void>
  /** sends what is buffered for syslog; run once before exit */
  readonly flush: Effect.Effect<void>
}

export class Log extends Context.Tag("tiny-cloud/Log")<Log, LogShape>() {}

export const info = (message: string) => Effect.flatMap(Log, (l) => l.log("info", message))
export const notice = (message: string) => Effect.flatMap(Log, (l) => l.log("notice", message))
export const warn = (message: string) => Effect.flatMap(Log, (l) => l.log("warn", message))
export const err = (message: string) => Effect.flatMap(Log, (l) => l.log("err", message))
export const debug = (message: string) => Effect.flatMap(Log, (l) => l.log("debug", message))
