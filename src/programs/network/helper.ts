/**
 * What the network helpers share (BEHAVIOUR.md §8): they are run by mdev and
 * ifupdown-ng with their input in the environment, log to syslog under
 * their own name, and report a failure as one error line (stderr and
 * syslog) with exit status 1.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { problemLine } from "../../domain/settings.js"
import { Config } from "../../services/Config.js"
import { err } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"

/**
 * a variable of the helper's environment (MDEV, ACTION, IFACE, PHASE); empty is unset. The event's own: never
 * tiny-cloud.conf's, where such a key is one this program does not use (`config` names it so), not an event
 */
export const envValue = (key: string) =>
  Effect.map(Config, (settings): string | undefined => {
    const value = settings.sources[key]?.from === "environment" ? settings.values[key] : undefined
    return value === undefined || value === "" ? undefined : value
  })

/** the error line, exit status 1 */
export const failed = (message: string) => Effect.as(err(message), 1)

/**
 * a helper's run: a failure it did not report itself becomes its error line
 * and exit status 1. A bad line or value of tiny-cloud.conf costs only its
 * own key, as in a phase: named in an error line, the event still handled
 * (a typo must not leave hotplugged NICs and volumes unconfigured), exit 1.
 */
export const helper = <E extends { readonly message: string }, R>(program: Effect.Effect<number, E, R>) =>
  Effect.gen(function* () {
    const { problems } = yield* Config
    yield* Effect.forEach(problems, (p) => err(problemLine(p)), { discard: true })
    const code = yield* Effect.catchAll(program, (e) => failed(e.message))
    return problems.length > 0 ? Math.max(code, 1) : code
  })

/** the instance path of the interfaces file the helpers rebuild and lock */
export const INTERFACES = "/etc/network/interfaces"

/**
 * the interfaces file's path as it is locked: where its directory is inside ROOT (a link in that directory's path,
 * an absolute one, leads under ROOT, never out of it)
 */
export const interfacesLockPath = Effect.gen(function* () {
  const fs = yield* RootFs
  const path = fs.at(INTERFACES)
  return `${yield* fs.realPath(path.slice(0, path.lastIndexOf("/")))}/${path.slice(path.lastIndexOf("/") + 1)}`
})

/**
 * why `dir` (interfaces.d) cannot be read, or none: said as the shell
 * edition's `cd` says it (its own test looks for "No such file or directory")
 */
export const notADirectory = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    if (yield* fs.isDirectory(dir)) return Option.none<string>()
    return Option.some(`${dir}: ${(yield* fs.exists(dir)) ? "not a directory" : "no such file or directory"}`)
  })
