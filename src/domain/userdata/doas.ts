/**
 * cloud-init's check of a user's doas rule, apart from the user-data's
 * reading so that the phases check a rule without loading Schema.
 */
const DOAS_OPTION = String.raw`(?:nolog|nopass|persist|keepenv|setenv\s*\{[^}]*\})`
/** `permit|deny [options] IDENTITY [as TARGET] [cmd CMD [args ...]]`; the identity is captured */
const DOAS_RULE = new RegExp(String.raw`^(?:permit|deny)(?:\s+${DOAS_OPTION})*\s+(\S+)(?:\s+as\s+\S+)?(?:\s+cmd\s+\S+(?:\s+args(?:\s+\S+)*)?)?\s*$`)

/** a rule must name the user, and only then are the user's rules written */
export const doasRuleNamesUser = (rule: string, user: string): boolean => DOAS_RULE.exec(rule)?.[1] === user

/**
 * Why doas cannot read `rule`, as its lexer reads a line of doas.conf: quotes
 * left open, a `\` at its end, a NUL, or a `{` or `}` outside quotes that is
 * not `setenv { ... }` (`args {}`); undefined when it can. A line doas cannot
 * read in any of its files (`/etc/doas.d/*.conf` included) makes it refuse to
 * run for every user, the default user's `permit nopass :wheel` too.
 */
export const doasUnreadable = (rule: string): string | undefined => {
  if (rule.includes("\0")) return "holds a NUL"
  let quotes = false
  let escape = false
  let word = ""
  let previous = ""
  let braces = false
  for (const c of rule) {
    if (escape) {
      escape = false
      word += c
    } else if (c === "\\") escape = true
    else if (c === '"') quotes = !quotes
    else if (quotes) word += c
    else if (c === "#") break
    else if (c === " " || c === "\t" || c === "{" || c === "}") {
      if (word !== "") previous = word
      word = ""
      if (c === "{") {
        if (braces || previous !== "setenv") return "has a { that is not setenv's (quote it: \"{}\")"
        braces = true
        previous = "{"
      } else if (c === "}") {
        if (!braces) return "has a } that closes no setenv {"
        braces = false
        previous = "}"
      }
    } else word += c
  }
  if (quotes) return "leaves its quotes open"
  if (escape) return "ends with a \\"
  if (braces) return "leaves setenv's { open"
  return undefined
}
