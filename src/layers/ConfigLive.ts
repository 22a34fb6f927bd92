import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { ConfigError } from "../domain/errors.js"
import { parseConfFile, resolveSettings } from "../domain/settings.js"
import { Config } from "../services/Config.js"

/** `$ROOT/etc/tiny-cloud.conf` and the environment, which wins */
export const loadSettings = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = `${(env.ROOT ?? "").replace(/\/+$/, "")}/etc/tiny-cloud.conf`
    const text = yield* fs.readFileString(path).pipe(
      Effect.catchAll((e) =>
        e._tag === "SystemError" && e.reason === "NotFound"
          ? Effect.succeed("")
          : Effect.fail(new ConfigError({ reason: `cannot read ${path}: ${e.message}` }))
      )
    )
    const file = yield* Either.match(parseConfFile(text), { onLeft: Effect.fail, onRight: Effect.succeed })
    return yield* Either.match(resolveSettings(env, file), { onLeft: Effect.fail, onRight: Effect.succeed })
  })

export const ConfigLive = (env: Readonly<Record<string, string | undefined>>) => Layer.effect(Config, loadSettings(env))
