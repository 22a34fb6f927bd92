import * as Option from "effect/Option"

/** a structured item as JSON; one that holds itself (a YAML alias inside its own anchor, `&a [x, *a]`) has none: left out */
const asJson = (value: object): Array<string> => {
  try {
    return [JSON.stringify(value)]
  } catch {
    return []
  }
}

/**
 * A structured metadata value (JSON or YAML) as `imds` prints it: a scalar
 * as text, a list one item a line (structured items as JSON), a map as its
 * keys one a line, as a directory listing would show it. Nothing to print
 * is None.
 */
export const renderValue = (value: unknown): Option.Option<string> => {
  if (value === null || value === undefined) return Option.none()
  if (Array.isArray(value)) {
    const items = value.flatMap((v): Array<string> => (v === null || v === undefined ? [] : typeof v === "object" ? asJson(v) : [String(v)]))
    const text = items.filter((s) => s !== "").join("\n")
    return text === "" ? Option.none() : Option.some(text)
  }
  if (typeof value === "object") {
    const keys = Object.keys(value)
    return keys.length === 0 ? Option.none() : Option.some(keys.join("\n"))
  }
  return Option.some(String(value))
}

/**
 * The most levels of arrays and objects a structured metadata value may
 * nest. Real answers nest a handful; rendering one (`JSON.stringify`)
 * recurses, and a hostile answer nested deep enough overflows the stack.
 */
export const MAX_NESTING = 64

/** whether `value` nests arrays and objects more than `limit` levels deep (`[]` is one); measured without recursion */
export const nestsDeeperThan = (value: unknown, limit: number): boolean => {
  const pending: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 0 }]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.value === null || typeof next.value !== "object") continue
    const depth = next.depth + 1
    if (depth > limit) return true
    for (const child of Object.values(next.value)) pending.push({ value: child, depth })
  }
  return false
}
