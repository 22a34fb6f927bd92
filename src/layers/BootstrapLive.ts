import * as Effect from "effect/Effect"
import type { BootstrapShape } from "../services/Bootstrap.js"
import { Config } from "../services/Config.js"
import { FIRST_BOOT_JOURNALS } from "../domain/append-journal.js"
import { bootstrapMarker } from "../domain/bootstrap.js"
import { RootFs } from "../services/RootFs.js"

/** the marker in `$TINY_CLOUD_VAR`, the disabled file in `$ROOT/etc` */
export const makeBootstrap: Effect.Effect<BootstrapShape, never, RootFs | Config> = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  const marker = bootstrapMarker(varDir)
  // (a directory in the place of one of these files, which the phases pass over as damage, goes as the file would)
  const journals = FIRST_BOOT_JOURNALS.map((name) => fs.remove(`${varDir}/${name}`, { recursive: true }))
  return {
    isComplete: fs.exists(marker),
    // once it is there, the journals of the first boot it completes are of none to come: the marker removed by hand (an image
    // builder's `rm`, as the shell edition's --bootstrap incomplete does) asks for a first boot that runs the user's programs again;
    // one that cannot go is left, as --bootstrap incomplete removes them too
    markComplete: Effect.zipRight(fs.writeAtomic(marker, "", { noFollow: true }), Effect.forEach(journals, Effect.ignore, { discard: true })),
    // a first boot asked for again appends its write_files again and runs the user's programs again; it detects its cloud and reads its NoCloud seed
    // again: an image made this way must not give its instances the builder's cloud, hostname and keys
    markIncomplete: Effect.all(
      [fs.remove(marker, { recursive: true }), ...journals, fs.remove(`${varDir}/.autodetect`, { recursive: true }), fs.remove(`${varDir}/nocloud`, { recursive: true })],
      { discard: true }
    ),
    isDisabled: fs.exists(fs.at("/etc/tiny-cloud.disabled"))
  }
})
