const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** bytes as UTF-8 text */
export const textOf = (bytes: Uint8Array): string => decoder.decode(bytes)

/** text as UTF-8 bytes */
export const bytesOf = (text: string): Uint8Array => encoder.encode(text)

/** non-empty trimmed lines */
export const lines = (text: string): Array<string> =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")

/** trimmed, non-empty, unique, sorted: how `@ssh-keys` lists keys */
export const sortedUnique = (items: Iterable<string>): ReadonlyArray<string> =>
  [...new Set([...items].map((k) => k.trim()).filter((k) => k !== ""))].sort()
