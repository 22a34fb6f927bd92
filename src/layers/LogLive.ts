import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { Commands, type LineSink } from "../services/Commands.js"
import { Config } from "../services/Config.js"
import { stderrHidden, type Level, type LogOptions, type LogShape } from "../services/Log.js"
import { Output } from "../services/Output.js"
import { oneLine } from "../domain/text.js"

const PRIORITY: Readonly<Record<Level, string>> = { debug: "debug", info: "info", notice: "notice", warn: "warning", err: "err" }

/**
 * Each line goes to stderr and, when `logger` is installed, to syslog at
 * once: facility local7, tag `TAG[PID]`, through a long-lived `logger` (a
 * line is in its pipe before the program goes on, so a killed process has
 * logged everything up to its death). A `logger` has one priority, so a line
 * of another level ends the current one, once it has sent all it was given,
 * and starts the next: syslog gets the lines in the order they happened.
 * The last `logger` is ended with the program's scope, once it has sent all
 * it was given: when a phase has ended (or answered its client), its lines
 * are in syslog, as when the shell edition ran one `logger` a line.
 * A message is one line of printable text however it was made: a value
 * from outside in it (a user-data path in an error) with a line break or a
 * control character never splits its line nor reaches a terminal raw.
 */
export const makeLog = (tag: string, options: LogOptions = {}) =>
  Effect.gen(function* () {
    const settings = yield* Config
    const commands = yield* Commands
    const output = yield* Output
    const hasLogger = options.syslog !== false && (yield* commands.has("logger"))
    const oneAtATime = yield* Effect.makeSemaphore(1)
    // `used`: given a line; a logger made ready (`prepare`) and given none is stopped, not waited for, when it goes
    let current: { readonly level: Level; readonly sink: Option.Option<LineSink>; used: boolean } | undefined
    const ended = (sink: typeof current) => (sink !== undefined && Option.isSome(sink.sink) ? (sink.used ? sink.sink.value.close : sink.sink.value.discard) : Effect.void)
    const sinkFor = (level: Level) =>
      Effect.suspend(() => {
        const previous = current
        if (previous?.level === level) return Effect.succeed(previous.sink)
        current = undefined
        return Effect.zipRight(
          ended(previous),
          commands.stream("logger", ["-p", `local7.${PRIORITY[level]}`, "-t", `${tag}[${process.pid}]`]).pipe(
            Effect.option,
            Effect.tap((sink) => Effect.sync(() => (current = { level, sink, used: false })))
          )
        )
      })
    const toStderr = (level: Level, message: string, prefix: string) =>
      Effect.flatMap(FiberRef.get(stderrHidden), (hidden) =>
        hidden ? Effect.void : options.stderr !== "errors" ? output.stderr(`${prefix}${message}\n`) : level === "err" ? output.stderr(`${tag}: ${message}\n`) : Effect.void
      )
    yield* Effect.addFinalizer(() => oneAtATime.withPermits(1)(Effect.suspend(() => ended(current))))
    const service: LogShape = {
      prepare: (level) => (hasLogger ? oneAtATime.withPermits(1)(Effect.asVoid(sinkFor(level))) : Effect.void),
      log: (level, text, prefix = "") => {
        if (level === "debug" && !settings.debug) return Effect.void
        const message = oneLine(text)
        return oneAtATime.withPermits(1)(
          Effect.zipRight(
            toStderr(level, message, prefix),
            hasLogger
              ? sinkFor(level).pipe(
                  Effect.tap(() => Effect.sync(() => current !== undefined && (current.used = true))),
                  Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (s) => s.write(message) }))
                )
              : Effect.void
          )
        )
      }
    }
    return service
  })
