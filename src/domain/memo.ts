import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as SynchronizedRef from "effect/SynchronizedRef"

/**
 * An effect that runs `self` once and keeps its value; a failure is not
 * kept, so the next use tries again. Concurrent first uses wait for one run.
 */
export const memoizeSuccess = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<Effect.Effect<A, E, R>> =>
  Effect.map(SynchronizedRef.make(Option.none<A>()), (ref) =>
    SynchronizedRef.modifyEffect(ref, (current) =>
      Option.isSome(current) ? Effect.succeed([current.value, current] as const) : Effect.map(self, (a) => [a, Option.some(a)] as const)
    )
  )
