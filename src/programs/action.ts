import { Context, Data, type Effect, type Ref } from "effect"
import type { CloudProvider } from "../layers/clouds/provider.js"
import type { Phase } from "../schema/config.js"
import type { Bootstrap } from "../services/Bootstrap.js"
import type { Commands } from "../services/Commands.js"
import type { Config } from "../services/Config.js"
import type { Log } from "../services/Log.js"
import type { Metadata } from "../services/Metadata.js"
import type { Network } from "../services/Network.js"
import type { RootFs } from "../services/RootFs.js"

/** An action's own reason for failing; the message is logged, so it never holds secrets. */
export class ActionFailed extends Data.TaggedError("ActionFailed")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** State one phase run shares between its actions. */
export interface PhaseRun {
  readonly phase: Phase
  /** CLOUD_USER, which user-data may change for this run */
  readonly cloudUser: Ref.Ref<string>
  /** `missing`, `unknown`, `script`, `alpine-config`, ... */
  readonly userDataType: string
  /** the cloud in use; undefined when none was detected or CLOUD names none we know */
  readonly provider: CloudProvider | undefined
}
export class PhaseContext extends Context.Tag("tiny-cloud/PhaseContext")<PhaseContext, PhaseRun>() {}

export type ActionEnv = Config | RootFs | Commands | Log | Metadata | Network | Bootstrap | PhaseContext

/** Any tagged failure with a message fits: the engine logs it and marks the action failed. */
export interface ActionError {
  readonly _tag: string
  readonly message: string
}

export type Action = Effect.Effect<void, ActionError, ActionEnv>

/** An edit of a phase's action list, applied in order; last one wins. */
export type ActionChange =
  | { readonly phase: Phase; readonly op: "before" | "after"; readonly anchor: string; readonly actions: ReadonlyArray<string> }
  | { readonly phase: Phase; readonly op: "replace"; readonly anchor: string; readonly actions: ReadonlyArray<string> }
  | { readonly phase: Phase; readonly op: "prepend" | "append"; readonly actions: ReadonlyArray<string> }

/** A set of actions plus where they go, as clouds and user-data types declare them. */
export interface ActionPlugin {
  readonly changes?: ReadonlyArray<ActionChange>
  readonly actions?: Readonly<Record<string, Action>>
}
