/** One configuration document read key by key: a key that cannot be used is skipped, the others are applied. */
import type { ReadContext, Reader } from "./common.js"
import type { UserConfig } from "./model.js"
import { asMap, show } from "./notes.js"
import { ownEntry } from "../own.js"

export type { Reader }

export interface DocumentRead {
  readonly config: Partial<UserConfig>
  /** top-level keys that gave something */
  readonly applied: number
}

/**
 * Each key the readers know, in document order (a later key's fields win);
 * a key whose value is YAML null is absent unless it is in `nullMeans`.
 * Keys no reader knows are noted as not carried out. A document that is not
 * a map gives nothing, with one problem.
 */
export const readDocument = (
  raw: unknown,
  readers: Readonly<Record<string, Reader>>,
  context: ReadContext,
  label: string,
  options: {
    /** keys whose YAML null means something (cloud-config `ntp:`) */
    readonly nullMeans?: ReadonlySet<string>
    /** known keys the caller reads itself */
    readonly elsewhere?: ReadonlySet<string>
  } = {}
): DocumentRead => {
  const doc = asMap(raw)
  if (doc === undefined) {
    context.notes.problem([], `expected a map of ${label} keys, got ${show(raw)}`)
    return { config: {}, applied: 0 }
  }
  let config: Partial<UserConfig> = {}
  let applied = 0
  for (const [key, value] of Object.entries(doc)) {
    if (options.elsewhere?.has(key)) continue
    const reader = ownEntry(readers, key)
    if (reader === undefined) {
      context.notes.ignore([key])
      continue
    }
    if (value === null && !options.nullMeans?.has(key)) continue
    const part = reader(value, [key], context)
    if (part === undefined) continue
    config = { ...config, ...part }
    applied++
  }
  return { config, applied }
}
