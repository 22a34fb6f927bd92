/**
 * A YAML text of the user-data, read as cloud-init reads it (YAML 1.1 with PyYAML's booleans: `yes`
 * is true, `0644` is octal; a key given twice keeps its last value, with a
 * warning), and where each path of it sits in the user-data.
 */
import * as Either from "effect/Either"
import { type Alias, type Document, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, type Node, Pair, parseDocument, Scalar, type ScalarTag, type Tags, visit, type YAMLError, type YAMLMap, YAMLSeq } from "yaml"
import { pythonFloat, PythonLiteral } from "./common.js"
import { fromBase64, lacksPadding, UndecodableBinary } from "./content.js"
import type { Key, Note } from "./notes.js"
import type { Problem } from "./problem.js"
import { takeTokens, type TokenBudget, withLineFeeds, YAML_MAX_NESTING, YAML_MAX_TOKENS, yamlNestsDeeperThan } from "../yaml-depth.js"
import { yamlProblem } from "../yaml-problem.js"
import { withoutAddedLineBreak } from "../yaml-line-break.js"
import { indentContinuations } from "./yaml-continuations.js"
import { type AliasProblem, aliasProblem, aliasResolver, type Resolve, YAML_MAX_ALIASED_CHARACTERS, YAML_MAX_ALIASED_NODES, YAML_MAX_ALIASES } from "./yaml-aliases.js"
import { messageOf } from "../text.js"

/** One parsed YAML text and where it sits in the user-data. */
export interface Source {
  readonly doc: Document
  readonly lineCounter: LineCounter
  /** lines before the text in the whole user-data */
  readonly lineOffset: number
  /** the text is decoded from a MIME part's body (base64, gzip), whose lines are none of the user-data's: all of it is placed on the body's first line, the one after `lineOffset` */
  readonly pinned?: boolean
}

/** the user-data's line of a line of a source's text */
export const lineOfText = (source: Pick<Source, "lineOffset" | "pinned">, line: number): number => (source.pinned === true ? 1 : line) + source.lineOffset

const isNode = (value: unknown): value is Node => isMap(value) || isSeq(value) || isScalar(value)

/**
 * A map's pairs by their key's text, a key given twice by its last one, made
 * once per map: a document's notes are each placed by a lookup (a search of
 * the map for each took seconds for 10 000 notes beside 10 000 keys).
 */
const pairsByKey = new WeakMap<YAMLMap, Map<string, Pair>>()
const pairOf = (map: YAMLMap, key: Key): Pair | undefined => {
  let pairs = pairsByKey.get(map)
  if (pairs === undefined) {
    pairs = new Map()
    for (const p of map.items) pairs.set(String(isScalar(p.key) ? p.key.value : p.key), p)
    pairsByKey.set(map, pairs)
  }
  return pairs.get(String(key))
}

/** Line of the deepest node the path reaches: the key's line for a map entry (its last one), the item's for a list entry. */
export const lineIn = (source: Source, path: ReadonlyArray<Key>): number => {
  let node: unknown = source.doc.contents
  let pos = isNode(node) ? (node.range?.[0] ?? 0) : 0
  for (const key of path) {
    if (isMap(node)) {
      const pair = pairOf(node, key)
      if (pair === undefined) break
      pos = isNode(pair.key) ? (pair.key.range?.[0] ?? pos) : pos
      node = pair.value
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key]
      if (!isNode(item)) break
      pos = item.range?.[0] ?? pos
      node = item
    } else break
  }
  return lineOfText(source, source.lineCounter.linePos(pos).line)
}

/**
 * Plain scalars kept as written where their text is what counts: the values
 * of `asWritten` keys (`1000:1000` is not base 60; the shell edition's modes
 * are octal digits), and the entries of `bootcmd`/`runcmd`, where `false` is
 * a command, not a boolean.
 */
const COMMAND_LISTS = new Set(["bootcmd", "runcmd"])

/** an integer as YAML 1.1 writes one: binary, octal (a leading 0), decimal, hex, base 60 */
const YAML11_INTEGER = /^[-+]?(?:0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)$/

/** a text as Python's int(text, base) reads it: spaces around it, a sign, the base's own prefix (`0o17` in base 8) */
const pythonIntOf = (text: string, base: 2 | 8 | 10 | 16): bigint | undefined => {
  const m = /^\s*([-+]?)(0[bBoOxX])?([0-9a-fA-F]+)\s*$/.exec(text)
  const prefix = { 2: "0b", 8: "0o", 10: "", 16: "0x" }[base]
  if (m === null || (m[2] !== undefined && m[2].toLowerCase() !== prefix)) return undefined
  try {
    const value = BigInt(`${prefix}${m[3]}`)
    return m[1] === "-" ? -value : value
  } catch {
    return undefined
  }
}

/** an integer's text (`!!int` any PyYAML's constructor takes: `0o17`, `1:70`) with every digit, as PyYAML reads it */
const exactInteger = (source: string): string => {
  let v = source.replace(/_/g, "")
  const negative = v.startsWith("-")
  if (v.startsWith("-") || v.startsWith("+")) v = v.slice(1)
  const value =
    v === "0"
      ? 0n
      : v.startsWith("0b")
        ? pythonIntOf(v.slice(2), 2)
        : v.startsWith("0x")
          ? pythonIntOf(v.slice(2), 16)
          : v.startsWith("0")
            ? pythonIntOf(v, 8)
            : v.includes(":")
              ? v.split(":").reduce<bigint | undefined>((sum, part) => {
                  const digit = pythonIntOf(part, 10)
                  return sum === undefined || digit === undefined ? undefined : sum * 60n + digit
                }, 0n)
              : pythonIntOf(v, 10)
  // (a text no integer is refused before it is read: unconstructibleTagged)
  return value === undefined ? source : (negative ? -value : value).toString()
}

/** whether a number's scalar is an integer to PyYAML (`!!float 1` is a float: 1.0; `!!int 0o17` an integer) */
const isInteger = (tag: string | undefined, source: string): boolean => tag === INT_TAG || (tag !== FLOAT_TAG && YAML11_INTEGER.test(source))

/**
 * The top-level flags cloud-init reads by their text, `str(value)`, against
 * its words (util.is_true/is_false, translate_bool): a float's text is never
 * one of them (`1.0` is no `1`), so cloud-init leaves sshd's setting as it is
 * and upgrades nothing. A float 1.0 or 0.0 there, which the readers would take
 * for 1 or 0, is made NaN: a number, which none of them takes for true or
 * false (the others they take for neither already), and which they name.
 */
const TEXT_FLAGS: ReadonlySet<string> = new Set(["ssh_pwauth", "package_update", "package_upgrade", "apt_update", "apt_upgrade"])

/**
 * The top-level keys this edition does anyway (done-anyway.ts) that cloud-init reads by text too (get_cfg_option_bool,
 * translate_bool): a float 1.0 is false to it (`resize_rootfs: 1.0` grows nothing), so here, and named as their false is
 */
const DONE_ANYWAY_TEXT_FLAGS: ReadonlySet<string> = new Set([
  "preserve_hostname",
  "create_hostname_file",
  "prefer_fqdn_over_hostname",
  "resize_rootfs",
  "package_reboot_if_required",
  "manage_resolv_conf",
  "no_ssh_fingerprints",
  "allow_public_ssh_keys"
])

/**
 * The flags of a top-level map cloud-init reads by their text too (done-anyway.ts), as the map's key and the flag's: a float
 * 0.0 or 1.0 is none of its words (`ssh: {emit_keys_to_console: 0.0}` writes the host keys to the console,
 * `ssh_publish_hostkeys: {enabled: 1.0}` publishes none), so NaN here
 */
const NESTED_TEXT_FLAGS: ReadonlyMap<string, string> = new Map([
  ["ssh", "emit_keys_to_console"],
  ["ssh_publish_hostkeys", "enabled"],
  ["vendor_data", "enabled"]
])

/** whether a pair's ancestry (document, map, a top-level pair, its map) makes its key one of NESTED_TEXT_FLAGS */
const isNestedTextFlag = (ancestry: ReadonlyArray<unknown>, key: string): boolean => {
  const owner = ancestry[2]
  return ancestry.length === 4 && isPair(owner) && isScalar(owner.key) && NESTED_TEXT_FLAGS.get(String(owner.key.value)) === key
}

/** a write_files entry's flags, which cloud-init reads the same way (get_cfg_option_bool): `append: 1.0` overwrites, `defer: 1.0` does not defer */
const WRITE_FILE_FLAGS: ReadonlySet<string> = new Set(["append", "defer"])

/** whether a pair's ancestry is a top-level write_files entry's (document, map, the write_files pair, its list, the entry) */
const inWriteFilesEntry = (ancestry: ReadonlyArray<unknown>): boolean => {
  const owner = ancestry[2]
  return ancestry.length === 5 && isPair(owner) && isScalar(owner.key) && owner.key.value === "write_files"
}

/**
 * An argument list's (or a package pair's) numbers as Python writes them,
 * where their value alone would not say it: an integer too large for a
 * JavaScript number as its exact digits (Python, and so cloud-init, writes an
 * integer of any size exactly), and a float as Python's `str()` writes it
 * (`9.0`, `1e+16`, where JavaScript writes `9`, `10000000000000000`). A zero
 * float of a package pair stays a number: cloud-init takes that version for none.
 */
const pythonNumbers = (resolve: Resolve, list: unknown, zeroFloats: boolean) => {
  const seq = resolve(list)
  if (!isSeq(seq)) return
  seq.items.forEach((entry, i) => {
    const item = resolve(entry)
    if (!isScalar(item) || typeof item.value !== "number" || item.source === undefined) return
    const integer = isInteger(item.tag, item.source)
    if (integer ? Number.isSafeInteger(item.value) : !zeroFloats && item.value === 0) return
    const text = integer ? exactInteger(item.source) : pythonFloat(item.value)
    // an alias's number is written here as its text; its anchor, set elsewhere (`version: &v 3.0`), keeps its value there
    if (item === entry) item.value = text
    else seq.items[i] = new Scalar(text)
  })
}

/**
 * The numbers inside an argument list's maps and lists (`[echo, {version: 1.0}]`), which cloud-init writes as Python's
 * str() of the container: a float as Python writes it (`1.0`, `-0.0`, `1e+20`, where its value alone is `1`, `0`,
 * `100000000000000000000`), an integer past JavaScript's exact ones as its digits, a plain timestamp as Python's repr()
 * of its date or datetime (pythonDatetimeRepr) (PythonLiteral). What is written in
 * place alone: a map or list given by an alias is its anchor's, used elsewhere too, and is left as it is.
 */
const pythonNestedNumbers = (resolve: Resolve, list: unknown) => {
  const seq = resolve(list)
  if (!isSeq(seq)) return
  const number = (item: unknown) => {
    if (isSeq(item) || isMap(item)) return inside(item)
    // a plain timestamp (or a `!!timestamp` one): a date or a datetime to PyYAML, whose repr() the container's text holds
    const stamp = timestampText(item)
    const date = stamp === undefined ? undefined : pythonDatetimeRepr(stamp)
    if (isScalar(item) && date !== undefined) item.value = new PythonLiteral(date)
    if (!isScalar(item) || typeof item.value !== "number" || item.source === undefined) return
    const integer = isInteger(item.tag, item.source)
    if (integer && Number.isSafeInteger(item.value)) return
    item.value = new PythonLiteral(integer ? exactInteger(item.source) : pythonFloat(item.value))
  }
  const inside = (collection: YAMLSeq | YAMLMap) => {
    for (const entry of collection.items) number(isPair(entry) ? entry.value : entry)
  }
  for (const entry of seq.items) if (isSeq(entry) || isMap(entry)) inside(entry)
}

const TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

/** a scalar's text where PyYAML resolves it as a timestamp: plain and untagged, or tagged `!!timestamp` (quoted too) */
const timestampText = (item: unknown): string | undefined =>
  isScalar(item) && typeof item.value === "string" && (item.tag === TIMESTAMP_TAG || (item.type === "PLAIN" && item.tag === undefined)) ? item.value : undefined

/** PyYAML's timestamp with a time of day, which it makes a datetime (a date alone it makes a date, whose text is the same) */
const PYYAML_DATETIME = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?$/

/**
 * A timestamp with a time of day as Python's `str()` writes the datetime
 * PyYAML makes of it: `2024-01-01T10:00:00Z` is `2024-01-01 10:00:00+00:00`,
 * `2024-1-1 9:00:00.5` is `2024-01-01 09:00:00.500000`. Undefined for any
 * other text, and for a time Python's datetime refuses (PyYAML reads no such
 * document, nor does cloud-init: a #cloud-config holding one is refused, refusedTimestamp).
 */
const pythonDatetime = (text: string): string | undefined => {
  const m = PYYAML_DATETIME.exec(text)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  const offset = m[8] === undefined || m[8] === "Z" ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] ?? 0))
  if (year < 1 || days === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 59 || Math.abs(offset) >= 24 * 60) return undefined
  const two = (n: number) => String(n).padStart(2, "0")
  const micro = Number((m[7] ?? "").slice(0, 6).padEnd(6, "0"))
  const fraction = micro > 0 ? `.${String(micro).padStart(6, "0")}` : ""
  const zone = m[8] === undefined ? "" : `${offset < 0 ? "-" : "+"}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`
  return `${m[1]}-${two(month)}-${two(day)} ${two(hour)}:${two(minute)}:${two(second)}${fraction}${zone}`
}

/** PyYAML's date alone: four digits of year, two of month and of day (`2001-1-1` is text) */
const PYYAML_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/

/**
 * A plain timestamp as Python's `repr()` writes the date or datetime PyYAML makes of it, as `str()` of a list or map
 * holding it writes it: `2024-01-01` is `datetime.date(2024, 1, 1)`, `2024-01-01T10:00:00Z` is
 * `datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone.utc)`. Undefined for any other text.
 */
const pythonDatetimeRepr = (text: string): string | undefined => {
  if (PYYAML_DATE.test(text)) {
    return pythonDatetime(`${text} 00:00:00`) === undefined ? undefined : `datetime.date(${text.split("-").map(Number).join(", ")})`
  }
  const m = PYYAML_DATETIME.exec(text)
  if (m === null || pythonDatetime(text) === undefined) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const micro = Number((m[7] ?? "").slice(0, 6).padEnd(6, "0"))
  const time = micro > 0 ? [hour, minute, second, micro] : second > 0 ? [hour, minute, second] : [hour, minute]
  const offset = m[8] === undefined || m[8] === "Z" ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11] ?? 0) * 60)
  const zone =
    m[8] === undefined
      ? ""
      : offset === 0
        ? ", tzinfo=datetime.timezone.utc"
        : `, tzinfo=datetime.timezone(datetime.timedelta(${offset < 0 ? `days=-1, seconds=${86400 + offset}` : `seconds=${offset}`}))`
  return `datetime.datetime(${[year, month, day, ...time].join(", ")}${zone})`
}

/**
 * A plain scalar PyYAML takes for a timestamp that Python's datetime refuses
 * (`2001-02-30`, `2001-13-01`, a 25th hour): safe_load fails on it with a
 * ValueError, and cloud-init reads none of the document.
 */
const refusedTimestamp = (text: string): boolean =>
  PYYAML_DATE.test(text) ? pythonDatetime(`${text} 00:00:00`) === undefined : PYYAML_DATETIME.test(text) && pythonDatetime(text) === undefined

/** the first plain scalar (a key too) that is a timestamp Python's datetime refuses */
const refusedTimestampScalar = (doc: Document): Node | undefined => {
  let found: Node | undefined
  visit(doc, {
    Scalar(_, node) {
      // (`!` resolves a quoted one as plain too, resolveNonSpecific)
      const resolved = node.tag === "!" || (node.type === "PLAIN" && (node.tag === undefined || node.tag === "tag:yaml.org,2002:timestamp"))
      if (!resolved || typeof node.value !== "string" || !refusedTimestamp(node.value)) return
      found = node
      return visit.BREAK
    }
  })
  return found
}

/** an argument list's plain timestamps with a time of day as Python writes them (an alias's, here alone, as pythonNumbers writes its numbers) */
const pythonDatetimes = (resolve: Resolve, list: unknown) => {
  const seq = resolve(list)
  if (!isSeq(seq)) return
  seq.items.forEach((entry, i) => {
    const item = resolve(entry)
    const stamp = timestampText(item)
    const text = stamp === undefined ? undefined : pythonDatetime(stamp)
    if (text === undefined || !isScalar(item)) return
    if (item === entry) item.value = text
    else seq.items[i] = new Scalar(text)
  })
}

/** the longest number or boolean an alias of which keepAsWritten makes a copy */
const COPIED_SCALAR_CHARACTERS = 32

/**
 * `at` (a #cloud-config's): the top-level bootcmd/runcmd entries that are a number, a boolean or a date are named, as
 * cloud-init's shellify takes a string, a list or null alone and refuses the key whole (it runs none of it)
 */
const keepAsWritten = (doc: Document, resolve: Resolve, keys: ReadonlySet<string>, at?: (pos: number) => number): Array<Note> => {
  const notes: Array<Note> = []
  // a number or a boolean with an anchor is read below in its place (a flag's `resize_rootfs: &a 1.0` made false or NaN, an
  // argument's `[echo, &a 1.0]` or a command's `- &a 42` made text): each alias of it elsewhere (`ssh_pwauth: *a`, `append: *a`,
  // `uid: *a`) a copy of it as written, read where it is, as PyYAML gives each the value. (A short one's: the copies are
  // aliases no more, so what they repeat is not counted by aliasProblem)
  visit(doc, {
    Alias(_, alias) {
      const anchored = resolve(alias)
      if (!isScalar(anchored) || (typeof anchored.value !== "number" && typeof anchored.value !== "boolean") || (anchored.source?.length ?? Infinity) > COPIED_SCALAR_CHARACTERS) return
      const copy = anchored.clone() as Scalar
      copy.anchor = undefined
      copy.range = alias.range
      return copy
    }
  })
  visit(doc, {
    Map(_, map, ancestry) {
      // a flag or uid brought in by a merge key (`f: &f {append: 1.0}`, `write_files: [{<<: *f}]`) is the map's own to PyYAML (it
      // merges the mapping): a copy of its scalar made the map's own pair, read as written below as the direct form is, so that the
      // merged mapping and its other uses stay as written
      const merges = map.items.filter((pair) => isMergeKey(pair.key))
      const last = merges[merges.length - 1]
      if (at === undefined || last === undefined) return
      const flags = ancestry.length === 1 ? [...TEXT_FLAGS, ...DONE_ANYWAY_TEXT_FLAGS] : inWriteFilesEntry([...ancestry, map]) ? [...WRITE_FILE_FLAGS] : []
      for (const key of [...flags, "uid"]) {
        if (ownPair(resolve, map, key) !== undefined) continue
        const merged = resolve(mergedValue(resolve, map, key, new Set()))
        if (!isScalar(merged) || typeof merged.value !== "number") continue
        const copy = merged.clone()
        copy.range = (last.value as Node | null)?.range ?? null
        map.items.push(new Pair(new Scalar(key), copy))
      }
    },
    Pair(_, pair, ancestry) {
      // a key given by an alias (`*k : [...]`) is its anchor's text, as PyYAML reads it
      const keyNode = resolve(pair.key)
      if (!isScalar(keyNode)) return
      const key = String(keyNode.value)
      // a flag or uid given by an alias (`x: &a 1.0`, `ssh_pwauth: *a`, `append: *a`, `uid: *id`) is its anchor's number, read as
      // written below, as PyYAML reads it: on a copy of the anchor's scalar in its place, its own, so that the anchored value (`x`)
      // and its other uses (a runcmd argument) stay as written
      const flag =
        (at !== undefined && ((ancestry.length === 2 && (TEXT_FLAGS.has(key) || DONE_ANYWAY_TEXT_FLAGS.has(key))) || (WRITE_FILE_FLAGS.has(key) && inWriteFilesEntry(ancestry)) || isNestedTextFlag(ancestry, key))) ||
        key === "uid"
      const anchored = flag && isAlias(pair.value) ? resolve(pair.value) : undefined
      if (isScalar(anchored) && typeof anchored.value === "number") {
        const copy = anchored.clone()
        copy.range = (pair.value as Alias).range
        pair.value = copy
      }
      const value = pair.value
      if (keys.has(key) && isScalar(value) && typeof value.value === "number" && value.source !== undefined) value.value = value.source
      if (at !== undefined && ancestry.length === 2 && TEXT_FLAGS.has(key) && isScalar(value) && (value.value === 0 || value.value === 1) && value.source !== undefined && !isInteger(value.tag, value.source)) {
        value.value = NaN
      }
      if (at !== undefined && ancestry.length === 2 && DONE_ANYWAY_TEXT_FLAGS.has(key) && isScalar(value) && value.value === 1 && value.source !== undefined && !isInteger(value.tag, value.source)) {
        value.value = false
      }
      if (at !== undefined && isNestedTextFlag(ancestry, key) && isScalar(value) && (value.value === 0 || value.value === 1) && value.source !== undefined && !isInteger(value.tag, value.source)) {
        value.value = NaN
      }
      // a write_files entry's `append: 1.0` or `defer: 1.0` is false to cloud-init (its file overwritten, or written at once): so here, named
      if (at !== undefined && WRITE_FILE_FLAGS.has(key) && inWriteFilesEntry(ancestry) && isScalar(value) && value.value === 1 && value.source !== undefined && !isInteger(value.tag, value.source)) {
        value.value = false
        const index = (ancestry[3] as YAMLSeq).items.indexOf(ancestry[4])
        const message = `a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false`
        notes.push({ path: ["write_files", index, key], line: at(value.range?.[0] ?? 0), message })
      }
      // a user's `uid: 1000.0` (or `!!float 1000`): cloud-init's Alpine add_user runs `adduser -u 1000.0`, str() of the float, which
      // fails and stops its users module; NaN, a number no user id is, names it and skips the uid alone (the user is made)
      if (at !== undefined && key === "uid" && isScalar(value) && typeof value.value === "number" && value.source !== undefined && !isInteger(value.tag, value.source)) {
        value.value = NaN
      }
      // a whole list given by an alias (`runcmd: *cmds`) is its anchor's: made its text where it is, as an aliased argument list is
      const list = resolve(value)
      if (COMMAND_LISTS.has(key) && isSeq(list)) {
        for (const [index, item] of list.items.entries()) {
          if (isScalar(item) && item.value !== null && typeof item.value !== "string" && item.source !== undefined) {
            if (at !== undefined && ancestry.length === 2 && (typeof item.value === "number" || typeof item.value === "boolean")) {
              const kind = typeof item.value === "number" ? "a number" : "a boolean"
              const message = `${kind}, not a command (a string or a list): cloud-init refuses it and runs none of ${key}; here it runs as the command written`
              notes.push({ path: [key, index], line: at(item.range?.[0] ?? 0), message })
            }
            item.value = item.source
          } else {
            // a plain timestamp is a date (or a datetime) to PyYAML: no string either
            const stamp = timestampText(item)
            if (at !== undefined && ancestry.length === 2 && isScalar(item) && stamp !== undefined && (PYYAML_DATE.test(stamp) || pythonDatetime(stamp) !== undefined)) {
              const message = `a date, not a command (a string or a list): cloud-init refuses it and runs none of ${key}; here it runs as the command written`
              notes.push({ path: [key, index], line: at(item.range?.[0] ?? 0), message })
            }
            pythonNumbers(resolve, item, true)
            pythonNestedNumbers(resolve, item)
            pythonDatetimes(resolve, item)
          }
        }
      }
      // a [name, version] pair's version, as Python writes it
      if (key === "packages" && isSeq(list)) for (const item of list.items) pythonNumbers(resolve, item, false)
    }
  })
  return notes
}

/**
 * A key that is a map or a list (`? {password: x}`, `[a, b]: 1`), or an alias
 * of one, named by its kind: the library would make it the text of its
 * content, values included, and keys are named in messages (keys not carried
 * out), where no value of the document may appear. No key cloud-init reads is
 * one (PyYAML refuses them as unhashable).
 */
const nameCollectionKeys = (doc: Document, resolve: Resolve) =>
  visit(doc, {
    Pair(_, pair) {
      const kind = collectionKey(resolve, pair.key)
      if (kind !== undefined) pair.key = new Scalar(kind.name)
    }
  })

/** a merge key (`<<`), which the library reads as a symbol */
const isMergeKey = (key: unknown): boolean => isScalar(key) && typeof key.value === "symbol"

/** a map's own pair of `key` (not one a merge key brings), the last one written as PyYAML keeps it */
const ownPair = (resolve: Resolve, map: YAMLMap, key: string): Pair | undefined =>
  [...map.items].reverse().find((pair) => {
    const k = resolve(pair.key)
    return !isMergeKey(k) && isScalar(k) && String(k.value) === key
  })

/**
 * The value a map's merge keys give `key`, as PyYAML merges them: a later
 * merge key's over an earlier's, within one list an earlier map's over a
 * later's, and a merged map's own value over what it merges in turn
 */
const mergedValue = (resolve: Resolve, map: YAMLMap, key: string, seen: Set<YAMLMap>): unknown => {
  if (seen.has(map)) return undefined
  seen.add(map)
  for (const merge of map.items.filter((pair) => isMergeKey(pair.key)).reverse()) {
    const value = resolve(merge.value)
    for (const source of isSeq(value) ? value.items.map(resolve) : [value]) {
      if (!isMap(source)) continue
      const own = ownPair(resolve, source, key)
      const found = own !== undefined ? own.value : mergedValue(resolve, source, key, seen)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/**
 * Two or more merge keys in one map (`<<: *a`, then `<<: *b`) made one, in
 * PyYAML's order: it merges each in turn, a later one's values over an
 * earlier one's (within one list, an earlier map's over a later's), where the
 * library keeps the first value it meets. Its list lists the later keys' maps first.
 */
const mergeKeysInPyyamlOrder = (doc: Document, resolve: Resolve) =>
  visit(doc, {
    Map(_, map) {
      const merges = map.items.filter((pair) => isMergeKey(pair.key))
      const [first] = merges
      if (first === undefined || merges.length < 2) return
      const sources = new YAMLSeq()
      sources.items = merges.reverse().flatMap((pair) => {
        const value = resolve(pair.value)
        return isSeq(value) ? value.items : [pair.value]
      })
      first.value = sources
      map.items = map.items.filter((pair) => pair === first || !isMergeKey(pair.key))
    }
  })

/**
 * A scalar under the non-specific tag `!` (`! 12`, `! yes`, `! '12'`) resolved
 * as a plain untagged one, as PyYAML resolves it (its parser takes `!` for no
 * tag, quoted or not), where the library makes it a string.
 */
const resolveNonSpecific = (doc: Document) =>
  visit(doc, {
    Scalar(_, node) {
      if (node.tag !== "!" || typeof node.value !== "string") return
      const text = node.value
      node.tag = undefined
      const tag = doc.schema.tags.find((t): t is ScalarTag => t.default === true && "test" in t && t.test instanceof RegExp && t.test.test(text))
      // a timestamp (the reading keeps dates as text, withoutDates) is one to PyYAML, as `!!timestamp` is
      if (tag === undefined) {
        if (PYYAML_DATE.test(text) || PYYAML_DATETIME.test(text)) node.tag = TIMESTAMP_TAG
        return
      }
      const value = tag.resolve(text, () => {}, doc.options)
      node.value = isScalar(value) ? value.value : value
    }
  })

/** a key's text as written: a merge key is `<<` */
const keyText = (key: Scalar): string => (isMergeKey(key) ? "<<" : String(key.value))

/**
 * `!!binary` scalars whose text is not base64, marked: the library decodes
 * any text to some bytes (`a$$=b` to none), which would be written as if given.
 * `padded`: so is text without its closing `=` (`aGk`), which PyYAML's
 * decoder refuses ('Incorrect padding'), and text with a character outside
 * ASCII, which PyYAML refuses before it decodes ('failed to convert base64
 * data into ascii')
 */
const markUndecodableBinary = (doc: Document, padded: boolean) =>
  visit(doc, {
    Scalar(_, node) {
      if (node.tag !== "tag:yaml.org,2002:binary" || typeof node.source !== "string") return
      if (Either.isLeft(fromBase64(node.source)) || (padded && (lacksPadding(node.source) || /[^\x00-\x7f]/.test(node.source)))) node.value = new UndecodableBinary()
    }
  })

/** a key that is a map or a list (or an alias of one): the node it is and its name by kind; undefined for any other key */
const collectionKey = (resolve: Resolve, key: unknown): { readonly node: Node; readonly name: string } | undefined => {
  const node = resolve(key)
  return isMap(node) || isSeq(node) ? { node, name: `(a ${isMap(node) ? "map" : "list"} as a key)` } : undefined
}

/** the document path of a node from the visitor's ancestry; a key that is a map or a list named by its kind */
const pathOf = (resolve: Resolve, chain: ReadonlyArray<unknown>): Array<Key> =>
  chain.flatMap((node, i): Array<Key> => {
    if (isPair(node)) return isScalar(node.key) ? [keyText(node.key)] : [collectionKey(resolve, node.key)?.name ?? ""].filter((k) => k !== "")
    if (isSeq(node)) return [node.items.indexOf(chain[i + 1] as never)]
    return []
  })

/**
 * every key given more than once in a map, at the later one's line; a map or
 * a list as a key is the same key only as the same node (an alias of it), and
 * what is inside one is its content, never named (such keys are named by kind);
 * a merge key (`<<`) is no such key: each one's map is merged, as PyYAML merges them
 */
const duplicateKeys = (doc: Document, resolve: Resolve, at: (pos: number) => number): Array<Note> => {
  const notes: Array<Note> = []
  visit(doc, {
    Map(_, map, ancestry) {
      const chain = [...ancestry, map]
      if (chain.some((node, i) => isPair(node) && node.key !== null && node.key === chain[i + 1])) return visit.SKIP
      const seen = new Set<unknown>()
      for (const pair of map.items) {
        const collection = collectionKey(resolve, pair.key)
        if (!isScalar(pair.key) && collection === undefined) continue
        if (isMergeKey(pair.key)) continue
        const key = collection?.name ?? String((pair.key as Scalar).value)
        const identity = collection?.node ?? key
        if (seen.has(identity)) {
          notes.push({ path: [...pathOf(resolve, chain), key], line: at((pair.key as Node).range?.[0] ?? 0), message: "duplicate key; the last one is used, as cloud-init does" })
        }
        seen.add(identity)
      }
    }
  })
  return notes
}

/** yaml's message without its " at line N, column M" tail and source excerpt */
const yamlMessage = (message: string): string =>
  /Maximum call stack size exceeded/.test(message) ? "nested too deeply" : message.replace(/ at line \d+, column \d+[\s\S]*$/, "")

/** an error of the yaml parser in our words where its own are about its API */
const errorMessage = (error: YAMLError): string =>
  error.code === "MULTIPLE_DOCS" ? "a second document starts here; only one is expected" : yamlProblem(error.code, yamlMessage(error.message))

/** the first alias whose anchor is not set before it (yaml's own message names the anchor) */
const unresolvedAlias = (doc: Document): Alias | undefined => {
  let found: Alias | undefined
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return
      found = alias
      return visit.BREAK
    }
  })
  return found
}

const ALIAS_PROBLEMS: Record<AliasProblem, string> = {
  "too many aliases": `YAML: too large to read: more than ${YAML_MAX_ALIASES} aliases in the user-data`,
  "too many nodes": `YAML: too large to read: its aliases repeat more than ${YAML_MAX_ALIASED_NODES} keys and values`,
  "too many characters": `YAML: too large to read: its aliases repeat more than ${YAML_MAX_ALIASED_CHARACTERS} characters of text`
}

export interface Loaded {
  readonly raw: unknown
  readonly source: Source
  /** duplicate keys and the parser's own warnings */
  readonly warnings: ReadonlyArray<Note>
}

/** PyYAML's booleans, which cloud-init reads with: YAML 1.1's without the single letters (`y`, `n` stay strings) */
const PYYAML_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/
const PYYAML_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/
const pyyamlBooleans = (tags: Tags): Tags =>
  tags.map((t) => (typeof t === "object" && t.tag === "tag:yaml.org,2002:bool" && "test" in t && t.test ? { ...t, test: t.identify?.(true) ? PYYAML_TRUE : PYYAML_FALSE } : t))

/**
 * PyYAML's floats: a dot always, a digit before it unless nothing comes
 * before the dot, a signed exponent. So `.`, `-.5` and `1e3` stay strings
 * (`version: .` is a word, not NaN), as cloud-init and the shell edition read them.
 */
const PYYAML_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)$/
const PYYAML_FLOAT_EXP = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)[eE][-+][0-9]+$/
const pyyamlFloats = (tags: Tags): Tags =>
  tags.map((t) => {
    if (typeof t !== "object" || t.tag !== "tag:yaml.org,2002:float" || !("test" in t) || t.test === undefined) return t
    if (t.format === "EXP") return { ...t, test: PYYAML_FLOAT_EXP }
    return t.format === undefined && t.test.test("1.5") ? { ...t, test: PYYAML_FLOAT } : t
  })

/**
 * PyYAML's decimal and base 60 integers: no leading 0, which is octal's. So
 * `0800`, `09` and `01:30` stay strings (a hostname, a password, a file's
 * content), as cloud-init reads them; the library takes them for 800, 9 and 90.
 */
const PYYAML_DECIMAL = /^[-+]?(?:0|[1-9][0-9_]*)$/
const PYYAML_BASE60 = /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/
const pyyamlInts = (tags: Tags): Tags =>
  tags.map((t) => {
    if (typeof t !== "object" || t.tag !== "tag:yaml.org,2002:int" || !("test" in t) || t.test === undefined) return t
    return t.format === undefined ? { ...t, test: PYYAML_DECIMAL } : t.format === "TIME" ? { ...t, test: PYYAML_BASE60 } : t
  })

/**
 * Dates stay their text: PyYAML makes them dates, which cloud-init writes
 * back as the same text where it takes a string (a runcmd argument), and
 * datetimes, which an argument list has as Python writes them (pythonDatetimes);
 * no key wants a date.
 */
const withoutDates = (tags: Tags): Tags => tags.filter((t) => typeof t !== "object" || t.tag !== "tag:yaml.org,2002:timestamp")

/**
 * `!!python/unicode`, which cloud-init's loader adds to safe_load's tags (a
 * string, as some producers of cloud-config wrote theirs): a string here too
 */
const PYTHON_UNICODE = "tag:yaml.org,2002:python/unicode"
const pythonUnicode: ScalarTag = { tag: PYTHON_UNICODE, default: false, identify: () => false, resolve: (text: string) => text }

/** `!!timestamp`: its text, as a plain timestamp's (withoutDates), with no warning; an argument list has it as Python writes it (timestampText) */
const pyyamlTimestamp: ScalarTag = { tag: TIMESTAMP_TAG, default: false, identify: () => false, resolve: (text: string) => text }

const FLOAT_TAG = "tag:yaml.org,2002:float"

/** a text as Python's float() reads it: spaces around it, a sign, `inf`, `infinity`, `nan` in any case; NaN for none */
const pythonFloatOf = (text: string): number => {
  const v = text.trim().toLowerCase()
  const special = /^([-+]?)(inf|infinity|nan)$/.exec(v)
  if (special !== null) return special[2] === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity
  return /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?$/.test(v) ? Number(v) : NaN
}

/**
 * A scalar tagged `!!float` as PyYAML's constructor makes it of any text
 * (`!!float 1` is 1.0, `1e5` 100000.0, `1:30` base 60's 90.0, `-.NaN` nan),
 * where the library resolves an explicit tag only for the text its plain
 * floats match and leaves other text a string, with a warning. (A text that
 * is no float is refused before it is read: unconstructibleTagged.)
 */
const pyyamlTaggedFloat: ScalarTag = {
  tag: FLOAT_TAG,
  default: false,
  resolve: (text: string) => {
    let v = text.replace(/_/g, "").toLowerCase()
    const sign = v.startsWith("-") ? -1 : 1
    if (v.startsWith("-") || v.startsWith("+")) v = v.slice(1)
    if (v === ".inf") return sign * Infinity
    if (v === ".nan") return NaN
    // base 60, from its last part: each part a float, as PyYAML sums them
    if (v.includes(":")) return sign * v.split(":").reverse().reduce((sum, part, i) => sum + pythonFloatOf(part) * 60 ** i, 0)
    return sign * pythonFloatOf(v)
  },
  stringify: ({ value }) => pythonFloat(Number(value))
}

const INT_TAG = "tag:yaml.org,2002:int"

/** a scalar tagged `!!int` as PyYAML's constructor makes it of any text (`!!int 0o17` is 15, `1:70` 130), as pyyamlTaggedFloat */
const pyyamlTaggedInt: ScalarTag = {
  tag: INT_TAG,
  default: false,
  resolve: (text: string) => Number(exactInteger(text)),
  stringify: ({ value }) => String(value)
}

/** the scalars as PyYAML resolves them, where YAML 1.1 as the library reads it differs; an explicit `!!float` or `!!int` takes pyyamlTaggedFloat or pyyamlTaggedInt (the library takes a tag that is no default at once) */
const pyyamlScalars = (tags: Tags): Tags => [...withoutDates(pyyamlInts(pyyamlFloats(pyyamlBooleans(tags)))), pythonUnicode, pyyamlTimestamp, pyyamlTaggedFloat, pyyamlTaggedInt]

/** the first character outside YAML's printable set (tab, line breaks, and text without C0 and C1 controls) */
const NOT_PRINTABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]/

/**
 * The first tab PyYAML refuses ('while scanning for the next token'): its
 * scanner takes spaces alone between tokens and within a plain scalar, so a
 * tab is text only inside a quoted or block scalar, or a comment
 * (`key:<TAB>value`, a tab after a value, on a blank line or in a plain
 * `echo a<TAB>b` fail the whole document); the library takes them all.
 */
const refusedTab = (doc: Document, text: string): number | undefined => {
  if (!text.includes("\t")) return undefined
  const scalars: Array<readonly [number, number]> = []
  visit(doc, {
    Scalar(_, node) {
      if (node.type === "PLAIN" || !node.range) return
      // a block scalar's text, from the line after its header (`|<TAB>` is refused too)
      const block = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED"
      const from = block ? text.indexOf("\n", node.range[0]) : node.range[0]
      if (from >= 0) scalars.push([from, node.range[1]])
    }
  })
  // the scalars in the text's order, each passed once as the tabs come (no scan of them all per tab)
  scalars.sort((a, b) => a[0] - b[0])
  let next = 0
  let offset = 0
  for (const token of new Lexer().lex(text)) {
    // the lexer's marks of a document, a flow's end and a scalar are none of the text
    if (token === "\x02" || token === "\x18" || token === "\x1f") continue
    const start = offset
    offset += token.length
    if (token.startsWith("#")) continue
    for (let i = token.indexOf("\t"); i >= 0; i = token.indexOf("\t", i + 1)) {
      const at = start + i
      while (next < scalars.length && scalars[next]![1] <= at) next++
      const scalar = scalars[next]
      if (scalar === undefined || at < scalar[0]) return at
    }
  }
  return undefined
}

/** the tags cloud-init's loader constructs: safe_load's (its SafeConstructor's, YAML's own) and `!!python/unicode` */
const PYYAML_SAFE_TAGS = new Set([...["null", "bool", "int", "float", "binary", "timestamp", "omap", "pairs", "set", "str", "seq", "map"].map((t) => `tag:yaml.org,2002:${t}`), PYTHON_UNICODE])

/**
 * The first node whose tag safe_load cannot construct (`!vault`, `!!python/object:...`,
 * a `%TAG` prefix's): PyYAML fails the whole document on it, so cloud-init
 * applies none of it; the library reads it as if untagged, with a warning.
 * `!` alone is a plain scalar's, resolved as one.
 */
const unconstructedTag = (doc: Document): Node | undefined => {
  let found: Node | undefined
  visit(doc, {
    Node(_, node) {
      if (node.tag === undefined || node.tag === "!" || PYYAML_SAFE_TAGS.has(node.tag)) return
      found = node
      return visit.BREAK
    }
  })
  return found
}

/**
 * The first plain `=` that is no key: PyYAML resolves it to YAML 1.1's value
 * type, which safe_load cannot construct (as a key it is made a string), so
 * the whole document fails; the library reads the text `=`.
 */
const valueKeyScalar = (doc: Document): Node | undefined => {
  let found: Node | undefined
  visit(doc, {
    Scalar(key, node) {
      if (key === "key" || !(node.tag === "!" || (node.type === "PLAIN" && node.tag === undefined)) || node.value !== "=") return
      found = node
      return visit.BREAK
    }
  })
  return found
}

/**
 * An alias or an anchor written against a key's colon (`*base: x`, `{*k: 1}`)
 * spaced from it: PyYAML's names are letters, digits, `-` and `_`, so the
 * colon is the key's, where the library takes it for part of the name (an
 * alias of `base:`, and no value). The lines keep their numbers.
 */
const spacedNameColons = (text: string): string => {
  if (!/[*&][0-9A-Za-z_-]+:/.test(text)) return text
  const colons: Array<number> = []
  let offset = 0
  for (const token of new Lexer().lex(text)) {
    // the lexer's marks of a document, a flow's end and a scalar are none of the text
    if (token === "\x02" || token === "\x18" || token === "\x1f") continue
    if (/^[*&][0-9A-Za-z_-]+:$/.test(token)) colons.push(offset + token.length - 1)
    offset += token.length
  }
  let spaced = ""
  let from = 0
  for (const colon of colons) {
    spaced += `${text.slice(from, colon)} `
    from = colon
  }
  return spaced + text.slice(from)
}

/**
 * Whether the lines before offset `end` end with an explicit key's `?`, past
 * blank lines, comments and the key's anchor or tag (`? &a`, `? !!str # c`),
 * which PyYAML reads as the key of the `:` at `end`'s next line.
 */
const explicitKeyBefore = (text: string, end: number): boolean => {
  while (end > 0) {
    const start = Math.max(text.lastIndexOf("\n", end - 1), text.lastIndexOf("\r", end - 1)) + 1
    const words = text.slice(start, end).replace(/(^|[ \t])#.*$/, "").split(/[ \t]+/).filter((word) => word !== "")
    while (words.length > 0 && /^[&!]/.test(words[words.length - 1]!)) words.pop()
    if (words.length > 0) return /(^|[[{,])\?$/.test(words[words.length - 1]!)
    end = start - 1
  }
  return false
}

/**
 * The first key the library makes empty for a `:` with nothing before it
 * (`packages: [vim]: x`, a line starting `: x`): PyYAML takes a key only
 * from a text before the colon or after `?`, and refuses the document
 * ('mapping values are not allowed here'). Such a key is empty: the colon's
 * offset in the text.
 */
const keylessColon = (doc: Document, text: string): number | undefined => {
  let found: number | undefined
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key
      if (!isScalar(key) || key.value !== null || key.range === undefined || key.range === null) return
      // (the library's empty key may start at the colon's indentation, or at the end of the line before, after a key with no value)
      let colon = key.range[0]
      while (colon < text.length && " \t\r\n".includes(text[colon]!)) colon++
      if (text[colon] !== ":") return
      // keyless where the colon starts a line (past its indentation) or follows a flow collection's bracket or comma; after `?`, an anchor or a tag (`[? : b]`, `&a :`) the key is an empty one, which PyYAML reads
      let before = colon - 1
      while (before >= 0 && (text[before] === " " || text[before] === "\t")) before--
      if (before >= 0 && !"\n\r[]{},".includes(text[before]!)) return
      // an explicit key (`?`) on a line before the colon's
      if (before >= 0 && "\n\r".includes(text[before]!) && explicitKeyBefore(text, before)) return
      found = colon
      return visit.BREAK
    }
  })
  return found
}

/** the second node given an anchor already set (`&base` twice): PyYAML's composer refuses the document ('found duplicate anchor'); the library lets the later one replace it */
const repeatedAnchor = (doc: Document): Node | undefined => {
  const anchors = new Set<string>()
  let found: Node | undefined
  visit(doc, {
    Node(_, node) {
      if (node.anchor === undefined) return
      if (anchors.has(node.anchor)) {
        found = node
        return visit.BREAK
      }
      anchors.add(node.anchor)
    }
  })
  return found
}

/**
 * The first plain scalar in a flow collection that starts with `:` (`[::1]`,
 * `{a: ::1}`): PyYAML's scanner starts no plain scalar with `:` inside
 * brackets and refuses the document ('while parsing a flow node'); the
 * library reads the text. (A flow's depth is bounded, YAML_MAX_NESTING.)
 */
const flowColonScalar = (doc: Document, text: string): Node | undefined => {
  let found: Node | undefined
  visit(doc, {
    Scalar(_, node, ancestry) {
      // (an empty value, `{? : x}`, may start at a colon)
      if (node.type !== "PLAIN" || !node.range || node.range[1] === node.range[0] || text[node.range[0]] !== ":") return
      if (!ancestry.some((a) => (isMap(a) || isSeq(a)) && a.flow === true)) return
      found = node
      return visit.BREAK
    }
  })
  return found
}

/**
 * The offset of a `%YAML` directive PyYAML refuses: a version other than 1.x
 * ('found incompatible YAML document') or a second one ('found duplicate
 * YAML directive'); the library reads the document. Directives come before
 * the first `---`, among comments and blank lines alone.
 */
const refusedYamlDirective = (text: string): number | undefined => {
  let seen = false
  for (const line of text.matchAll(/^.*$/gm)) {
    if (line[0].startsWith("---") || !/^(?:%|[ \t]*(?:#|$))/.test(line[0])) return undefined
    const version = /^%YAML[ \t]+([0-9]+)\./.exec(line[0])
    if (version === null) continue
    if (seen || Number(version[1]) !== 1) return line.index
    seen = true
  }
  return undefined
}

/**
 * The first key that is a map or a list, or an alias of one (`? [a, b]`,
 * `{[a]: b}`): PyYAML cannot construct it (a Python dict's key must be
 * hashable) and refuses the document; the library reads it (named by its
 * kind, nameCollectionKeys). An `!!omap` or `!!pairs` entry's key is kept in
 * a list of pairs, which PyYAML constructs.
 */
const collectionKeyNode = (doc: Document, resolve: Resolve): Node | undefined => {
  let found: Node | undefined
  visit(doc, {
    Pair(_, pair, ancestry) {
      if (collectionKey(resolve, pair.key) === undefined) return
      // (the library makes an omap a map of its pairs; a pairs list keeps its one-pair maps)
      const list = ancestry.slice(-2).find((node) => isNode(node) && (node.tag === "tag:yaml.org,2002:omap" || node.tag === "tag:yaml.org,2002:pairs"))
      if (list !== undefined) return
      found = pair.key as Node
      return visit.BREAK
    }
  })
  return found
}

/**
 * The offset of a document end (`...`) that comes before any content, a
 * directive or `---` (a document that is `...` alone, after comments):
 * PyYAML starts an implicit document there and finds no node ('expected the
 * node content, but found <document end>'); the library reads an empty one.
 */
const bareDocumentEnd = (text: string): number | undefined => {
  for (const line of text.matchAll(/^.*$/gm)) {
    if (/^\.\.\.(?:[ \t]|$)/.test(line[0])) return line.index
    if (!/^[ \t]*(?:#|$)/.test(line[0])) return undefined
  }
  return undefined
}

const YAML_TAG = "tag:yaml.org,2002:"
/** the tags whose node PyYAML constructs from a map, from a list; the others it constructs from a scalar */
const MAP_TAGS = new Set(["map", "set"].map((t) => YAML_TAG + t))
const SEQ_TAGS = new Set(["seq", "omap", "pairs"].map((t) => YAML_TAG + t))

/** a scalar's text PyYAML's constructor for its tag takes (its int, float, bool, timestamp), as Python's int() and float() read the text */
const constructible = (tag: string, text: string): boolean => {
  if (tag === `${YAML_TAG}bool`) return PYYAML_TRUE.test(text) || PYYAML_FALSE.test(text) || /^(?:yes|no|true|false|on|off)$/.test(text.toLowerCase())
  if (tag === `${YAML_TAG}int`) {
    const v = text.replace(/_/g, "").replace(/^[-+]/, "")
    // (Python's int() takes the base's own prefix too: int("0o7", 8))
    if (v.startsWith("0b")) return /^0b\s*(?:0[bB])?[01]+\s*$/.test(v)
    if (v.startsWith("0x")) return /^0x\s*(?:0[xX])?[0-9a-fA-F]+\s*$/.test(v)
    if (v.startsWith("0")) return /^0(?:[oO][0-7]+|[0-7]*)\s*$/.test(v)
    return v.includes(":") ? v.split(":").every((part) => /^\s*\p{Nd}+\s*$/u.test(part)) : /^\s*\p{Nd}+\s*$/u.test(v)
  }
  if (tag === `${YAML_TAG}float`) {
    const v = text.replace(/_/g, "").toLowerCase().replace(/^[-+]/, "")
    const float = /^\s*[-+]?(?:(?:\p{Nd}+\.?\p{Nd}*|\.\p{Nd}+)(?:e[-+]?\p{Nd}+)?|inf|infinity|nan)\s*$/u
    return v === ".inf" || v === ".nan" || (v.includes(":") ? v.split(":").every((part) => float.test(part)) : float.test(v))
  }
  if (tag === `${YAML_TAG}timestamp`) return pythonDatetime(/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$/.test(text) ? `${text} 00:00:00` : text) !== undefined
  return true
}

/**
 * The first node whose YAML tag PyYAML's constructor cannot make of it: a
 * scalar's tag on a map or a list (`!!str {a: 1}`), a map's on a list or a
 * scalar (`!!set [x]`, `!!map [x]`), a list's on a map or a scalar (`!!omap
 * {x: 1}`), an `!!omap`/`!!pairs` entry that is no map of one pair, a text
 * that is no value of its tag (`!!int x`, `!!bool maybe`, `!!timestamp x`):
 * safe_load fails on it, and cloud-init applies none of the document; the
 * library reads it with a warning, or as its text.
 */
const unconstructibleTagged = (doc: Document): Node | undefined => {
  let found: Node | undefined
  visit(doc, {
    Node(_, node) {
      const tag = node.tag
      if (tag === undefined || !tag.startsWith(YAML_TAG)) return
      const fits = MAP_TAGS.has(tag)
        ? isMap(node)
        : SEQ_TAGS.has(tag)
          ? // (the library makes an omap's entries pairs)
            isSeq(node) && (tag === `${YAML_TAG}seq` || node.items.every((item) => isPair(item) || (isMap(item) && item.items.length === 1)))
          : isScalar(node) && (typeof node.source !== "string" || constructible(tag, node.source))
      if (fits) return
      found = node
      return visit.BREAK
    }
  })
  return found
}

/** where a document PyYAML refuses is refused (an offset in its text), and the line that says why */
type Refusal = { readonly at: number; readonly message: string } | undefined

const offsetRefused = (offset: number | undefined, message: string): Refusal => (offset === undefined ? undefined : { at: offset, message })
const nodeRefused = (node: Node | undefined, message: string): Refusal => (node === undefined ? undefined : { at: node.range?.[0] ?? 0, message })

/**
 * The first thing of a parsed document that cloud-init's loader (PyYAML's
 * safe_load, with `!!python/unicode`) refuses, so that cloud-init applies
 * none of the document; each check a pass of its own, in this order.
 */
const pyyamlRefusal = (doc: Document, read: string): Refusal => {
  const checks: ReadonlyArray<() => Refusal> = [
    () => offsetRefused(bareDocumentEnd(read), "YAML: a document end (...) before any content, which cloud-init's PyYAML refuses: it refuses the document"),
    () => offsetRefused(refusedYamlDirective(read), "YAML: a %YAML directive of a version other than 1.x, or a second one, which cloud-init's PyYAML refuses: it refuses the document"),
    () => offsetRefused(refusedTab(doc, read), "YAML: a tab outside a quoted or block scalar, which cloud-init's PyYAML refuses (only spaces separate YAML's tokens)"),
    () => nodeRefused(unconstructedTag(doc), "YAML: a tag other than YAML's own (!!str, !!binary...), which cloud-init's PyYAML (safe_load) cannot construct: it refuses the document"),
    () => nodeRefused(unconstructibleTagged(doc), "YAML: a value its tag does not fit (!!int x, !!set [x], !!str {a: 1}), which cloud-init's PyYAML cannot construct: it refuses the document"),
    () => nodeRefused(refusedTimestampScalar(doc), "YAML: a date that is no day of the calendar (or a time of day past 23:59:59), which cloud-init's PyYAML cannot construct: it refuses the document (quote it)"),
    () => nodeRefused(repeatedAnchor(doc), "YAML: an anchor set a second time, which cloud-init's PyYAML refuses: it refuses the document (give each anchor its own name)"),
    () => offsetRefused(keylessColon(doc, read), "YAML: a ':' with no key before it (after a list's ']', at a line's start), which cloud-init's PyYAML refuses: it refuses the document"),
    () => nodeRefused(valueKeyScalar(doc), "YAML: a plain = (YAML 1.1's value key), which cloud-init's PyYAML (safe_load) cannot construct: it refuses the document (quote it: '=')"),
    () => nodeRefused(flowColonScalar(doc, read), "YAML: a plain value starting with ':' inside brackets ([::1]), which cloud-init's PyYAML refuses: it refuses the document (quote it: '::1')")
  ]
  for (const check of checks) {
    const refusal = check()
    if (refusal !== undefined) return refusal
  }
  return undefined
}

/** a fresh budget for one user-data: its parts share it */
export const newTokenBudget = (): TokenBudget => ({ tokens: YAML_MAX_TOKENS })

/**
 * `pinned`: the text is decoded from a MIME part's body, its lines none of the user-data's (Source);
 * `pyyamlRefusals`: a %YAML directive, a `...` before any content, a tab, a tag, a value its tag does not fit, a date, a list or a map as a key, an anchor set twice, a keyless `:`, a plain `=` or a flow's plain value starting with `:` PyYAML refuses refuses the document (cloud-init's documents; an #alpine-config, which the shell edition's libyaml read, takes them, an unknown tag named in a warning)
 */
export const loadYaml = (
  given: string,
  lineOffset: number,
  asWritten: ReadonlySet<string>,
  budget: TokenBudget = newTokenBudget(),
  pinned = false,
  pyyamlRefusals = true
): Either.Either<Loaded, Array<Problem>> => {
  // a CR alone ends a line, as PyYAML reads it (lines are counted so too); so does a NEL (U+0085) to PyYAML, in a value, a quoted one or a comment
  const text = pyyamlRefusals && given.includes("\u0085") ? withLineFeeds(given).replace(/\u0085/g, "\n") : withLineFeeds(given)
  if (yamlNestsDeeperThan(text)) return Either.left([{ path: "", line: 1 + lineOffset, message: `YAML: nested too deeply (more than ${YAML_MAX_NESTING} levels)` }])
  const tooLarge = Either.left([{ path: "", line: 1 + lineOffset, message: `YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data` }])
  const left = budget.tokens
  // counted before it is parsed, which costs far more time and memory per token than counting
  if (!takeTokens(new Lexer().lex(text), budget)) return tooLarge
  const spaced = spacedNameColons(text)
  const parse = (yaml: string) => {
    const lineCounter = new LineCounter()
    // the schema named as well as the version: a `%YAML 1.2` directive would otherwise switch to YAML 1.2's core schema (`yes` a string, `0644` 644), where PyYAML reads every version 1 document with its YAML 1.1 resolver
    return {
      lineCounter,
      doc: parseDocument(yaml, { lineCounter, version: "1.1", schema: "yaml-1.1", resolveKnownTags: false, customTags: pyyamlScalars, prettyErrors: false, uniqueKeys: false, logLevel: "error" })
    }
  }
  let { doc, lineCounter } = parse(spaced)
  let read = spaced
  // a string or a flow collection whose lines go on less indented than the parser wants, which PyYAML reads (the lines keep their numbers)
  const indented = doc.errors.length > 0 ? indentContinuations(spaced, left) : undefined
  if (indented === "too many") return tooLarge
  if (indented !== undefined) {
    // counted again: the lines the parser gave up at hold what PyYAML reads
    budget.tokens = left
    if (!takeTokens(new Lexer().lex(indented), budget)) return tooLarge
    // its errors too: the text is the same up to the first line indented, and an error there or after is PyYAML's rather than that line's
    ;({ doc, lineCounter } = parse(indented))
    read = indented
  }
  const at = (pos: number) => lineOfText({ lineOffset, pinned }, lineCounter.linePos(pos).line)
  // the first error, as PyYAML stops at it: the parser's later ones mostly follow from it
  const [error] = doc.errors
  if (error !== undefined) {
    // a character YAML does not allow (NULs padding the data...) before it is the cause, which the parser's message does not name
    const forbidden = NOT_PRINTABLE.exec(read)
    if (forbidden !== null && forbidden.index <= error.pos[0]) {
      const code = forbidden[0].codePointAt(0)!.toString(16).padStart(2, "0")
      return Either.left([{ path: "", line: at(forbidden.index), message: `YAML: a control character (\\x${code}), which YAML does not allow` }])
    }
    return Either.left([{ path: "", line: at(error.pos[0]), message: `YAML: ${errorMessage(error)}` }])
  }
  const refused = pyyamlRefusals ? pyyamlRefusal(doc, read) : undefined
  if (refused !== undefined) return Either.left([{ path: "", line: at(refused.at), message: refused.message }])
  resolveNonSpecific(doc)
  const resolve = aliasResolver(doc)
  const unhashable = pyyamlRefusals ? nodeRefused(collectionKeyNode(doc, resolve), "YAML: a list or a map as a key, which cloud-init's PyYAML cannot construct (unhashable): it refuses the document") : undefined
  if (unhashable !== undefined) return Either.left([{ path: "", line: at(unhashable.at), message: unhashable.message }])
  const scalarCommands = keepAsWritten(doc, resolve, asWritten, pyyamlRefusals ? at : undefined)
  markUndecodableBinary(doc, pyyamlRefusals)
  mergeKeysInPyyamlOrder(doc, resolve)
  withoutAddedLineBreak(doc, read)
  // (before they are named: two different maps as keys are not the same key written twice)
  const duplicates = duplicateKeys(doc, resolve, at)
  nameCollectionKeys(doc, resolve)
  const warnings: Array<Note> = [
    ...doc.warnings.map((w) => ({ path: [], line: at(w.pos[0]), message: `YAML: ${yamlProblem(w.code, yamlMessage(w.message))}` })),
    ...duplicates,
    ...scalarCommands
  ]
  try {
    const aliases = aliasProblem(doc)
    if (aliases !== undefined) return Either.left([{ path: "", line: 1 + lineOffset, message: ALIAS_PROBLEMS[aliases] }])
    // bounded above, by what the aliases add rather than by how often one anchor is named (the parser's 100)
    return Either.right({ raw: doc.toJS({ maxAliasCount: -1 }) ?? {}, source: { doc, lineCounter, lineOffset, pinned }, warnings })
  } catch (e) {
    const alias = unresolvedAlias(doc)
    if (alias !== undefined) return Either.left([{ path: "", line: at(alias.range?.[0] ?? 0), message: "YAML: an alias whose anchor is not set before it" }])
    return Either.left([{ path: "", line: 1 + lineOffset, message: `YAML: ${yamlProblem(undefined, yamlMessage(messageOf(e)))}` }])
  }
}

