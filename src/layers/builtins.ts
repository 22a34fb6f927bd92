/**
 * Node's modules that only some runs use, loaded on their first use: each
 * costs milliseconds at start-up, and `imds` or a hotplug event that runs
 * no program and asks no https URL should not pay for them.
 */
import * as Effect from "effect/Effect"

const once = <A>(load: () => Promise<A>) => {
  let loading: Promise<A> | undefined
  let loaded: { readonly module: A } | undefined
  // once loaded, given at once: a promise, even settled, would end the fiber's turn (the resident process's read-ahead
  // gets its first request out before early's phase goes on)
  return Effect.suspend(() =>
    loaded !== undefined ? Effect.succeed(loaded.module) : Effect.promise(() => (loading ??= load().then((module) => ((loaded = { module }), module))))
  )
}

// the bundle is CommonJS run by a vm.Script, where import() of Node's modules has no loader; ESM (tests) has no require
const builtin = <A>(name: string, esm: () => Promise<A>) => once(() => (typeof require === "function" ? Promise.resolve(require(name) as A) : esm()))

export const childProcess = builtin<typeof import("node:child_process")>("node:child_process", () => import("node:child_process"))
export const http = builtin<typeof import("node:http")>("node:http", () => import("node:http"))
export const https = builtin<typeof import("node:https")>("node:https", () => import("node:https"))
export const zlib = builtin<typeof import("node:zlib")>("node:zlib", () => import("node:zlib"))
