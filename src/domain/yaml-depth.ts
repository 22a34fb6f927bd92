/**
 * How deep a YAML document nests, measured before it is parsed: the parser
 * recurses once per level, and a hostile document (a seed's meta-data,
 * user-data) nested thousands of levels deep can overflow the stack in ways
 * that abort the process instead of failing the parse. PyYAML, with which
 * cloud-init reads the same documents, gives up far earlier.
 *
 * Counted in one pass: flow collections (`[`, `{`) opened where a value
 * starts or inside another one, block sequences opened on one line
 * (`- - - x`), and block collections nested by indentation (each line
 * indented deeper than the lines it is under: the parser recurses for those
 * as for brackets, and overflows its stack a thousand levels down, where
 * the problem it names is no problem of the document). Quoted scalars,
 * comments, tags, anchors and block scalars (`|`, `>`) are passed over, so
 * brackets in text never count.
 */

/**
 * YAML text with each line break one the parser takes for one: a CR alone
 * (a file saved with old Mac line ends, or pasted through a console that
 * sends them) breaks a line in YAML, and PyYAML, which cloud-init reads with,
 * reads it so, where the yaml library takes it for a character of the line
 * (`#cloud-config<CR>hostname: x` is one comment to it: an empty document).
 * Made LF one for one, so every offset stays where it was; CR LF stays.
 */
export const withLineFeeds = (text: string): string => (text.includes("\r") ? text.replace(/\r(?!\n)/g, "\n") : text)

/** the most levels a document may nest; real ones nest a handful */
export const YAML_MAX_NESTING = 200

export const yamlNestsDeeperThan = (text: string, limit: number = YAML_MAX_NESTING): boolean => {
  const n = text.length
  let i = 0
  let flow = 0
  // block context: at the start of a value (a line's start, after `- ` or `: `), and how many sequences this line opened
  let atValue = true
  let sequences = 0
  let indent = 0
  let lineStart = true
  // a block scalar's lines are those indented more than the line that opened it
  let scalarIndent = -1
  // the indentations of the block lines the current one is under (the first, the top level's, is no level)
  const indents: Array<number> = []

  const skipQuoted = (quote: string) => {
    i++
    while (i < n && text[i] !== quote) i += text[i] === "\\" && quote === '"' ? 2 : 1
    i++
  }
  const skipLine = () => {
    while (i < n && text[i] !== "\n") i++
  }

  while (i < n) {
    const c = text[i]!
    if (c === "\n") {
      i++
      lineStart = true
      if (flow === 0) {
        atValue = true
        sequences = 0
      }
      continue
    }
    if (lineStart) {
      let j = i
      while (j < n && text[j] === " ") j++
      indent = j - i
      lineStart = false
      if (scalarIndent >= 0) {
        let k = j
        while (k < n && (text[k] === "\t" || text[k] === "\r")) k++
        if (k >= n || text[k] === "\n" || indent > scalarIndent) {
          skipLine()
          continue
        }
        scalarIndent = -1
      }
      i = j
      // a block line with content (not in a flow collection, not blank, not a comment): deeper than the last is a level more
      if (flow === 0 && j < n && text[j] !== "\n" && text[j] !== "\r" && text[j] !== "#") {
        while (indents.length > 0 && indents[indents.length - 1]! > indent) indents.pop()
        if (indents.length === 0 || indents[indents.length - 1]! < indent) indents.push(indent)
        if (indents.length - 1 > limit) return true
      }
      continue
    }
    const levels = Math.max(0, indents.length - 1)
    if (flow > 0) {
      if (c === '"' || c === "'") skipQuoted(c)
      else if (c === "#" && /\s/.test(text[i - 1] ?? " ")) skipLine()
      else {
        if (c === "[" || c === "{") flow++
        else if (c === "]" || c === "}") flow--
        if (levels + flow > limit) return true
        i++
      }
      continue
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++
      continue
    }
    if (c === "#" && /\s/.test(text[i - 1] ?? " ")) {
      skipLine()
      continue
    }
    if (atValue) {
      // a tag or an anchor goes before the value it names
      if (c === "!" || c === "&") {
        while (i < n && !/\s/.test(text[i]!)) i++
        continue
      }
      if (c === "-" && /[ \t]/.test(text[i + 1] ?? "")) {
        if (levels + ++sequences > limit) return true
        i += 2
        continue
      }
      atValue = false
      if (c === "[" || c === "{") {
        flow = 1
        i++
        continue
      }
      if (c === '"' || c === "'") {
        skipQuoted(c)
        continue
      }
      if (c === "|" || c === ">") {
        scalarIndent = indent
        skipLine()
        continue
      }
    }
    if (c === ":" && /[ \t]/.test(text[i + 1] ?? "")) {
      atValue = true
      i += 2
      continue
    }
    i++
  }
  return false
}

/**
 * The most tokens (keys, values, indicators such as `-` `:` `[` `,`, line
 * breaks, comments) the YAML of one user-data may hold, all its parts
 * together: the parser's time and memory grow with them (a million short
 * list items took seconds and a gigabyte), and every phase reads the
 * document. A block scalar (`content: |`) is one token however long its
 * lines, and each `SCALAR_LINES_PER_TOKEN` of its lines (of any scalar
 * written over several lines) one more: the parser keeps a piece for each
 * line as it builds the value (16 MiB of blank lines in one block scalar
 * took 10 s and 2.5 GB). Real documents hold a few thousand; 16 MiB of
 * content in lines of 80 characters is some 50 000.
 */
export const YAML_MAX_TOKENS = 200_000

/** the lines of a scalar that count as one token more */
export const SCALAR_LINES_PER_TOKEN = 4

/** the line breaks in a token of the lexer's: a scalar's source spans them */
const lineBreaks = (token: unknown): number => {
  if (typeof token !== "string" || token.length < 2) return 0
  let count = 0
  for (let at = token.indexOf("\n"); at >= 0; at = token.indexOf("\n", at + 1)) count++
  return count
}

/** what is left of a user-data's YAML tokens, shared by its parts */
export interface TokenBudget {
  tokens: number
}

/** takes `tokens` (the lexer's, read lazily) from the budget; false, with the budget spent, when there are more than it has */
export const takeTokens = (tokens: Iterable<unknown>, budget: TokenBudget): boolean => {
  for (const token of tokens) if ((budget.tokens -= 1 + lineBreaks(token) / SCALAR_LINES_PER_TOKEN) < 0) return false
  return true
}
