import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
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

/**
 * every service a command may ask for: configuration from `env` and
 * `$ROOT/etc/tiny-cloud.conf`, files under ROOT. They are built one after
 * another, each given those before it: Layer.merge and Layer.provide build
 * their parts concurrently, a fiber and a scope each, which was a third of
 * the CPU an `imds` run takes, for services whose making waits on nothing.
 */
export const appLayer = (env: Readonly<Record<string, string | undefined>>, logTag: string, platform: Platform = livePlatform, options: AppOptions = {}) =>
  Layer.scopedContext(
    Effect.flatMap(Scope.Scope, (scope) => {
      const then =
        <ROut, E, RIn>(layer: Layer.Layer<ROut, E, RIn>) =>
        <A>(context: Context.Context<A>) =>
          Effect.map(Effect.provide(Layer.buildWithScope(layer, scope), context), (built) => Context.merge(context, built))
      return Layer.buildWithScope(ConfigLive(env, options.lenientConfig ?? false), scope).pipe(
        Effect.flatMap(then(RootFsLive)),
        Effect.flatMap(then(platform.commands)),
        Effect.flatMap(then(platform.http)),
        Effect.flatMap(then(platform.output)),
        Effect.flatMap(then(LogLive(logTag, options.log))),
        Effect.flatMap(then(CloudLive)),
        Effect.flatMap(then(MetadataLive)),
        Effect.flatMap(then(NetworkLive)),
        Effect.flatMap(then(BootstrapLive)),
        Effect.flatMap(then(UserDataLive)),
        Effect.flatMap(then(LockLive))
      )
    })
  )
