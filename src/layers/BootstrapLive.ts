import * as Effect from "effect/Effect"
import type { BootstrapShape } from "../services/Bootstrap.js"
import { Config } from "../services/Config.js"
import { APPEND_JOURNAL, DEFAULT_USER_JOURNAL, DIRECTORIES_JOURNAL, RAN_JOURNAL, USERS_JOURNAL } from "../domain/append-journal.js"
import { bootstrapMarker } from "../domain/bootstrap.js"
import { RootFs } from "../services/RootFs.js"

/** the marker in `$TINY_CLOUD_VAR`, the disabled file in `$ROOT/etc` */
export const makeBootstrap: Effect.Effect<BootstrapShape, never, RootFs | Config> = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  const marker = bootstrapMarker(varDir)
  return {
    isComplete: fs.exists(marker),
    markComplete: fs.writeAtomic(marker, "", { noFollow: true }),
    // a first boot asked for again appends its write_files again and runs the user's programs again; it detects its cloud and reads its NoCloud seed
    // again: an image made this way must not give its instances the builder's cloud, hostname and keys
    markIncomplete: Effect.all(
      [
        fs.remove(marker),
        fs.remove(`${varDir}/${APPEND_JOURNAL}`),
        fs.remove(`${varDir}/${USERS_JOURNAL}`),
        fs.remove(`${varDir}/${DEFAULT_USER_JOURNAL}`),
        fs.remove(`${varDir}/${RAN_JOURNAL}`),
        fs.remove(`${varDir}/${DIRECTORIES_JOURNAL}`),
        fs.remove(`${varDir}/.autodetect`),
        fs.remove(`${varDir}/nocloud`, { recursive: true })
      ],
      { discard: true }
    ),
    isDisabled: fs.exists(fs.at("/etc/tiny-cloud.disabled"))
  }
})
