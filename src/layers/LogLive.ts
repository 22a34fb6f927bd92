import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Commands, type LineSink } from "../services/Commands.js"
import { Config } from "../services/Config.js"
import { Log, type Level, type LogOptions, type LogShape } from "../services/Log.js"
import { Output } from "../services/Output.js"

const PRIORITY: Readonly<Record<Level, string>> = { debug: "debug", info: "info", notice: "notice", warn: "warning", err: "err" }

/**
 * Each line goes to stderr and, when `logger` is installed, to syslog at
 * once: facility local7, tag `TAG[PID]`, through one long-lived `logger` per
 * level (a line is in its pipe before the program goes on, so a killed
 * process has logged everything up to its death).
 */
export const makeLog = (tag: string, options: LogOptions = {}) =>
  Effect.gen(function* () {
    const settings = yield* Config
    const commands = yield* Commands
    const output = yield* Output
    const hasLogger = yield* commands.has("logger")
    const sinks = new Map<Level, Option.Option<LineSink>>()
    const sinkFor = (level: Level) =>
      Effect.suspend(() => {
        const known = sinks.get(level)
        if (known !== undefined) return Effect.succeed(known)
        return commands.stream("logger", ["-p", `local7.${PRIORITY[level]}`, "-t", `${tag}[${process.pid}]`]).pipe(
          Effect.option,
          Effect.tap((sink) => Effect.sync(() => sinks.set(level, sink)))
        )
      })
    const toStderr = (level: Level, message: string, prefix: string) =>
      options.stderr !== "errors" ? output.stderr(`${prefix}${message}\n`) : level === "err" ? output.stderr(`${tag}: ${message}\n`) : Effect.void
    const service: LogShape = {
      log: (level, message, prefix = "") =>
        level === "debug" && !settings.debug
          ? Effect.void
          : Effect.zipRight(
              toStderr(level, message, prefix),
              hasLogger ? Effect.flatMap(sinkFor(level), Option.match({ onNone: () => Effect.void, onSome: (s) => s.write(message) })) : Effect.void
            )
    }
    return service
  })

export const LogLive = (tag: string, options?: LogOptions) => Layer.effect(Log, makeLog(tag, options))
