import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * The clock the effect runs on, with a wall clock (`currentTimeMillis`) that
 * `step` moves by as many ms, as NTP steps a wrong clock on a first boot; its
 * monotonic time (`currentTimeNanos`) and its sleeps go on as before (the
 * TestClock's, or the live clock's). Given to a run by `Effect.withClock`.
 */
export const steppableWallClock = Effect.map(Effect.clock, (base) => {
  let offset = 0
  const wall = () => base.unsafeCurrentTimeMillis() + offset
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: wall,
    currentTimeMillis: Effect.sync(wall),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos(),
    currentTimeNanos: base.currentTimeNanos,
    sleep: (duration) => base.sleep(duration)
  }
  return {
    clock,
    step: (ms: number) => {
      offset += ms
    }
  }
})
