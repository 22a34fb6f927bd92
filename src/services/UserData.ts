import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { FsError } from "../domain/errors.js"
import type { Analysis } from "../domain/userdata/parse.js"

/**
 * The saved user-data, `$TINY_CLOUD_VAR/user-data`: read, typed and parsed
 * once per process, refreshed when it is saved or removed.
 */
export interface UserDataShape {
  readonly path: string
  /** None when no user-data is saved, or it cannot be read */
  readonly bytes: Effect.Effect<Option.Option<Uint8Array>>
  /** why a saved user-data cannot be read (past USERDATA_MAX_BYTES, not a regular file), which then counts as none */
  readonly unreadable: Effect.Effect<Option.Option<string>>
  /** the word naming its type (`missing`, `script`, `cloud-config`, `cloud-boothook`...) */
  readonly word: Effect.Effect<string>
  /** parsed and checked against its schema (loads the parser on first use) */
  readonly analysis: Effect.Effect<Analysis>
  /** stores the bytes for root only (a script owner-executable) */
  readonly save: (data: Uint8Array) => Effect.Effect<void, FsError>
  /** removes it, and the files its programs ran from (`user-data.runcmd`...: domain/userdata/runnable.ts) */
  readonly remove: Effect.Effect<void, FsError>
  /** removes it alone: the files its programs ran from stay, for the same user-data saved again (see save_userdata) */
  readonly removeSaved: Effect.Effect<void, FsError>
}

export class UserData extends Context.Tag("tiny-cloud/UserData")<UserData, UserDataShape>() {}
