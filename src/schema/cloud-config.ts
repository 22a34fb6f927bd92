/**
 * Schema of the `#cloud-config` subset Tiny Cloud carries out. Keys outside
 * it are not errors: `unsupportedCloudConfigKeys` lists them so the caller
 * can warn once.
 */
import * as Schema from "effect/Schema"
import {
  CommandList,
  Flag,
  keysOutside,
  opt,
  PackageName,
  Text,
  TextList,
  UserName,
  Version,
  writeFileFields
} from "./alpine-config.js"

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
export const HostName = Schema.String.pipe(
  Schema.filter((s) => s.length <= 253 && new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`).test(s))
).annotations({ description: "a host name such as web-1 or web-1.example.com" })

const GROUP = "[A-Za-z_][A-Za-z0-9_.-]*"
export const GroupName = Schema.String.pipe(Schema.pattern(new RegExp(`^${GROUP}$`))).annotations({
  description: "a group name (letters, digits, _ . -; not starting with a digit, . or -)"
})
/** `"wheel, adm"` or `[wheel, adm]` */
export const Groups = Schema.Union(
  Schema.String.pipe(Schema.pattern(new RegExp(`^\\s*${GROUP}(?:\\s*,\\s*${GROUP})*\\s*$`))),
  Schema.Array(GroupName)
).annotations({ description: 'groups ("a, b" or a list of group names)' })

/** sudoers rules: one string, a list, or false for none */
export const Sudo = Schema.Union(Text, TextList, Schema.Literal(false)).annotations({
  description: "sudo rules (a string or a list of strings) or false"
})

export const UserMap = Schema.Struct({
  name: opt(UserName),
  groups: opt(Groups),
  sudo: opt(Sudo),
  shell: opt(Schema.String.pipe(Schema.pattern(/^\/\S*$/)).annotations({ description: "an absolute path such as /bin/sh" })),
  lock_passwd: opt(Flag),
  ssh_authorized_keys: opt(TextList)
})
export type UserMap = typeof UserMap.Type

/** `default` (the image's CLOUD_USER), a user name, or a map */
export const UserEntry = Schema.Union(UserName, UserMap).annotations({ description: "default, a user name, or a user map" })

/** cloud-init allows `[name, version]` as a package */
export const CloudPackage = Schema.Union(PackageName, Schema.Tuple(PackageName, Text)).annotations({
  description: "a package name or a [name, version] pair"
})

export const CloudNtp = Schema.Struct({
  enabled: opt(Flag),
  ntp_client: opt(Schema.Literal("chrony", "busybox", "openntpd", "auto").annotations({ description: "one of chrony, busybox, openntpd, auto" })),
  servers: opt(TextList),
  pools: opt(TextList)
})

/** cloud-init's Alpine module */
export const ApkRepos = Schema.Struct({
  preserve_repositories: opt(Flag),
  alpine_repo: opt(
    Schema.Struct({
      base_url: opt(Text),
      version: Version,
      community_enabled: opt(Flag),
      testing_enabled: opt(Flag)
    })
  ),
  local_repo_base_url: opt(Text)
})

export const TimeZone = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/)).annotations({
  description: "a time zone such as Europe/Paris or UTC"
})

export const CloudConfig = Schema.Struct({
  hostname: opt(HostName),
  fqdn: opt(HostName),
  users: opt(Schema.Array(UserEntry).annotations({ description: "a list of users" })),
  ssh_authorized_keys: opt(TextList),
  write_files: opt(Schema.Array(Schema.Struct({ ...writeFileFields, defer: opt(Flag) })).annotations({ description: "a list of files" })),
  bootcmd: opt(CommandList),
  runcmd: opt(CommandList),
  packages: opt(Schema.Array(CloudPackage).annotations({ description: "a list of packages" })),
  package_update: opt(Flag),
  package_upgrade: opt(Flag),
  ntp: opt(CloudNtp),
  apk_repos: opt(ApkRepos),
  timezone: opt(TimeZone),
  ssh_pwauth: opt(Schema.Union(Flag, Schema.Literal("unchanged")).annotations({ description: "true, false or unchanged" }))
}).annotations({ description: "a map of #cloud-config keys" })
export type CloudConfig = typeof CloudConfig.Type

export const unsupportedCloudConfigKeys = (raw: unknown): ReadonlyArray<string> => keysOutside(raw, CloudConfig.fields)
