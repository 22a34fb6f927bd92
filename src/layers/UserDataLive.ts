import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { Analysis } from "../domain/userdata/parse.js"
import { PROGRAM_FILES, programFile } from "../domain/userdata/runnable.js"
import { userDataWord } from "../domain/userdata/type.js"
import { USERDATA_UNSAVED } from "../domain/run-record.js"
import { Config } from "../services/Config.js"
import { RootFs } from "../services/RootFs.js"
import type { UserDataShape } from "../services/UserData.js"

interface Known {
  readonly bytes: Option.Option<Uint8Array>
  readonly unreadable?: string
  analysis?: Analysis
}

const isScript = (data: Uint8Array) => data[0] === 0x23 && data[1] === 0x21

/** `$TINY_CLOUD_VAR/user-data`, read once and kept until it is saved again or removed */
export const makeUserData: Effect.Effect<UserDataShape, never, RootFs | Config> = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir, userDataMaxBytes, cloudUser } = yield* Config
  const path = `${varDir}/user-data`
  const known = yield* Ref.make(Option.none<Known>())
  const unsaved = fs.at(USERDATA_UNSAVED)
  const saved = Effect.flatMap(Ref.get(known), (k) =>
    Option.match(k, {
      onSome: Effect.succeed,
      onNone: () =>
        fs.readFileIfExists(path, { maxBytes: userDataMaxBytes }).pipe(
          Effect.map((bytes): Known => ({ bytes })),
          Effect.catchAll((e) => Effect.succeed<Known>({ bytes: Option.none(), unreadable: e.message })),
          Effect.tap((k) => Ref.set(known, Option.some(k)))
        )
    })
  )
  // what early failed to save this boot is none: a user-data still there (one it could not remove) is an earlier instance's
  const current = Effect.flatMap(fs.exists(unsaved), (failed) => (failed ? Effect.succeed<Known>({ bytes: Option.none() }) : saved))
  const removeSaved = Effect.all([fs.remove(path), Ref.set(known, Option.some({ bytes: Option.none() }))], { discard: true })
  return {
    path,
    bytes: Effect.map(current, (k) => k.bytes),
    unreadable: Effect.map(current, (k) => Option.fromNullable(k.unreadable)),
    word: Effect.map(current, (k) => Option.match(k.bytes, { onNone: () => "missing", onSome: userDataWord })),
    analysis: Effect.flatMap(current, (k) => {
      if (k.analysis !== undefined) return Effect.succeed(k.analysis)
      const bytes = Option.getOrElse(k.bytes, () => new Uint8Array())
      return Effect.map(
        Effect.promise(() => import("../domain/userdata/parse.js")),
        ({ analyseUserData }) => (k.analysis = analyseUserData(bytes, { maxBytes: userDataMaxBytes, maxDecompressedBytes: userDataMaxBytes, cloudUser }))
      )
    }),
    save: (data) =>
      Effect.zipRight(
        fs.writeAtomic(path, data, { mode: isScript(data) ? 0o700 : 0o600, noFollow: true }),
        Ref.set(known, Option.some({ bytes: Option.some(data) }))
      ),
    // what the earlier user-data's programs ran from goes with it: user-data that has none (or none now) leaves none of them
    remove: Effect.zipRight(removeSaved, Effect.forEach(PROGRAM_FILES, (name) => fs.remove(programFile(path, name), { recursive: true }), { discard: true })),
    removeSaved
  }
})
