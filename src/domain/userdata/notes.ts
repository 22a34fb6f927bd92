/**
 * What reading a user-data document has to say, by document path: the parts
 * that were skipped (with the first reason), odd input that was applied
 * anyway, and keys that are not carried out. Lines are added later, from
 * the paths (`parse.ts`).
 *
 * Messages name what was wrong; a value from the document is quoted only
 * when it is a short word, and never for a secret, so keys, passwords and
 * scripts never reach a log.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { SECRET_KEYS } from "../../schema/cloud-config.js"
import { printable } from "../text.js"

export type Key = string | number

export interface Note {
  readonly path: ReadonlyArray<Key>
  readonly message: string
  /** when the path cannot find it (a duplicate key): the 1-based line */
  readonly line?: number
  /** logged at error level even when the rest is applied (`Problem.error`) */
  readonly error?: boolean
  /** a warning that the value itself cannot be used (in a jinja template, an expression in it is why: parse.ts says so) */
  readonly unusable?: boolean
}

/** `write_files[0].permissions`; each key printable (a key is the document's: its control characters escaped, a long one cut) */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? printable(String(key)) : `${out}.${printable(String(key))}`), "")

export class Notes {
  /** parts of the document that were skipped */
  readonly problems: Array<Note> = []
  readonly warnings: Array<Note> = []
  /** paths of keys that are not carried out, in document order */
  readonly unsupported: Array<string> = []

  /** `unit` (a key or a list entry) is left out because of `reason` (at its own path inside the unit) */
  skip(reason: Note, unit: ReadonlyArray<Key>) {
    const what = formatPath(unit) === formatPath(reason.path) ? "" : ` ${formatPath(unit)}`
    this.problems.push({ ...reason, message: `${reason.message};${what} skipped` })
  }
  /** a problem with its own consequence in `message` (`...; the default user is kept`) */
  problem(path: ReadonlyArray<Key>, message: string) {
    this.problems.push({ path, message })
  }
  /** a problem BEHAVIOUR.md calls an error, with its own consequence in `message`: logged at error level whatever else is applied */
  error(path: ReadonlyArray<Key>, message: string) {
    this.problems.push({ path, message, error: true })
  }
  warn(path: ReadonlyArray<Key>, message: string) {
    this.warnings.push({ path, message })
  }
  /** a value left out, applied without it, because it cannot be used as it is written */
  unusable(path: ReadonlyArray<Key>, message: string) {
    this.warnings.push({ path, message, unusable: true })
  }
  ignore(path: ReadonlyArray<Key>) {
    this.unsupported.push(formatPath(path))
  }
}

// ---- Schema issues → notes -----------------------------------------------------------------

/**
 * A value for a message, by its kind, never its content: messages go to
 * stderr, syslog and status.json, where no user-data may appear (a word in
 * the wrong place may well be a secret).
 */
const show = (value: unknown): string => {
  if (value === null) return "null"
  if (value === undefined) return "nothing"
  if (typeof value === "string") return value === "" ? "an empty string" : `a string of ${value.length} character${value.length === 1 ? "" : "s"}`
  if (typeof value === "number") return "a number"
  if (typeof value === "boolean") return String(value)
  if (value instanceof Uint8Array) return "binary data"
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list"
  return typeof value === "object" ? "a map" : typeof value
}

const isNullish = (ast: SchemaAST.AST): boolean => ast._tag === "UndefinedKeyword" || (ast._tag === "Literal" && ast.literal === null)

const describe = (ast: SchemaAST.AST): string => {
  const own = SchemaAST.getDescriptionAnnotation(ast)
  if (Option.isSome(own)) return own.value
  switch (ast._tag) {
    case "BooleanKeyword":
      return "true or false"
    case "StringKeyword":
      return "a string"
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

const expected = (ast: SchemaAST.AST, actual: unknown, path: ReadonlyArray<Key>) => {
  const last = path[path.length - 1]
  return `expected ${describe(ast)}${typeof last === "string" && SECRET_KEYS.has(last) ? "" : `, got ${show(actual)}`}`
}

/** An issue about the value's kind itself, not about anything inside it. */
const isShallow = (issue: ParseResult.ParseIssue): boolean =>
  issue._tag === "Type" ||
  (issue._tag === "Composite" && SchemaAST.isTupleType(issue.ast) && Array.isArray(issue.actual) && issue.actual.length === 0) ||
  (issue._tag === "Composite" && SchemaAST.isUnion(issue.ast) && asArray(issue.issues).every(isShallow)) ||
  (((issue._tag === "Refinement" && issue.kind === "From") || (issue._tag === "Transformation" && issue.kind === "Encoded")) && isShallow(issue.issue))

const asArray = <A>(x: A | ReadonlyArray<A>): ReadonlyArray<A> => (Array.isArray(x) ? (x as ReadonlyArray<A>) : [x as A])

const toKey = (k: PropertyKey): Key => (typeof k === "number" ? k : String(k))

/** A union failed: report the member that got furthest, else one "expected A or B" line. */
const unionIssues = (issue: ParseResult.Composite, path: ReadonlyArray<Key>): Array<Note> => {
  const deep = asArray(issue.issues).find((member) => !isShallow(member))
  return deep ? issuesOf(deep, path) : [{ path, message: expected(issue.ast, issue.actual, path) }]
}

export const issuesOf = (issue: ParseResult.ParseIssue, path: ReadonlyArray<Key>): Array<Note> => {
  switch (issue._tag) {
    case "Pointer":
      return issuesOf(issue.issue, [...path, ...asArray(issue.path).map(toKey)])
    case "Composite":
      return SchemaAST.isUnion(issue.ast) ? unionIssues(issue, path) : asArray(issue.issues).flatMap((i) => issuesOf(i, path))
    case "Refinement":
      return Option.isSome(SchemaAST.getDescriptionAnnotation(issue.ast)) || issue.kind === "Predicate"
        ? [{ path, message: expected(issue.ast, issue.actual, path) }]
        : issuesOf(issue.issue, path)
    case "Transformation":
      return Option.isSome(SchemaAST.getDescriptionAnnotation(issue.ast)) && isShallow(issue.issue)
        ? [{ path, message: expected(issue.ast, issue.actual, path) }]
        : issuesOf(issue.issue, path)
    case "Type":
      return [{ path, message: expected(issue.ast, issue.actual, path) }]
    case "Missing":
      return [{ path, message: "is required" }]
    case "Unexpected":
      return [{ path, message: "is not allowed here" }]
    case "Forbidden":
      return [{ path, message: "cannot be checked" }]
  }
}

/**
 * The value as `schema` reads it; when it does not fit, `unit` (the key or
 * list entry at `path` or above it) is skipped with the first reason.
 */
export const decodeOr = <A, I>(
  schema: Schema.Schema<A, I>,
  value: unknown,
  path: ReadonlyArray<Key>,
  notes: Notes,
  unit: ReadonlyArray<Key> = path
): A | undefined => {
  const result = Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "ignore" })(value)
  if (Either.isRight(result)) return result.right
  const [first] = issuesOf(result.left.issue, path)
  notes.skip(first ?? { path, message: "cannot be read" }, unit)
  return undefined
}

/** a raw YAML map as a plain object, or undefined */
export const asMap = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array)
    ? (value as Record<string, unknown>)
    : undefined

/**
 * The entries of a list key, each read on its own: a bad entry is skipped,
 * the others kept with their index in the document. A value that is not a
 * list skips the whole key. YAML null entries are passed over when `nulls`
 * says so (cloud-init skips them in runcmd).
 */
export const decodeEach = <A, I>(
  schema: Schema.Schema<A, I>,
  value: unknown,
  path: ReadonlyArray<Key>,
  notes: Notes,
  nulls: "skip" | "report" = "report"
): Array<{ readonly index: number; readonly value: A }> => {
  if (!Array.isArray(value)) {
    notes.skip({ path, message: `expected a list, got ${show(value)}` }, path)
    return []
  }
  return value.flatMap((item: unknown, index) => {
    if (item === null && nulls === "skip") return []
    const decoded = decodeOr(schema, item, [...path, index], notes)
    return decoded === undefined ? [] : [{ index, value: decoded }]
  })
}

export { show }
