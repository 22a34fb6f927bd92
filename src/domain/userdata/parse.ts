/**
 * User-data bytes → `ParsedUserData` (BEHAVIOUR.md §6), with no I/O.
 *
 * The type is read as cloud-init reads it (`type.ts`). `#alpine-config` and
 * `#cloud-config` are YAML 1.1, read key by key (`alpine.ts`, `cloud.ts`): a
 * key, or an entry of a list, that cannot be used is skipped with its reason
 * and everything else is applied. MIME user-data is split into parts
 * (`mime.ts`): shell scripts, kept in order, and cloud-config parts, merged
 * in order as cloud-init merges them (`merge.ts`; by default a later part's
 * top-level key replaces an earlier one's). A `#cloud-config-archive`'s
 * entries are read as the MIME parts they stand for (`archive.ts`).
 *
 * Every problem and warning carries the 1-based line it is on and its path.
 */
import * as Either from "effect/Either"
import { fromAlpineConfig } from "./alpine.js"
import { splitArchive } from "./archive.js"
import { fromCloudConfig } from "./cloud.js"
import { newBudget, type ReadContext } from "./common.js"
import type { DocumentRead } from "./document.js"
import { type Built, merge, originOf, partMergers, type Traced } from "./merge.js"
import { explainJinja, maskJinja, newJinjaBudget } from "./jinja.js"
import { JINJA_WARNING, type Parts, splitMime, type ScriptPart } from "./mime.js"
import { emptyUserConfig, type UserConfig } from "./model.js"
import { asMap, formatPath, type Key, type Note, Notes } from "./notes.js"
import { formatProblem, type Problem, UserDataError } from "./problem.js"
import { byteOrderMarkWarning, isJinja, startsWithByteOrderMark, userDataWord } from "./type.js"
import { endsLine } from "../text.js"
import type { TokenBudget } from "../yaml-depth.js"
import { lineIn, loadYaml, newTokenBudget, type Source } from "./yaml.js"
import { SHEBANG_CR, shebangHoldsCr } from "./runnable.js"

export type { ScriptPart }

export type ParsedUserData =
  | { readonly kind: "missing"; readonly type: "missing" }
  | { readonly kind: "script"; readonly type: "script"; readonly script: Uint8Array }
  | { readonly kind: "config"; readonly type: "alpine-config" | "cloud-config"; readonly config: UserConfig }
  | {
      readonly kind: "multipart"
      readonly type: "multipart"
      /** `text/x-shellscript` parts, in order, to run in the final phase */
      readonly scripts: ReadonlyArray<ScriptPart>
      /** the merged `text/cloud-config` parts */
      readonly config: UserConfig
    }
  /** `unknown`, or a `#WORD` this program has no handler for (`cloud-boothook`, `include`, `jinja`...) */
  | { readonly kind: "unknown"; readonly type: string }

export interface ParseOptions {
  /** larger user-data is refused */
  readonly maxBytes: number
  /** total bytes the content of all `write_files` may take (gzip content as it expands); default 16 MiB */
  readonly maxDecompressedBytes?: number
  /** CLOUD_USER: the default user where user-data names none, for the `users` entry that names it */
  readonly cloudUser?: string
}

/** Everything found, each problem and warning placed on its line. */
export interface Analysis {
  readonly type: string
  /** undefined when the user-data cannot be read at all (not YAML, not UTF-8, too large) */
  readonly parsed: ParsedUserData | undefined
  /** with `parsed`: the parts that were skipped; without: why it cannot be read */
  readonly problems: ReadonlyArray<Problem>
  /** something of it is applied: no problems, or not every key skipped */
  readonly usable: boolean
  /** worth telling, applied anyway: odd input, keys that are not carried out, ignored MIME parts */
  readonly warnings: ReadonlyArray<string>
}

// ---- notes onto lines ----------------------------------------------------------------------

const byLine = <A extends { readonly line: number }>(items: ReadonlyArray<A>): Array<A> => [...items].sort((a, b) => a.line - b.line)

const placed = (notes: ReadonlyArray<Note>, lineOf: (path: ReadonlyArray<Key>) => number): Array<Problem> =>
  byLine(notes.map((n) => ({ path: formatPath(n.path), line: n.line ?? lineOf(n.path), message: n.message, ...(n.error ? { error: true } : {}) })))

/**
 * The most problems, and warnings, of a document (and of its parts, apart)
 * listed one by one; the others are counted in one more line, and the keys
 * not carried out are named up to as many. Any number is read, but 20 000
 * bad entries would otherwise be as many lines on stderr, in syslog and in
 * status.json, in every phase that reads the document; `tiny-cloud schema`
 * lists the same lines as save_userdata logs.
 */
export const MAX_NOTES = 100
/** the parts' own notes (`mime.ts`) are counted apart from the merged document's */
export const MAX_PART_NOTES = MAX_NOTES

const listed = <A>(items: ReadonlyArray<A>, more: (count: number, first: A) => A): Array<A> =>
  items.length <= MAX_NOTES ? [...items] : [...items.slice(0, MAX_NOTES), more(items.length - MAX_NOTES, items[MAX_NOTES]!)]

interface Format {
  readonly read: (raw: unknown, context: ReadContext) => DocumentRead & { readonly config: UserConfig }
  /** keys whose plain numbers are kept as written */
  readonly asWritten: ReadonlySet<string>
  /** the warning that names the keys not carried out */
  readonly unsupportedLabel: string
  /** `merge_how`/`merge_type` are cloud-init's, taken out of the document */
  readonly mergeKeys?: boolean
  /** what PyYAML refuses (a tab as `key:<TAB>value`, a tag such as `!vault`) refuses the document, as in cloud-init (loadYaml) */
  readonly pyyamlRefusals: boolean
}

const ALPINE: Format = {
  read: fromAlpineConfig,
  asWritten: new Set(["permissions", "owner"]),
  unsupportedLabel: "unknown #alpine-config keys ignored",
  pyyamlRefusals: false
}
const CLOUD: Format = {
  read: fromCloudConfig,
  asWritten: new Set(["owner"]),
  unsupportedLabel: "unsupported cloud-config keys",
  mergeKeys: true,
  pyyamlRefusals: true
}

interface Read {
  readonly config: UserConfig
  readonly applied: number
  readonly problems: Array<Problem>
  readonly warnings: Array<string>
}

/** the model of a document (already loaded), with its notes placed by `lineOf` */
const readWith = (
  format: Format,
  raw: unknown,
  lineOf: (path: ReadonlyArray<Key>) => number,
  earlier: ReadonlyArray<Note>,
  options: ParseOptions,
  template = false
): Read => {
  const notes = new Notes()
  const { config, applied } = format.read(raw, { notes, budget: newBudget(options.maxDecompressedBytes), ...(options.cloudUser !== undefined ? { cloudUser: options.cloudUser } : {}) })
  if (template) {
    notes.problems.splice(0, notes.problems.length, ...notes.problems.map(explainJinja(raw)))
    notes.warnings.splice(0, notes.warnings.length, ...notes.warnings.map((w) => (w.unusable === true ? explainJinja(raw)(w) : w)))
  }
  const unsupported = [...new Set(notes.unsupported)]
  const named = unsupported.length <= MAX_NOTES ? unsupported.join(", ") : `${unsupported.slice(0, MAX_NOTES).join(", ")} and ${unsupported.length - MAX_NOTES} more`
  // a key not carried out is named once, in the line below: what its YAML has odd (a duplicate key in it) would only contradict it
  const ignored = new Set(unsupported)
  const aboutIgnored = (note: Note) => note.path.some((_, i) => ignored.has(formatPath(note.path.slice(0, i + 1))))
  return {
    config,
    applied,
    problems: listed(placed(notes.problems, lineOf), (count, first) => ({ path: "", line: first.line, message: `${count} more problems are not listed` })),
    warnings: [
      ...listed(placed([...earlier.filter((n) => !aboutIgnored(n)), ...notes.warnings], lineOf).map(formatProblem), (count) => `${count} more warnings are not listed`),
      ...(unsupported.length > 0 ? [`${format.unsupportedLabel}: ${named}`] : [])
    ]
  }
}

/**
 * The offset of the first byte that is no UTF-8: up to it, the decoding
 * that replaces such bytes is exact, so it is where that decoding's first
 * U+FFFD stands that the text does not spell itself (EF BF BD).
 */
const firstNotUtf8 = (bytes: Uint8Array): number => {
  // (a byte-order mark kept: each character of the decoding stands for the bytes it came from)
  const lossy = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)
  let offset = 0
  let from = 0
  for (let at = lossy.indexOf("\ufffd"); at >= 0; at = lossy.indexOf("\ufffd", at + 1)) {
    offset += Buffer.byteLength(lossy.slice(from, at))
    if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) return offset
    offset += 3
    from = at + 1
  }
  return bytes.length
}

/** the 1-based line of a byte offset, line breaks counted as YAML counts them (LF, CR LF, a CR alone) */
const lineOfOffset = (bytes: Uint8Array, offset: number): number => {
  let line = 1
  for (let i = 0; i < offset; i++) if (endsLine(bytes[i], bytes[i + 1])) line++
  return line
}

/** the text; else the line of the first byte that is no UTF-8, so that it can be found (a Latin-1 é in one value) */
const decodeText = (bytes: Uint8Array): Either.Either<string, Array<Problem>> => {
  try {
    return Either.right(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return Either.left([{ path: "", line: lineOfOffset(bytes, firstNotUtf8(bytes)), message: "user-data is not valid UTF-8 text" }])
  }
}

/** something of a document is applied unless it had problems and none of its keys could be used */
const usable = (read: { readonly problems: ReadonlyArray<Problem>; readonly applied: number }) => read.problems.length === 0 || read.applied > 0

const unreadable = (type: string, problems: ReadonlyArray<Problem>): Analysis => ({ type, parsed: undefined, problems, warnings: [], usable: false })

/**
 * `merge_how`/`merge_type` taken out of a #cloud-config, as cloud-init pops
 * them from every cloud-config it reads: they say how MIME parts merge, so
 * in one document they change nothing, and are no key to warn about; mergers
 * that cannot be read are named.
 */
const withoutMergeKeys = (format: Format, raw: unknown): { readonly doc: unknown; readonly notes: ReadonlyArray<Note> } => {
  const map = format.mergeKeys ? asMap(raw) : undefined
  if (map === undefined || !("merge_how" in map || "merge_type" in map)) return { doc: raw, notes: [] }
  const { mergers, raw: doc } = partMergers(map, undefined)
  const key = map["merge_how"] !== undefined && map["merge_how"] !== null ? "merge_how" : "merge_type"
  return { doc, notes: Either.isLeft(mergers) ? [{ path: [key], message: `${mergers.left}; it says how MIME parts merge, so it changes nothing here` }] : [] }
}

/**
 * A UTF-8 byte-order mark before `#cloud-config` (an editor on Windows saves
 * one): the decoding leaves it out and the document is applied, but cloud-init
 * reads the mark as part of the first line, finds no type there and applies
 * nothing, which the user is told.
 */
const byteOrderMark = (format: Format, bytes: Uint8Array): Array<Note> =>
  format === CLOUD && startsWithByteOrderMark(bytes) ? [{ path: [], line: 1, message: byteOrderMarkWarning("#cloud-config") }] : []

/** the same for MIME user-data or a `#cloud-config-archive` (`found`, what cloud-init finds no more), read past the mark: said first */
const afterByteOrderMark = (found: string, bytes: Uint8Array, analysis: Analysis): Analysis =>
  startsWithByteOrderMark(bytes) && analysis.parsed !== undefined ? { ...analysis, warnings: [`line 1: ${byteOrderMarkWarning(found)}`, ...analysis.warnings] } : analysis

const analyseConfig = (format: Format, type: "alpine-config" | "cloud-config", bytes: Uint8Array, options: ParseOptions): Analysis => {
  const text = decodeText(bytes)
  if (Either.isLeft(text)) return unreadable(type, text.left)
  const template = isJinja(text.right)
  const masked = template ? maskJinja(text.right, 0) : Either.right({ text: text.right, restore: (raw: unknown) => raw })
  if (Either.isLeft(masked)) return unreadable(type, masked.left)
  const loaded = loadYaml(masked.right.text, 0, format.asWritten, undefined, false, format.pyyamlRefusals)
  if (Either.isLeft(loaded)) return unreadable(type, loaded.left)
  const { raw, source, warnings } = loaded.right
  const jinja: Array<Note> = template ? [{ path: [], line: 1, message: JINJA_WARNING }] : []
  const { doc, notes } = withoutMergeKeys(format, masked.right.restore(raw))
  const read = readWith(format, doc, (path) => lineIn(source, path), [...byteOrderMark(format, bytes), ...jinja, ...warnings, ...notes], options, template)
  return { type, parsed: { kind: "config", type, config: read.config }, problems: read.problems, warnings: read.warnings, usable: usable(read) }
}

interface LoadedPart {
  readonly raw: Record<string, unknown>
  readonly source: Source
  readonly where: string
  readonly mergeType: string | undefined
}

/**
 * The parts merged in order by the mergers each names (`merge.ts`); each
 * value remembers the part and line it came from.
 */
const mergeParts = (parts: Iterable<LoadedPart>) => {
  const warnings: Array<string> = []
  let merged: Traced<Source> | undefined
  const built: Built<Source> = new WeakMap()
  for (const part of parts) {
    const { mergers, raw } = partMergers(part.raw, part.mergeType)
    const ignored = (reason: string) => warnings.push(`${part.where}: ${reason}; part ignored`)
    if (Either.isLeft(mergers)) ignored(mergers.left)
    else if (mergers.right.dict === undefined) ignored("its mergers name no dict(), so it changes nothing, as in cloud-init")
    else {
      const later = { value: raw, origin: { source: part.source, path: [] } }
      merged = merge(mergers.right, built, merged ?? { value: {}, origin: later.origin }, later)
    }
  }
  const lineOf = (path: ReadonlyArray<Key>) => {
    if (merged === undefined) return 1
    const { source, path: inPart } = originOf(merged.origin, path)
    return lineIn(source, inPart)
  }
  return { merged: merged === undefined ? undefined : asMap(merged.value), lineOf, warnings }
}


/** MIME user-data, or a `#cloud-config-archive`, its parts split and sorted (`mime.ts`, `archive.ts`) */
const analyseParts = (
  type: "multipart" | "cloud-config-archive",
  split: Either.Either<Parts, Array<Problem>>,
  options: ParseOptions,
  budget: TokenBudget = newTokenBudget()
): Analysis => {
  if (Either.isLeft(split)) return unreadable(type, split.left)
  const { scripts, configs, warnings } = split.right
  const problems: Array<Problem> = []
  const notes: Array<Note> = []
  const jinjaBudget = newJinjaBudget()
  const load = ({ text, lineOffset, where, pinned, mergeType }: (typeof configs)[number]): Array<LoadedPart> => {
    const skipped = (left: ReadonlyArray<Problem>) => problems.push(...left.map((p) => ({ ...p, message: `${p.message}; part skipped` })))
    const masked = isJinja(text) ? maskJinja(text, lineOffset, jinjaBudget, pinned) : Either.right({ text, restore: (raw: unknown) => raw })
    if (Either.isLeft(masked)) {
      skipped(masked.left)
      return []
    }
    const yaml = loadYaml(masked.right.text, lineOffset, CLOUD.asWritten, budget, pinned)
    if (Either.isLeft(yaml)) {
      skipped(yaml.left)
      return []
    }
    notes.push(...yaml.right.warnings)
    const raw = asMap(masked.right.restore(yaml.right.raw))
    if (raw === undefined) {
      problems.push({ path: "", line: lineOffset + 1, message: "expected a map of #cloud-config keys; part skipped" })
      return []
    }
    return [{ raw, source: yaml.right.source, where, mergeType }]
  }
  // each part loaded as it is merged: a part's YAML document (its nodes and lines, some kilobytes) stays only while a
  // merged value came from it, never all of them at once (200,000 empty parts held 800 MB)
  const loaded = function* () {
    for (const config of configs) yield* load(config)
  }
  const { merged, lineOf, warnings: mergeWarnings } = mergeParts(loaded())
  const read: Read =
    merged === undefined ? { config: emptyUserConfig, applied: 0, problems: [], warnings: [] } : readWith(CLOUD, merged, lineOf, notes, options, configs.some((c) => isJinja(c.text)))
  const partProblems = listed(problems, (count, first) => ({ path: "", line: first.line, message: `${count} more parts with problems are skipped, not listed` }))
  const all = byLine([...partProblems, ...read.problems])
  return {
    type,
    parsed: { kind: "multipart", type: "multipart", scripts, config: read.config },
    problems: all,
    warnings: [...listed([...warnings, ...mergeWarnings], (count) => `${count} more warnings about parts are not listed`), ...read.warnings],
    usable: usable({ problems: all, applied: read.applied + scripts.length })
  }
}

// ---- entry points --------------------------------------------------------------------------

/** the problem of user-data of `size` bytes past `maxBytes`, which is not read */
export const tooLarge = (size: number, maxBytes: number): Problem => ({ path: "", line: 1, message: `user-data is ${size} bytes, more than the limit of ${maxBytes}` })

/** Everything about the user-data: the parsed form (unless nothing of it can be used), its problems and warnings. */
export const analyseUserData = (bytes: Uint8Array, options: ParseOptions): Analysis => {
  const type = userDataWord(bytes)
  if (type === "missing") return { type, parsed: { kind: "missing", type }, problems: [], warnings: [], usable: true }
  if (bytes.length > options.maxBytes) {
    return unreadable(type, [tooLarge(bytes.length, options.maxBytes)])
  }
  switch (type) {
    case "script": {
      const warnings = shebangHoldsCr(bytes) ? [`line 1: the ${SHEBANG_CR}: the script will not start; save it with LF line ends`] : []
      return afterByteOrderMark("#!", bytes, { type, parsed: { kind: "script", type, script: bytes }, problems: [], warnings, usable: true })
    }
    case "alpine-config":
      return analyseConfig(ALPINE, type, bytes, options)
    case "cloud-config":
      return analyseConfig(CLOUD, type, bytes, options)
    case "multipart": {
      // its #cloud-config-archive parts, read as cloud-init explodes them, share one budget with the cloud-config parts
      const budget = newTokenBudget()
      const split = splitMime(bytes, options.maxBytes, (text, within) => splitArchive(text, options.maxBytes, budget, within))
      return afterByteOrderMark("MIME headers", bytes, analyseParts(type, split, options, budget))
    }
    case "cloud-config-archive": {
      const text = decodeText(bytes)
      // the list and its parts share one budget: one user-data never costs more than the cap
      const budget = newTokenBudget()
      return Either.isLeft(text) ? unreadable(type, text.left) : afterByteOrderMark("#cloud-config-archive", bytes, analyseParts(type, splitArchive(text.right, options.maxBytes, budget), options, budget))
    }
    default:
      return { type, parsed: { kind: "unknown", type }, problems: [], warnings: [], usable: true }
  }
}

/** The user-data as the actions use it. Left: it cannot be read at all. */
export const parseUserData = (bytes: Uint8Array, options: ParseOptions): Either.Either<ParsedUserData, UserDataError> => {
  const analysis = analyseUserData(bytes, options)
  return analysis.parsed !== undefined ? Either.right(analysis.parsed) : Either.left(new UserDataError({ type: analysis.type, problems: analysis.problems }))
}
