import { Effect, Layer } from "effect"
import { Commands } from "../services/Commands.js"
import { Config } from "../services/Config.js"
import { Log, type Level, type LogShape } from "../services/Log.js"

interface Pending {
  readonly level: Level
  readonly lines: Array<string>
}

/**
 * Lines go to stderr at once; syslog gets them through `logger` when it is
 * installed, one `logger` per run of same-level lines, sent on flush.
 */
export const makeLog = (tag: string) =>
  Effect.gen(function* () {
    const settings = yield* Config
    const commands = yield* Commands
    const pending: Array<Pending> = []
    const service: LogShape = {
      log: (level, message, prefix = "") =>
        Effect.sync(() => {
          if (level === "debug" && !settings.debug) return
          process.stderr.write(`${prefix}${message}\n`)
          const last = pending[pending.length - 1]
          if (last?.level === level) last.lines.push(message)
          else pending.push({ level, lines: [message] })
        }),
      flush: Effect.suspend(() => {
        const batches = pending.splice(0)
        if (batches.length === 0) return Effect.void
        return Effect.gen(function* () {
          if (!(yield* commands.has("logger"))) return
          for (const batch of batches) {
            yield* commands
              .run("logger", ["-p", `local7.${batch.level === "warn" ? "warning" : batch.level}`, "-t", tag], {
                stdin: `${batch.lines.join("\n")}\n`,
                allowFailure: true
              })
              .pipe(Effect.ignore)
          }
        })
      })
    }
    return service
  })

export const LogLive = (tag: string) => Layer.scoped(Log, Effect.flatMap(makeLog(tag), (log) => Effect.as(Effect.addFinalizer(() => log.flush), log)))
