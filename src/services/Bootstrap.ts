import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { FsError } from "../domain/errors.js"

/** The bootstrap marker and the disabled file. */
export interface BootstrapShape {
  readonly isComplete: Effect.Effect<boolean>
  readonly markComplete: Effect.Effect<void, FsError>
  /** removes the marker, the first boot's journals, the cloud cache and the NoCloud seed copies: what could not be removed */
  readonly markIncomplete: Effect.Effect<ReadonlyArray<FsError>>
  readonly isDisabled: Effect.Effect<boolean>
}

export class Bootstrap extends Context.Tag("tiny-cloud/Bootstrap")<Bootstrap, BootstrapShape>() {}
