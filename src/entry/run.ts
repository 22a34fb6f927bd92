import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { SIMULATION_ENV } from "../domain/confine.js"
import { liveCommands } from "../layers/CommandsLive.js"
import { liveClock } from "../layers/ClockLive.js"
import { appLayer, livePlatform, type Platform } from "../layers/live.js"
import { SimulationCommands } from "../layers/SimulationCommands.js"
import type { Program, ProgramRoute } from "../programs/cli.js"
import { describeCause } from "../programs/failure.js"
import { exitAfterOutput } from "./exit.js"

/** the live platform; a simulated instance's phases record (or confine) the user's own programs */
const platform = (): Platform => {
  const mode = process.env[SIMULATION_ENV.mode]
  const record = process.env[SIMULATION_ENV.record]
  if ((mode !== "record" && mode !== "exec") || record === undefined) return livePlatform
  return { ...livePlatform, commands: SimulationCommands(liveCommands, mode, (process.env.ROOT ?? "").replace(/\/+$/, ""), record) }
}

/**
 * Runs a command's program over the live services and exits with its status.
 * Failures print one line naming the problem, never a stack trace.
 */
export const runMain = (program: Program, route: ProgramRoute): Promise<never> =>
  Effect.runPromiseExit(
    Effect.scoped(
      Layer.build(appLayer(process.env, route.logTag, platform(), { lenientConfig: route.lenientConfig ?? false, ...(route.log ? { log: route.log } : {}) })).pipe(
        Effect.flatMap((ctx) => Effect.provide(program, ctx))
      )
    ).pipe(Effect.withClock(liveClock))
  ).then(
    (exit) => {
      if (Exit.isSuccess(exit)) return exitAfterOutput(exit.value)
      process.stderr.write(`${route.errorPrefix}: ${describeCause(exit.cause)}\n`)
      return exitAfterOutput(1)
    }
  )
