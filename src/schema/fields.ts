/**
 * The building blocks of the user-data schemas (`#alpine-config` and
 * `#cloud-config`). Each one is checked on its own: a key, or one entry of a
 * list, that does not fit is skipped and the rest of the document is used.
 *
 * Every schema carries a `description` annotation phrased as what was
 * expected ("an owner such as root:root"): the reader turns a failure into
 * "expected DESCRIPTION, got VALUE".
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { USER_NAME_MAX_LENGTH } from "../domain/settings.js"
import { truthOf } from "../domain/truth.js"

/** An optional key of a map; YAML null counts as absent. */
export const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { nullable: true })

export const Text = Schema.String.annotations({ description: "a string" })
/** true or false, also written as cloud-init reads a flag (`"true"`, `"no"`, `1`...), as templates often quote them */
// (the words and numbers it reads are no other kind of value: a list or a map is told it wants true or false, never "a string")
export const Flag = Schema.transformOrFail(Schema.Union(Schema.Boolean, Schema.String, Schema.Number).annotations({ description: "true or false" }), Schema.Boolean, {
  strict: true,
  decode: (value, _, ast) => {
    const truth = truthOf(value)
    return truth === undefined ? ParseResult.fail(new ParseResult.Type(ast, value)) : ParseResult.succeed(truth)
  },
  encode: ParseResult.succeed
}).annotations({ description: "true or false" })
export const TextList = Schema.Array(Text).annotations({ description: "a list of strings" })

/**
 * A user name as busybox `adduser` takes it (and so cloud-init on Alpine):
 * letters, digits and `_`, `.`/`-` after the first character, an optional
 * final `$`; shorter than LOGIN_NAME_MAX (256, its NUL included), as busybox
 * checks it, not shadow's 32. Never `/`, `:` or a leading `.`.
 */
const NAME_MAX_LENGTH = USER_NAME_MAX_LENGTH

export const UserName = Schema.String.pipe(
  Schema.filter((s) => s.length <= NAME_MAX_LENGTH && /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(s))
).annotations({ description: "a user name (at most 255 characters: letters, digits, _ . -; not starting with . or -)" })

/** a group name as busybox `addgroup` takes it: checked as a user name is, without the final `$` */
export const GroupName = Schema.String.pipe(
  Schema.filter((s) => s.length <= NAME_MAX_LENGTH && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(s))
).annotations({ description: "a group name (at most 255 characters: letters, digits, _ . -; not starting with . or -)" })

/** one argument of `apk add`: a blank or a control character (a NUL, which no argument can hold) would fail the whole command, every package with it */
export const PackageName = Schema.String.pipe(Schema.pattern(/^[^\s\x00-\x1f\x7f-][^\s\x00-\x1f\x7f]*$/)).annotations({
  description: "a package name (no spaces, not starting with -)"
})

/** a `[name, version]` pair's version, which becomes `NAME=VERSION`: checked as a package name is (empty is none) */
export const PackageVersion = Schema.String.pipe(Schema.filter((s) => s === "" || /^[^\s\x00-\x1f\x7f]+$/.test(s))).annotations({
  description: "a package version (no spaces)"
})

/** One argument of a command given as a list; numbers, booleans and null are taken as their text, as cloud-init does. */
const Argument = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null).annotations({ description: "a string" })

/** A string is a shell command line; a list is a program and its arguments. */
export const Command = Schema.Union(Text, Schema.Array(Argument)).annotations({
  description: "a command (a string, or a list of arguments)"
})

/** one side of an owner: a name or a numeric id */
export const isOwnerPart = (p: string): boolean => /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\$?|[0-9]+)$/.test(p)

/** `user`, `user:group`; names or numeric ids. */
const Owner = Schema.String.pipe(
  Schema.filter((s) => {
    const parts = s.split(":")
    return parts.length <= 2 && parts.every(isOwnerPart)
  })
).annotations({ description: "an owner such as root:root" })

/** Text, or bytes from a YAML `!!binary` value. */
export const Content = Schema.Union(Text, Schema.Uint8ArrayFromSelf).annotations({
  description: "a string or !!binary data"
})

/** what a `write_files` entry has in both formats; `permissions` is read differently by each */
export const writeFileFields = {
  path: opt(Text),
  content: opt(Content),
  encoding: opt(Text),
  owner: opt(Owner),
  append: opt(Flag)
}

/** the encodings cloud-init names; others are read as text/plain with a warning, as cloud-init does */
export const ENCODINGS = ["b64", "base64", "gz", "gzip", "gz+base64", "gzip+base64", "gz+b64", "gzip+b64", "text/plain"] as const
export type Encoding = (typeof ENCODINGS)[number]

/** an absolute path for a file, a home directory or a shell: no `:` or line break (they would break /etc/passwd) */
export const AbsolutePath = Schema.String.pipe(Schema.filter((s) => /^\/[^\0\n\r:]*$/.test(s))).annotations({
  description: "an absolute path such as /srv/app"
})

/**
 * A part of an `/etc/apk/repositories` line (a base URL, a version, a
 * repository's name): a blank or a control character in it (a CR a file or
 * a script made on Windows left in a value) would make the line one apk
 * cannot use, or two lines, so it is refused, as a package name with one is.
 */
const isRepositoryPart = (s: string): boolean => /^[^\s\x00-\x1f\x7f]+$/.test(s)

/**
 * A base URL, after an apk tag and the one space that follows it when it has
 * one (`@testing https://dl-cdn.alpinelinux.org/alpine`: a tagged repository,
 * whose packages apk installs only when asked for, `pkg@testing`); a tag
 * alone is none (apk reads a line that starts with `@` as a tag), nor is a
 * URL that starts with `#` (apk passes over a line that starts so, a comment).
 */
const isRepositoryUrl = (s: string): boolean => /^(?:@[^\s\x00-\x1f\x7f]+ )?[^@#\s\x00-\x1f\x7f][^\s\x00-\x1f\x7f]*$/.test(s)

const REPOSITORY_URL = "a repository URL such as https://dl-cdn.alpinelinux.org/alpine, after an @tag and a space if tagged (not starting with #, which apk reads as a comment; no other blanks or control characters)"

export const RepositoryUrl = Schema.String.pipe(Schema.filter(isRepositoryUrl)).annotations({ description: REPOSITORY_URL })

/** cloud-init's `local_repo_base_url`, which is none when empty or blank */
export const LocalRepositoryUrl = Schema.String.pipe(Schema.filter((s) => s.trim() === "" || isRepositoryUrl(s))).annotations({ description: REPOSITORY_URL })

/** `v3.20`, `edge`, `latest-stable`...: a YAML number (3.20 is 3.2) is refused. Empty or blank: none (cloud-config's reader says what that means). */
export const Version = Schema.String.pipe(Schema.filter((s) => s.trim() === "" || isRepositoryPart(s))).annotations({
  description: "a version string such as v3.20 or edge"
})

/**
 * An #alpine-config repository's `version`: empty is none given (the
 * release's, as the shell edition reads it); blanks alone, or a CR alone (a
 * template's empty value on a line made on Windows), would be written into the
 * line as any other blank would.
 */
const RepositoryVersion = Schema.String.pipe(Schema.filter((s) => s === "" || isRepositoryPart(s))).annotations({
  description: "a version string such as v3.20 or edge"
})

const RepositoryName = Schema.String.pipe(Schema.filter(isRepositoryPart)).annotations({ description: "a repository name such as main or community" })

export const ApkRepository = Schema.Struct({
  base_url: RepositoryUrl,
  version: opt(RepositoryVersion),
  repos: opt(Schema.Array(RepositoryName).annotations({ description: "a list of repository names" }))
}).annotations({ description: "a repository map with base_url" })

const HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
/** a host name: labels of letters, digits and `-` (the reader makes `_` `-`, with a warning) */
export const isHostName = (s: string): boolean => s.length <= 253 && new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`).test(s)

export const TimeZone = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/)).annotations({
  description: "a time zone such as Europe/Paris or UTC"
})
