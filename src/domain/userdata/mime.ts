/**
 * MIME user-data split into parts, as cloud-init reads it: headers whatever
 * their case (after an optional mbox `From ` line), `multipart/*` split on
 * its boundary and nested `multipart/*` parts walked into, a MIME message
 * that is not multipart taken as its own single part; bodies decoded from
 * base64 or quoted-printable, and from gzip for the gzip part types;
 * `text/plain` and `text/x-shellscript` parts sniffed by their first line.
 * All parts together, decompressed, stay within the user-data limit.
 */
import * as Either from "effect/Either"
import { type Budget, type Decoded, fromBase64, gunzipWithin } from "./content.js"
import type { Problem } from "./problem.js"
import { endsLine, LINE_BREAK } from "../text.js"
import { byteOrderMarkWarning, isJinja, OTHER_TYPE_WORDS, startsWithByteOrderMark, userDataWord, whyNotRead } from "./type.js"
import { SHEBANG_CR, shebangHoldsCr } from "./runnable.js"

export const JINJA_WARNING = "jinja templates are not supported; the rest is read as plain cloud-config"

/** multipart parts nested deeper than this (the user-data itself is level 1) are not read */
export const MAX_MIME_DEPTH = 8

/** the longest boundary RFC 2046 allows; a longer one is refused, not searched for (a boundary of 100 000 characters is no regular expression V8 will build) */
export const MAX_BOUNDARY = 70

const boundaryTooLong = (boundary: string) => `a boundary of ${boundary.length} characters, more than the ${MAX_BOUNDARY} RFC 2046 allows`

export interface MimePart {
  readonly headers: ReadonlyMap<string, string>
  /** latin1: one char per byte */
  readonly body: string
  /** 1-based line of the body's first line in the whole user-data */
  readonly bodyLine: number
  /** the part's number: `2`, or `2.1` for the first part of multipart part 2 */
  readonly label: string
  /** its body is an entry of a #cloud-config-archive decoded from a part's base64 or gzip data: its lines are none of the user-data's (yaml.ts Source) */
  readonly pinned?: boolean
}

/** `part 2.1 (line 18)` */
const placeOf = (label: string, bodyLine: number) => `part ${label} (line ${bodyLine})`
const whereOf = (part: MimePart) => placeOf(part.label, part.bodyLine)

/** a leaf part, or a multipart part that could not be walked into */
type Entry = { readonly kind: "part"; readonly part: MimePart } | { readonly kind: "ignored"; readonly warning: string }

/**
 * 1-based lines of offsets, counted on from the offset asked before: linear
 * over a walk through the text in order (one that goes back starts over).
 * Line breaks are counted as a part's YAML counts them (LF, CR LF, a CR
 * alone), so that the lines of a later part follow on from an earlier one's.
 */
const lineCounter = (text: string) => {
  let offset = 0
  let line = 1
  return (to: number): number => {
    if (to < offset) [offset, line] = [0, 1]
    for (let i = offset; i < to; i++) {
      if (endsLine(text.charCodeAt(i), text.charCodeAt(i + 1))) line++
    }
    offset = to
    return line
  }
}

/** a header line or a continuation of one, as Python's email (so cloud-init) tells them: a name and a colon, or leading whitespace */
const HEADER_LINE = /^(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])/

/**
 * Headers from `start`, unfolded, names lower-cased, up to the first line
 * that is not one: a blank line, which the body comes after, or as in
 * cloud-init (a part written without headers, or without the blank line
 * after them) the body's first line.
 */
const readHeaders = (text: string, start: number, end = text.length): { headers: Map<string, string>; bodyStart: number } => {
  const lines: Array<string> = []
  let at = start
  let bodyStart = end
  // a line ends at LF, CR LF or a CR alone, as Python's email (so cloud-init) reads a message
  const lineBreak = new RegExp(LINE_BREAK.source, "g")
  while (at < end) {
    lineBreak.lastIndex = at
    const found = lineBreak.exec(text)
    const next = found === null || found.index >= end ? end : Math.min(end, found.index + found[0].length)
    const line = text.slice(at, found === null || found.index >= end ? end : found.index)
    if (!HEADER_LINE.test(line)) {
      bodyStart = line === "" ? next : at
      break
    }
    if (/^[ \t]/.test(line) && lines.length > 0) lines.push(`${lines.pop()!} ${line.replace(/^[ \t]+/, "")}`)
    else lines.push(line)
    at = next
  }
  const headers = new Map<string, string>()
  for (const line of lines) {
    const colon = line.indexOf(":")
    const name = line.slice(0, colon).trim().toLowerCase()
    // a header given twice is its first, as Python's email (so cloud-init) reads it
    if (colon > 0 && !headers.has(name)) headers.set(name, line.slice(colon + 1).trim())
  }
  return { headers, bodyStart }
}

/**
 * `text/plain; charset="utf-8"` → type and parameters (names lower-cased).
 * A type that is not TYPE/SUBTYPE is `text/plain`, as RFC 2045 and Python's
 * email (so cloud-init) read it: the part's first line then says what it is.
 */
const parseContentType = (value: string | undefined): { type: string; params: Map<string, string> } => {
  const params = new Map<string, string>()
  for (const m of (value ?? "").matchAll(/;\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g)) {
    const raw = m[2]!
    const name = m[1]!.toLowerCase()
    // a parameter given twice is its first, as Python's email (so cloud-init) reads it: `boundary="A"; boundary="B"` splits on A
    if (!params.has(name)) params.set(name, raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw)
  }
  const type = (value ?? "").split(";")[0]!.trim().toLowerCase()
  return { type: type === "" || type.split("/").length === 2 ? type : "text/plain", params }
}

/**
 * A header's value as messages name it: a MIME type or an encoding, of
 * RFC 6838's characters and up to its 127 (each side of the `/`). Any other
 * value is told by its length: a header line may be a megabyte long, and
 * user-data is never copied into the log at length.
 */
const NAMEABLE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(?:\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126})?$/i

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Where each part between `--BOUNDARY` lines in [from, to) lies, one at a
 * time as the delimiters are found; the line break before a delimiter
 * belongs to it, as does the text's last one. A nested multipart written
 * without its closing delimiter ends where the part that holds it ends, whose
 * own line break was taken already: its last part keeps the line break before
 * that, as Python's email (so cloud-init) reads it.
 */
function* partRegions(text: string, from: number, to: number, boundary: string): Generator<{ start: number; end: number }> {
  // (up to its line break, which is not taken: `$` is before a CR too, and a CR taken here and a CR alone after it
  // taken for the line break would leave a part without headers none of its blank line)
  const delimiter = new RegExp(`^--${escapeRegExp(boundary)}(--)?[ \\t]*$`, "gm")
  // searched for in the body alone (which starts on a line of its own): a search of the whole text from `from` would go on to its end
  // for each nested multipart part whose boundary is not there, 100 000 of them over megabytes of text
  const body = text.slice(from, to)
  let previous: { index: number; end: number } | undefined
  for (;;) {
    const m = delimiter.exec(body)
    const mark = m === null ? undefined : { index: from + m.index, end: from + m.index + m[0].length }
    if (previous !== undefined) {
      // (the delimiter's line break: LF, CR LF, or a CR alone)
      const after = previous.end
      const start = Math.min(to, after + (text.startsWith("\r\n", after) ? 2 : text[after] === "\n" || text[after] === "\r" ? 1 : 0))
      let end = mark?.index ?? to
      const ownLineBreak = mark !== undefined || to === text.length
      if (ownLineBreak && end > start && text[end - 1] === "\n") end--
      if (ownLineBreak && end > start && text[end - 1] === "\r") end--
      yield { start, end: Math.max(start, end) }
    }
    if (m === null || m[1] === "--") return
    previous = mark
  }
}

interface Walk {
  readonly text: string
  readonly lineAt: (offset: number) => number
}

/**
 * The parts of the multipart body in [from, to), in order, one at a time (a
 * part that is read, or passed over, is not kept: 16 MiB of empty parts are
 * 4 million of them); multipart parts are walked into, `depth` being this
 * body's level. Returns how many parts the body has.
 */
function* walkMultipart(walk: Walk, from: number, to: number, boundary: string, prefix: string, depth: number): Generator<Entry, number> {
  let count = 0
  for (const region of partRegions(walk.text, from, to, boundary)) {
    const label = `${prefix}${++count}`
    const { headers, bodyStart } = readHeaders(walk.text, region.start, region.end)
    const bodyLine = walk.lineAt(bodyStart)
    const contentType = parseContentType(headers.get("content-type"))
    if (!contentType.type.startsWith("multipart/")) {
      yield { kind: "part", part: { headers, body: walk.text.slice(bodyStart, region.end), bodyLine, label } }
      continue
    }
    const where = placeOf(label, bodyLine)
    const inner = contentType.params.get("boundary")
    const ignored = (reason: string): Entry => ({ kind: "ignored", warning: `${where}: ${reason}; part ignored` })
    if (inner === undefined || inner === "") yield ignored("multipart part without a boundary in its Content-Type")
    else if (inner.length > MAX_BOUNDARY) yield ignored(`multipart part with ${boundaryTooLong(inner)}`)
    else if (depth >= MAX_MIME_DEPTH) yield ignored(`multipart parts nested more than ${MAX_MIME_DEPTH} levels deep are not read`)
    else if ((yield* walkMultipart(walk, bodyStart, region.end, inner, `${label}.`, depth + 1)) === 0) yield ignored("multipart part without parts")
  }
  return count
}

/** The message's parts, nested ones walked into as they are read; a MIME message that is not multipart is its own single part. */
const mimeEntries = (text: string): Either.Either<Iterable<Entry>, Array<Problem>> => {
  // (the mbox line ends at LF, CR LF or a CR alone, as the headers' lines do)
  const fromLine = text.startsWith("From ") ? LINE_BREAK.exec(text) : null
  const start = text.startsWith("From ") ? (fromLine === null ? text.length : fromLine.index + fromLine[0].length) : 0
  const { headers, bodyStart } = readHeaders(text, start)
  const walk: Walk = { text, lineAt: lineCounter(text) }
  const contentType = parseContentType(headers.get("content-type"))
  if (!contentType.type.startsWith("multipart/")) {
    return Either.right([{ kind: "part", part: { headers, body: text.slice(bodyStart), bodyLine: walk.lineAt(bodyStart), label: "1" } }])
  }
  const boundary = contentType.params.get("boundary")
  if (boundary === undefined || boundary === "") {
    return Either.left([{ path: "", line: 1, message: "multipart user-data has no boundary in its Content-Type" }])
  }
  if (boundary.length > MAX_BOUNDARY) return Either.left([{ path: "", line: 1, message: `multipart user-data has ${boundaryTooLong(boundary)}` }])
  return Either.right(walkMultipart(walk, bodyStart, text.length, boundary, "", 1))
}

/**
 * in one pass, as Python's email (so cloud-init) decodes it (binascii.a2b_qp): `=XX`, `==` as `=`, and `=`
 * ending the body or before a line break (a soft one; after `=\r`, the rest of the line goes with it)
 */
const fromQuotedPrintable = (body: string): Uint8Array =>
  Buffer.from(
    body.replace(/=(?:\r[^\n]*\n?|\n|$|(=)|([0-9A-Fa-f]{2}))/g, (_, equals: string | undefined, hex: string | undefined) =>
      hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : (equals ?? "")
    ),
    "latin1"
  )

/** the transfer encodings Python's email module (cloud-init's reader) uudecodes, which this program does not */
const UUENCODE = new Set(["x-uuencode", "uuencode", "uue", "x-uue"])

/** an empty header is none, as Python's email module (cloud-init's reader) reads it: the body as it is, no warning */
const encodingOf = (part: MimePart): string => (part.headers.get("content-transfer-encoding") || "7bit").toLowerCase()

/** the name of a part's transfer encoding for a message, or its length when it is no such name */
const encodingName = (part: MimePart): string => {
  const encoding = encodingOf(part)
  return NAMEABLE.test(encoding) ? `transfer encoding ${part.headers.get("content-transfer-encoding")}` : `a transfer encoding of ${encoding.length} characters`
}

/**
 * A warning for a part whose transfer encoding neither decodes: cloud-init
 * (Python's email module) takes such a body as it is (a `7bitspra` typo in a
 * runner recipe), and so does this program, saying so.
 */
const unknownEncodingWarning = (part: MimePart): string | undefined =>
  ["7bit", "8bit", "binary", "base64", "quoted-printable"].includes(encodingOf(part)) || UUENCODE.has(encodingOf(part))
    ? undefined
    : `${encodingName(part)} is not one cloud-init decodes; the part is read as it is, as cloud-init reads it`

/**
 * The part's bytes (base64 as cloud-init decodes it: characters outside its
 * alphabet dropped and counted; an encoding cloud-init does not decode taken
 * as it is), or why it has none: uuencoded, or base64 that cannot be decoded.
 */
const partBytes = (part: MimePart): Either.Either<Decoded, string> => {
  const encoding = encodingOf(part)
  if (encoding === "base64") return Either.mapLeft(fromBase64(part.body), () => "not valid base64 data; part ignored")
  if (encoding === "quoted-printable") return Either.right({ bytes: fromQuotedPrintable(part.body), dropped: 0 })
  return UUENCODE.has(encoding)
    ? Either.left(`${encodingName(part)} is not supported; part ignored`)
    : Either.right({ bytes: Buffer.from(part.body, "latin1"), dropped: 0 })
}

const scriptName = (part: MimePart): string => {
  const disposition = parseContentType(`x; ${(part.headers.get("content-disposition") ?? "").replace(/^[^;]*;?/, "")}`)
  const name = disposition.params.get("filename") ?? parseContentType(part.headers.get("content-type")).params.get("name")
  return name !== undefined && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? name : `part-${part.label}`
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

/**
 * The types whose first line says what the part is, as cloud-init reads
 * them; "" is a gunzipped part's. `text/x-shellscript` is among them because
 * the label is known to be put on other content.
 */
const SNIFFED_TYPES = new Set(["text/plain", "text/x-not-multipart", "text/jinja2", "", "text/x-shellscript"])

type PartUse = { readonly kind: "script" | "cloud-config" | "archive" } | { readonly kind: "ignored"; readonly reason: string }

const ignored = (reason: string): PartUse => ({ kind: "ignored", reason })

/** the use the first line names; undefined when it names no type */
const sniffedUse = (bytes: Uint8Array): PartUse | undefined => {
  const word = userDataWord(bytes)
  if (word === "script" || word === "cloud-config") return { kind: word }
  if (word === "cloud-config-archive") return { kind: "archive" }
  // a part's base64 is decoded when its Content-Transfer-Encoding says so
  if (word === "base64") return ignored("base64 text is not decoded without Content-Transfer-Encoding: base64, as cloud-init does not decode it")
  const notRead = whyNotRead(word)
  if (notRead !== undefined) return ignored(notRead)
  return OTHER_TYPE_WORDS.has(word) ? ignored(`#${word} parts are not supported`) : undefined
}

/** What a part is for: its Content-Type's, or for the sniffed types what its first line names. */
const partUse = (type: string, bytes: Uint8Array): PartUse => {
  const sniffed = SNIFFED_TYPES.has(type) ? sniffedUse(bytes) : undefined
  if (sniffed !== undefined) return sniffed
  if (SCRIPT_TYPES.has(type)) return { kind: "script" }
  if (type === "text/cloud-config") return { kind: "cloud-config" }
  if (type === "text/cloud-config-archive") return { kind: "archive" }
  const named = type || "text/plain"
  return ignored(NAMEABLE.test(named) ? `${named} parts are not supported` : `parts of a Content-Type of ${named.length} characters are not supported`)
}

const withoutLeadingSpace = (bytes: Uint8Array): Uint8Array => {
  let i = 0
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  return bytes.subarray(i)
}

/** a part's content: its bytes, decompressed, with the type to read it as */
interface Content {
  readonly type: string
  readonly bytes: Uint8Array
  readonly gunzipped: boolean
  /** characters outside the base64 alphabet its body lost */
  readonly dropped: number
}

/** Left: why the part is not read, and whether the parts after it are not read either (the limit is reached). */
const partContent = (part: MimePart, budget: Budget): Either.Either<Content, { readonly reason: string; readonly stop: boolean }> => {
  const tooLarge = {
    reason: `the parts come to more than ${budget.limit} bytes together, the limit for user-data (USERDATA_MAX_BYTES); this part and the ones after it are ignored`,
    stop: true
  }
  const type = parseContentType(part.headers.get("content-type")).type
  const decoded = partBytes(part)
  if (Either.isLeft(decoded)) return Either.left({ reason: decoded.left, stop: false })
  const { bytes, dropped } = decoded.right
  if (GZIP_TYPES.has(type)) {
    return Either.match(gunzipWithin(bytes, budget), {
      onLeft: (why) => Either.left(why === "too large" ? tooLarge : { reason: "not valid gzip data; part ignored", stop: false }),
      onRight: (out) => Either.right({ type: "", bytes: out, gunzipped: true, dropped })
    })
  }
  if (bytes.length > budget.remaining) return Either.left(tooLarge)
  budget.remaining -= bytes.length
  return Either.right({ type, bytes, gunzipped: false, dropped })
}

export interface ScriptPart {
  /** from the part's file name when it is a plain one, else `part-N` (`part-2.1` in a nested multipart) */
  readonly name: string
  readonly content: Uint8Array
}

export interface ConfigPart {
  readonly text: string
  readonly lineOffset: number
  /** `part 2 (line 9)`, for warnings */
  readonly where: string
  /** the text is decoded from base64 or gzip data, its lines none of the user-data's: all of it is placed on the body's first line (yaml.ts Source) */
  readonly pinned: boolean
  /** the `Merge-Type` (or `X-Merge-Type`) header; a gunzipped part's is lost, as in cloud-init */
  readonly mergeType: string | undefined
}

export interface Parts {
  readonly scripts: Array<ScriptPart>
  readonly configs: Array<ConfigPart>
  readonly warnings: Array<string>
}

/**
 * Reads a `#cloud-config-archive` part of MIME user-data into the parts it
 * lists, as cloud-init explodes one, numbered after the part and within the
 * parts' byte budget (`archive.ts`, given by the caller: it reads its parts
 * with this module).
 */
export type ArchiveReader = (
  text: string,
  at: { readonly label: string; readonly lineOffset: number; readonly pinned: boolean; readonly budget: Budget }
) => Either.Either<Parts, Array<Problem>>

const mergeTypeOf = (part: MimePart): string | undefined =>
  [part.headers.get("merge-type"), part.headers.get("x-merge-type")].find((h) => h !== undefined && h !== "")

const decodeAs = (label: string, bytes: Uint8Array): string | undefined => {
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * A cloud-config part's text: UTF-8, as cloud-init reads every part whatever
 * its charset, else in the charset its Content-Type names (a part sent as
 * iso-8859-1); undefined when it is neither, as the whole user-data would
 * be refused (cloud-init's YAML reader refuses it too), never read with
 * its bytes replaced.
 */
const partText = (bytes: Uint8Array, charset: string | undefined): string | undefined =>
  decodeAs("utf-8", bytes) ?? (charset === undefined ? undefined : decodeAs(charset, bytes))

/**
 * How many warnings about parts are kept word for word: the ones after them
 * are only counted (parse.ts lists the first MAX_PART_NOTES and counts the
 * others), each kept as one same line, never a string of its own (660,000
 * parts of a type not read held 660,000 lines until they were counted).
 */
export const KEPT_PART_WARNINGS = 1000

const NOT_LISTED = "a warning about a part, counted and not listed"

const warn = (sorted: Parts, line: string) => void sorted.warnings.push(sorted.warnings.length < KEPT_PART_WARNINGS ? line : NOT_LISTED)

/** one part into its list, or a warning why not; an archive part's parts into theirs, when there is a reader for it */
const sortPart = (sorted: Parts, part: MimePart, content: Content, budget: Budget, readArchive: ArchiveReader | undefined) => {
  const { type, bytes } = content
  const where = whereOf(part)
  // base64 or gzip data has lines of its own, none of the user-data's (quoted-printable keeps them, but for its soft line breaks)
  const pinned = part.pinned === true || content.gunzipped || encodingOf(part) === "base64"
  const found = partUse(type, bytes)
  // the parts an archive lists are not archives in their turn, as in cloud-init
  const use = found.kind === "archive" && readArchive === undefined ? ignored("#cloud-config-archive parts are not read inside a #cloud-config-archive") : found
  // cloud-init uses such a part only on the instance of that launch index (EC2's ami-launch-index), which is not read here
  if (use.kind !== "ignored" && part.headers.has("launch-index")) {
    warn(sorted, `${where}: Launch-Index is not supported; the part is used whatever the instance's launch index`)
  }
  // a part whose type its first line names, behind a byte-order mark: cloud-init finds none there and leaves it unused
  // (a text/cloud-config part's mark is skipped by its YAML reader, and the part applied)
  if ((use.kind === "cloud-config" || use.kind === "archive") && SNIFFED_TYPES.has(type) && startsWithByteOrderMark(bytes)) {
    warn(sorted, `${where}: ${byteOrderMarkWarning(use.kind === "archive" ? "#cloud-config-archive" : "#cloud-config")}`)
  }
  // a cloud-config or archive part's text, or a warning that it has none
  const textOf = (): string | undefined => {
    const text = partText(bytes, content.gunzipped ? undefined : parseContentType(part.headers.get("content-type")).params.get("charset"))
    if (text === undefined) warn(sorted, `${where}: not valid UTF-8 text, nor text in a charset its Content-Type names; part ignored`)
    return text
  }
  switch (use.kind) {
    case "script": {
      // a script may start with blank lines before its `#!` (a sniffed one, or a text/x-shellscript part); the kernel wants `#!` first
      const trimmed = withoutLeadingSpace(bytes)
      const shebang = trimmed[0] === 0x23 && trimmed[1] === 0x21
      sorted.scripts.push({ name: scriptName(part), content: shebang || !SCRIPT_TYPES.has(type) ? trimmed : bytes })
      if (shebangHoldsCr(trimmed)) warn(sorted, `${where}: its ${SHEBANG_CR}: the part will not start; save it with LF line ends`)
      // nothing runs on later boots; per-instance and per-once are the same as once on a first boot
      if (type === "text/x-shellscript-per-boot") {
        warn(sorted, `${where}: text/x-shellscript-per-boot parts run at the first boot only`)
      }
      return
    }
    case "cloud-config": {
      const text = textOf()
      if (text === undefined) return
      if (isJinja(text)) warn(sorted, `${where}: ${JINJA_WARNING}`)
      sorted.configs.push({ text, lineOffset: part.bodyLine - 1, where, pinned, mergeType: content.gunzipped ? undefined : mergeTypeOf(part) })
      return
    }
    case "archive": {
      const text = textOf()
      if (text === undefined) return
      // the archive's own bytes were counted; the parts it lists are counted instead
      budget.remaining += bytes.length
      const listed = readArchive!(text, { label: part.label, lineOffset: part.bodyLine - 1, pinned, budget })
      if (Either.isLeft(listed)) {
        budget.remaining -= bytes.length
        for (const p of listed.left) warn(sorted, `${where}: #cloud-config-archive: line ${p.line}: ${p.message}; part ignored`)
        return
      }
      sorted.scripts.push(...listed.right.scripts)
      sorted.configs.push(...listed.right.configs)
      for (const w of listed.right.warnings) warn(sorted, w)
      return
    }
    case "ignored":
      // an empty part holds nothing to ignore: the one after a last `--BOUNDARY` with no closing `--`, which cloud-init passes over in silence
      if (bytes.length > 0) warn(sorted, `${where}: ${use.reason}; part ignored`)
  }
}

/** The parts sorted into scripts and cloud-config texts, the others named in warnings; all of them within `maxBytes` together. */
const sortEntries = (entries: Iterable<Entry>, budget: Budget, none: string, readArchive: ArchiveReader | undefined): Parts => {
  const sorted: Parts = { scripts: [], configs: [], warnings: [] }
  let count = 0
  for (const entry of entries) {
    count++
    if (entry.kind === "ignored") {
      warn(sorted, entry.warning)
      continue
    }
    const content = partContent(entry.part, budget)
    if (Either.isRight(content)) {
      if (content.right.dropped > 0) {
        warn(sorted, `${whereOf(entry.part)}: ${content.right.dropped} characters outside the base64 alphabet were dropped, as cloud-init drops them`)
      }
      const unknown = unknownEncodingWarning(entry.part)
      if (unknown !== undefined) warn(sorted, `${whereOf(entry.part)}: ${unknown}`)
      sortPart(sorted, entry.part, content.right, budget, readArchive)
      // the limit was reached among the parts an archive part lists: the parts after it are not read either
      if (budget.remaining < 0) break
    } else {
      warn(sorted, `${whereOf(entry.part)}: ${content.left.reason}`)
      if (content.left.stop) {
        budget.remaining = -1
        break
      }
    }
  }
  if (count === 0) warn(sorted, none)
  return sorted
}

/** the parts, within `maxBytes` together; `#cloud-config-archive` parts are read by `readArchive`, else named in a warning */
export const splitMime = (bytes: Uint8Array, maxBytes: number, readArchive?: ArchiveReader): Either.Either<Parts, Array<Problem>> =>
  // a byte-order mark before the headers (a file saved by a Windows editor) is left out, as the type was read past it
  Either.map(mimeEntries(Buffer.from(bytes).toString("latin1").replace(/^\xef\xbb\xbf/, "")), (entries) =>
    sortEntries(entries, { remaining: maxBytes, limit: maxBytes }, "multipart user-data has no parts", readArchive)
  )

/** parts made from something else than MIME (a `#cloud-config-archive`'s entries), read as MIME parts are, within the budget; `ignored` were named already */
export const sortParts = (parts: ReadonlyArray<MimePart | { readonly ignored: string }>, budget: Budget, none: string): Parts =>
  sortEntries(
    parts.map((p): Entry => ("ignored" in p ? { kind: "ignored", warning: p.ignored } : { kind: "part", part: p })),
    budget,
    none,
    undefined
  )
