import { Cause, Effect, Exit, Layer, Option } from "effect"
import { liveLayer, type LiveServices } from "../layers/live.js"

/**
 * Runs a command's program over the live services and exits with its status.
 * Failures print one line naming the problem, never a stack trace.
 */
export const runMain = <E extends { readonly message: string }>(
  program: Effect.Effect<number, E, LiveServices>,
  logTag: string,
  errorPrefix: string
): Promise<never> =>
  Effect.runPromiseExit(Effect.scoped(Layer.build(liveLayer(process.env, logTag)).pipe(Effect.flatMap((ctx) => Effect.provide(program, ctx))))).then(
    (exit) => {
      if (Exit.isSuccess(exit)) return finish(exit.value)
      const failure = Cause.failureOption(exit.cause)
      const message = Option.match(failure, {
        onSome: (e) => (e as { message: string }).message,
        onNone: () => {
          const d = Cause.squash(exit.cause)
          return `internal error: ${d instanceof Error ? d.message : String(d)}`
        }
      })
      process.stderr.write(`${errorPrefix}: ${message}\n`)
      return finish(1)
    }
  )

const finish = (code: number): Promise<never> =>
  new Promise(() => {
    process.exitCode = code
    // let stdout drain before exiting
    process.stdout.write("", () => process.exit(code))
  })
