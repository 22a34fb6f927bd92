import * as Effect from "effect/Effect"

/**
 * Milliseconds on a clock that only goes forward, for durations, deadlines
 * and lifetimes. Effect's `currentTimeMillis` is the wall clock, which NTP
 * steps on a first boot (a clock at 1970 or years ahead set right by chrony
 * or ntpd, between two phases or within one); `currentTimeNanos` is the
 * process's monotonic clock (the TestClock's time in tests). Its origin is
 * the clock's: a duration, never a date; the live clock's (ClockLive) is the
 * kernel's boot, the same in every process of a boot. (Read unsafely: the TestClock's
 * `currentTimeNanos` fails on a time of fractional ms, as jittered delays give.)
 */
export const monotonicMillis: Effect.Effect<number> = Effect.clockWith((clock) => Effect.sync(() => Number(clock.unsafeCurrentTimeNanos() / 1_000_000n)))
