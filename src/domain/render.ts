import * as Option from "effect/Option"

/**
 * A structured metadata value (JSON or YAML) as `imds` prints it: a scalar
 * as text, a list one item a line (structured items as JSON), a map as its
 * keys one a line, as a directory listing would show it. Nothing to print
 * is None.
 */
export const renderValue = (value: unknown): Option.Option<string> => {
  if (value === null || value === undefined) return Option.none()
  if (Array.isArray(value)) {
    const items = value.flatMap((v): Array<string> =>
      v === null || v === undefined ? [] : typeof v === "object" ? [JSON.stringify(v)] : [String(v)]
    )
    const text = items.filter((s) => s !== "").join("\n")
    return text === "" ? Option.none() : Option.some(text)
  }
  if (typeof value === "object") {
    const keys = Object.keys(value)
    return keys.length === 0 ? Option.none() : Option.some(keys.join("\n"))
  }
  return Option.some(String(value))
}
