/**
 * What the network helpers share (BEHAVIOUR.md §8): they are run by mdev and
 * ifupdown-ng with their input in the environment, log to syslog under
 * their own name, and report a failure as one error line (stderr and
 * syslog) with exit status 1.
 */
import * as Effect from "effect/Effect"
import { Config } from "../../services/Config.js"
import { err } from "../../services/Log.js"

/** a variable of the helper's environment (MDEV, ACTION, IFACE, PHASE); empty is unset */
export const envValue = (key: string) =>
  Effect.map(Config, (settings): string | undefined => {
    const value = settings.values[key]
    return value === undefined || value === "" ? undefined : value
  })

/** the error line, exit status 1 */
export const failed = (message: string) => Effect.as(err(message), 1)

/** a helper's run: a failure it did not report itself becomes its error line and exit status 1 */
export const helper = <E extends { readonly message: string }, R>(program: Effect.Effect<number, E, R>) =>
  Effect.catchAll(program, (e) => failed(e.message))

/** the instance path of the interfaces file the helpers rebuild and lock */
export const INTERFACES = "/etc/network/interfaces"
