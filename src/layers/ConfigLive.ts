import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ConfigError } from "../domain/errors.js"
import { settingsFrom, settingsFromLeniently } from "../domain/settings.js"
import { readConfText } from "./conf-file.js"

const readConf = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.suspend(() => {
    const read = readConfText(env)
    return "text" in read ? Effect.succeed(read.text) : Effect.fail(new ConfigError({ reason: read.problem }))
  })

/** `$ROOT/etc/tiny-cloud.conf` and the environment, which wins; the first problem fails */
const loadSettings = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.flatMap(readConf(env), (text) => Either.match(settingsFrom(env, text), { onLeft: (p) => Effect.fail(new ConfigError({ reason: p.message })), onRight: Effect.succeed }))

/** the same whatever is wrong with it, the problems in `problems` (for `tiny-cloud config`) */
const loadSettingsLeniently = (env: Readonly<Record<string, string | undefined>>) =>
  readConf(env).pipe(
    Effect.map((text) => settingsFromLeniently(env, text)),
    Effect.catchAll((e) => Effect.succeed({ ...settingsFromLeniently(env, ""), problems: [{ message: e.message }] }))
  )

/** `lenient`: the configuration as it is, problems included, instead of failing on the first */
export const loadConfig = (env: Readonly<Record<string, string | undefined>>, lenient = false) => (lenient ? loadSettingsLeniently(env) : loadSettings(env))
