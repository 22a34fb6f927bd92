/**
 * `#cloud-config-archive`: a YAML list of parts, each a string (its content)
 * or a map with `content`, `type`, `filename` and any more headers
 * (`Merge-Type`...), read as cloud-init reads it: each entry becomes the
 * MIME part it stands for and is then read as MIME parts are (`mime.ts`). A
 * part without a `type` is what its first line names, else cloud-config
 * (`!!binary` content, application/octet-stream, which is not read).
 */
import { isUtf8 } from "node:buffer"
import * as Either from "effect/Either"
import { isNode, isScalar, Scalar } from "yaml"
import { type Budget, UndecodableBinary } from "./content.js"
import { type MimePart, type Parts, sortParts } from "./mime.js"
import { asMap, formatPath } from "./notes.js"
import { formatProblem, type Problem } from "./problem.js"
import { OTHER_TYPE_WORDS, startsWithByteOrderMark, userDataWord } from "./type.js"
import type { TokenBudget } from "../yaml-depth.js"
import { lineOfText, loadYaml, newTokenBudget, type Source } from "./yaml.js"

/** the keys that are not headers of their own, as cloud-init leaves them out (its `launch-index` becomes the part's Launch-Index header) */
const NOT_HEADERS = new Set(["content", "filename", "type", "content-disposition", "content-type"])

/**
 * the type cloud-init gives a part without one: what its first line (in `head`) names, else cloud-config, or for
 * `!!binary` content application/octet-stream; `!!binary` content that is not all UTF-8 is that type whatever its
 * first line, as cloud-init reads no line of it
 */
const typeOf = (head: Uint8Array, binary: Uint8Array | undefined): string => {
  if (binary !== undefined && !isUtf8(binary)) return "application/octet-stream"
  const word = userDataWord(head)
  // behind a byte-order mark cloud-init finds no type (its default then, read by its YAML reader, which skips the mark)
  if (word === "cloud-config" && startsWithByteOrderMark(head)) return "text/cloud-config"
  if (word === "script" || word === "cloud-config" || word === "jinja" || word === "jinja-cr" || OTHER_TYPE_WORDS.has(word)) return "text/plain"
  return binary !== undefined ? "application/octet-stream" : "text/cloud-config"
}

/** 1-based line of a node (counted on from the source's offset); of a block scalar's (`content: |`) first line of text, the line after its indicator; undefined when it is not there */
const lineOf = (source: Source, path: ReadonlyArray<string | number>): number | undefined => {
  const node: unknown = source.doc.getIn(path, true)
  const pos = isNode(node) ? node.range?.[0] : undefined
  if (pos === undefined) return undefined
  const block = isScalar(node) && (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED)
  return lineOfText(source, source.lineCounter.linePos(pos).line + (block ? 1 : 0))
}

/**
 * the parts the list names; the list's tokens are taken from `budget`, which
 * its parts share after it. `within`: the list is a part of MIME user-data,
 * its parts numbered after it (`2.1`), on its lines, within the parts' bytes.
 */
export const splitArchive = (
  text: string,
  maxBytes: number,
  budget: TokenBudget = newTokenBudget(),
  within?: { readonly label: string; readonly lineOffset: number; readonly pinned: boolean; readonly budget: Budget }
): Either.Either<Parts, Array<Problem>> => {
  const lineOffset = within?.lineOffset ?? 0
  const loaded = loadYaml(text, lineOffset, new Set(), budget, within?.pinned)
  if (Either.isLeft(loaded)) return Either.left(loaded.left)
  const { source } = loaded.right
  // nothing under the first line (or a null) is no parts, as cloud-init reads an empty list
  const contents = source.doc.contents
  const raw: unknown = contents === null || (isScalar(contents) && contents.value === null) ? [] : loaded.right.raw
  if (!Array.isArray(raw)) return Either.left([{ path: "", line: lineOf(source, []) ?? lineOffset + 1, message: "expected a list of parts" }])
  const parts = raw.map((entry: unknown, index): MimePart | { readonly ignored: string } => {
    const label = within === undefined ? String(index + 1) : `${within.label}.${index + 1}`
    const map = typeof entry === "string" ? { content: entry } : asMap(entry)
    const line = lineOf(source, [index]) ?? lineOffset + 1
    const where = `part ${label} (line ${line})`
    if (map === undefined) return { ignored: `${where}: expected a string or a map with content and type; part ignored` }
    const content = map["content"] ?? ""
    if (typeof content !== "string" && !(content instanceof Uint8Array)) return { ignored: `${where}: content: expected a string; part ignored` }
    if (content instanceof UndecodableBinary) return { ignored: `${where}: content: !!binary data that is not valid base64; part ignored` }
    // the bytes are made when the part is read, within the size limit: an entry given 99 times by a YAML alias is not 99 copies at once
    const bytesOf = () => (typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content))
    // what the first line names is in the first 4 KiB (userDataWord), made from at most twice as many characters
    const head = typeof content === "string" ? Buffer.from(content.slice(0, 8192), "utf8") : content.subarray(0, 8192)
    const given = map["type"]
    if (given !== undefined && given !== null && given !== "" && (typeof given !== "string" || !given.includes("/"))) {
      return { ignored: `${where}: type: expected a MIME type such as text/cloud-config; part ignored` }
    }
    const type = typeof given === "string" && given !== "" ? given : typeOf(head, content instanceof Uint8Array ? content : undefined)
    const headers = new Map<string, string>([["content-type", type]])
    if (typeof map["filename"] === "string") headers.set("content-disposition", `attachment; filename="${map["filename"].replace(/["\\]/g, "\\$&")}"`)
    // cloud-init makes a `text/...` entry a MIMEText, whose own Content-Transfer-Encoding (7bit, or base64 of the text) comes
    // before the entry's: the entry's is never used, its content being the text itself; another type's entry has none but its own
    const madeAsText = type.split("/")[0] === "text"
    for (const [key, value] of Object.entries(map)) {
      const name = key.toLowerCase()
      if (NOT_HEADERS.has(name) || (madeAsText && name === "content-transfer-encoding")) continue
      if (typeof value === "string" || typeof value === "number") headers.set(name, String(value))
    }
    return {
      headers,
      get body() {
        return bytesOf().toString("latin1")
      },
      bodyLine: (typeof entry === "string" ? undefined : lineOf(source, [index, "content"])) ?? line,
      label,
      pinned: within?.pinned === true
    }
  })
  // a part of MIME user-data: its warnings name it, as those of the parts it lists do (`part 2.1 (line 9): ...`)
  const place = within === undefined ? "" : `part ${within.label} (line ${lineOffset + 1}): #cloud-config-archive`
  const sorted = sortParts(parts, within?.budget ?? { remaining: maxBytes, limit: maxBytes }, place === "" ? "#cloud-config-archive has no parts" : `${place} has no parts`)
  // the list's own YAML warnings (a key given twice in an entry) come first
  const own = loaded.right.warnings.map((w) => `${place === "" ? "" : `${place}: `}${formatProblem({ path: formatPath(w.path), line: w.line ?? 1, message: w.message })}`)
  return Either.right({ ...sorted, warnings: [...own, ...sorted.warnings] })
}
