/**
 * User-data bytes → `ParsedUserData` (BEHAVIOUR.md §6), with no I/O.
 *
 * The type comes from the first line. `#alpine-config` and `#cloud-config`
 * are YAML (read as YAML 1.1, like cloud-init: `yes` is true, `0644` is
 * octal), checked with their Schema and mapped onto the one `UserConfig`
 * model. MIME user-data (`Content-Type:`/`MIME-Version:` first) is split into
 * parts: shell scripts, kept in order, and `text/cloud-config` parts, merged
 * in order (a later part's top-level key replaces an earlier one's).
 *
 * Every problem carries the YAML path and the 1-based line it is on.
 * Messages name what was wrong; a value from the document is quoted only
 * when it is a short word, so keys and scripts never reach a log.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from "yaml"
import { AlpineConfig, unknownAlpineConfigKeys } from "../../schema/alpine-config.js"
import { CloudConfig, unsupportedCloudConfigKeys } from "../../schema/cloud-config.js"
import { UserDataError, type Problem } from "./problem.js"
import { userDataWord } from "./type.js"
import { emptyUserConfig, formatPath, fromAlpineConfig, fromCloudConfig, type MapOptions, type UserConfig } from "./model.js"

// ---- types ---------------------------------------------------------------------------------

export interface ScriptPart {
  /** from the part's file name when it is a plain one, else `part-N` */
  readonly name: string
  readonly content: Uint8Array
}

export type ParsedUserData =
  | { readonly kind: "missing"; readonly type: "missing" }
  | { readonly kind: "script"; readonly type: "script"; readonly script: Uint8Array }
  | { readonly kind: "config"; readonly type: "alpine-config" | "cloud-config"; readonly config: UserConfig }
  | {
      readonly kind: "multipart"
      readonly type: "multipart"
      /** `text/x-shellscript` parts, in order, to run in the final phase */
      readonly scripts: ReadonlyArray<ScriptPart>
      /** the merged `text/cloud-config` parts; part-level warnings are in `config.warnings` */
      readonly config: UserConfig
    }
  /** `unknown`, or a `#WORD` this program has no handler for (`cloud-boothook`, `include`...) */
  | { readonly kind: "unknown"; readonly type: string }

export interface ParseOptions {
  /** larger user-data is refused */
  readonly maxBytes: number
  /** total bytes gzip `write_files` content may expand to; default 16 MiB */
  readonly maxDecompressedBytes?: number
}

/** Everything found: `parsed` is undefined when a problem is fatal. */
export interface Analysis {
  readonly type: string
  readonly parsed: ParsedUserData | undefined
  /** fatal ones when `parsed` is undefined, else the model's non-fatal ones; by line */
  readonly problems: ReadonlyArray<Problem>
}

// ---- type detection ------------------------------------------------------------------------

// ---- YAML with positions -------------------------------------------------------------------

type Key = string | number

/** One parsed YAML text and where it sits in the user-data. */
interface Source {
  readonly doc: Document
  readonly lineCounter: LineCounter
  /** lines before the text in the whole user-data */
  readonly lineOffset: number
}

/** Line of the deepest node the path reaches: the key's line for a map entry, the item's for a list entry. */
const lineIn = (source: Source, path: ReadonlyArray<Key>): number => {
  let node: unknown = source.doc.contents
  let pos = isNode(node) ? (node.range?.[0] ?? 0) : 0
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(key))
      if (pair === undefined) break
      pos = isNode(pair.key) ? (pair.key.range?.[0] ?? pos) : pos
      node = pair.value
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key]
      if (!isNode(item)) break
      pos = item.range?.[0] ?? pos
      node = item
    } else break
  }
  return source.lineCounter.linePos(pos).line + source.lineOffset
}

const isNode = (value: unknown): value is Node => isMap(value) || isSeq(value) || isScalar(value)

/** Keys whose plain numbers are kept as written: `0644` stays octal digits, `1:0` is not base 60. */
const AS_WRITTEN = new Set(["permissions", "owner"])

const keepAsWritten = (doc: Document) =>
  visit(doc, {
    Pair(_, pair) {
      const value = pair.value
      if (isScalar(pair.key) && AS_WRITTEN.has(String(pair.key.value)) && isScalar(value)) {
        if (typeof value.value === "number" && value.source !== undefined) value.value = value.source
      }
    }
  })

/** yaml's message without its " at line N, column M" tail and source excerpt */
const yamlMessage = (message: string): string => message.replace(/ at line \d+, column \d+[\s\S]*$/, "")

const loadYaml = (text: string, lineOffset: number): Either.Either<{ source: Source; raw: unknown; warnings: Array<string> }, Array<Problem>> => {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, version: "1.1", prettyErrors: false, uniqueKeys: true })
  const at = (pos: number) => lineCounter.linePos(pos).line + lineOffset
  if (doc.errors.length > 0) {
    return Either.left(doc.errors.map((e) => ({ path: "", line: at(e.pos[0]), message: `YAML: ${yamlMessage(e.message)}` })))
  }
  keepAsWritten(doc)
  const warnings = doc.warnings.map((w) => `line ${at(w.pos[0])}: YAML: ${yamlMessage(w.message)}`)
  try {
    return Either.right({ source: { doc, lineCounter, lineOffset }, raw: doc.toJS({ maxAliasCount: 100 }) ?? {}, warnings })
  } catch (e) {
    return Either.left([{ path: "", line: 1 + lineOffset, message: `YAML: ${e instanceof Error ? e.message : String(e)}` }])
  }
}

// ---- Schema issues → problems --------------------------------------------------------------

interface Found {
  readonly path: ReadonlyArray<Key>
  readonly message: string
}

/** A value for a message: quoted only when it is a short word. */
const show = (value: unknown): string => {
  if (value === null) return "null"
  if (value === undefined) return "nothing"
  if (typeof value === "string") return /^\S{0,32}$/.test(value) ? JSON.stringify(value) : `a string of ${value.length} characters`
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (value instanceof Uint8Array) return "binary data"
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list"
  return typeof value === "object" ? "a map" : typeof value
}

const describe = (ast: SchemaAST.AST): string => {
  const own = SchemaAST.getDescriptionAnnotation(ast)
  if (Option.isSome(own)) return own.value
  switch (ast._tag) {
    case "BooleanKeyword":
      return "true or false"
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      return ast.types.filter((t) => !isNullish(t)).map(describe).join(" or ")
    case "TypeLiteral":
      return `a map with keys ${ast.propertySignatures.map((p) => String(p.name)).join(", ")}`
    case "TupleType":
      return "a list"
    case "Refinement":
      return describe(ast.from)
    case "Transformation":
      return describe(ast.to)
    default:
      return String(ast)
  }
}

/** `null` and `undefined`, which optional keys accept and no message needs to offer */
const isNullish = (ast: SchemaAST.AST): boolean =>
  ast._tag === "UndefinedKeyword" || (ast._tag === "Literal" && ast.literal === null)

const expected = (ast: SchemaAST.AST, actual: unknown) => `expected ${describe(ast)}, got ${show(actual)}`

/** An issue about the value's kind itself, not about anything inside it. */
const isShallow = (issue: ParseResult.ParseIssue): boolean =>
  issue._tag === "Type" ||
  (issue._tag === "Composite" && SchemaAST.isTupleType(issue.ast) && Array.isArray(issue.actual) && issue.actual.length === 0) ||
  (((issue._tag === "Refinement" && issue.kind === "From") || (issue._tag === "Transformation" && issue.kind === "Encoded")) &&
    isShallow(issue.issue))

const asArray = <A>(x: A | ReadonlyArray<A>): ReadonlyArray<A> => (Array.isArray(x) ? (x as ReadonlyArray<A>) : [x as A])

const toKey = (k: PropertyKey): Key => (typeof k === "number" ? k : String(k))

/** A union failed: report the member that got furthest, else one "expected A or B" line. */
const unionIssues = (issue: ParseResult.Composite, path: ReadonlyArray<Key>): Array<Found> => {
  const deep = asArray(issue.issues).find((member) => !isShallow(member))
  return deep ? issuesOf(deep, path) : [{ path, message: expected(issue.ast, issue.actual) }]
}

const issuesOf = (issue: ParseResult.ParseIssue, path: ReadonlyArray<Key>): Array<Found> => {
  switch (issue._tag) {
    case "Pointer":
      return issuesOf(issue.issue, [...path, ...asArray(issue.path).map(toKey)])
    case "Composite":
      return SchemaAST.isUnion(issue.ast) ? unionIssues(issue, path) : asArray(issue.issues).flatMap((i) => issuesOf(i, path))
    case "Refinement":
      return Option.isSome(SchemaAST.getDescriptionAnnotation(issue.ast)) || issue.kind === "Predicate"
        ? [{ path, message: expected(issue.ast, issue.actual) }]
        : issuesOf(issue.issue, path)
    case "Transformation":
      return Option.isSome(SchemaAST.getDescriptionAnnotation(issue.ast)) && isShallow(issue.issue)
        ? [{ path, message: expected(issue.ast, issue.actual) }]
        : issuesOf(issue.issue, path)
    case "Type":
      return [{ path, message: expected(issue.ast, issue.actual) }]
    case "Missing":
      return [{ path, message: "is required" }]
    case "Unexpected":
      return [{ path, message: "is not allowed here" }]
    case "Forbidden":
      return [{ path, message: "cannot be checked" }]
  }
}

const byLine = (problems: ReadonlyArray<Problem>): Array<Problem> => [...problems].sort((a, b) => a.line - b.line)

const located = (found: ReadonlyArray<Found>, lineOf: (path: ReadonlyArray<Key>) => number): Array<Problem> => {
  const seen = new Set<string>()
  return byLine(
    found.flatMap((f) => {
      const id = `${formatPath(f.path)}\0${f.message}`
      if (seen.has(id)) return []
      seen.add(id)
      return [{ path: formatPath(f.path), line: lineOf(f.path), message: f.message }]
    })
  )
}

// ---- one YAML document ---------------------------------------------------------------------

interface Format<A, I> {
  readonly schema: Schema.Schema<A, I>
  readonly unknownKeys: (raw: unknown) => ReadonlyArray<string>
  readonly toModel: (doc: A, options: MapOptions) => UserConfig
}

const ALPINE: Format<AlpineConfig, typeof AlpineConfig.Encoded> = {
  schema: AlpineConfig,
  unknownKeys: unknownAlpineConfigKeys,
  toModel: fromAlpineConfig
}
const CLOUD: Format<CloudConfig, typeof CloudConfig.Encoded> = {
  schema: CloudConfig,
  unknownKeys: unsupportedCloudConfigKeys,
  toModel: fromCloudConfig
}

interface Read<A> {
  readonly value: A
  readonly unknownKeys: ReadonlyArray<string>
  readonly source: Source
  readonly warnings: ReadonlyArray<string>
}

const readDocument = <A, I>(format: Format<A, I>, text: string, lineOffset: number): Either.Either<Read<A>, Array<Problem>> =>
  Either.flatMap(loadYaml(text, lineOffset), ({ raw, source, warnings }) =>
    Schema.decodeUnknownEither(format.schema, { errors: "all", onExcessProperty: "ignore" })(raw).pipe(
      Either.mapLeft((e) => located(issuesOf(e.issue, []), (path) => lineIn(source, path))),
      Either.map((value) => ({ value, unknownKeys: format.unknownKeys(raw), source, warnings }))
    )
  )

/** The model, with its non-fatal problems placed on lines. */
const toModel = <A, I>(
  format: Format<A, I>,
  value: A,
  unknownKeys: ReadonlyArray<string>,
  options: ParseOptions,
  lineOf: (path: ReadonlyArray<Key>) => number,
  warnings: ReadonlyArray<string>
): { config: UserConfig; problems: Array<Problem> } => {
  const config = format.toModel(value, { unknownKeys, maxDecompressedBytes: options.maxDecompressedBytes })
  return {
    config: { ...config, warnings: [...warnings, ...config.warnings] },
    problems: located(config.problemDetails, lineOf)
  }
}

const decodeText = (bytes: Uint8Array): Either.Either<string, Array<Problem>> => {
  try {
    return Either.right(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return Either.left([{ path: "", line: 1, message: "user-data is not valid UTF-8 text" }])
  }
}

const analyseWith = <A, I>(format: Format<A, I>, type: "alpine-config" | "cloud-config", bytes: Uint8Array, options: ParseOptions): Analysis => {
  const read = Either.flatMap(decodeText(bytes), (text) => readDocument(format, text, 0))
  if (Either.isLeft(read)) return { type, parsed: undefined, problems: read.left }
  const { value, unknownKeys, source, warnings } = read.right
  const { config, problems } = toModel(format, value, unknownKeys, options, (path) => lineIn(source, path), warnings)
  return { type, parsed: { kind: "config", type, config }, problems }
}

// ---- MIME multipart ------------------------------------------------------------------------

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

/** What a part is: its Content-Type, or for text/plain its first line. */
const partKind = (type: string, bytes: Uint8Array): "script" | "cloud-config" | undefined => {
  if (type === "text/x-shellscript") return "script"
  if (type === "text/cloud-config") return "cloud-config"
  if (type === "text/plain" || type === "") {
    const sniffed = userDataWord(bytes)
    return sniffed === "script" || sniffed === "cloud-config" ? sniffed : undefined
  }
  return undefined
}

/** The top-level message's parts; a MIME message that is not multipart is its own single part. */
const mimeParts = (text: string): Either.Either<{ parts: Array<MimePart>; multipart: boolean }, Array<Problem>> => {
  const { headers, bodyStart } = readHeaders(text, 0)
  const contentType = parseContentType(headers.get("content-type"))
  if (!contentType.type.startsWith("multipart/")) {
    return Either.right({ parts: [{ headers, body: text.slice(bodyStart), bodyLine: lineAt(text, bodyStart) }], multipart: false })
  }
  const boundary = contentType.params.get("boundary")
  if (boundary === undefined || boundary === "") {
    return Either.left([{ path: "", line: 1, message: "multipart user-data has no boundary in its Content-Type" }])
  }
  return Either.right({ parts: splitParts(text, bodyStart, boundary), multipart: true })
}

interface Sorted {
  readonly scripts: Array<ScriptPart>
  readonly configs: Array<{ text: string; lineOffset: number }>
  readonly warnings: Array<string>
}

const sortParts = (parts: ReadonlyArray<MimePart>): Sorted => {
  const sorted: Sorted = { scripts: [], configs: [], warnings: [] }
  parts.forEach((part, i) => {
    const n = i + 1
    const type = parseContentType(part.headers.get("content-type")).type
    const bytes = partBytes(part)
    if (bytes === undefined) {
      sorted.warnings.push(`part ${n} (line ${part.bodyLine}): transfer encoding ${part.headers.get("content-transfer-encoding")} is not supported; part ignored`)
      return
    }
    const kind = partKind(type, bytes)
    if (kind === "script") sorted.scripts.push({ name: scriptName(part, n), content: bytes })
    else if (kind === "cloud-config") sorted.configs.push({ text: new TextDecoder().decode(bytes), lineOffset: part.bodyLine - 1 })
    else sorted.warnings.push(`part ${n} (line ${part.bodyLine}): ${type || "text/plain"} parts are not supported; part ignored`)
  })
  return sorted
}

/** Later parts' top-level keys replace earlier ones'; each key remembers the part it came from. */
const mergeConfigs = (reads: ReadonlyArray<Read<CloudConfig>>) => {
  const owner = new Map<string, Source>()
  let value: CloudConfig = {}
  for (const read of reads) {
    value = { ...value, ...read.value }
    for (const key of Object.keys(read.value)) owner.set(key, read.source)
  }
  const unknownKeys = [...new Set(reads.flatMap((r) => r.unknownKeys))]
  const lineOf = (path: ReadonlyArray<Key>) => {
    const source = owner.get(String(path[0]))
    return source ? lineIn(source, path) : 1
  }
  return { value, unknownKeys, lineOf, warnings: reads.flatMap((r) => r.warnings) }
}

const analyseMultipart = (bytes: Uint8Array, options: ParseOptions): Analysis => {
  const type = "multipart"
  const split = mimeParts(Buffer.from(bytes).toString("latin1"))
  if (Either.isLeft(split)) return { type, parsed: undefined, problems: split.left }
  const sorted = sortParts(split.right.parts)
  if (split.right.multipart && split.right.parts.length === 0) sorted.warnings.push("multipart user-data has no parts")
  const reads = sorted.configs.map((c) => readDocument(CLOUD, c.text, c.lineOffset))
  const failed = reads.flatMap((r) => (Either.isLeft(r) ? r.left : []))
  if (failed.length > 0) return { type, parsed: undefined, problems: byLine(failed) }
  const merged = mergeConfigs(reads.flatMap((r) => (Either.isRight(r) ? [r.right] : [])))
  const { config, problems } =
    reads.length === 0
      ? { config: emptyUserConfig, problems: [] }
      : toModel(CLOUD, merged.value, merged.unknownKeys, options, merged.lineOf, merged.warnings)
  return {
    type,
    parsed: { kind: "multipart", type, scripts: sorted.scripts, config: { ...config, warnings: [...sorted.warnings, ...config.warnings] } },
    problems
  }
}

// ---- entry points --------------------------------------------------------------------------

/** Everything about the user-data: the parsed form (unless a problem is fatal) and the problems, placed on lines. */
export const analyseUserData = (bytes: Uint8Array, options: ParseOptions): Analysis => {
  const type = userDataWord(bytes)
  if (type === "missing") return { type, parsed: { kind: "missing", type }, problems: [] }
  if (bytes.length > options.maxBytes) {
    return { type, parsed: undefined, problems: [{ path: "", line: 1, message: `user-data is ${bytes.length} bytes, more than the limit of ${options.maxBytes}` }] }
  }
  switch (type) {
    case "script":
      return { type, parsed: { kind: "script", type, script: bytes }, problems: [] }
    case "alpine-config":
    case "cloud-config":
      return type === "alpine-config" ? analyseWith(ALPINE, type, bytes, options) : analyseWith(CLOUD, type, bytes, options)
    case "multipart":
      return analyseMultipart(bytes, options)
    default:
      return { type, parsed: { kind: "unknown", type }, problems: [] }
  }
}

/**
 * The user-data as the actions use it. Left: it cannot be used at all (YAML
 * or Schema errors, too large); non-fatal problems are in `config.problems`.
 */
export const parseUserData = (bytes: Uint8Array, options: ParseOptions): Either.Either<ParsedUserData, UserDataError> => {
  const analysis = analyseUserData(bytes, options)
  return analysis.parsed !== undefined
    ? Either.right(analysis.parsed)
    : Either.left(new UserDataError({ type: analysis.type, problems: analysis.problems }))
}

