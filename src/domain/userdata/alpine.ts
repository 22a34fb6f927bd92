/** `#alpine-config` (BEHAVIOUR.md §6) onto the model, key by key, as the shell edition reads it. */
import { AlpineApk, AlpineNtp, AlpineUser, AlpineWriteFile } from "../../schema/alpine-config.js"
import { PackageName, Text } from "../../schema/fields.js"
import {
  commandsReader,
  flagReader,
  ignoreOthers,
  nonEmpty,
  ntpClientOf,
  readApkRepositories,
  readSshKeys,
  toFile,
  type ReadContext
} from "./common.js"
import { parseMode } from "./content.js"
import { readDocument, type Reader, type DocumentRead } from "./document.js"
import { defaultSettings, emptyUserConfig, type UserConfig } from "./model.js"
import { asMap, decodeEach, decodeOr, type Key } from "./notes.js"

const WRITE_FILE_KEYS: ReadonlySet<string> = new Set(Object.keys(AlpineWriteFile.fields))

const readFiles = (value: unknown, path: ReadonlyArray<Key>, context: ReadContext): Partial<UserConfig> | undefined => {
  const entries = decodeEach(AlpineWriteFile, value, path, context.notes)
  if (Array.isArray(value)) value.forEach((raw: unknown, i) => ignoreOthers(raw, [...path, i], WRITE_FILE_KEYS, context.notes))
  const files = entries.flatMap(({ index, value: f }) => {
    const at = [...path, index]
    return toFile({ ...f, mode: f.permissions === undefined ? undefined : parseMode(f.permissions) }, at, index, context, false) ?? []
  })
  const kept = nonEmpty(files, value)
  return kept === undefined ? undefined : { writeFiles: kept }
}

const NAME_ONLY: ReadonlySet<string> = new Set(["name"])

const READERS: Readonly<Record<string, Reader>> = {
  user: (value, path, { notes }) => {
    const user = decodeOr(AlpineUser, value, path, notes)
    if (user === undefined) return undefined
    ignoreOthers(value, path, NAME_ONLY, notes)
    const name = typeof user === "string" ? user : user.name
    // BEHAVIOUR.md §6: an error logged, the default user kept; the key is dealt with, so the rest of the document (even none) is applied
    if (name === undefined) {
      notes.error(path, "a user map needs a name; the default user is kept")
      return {}
    }
    return { defaultUser: { ...defaultSettings, name } }
  },
  ssh_authorized_keys: readSshKeys,
  bootcmd: commandsReader("bootcmd"),
  runcmd: commandsReader("runcmd"),
  write_files: readFiles,
  ntp: (value, path, { notes }) => {
    const ntp = decodeOr(AlpineNtp, value, path, notes)
    if (ntp === undefined) return undefined
    ignoreOthers(value, path, AlpineNtp, notes)
    if (ntp.enabled !== true && ntp.enabled !== "yes" && ntp.enabled !== "true") return {}
    const client = ntp.ntp_client === undefined ? "chrony" : ntpClientOf(ntp.ntp_client, [...path, "ntp_client"], notes)
    return { ntp: { client, servers: [], pools: [], peers: [], allow: [], install: "apk add" } }
  },
  // each field on its own: a bad `cache` costs only the cache; and an `apk` key, even one that cannot
  // be used, leaves the repositories to it (no setup-apkrepos), as the shell edition does
  apk: (value, path, { notes }) => {
    const map = asMap(value)
    if (map === undefined) {
      decodeOr(AlpineApk, value, path, notes)
      return { apk: { repositories: [], configured: true, replaceRepositories: false } }
    }
    ignoreOthers(value, path, AlpineApk, notes)
    const cache = map["cache"] === undefined || map["cache"] === null ? undefined : decodeOr(Text, map["cache"], [...path, "cache"], notes)
    const listed = map["repositories"]
    const repositories = listed === undefined || listed === null ? [] : readApkRepositories(listed, [...path, "repositories"], notes)
    return { apk: { ...(cache !== undefined ? { cache } : {}), repositories, configured: true, replaceRepositories: false } }
  },
  package_update: flagReader("packageUpdate"),
  package_upgrade: flagReader("packageUpgrade"),
  packages: (value, path, { notes }) => {
    const packages = nonEmpty(
      decodeEach(PackageName, value, path, notes).map((e) => e.value),
      value
    )
    return packages === undefined ? undefined : { packages }
  },
  autoinstall: flagReader("autoinstall")
}

/** every top-level key carried out (the others are named as ignored) */
export const ALPINE_CONFIG_KEYS: ReadonlyArray<string> = Object.keys(READERS)

export const fromAlpineConfig = (raw: unknown, context: ReadContext): DocumentRead & { readonly config: UserConfig } => {
  const read = readDocument(raw, READERS, context, "#alpine-config")
  return { ...read, config: { ...emptyUserConfig, commandStyle: "entries", ...read.config } }
}
