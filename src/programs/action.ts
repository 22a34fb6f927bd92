import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Ref from "effect/Ref"
import type { Phase } from "../domain/phases.js"
import type { AccountOptions } from "../domain/userdata/model.js"
import type { CloudChoice } from "../services/Cloud.js"

/** State one phase run shares between its actions. */
export interface PhaseRun {
  readonly phase: Phase
  /** CLOUD_USER, which user-data may change for this run */
  readonly cloudUser: Ref.Ref<string>
  /** what user-data asks of CLOUD_USER's account when it is created (home, shell, uid...) */
  readonly cloudUserAccount: Ref.Ref<AccountOptions>
  /** why create_default_user made the account without those options (adduser refused them), for userdata_users to fail with */
  readonly cloudUserAccountRefused: Ref.Ref<string | undefined>
  /** the word naming the saved user-data's type (`missing`, `script`, `cloud-boothook`...) */
  readonly userDataWord: string
  readonly cloud: CloudChoice
  /** user-data problems are logged once per run, by the first action that reads it */
  readonly userDataReported: Ref.Ref<boolean>
  /** apk's indexes were fetched in this run, for the repositories as they are now */
  readonly apkIndexFresh: Ref.Ref<boolean>
  /**
   * set by bootstrap_complete: the marker is written once the run is
   * recorded, as the first boot's last write (a crash before it leaves the
   * final phase to run again, and nothing behind)
   */
  readonly markComplete: Ref.Ref<boolean>
}
export class PhaseContext extends Context.Tag("tiny-cloud/PhaseContext")<PhaseContext, PhaseRun>() {}

/** Any tagged failure with a message fits: the engine logs it and marks the action failed. */
export interface ActionError {
  readonly _tag: string
  readonly message: string
}

/** An action, asking for exactly the services it uses. */
export type Action<R = never> = Effect.Effect<void, ActionError, R>
