/** Readers the `#alpine-config` and `#cloud-config` keys share: commands, files, NTP clients, repositories. */
import * as Either from "effect/Either"
import { ApkRepository as ApkRepositorySchema, Command as CommandSchema, Flag, TextList } from "../../schema/fields.js"
import { DEFAULT_USERDATA_MAX_BYTES } from "../settings.js"
import { authorizedKeys } from "../ssh-keys.js"
import { canonicalEncoding, decodeContent, lacksPadding, namesBase64, type Budget } from "./content.js"
import type { ApkRepository, Command, FileSource, FileToWrite, NtpClient, UserConfig } from "./model.js"
import { asMap, decodeEach, decodeOr, type Key, type Notes } from "./notes.js"

/** what a document reader needs besides the document */
export interface ReadContext {
  readonly notes: Notes
  /** bytes the content of all `write_files` (gzip content as it expands) may still take */
  readonly budget: Budget
  /** CLOUD_USER, the default user where user-data names none (unknown to `tiny-cloud schema` without a configuration) */
  readonly cloudUser?: string
}

/** what one top-level key gives; undefined when nothing of it can be used */
export type Reader = (value: unknown, path: ReadonlyArray<Key>, context: ReadContext) => Partial<UserConfig> | undefined

export const newBudget = (limit = DEFAULT_USERDATA_MAX_BYTES): Budget => ({ remaining: limit, limit })

/** how a scalar of a command's argument list becomes its text */
export type ArgumentText = (value: string | number | boolean | null) => string

/**
 * A float as Python's `str()` writes it: `inf`, `-inf`, `nan`; a whole one
 * with its `.0` (`9.0`, `-0.0`); below 0.0001 or from 1e16 in exponent form
 * with a signed exponent of two digits at least (`1e-05`, `1e+16`); the
 * same shortest digits as JavaScript's otherwise.
 */
export const pythonFloat = (n: number): string => {
  if (Number.isNaN(n)) return "nan"
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf"
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0"
  const [mantissa, exponent] = n.toExponential().split("e")
  const e = Number(exponent)
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`
  const fixed = String(n)
  return fixed.includes(".") ? fixed : `${fixed}.0`
}

/** a number: an integer as its digits; a float as Python writes it (the YAML reading has made a whole float of a list its text already) */
const pythonNumber = (n: number): string => (Number.isInteger(n) ? String(n) : pythonFloat(n))

/**
 * A scalar as Python's `str()` writes it, as cloud-init turns list items
 * into text: booleans are `True` and `False`, null `None`, `.inf` `inf`, `9.0` `9.0`.
 */
export const pythonText: ArgumentText = (value) =>
  typeof value === "boolean" ? (value ? "True" : "False") : value === null ? "None" : typeof value === "number" ? pythonNumber(value) : String(value)

/** a number inside an argument list's map or list as Python writes it, where its value would not say (`1.0`, `1e+16`, an integer past 2**53): the YAML reading's */
export class PythonLiteral {
  constructor(readonly text: string) {}
}

/** a string as Python's `repr()` writes it: in single quotes unless it holds one and no double quote; the quote, `\\` and what is not printable escaped */
const pythonStringRepr = (s: string): string => {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'"
  const escaped = s.replace(/[\\'"\p{C}\p{Z}]/gu, (c) => {
    if (c === "\\" || c === quote) return `\\${c}`
    if (c === "'" || c === '"' || c === " ") return c
    if (c === "\t") return "\\t"
    if (c === "\n") return "\\n"
    if (c === "\r") return "\\r"
    const code = c.codePointAt(0) ?? 0
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : code <= 0xffff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\U${code.toString(16).padStart(8, "0")}`
  })
  return `${quote}${escaped}${quote}`
}

/**
 * A map or list inside an argument list as Python's `str()` writes it (`{}`, `[]`, `{'a': 1}`, `['x', True]`), as
 * cloud-init's shellify writes every item of a list entry (`[find, /srv, -exec, chmod, 0644, {}, +]`: YAML's `{}` is an
 * empty map); a map's keys are read as text. None for one holding binary data; `too long` past `max` characters or 200 levels.
 */
const pythonContainerText = (value: object, max: number): string | "binary" | "too long" => {
  let length = 0
  let refused: "binary" | "too long" | undefined
  // the containers being written: one that holds itself (an alias inside its own anchor) is `[...]` there, as Python writes it
  const open = new Set<unknown>()
  const repr = (v: unknown, depth: number): string | undefined => {
    if (depth > 200 || length > max) {
      refused = "too long"
      return undefined
    }
    if (open.has(v)) return Array.isArray(v) || v instanceof Map ? "[...]" : "{...}"
    // (the text of what it holds is counted once, as its items are written: a list deep in lists is not counted at each level)
    const before = length
    const inner = (item: unknown) => {
      open.add(v)
      const t = repr(item, depth + 1)
      open.delete(v)
      return t
    }
    let text: string | undefined
    if (typeof v === "string") text = pythonStringRepr(v)
    else if (v instanceof PythonLiteral) text = v.text
    else if (v === null || typeof v === "number" || typeof v === "boolean") text = pythonText(v)
    else if (Array.isArray(v) || v instanceof Set) {
      const items: Array<string> = []
      for (const item of v) {
        const t = inner(item)
        if (t === undefined) return undefined
        items.push(t)
      }
      // a `!!set` as Python writes a set (its members in the order written, where Python's follows their hashes)
      text = Array.isArray(v) ? `[${items.join(", ")}]` : items.length === 0 ? "set()" : `{${items.join(", ")}}`
    } else if (v instanceof Map) {
      // a `!!omap`, which PyYAML makes a list of (key, value) pairs
      const items: Array<string> = []
      for (const [k, item] of v) {
        const key = inner(k)
        const t = key === undefined ? undefined : inner(item)
        if (t === undefined) return undefined
        items.push(`(${key}, ${t})`)
      }
      text = `[${items.join(", ")}]`
    } else {
      const map = asMap(v)
      if (map === undefined) {
        refused = "binary"
        return undefined
      }
      const items: Array<string> = []
      for (const [k, item] of Object.entries(map)) {
        const t = inner(item)
        if (t === undefined) return undefined
        items.push(`${pythonStringRepr(k)}: ${t}`)
      }
      text = `{${items.join(", ")}}`
    }
    length = before + text.length
    if (length > max) refused = "too long"
    return refused === undefined ? text : undefined
  }
  return repr(value, 0) ?? refused ?? "too long"
}

/**
 * a list entry's maps and lists as their Python text, `max` characters for all of them (aliases name one map at many
 * places: never more text than the user-data may hold; the entry that would pass it is skipped with a line saying so);
 * one holding binary data is left, and its entry skipped as no command
 */
const withContainersAsText = (value: unknown, max: number, path: ReadonlyArray<Key>, notes: Notes): unknown => {
  if (!Array.isArray(value)) return value
  let left = max
  return value.map((c: unknown, i) => {
    if (!Array.isArray(c)) return c
    const argv: Array<unknown> = []
    for (const [j, a] of c.entries()) {
      const text = a !== null && typeof a === "object" && !(a instanceof Uint8Array) ? pythonContainerText(a, left) : undefined
      if (text === "too long") {
        notes.skip({ path: [...path, i, j], message: `more than ${max} bytes of commands, the limit for user-data` }, [...path, i])
        return null
      }
      if (text !== undefined && text !== "binary") left -= text.length
      argv.push(text === undefined || text === "binary" ? a : text)
    }
    return argv
  })
}

/**
 * bootcmd/runcmd: strings and argument lists, in order; null entries are passed over as cloud-init does.
 * `containersMax`: a list entry's maps and lists are its arguments as Python writes them, up to that many characters (cloud-config).
 */
const readCommands = (
  value: unknown,
  path: ReadonlyArray<Key>,
  notes: Notes,
  argumentText: ArgumentText,
  containersMax?: number
): ReadonlyArray<Command> =>
  decodeEach(CommandSchema, containersMax === undefined ? value : withContainersAsText(value, containersMax, path, notes), path, notes, "skip").flatMap(({ index, value: c }): Array<Command> => {
    if (typeof c === "string") return [{ kind: "shell", script: c, index }]
    return c.length === 0 ? [] : [{ kind: "argv", argv: c.map(argumentText), index }]
  })

/** a list that gave something, or was empty as written; undefined when every entry was skipped */
export const nonEmpty = <A>(list: ReadonlyArray<A>, value: unknown): ReadonlyArray<A> | undefined =>
  list.length > 0 || (Array.isArray(value) && value.length === 0) ? list : undefined

/** characters of the commands as their script has them (at least) */
const commandsLength = (commands: ReadonlyArray<Command>): number =>
  commands.reduce((sum, c) => sum + 1 + (c.kind === "shell" ? c.script.length : c.argv.reduce((n, arg) => n + arg.length + 3, 0)), 0)

export const commandsReader =
  (key: "bootcmd" | "runcmd", argumentText: ArgumentText = String, containers = false): Reader =>
  (value, path, { notes, budget }) => {
    const commands = nonEmpty(readCommands(value, path, notes, argumentText, containers ? budget.limit : undefined), value)
    if (commands === undefined) return undefined
    // YAML aliases give one text to many entries: no more of them than the user-data itself may hold (never a script too long to make)
    if (commandsLength(commands) > budget.limit) {
      notes.skip({ path, message: `more than ${budget.limit} bytes of commands, the limit for user-data` }, path)
      return undefined
    }
    return { [key]: commands }
  }

/** keys as cloud-init takes a user's: a list, one key as a string, or a map whose values are the keys */
const keyListOf = (value: unknown): unknown => {
  if (typeof value === "string") return [value]
  const map = asMap(value)
  return map !== undefined ? Object.values(map) : value
}

/**
 * keys (at `path`) in any form cloud-init takes, each entry read on its own: one that is no string is skipped alone;
 * an entry holding a line that is not a key is warned about here, as the action will leave that line out
 */
export const keyEntries = (value: unknown, path: ReadonlyArray<Key>, notes: Notes) => {
  const entries = decodeEach(TextList.value, keyListOf(value), path, notes)
  for (const { index, value: entry } of entries) {
    // an entry of several lines (a block scalar of keys) loses only its lines that are none: said so, its keys being installed
    const { keys, dropped } = authorizedKeys([entry], { allowOptions: true })
    if (dropped > 0 && keys.length === 0) notes.unusable([...path, index], "not an OpenSSH public key; left out")
    else if (dropped > 0) notes.unusable([...path, index], `${dropped} of its lines ${dropped === 1 ? "is not an OpenSSH public key" : "are not OpenSSH public keys"}; ${dropped === 1 ? "that line" : "those lines"} left out, its keys kept`)
  }
  return entries
}

/** the keys as written */
export const readSshKeys: Reader = (value, path, { notes }) => {
  const entries = keyEntries(value, path, notes)
  const keys = nonEmpty(entries.map((e) => e.value), value)
  return keys === undefined ? undefined : { sshAuthorizedKeys: keys }
}

export const flagReader =
  (field: "packageUpdate" | "packageUpgrade" | "autoinstall"): Reader =>
  (value, path, { notes }) => {
    const decoded = decodeOr(Flag, value, path, notes)
    return decoded === undefined ? undefined : { [field]: decoded }
  }

/** the keys of a map that are not carried out (not in `known`, or not a field of the struct schema), named once */
export const ignoreOthers = (value: unknown, path: ReadonlyArray<Key>, known: ReadonlySet<string> | { readonly fields: object }, notes: Notes) => {
  const map = asMap(value)
  const has = (k: string) => ("fields" in known ? Object.hasOwn(known.fields, k) : known.has(k))
  if (map !== undefined) for (const k of Object.keys(map)) if (!has(k)) notes.ignore([...path, k])
}

/** a write_files entry once its format has read it */
export interface FileEntry {
  readonly path?: string | undefined
  readonly content?: string | Uint8Array | undefined
  readonly encoding?: string | undefined
  readonly mode?: number | undefined
  readonly owner?: string | undefined
  readonly append?: boolean | undefined
  readonly defer?: boolean | undefined
  readonly source?: FileSource | undefined
}

/**
 * The file an entry asks for, or undefined when it is skipped (no path, undecodable content); the reasons are noted.
 * `binaryOnceMore` (`#cloud-config`): `!!binary` content under a base64 encoding is decoded again, as cloud-init does; `gz` text, which cloud-init cannot read, is named.
 */
export const toFile = (entry: FileEntry, at: ReadonlyArray<Key>, index: number, context: ReadContext, binaryOnceMore: boolean): FileToWrite | undefined => {
  const { notes } = context
  // BEHAVIOUR.md §6 "missing path → entry skipped", a warning as alpine-config(5) and cloud-config(5) have it (the shell
  // edition passes over such an entry, cloud-init warns): never what makes a document invalid, even when it is the only entry
  if (entry.path === undefined || entry.path.trim() === "") {
    notes.warn(at, "no path; skipped")
    return undefined
  }
  // a file of another name is never written in its place: cloud-init and the shell edition fail such an entry
  const unusable = entry.path.includes("\0") ? "holds a NUL byte, which no file name can" : entry.path.endsWith("/") ? "ends with /: it names a directory, not a file" : undefined
  if (unusable !== undefined) {
    notes.skip({ path: [...at, "path"], message: unusable }, at)
    return undefined
  }
  let encoding = canonicalEncoding(entry.encoding)
  if (encoding === undefined) {
    notes.warn([...at, "encoding"], "not an encoding cloud-init knows; the content is written as text/plain, as cloud-init does")
    encoding = "text/plain"
  }
  const hasContent = entry.content !== undefined
  let content: Uint8Array | undefined
  if (hasContent || entry.source === undefined) {
    const decoded = decodeContent(entry.content, encoding, context.budget, binaryOnceMore)
    if (Either.isLeft(decoded) && entry.source !== undefined && typeof entry.content === "string") {
      // cloud-init decodes the content only when the fetch fails: content that cannot be decoded leaves the source, never skips the file
      notes.warn([...at, "content"], `${decoded.left}: only its source is written (cloud-init decodes the content only when the fetch fails)`)
    } else if (Either.isLeft(decoded)) {
      notes.skip({ path: [...at, "content"], message: decoded.left }, at)
      return undefined
    } else {
      // with a source, cloud-init decodes the content only when the fetch fails, which is said then (files.ts): never named here
      const decodedByCloudInit = binaryOnceMore && entry.source === undefined
      // (Python's base64 decoder drops ASCII outside the alphabet, but refuses a text that is not ASCII)
      if (decodedByCloudInit && typeof entry.content === "string" && namesBase64(encoding) && /[^\x00-\x7f]/.test(entry.content)) {
        notes.warn([...at, "content"], "base64 with characters outside ASCII, which cloud-init refuses (it writes neither this file nor those after it); decoded without them")
      } else if (decoded.right.dropped > 0) {
        notes.warn([...at, "content"], `${decoded.right.dropped} characters outside the base64 alphabet were dropped, as cloud-init drops them`)
      }
      if (decodedByCloudInit && typeof entry.content === "string" && namesBase64(encoding) && lacksPadding(entry.content)) {
        notes.warn([...at, "content"], "base64 without its closing '=' padding, which cloud-init refuses ('Incorrect padding'); decoded as if padded")
      }
      // cloud-init gunzips `gz` text as it is (its decomp_gzip), which fails: it writes neither this file nor the ones after it
      if (decodedByCloudInit && (encoding === "gz" || encoding === "gzip") && typeof entry.content === "string" && entry.content.length > 0) {
        notes.warn([...at, "encoding"], `${encoding} with text content, which cloud-init gunzips as it is and fails on (it writes neither this file nor those after it): read as base64 of gzip data, as gz+base64 is`)
      }
      content = decoded.right.bytes
    }
  }
  return {
    path: entry.path.startsWith("/") ? entry.path : `/${entry.path}`,
    content,
    ...(entry.source !== undefined ? { source: entry.source } : {}),
    mode: entry.mode ?? 0o644,
    owner: entry.owner ?? "root:root",
    append: entry.append ?? false,
    defer: entry.defer ?? false,
    index
  }
}

/**
 * An NTP client by the names cloud-init knows (and the shell edition's
 * `busybox`): `ntp` and `ntpdate` are busybox's ntpd on Alpine; an empty name
 * is `auto`, as cloud-init takes it; anything else is warned about and the
 * default client is used.
 */
export const ntpClientOf = (name: string | undefined, path: ReadonlyArray<Key>, notes: Notes): NtpClient => {
  switch ((name ?? "auto").trim().toLowerCase()) {
    case "":
    case "auto":
    case "chrony":
      return "chrony"
    case "busybox":
    case "ntp":
    case "ntpdate":
      return "busybox"
    case "openntpd":
      return "openntpd"
    default:
      notes.warn(path, "not an NTP client on Alpine; chrony is used")
      return "chrony"
  }
}

/** `#alpine-config` apk.repositories entries, each on its own */
export const readApkRepositories = (value: unknown, path: ReadonlyArray<Key>, notes: Notes): ReadonlyArray<ApkRepository> =>
  decodeEach(ApkRepositorySchema, value, path, notes).map(({ index, value: r }) => {
    ignoreOthers((value as Array<unknown>)[index], [...path, index], ApkRepositorySchema, notes)
    if ((r.repos ?? []).length === 0) notes.warn([...path, index], "no repos listed; nothing added")
    // an empty version is none given, the release's, as the shell edition reads it (`[ -z "$version" ]`): `.` or `/` is no version
    return { baseUrl: r.base_url, version: r.version === "" ? undefined : r.version, repos: r.repos ?? [] }
  })
