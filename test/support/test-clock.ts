import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"

/** a turn of the real event loop: sockets and files answer in it */
export const realTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** the effect's result and the time that went by on the TestClock, which moves on by `step` after each turn of the real event loop when `moves` */
const advancing = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput, moves: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    const start = yield* TestClock.currentTimeMillis
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return { result: yield* exit.value, elapsedMs: (yield* TestClock.currentTimeMillis) - start }
      yield* realTurn
      if (yield* moves) yield* TestClock.adjust(step)
    }
  })

/**
 * Runs an effect that waits on the clock (timeouts, retries, deadlines) as
 * well as on real I/O: the TestClock moves on by `step` whenever the real
 * event loop has had a turn, until the effect is done. It answers with the
 * effect's result and the time that went by on the TestClock.
 */
export const advancingClock = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "20 millis") => advancing(effect, step, Effect.succeed(true))

/**
 * As advancingClock, but the TestClock moves on only while something waits
 * on it (a retry's delay, a timeout): the turns that the effect's files take
 * cost it no time. For an effect whose network is a stand-in on the Effect
 * clock, so that `step` can be long beside its delays without changing
 * their order.
 */
export const advancingWhileWaited = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput) =>
  advancing(effect, step, Effect.map(TestClock.sleeps(), Chunk.isNonEmpty))

/** `effect` on a TestClock of its own, moved on as advancingClock moves it, inside a test on the live clock: its result */
export const onTestClock = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "20 millis") =>
  Effect.map(advancingClock(effect, step), ({ result }) => result).pipe(Effect.provide(TestContext.TestContext))

/** lets `duration` go by on the TestClock in steps, the real event loop having a turn before each */
export const passTime = (duration: Duration.DurationInput, step: Duration.DurationInput = "20 millis") =>
  Effect.gen(function* () {
    const steps = Math.ceil(Duration.toMillis(duration) / Duration.toMillis(step))
    for (let i = 0; i < steps; i++) {
      yield* realTurn
      yield* TestClock.adjust(step)
    }
  })
