import * as Layer from "effect/Layer"
import type { Commands } from "../services/Commands.js"
import type { Http } from "../services/Http.js"
import type { LogOptions } from "../services/Log.js"
import type { Output } from "../services/Output.js"
import { BootstrapLive } from "./BootstrapLive.js"
import { CloudLive, MetadataLive } from "./CloudLive.js"
import { CommandsLive } from "./CommandsLive.js"
import { ConfigLive } from "./ConfigLive.js"
import { HttpLive } from "./HttpLive.js"
import { LockLive } from "./LockLive.js"
import { LogLive } from "./LogLive.js"
import { NetworkLive } from "./NetworkLive.js"
import { OutputLive } from "./OutputLive.js"
import { RootFsLive } from "./RootFsLive.js"
import { UserDataLive } from "./UserDataLive.js"

/** the parts that touch the world beyond the instance's files: tests swap these */
export interface Platform {
  readonly commands: Layer.Layer<Commands>
  readonly http: Layer.Layer<Http>
  readonly output: Layer.Layer<Output>
}

export const livePlatform: Platform = { commands: CommandsLive, http: HttpLive, output: OutputLive }

export interface AppOptions {
  /** the configuration with its problems instead of failing (for `tiny-cloud config`) */
  readonly lenientConfig?: boolean
  /** where the command's own lines go besides syslog */
  readonly log?: LogOptions
}

/** every service a command may ask for: configuration from `env` and `$ROOT/etc/tiny-cloud.conf`, files under ROOT */
export const appLayer = (env: Readonly<Record<string, string | undefined>>, logTag: string, platform: Platform = livePlatform, options: AppOptions = {}) => {
  const config = ConfigLive(env, options.lenientConfig ?? false)
  const fs = RootFsLive.pipe(Layer.provide(config))
  const base = Layer.mergeAll(config, fs, platform.commands, platform.http, platform.output)
  const log = LogLive(logTag, options.log).pipe(Layer.provide(base))
  const cloud = CloudLive.pipe(Layer.provide(Layer.merge(base, log)))
  const metadata = MetadataLive.pipe(Layer.provide(Layer.mergeAll(base, log, cloud)))
  const rest = Layer.mergeAll(NetworkLive, BootstrapLive, UserDataLive, LockLive).pipe(Layer.provide(base))
  return Layer.mergeAll(base, log, cloud, metadata, rest)
}
