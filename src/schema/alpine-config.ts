/**
 * Schema of `#alpine-config` user-data documents (BEHAVIOUR.md §6), and the
 * building blocks `#cloud-config` shares with it.
 *
 * Every schema carries a `description` annotation phrased as what was
 * expected ("an octal mode such as 0644"): the user-data validator turns a
 * failure into "expected DESCRIPTION, got VALUE". An absent key and a key
 * whose value is YAML null (`runcmd:` with nothing after it) mean the same.
 */
import * as Schema from "effect/Schema"

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/
const ID = /^(?:[A-Za-z_][A-Za-z0-9_.-]*\$?|[0-9]+)$/

/** An optional key; YAML null counts as absent. */
export const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { nullable: true })

export const Text = Schema.String.annotations({ description: "a string" })
export const Flag = Schema.Boolean.annotations({ description: "true or false" })
export const TextList = Schema.Array(Text).annotations({ description: "a list of strings" })

export const UserName = Schema.String.pipe(Schema.pattern(NAME)).annotations({
  description: "a user name (letters, digits, _ . -; not starting with a digit, . or -)"
})

export const PackageName = Schema.String.pipe(Schema.pattern(/^[^\s-]\S*$/)).annotations({
  description: "a package name (no spaces, not starting with -)"
})
export const PackageList = Schema.Array(PackageName).annotations({ description: "a list of package names" })

/** A string is run with `sh -c`; a list is run as it stands (argv). */
export const Command = Schema.Union(Text, Schema.NonEmptyArray(Text)).annotations({
  description: "a command (a string for sh -c, or a non-empty list of arguments)"
})
export const CommandList = Schema.Array(Command).annotations({ description: "a list of commands" })

export const ENCODINGS = ["b64", "base64", "gz", "gzip", "gz+base64", "gzip+base64", "gz+b64", "gzip+b64", "text/plain"] as const
export type Encoding = (typeof ENCODINGS)[number]
export const WriteFileEncoding = Schema.Literal(...ENCODINGS).annotations({ description: `one of ${ENCODINGS.join(", ")}` })

const MODE_DESCRIPTION = "an octal mode such as 0644"
/**
 * A mode, always read as octal digits, the way `chmod` reads it: "0644",
 * "644", "0o644". (The YAML loader hands plain numbers over as written, so
 * `permissions: 0644` and `permissions: 644` both mean 0644.)
 */
export const OctalModeText = Schema.String.pipe(Schema.pattern(/^(?:0o|0)?[0-7]{1,4}$/)).annotations({
  description: MODE_DESCRIPTION
})
/** A number whose decimal digits are the octal digits (644 means 0644), for callers that build documents in code. */
export const OctalModeNumber = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && /^[0-7]{1,4}$/.test(String(n)))
).annotations({ description: MODE_DESCRIPTION })
export const Permissions = Schema.Union(OctalModeText, OctalModeNumber).annotations({ description: MODE_DESCRIPTION })

/** `user`, `user:group`; names or numeric ids. */
export const Owner = Schema.String.pipe(
  Schema.filter((s) => {
    const parts = s.split(":")
    return parts.length <= 2 && parts.every((p) => ID.test(p))
  })
).annotations({ description: "an owner such as root:root" })

/** Text, or bytes from a YAML `!!binary` value. */
export const Content = Schema.Union(Text, Schema.Uint8ArrayFromSelf).annotations({
  description: "a string or !!binary data"
})

export const writeFileFields = {
  path: opt(Text),
  content: opt(Content),
  encoding: opt(WriteFileEncoding),
  permissions: opt(Permissions),
  owner: opt(Owner),
  append: opt(Flag)
}
export const WriteFile = Schema.Struct(writeFileFields)
export type WriteFile = typeof WriteFile.Type

export const NtpClient = Schema.Literal("chrony", "busybox", "openntpd").annotations({
  description: "one of chrony, busybox, openntpd"
})

/** `v3.20`, `edge`, `latest-stable`...: a YAML number (3.20 is 3.2) is refused. */
export const Version = Schema.String.annotations({ description: "a version string such as v3.20 or edge" })

export const ApkRepository = Schema.Struct({
  base_url: Text,
  version: opt(Version),
  repos: opt(TextList)
})

export const AlpineUser = Schema.Union(UserName, Schema.Struct({ name: opt(UserName) })).annotations({
  description: "a user name or a map with a name"
})

export const AlpineConfig = Schema.Struct({
  user: opt(AlpineUser),
  ssh_authorized_keys: opt(TextList),
  bootcmd: opt(CommandList),
  runcmd: opt(CommandList),
  write_files: opt(Schema.Array(WriteFile).annotations({ description: "a list of files" })),
  ntp: opt(Schema.Struct({ enabled: opt(Flag), ntp_client: opt(NtpClient) })),
  apk: opt(
    Schema.Struct({
      cache: opt(Text),
      repositories: opt(Schema.Array(ApkRepository).annotations({ description: "a list of repositories" }))
    })
  ),
  package_update: opt(Flag),
  package_upgrade: opt(Flag),
  packages: opt(PackageList),
  autoinstall: opt(Flag)
}).annotations({ description: "a map of #alpine-config keys" })
export type AlpineConfig = typeof AlpineConfig.Type

/** Top-level keys of a raw document that a struct schema does not know, in document order. */
export const keysOutside = (raw: unknown, fields: object): ReadonlyArray<string> =>
  raw !== null && typeof raw === "object" && !Array.isArray(raw) && !(raw instanceof Uint8Array)
    ? Object.keys(raw).filter((k) => !Object.prototype.hasOwnProperty.call(fields, k))
    : []

export const unknownAlpineConfigKeys = (raw: unknown): ReadonlyArray<string> => keysOutside(raw, AlpineConfig.fields)
