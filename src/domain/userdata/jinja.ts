/**
 * A `## template: jinja` cloud-config read as plain cloud-config, as this
 * program renders no template: each `{{ ... }}` expression is kept as the
 * text it is written as, wherever it stands (as a whole value it would
 * otherwise be read as a YAML flow map, or break the YAML), and `{# ... #}`
 * comments are left out, as jinja leaves them out. A `{% ... %}` statement
 * (an `if`, a `for`) decides what the document holds: without rendering it
 * nothing of the template can be applied, and the one problem says so.
 */
import * as Either from "effect/Either"
import type { Problem } from "./problem.js"

/** an expression or a comment, on one line */
const CONSTRUCT = /\{\{[^\n]*?\}\}|\{#[^\n]*?#\}/g
const STATEMENT = /\{%/

/** private-use characters around an expression's number: a plain YAML scalar may start with them, and no user-data writes them */
const OPEN = "\uE000"
const CLOSE = "\uE001"
const MARK = /\uE000(\d+)\uE001/g

export interface Masked {
  /** the text with each expression a mark and each comment gone, line for line */
  readonly text: string
  /** the loaded document with each mark the expression again */
  readonly restore: (raw: unknown) => unknown
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split("\n").length

/** the template's text as plain YAML; left, a statement at its line (after `lineOffset` lines of the user-data) */
export const maskJinja = (text: string, lineOffset: number): Either.Either<Masked, Array<Problem>> => {
  const statement = STATEMENT.exec(text)
  if (statement !== null) {
    return Either.left([
      {
        path: "",
        line: lineAt(text, statement.index) + lineOffset,
        message: "a jinja statement ({% ... %}) decides what this template holds, and jinja templates are not rendered; nothing of it is applied"
      }
    ])
  }
  if (text.includes(OPEN)) return Either.right({ text, restore: (raw) => raw })
  const expressions: Array<string> = []
  const masked = text.replace(CONSTRUCT, (construct) => {
    if (construct.startsWith("{#")) return ""
    expressions.push(construct)
    return `${OPEN}${expressions.length - 1}${CLOSE}`
  })
  const unmask = (s: string) => s.replace(MARK, (_, n: string) => expressions[Number(n)] ?? "")
  const restore = (value: unknown): unknown => {
    if (typeof value === "string") return unmask(value)
    if (Array.isArray(value)) return value.map(restore)
    if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) {
      // defined, not assigned: a key `__proto__` stays a key
      Object.defineProperty(out, unmask(key), { value: restore(inner), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return Either.right({ text: masked, restore: expressions.length === 0 ? (raw) => raw : restore })
}

const EXPRESSION = /\{\{[^\n]*?\}\}/

/** the value at a document path, if it is there */
const valueAt = (raw: unknown, path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((value, key) => (value !== null && typeof value === "object" && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined), raw)

/**
 * A problem with a value that holds an expression, said as what it is: the
 * expression is not rendered (not, say, "expected a host name, got a string
 * of 23 characters"); what was skipped is kept from the message.
 */
export const explainJinja =
  (raw: unknown) =>
  <N extends { readonly path: ReadonlyArray<string | number>; readonly message: string }>(note: N): N => {
    const value = valueAt(raw, note.path)
    if (typeof value !== "string" || !EXPRESSION.test(value)) return note
    const consequence = note.message.indexOf(";")
    return { ...note, message: `holds a jinja expression, which is not rendered${consequence < 0 ? "" : note.message.slice(consequence)}` }
  }
