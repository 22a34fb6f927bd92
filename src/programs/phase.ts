import { Effect, Layer, Option, Ref } from "effect"
import { MetadataFor, providerNamed, resolveCloud } from "../layers/CloudLive.js"
import type { Phase } from "../schema/config.js"
import { Bootstrap } from "../services/Bootstrap.js"
import { Config } from "../services/Config.js"
import { info, warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { PhaseContext } from "./action.js"
import { CORE_ACTIONS } from "./actions/index.js"
import { runActions } from "./engine.js"
import { planPhase } from "./plan.js"
import { handlerFor } from "./userdata/handlers.js"
import { savedUserDataType } from "./userdata/type.js"

/** One phase of the first boot, as OpenRC runs it; the result is the exit status. */
export const runPhase = (phase: Phase) =>
  Effect.gen(function* () {
    const bootstrap = yield* Bootstrap
    if (yield* bootstrap.isDisabled) {
      yield* info("tiny-cloud disabled")
      return 0
    }
    if (yield* bootstrap.isComplete) {
      yield* info("already bootstrapped")
      return 0
    }
    const settings = yield* Config
    yield* Effect.forEach(settings.warnings, warn, { discard: true })
    const cloud = yield* resolveCloud
    const provider = providerNamed(cloud)
    const fs = yield* RootFs
    const saved = yield* fs.readFileIfExists(`${settings.varDir}/user-data`).pipe(Effect.orElseSucceed(() => Option.none<Uint8Array>()))
    const type = savedUserDataType(saved)
    const handler = handlerFor(type)
    const plan = planPhase(phase, settings.initActions[phase], provider?.changes, handler.changes)
    const registry = { ...CORE_ACTIONS, ...provider?.actions, ...handler.actions }
    const context = PhaseContext.of({ phase, cloudUser: yield* Ref.make(settings.cloudUser), userDataType: type, provider })
    const outcome = yield* runActions(phase, plan, new Set(settings.skipActions), registry).pipe(
      Effect.provide(Layer.merge(MetadataFor(provider, cloud), Layer.succeed(PhaseContext, context)))
    )
    return outcome.exitCode
  })
