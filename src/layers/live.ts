import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Layer } from "effect"
import { Bootstrap, makeBootstrap } from "../services/Bootstrap.js"
import { CommandsLive } from "./CommandsLive.js"
import { ConfigLive } from "./ConfigLive.js"
import { HttpLive } from "./HttpLive.js"
import { LogLive } from "./LogLive.js"
import { NetworkLive } from "./NetworkLive.js"
import { RootFsLive } from "./RootFsLive.js"

/** everything a command needs but the metadata, over the real system */
export const liveLayer = (env: Readonly<Record<string, string | undefined>>, logTag: string) => {
  const config = ConfigLive(env).pipe(Layer.provide(NodeFileSystem.layer))
  const fs = RootFsLive.pipe(Layer.provide(Layer.merge(config, NodeFileSystem.layer)))
  const base = Layer.mergeAll(config, fs, CommandsLive, HttpLive)
  const log = LogLive(logTag).pipe(Layer.provide(base))
  const rest = Layer.mergeAll(NetworkLive, Layer.effect(Bootstrap, makeBootstrap)).pipe(Layer.provide(base))
  return Layer.mergeAll(base, log, rest)
}

export type LiveServices = Layer.Layer.Success<ReturnType<typeof liveLayer>>

