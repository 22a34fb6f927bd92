/**
 * User-data types (BEHAVIOUR.md §6): how the type is read from the data, as
 * cloud-init reads it, and how each type changes the phases' action lists.
 * The one list of types.
 */
import type { ActionChange } from "../plan.js"
import { LINE_BREAK, printable, textOf } from "../text.js"

const USERDATA_TYPES = ["missing", "unknown", "script", "alpine-config", "cloud-config", "multipart"] as const
export type UserDataType = (typeof USERDATA_TYPES)[number]

/** cloud-init looks for MIME headers in the first 4 KiB */
const HEAD_BYTES = 4096

const JINJA = /^## template:\s*jinja\b/i

/** an ASCII character text starts with: printable, or a blank or line break */
const isAsciiText = (byte: number | undefined): boolean => byte !== undefined && ((byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d)

/**
 * Text saved as UTF-16 (Windows PowerShell 5 writes files so unless told
 * otherwise) starts with its byte-order mark, FF FE or FE FF; text made
 * UTF-16 in memory has none (PowerShell's `[Text.Encoding]::Unicode.GetBytes`,
 * before it is given base64 to a cloud), and is known by the NUL byte beside
 * each of its first two ASCII characters. Read as UTF-8, as cloud-init reads
 * user-data, its `#cloud-config` is no type at all.
 */
const isUtf16 = (bytes: Uint8Array): boolean =>
  (bytes[0] === 0xff && bytes[1] === 0xfe) ||
  (bytes[0] === 0xfe && bytes[1] === 0xff) ||
  (isAsciiText(bytes[0]) && bytes[1] === 0 && isAsciiText(bytes[2]) && bytes[3] === 0) ||
  (bytes[0] === 0 && isAsciiText(bytes[1]) && bytes[2] === 0 && isAsciiText(bytes[3]))

/** why user-data (or a MIME part) of a word is not read, where the word alone does not say it */
const NOT_READ: Readonly<Record<string, string>> = {
  jinja: "jinja templates are not supported",
  "jinja-cr":
    "a jinja template whose lines end in a CR alone, which cloud-init cannot read: it ends the template's first line at a line feed, takes the whole text for it, and applies none of it; save it with LF line ends",
  "utf-16": "UTF-16 text is not read, as cloud-init does not read it either: save the user-data as UTF-8",
  base64: "base64 text is not decoded, as cloud-init does not decode it either: give the cloud the user-data itself (on gcp, or set user-data-encoding to base64; on hetzner, which keeps user-data as text, binary user-data as one base64 word without line breaks, as base64 -w0 writes it)"
}

export const whyNotRead = (word: string): string | undefined => (Object.hasOwn(NOT_READ, word) ? NOT_READ[word] : undefined)

/**
 * MIME: the text starts with header lines (after an optional mbox `From `
 * line), and one of them is `Content-Type` or `MIME-Version`, whatever
 * their case. The headers end at a blank line or, as Python's email reads
 * them, at the first line that is no header: a multipart document written
 * without the blank line before its first boundary is MIME. cloud-init
 * hands the text to Python's email only when it holds `MIME-Version:`, so
 * headers run into a line that is no header are MIME only with it
 * (`Content-Type: text/x-shellscript` followed by a script is no type to
 * cloud-init, which runs nothing), or when that line is the half line the
 * 4 KiB mark cut. Its lines end at LF, CR LF or a CR alone, as Python's email
 * reads them (src/domain/userdata/mime.ts splits them so).
 */
const isMime = (head: string): boolean => {
  const lines = head.split(LINE_BREAK)
  let i = lines[0]?.startsWith("From ") ? 1 : 0
  let type = false
  let version = false
  for (; i < lines.length; i++) {
    const line = lines[i]!
    if (line === "") return type || version
    if (/^[ \t]/.test(line)) continue
    const name = /^([!-9;-~]+):/.exec(line)?.[1]?.toLowerCase()
    if (name === undefined) return version || (type && i === lines.length - 1 && head.length >= HEAD_BYTES)
    if (name === "content-type") type = true
    if (name === "mime-version") version = true
  }
  return type || version
}

/**
 * Base64 text the cloud serves as it was given, which cloud-init does not
 * decode either: Terraform's cloudinit_config output (base64 of gzip by
 * default) on a cloud that takes user-data as it is, or a base64 file given
 * to a tool that encodes it again. Told by what the text's start (a few KiB
 * at most) decodes to: gzip data, or user-data of a type a word names.
 */
const isBase64OfUserData = (text: string): boolean => {
  const compact = text.replace(/\s+/g, "")
  const whole = compact.slice(0, compact.length - (compact.length % 4))
  if (whole.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(whole)) return false
  const decoded = Buffer.from(whole, "base64")
  if (decoded[0] === 0x1f && decoded[1] === 0x8b && decoded[2] === 8) return true
  // a type's word, not any `#`: plain text ('I was here') decodes to `#` and bytes of no type one time in 256
  const word = userDataWord(decoded)
  return word === "script" || word === "multipart" || word === "cloud-config" || OTHER_TYPE_WORDS.has(word) || whyNotRead(word) !== undefined
}

/** the first line of a text, without its line break */
const firstLineOf = (text: string): string => text.split(/\r?\n/, 1)[0] ?? ""

/**
 * cloud-init's type prefixes after `#`, longest first: it takes the
 * user-data for the first one its text starts with, whatever follows
 * (`#cloud-config:` is cloud-config to it), so they are read the same here.
 */
const CLOUD_INIT_PREFIXES = ["cloud-config-archive", "cloud-config-jsonp", "cloud-boothook", "cloud-config", "include-once", "part-handler", "upstart-job", "include"]

/** the word a `#` first line names (`text` without the `#`): cloud-init's type it starts with, else its first word */
const wordOf = (text: string): string => {
  const lower = text.toLowerCase()
  return CLOUD_INIT_PREFIXES.find((prefix) => lower.startsWith(prefix)) ?? printable(firstLineOf(text).split(/\s/)[0]?.toLowerCase() ?? "")
}

/**
 * The word that names the user-data's type, read as cloud-init reads it:
 * leading whitespace ignored, case ignored. `#!` `script`, `#WORD` WORD
 * (the type of cloud-init's a first line starts with: `#cloud-config:` is `cloud-config`),
 * MIME headers `multipart`, nothing `missing`, anything else `unknown`. A
 * `## template: jinja` line before `#cloud-config` gives `cloud-config` (the
 * template is not rendered, a warning says so); before anything else,
 * `jinja`; with lines that end in a CR alone, `jinja-cr`. Text that starts with a UTF-16 byte-order mark, `utf-16`; base64
 * text of user-data (or of gzip data), `base64`. A WORD this program has no
 * handler for (`cloud-boothook`...) is kept, so messages can name it:
 * printable, as every message, status.json and `status` show it (control
 * characters escaped, at most 80 of them), never the terminal escapes or
 * the kilobytes a first line may hold.
 */
export const userDataWord = (bytes: Uint8Array): string => {
  if (bytes.length === 0) return "missing"
  if (isUtf16(bytes)) return "utf-16"
  const head = textOf(bytes.subarray(0, HEAD_BYTES))
  if (isMime(head)) return "multipart"
  const text = head.replace(/^\s+/, "")
  if (JINJA.test(text)) {
    const first = firstLineOf(text)
    // text after a CR alone is on the template's line to cloud-init, which splits at a line feed: its type is no `jinja` then
    if (/\r\s*\S/.test(first)) return "jinja-cr"
    const rest = text.slice(first.length).replace(/^\s+/, "")
    return rest.startsWith("#") && wordOf(rest.slice(1)) === "cloud-config" ? "cloud-config" : "jinja"
  }
  if (text.startsWith("#!")) return "script"
  if (text.startsWith("#")) return wordOf(text.slice(1)) || "unknown"
  return isBase64OfUserData(text) ? "base64" : "unknown"
}

/**
 * The `#WORD` types cloud-init knows from a first line besides `#!` and
 * `#cloud-config`, and this program's `#alpine-config`: words that name a
 * type, not a comment.
 */
export const OTHER_TYPE_WORDS: ReadonlySet<string> = new Set([
  "alpine-config",
  "cloud-boothook",
  "cloud-config-archive",
  "cloud-config-jsonp",
  "include",
  "include-once",
  "part-handler",
  "upstart-job"
])

/** the words of the user-data types that are documents of keys, which are checked (problems and warnings) before they are applied */
export const CHECKED_WORDS: ReadonlySet<string> = new Set(["alpine-config", "cloud-config", "multipart", "cloud-config-archive"])

/**
 * User-data (or a part cloud-init sniffs) that starts with a UTF-8 byte-order mark (an editor on Windows saves one):
 * cloud-init decodes it keeping U+FEFF, which its type search does not skip, finds no type and applies nothing; read
 * here past the mark, and said
 */
export const startsWithByteOrderMark = (bytes: Uint8Array): boolean => bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf

/** the warning for user-data (or a part) of type `found` behind a byte-order mark */
export const byteOrderMarkWarning = (found: string): string =>
  `starts with a byte-order mark, after which cloud-init finds no ${found} and applies nothing; applied here as if it were not there`

/** the user-data starts with a jinja template line (after whitespace) */
export const isJinja = (text: string): boolean => JINJA.test(text.replace(/^\s+/, ""))

/** the handled type a word stands for (a `#cloud-config-archive` is read as the MIME parts it lists); words without a handler are `unknown` */
export const userDataTypeOf = (word: string): UserDataType =>
  word === "cloud-config-archive" ? "multipart" : (USERDATA_TYPES as ReadonlyArray<string>).includes(word) ? (word as UserDataType) : "unknown"

/** after set_hostname, in this order (BEHAVIOUR.md §6) */
const AFTER_HOSTNAME = [
  "userdata_bootcmd",
  "userdata_write_files",
  "userdata_ntp",
  "userdata_apk_cache",
  "userdata_apk_repositories",
  "userdata_package_update",
  "userdata_package_upgrade",
  "userdata_packages"
] as const

const ALPINE_CONFIG: ReadonlyArray<ActionChange> = [
  { phase: "main", op: "before", anchor: "create_default_user", actions: ["userdata_user"] },
  { phase: "main", op: "after", anchor: "set_hostname", actions: AFTER_HOSTNAME },
  { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys"] },
  { phase: "final", op: "append", actions: ["userdata_runcmd", "userdata_autoinstall"] }
]

/**
 * #cloud-config: the #alpine-config actions in the same places, plus
 * `users` after the default user exists, `hostname`/`fqdn` over the cloud's
 * name, `timezone` once packages are in, `ssh_pwauth` after the keys, and
 * `defer: true` files before runcmd in the final phase.
 */
const CLOUD_CONFIG: ReadonlyArray<ActionChange> = [
  { phase: "main", op: "before", anchor: "create_default_user", actions: ["userdata_user"] },
  { phase: "main", op: "after", anchor: "create_default_user", actions: ["userdata_users"] },
  { phase: "main", op: "after", anchor: "set_hostname", actions: ["userdata_hostname", ...AFTER_HOSTNAME, "userdata_timezone"] },
  { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys", "userdata_ssh_pwauth"] },
  { phase: "final", op: "append", actions: ["userdata_write_deferred_files", "userdata_runcmd", "userdata_autoinstall"] }
]

/** how each user-data type changes the phases */
export const USERDATA_CHANGES: Readonly<Record<UserDataType, ReadonlyArray<ActionChange>>> = {
  missing: [{ phase: "main", op: "prepend", actions: ["missing_userdata"] }],
  unknown: [{ phase: "main", op: "prepend", actions: ["unknown_userdata"] }],
  script: [{ phase: "final", op: "append", actions: ["run_userdata"] }],
  "alpine-config": ALPINE_CONFIG,
  "cloud-config": CLOUD_CONFIG,
  /**
   * the merged cloud-config parts as #cloud-config; script parts before
   * runcmd, as cloud-init's scripts_user runs its scripts directory in name
   * order, where the parts' `part-NNN` come before `runcmd`
   */
  multipart: [
    ...CLOUD_CONFIG.filter((c) => c.phase !== "final"),
    { phase: "final", op: "append", actions: ["userdata_write_deferred_files", "userdata_scripts", "userdata_runcmd", "userdata_autoinstall"] }
  ]
}
