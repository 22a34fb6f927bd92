import { Option } from "effect"

const MIME_START = /^(?:content-type|mime-version)\s*:/i

const firstLine = (bytes: Uint8Array): string => {
  const end = bytes.indexOf(0x0a)
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? Math.min(bytes.length, 4096) : Math.min(end, 4096)))
}

/**
 * The user-data type from its first line: `#!` script, `#WORD` WORD, MIME
 * headers `multipart`, nothing `missing`, anything else `unknown`.
 */
export const userDataType = (bytes: Uint8Array): string => {
  if (bytes.length === 0) return "missing"
  const line = firstLine(bytes)
  if (line.startsWith("#!")) return "script"
  if (line.startsWith("#")) return line.slice(1).split(/\s/)[0] || "unknown"
  return MIME_START.test(line) ? "multipart" : "unknown"
}

/** the type of the saved user-data file, `missing` when there is none */
export const savedUserDataType = (saved: Option.Option<Uint8Array>): string =>
  Option.match(saved, { onNone: () => "missing", onSome: userDataType })
