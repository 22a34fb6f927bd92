import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { FsError } from "../domain/errors.js"

/** The bootstrap marker and the disabled file. */
export interface BootstrapShape {
  readonly isComplete: Effect.Effect<boolean>
  readonly markComplete: Effect.Effect<void, FsError>
  /** removes the marker, the first boot's journals, the cloud cache and the NoCloud seed copies: what could not be removed */
  readonly markIncomplete: Effect.Effect<ReadonlyArray<FsError>>
  /**
   * the boot phase of a first boot: the NoCloud seed read by an earlier one (left when the marker was removed by hand) is
   * not this one's, which reads its own seed again; with `forgetDetection`, nor the cloud it detected, detected again. What could not be removed
   * and is still there (the later phases take it), with what that costs, and the cloud whose phases alone take it
   */
  readonly beginFirstBoot: (options: { readonly forgetDetection: boolean }) => Effect.Effect<ReadonlyArray<{ readonly error: FsError; readonly kept: string; readonly cloud?: string }>>
  readonly isDisabled: Effect.Effect<boolean>
}

export class Bootstrap extends Context.Tag("tiny-cloud/Bootstrap")<Bootstrap, BootstrapShape>() {}
