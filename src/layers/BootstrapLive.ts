import * as Effect from "effect/Effect"
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { BootstrapShape } from "../services/Bootstrap.js"
import { Config } from "../services/Config.js"
import { FIRST_BOOT_JOURNALS } from "../domain/append-journal.js"
import { bootstrapMarker } from "../domain/bootstrap.js"
import { RootFs } from "../services/RootFs.js"

/** the marker in `$TINY_CLOUD_VAR`, the disabled file in `$ROOT/etc` */
export const makeBootstrap: Effect.Effect<BootstrapShape, never, RootFs | Config> = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir, cloud } = yield* Config
  const marker = bootstrapMarker(varDir)
  const journals = FIRST_BOOT_JOURNALS.map((name) => `${varDir}/${name}`)
  // (a directory in the place of one of these files, which the phases pass over as damage, goes as the file would)
  const remove = (path: string) => fs.remove(path, { recursive: true })
  return {
    // a regular file, as the shell edition tests it (`[ -f ]`): a directory in its place (a `mkdir` by mistake) is no marker
    isComplete: fs.isFile(marker),
    // once it is there, the journals of the first boot it completes are of none to come: the marker removed by hand (an image
    // builder's `rm`, as the shell edition's --bootstrap incomplete does) asks for a first boot that runs the user's programs again;
    // one that cannot go is left, as --bootstrap incomplete removes them too
    // (a marker there already is kept as it is: a state directory that takes no file now, full or read-only, has what was asked;
    // and a link to a regular file, which isComplete takes as the marker as the shell edition's `[ -f ]` and `touch` do)
    markComplete: Effect.zipRight(
      Effect.flatMap(fs.isFile(marker), (there) => (there ? Effect.void : fs.writeAtomic(marker, "", { noFollow: true }))),
      Effect.forEach(journals, (path) => Effect.ignore(remove(path)), { discard: true })
    ),
    // a first boot asked for again appends its write_files again and runs the user's programs again; it detects its cloud and reads its NoCloud seed
    // again: an image made this way must not give its instances the builder's cloud, hostname and keys. Each goes whatever
    // another does: one that cannot (a file made immutable) keeps neither the cloud cache nor the seed from going
    markIncomplete: Effect.map(
      Effect.forEach([marker, ...journals, `${varDir}/.autodetect`, `${varDir}/nocloud`], (path) => Effect.either(remove(path))),
      (results) => results.filter(Either.isLeft).map((r) => r.left)
    ),
    // the marker removed by hand leaves the cloud cache, the seed's copies and their mark (--bootstrap incomplete removes them):
    // without them the cloud is detected again, and the seed read again replaces the copies, so that an image made so gives its
    // instances their own cloud, hostname and keys, not the builder's; a boot run again in the same first boot finds the same again
    // (a directory in the place of either, which would be taken for the mark, goes as the file would). One that cannot go
    // (a file made immutable) and is still there is the caller's to say: the later phases take it, the earlier boot's
    beginFirstBoot: ({ forgetDetection }) => Effect.map(
      Effect.forEach(
        [
          // (a CLOUD configured takes no cache: one left costs nothing)
          ...(forgetDetection ? [{ path: `${varDir}/.autodetect`, kept: "the cloud an earlier first boot detected is used", taken: cloud === "auto" }] : []),
          { path: `${varDir}/nocloud/.nocloud_loaded`, kept: "the NoCloud seed copies of an earlier first boot are used", taken: true, cloud: "nocloud" as string | undefined }
        ],
        ({ path, kept, taken, cloud }) =>
          remove(path).pipe(
            Effect.as(Option.none()),
            Effect.catchAll((error) =>
              Effect.map(fs.exists(path), (there) => (there && taken ? Option.some({ error, kept, ...(cloud !== undefined ? { cloud } : {}) }) : Option.none()))
            )
          )
      ),
      Arr.getSomes
    ),
    isDisabled: fs.exists(fs.at("/etc/tiny-cloud.disabled"))
  }
})
