/**
 * The live clock, whose sleeps end once the I/O that came meanwhile has been
 * read. A process stopped (SIGSTOP, a paused VM) or starved of the CPU past a
 * timeout finds its timers due before the data its sockets got meanwhile:
 * Node runs due timers before it polls. A timeout decided there throws away an
 * answer that came in time (a metadata read sent again, or failed at its
 * deadline). Each sleep here ends a turn later, after that poll (`setImmediate`):
 * a timeout or deadline Effect counts is decided on what has come.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/** the next turn of the event loop, after its poll of the sockets */
const afterPoll = Effect.async<void>((resume) => {
  const turn = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(turn))
})

const base = Clock.make()

export const liveClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis(),
  currentTimeMillis: base.currentTimeMillis,
  unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos(),
  currentTimeNanos: base.currentTimeNanos,
  sleep: (duration) => Effect.zipRight(base.sleep(duration), afterPoll)
}
