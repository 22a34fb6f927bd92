/**
 * `KEY=value` assignments as a POSIX shell reads them, without evaluating
 * anything: `tiny-cloud.conf` and Scaleway's `/conf`. Values end at an
 * unquoted blank or `;` outside a `$(...)`, `${...}` or backquotes (an unquoted `| & < > ( )`, which sh reads as an
 * operator, outside a `$(...)`, `${...}` or backquotes, is a problem); `'...'` is literal; `"..."` honours `\\ \" \$ \``
 * and a backslash-newline; an unquoted `\x` is `x`. Quoted values may span
 * lines, and a backslash-newline between words joins two lines into one
 * command. `#` starts a comment where a word may start; `export ` is allowed,
 * and a name it exports without a value (`export NAME...`, `export A B=1`,
 * `export A=1 B`) assigns nothing. A command refused (`A=1 B=2 reboot`)
 * sets none of its assignments, as sh sets none. Nothing is expanded: an expansion sh
 * would make (`$NAME`, `${...}`, `$(...)`, a backquote, a leading `~`) is
 * kept as written and noted, so that it can be named.
 */

import { printable, withoutSecrets } from "./text.js"

/** a word as sh reads it back: between single quotes, each ' in it written '\'' */
export const singleQuoted = (word: string): string => `'${word.replace(/'/g, "'\\''")}'`

/** a word as sh reads it back, quoted only where it holds more than letters, digits and `_ . / : @ % + , = -` (an empty one as '') */
export const shellWord = (word: string): string => (/^[A-Za-z0-9_.\/:@%+,=-]+$/.test(word) ? word : singleQuoted(word))

export interface BadLine {
  /** 1-based line of the problem */
  readonly line: number
  readonly reason: string
}

export interface Assignments {
  /** later assignments win */
  readonly values: Record<string, string>
  /** 1-based line where each key's winning assignment starts */
  readonly lines: Record<string, number>
  /** lines that are not assignments, or an unterminated quote */
  readonly problems: ReadonlyArray<BadLine>
  /** the first expansion sh would make in each key's winning value (kept as written here), and where in the value it starts */
  readonly unexpanded: Record<string, Unexpanded>
}

export interface Unexpanded {
  readonly text: string
  /** its offset in the value */
  readonly at: number
}

/** what sh expands at a `$` outside single quotes: a name, a special or positional parameter, `${...}`, `$(...)`, `$((...))` (a backslash-newline is nothing) */
const DOLLAR = /\$(?:\\\n)*(?:\{[^}\n]{0,30}\}?|\(\(?|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/y
/** the home directory's tilde, which sh expands at the start of an assignment's value and after an unquoted `:` in it (a backslash-newline is nothing) */
const TILDE = /~(?=(?:\\\n)*(?:[/:\s;]|$))/y

/** what ends a word for sh where it stands unquoted: `;` aside, its control and redirection operators */
const OPERATORS = "|&<>()"

const NAME = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=/
/** a name and its `=` with blanks around it (`NAME = value`), which sh does not read as an assignment */
const SPACED_NAME = /^(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=[ \t]*/

/** `export NAME [NAME...]`, names only, up to the end of its command (a line's end, `;`, a comment) */
const EXPORT_ONLY = /export(?:[ \t]+[A-Za-z_][A-Za-z0-9_]*)+(?=[ \t]*(?:[\r\n;]|$)|[ \t]+#)/y

/** `export NAME... ` before an assignment (`export A B=1`: A exported, B set and exported), up to that assignment */
const EXPORT_NAMES_FIRST = /export(?:[ \t]+[A-Za-z_][A-Za-z0-9_]*)+[ \t]+(?=[A-Za-z_][A-Za-z0-9_]*=)/y

/** names without a value after an exported assignment (`export A=1 B`: B is exported, nothing assigned), up to the end of its command */
const BARE_NAMES = /(?:[A-Za-z_][A-Za-z0-9_]*(?:[ \t]+|(?=[\r\n;]|$)))+/y

/**
 * How long the match of sticky `pattern` at `i` is (0: none). Matched in the text itself, not in
 * a window cut from it: a window's end is `$` to the pattern, which took a name it cut for a whole one
 * (`export A=1 N0 ... N99`, names past 300 characters: 'unexpected '7 N78 ...'', the line lost).
 * Names and blanks never cross a line's end, so only this line is scanned.
 */
const matchAt = (pattern: RegExp, text: string, i: number): number => {
  pattern.lastIndex = i
  return pattern.exec(text)?.[0].length ?? 0
}

/**
 * the text from `i` to the end of its line (its CR aside), at most `max` characters of it, to quote in a
 * problem: printable, as a message is one line of text (only this line is scanned, so many bad lines stay linear);
 * a user and password before an `@` hidden, as in the line of a refused value (`IMDS_ENDPOINT = user:pass@host`), and a query
 * after a `?` (`IMDS_ENDPOINT = http://host/?token=...`), in what follows its first `shown` characters (a name that is no credential)
 */
const restOfLine = (text: string, i: number, max: number, shown = 0): string => {
  const end = text.indexOf("\n", i)
  const rest = text.slice(i, end < 0 ? text.length : end).replace(/\r$/, "")
  return printable((rest.slice(0, shown) + withoutSecrets(rest.slice(shown))).slice(0, max))
}

/** every assignment; a line that is not one is noted in `problems` and skipped */
export const parseAssignments = (text: string): Assignments => {
  // keys are the text's: `__proto__=x` is a key like any other, not the object's prototype
  const values: Record<string, string> = Object.create(null)
  const lines: Record<string, number> = Object.create(null)
  const problems: Array<BadLine> = []
  const unexpanded: Record<string, Unexpanded> = Object.create(null)
  let i = 0
  let line = 1
  /** the command being read began with `export` (`export A=1 B=2 C` exports C too) */
  let exporting = false
  /** the assignment being read follows another of the same command */
  let continuing = false
  /** the assignments of the command being read, set once it ends well: sh sets none of `A=1 B=2 reboot` (they are reboot's environment) */
  const command: Array<{ readonly key: string; readonly value: string; readonly line: number; readonly expansion: Unexpanded | undefined }> = []
  const skipLine = () => {
    while (i < text.length && text[i] !== "\n") i++
  }
  while (i < text.length) {
    const c = text[i]!
    if (c === "\n") {
      line++
      i++
      continue
    }
    if (c === " " || c === "\t" || c === "\r" || c === ";") {
      i++
      continue
    }
    // a backslash-newline, which sh removes before it reads a word
    if (c === "\\" && text[i + 1] === "\n") {
      line++
      i += 2
      continue
    }
    if (c === "#") {
      skipLine()
      continue
    }
    // `export NAME...` without a value (after `NAME=value`, as sh scripts write it) assigns nothing: a line like a comment
    const exported = matchAt(EXPORT_ONLY, text, i)
    if (exported > 0) {
      i += exported
      continue
    }
    // `export A B=1`: the names assign nothing, the assignments after them are read as `export`'s
    const namesFirst = matchAt(EXPORT_NAMES_FIRST, text, i)
    if (namesFirst > 0) {
      i += namesFirst
      exporting = true
      continuing = true
      continue
    }
    const m = NAME.exec(text.slice(i, i + 300))
    if (m === null) {
      // the name of a line such as `CLOUD_USER = me`, which is the problem, stays shown: only its value may hold credentials
      const named = SPACED_NAME.exec(text.slice(i, i + 300))?.[0].length ?? 0
      problems.push({ line, reason: `expected KEY=value, got '${restOfLine(text, i, 60, named)}'` })
      skipLine()
      continue
    }
    const key = m[1]!
    const startLine = line
    if (!continuing) exporting = m[0].startsWith("export")
    continuing = false
    i += m[0].length
    let value = ""
    let broken = false
    let expansion: Unexpanded | undefined
    /** the expansion sh would make at `j` (a tilde only where `tilde`), `pending` characters of the value not yet in it; noted when it is the value's first */
    const noteExpansion = (j: number, tilde: boolean, pending = 0) => {
      if (expansion !== undefined) return
      const pattern = text[j] === "$" ? DOLLAR : text[j] === "~" && tilde ? TILDE : text[j] === "`" ? /`/y : undefined
      const length = pattern === undefined ? 0 : matchAt(pattern, text, j)
      if (length > 0) expansion = { text: text.slice(j, j + length), at: value.length + pending }
    }
    const valueStart = i
    /** where the value's last unquoted `$` stands, and the closers of the `$(...)`, `${...}` and backquotes it opened that are open, innermost last: sh's operators inside are the command's, or the expansion's word */
    let dollar = -1
    let open = ""
    // blanks and `;` inside a `$(...)`, `${...}` or backquotes are the expansion's, part of the word to sh (`$(echo x)`); a line's end still ends it here
    while (i < text.length && (open !== "" ? text[i] !== "\n" && text[i] !== "\r" : !/[\s;]/.test(text[i]!))) {
      const q = text[i]!
      if (q === "'") {
        const end = text.indexOf("'", i + 1)
        if (end < 0) {
          broken = true
          break
        }
        const inner = text.slice(i + 1, end)
        line += inner.split("\n").length - 1
        value += inner
        i = end + 1
      } else if (q === '"') {
        const quoteLine = line
        let j = i + 1
        let inner = ""
        while (j < text.length && text[j] !== '"') {
          if (text[j] === "\\" && j + 1 < text.length && '\\"$`\n'.includes(text[j + 1]!)) {
            if (text[j + 1] === "\n") line++
            else inner += text[j + 1]
            j += 2
          } else {
            if (text[j] === "\n") line++
            noteExpansion(j, false, inner.length)
            inner += text[j++]
          }
        }
        if (j >= text.length) {
          line = quoteLine
          broken = true
          break
        }
        value += inner
        i = j + 1
      } else if (q === "\\" && i + 1 < text.length) {
        if (text[i + 1] === "\n") line++
        else value += text[i + 1]
        i += 2
      } else if (OPERATORS.includes(q) && open === "" && !(q === "(" && dollar === i - 1)) {
        // the word ends here for sh too: `CLOUD=aws|gcp` is a pipeline, which sets nothing here
        break
      } else {
        if (q === "$") dollar = i
        else if (q === "(") open += ")"
        else if (q === "{" && dollar === i - 1) open += "}"
        else if (q === open[open.length - 1]) open = open.slice(0, -1)
        else if (q === "`") open += "`"
        noteExpansion(i, i === valueStart || text[i - 1] === ":")
        value += q
        i++
      }
    }
    if (broken) {
      // only its line is ignored: the lines after it cannot be in the quote, as none closes it (and
      // none of them opens a quote of its kind, which would close it: the text is scanned to its end once a kind)
      problems.push({ line: startLine, reason: `unterminated quote in value of ${key}` })
      command.length = 0
      skipLine()
      continue
    }
    // blanks, and backslash-newlines: `A=1 \<newline>B=2` is one command to sh, as if on one line
    for (;;) {
      if (text[i] === " " || text[i] === "\t") i++
      else if (text[i] === "\\" && text[i + 1] === "\n") {
        line++
        i += 2
      } else break
    }
    // `export A=1 B` exports B as well, which assigns nothing
    if (exporting) i += matchAt(BARE_NAMES, text, i)
    // `A=1 B=2` sets both, as sh does; the loop reads the next one
    const another = /^[A-Za-z_][A-Za-z0-9_]*=/.test(text.slice(i, i + 300))
    continuing = another
    if (i < text.length && !"\r\n#;".includes(text[i]!) && !another) {
      // after a word holding a query (`IMDS_ENDPOINT=http://h/?a=1&token=...`) the rest is the query's still: only the operator that ended the word is shown
      const unexpected = !text.slice(valueStart, i).includes("?") ? restOfLine(text, i, 40) : OPERATORS.includes(text[i]!) ? `${text[i]}***` : "***"
      problems.push({ line, reason: `unexpected '${unexpected}' after ${key}=...; quote values with ${OPERATORS.includes(text[i]!) ? "| & < > ( )" : "spaces"}` })
      command.length = 0
      skipLine()
      continue
    }
    command.push({ key, value, line: startLine, expansion })
    if (another) continue
    for (const a of command) {
      values[a.key] = a.value
      lines[a.key] = a.line
      if (a.expansion === undefined) delete unexpanded[a.key]
      else unexpanded[a.key] = a.expansion
    }
    command.length = 0
  }
  return { values, lines, problems, unexpanded }
}
