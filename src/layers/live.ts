import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { Bootstrap } from "../services/Bootstrap.js"
import { Cloud } from "../services/Cloud.js"
import type { Commands } from "../services/Commands.js"
import { Config } from "../services/Config.js"
import type { Http } from "../services/Http.js"
import { Lock } from "../services/Lock.js"
import { Log, type LogOptions } from "../services/Log.js"
import { Metadata } from "../services/Metadata.js"
import { Network } from "../services/Network.js"
import type { Output } from "../services/Output.js"
import { RootFs } from "../services/RootFs.js"
import { UserData } from "../services/UserData.js"
import { makeBootstrap } from "./BootstrapLive.js"
import { makeCloud, makeMetadata } from "./CloudLive.js"
import { CommandsLive } from "./CommandsLive.js"
import { loadConfig } from "./ConfigLive.js"
import { HttpLive } from "./HttpLive.js"
import { makeLiveLock } from "./LockLive.js"
import { makeLog } from "./LogLive.js"
import { makeNetwork } from "./NetworkLive.js"
import { OutputLive } from "./OutputLive.js"
import { liveRootFs } from "./RootFsLive.js"
import { makeUserData } from "./UserDataLive.js"

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
 * `$ROOT/etc/tiny-cloud.conf`, files under ROOT. Each is made in turn, in
 * the fiber that asks, given those made before it (the log's finalizer in
 * this layer's scope). Layers built by Layer.merge and Layer.provide
 * are built concurrently, a fiber, a scope and a memo map's entry each,
 * which took a third of the CPU of an `imds` run, for services whose making
 * waits on nothing.
 */
export const appLayer = (env: Readonly<Record<string, string | undefined>>, logTag: string, platform: Platform = livePlatform, options: AppOptions = {}) =>
  Layer.scopedContext(
    Effect.flatMap(Scope.Scope, (scope) => {
      /** the service `make` makes, given the services before it */
      const then =
        <I, S, E, R>(tag: Context.Tag<I, S>, make: Effect.Effect<S, E, R>) =>
        <A>(context: Context.Context<A>) =>
          Effect.map(Effect.provide(make, context), (made) => Context.add(context, tag, made))
      /** a part of the platform (tests give their own) */
      const thenLayer =
        <ROut, E, RIn>(layer: Layer.Layer<ROut, E, RIn>) =>
        <A>(context: Context.Context<A>) =>
          Effect.map(Effect.provide(Layer.buildWithScope(layer, scope), context), (built) => Context.merge(context, built))
      return Effect.map(loadConfig(env, options.lenientConfig ?? false), (config) => Context.make(Config, config)).pipe(
        Effect.flatMap(then(RootFs, liveRootFs)),
        Effect.flatMap(thenLayer(platform.commands)),
        Effect.flatMap(thenLayer(platform.http)),
        Effect.flatMap(thenLayer(platform.output)),
        Effect.flatMap(then(Log, Scope.extend(makeLog(logTag, options.log), scope))),
        Effect.flatMap(then(Cloud, makeCloud)),
        Effect.flatMap(then(Metadata, makeMetadata)),
        Effect.flatMap(then(Network, makeNetwork)),
        Effect.flatMap(then(Bootstrap, makeBootstrap)),
        Effect.flatMap(then(UserData, makeUserData)),
        Effect.map(Context.add(Lock, makeLiveLock(env)))
      )
    })
  )
