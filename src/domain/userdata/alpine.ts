/** `#alpine-config` (BEHAVIOUR.md §6) onto the model, key by key, as the shell edition reads it. */
import { AlpineApk, AlpineNtp, AlpineUser, AlpineWriteFile } from "../../schema/alpine-config.js"
import { Flag, PackageName } from "../../schema/fields.js"
import { ntpClientOf, readApkRepositories, readCommands, readTextList, toFile, type ReadContext } from "./common.js"
import { parseMode } from "./content.js"
import { readDocument, type Reader, type DocumentRead } from "./document.js"
import { defaultSettings, emptyUserConfig, type UserConfig } from "./model.js"
import { decodeEach, decodeOr, type Key } from "./notes.js"

const flag =
  (field: "packageUpdate" | "packageUpgrade" | "autoinstall"): Reader =>
  (value, path, { notes }) => {
    const decoded = decodeOr(Flag, value, path, notes)
    return decoded === undefined ? undefined : { [field]: decoded }
  }

const nonEmpty = <A>(list: ReadonlyArray<A>, value: unknown): ReadonlyArray<A> | undefined =>
  list.length > 0 || (Array.isArray(value) && value.length === 0) ? list : undefined

const WRITE_FILE_KEYS: ReadonlySet<string> = new Set(Object.keys(AlpineWriteFile.fields))

const readFiles = (value: unknown, path: ReadonlyArray<Key>, context: ReadContext): Partial<UserConfig> | undefined => {
  const entries = decodeEach(AlpineWriteFile, value, path, context.notes)
  if (Array.isArray(value)) {
    value.forEach((raw: unknown, i) => {
      if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
        for (const k of Object.keys(raw)) if (!WRITE_FILE_KEYS.has(k)) context.notes.ignore([...path, i, k])
      }
    })
  }
  const files = entries.flatMap(({ index, value: f }) => {
    const at = [...path, index]
    return toFile({ ...f, mode: f.permissions === undefined ? undefined : parseMode(f.permissions) }, at, index, context) ?? []
  })
  const kept = nonEmpty(files, value)
  return kept === undefined ? undefined : { writeFiles: kept }
}

const READERS: Readonly<Record<string, Reader>> = {
  user: (value, path, { notes }) => {
    const user = decodeOr(AlpineUser, value, path, notes)
    if (user === undefined) return undefined
    const name = typeof user === "string" ? user : user.name
    if (name === undefined) {
      notes.problem(path, "a user map needs a name; the default user is kept")
      return undefined
    }
    return { defaultUser: { ...defaultSettings, name } }
  },
  ssh_authorized_keys: (value, path, { notes }) => {
    const keys = nonEmpty(readTextList(value, path, notes), value)
    return keys === undefined ? undefined : { sshAuthorizedKeys: keys }
  },
  bootcmd: (value, path, { notes }) => {
    const commands = nonEmpty(readCommands(value, path, notes), value)
    return commands === undefined ? undefined : { bootcmd: commands }
  },
  runcmd: (value, path, { notes }) => {
    const commands = nonEmpty(readCommands(value, path, notes), value)
    return commands === undefined ? undefined : { runcmd: commands }
  },
  write_files: readFiles,
  ntp: (value, path, { notes }) => {
    const ntp = decodeOr(AlpineNtp, value, path, notes)
    if (ntp === undefined) return undefined
    if (ntp.enabled !== true) return {}
    const client = ntp.ntp_client === undefined ? "chrony" : ntpClientOf(ntp.ntp_client, [...path, "ntp_client"], notes)
    return { ntp: { client, servers: [], pools: [], peers: [], allow: [] } }
  },
  apk: (value, path, { notes }) => {
    const apk = decodeOr(AlpineApk, value, path, notes)
    if (apk === undefined) return undefined
    const repositories = apk.repositories === undefined ? [] : readApkRepositories(apk.repositories, [...path, "repositories"], notes)
    return { apk: { ...(apk.cache !== undefined ? { cache: apk.cache } : {}), repositories, configured: true, replaceRepositories: false } }
  },
  package_update: flag("packageUpdate"),
  package_upgrade: flag("packageUpgrade"),
  packages: (value, path, { notes }) => {
    const packages = nonEmpty(
      decodeEach(PackageName, value, path, notes).map((e) => e.value),
      value
    )
    return packages === undefined ? undefined : { packages }
  },
  autoinstall: flag("autoinstall")
}

export const fromAlpineConfig = (raw: unknown, context: ReadContext): DocumentRead & { readonly config: UserConfig } => {
  const read = readDocument(raw, READERS, context, "#alpine-config")
  return { ...read, config: { ...emptyUserConfig, commandStyle: "entries", ...read.config } }
}
