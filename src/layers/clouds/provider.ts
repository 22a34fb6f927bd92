import type { Effect, Option } from "effect"
import type { ActionPlugin } from "../../programs/action.js"
import type { Commands } from "../../services/Commands.js"
import type { Config } from "../../services/Config.js"
import type { Http } from "../../services/Http.js"
import type { Log } from "../../services/Log.js"
import type { CloudMetadata } from "../../services/Metadata.js"
import type { RootFs } from "../../services/RootFs.js"

export type MetadataDeps = Http | Config | RootFs | Commands | Log

/**
 * One cloud: how to recognise it offline, how to read its metadata, and how
 * it changes the phases' action lists. Adding a cloud is one file like this
 * plus its line in `index.ts`.
 */
export interface CloudProvider extends ActionPlugin, CloudNetworkNeeds {
  readonly name: string
  /** offline detection: a priority when this looks like the cloud (lowest wins) */
  readonly detect?: Effect.Effect<Option.Option<number>, never, RootFs | Commands>
  readonly metadata: Effect.Effect<CloudMetadata, never, MetadataDeps>
}

export interface CloudNetworkNeeds {
  /** whether the boot phase must bring up a link with a one-shot DHCP client first */
  readonly ephemeralNetwork?: Effect.Effect<boolean, never, RootFs | Config>
}
