/**
 * The lines that go on a quoted string or a flow collection (`[...]`,
 * `{...}`), indented as PyYAML reads them. PyYAML, with which cloud-init
 * reads user-data, takes such a line at any indentation ("echo 'first` /
 * `second'"` under `runcmd:`, `groups: [wheel,` / `docker]` with the second
 * line under the key), where the parser ends the string or the list at a line
 * not indented past the block it is in. The indentation of such a line is
 * no part of the value (a string folds it away, a collection ignores it), so
 * it is given the spaces the parser wants; nothing else changes, and every
 * line stays on its line.
 */

/**
 * The text with each continuation line indented past its construct's
 * opening; undefined when none needs it; "too many" past `most` such lines
 * (each holds a token at least: the caller's budget of them).
 */
export const indentContinuations = (text: string, most: number): string | undefined | "too many" => {
  const n = text.length
  // where spaces go, and how many
  const at: Array<number> = []
  const spaces: Array<number> = []
  let i = 0
  // the construct the scan is in: a quote (its character), flow collections (their depth)
  let quote = ""
  let depth = 0
  // the column past which its continuation lines must be indented: its opening's
  let required = 0
  // block context: at the start of a value (a line's start, after `- `, `? `, `: `); in flow: after `[`, `{`, `,`
  let atValue = true
  // a block scalar's lines are those indented more than the line that opened it, and as far in as its first line
  // (`- key: |` opens its lines at column 0: a key of that entry at column 2 ends them, as PyYAML reads them)
  let scalarIndent = -1
  // the column of that first line; a header's indentation indicator (`|2`), counted from the block the scalar is in, leaves it to that line
  let scalarContent = -1
  // a plain scalar's lines are those indented past this column (its key's, its `- `'s), where a quote or a bracket is its text
  let plainIndent = -1
  // in block context: the column of the entry a value on this line belongs to; where the node being read starts
  let entry = 0
  let node = 0
  // a key or a `- ` whose value is not on its line yet: that value is its entry's
  let pending = false
  let lineStart = 0
  let indent = 0

  /** a blank, a line's end or the text's */
  const spaceAt = (k: number) => {
    const ch = text[k]
    return ch === undefined || ch === " " || ch === "\t" || ch === "\r" || ch === "\n"
  }
  const blank = (from: number) => {
    let k = from
    while (k < n && (text[k] === " " || text[k] === "\t" || text[k] === "\r")) k++
    return k >= n || text[k] === "\n"
  }

  // where the next line starts
  let nextLine = 0
  while (i < n) {
    if (i === nextLine) {
      lineStart = i
      const end = text.indexOf("\n", i)
      nextLine = end < 0 ? n : end + 1
      let j = i
      while (j < n && text[j] === " ") j++
      indent = j - i
      if (scalarIndent >= 0) {
        if (blank(j) || (indent > scalarIndent && indent >= scalarContent)) {
          if (scalarContent < 0 && !blank(j)) scalarContent = indent
          i = nextLine
          continue
        }
        scalarIndent = -1
      }
      if (quote !== "" || depth > 0) {
        const marker = indent === 0 && /^(?:---|\.\.\.)(?:[ \t\r\n]|$)/.test(text.slice(j, j + 4))
        // (a tab that starts a collection's line is refused by PyYAML too)
        const tabbed = quote === "" && text[j] === "\t"
        if (!blank(j) && !marker && !tabbed && indent <= required) {
          if (at.length === most) return "too many"
          at.push(i)
          spaces.push(required + 1 - indent)
        }
      } else {
        // (a comment ends a plain scalar, and is no line of it; a blank line is one)
        if (plainIndent >= 0 && (text[j] === "#" || (!blank(j) && indent <= plainIndent))) plainIndent = -1
        atValue = plainIndent < 0
        // a scalar that starts the line, and is no pending value, goes on at its own column or past it
        if (!pending && !blank(j) && text[j] !== "#") entry = indent - 1
      }
      i = j
      continue
    }
    const c = text[i]!
    if (quote !== "") {
      // an escape in "...", a doubled quote in '...'
      if (quote === '"' && c === "\\") i += text[i + 1] === "\r" && text[i + 2] === "\n" ? 2 : 1
      else if (quote === "'" && c === "'" && text[i + 1] === "'") i++
      else if (c === quote) {
        quote = ""
        atValue = false
      }
      i++
      continue
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++
      continue
    }
    const afterBlank = i === lineStart || text[i - 1] === " " || text[i - 1] === "\t"
    if (c === "#" && afterBlank) {
      if (depth === 0) plainIndent = -1
      while (i < n && text[i] !== "\n") i++
      continue
    }
    if ((c === "&" || c === "!") && atValue) {
      while (i < n && !spaceAt(i) && text[i] !== "," && text[i] !== "]" && text[i] !== "}") i++
      continue
    }
    const startsConstruct = depth === 0 && quote === ""
    if ((c === '"' || c === "'") && atValue) {
      if (startsConstruct) required = node = i - lineStart
      pending = false
      quote = c
      i++
      continue
    }
    if (c === "[" || c === "{") {
      if (depth > 0 || atValue) {
        if (startsConstruct) required = node = i - lineStart
        pending = false
        depth++
        atValue = true
      }
      i++
      continue
    }
    if (depth > 0) {
      if (c === "]" || c === "}") {
        depth--
        atValue = false
      } else atValue = c === "," || ((c === ":" || c === "?") && (spaceAt(i + 1) || text[i + 1] === "," || text[i + 1] === "]" || text[i + 1] === "}"))
      i++
      continue
    }
    const spaced = spaceAt(i + 1)
    if ((c === "-" || c === "?") && atValue && spaced) {
      entry = i - lineStart
      pending = true
    } else if (c === ":" && spaced) {
      // what follows a key is its entry's: the key's column
      atValue = true
      plainIndent = -1
      entry = node
      pending = true
    } else if ((c === "|" || c === ">") && atValue) {
      pending = false
      scalarIndent = indent
      scalarContent = /^[|>][-+]?[1-9]/.test(text.slice(i, i + 3)) ? indent + 1 : -1
      while (i < n && text[i] !== "\n") i++
      continue
    } else {
      if (atValue) {
        node = i - lineStart
        plainIndent = entry
        pending = false
      }
      atValue = false
    }
    i++
  }
  if (at.length === 0) return undefined
  const parts: Array<string> = []
  let from = 0
  at.forEach((k, m) => {
    parts.push(text.slice(from, k), " ".repeat(spaces[m]!))
    from = k
  })
  parts.push(text.slice(from))
  return parts.join("")
}
