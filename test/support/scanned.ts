/**
 * How much of its arrays a piece of code searched: the sum of the lengths
 * of the arrays it called a search on (includes, indexOf, find...). A
 * linear algorithm searches a few lists once or many short ones; one that
 * looks for each new item in the items taken before it (the usual way to
 * quadratic time) searches about n²/2 elements for n items, which a test
 * sees at a few thousand items, in milliseconds, with no clock.
 */
const SEARCHES = ["includes", "indexOf", "lastIndexOf", "find", "findIndex", "findLast", "findLastIndex", "some", "every"] as const

export const elementsSearched = async <A>(run: () => Promise<A>): Promise<{ readonly result: A; readonly searched: number }> => {
  const proto = Array.prototype as unknown as Record<string, (...args: Array<unknown>) => unknown>
  const originals = SEARCHES.map((name) => [name, proto[name]!] as const)
  let searched = 0
  for (const [name, original] of originals) {
    proto[name] = function (this: ReadonlyArray<unknown>, ...args: Array<unknown>) {
      searched += this.length
      return original.apply(this, args)
    }
  }
  try {
    const result = await run()
    return { result, searched }
  } finally {
    for (const [name, original] of originals) proto[name] = original
  }
}
