/**
 * How much a piece of code searched, counted rather than timed: a linear
 * reading searches a few lists or texts once, or many short ones; one that
 * searches the items before each new item, or the rest of a text at each of
 * its lines (the usual ways to quadratic time), searches about n²/2 for n
 * items or lines, which a test sees at a few thousand, in milliseconds.
 */

/** replaces `names` of `proto` by versions that add what `measure` says of each call, for the time of `run` */
const counting = async <A>(
  proto: object,
  names: ReadonlyArray<string>,
  measure: (self: { readonly length: number }) => number,
  run: () => Promise<A> | A
): Promise<{ readonly result: A; readonly searched: number }> => {
  const methods = proto as Record<string, (...args: Array<unknown>) => unknown>
  const originals = names.map((name) => [name, methods[name]!] as const)
  let searched = 0
  for (const [name, original] of originals) {
    methods[name] = function (this: { readonly length: number }, ...args: Array<unknown>) {
      searched += measure(this)
      return original.apply(this, args)
    }
  }
  try {
    const result = await run()
    return { result, searched }
  } finally {
    for (const [name, original] of originals) methods[name] = original
  }
}

/** the elements of the arrays `run` searched: the lengths of those it called includes, indexOf, find... on */
export const elementsSearched = <A>(run: () => Promise<A> | A) =>
  counting(Array.prototype, ["includes", "indexOf", "lastIndexOf", "find", "findIndex", "findLast", "findLastIndex", "some", "every"], (a) => a.length, run)

/** the characters of the strings `run` split, matched or replaced in whole: the lengths of those it called split, match, replace... on */
export const charactersScanned = <A>(run: () => Promise<A> | A) =>
  counting(String.prototype, ["split", "match", "matchAll", "replace", "replaceAll", "search"], (s) => s.length, run)
