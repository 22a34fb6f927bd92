/**
 * The live clock, whose sleeps end once the I/O that came meanwhile has been
 * read. A process stopped (SIGSTOP, a paused VM) or starved of the CPU past a
 * timeout finds its timers due before the data its sockets got meanwhile:
 * Node runs due timers before it polls. A timeout decided there throws away an
 * answer that came in time (a metadata read sent again, or failed at its
 * deadline). Each sleep here ends a turn later, after that poll (`setImmediate`):
 * a timeout or deadline Effect counts is decided on what has come.
 *
 * Its monotonic time (`currentTimeNanos`) is the kernel's CLOCK_MONOTONIC
 * (`process.hrtime`), counted from the kernel's boot, not from this
 * process's start set to the wall clock's date as Effect's is: the same
 * clock in every process of a boot, so that the phases' starts the run
 * record keeps (the resident process's and those of phases run on their
 * own) give the time between them however NTP stepped the wall clock.
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
  unsafeCurrentTimeNanos: () => process.hrtime.bigint(),
  currentTimeNanos: Effect.sync(() => process.hrtime.bigint()),
  sleep: (duration) => Effect.zipRight(base.sleep(duration), afterPoll)
}
