/**
 * Schemas of the `#cloud-config` keys Tiny Cloud carries out, in the forms
 * cloud-init accepts. Each top-level key is checked on its own, and each entry
 * of a list key on its own (`domain/userdata/cloud.ts`); keys outside the
 * subset are named in one warning.
 */
import * as Schema from "effect/Schema"
import { AbsolutePath, Flag, GroupName, isOwnerPart, LocalRepositoryUrl, opt, PackageName, PackageVersion, RepositoryUrl, Text, TextList, UserName, Version, writeFileFields } from "./fields.js"

// ---- users ---------------------------------------------------------------------------------

/** `"wheel, adm"`, `[wheel, adm]`, or (deprecated in cloud-init, still read) a map whose keys are the groups */
const GROUPS = 'groups ("a, b", a list of group names, or a map of them)'
const Groups = Schema.Union(
  Schema.String.pipe(Schema.filter((s) => s.split(",").every((g) => g.trim() === "" || Schema.is(GroupName)(g.trim())))).annotations({
    description: GROUPS
  }),
  Schema.Array(GroupName),
  Schema.Record({ key: GroupName, value: Schema.Unknown })
).annotations({ description: GROUPS })

/** sudoers rules: a string, a list (null entries left out), true (taken as ALL=(ALL) NOPASSWD:ALL), false or null for none */
const Sudo = Schema.Union(Text, Schema.Array(Schema.NullOr(Text)), Flag).annotations({
  description: "sudo rules (a string or a list of strings), true or false"
})

/** an absolute path, or a bare program name that the reader takes as /bin/NAME; empty, adduser's default */
export const Shell = Schema.String.pipe(Schema.filter((s) => s === "" || /^\/[^\0\n\r:]*$/.test(s) || /^[A-Za-z0-9._+-]+$/.test(s))).annotations({
  description: "a shell such as /bin/sh"
})

const UID = "a user id such as 1001"
const Uid = Schema.Union(
  Schema.Number.pipe(Schema.filter((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 31)).annotations({ description: UID }),
  Schema.String.pipe(Schema.pattern(/^[0-9]{1,9}$/)).annotations({ description: UID })
).annotations({ description: UID })

/** the passwd comment field: no `:` or line break */
const Gecos = Schema.String.pipe(Schema.pattern(/^[^:\n\r\0]*$/)).annotations({ description: "a comment without : or line breaks" })

/** a crypt(3) hash as chpasswd -e takes it */
const PasswordHash = Schema.String.pipe(Schema.pattern(/^[^:\n\r\0]*$/)).annotations({ description: "a password hash" })
/** a password in clear text, for chpasswd to hash: one line */
const PlainPassword = Schema.String.pipe(Schema.pattern(/^[^\n\r\0]*$/)).annotations({ description: "a password on one line" })

/**
 * A flag cloud-init reads as a Python condition (`if kwargs.get(KEY)`), not as a word: any string that is not empty is
 * true to it, a quoted "false" included
 */
const Condition = Schema.Union(Schema.Boolean, Schema.String, Schema.Number).annotations({ description: "true or false" })

/** the keys of a user map that are carried out (after `-` in a key name is read as `_`, as cloud-init does) */
export const UserMap = Schema.Struct({
  name: opt(UserName),
  groups: opt(Groups),
  sudo: opt(Sudo),
  doas: opt(Schema.Array(Text.pipe(Schema.pattern(/^[^\n\r]*$/)).annotations({ description: "a doas rule on one line (no line break or CR)" })).annotations({ description: "a list of doas rules" })),
  shell: opt(Shell),
  homedir: opt(AbsolutePath),
  uid: opt(Uid),
  primary_group: opt(GroupName),
  // cloud-init makes a system account, makes no home, creates the missing groups and locks the password when these are
  // truthy in Python's sense: any non-empty string, "false" included
  system: opt(Condition),
  no_create_home: opt(Condition),
  create_groups: opt(Condition),
  gecos: opt(Gecos),
  lock_passwd: opt(Condition),
  passwd: opt(PasswordHash),
  hashed_passwd: opt(PasswordHash),
  plain_text_passwd: opt(PlainPassword),
  ssh_authorized_keys: opt(TextList)
}).annotations({ description: "a user map" })
export type UserMap = typeof UserMap.Type

/** values that are secrets: a message about them never shows the value */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["passwd", "hashed_passwd", "plain_text_passwd", "password"])

/** members of a top-level `groups` entry (a member string is read as its names separated by commas) */
export const GroupMembers = Schema.Array(UserName).annotations({ description: "user names, separated by commas or in a list" })

// ---- files ---------------------------------------------------------------------------------

const MODE = "a mode such as '0644'"

/**
 * A string mode as cloud-init reads it, Python's `int(text, 8)`: blanks around it, a sign, `0o`,
 * any number of leading zeros, `_` between digits ("0644", "644", "0o644", "000755", "7_55");
 * undefined for what that refuses and for what is no mode (past 07777, below 0)
 */
export const octalMode = (text: string): number | undefined => {
  const m = /^\s*([+-]?)(?:0[oO]_?)?([0-7](?:_?[0-7])*)\s*$/.exec(text)
  if (m === null) return undefined
  const value = parseInt(m[2]!.replace(/_/g, ""), 8)
  return value === 0 ? 0 : m[1] === "-" || value > 0o7777 ? undefined : value
}

/** cloud-init's reading of `permissions`: a string is octal ("0644", "644", "0o644"); an integer is the mode's value (493 is 0755) */
export const CloudPermissions = Schema.Union(
  Schema.String.pipe(Schema.filter((s) => octalMode(s) !== undefined)).annotations({ description: MODE }),
  Schema.Number.pipe(Schema.filter((n) => Number.isInteger(n) && n >= 0 && n <= 0o7777)).annotations({ description: MODE })
).annotations({ description: MODE })

const HeaderName = Schema.String.pipe(Schema.pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/)).annotations({ description: "a header name" })
const HeaderValue = Schema.String.pipe(Schema.pattern(/^[\t\x20-\x7e\x80-\xff]*$/)).annotations({ description: "a header value on one line" })

/** `{uri, headers}`; a bare URI (as an older cloud-init example writes it) is taken as `{uri}` */
export const FileSource = Schema.Union(
  Schema.Struct({
    // none (or null), as an empty one, is no source to cloud-init (`bool(source.get("uri"))`): the content is written
    uri: opt(Text),
    headers: opt(Schema.Record({ key: HeaderName, value: HeaderValue }).annotations({ description: "a map of HTTP headers" }))
  }),
  Text
).annotations({ description: "a map with uri (and headers)" })

/** the sides of an owner as cloud-init splits it: at the first `:`, each side trimmed */
export const ownerSides = (owner: string): readonly [string, string | undefined] => {
  const at = owner.indexOf(":")
  return at < 0 ? [owner.trim(), undefined] : [owner.slice(0, at).trim(), owner.slice(at + 1).trim()]
}

/** a side cloud-init leaves as it is: empty, `-1` or `none` */
export const keepsOwnerSide = (side: string | undefined): boolean => side === undefined || side === "" || side === "-1" || side.toLowerCase() === "none"

/** cloud-init's `owner`: `user:group`, `user` (group unchanged), `:group` (user unchanged); an empty side, `-1` or `none` is left as it is */
const CloudOwner = Schema.String.pipe(
  Schema.filter((s) => ownerSides(s).every((side) => keepsOwnerSide(side) || isOwnerPart(side!)))
).annotations({ description: "an owner such as root:root" })

export const CloudWriteFile = Schema.Struct({
  ...writeFileFields,
  owner: opt(CloudOwner),
  permissions: opt(CloudPermissions),
  source: opt(FileSource),
  defer: opt(Flag)
}).annotations({ description: "a file map with path and content" })
export type CloudWriteFile = typeof CloudWriteFile.Type

// ---- packages, ntp, apk --------------------------------------------------------------------

/** a name, a [name, version] pair (a null version is the name alone; so is [name], as older cloud-init releases read it: a warning says so), or a map by package manager (apt, snap: not on Alpine) */
export const CloudPackage = Schema.Union(
  PackageName,
  Schema.Tuple(PackageName, Schema.optionalElement(Schema.Union(PackageVersion, Schema.Number, Flag, Schema.Null))),
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({ description: "a package name or a [name, version] pair" })

export const CloudNtp = Schema.Struct({
  enabled: opt(Flag),
  ntp_client: opt(Text),
  servers: opt(TextList),
  pools: opt(TextList),
  peers: opt(TextList),
  allow: opt(TextList)
}).annotations({ description: "a map of ntp settings" })

export const AlpineRepo = Schema.Struct({
  base_url: opt(RepositoryUrl),
  version: Version,
  community_enabled: opt(Flag),
  testing_enabled: opt(Flag)
})

/** cloud-init's Alpine module */
export const ApkRepos = Schema.Struct({
  preserve_repositories: opt(Flag),
  alpine_repo: opt(AlpineRepo),
  local_repo_base_url: opt(LocalRepositoryUrl)
}).annotations({ description: "a map with alpine_repo" })

export const SshPwauth = Schema.Union(Flag, Text, Schema.Number).annotations({ description: "true, false or unchanged" })

/** the keys of a user map that are carried out; others are named in the warning */
export const USER_KEYS: ReadonlySet<string> = new Set(Object.keys(UserMap.fields))
