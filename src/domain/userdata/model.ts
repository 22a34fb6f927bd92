/**
 * The one normalized user-data model that `#alpine-config` and
 * `#cloud-config` both map onto, and the two pure mapping functions.
 * Actions read a `UserConfig`; they never look at YAML.
 */
import { gunzipSync } from "node:zlib"
import * as Either from "effect/Either"
import { DEFAULT_USERDATA_MAX_BYTES } from "../settings.js"
import type { AlpineConfig, Encoding, WriteFile } from "../../schema/alpine-config.js"
import type { CloudConfig, UserMap } from "../../schema/cloud-config.js"

/** `shell`: run with `sh -c SCRIPT`; `argv`: run as it stands. */
export type Command =
  | { readonly kind: "shell"; readonly script: string }
  | { readonly kind: "argv"; readonly argv: ReadonlyArray<string> }

export interface FileToWrite {
  /** absolute (a leading `/` is added when missing); to be written under `$ROOT` */
  readonly path: string
  /** decoded bytes */
  readonly content: Uint8Array
  /** e.g. 0o644 */
  readonly mode: number
  /** `user:group` or `user` (group left alone), as given; default `root:root` */
  readonly owner: string
  readonly append: boolean
  /** cloud-config `defer: true`: write in the final phase, after packages and users exist */
  readonly defer: boolean
}

export interface UserSpec {
  readonly name: string
  readonly groups: ReadonlyArray<string>
  /** sudoers rules; `false`: none, explicitly; `undefined`: not said */
  readonly sudo: ReadonlyArray<string> | false | undefined
  readonly shell?: string
  /** cloud-init's default: true */
  readonly lockPasswd: boolean
  readonly sshAuthorizedKeys: ReadonlyArray<string>
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

/** A non-fatal problem and where in the (merged) document it is. */
export interface ProblemDetail {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

export interface UserConfig {
  readonly hostname?: string
  readonly fqdn?: string
  /** replaces CLOUD_USER for this run */
  readonly defaultUser?: UserSpec
  /** further users (cloud-config) */
  readonly users: ReadonlyArray<UserSpec>
  /** for the default user (CLOUD_USER or `defaultUser`) */
  readonly sshAuthorizedKeys: ReadonlyArray<string>
  readonly bootcmd: ReadonlyArray<Command>
  readonly runcmd: ReadonlyArray<Command>
  readonly writeFiles: ReadonlyArray<FileToWrite>
  /** present only when NTP is to be enabled */
  readonly ntp?: { readonly client: NtpClient; readonly servers: ReadonlyArray<string>; readonly pools: ReadonlyArray<string> }
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
  /** non-fatal errors to log at error level, as `PATH: MESSAGE` */
  readonly problems: ReadonlyArray<string>
  /** the same problems with their document path (for the validator) */
  readonly problemDetails: ReadonlyArray<ProblemDetail>
  /** to log once at warning level; one of them names `unsupportedKeys` */
  readonly warnings: ReadonlyArray<string>
  /** top-level keys that were ignored */
  readonly unsupportedKeys: ReadonlyArray<string>
}

export interface MapOptions {
  /** total bytes gzip content of all `write_files` may expand to; default 16 MiB */
  readonly maxDecompressedBytes?: number
  /** top-level keys the schema did not know (from the raw document) */
  readonly unknownKeys?: ReadonlyArray<string>
}


export const DEFAULT_ALPINE_MIRROR = "https://dl-cdn.alpinelinux.org/alpine"

export const emptyUserConfig: UserConfig = {
  users: [],
  sshAuthorizedKeys: [],
  bootcmd: [],
  runcmd: [],
  writeFiles: [],
  apk: { repositories: [], configured: false, replaceRepositories: false },
  packageUpdate: false,
  packageUpgrade: false,
  packages: [],
  autoinstall: false,
  problems: [],
  problemDetails: [],
  warnings: [],
  unsupportedKeys: []
}

/** `write_files[0].permissions` */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "")

/** Collects what a mapping has to say. */
class Notes {
  readonly problems: Array<ProblemDetail> = []
  readonly warnings: Array<string> = []
  problem(path: ReadonlyArray<string | number>, message: string) {
    this.problems.push({ path, message })
  }
  warn(path: ReadonlyArray<string | number>, message: string) {
    this.warnings.push(`${formatPath(path)}: ${message}`)
  }
  finish(unknownKeys: ReadonlyArray<string>, label: string) {
    if (unknownKeys.length > 0) this.warnings.push(`${label}: ${unknownKeys.join(", ")}`)
    return {
      problems: this.problems.map((p) => `${formatPath(p.path)}: ${p.message}`),
      problemDetails: this.problems,
      warnings: this.warnings,
      unsupportedKeys: unknownKeys
    }
  }
}

// ---- commands, modes, content ------------------------------------------------------------

const toCommand = (c: string | ReadonlyArray<string>): Command =>
  typeof c === "string" ? { kind: "shell", script: c } : { kind: "argv", argv: [...c] }

/** Octal digits as written: "0644", "644", "0o644", or 644. */
export const parseMode = (permissions: string | number): number =>
  parseInt(String(permissions).replace(/^0o/, ""), 8)

const B64 = /^[A-Za-z0-9+/_-]*={0,2}$/

const fromBase64 = (text: string): Either.Either<Uint8Array, string> => {
  const compact = text.replace(/\s+/g, "")
  return B64.test(compact) && compact.length % 4 !== 1
    ? Either.right(Buffer.from(compact, "base64"))
    : Either.left("content is not valid base64")
}

/** Running total of bytes gzip content may still expand to. */
export interface Budget {
  remaining: number
  readonly limit: number
}

const gunzip = (data: Uint8Array, budget: Budget): Either.Either<Uint8Array, string> => {
  const tooLarge = `gzip content expands to more than ${budget.limit} bytes, the limit for all write_files`
  if (budget.remaining <= 0) return Either.left(tooLarge)
  try {
    const out = gunzipSync(data, { maxOutputLength: budget.remaining })
    budget.remaining -= out.length
    return Either.right(out)
  } catch (e) {
    const code = (e as { code?: unknown }).code
    return Either.left(code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError ? tooLarge : "content is not valid gzip data")
  }
}

/**
 * Content bytes by encoding. `!!binary` content is bytes already, so only
 * gzip is left to undo; gzip content given as text is base64 first (as in
 * the shell edition, where `gz` meant base64 of gzip too).
 */
export const decodeContent = (
  content: string | Uint8Array | undefined,
  encoding: Encoding,
  budget: Budget
): Either.Either<Uint8Array, string> => {
  if (content === undefined) return Either.right(new Uint8Array())
  const bytes = (): Either.Either<Uint8Array, string> =>
    typeof content === "string" ? fromBase64(content) : Either.right(content)
  switch (encoding) {
    case "text/plain":
      return Either.right(typeof content === "string" ? new TextEncoder().encode(content) : content)
    case "b64":
    case "base64":
      return bytes()
    default:
      return Either.flatMap(bytes(), (data) => gunzip(data, budget))
  }
}

const toFile = (
  entry: WriteFile & { readonly defer?: boolean },
  path: ReadonlyArray<string | number>,
  budget: Budget,
  notes: Notes
): FileToWrite | undefined => {
  if (entry.path === undefined || entry.path.trim() === "") {
    notes.warn(path, "no path; entry skipped")
    return undefined
  }
  const content = decodeContent(entry.content, entry.encoding ?? "text/plain", budget)
  if (Either.isLeft(content)) {
    notes.problem([...path, "content"], `${content.left}; ${entry.path} not written`)
    return undefined
  }
  return {
    path: entry.path.startsWith("/") ? entry.path : `/${entry.path}`,
    content: content.right,
    mode: entry.permissions === undefined ? 0o644 : parseMode(entry.permissions),
    owner: entry.owner ?? "root:root",
    append: entry.append ?? false,
    defer: entry.defer ?? false
  }
}

const toFiles = (
  entries: ReadonlyArray<WriteFile & { readonly defer?: boolean }> | undefined,
  options: MapOptions | undefined,
  notes: Notes
): ReadonlyArray<FileToWrite> => {
  const limit = options?.maxDecompressedBytes ?? DEFAULT_USERDATA_MAX_BYTES
  const budget: Budget = { remaining: limit, limit }
  return (entries ?? []).flatMap((entry, i) => toFile(entry, ["write_files", i], budget, notes) ?? [])
}

// ---- apk ----------------------------------------------------------------------------------

/** `/etc/apk/repositories` lines of one repository; `defaultVersion` from `apkVersion`. */
export const repositoryLines = (repo: ApkRepository, defaultVersion: string | undefined): ReadonlyArray<string> => {
  const version = repo.version ?? defaultVersion
  const base = repo.baseUrl.replace(/\/+$/, "")
  const versioned = version && version !== "." && version !== "/" ? `${base}/${version}` : base
  return repo.repos.map((r) => `${versioned}/${r}`)
}

/** The repository version for an `/etc/os-release` VERSION_ID: `edge`, `v3.20`, or undefined. */
export const apkVersion = (versionId: string | undefined): string | undefined => {
  if (versionId === undefined) return undefined
  if (versionId.startsWith("edge") || versionId.includes("_alpha")) return "edge"
  const match = /^(\d+\.\d+)\.\d/.exec(versionId)
  return match ? `v${match[1]}` : undefined
}

// ---- #alpine-config ------------------------------------------------------------------------

const alpineUser = (user: AlpineConfig["user"], notes: Notes): UserSpec | undefined => {
  if (user === undefined) return undefined
  const name = typeof user === "string" ? user : user.name
  if (name === undefined) {
    notes.problem(["user"], "a user map needs a name; the default user is kept")
    return undefined
  }
  return { name, groups: [], sudo: undefined, lockPasswd: true, sshAuthorizedKeys: [] }
}

const alpineApk = (apk: AlpineConfig["apk"], notes: Notes): UserConfig["apk"] => ({
  cache: apk?.cache,
  repositories: (apk?.repositories ?? []).map((r, i) => {
    if ((r.repos ?? []).length === 0) notes.warn(["apk", "repositories", i], "no repos listed; nothing added")
    return { baseUrl: r.base_url, version: r.version, repos: r.repos ?? [] }
  }),
  configured: apk !== undefined,
  replaceRepositories: false
})

export const fromAlpineConfig = (doc: AlpineConfig, options?: MapOptions): UserConfig => {
  const notes = new Notes()
  const defaultUser = alpineUser(doc.user, notes)
  return {
    ...emptyUserConfig,
    ...(defaultUser ? { defaultUser } : {}),
    sshAuthorizedKeys: doc.ssh_authorized_keys ?? [],
    bootcmd: (doc.bootcmd ?? []).map(toCommand),
    runcmd: (doc.runcmd ?? []).map(toCommand),
    writeFiles: toFiles(doc.write_files, options, notes),
    ...(doc.ntp?.enabled === true ? { ntp: { client: doc.ntp.ntp_client ?? "chrony", servers: [], pools: [] } } : {}),
    apk: alpineApk(doc.apk, notes),
    packageUpdate: doc.package_update ?? false,
    packageUpgrade: doc.package_upgrade ?? false,
    packages: doc.packages ?? [],
    autoinstall: doc.autoinstall ?? false,
    ...notes.finish(options?.unknownKeys ?? [], "unknown #alpine-config keys ignored")
  }
}

// ---- #cloud-config -------------------------------------------------------------------------

const splitGroups = (groups: UserMap["groups"]): ReadonlyArray<string> =>
  groups === undefined ? [] : typeof groups === "string" ? groups.split(",").map((g) => g.trim()).filter((g) => g !== "") : groups

const userSpec = (entry: string | UserMap, i: number, notes: Notes): UserSpec | undefined => {
  if (typeof entry === "string") return { name: entry, groups: [], sudo: undefined, lockPasswd: true, sshAuthorizedKeys: [] }
  if (entry.name === undefined) {
    notes.problem(["users", i], "a user map needs a name; entry skipped")
    return undefined
  }
  return {
    name: entry.name,
    groups: splitGroups(entry.groups),
    sudo: entry.sudo === undefined || entry.sudo === false ? entry.sudo : typeof entry.sudo === "string" ? [entry.sudo] : entry.sudo,
    ...(entry.shell !== undefined ? { shell: entry.shell } : {}),
    lockPasswd: entry.lock_passwd ?? true,
    sshAuthorizedKeys: entry.ssh_authorized_keys ?? []
  }
}

/**
 * `default` anywhere in the list keeps CLOUD_USER as the default user and
 * every named entry is a further user; without `default`, the first named
 * entry replaces CLOUD_USER.
 */
const cloudUsers = (users: CloudConfig["users"], notes: Notes): Pick<UserConfig, "defaultUser" | "users"> => {
  const entries = users ?? []
  const named = entries.flatMap((e, i) => (e === "default" ? [] : (userSpec(e, i, notes) ?? [])))
  if (entries.includes("default") || named.length === 0) return { users: named }
  return { defaultUser: named[0]!, users: named.slice(1) }
}

const cloudNtp = (ntp: CloudConfig["ntp"]): Pick<UserConfig, "ntp"> =>
  ntp === undefined || ntp.enabled === false
    ? {}
    : {
        ntp: {
          client: ntp.ntp_client === undefined || ntp.ntp_client === "auto" ? "chrony" : ntp.ntp_client,
          servers: ntp.servers ?? [],
          pools: ntp.pools ?? []
        }
      }

const cloudApk = (apk: CloudConfig["apk_repos"], notes: Notes): UserConfig["apk"] => {
  const none = { repositories: [], configured: apk !== undefined, replaceRepositories: false }
  if (apk === undefined) return none
  const repo = apk.alpine_repo
  if (apk.preserve_repositories === true) {
    if (repo !== undefined || apk.local_repo_base_url !== undefined) notes.warn(["apk_repos"], "preserve_repositories is true; repositories left alone")
    return none
  }
  if (repo === undefined) {
    if (apk.local_repo_base_url !== undefined) notes.warn(["apk_repos", "local_repo_base_url"], "ignored without alpine_repo")
    return none
  }
  const baseUrl = repo.base_url ?? DEFAULT_ALPINE_MIRROR
  const repositories: Array<ApkRepository> = [
    { baseUrl, version: repo.version, repos: repo.community_enabled === true ? ["main", "community"] : ["main"] }
  ]
  if (repo.testing_enabled === true) repositories.push({ baseUrl, version: "edge", repos: ["testing"] })
  if (apk.local_repo_base_url !== undefined) repositories.push({ baseUrl: apk.local_repo_base_url, version: ".", repos: [repo.version] })
  return { repositories, configured: true, replaceRepositories: true }
}

export const fromCloudConfig = (doc: CloudConfig, options?: MapOptions): UserConfig => {
  const notes = new Notes()
  return {
    ...emptyUserConfig,
    ...(doc.hostname !== undefined ? { hostname: doc.hostname } : {}),
    ...(doc.fqdn !== undefined ? { fqdn: doc.fqdn } : {}),
    ...cloudUsers(doc.users, notes),
    sshAuthorizedKeys: doc.ssh_authorized_keys ?? [],
    bootcmd: (doc.bootcmd ?? []).map(toCommand),
    runcmd: (doc.runcmd ?? []).map(toCommand),
    writeFiles: toFiles(doc.write_files, options, notes),
    ...cloudNtp(doc.ntp),
    apk: cloudApk(doc.apk_repos, notes),
    packageUpdate: doc.package_update ?? false,
    packageUpgrade: doc.package_upgrade ?? false,
    packages: (doc.packages ?? []).map((p) => (typeof p === "string" ? p : `${p[0]}=${p[1]}`)),
    ...(doc.timezone !== undefined ? { timezone: doc.timezone } : {}),
    ...(typeof doc.ssh_pwauth === "boolean" ? { sshPwauth: doc.ssh_pwauth } : {}),
    ...notes.finish(options?.unknownKeys ?? [], "unsupported cloud-config keys")
  }
}
