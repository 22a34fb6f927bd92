import { Context, Effect } from "effect"
import { Config } from "./Config.js"
import { RootFs, type FsError } from "./RootFs.js"

export interface BootstrapShape {
  readonly isComplete: Effect.Effect<boolean>
  readonly markComplete: Effect.Effect<void, FsError>
  readonly markIncomplete: Effect.Effect<void, FsError>
  readonly isDisabled: Effect.Effect<boolean>
}

export class Bootstrap extends Context.Tag("tiny-cloud/Bootstrap")<Bootstrap, BootstrapShape>() {}

export const makeBootstrap = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  const marker = `${varDir}/.bootstrap-complete`
  return {
    isComplete: fs.exists(marker),
    markComplete: fs.writeAtomic(marker, ""),
    markIncomplete: fs.remove(marker),
    isDisabled: fs.exists(fs.at("/etc/tiny-cloud.disabled"))
  } satisfies BootstrapShape
})
