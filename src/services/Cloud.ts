import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MetadataError } from "../domain/errors.js"
import type * as Option from "effect/Option"
import type { ActionChange } from "../domain/plan.js"

/** The cloud in use, as the phases need it. */
export interface CloudChoice {
  /** the cloud's name; `unknown` when nothing was detected, or the unknown `CLOUD` value as written */
  readonly name: string
  /** whether `name` is a cloud this program knows */
  readonly known: boolean
  /** `CLOUD` named it, or it was detected (`CLOUD=auto`) */
  readonly chosenBy: "configured" | "detected"
  /** the cloud's edits of the phases' action lists */
  readonly changes: ReadonlyArray<ActionChange>
  /** whether the boot phase must bring up a link with a one-shot DHCP client first */
  readonly ephemeralNetwork: Effect.Effect<boolean>
  /** whether its metadata may be read ahead of the phases that use it (by the resident process of a first boot) */
  readonly readAhead: boolean
  /**
   * Tells the cloud the instance is ready, where it waits for that (azure's
   * wireserver); the result names whom it told. A cloud without it fails
   * with MetadataUnsupported, an unknown cloud with NoCloud.
   */
  readonly reportReady: Effect.Effect<string, MetadataError>
}

/** one detector's verdict: the priority it claims when it recognises its cloud (lowest wins) */
export interface DetectorVerdict {
  readonly name: string
  readonly priority: Option.Option<number>
}

/** what offline detection finds now: the cloud (`unknown` when none) and every detector's verdict */
export interface Detection {
  readonly cloud: string
  readonly verdicts: ReadonlyArray<DetectorVerdict>
}

/** The choice is made on first use (a disabled or bootstrapped instance detects nothing) and kept. */
export interface CloudShape {
  readonly choice: Effect.Effect<CloudChoice>
  /** detection run afresh, whatever `CLOUD` says and `.autodetect` holds; nothing is cached */
  readonly detect: Effect.Effect<Detection>
  /** the cloud `.autodetect` names, when it is one the phases take instead of detecting (`unknown` included) */
  readonly cached: Effect.Effect<Option.Option<string>>
}

export class Cloud extends Context.Tag("tiny-cloud/Cloud")<Cloud, CloudShape>() {}
