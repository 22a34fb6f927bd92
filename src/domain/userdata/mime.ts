/**
 * MIME user-data split into parts, as cloud-init reads it: headers whatever
 * their case (after an optional mbox `From ` line), `multipart/*` split on
 * its boundary, a MIME message that is not multipart taken as its own single
 * part; bodies decoded from base64 or quoted-printable, and from gzip for the
 * gzip part types; `text/plain` parts sniffed by their first line.
 */
import { gunzipSync } from "node:zlib"
import * as Either from "effect/Either"
import type { Problem } from "./problem.js"
import { isJinja, userDataWord } from "./type.js"

export const JINJA_WARNING = "jinja templates are not supported; the rest is read as plain cloud-config"

interface MimePart {
  readonly headers: ReadonlyMap<string, string>
  /** latin1: one char per byte */
  readonly body: string
  /** 1-based line of the body's first line in the whole user-data */
  readonly bodyLine: number
}

const lineAt = (text: string, offset: number): number => {
  let line = 1
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++
  return line
}

/** Headers from `start` up to the blank line (or `end`), unfolded; names lower-cased. */
const readHeaders = (text: string, start: number, end = text.length): { headers: Map<string, string>; bodyStart: number } => {
  const rest = text.slice(start, end)
  const blank = /^\r?\n|\r?\n\r?\n/.exec(rest)
  const block = blank ? rest.slice(0, blank.index) : rest
  const headers = new Map<string, string>()
  for (const line of block.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return { headers, bodyStart: blank ? start + blank.index + blank[0].length : end }
}

/** `text/plain; charset="utf-8"` → type and parameters (names lower-cased). */
const parseContentType = (value: string | undefined): { type: string; params: Map<string, string> } => {
  const params = new Map<string, string>()
  for (const m of (value ?? "").matchAll(/;\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g)) {
    const raw = m[2]!
    params.set(m[1]!.toLowerCase(), raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw)
  }
  return { type: (value ?? "").split(";")[0]!.trim().toLowerCase(), params }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The parts between `--BOUNDARY` lines; the line break before a delimiter belongs to it. */
const splitParts = (text: string, bodyStart: number, boundary: string): Array<MimePart> => {
  const delimiter = new RegExp(`^--${escapeRegExp(boundary)}(--)?[ \\t]*\\r?$`, "gm")
  delimiter.lastIndex = bodyStart
  const marks: Array<{ index: number; end: number; close: boolean }> = []
  for (let m = delimiter.exec(text); m !== null; m = delimiter.exec(text)) {
    marks.push({ index: m.index, end: m.index + m[0].length, close: m[1] === "--" })
    if (m[1] === "--") break
  }
  const parts: Array<MimePart> = []
  for (let i = 0; i < marks.length && !marks[i]!.close; i++) {
    const start = marks[i]!.end + (text[marks[i]!.end] === "\n" ? 1 : 0)
    let end = marks[i + 1]?.index ?? text.length
    if (end > start && text[end - 1] === "\n") end--
    if (end > start && text[end - 1] === "\r") end--
    const { headers, bodyStart: partBody } = readHeaders(text, start, Math.max(start, end))
    parts.push({ headers, body: text.slice(partBody, end), bodyLine: lineAt(text, partBody) })
  }
  return parts
}

const fromQuotedPrintable = (body: string): Uint8Array =>
  Buffer.from(
    body.replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    "latin1"
  )

/** The part's bytes, or undefined for a transfer encoding we do not know. */
const partBytes = (part: MimePart): Uint8Array | undefined => {
  const encoding = (part.headers.get("content-transfer-encoding") ?? "7bit").toLowerCase()
  if (encoding === "base64") return Buffer.from(part.body.replace(/\s+/g, ""), "base64")
  if (encoding === "quoted-printable") return fromQuotedPrintable(part.body)
  return ["7bit", "8bit", "binary"].includes(encoding) ? Buffer.from(part.body, "latin1") : undefined
}

const scriptName = (part: MimePart, n: number): string => {
  const disposition = parseContentType(`x; ${(part.headers.get("content-disposition") ?? "").replace(/^[^;]*;?/, "")}`)
  const name = disposition.params.get("filename") ?? parseContentType(part.headers.get("content-type")).params.get("name")
  return name !== undefined && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? name : `part-${n}`
}

/** the part types cloud-init gunzips before it sniffs them */
const GZIP_TYPES = new Set([
  "application/gzip",
  "application/gzip-compressed",
  "application/gzipped",
  "application/x-compress",
  "application/x-compressed",
  "application/x-gunzip",
  "application/x-gzip",
  "application/x-gzip-compressed"
])

const SCRIPT_TYPES = new Set(["text/x-shellscript", "text/x-shellscript-per-boot", "text/x-shellscript-per-instance", "text/x-shellscript-per-once"])

/** What a part is: its Content-Type, or for text/plain (and unzipped parts) its first line. */
const partKind = (type: string, bytes: Uint8Array): "script" | "cloud-config" | "jinja" | undefined => {
  if (SCRIPT_TYPES.has(type)) return "script"
  if (type === "text/cloud-config") return "cloud-config"
  if (type === "text/plain" || type === "text/x-not-multipart" || type === "text/jinja2" || type === "") {
    const sniffed = userDataWord(bytes)
    return sniffed === "script" || sniffed === "cloud-config" || sniffed === "jinja" ? sniffed : undefined
  }
  return undefined
}

const withoutLeadingSpace = (bytes: Uint8Array): Uint8Array => {
  let i = 0
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  return bytes.subarray(i)
}

export interface ScriptPart {
  /** from the part's file name when it is a plain one, else `part-N` */
  readonly name: string
  readonly content: Uint8Array
}

export interface Parts {
  readonly scripts: Array<ScriptPart>
  readonly configs: Array<{ readonly text: string; readonly lineOffset: number }>
  readonly warnings: Array<string>
}

/** The top-level message's parts; a MIME message that is not multipart is its own single part. */
const mimeParts = (text: string): Either.Either<Array<MimePart>, Array<Problem>> => {
  const start = text.startsWith("From ") ? text.indexOf("\n") + 1 || text.length : 0
  const { headers, bodyStart } = readHeaders(text, start)
  const contentType = parseContentType(headers.get("content-type"))
  if (!contentType.type.startsWith("multipart/")) {
    return Either.right([{ headers, body: text.slice(bodyStart), bodyLine: lineAt(text, bodyStart) }])
  }
  const boundary = contentType.params.get("boundary")
  if (boundary === undefined || boundary === "") {
    return Either.left([{ path: "", line: 1, message: "multipart user-data has no boundary in its Content-Type" }])
  }
  const parts = splitParts(text, bodyStart, boundary)
  return Either.right(parts)
}

/** the parts sorted into scripts and cloud-config texts; the others named in warnings */
export const splitMime = (bytes: Uint8Array, maxBytes: number): Either.Either<Parts, Array<Problem>> =>
  Either.map(mimeParts(Buffer.from(bytes).toString("latin1")), (parts) => {
    const sorted: Parts = { scripts: [], configs: [], warnings: [] }
    if (parts.length === 0) sorted.warnings.push("multipart user-data has no parts")
    parts.forEach((part, i) => {
      const n = i + 1
      const where = `part ${n} (line ${part.bodyLine})`
      let type = parseContentType(part.headers.get("content-type")).type
      let bytes = partBytes(part)
      if (bytes === undefined) {
        sorted.warnings.push(`${where}: transfer encoding ${part.headers.get("content-transfer-encoding")} is not supported; part ignored`)
        return
      }
      if (GZIP_TYPES.has(type)) {
        try {
          bytes = gunzipSync(bytes, { maxOutputLength: maxBytes })
          type = ""
        } catch {
          sorted.warnings.push(`${where}: not valid gzip data within ${maxBytes} bytes; part ignored`)
          return
        }
      }
      const kind = partKind(type, bytes)
      // a sniffed script may start with blank lines; the kernel wants `#!` first
      if (kind === "script") sorted.scripts.push({ name: scriptName(part, n), content: SCRIPT_TYPES.has(type) ? bytes : withoutLeadingSpace(bytes) })
      else if (kind === "cloud-config") {
        const text = new TextDecoder().decode(bytes)
        if (isJinja(text)) sorted.warnings.push(`${where}: ${JINJA_WARNING}`)
        sorted.configs.push({ text, lineOffset: part.bodyLine - 1 })
      }
      else if (kind === "jinja") sorted.warnings.push(`${where}: jinja templates are not supported; part ignored`)
      else sorted.warnings.push(`${where}: ${type || "text/plain"} parts are not supported; part ignored`)
    })
    return sorted
  })
