/**
 * The one normalized user-data model that `#alpine-config` and
 * `#cloud-config` both map onto (`alpine.ts`, `cloud.ts`). Actions read a
 * `UserConfig`; they never look at YAML.
 */
import { withoutTrailing } from "../text.js"

/** `shell`: a command line; `argv`: a program and its arguments. `index`: its place in the document's list. */
export type Command =
  | { readonly kind: "shell"; readonly script: string; readonly index: number }
  | { readonly kind: "argv"; readonly argv: ReadonlyArray<string>; readonly index: number }

/** cloud-config `write_files[].source`: fetched over http(s) before the file is written */
export interface FileSource {
  readonly uri: string
  readonly headers: Readonly<Record<string, string>>
}

export interface FileToWrite {
  /** absolute (a leading `/` is added when missing); to be written under `$ROOT` */
  readonly path: string
  /** decoded bytes; with a `source`, what is written when the fetch fails (undefined: the entry is skipped then) */
  readonly content: Uint8Array | undefined
  readonly source?: FileSource
  /** e.g. 0o644 */
  readonly mode: number
  /** `user:group`, `user` (group left alone) or `:group` (user left alone); empty: no chown (cloud-config `-1:-1`); default `root:root` */
  readonly owner: string
  readonly append: boolean
  /** cloud-config `defer: true`: write in the final phase, after packages and users exist */
  readonly defer: boolean
  /** cloud-config: the directories made for the file get its owner too, as cloud-init gives them (alpine-config leaves them root's) */
  readonly ownsNewDirectories?: boolean
  /** its place in the document, for messages: `write_files[2]` */
  readonly index: number
}

export type Password =
  /** `chpasswd -e` with the hash */
  | { readonly kind: "hash"; readonly value: string; readonly onlyNewUser: boolean }
  /** `chpasswd`, which hashes it; never logged, never on a command line */
  | { readonly kind: "plain"; readonly value: string; readonly onlyNewUser: boolean }

/** What `adduser` is given for a new account (the default user's too). */
export interface AccountOptions {
  readonly homedir?: string
  readonly shell?: string
  readonly uid?: number
  readonly primaryGroup?: string
  readonly gecos?: string
  /** `adduser -S`: a system account, no home directory made */
  readonly system?: boolean
  readonly noCreateHome?: boolean
  /**
   * The default user only: false when user-data gives it its own `sudo` or
   * `doas` (even none), so it is neither added to `wheel` nor given wheel's
   * passwordless rules. `adduser` is not told.
   */
  readonly wheel?: false
}

/** How a user is set up, whether it is new or already there. */
export interface UserSettings {
  readonly account: AccountOptions
  readonly groups: ReadonlyArray<string>
  /** missing groups are created (cloud-init's `create_groups`, default true) */
  readonly createGroups: boolean
  /** sudoers rules; none when empty */
  readonly sudo: ReadonlyArray<string>
  /** doas rules, written to /etc/doas.d/USER.conf */
  readonly doas: ReadonlyArray<string>
  /** cloud-init's default: true */
  readonly lockPasswd: boolean
  readonly password?: Password
  readonly sshAuthorizedKeys: ReadonlyArray<string>
}

export interface UserSpec extends UserSettings {
  readonly name: string
}

/** The default user: a `name` replaces CLOUD_USER for this run; the settings apply to whoever it is. */
export interface DefaultUser extends UserSettings {
  readonly name?: string
}

/** cloud-config top-level `groups`: created, with the members that exist */
export interface GroupSpec {
  readonly name: string
  readonly members: ReadonlyArray<string>
}

/**
 * One apk repository; it gives one `/etc/apk/repositories` line per entry of
 * `repos`: `BASE/VERSION/REPO` (see `repositoryLines`). `version` undefined:
 * taken from `/etc/os-release`; `"."` or `"/"`: no version segment.
 */
export interface ApkRepository {
  readonly baseUrl: string
  readonly version?: string
  readonly repos: ReadonlyArray<string>
}

export type NtpClient = "chrony" | "busybox" | "openntpd"

export interface NtpSettings {
  readonly client: NtpClient
  readonly servers: ReadonlyArray<string>
  readonly pools: ReadonlyArray<string>
  readonly peers: ReadonlyArray<string>
  /** networks allowed to ask this host (chrony `allow`) */
  readonly allow: ReadonlyArray<string>
  /**
   * how the client's package is added: `apk add PKG` (#alpine-config, as
   * BEHAVIOUR.md 6 and the shell edition have it), or as cloud-init installs
   * one (#cloud-config: left alone when installed, else after `apk update`)
   */
  readonly install: "apk add" | "cloud-init"
}

export interface UserConfig {
  readonly hostname?: string
  readonly fqdn?: string
  readonly defaultUser?: DefaultUser
  /** further users (cloud-config) */
  readonly users: ReadonlyArray<UserSpec>
  readonly groups: ReadonlyArray<GroupSpec>
  /** for the default user (CLOUD_USER or `defaultUser`) */
  readonly sshAuthorizedKeys: ReadonlyArray<string>
  /**
   * `script`: bootcmd and runcmd each run as one shell script, as cloud-init
   * writes it (cloud-config); `entries`: each entry on its own, every one run
   * (the shell edition's #alpine-config)
   */
  readonly commandStyle: "script" | "entries"
  readonly bootcmd: ReadonlyArray<Command>
  readonly runcmd: ReadonlyArray<Command>
  readonly writeFiles: ReadonlyArray<FileToWrite>
  /** present only when NTP is to be enabled */
  readonly ntp?: NtpSettings
  readonly apk: {
    readonly cache?: string
    readonly repositories: ReadonlyArray<ApkRepository>
    /** false when the document has no apk key at all (`apk` / `apk_repos`) */
    readonly configured: boolean
    /** cloud-config `apk_repos` without `preserve_repositories: true`: the repositories replace the file's lines */
    readonly replaceRepositories: boolean
  }
  readonly packageUpdate: boolean
  readonly packageUpgrade: boolean
  readonly packages: ReadonlyArray<string>
  readonly autoinstall: boolean
  readonly timezone?: string
  readonly sshPwauth?: boolean
}

export const DEFAULT_ALPINE_MIRROR = "https://dl-cdn.alpinelinux.org/alpine"

export const emptyUserConfig: UserConfig = {
  users: [],
  groups: [],
  sshAuthorizedKeys: [],
  commandStyle: "script",
  bootcmd: [],
  runcmd: [],
  writeFiles: [],
  apk: { repositories: [], configured: false, replaceRepositories: false },
  packageUpdate: false,
  packageUpgrade: false,
  packages: [],
  autoinstall: false
}

export const defaultSettings: UserSettings = {
  account: {},
  groups: [],
  createGroups: true,
  sudo: [],
  doas: [],
  lockPasswd: true,
  sshAuthorizedKeys: []
}

/** `/etc/apk/repositories` lines of one repository; `defaultVersion` from `apkVersion`. */
export const repositoryLines = (repo: ApkRepository, defaultVersion: string | undefined): ReadonlyArray<string> => {
  const version = repo.version ?? defaultVersion
  const base = withoutTrailing(repo.baseUrl, "/")
  const versioned = version && version !== "." && version !== "/" ? `${base}/${version}` : base
  return repo.repos.map((r) => `${versioned}/${r}`)
}

/** The repository version for an `/etc/os-release` VERSION_ID: `edge`, `v3.20` (of `3.20.3` or `3.20`), or undefined. */
export const apkVersion = (versionId: string | undefined): string | undefined => {
  if (versionId === undefined) return undefined
  if (versionId.startsWith("edge") || versionId.includes("_alpha")) return "edge"
  const match = /^(\d+\.\d+)(?:\.\d|$)/.exec(versionId)
  return match ? `v${match[1]}` : undefined
}
