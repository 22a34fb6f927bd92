import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"

/** `ask` up to `tries` times, `every` apart, until it finds something: the first found, or none */
export const askUntilFound = <A, E, R>(ask: Effect.Effect<Option.Option<A>, E, R>, tries: number, every: Duration.DurationInput): Effect.Effect<Option.Option<A>, E, R> =>
  Effect.repeat(
    ask,
    Schedule.spaced(every).pipe(Schedule.intersect(Schedule.recurs(tries - 1)), Schedule.whileInput((found: Option.Option<A>) => Option.isNone(found)), Schedule.passthrough)
  )
