/**
 * Schemas of the `#alpine-config` keys (BEHAVIOUR.md §6), as the shell
 * edition reads them. Each top-level key is checked on its own, and each entry
 * of a list key on its own (`domain/userdata/alpine.ts`).
 */
import * as Schema from "effect/Schema"
import { Flag, opt, Text, UserName, writeFileFields } from "./fields.js"

const MODE_DESCRIPTION = "an octal mode such as 0644"
/**
 * A mode read as octal digits, the way the shell edition's `chmod` reads it:
 * "0644", "644", "0o644", or 644. (The YAML loader hands plain numbers over as
 * written, so `permissions: 0644` and `permissions: 644` both mean 0644.)
 */
const OctalModeText = Schema.String.pipe(Schema.pattern(/^(?:0o|0)?[0-7]{1,4}$/)).annotations({ description: MODE_DESCRIPTION })
const OctalModeNumber = Schema.Number.pipe(Schema.filter((n) => Number.isInteger(n) && /^[0-7]{1,4}$/.test(String(n)))).annotations({
  description: MODE_DESCRIPTION
})
const OctalPermissions = Schema.Union(OctalModeText, OctalModeNumber).annotations({ description: MODE_DESCRIPTION })

export const AlpineWriteFile = Schema.Struct({ ...writeFileFields, permissions: opt(OctalPermissions) }).annotations({ description: "a file map with path and content" })
export type AlpineWriteFile = typeof AlpineWriteFile.Type

export const AlpineUser = Schema.Union(UserName, Schema.Struct({ name: opt(UserName) })).annotations({
  description: "a user name or a map with a name"
})

/** `enabled`: true or false, or as the shell edition reads it, the words `yes` and `true` (any other word is off) */
export const AlpineNtp = Schema.Struct({ enabled: opt(Schema.Union(Flag, Text).annotations({ description: "true or false" })), ntp_client: opt(Text) }).annotations({
  description: "a map with enabled and ntp_client"
})

export const AlpineApk = Schema.Struct({
  cache: opt(Text),
  /** each entry is an `ApkRepository`, checked on its own */
  repositories: opt(Schema.Array(Schema.Unknown).annotations({ description: "a list of repositories" }))
}).annotations({ description: "a map with cache and repositories" })
