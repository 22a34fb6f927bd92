/**
 * Node's modules that only some runs use, loaded on their first use: each
 * costs milliseconds at start-up, and `imds` or a hotplug event that runs
 * no program and asks no https URL should not pay for them.
 */
import * as Effect from "effect/Effect"

const once = <A>(load: () => Promise<A>) => {
  let loaded: Promise<A> | undefined
  return Effect.promise(() => (loaded ??= load()))
}

export const childProcess = once(() => import("node:child_process"))
export const https = once(() => import("node:https"))
