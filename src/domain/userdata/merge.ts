/**
 * cloud-config parts merged as cloud-init merges them: by the mergers a
 * part names in its `Merge-Type` header or its `merge_how` (else
 * `merge_type`) key — the key's first, each kind's first one used — and
 * without any, `dict(replace)+list()+str()`: a later part's top-level keys
 * replace earlier ones.
 *
 * - `dict(replace|no_replace, recurse_array|recurse_list, recurse_str, allow_delete)`:
 *   a key both have is replaced, or kept (default) with maps merged and,
 *   when asked, lists and strings; `allow_delete` drops a key the part sets
 *   to null.
 * - `list(append|prepend|replace|no_replace, recurse_*)`: append or
 *   prepend the part's items, or (default `replace`) replace or keep the
 *   items at the indexes both have.
 * - `str(append)`: join, else replace.
 *
 * A value with no merger for its kind keeps the earlier one, as in
 * cloud-init; so a part that names no `dict()` merger changes nothing.
 *
 * Each merged value remembers which part (and where in it) it came from, so
 * problems are placed on the line that gave them.
 */
import * as Either from "effect/Either"
import type { Key } from "./notes.js"
import { asMap } from "./notes.js"

type DictMerger = { readonly replace: boolean; readonly recurseArray: boolean; readonly recurseStr: boolean; readonly allowDelete: boolean }
type ListMerger = {
  readonly method: "append" | "prepend" | "replace" | "no_replace"
  readonly recurseArray: boolean
  readonly recurseStr: boolean
  readonly recurseDict: boolean
}
type StrMerger = { readonly append: boolean }

export interface Mergers {
  readonly dict?: DictMerger
  readonly list?: ListMerger
  readonly str?: StrMerger
}

/**
 * A merger's options: a list, or the text a `{name, settings}` map gives as
 * its settings, which cloud-init searches as Python's `in` searches a
 * string: `settings: append` is list(append), and `no_replace` holds
 * `replace`, which is the one taken
 */
type Options = ReadonlyArray<string> | string

type Named = readonly [name: string, options: Options]

const has = (options: Options, ...names: Array<string>) => names.some((n) => options.includes(n))

/** the first of `methods` the options name (cloud-init's order), else `fallback` */
const methodOf = <M extends string>(options: Options, methods: ReadonlyArray<M>, fallback: M): M =>
  methods.find((m) => options.includes(m)) ?? fallback

const BUILD: Record<string, (options: Options) => Partial<Mergers>> = {
  dict: (o) => ({
    dict: {
      replace: methodOf(o, ["replace", "no_replace"], "no_replace") === "replace",
      recurseArray: has(o, "recurse_array", "recurse_list"),
      recurseStr: has(o, "recurse_str"),
      allowDelete: has(o, "allow_delete")
    }
  }),
  list: (o) => ({
    list: {
      method: methodOf(o, ["append", "prepend", "replace", "no_replace"], "replace"),
      recurseArray: has(o, "recurse_array", "recurse_list"),
      recurseStr: has(o, "recurse_str"),
      recurseDict: has(o, "recurse_dict")
    }
  }),
  str: (o) => ({ str: { append: has(o, "append") } })
}

/** `list(append)+dict(recurse_array)+str()` → its mergers in order; Left when it is not written so */
const namedInText = (text: string): Either.Either<Array<Named>, void> => {
  const named: Array<Named> = []
  for (const item of text.split("+")) {
    const word = item.trim().toLowerCase().replace(/-/g, "_")
    if (word === "") continue
    const m = /^([a-z_][a-z0-9_]*)\((.*?)\)$/.exec(word)
    if (m === null) return Either.left(undefined)
    named.push([m[1]!, m[2]!.split(",").map((o) => o.trim()).filter((o) => o !== "")])
  }
  return Either.right(named)
}

/** the key's value: that text, or a list of `{name, settings}` maps or `[name, option...]` lists */
const namedInKey = (value: unknown): Either.Either<Array<Named>, void> => {
  if (typeof value === "string") return namedInText(value)
  if (!Array.isArray(value)) return Either.left(undefined)
  const named: Array<Named> = []
  for (const item of value) {
    const map = asMap(item)
    const [name, options] = map !== undefined ? [map["name"], map["settings"] ?? []] : Array.isArray(item) ? [item[0], item.slice(1)] : []
    const text = map !== undefined && typeof options === "string"
    if (typeof name !== "string" || !(text || (Array.isArray(options) && options.every((o) => typeof o === "string")))) return Either.left(undefined)
    if (name.trim() !== "") named.push([name.replace(/-/g, "_").trim(), options])
  }
  return Either.right(named)
}

const DEFAULT: ReadonlyArray<Named> = [["dict", ["replace"]], ["list", []], ["str", []]]

export interface PartMergers {
  /** Left: why the mergers the part names cannot be used */
  readonly mergers: Either.Either<Mergers, string>
  /** the part's keys without the merger key */
  readonly raw: Record<string, unknown>
}

const without = (raw: Record<string, unknown>, key: string): Record<string, unknown> => {
  const { [key]: _, ...rest } = raw
  return rest
}

/**
 * `merge_how`, or when it is missing or null `merge_type`, as cloud-init
 * reads them; both taken out of the keys: a `merge_type` beside `merge_how`
 * is left unread by cloud-init, and is no configuration either
 */
const takeKey = (raw: Record<string, unknown>): { readonly key?: string; readonly value?: unknown; readonly rest: Record<string, unknown> } => {
  const how = raw["merge_how"]
  const type = raw["merge_type"]
  const rest = without(without(raw, "merge_how"), "merge_type")
  if (how !== undefined && how !== null) return { key: "merge_how", value: how, rest }
  return type !== undefined && type !== null ? { key: "merge_type", value: type, rest } : { rest }
}

/** the mergers `from` names, or why they cannot be used */
const known = (named: Either.Either<Array<Named>, void>, from: string): Either.Either<Array<Named>, string> =>
  Either.match(named, {
    onLeft: () => Either.left(`${from} is not a list of mergers such as list(append)+dict(recurse_array)+str()`),
    onRight: (n) =>
      n.every(([name]) => Object.hasOwn(BUILD, name)) ? Either.right(n) : Either.left(`${from} names a merger other than dict(), list() and str()`)
  })

/** The mergers a part names (the key's before the header's, each kind's first one used), else the default ones. */
export const partMergers = (raw: Record<string, unknown>, header: string | undefined): PartMergers => {
  const { key, value, rest } = takeKey(raw)
  const fromKey = key === undefined ? Either.right([]) : known(namedInKey(value), `the ${key} key`)
  const fromHeader = header === undefined ? Either.right([]) : known(namedInText(header), "the Merge-Type header")
  const mergers = Either.map(Either.all([fromKey, fromHeader]), ([k, h]) => {
    const named = k.length + h.length > 0 ? [...k, ...h] : DEFAULT
    return named.reduceRight<Mergers>((m, [name, options]) => ({ ...m, ...BUILD[name]!(options) }), {})
  })
  return { mergers, raw: rest }
}

// ---- merging, each value with where it came from -------------------------------------------------

/**
 * Where a merged value came from: a node of one part's document (`path` in
 * `source`); for a map or list built from several parts, its entries' own
 * origins (the node itself then being the latest part's).
 */
export interface Origin<S> {
  readonly source: S
  readonly path: ReadonlyArray<Key>
  readonly entries?: Entries<S>
}

/** a merged map's or list's entries' origins, by key or index */
export interface Entries<S> {
  get(key: Key): Origin<S> | undefined
}

export interface Traced<S> {
  readonly value: unknown
  readonly origin: Origin<S>
}

/** where `path` of the merged value came from: the part and the path in it */
export const originOf = <S>(origin: Origin<S>, path: ReadonlyArray<Key>): { readonly source: S; readonly path: ReadonlyArray<Key> } => {
  let at = origin
  let i = 0
  for (; i < path.length && at.entries !== undefined; i++) {
    const next = at.entries.get(path[i]!)
    if (next === undefined) return { source: at.source, path: at.path }
    at = next
  }
  return { source: at.source, path: [...at.path, ...path.slice(i)] }
}

const entryOf = <S>(t: Traced<S>, key: Key): Origin<S> => t.origin.entries?.get(key) ?? { source: t.origin.source, path: [...t.origin.path, key] }

const at = <S>(t: Traced<S>, key: Key, value: unknown): Traced<S> => ({ value, origin: entryOf(t, key) })

/**
 * A list's entries' origins, in the list's order: `list(prepend)` moves them
 * along with its items, by one move of each array, where a map by index had
 * every one of them set again for each part that prepends.
 */
class ListEntries<S> implements Entries<S> {
  constructor(readonly origins: Array<Origin<S>>) {}
  get(key: Key): Origin<S> | undefined {
    return typeof key === "number" ? this.origins[key] : undefined
  }
}

/**
 * The maps and lists a merge built, with their entries' origins: they are
 * changed in place by later merges, so many parts merge in linear time. A
 * part's own maps and lists are copied first (YAML aliases may share them).
 */
export type Built<S> = WeakMap<object, Map<Key, Origin<S>> | ListEntries<S>>

/** the earlier map or list to change in place, and its entries' origins: itself when built here, else a copy and `entriesOf` it */
const owned = <S, V extends object, E extends Map<Key, Origin<S>> | ListEntries<S>>(
  built: Built<S>,
  earlier: Traced<S>,
  copy: (v: V) => V,
  entriesOf: (fresh: V) => E
): { value: V; entries: E } => {
  const value = earlier.value as V
  const entries = built.get(value)
  if (entries !== undefined) return { value, entries: entries as E }
  const fresh = copy(value)
  const freshEntries = entriesOf(fresh)
  built.set(fresh, freshEntries)
  return { value: fresh, entries: freshEntries }
}

/** `items` put before the list's own, in place: one move of its items (a long list of them not spread into arguments, which have a limit) */
const putBefore = <T>(list: Array<T>, items: ReadonlyArray<T>) => {
  if (items.length <= 8192) {
    list.unshift(...items)
    return
  }
  const own = list.splice(0)
  for (const item of items) list.push(item)
  for (const item of own) list.push(item)
}

/** the merged value, placed where the later part's node is */
const result = <S>(value: unknown, later: Traced<S>, entries: Entries<S>): Traced<S> => ({
  value,
  origin: { source: later.origin.source, path: later.origin.path, entries }
})

interface Context<S> {
  readonly mergers: Mergers
  readonly built: Built<S>
}

/** a value of a kind the options recurse into is merged, anything else is `otherwise` */
const recursed = <S>(
  c: Context<S>,
  earlier: Traced<S>,
  later: Traced<S>,
  flags: { readonly array: boolean; readonly str: boolean; readonly dict: boolean },
  otherwise: Traced<S>
): Traced<S> => {
  const v = later.value
  const recurse = (Array.isArray(v) && flags.array) || (typeof v === "string" && flags.str) || (asMap(v) !== undefined && flags.dict)
  return recurse ? mergeValues(c, earlier, later) : otherwise
}

/** `map[key] = v` as a data property of its own: a part's key `__proto__` is a key like any other, not the map's prototype */
const ownKey = (map: Record<string, unknown>, key: string, v: unknown) =>
  Object.defineProperty(map, key, { value: v, writable: true, enumerable: true, configurable: true })

const mergeDict = <S>(c: Context<S>, d: DictMerger, earlier: Traced<S>, later: Traced<S>): Traced<S> => {
  const neu = asMap(later.value)
  if (neu === undefined) return earlier
  const { value, entries } = owned(
    c.built,
    earlier,
    (v: Record<string, unknown>) => ({ ...v }),
    (fresh) => new Map<Key, Origin<S>>(Object.keys(fresh).map((k) => [k, entryOf(earlier, k)]))
  )
  for (const [k, v] of Object.entries(neu)) {
    if (!Object.hasOwn(value, k)) {
      ownKey(value, k, v)
      entries.set(k, entryOf(later, k))
    } else if (v === null && d.allowDelete) {
      delete value[k]
      entries.delete(k)
    } else {
      const [a, b] = [{ value: value[k], origin: entries.get(k)! }, at(later, k, v)]
      const merged = d.replace ? b : recursed(c, a, b, { array: d.recurseArray, str: d.recurseStr, dict: true }, a)
      ownKey(value, k, merged.value)
      entries.set(k, merged.origin)
    }
  }
  return result(value, later, entries)
}

const mergeList = <S>(c: Context<S>, l: ListMerger, earlier: Traced<S>, later: Traced<S>): Traced<S> => {
  const neu = later.value
  if (!Array.isArray(neu)) return l.method === "replace" ? later : earlier
  const { value, entries } = owned(
    c.built,
    earlier,
    (v: Array<unknown>) => [...v],
    (fresh) => new ListEntries(fresh.map((_, i) => entryOf(earlier, i)))
  )
  const { origins } = entries
  const added = neu.map((v: unknown, i): Traced<S> => at(later, i, v))
  const put = (items: ReadonlyArray<Traced<S>>, from: number) =>
    items.forEach((t, i) => {
      value[from + i] = t.value
      origins[from + i] = t.origin
    })
  if (l.method === "append") put(added, value.length)
  else if (l.method === "prepend") {
    // the earlier items and their origins are moved along by one unshift each, never set again one by one (n²/2 of them for n parts)
    putBefore(value, neu)
    putBefore(origins, added.map((t) => t.origin))
  } else if (l.method === "replace") {
    // only the indexes both have: a longer later list's extra items are dropped, as in cloud-init
    const common = added.slice(0, value.length)
    const flags = { array: l.recurseArray, str: l.recurseStr, dict: l.recurseDict }
    put(common.map((b, i) => recursed(c, { value: value[i], origin: origins[i]! }, b, flags, b)), 0)
  }
  return result(value, later, entries)
}

/** `earlier` merged with `later`, by the merger for the earlier value's kind; without one, the earlier value stays */
const mergeValues = <S>(c: Context<S>, earlier: Traced<S>, later: Traced<S>): Traced<S> => {
  const { dict, list, str } = c.mergers
  const v = earlier.value
  if (asMap(v) !== undefined) return dict ? mergeDict(c, dict, earlier, later) : earlier
  if (Array.isArray(v)) return list ? mergeList(c, list, earlier, later) : earlier
  if (typeof v === "string" && str) {
    if (!str.append || typeof later.value !== "string") return later
    return { value: v + later.value, origin: later.origin }
  }
  return earlier
}

/** `later` merged onto `earlier` by `mergers`; `built` is kept from one merge to the next */
export const merge = <S>(mergers: Mergers, built: Built<S>, earlier: Traced<S>, later: Traced<S>): Traced<S> =>
  mergeValues({ mergers, built }, earlier, later)
