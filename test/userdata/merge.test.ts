import * as Either from "effect/Either"
import { describe, expect, it, vi } from "vitest"
import { type Built, merge, type Mergers, originOf, partMergers, type Traced } from "../../src/domain/userdata/merge.js"

const mergersOf = (header: string | undefined, raw: Record<string, unknown> = {}): Mergers =>
  Either.getOrThrowWith(partMergers(raw, header).mergers, (why) => new Error(why))

/** the parts merged in order, each its own source (its number) */
const mergeAll = (mergers: Mergers, parts: ReadonlyArray<Record<string, unknown>>): Traced<number> => {
  const built: Built<number> = new WeakMap()
  return parts.reduce<Traced<number>>(
    (earlier, raw, i) => merge(mergers, built, earlier, { value: raw, origin: { source: i + 1, path: [] } }),
    { value: {}, origin: { source: 0, path: [] } }
  )
}

describe("partMergers", () => {
  it("reads cloud-init's default when the part names none", () => {
    expect(mergersOf(undefined)).toEqual({
      dict: { replace: true, recurseArray: false, recurseStr: false, allowDelete: false },
      list: { method: "replace", recurseArray: false, recurseStr: false, recurseDict: false },
      str: { append: false }
    })
  })

  it("uses the key's mergers before the header's, each kind's first one; case, spaces and dashes do not matter", () => {
    const { mergers, raw } = partMergers({ merge_how: "List(Append) + dict(no-replace, recurse_list)", hostname: "x" }, "list(prepend)+str(append)")
    expect(raw).toEqual({ hostname: "x" })
    expect(Either.getOrThrow(mergers)).toEqual({
      dict: { replace: false, recurseArray: true, recurseStr: false, allowDelete: false },
      list: { method: "append", recurseArray: false, recurseStr: false, recurseDict: false },
      str: { append: true }
    })
  })

  it("searches settings written as one string as cloud-init does (Python's `in`): `append` is list(append), `no_replace` holds replace", () => {
    // cloud-init 22.4 merges {a: [1], h: one} with {a: [2], h: two} into {a: [1, 2], h: one}, then with the second into {a: [2], h: two}
    const stringSettings = partMergers({ merge_how: [{ name: "list", settings: "append" }, { name: "dict", settings: "recurse_list" }], a: 1 }, undefined)
    expect([Either.getOrThrow(stringSettings.mergers).list?.method, Either.getOrThrow(stringSettings.mergers).dict, stringSettings.raw]).toEqual([
      "append",
      { replace: false, recurseArray: true, recurseStr: false, allowDelete: false },
      { a: 1 }
    ])
    expect(mergersOf(undefined, { merge_how: [{ name: "dict", settings: "no_replace" }] }).dict?.replace).toBe(true)
  })

  it("takes merge_type when merge_how is missing", () => {
    const { mergers, raw } = partMergers({ merge_type: [["dict", "replace"]], a: 1 }, undefined)
    expect([Either.getOrThrow(mergers).dict?.replace, Either.getOrThrow(mergers).list, raw]).toEqual([true, undefined, { a: 1 }])
  })

  it("reads merge_how over merge_type, and takes both out of the keys", () => {
    const { mergers, raw } = partMergers({ merge_how: "list(append)", merge_type: "dict(replace)", a: 1 }, undefined)
    expect([Either.getOrThrow(mergers).list?.method, Either.getOrThrow(mergers).dict, raw]).toEqual(["append", undefined, { a: 1 }])
  })
})

describe("merge", () => {
  it("appends lists and keeps earlier values with list(append)+dict(no_replace,recurse_array)", () => {
    const merged = mergeAll(mergersOf("list(append)+dict(no_replace,recurse_array)+str()"), [
      { hostname: "one", runcmd: ["a"], ntp: { servers: ["x"] } },
      { hostname: "two", runcmd: ["b"], ntp: { servers: ["y"], pools: ["p"] } }
    ])
    expect(merged.value).toEqual({ hostname: "one", runcmd: ["a", "b"], ntp: { servers: ["x", "y"], pools: ["p"] } })
  })

  it("replaces, prepends and joins as asked; allow_delete drops a key set to null", () => {
    const merged = mergeAll(mergersOf("dict(no_replace,recurse_array,recurse_str,allow_delete)+list(prepend)+str(append)"), [
      { a: "x", b: [1], c: 1 },
      { a: "y", b: [2], c: null }
    ])
    expect(merged.value).toEqual({ a: "xy", b: [2, 1] })
  })

  it("replaces the items at the indexes both lists have with list(replace), dropping a longer list's extra items", () => {
    const merged = mergeAll(mergersOf("dict(no_replace,recurse_array)+list(replace)"), [{ l: [1, 2, 3] }, { l: [9] }, { l: [7, 8, 6, 5] }])
    expect(merged.value).toEqual({ l: [7, 8, 6] })
  })

  it("leaves the parts' own maps alone, shared ones too (YAML aliases)", () => {
    const shared = { servers: ["x"] }
    const first = { ntp: shared, other: shared }
    const merged = mergeAll(mergersOf("dict(no_replace,recurse_array)+list(append)"), [first, { ntp: { servers: ["y"] } }])
    expect(merged.value).toEqual({ ntp: { servers: ["x", "y"] }, other: { servers: ["x"] } })
    expect(first).toEqual({ ntp: { servers: ["x"] }, other: { servers: ["x"] } })
  })

  it("knows which part, and where in it, each merged entry came from", () => {
    const merged = mergeAll(mergersOf("list(prepend)+dict(no_replace,recurse_array)"), [{ runcmd: ["a", "b"], users: [{ name: "u" }] }, { runcmd: ["c"] }])
    expect(originOf(merged.origin, ["runcmd", 0])).toEqual({ source: 2, path: ["runcmd", 0] })
    expect(originOf(merged.origin, ["runcmd", 2])).toEqual({ source: 1, path: ["runcmd", 1] })
    expect(originOf(merged.origin, ["users", 0, "name"])).toEqual({ source: 1, path: ["users", 0, "name"] })
    expect(originOf(merged.origin, ["runcmd"])).toEqual({ source: 2, path: ["runcmd"] })
  })

  // (linear in their entries, measured by hand; tests carry no wall-clock bounds)
  it("merges many parts, every entry kept", () => {
    const mergers = mergersOf("list(append)+dict(no_replace,recurse_array)")
    const parts = Array.from({ length: 8_000 }, (_, i) => ({ [`key${i}`]: i, runcmd: [`echo ${i}`] }))
    const merged = mergeAll(mergers, parts)
    expect((merged.value as { runcmd: Array<string> }).runcmd).toHaveLength(8_000)
    expect(Object.keys(merged.value as object)).toHaveLength(8_001)
  }, 120_000)

  // counted rather than timed: each part's prepend set the origin of every earlier item again (n²/2 of them: 20,000
  // parts of one runcmd entry each, 6 MB of MIME, took 18 s in every phase that read the user-data)
  it("prepends many parts' items without going over the earlier items again, each entry kept and placed", () => {
    const mergers = mergersOf("list(prepend)+dict(no_replace,recurse_array)")
    const parts = Array.from({ length: 3_000 }, (_, i) => ({ runcmd: [`echo ${i}`] }))
    let visited = 0
    const { set } = Map.prototype
    const { map, forEach } = Array.prototype
    const spies = [
      vi.spyOn(Map.prototype, "set").mockImplementation(function (this: Map<unknown, unknown>, ...args: [unknown, unknown]) {
        visited++
        return set.apply(this, args)
      }),
      vi.spyOn(Array.prototype, "map").mockImplementation(function (this: Array<unknown>, ...args: Parameters<typeof map>) {
        visited += this.length
        return map.apply(this, args)
      }),
      vi.spyOn(Array.prototype, "forEach").mockImplementation(function (this: Array<unknown>, ...args: Parameters<typeof forEach>) {
        visited += this.length
        return forEach.apply(this, args)
      })
    ]
    let merged: Traced<number>
    try {
      merged = mergeAll(mergers, parts)
    } finally {
      spies.forEach((spy) => spy.mockRestore())
    }
    expect(visited).toBeLessThan(20 * parts.length)
    const runcmd = (merged.value as { runcmd: Array<string> }).runcmd
    expect([runcmd.length, runcmd[0], runcmd[2_999]]).toEqual([3_000, "echo 2999", "echo 0"])
    expect(originOf(merged.origin, ["runcmd", 0])).toEqual({ source: 3_000, path: ["runcmd", 0] })
    expect(originOf(merged.origin, ["runcmd", 2_999])).toEqual({ source: 1, path: ["runcmd", 0] })
  })

  it("prepends a part's list longer than a call takes arguments, before the earlier items, in its order", () => {
    const long = Array.from({ length: 200_000 }, (_, i) => i)
    const merged = mergeAll(mergersOf("list(prepend)+dict(no_replace,recurse_array)"), [{ l: ["a"] }, { l: long }])
    const l = (merged.value as { l: Array<unknown> }).l
    expect([l.length, l[0], l[199_999], l[200_000]]).toEqual([200_001, 0, 199_999, "a"])
    expect(originOf(merged.origin, ["l", 200_000])).toEqual({ source: 1, path: ["l", 0] })
  })
})
