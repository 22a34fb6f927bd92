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
import { YAML_MAX_TOKENS } from "../yaml-depth.js"
import type { Problem } from "./problem.js"

const STATEMENT = "{%"

interface Construct {
  readonly start: number
  readonly end: number
  readonly comment: boolean
}

/**
 * Where `needle` next stands at or after a place, for places that only
 * rise: each search goes on from where the last one stopped, so all of them
 * together read the text once.
 */
const finder = (text: string, needle: string) => {
  let at = -2
  return (from: number): number => {
    if (at !== -1 && at < from) at = text.indexOf(needle, from)
    return at
  }
}

/**
 * Each `{{ ... }}` expression and `{# ... #}` comment, in order: an opening
 * closed by the first closing after it, an expression's on its line, a
 * comment's anywhere after it (jinja comments go on over lines). One pass,
 * as a line full of openings that never close (`{{{{...`) made a lazy
 * regular expression search the rest of the line from each of them.
 */
const constructsOf = (text: string, most = Infinity): Array<Construct> => {
  const found: Array<Construct> = []
  const expressionClose = finder(text, "}}")
  const commentClose = finder(text, "#}")
  const newline = finder(text, "\n")
  for (let i = text.indexOf("{"); i >= 0; i = text.indexOf("{", i)) {
    const comment = text[i + 1] === "#"
    if (comment || text[i + 1] === "{") {
      const close = comment ? commentClose(i + 2) : expressionClose(i + 2)
      const lineEnd = newline(i)
      if (close >= 0 && (comment || lineEnd < 0 || close < lineEnd)) {
        // one more than `most` says there are too many
        if (found.length > most) break
        found.push({ start: i, end: close + 2, comment })
        i = close + 2
        continue
      }
    }
    i += 1
  }
  return found
}

/** the private-use characters: a plain YAML scalar may start with them, and user-data hardly ever writes them */
const PRIVATE_USE = /[\uE000-\uF8FF]/g

/** two private-use characters the text does not hold, to put around an expression's number; undefined when it holds every one */
const marksFor = (text: string): readonly [string, string] | undefined => {
  const held = new Set<string>()
  PRIVATE_USE.lastIndex = 0
  for (let m = PRIVATE_USE.exec(text); m !== null && held.size < 0x1900; m = PRIVATE_USE.exec(text)) held.add(m[0])
  const free: Array<string> = []
  for (let code = 0xe000; code <= 0xf8ff && free.length < 2; code++) if (!held.has(String.fromCharCode(code))) free.push(String.fromCharCode(code))
  return free.length === 2 ? [free[0]!, free[1]!] : undefined
}

export interface Masked {
  /** the text with each expression a mark and each comment gone but its line breaks, line for line */
  readonly text: string
  /** the loaded document with each mark the expression again */
  readonly restore: (raw: unknown) => unknown
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split("\n").length

/**
 * the most expressions and comments a template may hold: each is kept apart
 * while the document is read, and a 16 MiB line of `{{x}}` (3 million, one
 * YAML scalar) took a gigabyte and 18 s; real templates hold a few dozen
 */
const MAX_CONSTRUCTS = YAML_MAX_TOKENS

/** how many more expressions and comments the user-data may hold: its parts share it */
export interface JinjaBudget {
  remaining: number
}

export const newJinjaBudget = (): JinjaBudget => ({ remaining: MAX_CONSTRUCTS })

/** where the first `{%` outside the expressions and comments (a commented-out `{% if %}` is none, as jinja reads it) stands; -1 when there is none */
const statementOutside = (text: string, constructs: ReadonlyArray<Construct>): number => {
  let c = 0
  for (let i = text.indexOf(STATEMENT); i >= 0; i = text.indexOf(STATEMENT, i + 2)) {
    while (c < constructs.length && constructs[c]!.end <= i) c++
    if (c === constructs.length || constructs[c]!.start > i) return i
  }
  return -1
}

/**
 * the template's text as plain YAML; left, a statement at its line (after `lineOffset` lines of the user-data; on the
 * line after them when `pinned`, the text decoded from a MIME part's body), or more expressions and comments than the budget has left
 */
export const maskJinja = (text: string, lineOffset: number, budget: JinjaBudget = newJinjaBudget(), pinned = false): Either.Either<Masked, Array<Problem>> => {
  const constructs = constructsOf(text, budget.remaining)
  if (constructs.length > budget.remaining) {
    return Either.left([{ path: "", line: 1 + lineOffset, message: `too large to read: more than ${MAX_CONSTRUCTS} jinja expressions and comments in the user-data` }])
  }
  budget.remaining -= constructs.length
  const statement = statementOutside(text, constructs)
  if (statement >= 0) {
    return Either.left([
      {
        path: "",
        line: (pinned ? 1 : lineAt(text, statement)) + lineOffset,
        message: "a jinja statement ({% ... %}) decides what this template holds, and jinja templates are not rendered; nothing of it is applied"
      }
    ])
  }
  const marks = marksFor(text)
  if (marks === undefined) return Either.right({ text, restore: (raw) => raw })
  const [OPEN, CLOSE] = marks
  const MARK = new RegExp(`${OPEN}(\\d+)${CLOSE}`, "g")
  const expressions: Array<string> = []
  const pieces: Array<string> = []
  let at = 0
  for (const { start, end, comment } of constructs) {
    pieces.push(text.slice(at, start))
    // a comment over several lines leaves its line breaks, so what follows keeps its line
    if (comment) pieces.push("\n".repeat(text.slice(start, end).split("\n").length - 1))
    else {
      expressions.push(text.slice(start, end))
      pieces.push(`${OPEN}${expressions.length - 1}${CLOSE}`)
    }
    at = end
  }
  pieces.push(text.slice(at))
  const masked = pieces.join("")
  const unmask = (s: string) => s.replace(MARK, (_, n: string) => expressions[Number(n)] ?? "")
  // a value named again by a YAML alias is the same value loaded, and is restored once: 99 aliases of an 8 MiB text are not 99 copies,
  // and a list or map that holds itself (`&a [*a]`) is restored into one that holds itself, not followed for ever
  const restored = new Map<unknown, unknown>()
  const restore = (value: unknown): unknown => {
    if (value === null || (typeof value !== "string" && typeof value !== "object") || value instanceof Uint8Array) return value
    if (restored.has(value)) return restored.get(value)
    if (typeof value === "string") {
      const text = unmask(value)
      restored.set(value, text)
      return text
    }
    if (Array.isArray(value)) {
      const list: Array<unknown> = []
      restored.set(value, list)
      for (const item of value) list.push(restore(item))
      return list
    }
    const out: Record<string, unknown> = {}
    restored.set(value, out)
    for (const [key, inner] of Object.entries(value)) {
      // defined, not assigned: a key `__proto__` stays a key
      Object.defineProperty(out, unmask(key), { value: restore(inner), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return Either.right({ text: masked, restore: expressions.length === 0 ? (raw) => raw : restore })
}

/** the value at a document path, if it is there */
const valueAt = (raw: unknown, path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((value, key) => (value !== null && typeof value === "object" && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined), raw)

/**
 * Where a problem's message says what was skipped: its first `;` outside
 * parentheses (what a value was expected to be may hold one: "a user name
 * (... _ . -; not starting with . or -)").
 */
const consequenceAt = (message: string): number => {
  let depth = 0
  for (let i = 0; i < message.length; i++) {
    const c = message[i]
    if (c === "(") depth++
    else if (c === ")") depth = Math.max(0, depth - 1)
    else if (c === ";" && depth === 0) return i
  }
  return -1
}

/**
 * A problem with a value that holds an expression, said as what it is: the
 * expression is not rendered (not, say, "expected a host name, got a string
 * of 23 characters"); what was skipped is kept from the message.
 */
export const explainJinja =
  (raw: unknown) =>
  <N extends { readonly path: ReadonlyArray<string | number>; readonly message: string }>(note: N): N => {
    const value = valueAt(raw, note.path)
    if (typeof value !== "string" || !constructsOf(value).some((c) => !c.comment)) return note
    const consequence = consequenceAt(note.message)
    return { ...note, message: `holds a jinja expression, which is not rendered${consequence < 0 ? "" : note.message.slice(consequence)}` }
  }
