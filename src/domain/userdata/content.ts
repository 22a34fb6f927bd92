/** `write_files` content and modes: decoding as the shell edition and cloud-init do, within a size budget. */
import { kMaxLength } from "node:buffer"
import { gunzipSync } from "node:zlib"
import * as Either from "effect/Either"
import { octalMode } from "../../schema/cloud-config.js"
import { ENCODINGS, type Encoding } from "../../schema/fields.js"
import { bytesOf, withoutTrailing } from "../text.js"

/** `#alpine-config`: octal digits as written, as `chmod` reads them: "0644", "644", "0o644", or 644. */
export const parseMode = (permissions: string | number): number => parseInt(String(permissions).replace(/^0o/, ""), 8)

/**
 * `#cloud-config`, as cloud-init reads it: a string is octal ("0644", "644",
 * "0o644"); an integer is the value of the mode itself, so 493 is 0755 and
 * YAML's `0755` (an octal integer) is 0755 too.
 */
export const cloudMode = (permissions: string | number): number => (typeof permissions === "number" ? permissions : (octalMode(permissions) ?? 0o644))

/** an encoding as cloud-init reads it: case and spaces do not matter; `undefined` for one it does not know */
export const canonicalEncoding = (encoding: string | undefined): Encoding | undefined => {
  const word = (encoding ?? "text/plain").trim().toLowerCase()
  return word === "" ? "text/plain" : (ENCODINGS as ReadonlyArray<string>).includes(word) ? (word as Encoding) : undefined
}

/** Running total of bytes the content of all `write_files` (gzip content as it expands) may still take. */
export interface Budget {
  remaining: number
  readonly limit: number
}

export interface Decoded {
  readonly bytes: Uint8Array
  /** characters outside the base64 alphabet that were dropped, as Python's decoder (and so cloud-init) drops them */
  readonly dropped: number
}

/** characters, not UTF-16 units: a pair of surrogates is one */
const characters = (text: string): number => text.length - (text.length - text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, "").length) / 2

/**
 * base64 as cloud-init decodes it: characters outside the alphabet are
 * dropped (counted, whitespace aside); a length that cannot be base64 is
 * refused. Linear in the text, by whole runs (user-data may be 16 MiB of it).
 */
export const fromBase64 = (text: string): Either.Either<Decoded, string> => {
  const kept = text.replace(/[^A-Za-z0-9+/=]+/g, "")
  // counted run by run: two lone surrogates the alphabet separates are two characters, never joined into one
  let dropped = 0
  for (const [run] of text.matchAll(/[^A-Za-z0-9+/=\s]+/g)) dropped += characters(run)
  const data = withoutTrailing(kept, "=")
  if (data.includes("=") || data.length % 4 === 1) return Either.left("content is not valid base64")
  return Either.right({ bytes: Buffer.from(data, "base64"), dropped })
}

/**
 * base64 text whose last quad lacks the `=` that Python's b64decode wants
 * (`aGk` for `hi`): cloud-init's write_files fails on it ('Incorrect
 * padding'), where `fromBase64` decodes it as if padded.
 */
export const lacksPadding = (text: string): boolean => {
  const kept = text.replace(/[^A-Za-z0-9+/=]+/g, "")
  const data = withoutTrailing(kept, "=")
  const rest = data.length % 4
  return (rest === 2 || rest === 3) && kept.length - data.length < 4 - rest
}

/** gzip data expanded within what the budget has left, which it then spends; why not, when it cannot */
export const gunzipWithin = (data: Uint8Array, budget: Budget): Either.Either<Uint8Array, "too large" | "not gzip"> => {
  if (budget.remaining <= 0) return Either.left("too large")
  try {
    // zlib refuses a limit past the largest buffer (USERDATA_MAX_BYTES may be larger): no output can pass that one anyway
    const out = gunzipSync(data, { maxOutputLength: Math.min(budget.remaining, kMaxLength) })
    budget.remaining -= out.length
    return Either.right(out)
  } catch (e) {
    const code = (e as { code?: unknown }).code
    return Either.left(code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError ? "too large" : "not gzip")
  }
}

const gunzip = (data: Uint8Array, budget: Budget): Either.Either<Uint8Array, string> =>
  Either.mapLeft(gunzipWithin(data, budget), (why) =>
    why === "too large" ? `gzip content expands to more than ${budget.limit} bytes, the limit for all write_files` : "content is not valid gzip data"
  )

/**
 * `!!binary` data whose text is not base64 (PyYAML, and so cloud-init,
 * refuses it): no bytes of it are written, its entry is skipped, said.
 */
export class UndecodableBinary extends Uint8Array {}

/** the encodings that name a base64 step (`b64`, `gz+base64`, ...) */
export const namesBase64 = (encoding: Encoding): boolean => encoding.includes("64")

/**
 * `!!binary` bytes under an encoding that names base64, in a `#cloud-config`
 * (`onceMore`): cloud-init decodes them as base64 once more, so a document
 * written for it gives base64 text there (`!!binary` of base64); bytes that
 * are no padded base64 text, which cloud-init fails on ('Incorrect
 * padding'), are taken as they are. The shell edition decodes the text of
 * an `#alpine-config`'s `!!binary` once, as the YAML does.
 */
const binaryBytes = (content: Uint8Array, encoding: Encoding, onceMore: boolean): Decoded => {
  const text = Buffer.from(content).toString("latin1")
  // only what Python's b64decode reads, padded to whole quads: a text file's own bytes ('hello world') stay the file
  const padded = text.replace(/\s+/g, "").length % 4 === 0
  const again = onceMore && namesBase64(encoding) && padded && /^[A-Za-z0-9+/=\s]+$/.test(text) ? fromBase64(text) : undefined
  return again !== undefined && Either.isRight(again) ? again.right : { bytes: content, dropped: 0 }
}

/**
 * Content bytes by encoding. `!!binary` content is bytes already, so only
 * gzip is left to undo (and base64 where cloud-init undoes it: see
 * binaryBytes); gzip content given as text is base64 first (as in the shell
 * edition, where `gz` meant base64 of gzip too).
 */
export const decodeContent = (content: string | Uint8Array | undefined, encoding: Encoding, budget: Budget, binaryOnceMore: boolean): Either.Either<Decoded, string> => {
  if (content === undefined) return Either.right({ bytes: new Uint8Array(), dropped: 0 })
  if (content instanceof UndecodableBinary) return Either.left("!!binary data that is not valid base64")
  // empty content is an empty file whatever its encoding, as cloud-init decodes only content that is not ('if content')
  if (content.length === 0) return Either.right({ bytes: new Uint8Array(), dropped: 0 })
  const bytes = (): Either.Either<Decoded, string> => (typeof content === "string" ? fromBase64(content) : Either.right(binaryBytes(content, encoding, binaryOnceMore)))
  // content that is no gzip is spent from the budget too: a YAML alias makes one large text the content of many files
  const spent = <A extends { readonly length: number }>(size: number, make: () => A): Either.Either<A, string> => {
    if (size > budget.remaining) return Either.left(`content makes write_files more than ${budget.limit} bytes, the limit for all write_files`)
    budget.remaining -= size
    return Either.right(make())
  }
  switch (encoding) {
    case "text/plain":
      return Either.map(
        spent(typeof content === "string" ? Buffer.byteLength(content, "utf8") : content.length, () => (typeof content === "string" ? bytesOf(content) : content)),
        (b) => ({ bytes: b, dropped: 0 })
      )
    case "b64":
    case "base64":
      return Either.flatMap(bytes(), (d) => Either.map(spent(d.bytes.length, () => d.bytes), () => d))
    default:
      return Either.flatMap(bytes(), (d) => Either.map(gunzip(d.bytes, budget), (out) => ({ bytes: out, dropped: d.dropped })))
  }
}
