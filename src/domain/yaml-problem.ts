/**
 * Why the yaml library refused a text, in words that never quote it: some of
 * its messages quote what they could not read (a block scalar's header, a
 * tag, an escape, an alias's name), and a document (a seed's meta-data,
 * user-data) may hold a password or a key. Messages that are fixed texts are
 * kept as they are.
 */

/** yaml's error codes whose messages are fixed texts: they quote nothing of the document */
const QUOTELESS_YAML = new Set([
  "ALIAS_PROPS",
  "BAD_ALIAS",
  "BAD_INDENT",
  "BAD_SCALAR_START",
  "BLOCK_AS_IMPLICIT_KEY",
  "BLOCK_IN_FLOW",
  "DUPLICATE_KEY",
  "IMPOSSIBLE",
  "KEY_OVER_1024_CHARS",
  "MISSING_CHAR",
  "MULTILINE_IMPLICIT_KEY",
  "MULTIPLE_ANCHORS",
  "MULTIPLE_DOCS",
  "MULTIPLE_TAGS",
  "NON_STRING_KEY",
  "TAB_AS_INDENT"
])

/** UNEXPECTED_TOKEN messages that name a token's type, not its text (`Unexpected scalar at node end`) */
const TOKEN_TYPE_MESSAGE = /^(?:Unexpected [a-z-]+ (?:token|at node end)|Unsupported token [a-z-]+|Expected a flow scalar value, but found: [a-z-]+|Unexpected (?:empty item|,) in flow [a-z]+)$/

/** what the other messages are about, without the text they quote (`Block scalar header includes extra characters: |SECRET`) */
const YAML_PROBLEMS: Record<string, string> = {
  BAD_COLLECTION_TYPE: "a tag used for the wrong collection type",
  BAD_DIRECTIVE: "an unknown directive",
  BAD_DQ_ESCAPE: "an invalid escape sequence",
  BAD_PROP_ORDER: "an anchor or a tag before its indicator",
  TAG_RESOLVE_FAILED: "a tag it cannot resolve",
  UNEXPECTED_TOKEN: "unexpected characters"
}

/** the problem a yaml error or warning of `code` (none for a plain Error) with `message` names, without the document's text */
export const yamlProblem = (code: string | undefined, message: string): string => {
  if (code === undefined) return message.startsWith("Unresolved alias") ? "an alias whose anchor is not set before it" : message.includes(":") ? "unreadable" : message
  const quoteless = QUOTELESS_YAML.has(code) || (code === "UNEXPECTED_TOKEN" && TOKEN_TYPE_MESSAGE.test(message))
  return quoteless ? message : (YAML_PROBLEMS[code] ?? "unreadable")
}
