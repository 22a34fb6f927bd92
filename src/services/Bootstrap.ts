import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { FsError } from "../domain/errors.js"

/** The bootstrap marker and the disabled file. */
export interface BootstrapShape {
  readonly isComplete: Effect.Effect<boolean>
  readonly markComplete: Effect.Effect<void, FsError>
  readonly markIncomplete: Effect.Effect<void, FsError>
  readonly isDisabled: Effect.Effect<boolean>
}

export class Bootstrap extends Context.Tag("tiny-cloud/Bootstrap")<Bootstrap, BootstrapShape>() {}
