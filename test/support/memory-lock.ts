/**
 * The locks of an instance whose phases run in this process, kept in
 * memory: what the real lock (src/layers/LockLive.ts) does that a test of
 * something else sees, without its `flock` process per lock. A phase
 * excludes the others of its instance, `directory` says `waiting` when the
 * lock is another's, a missing directory fails the same way, and a locked
 * file is not created where it is missing. Tests whose subject is the lock
 * itself (flock's failures, another program's flock) take the real one.
 */
import { closeSync, constants, existsSync, lstatSync, openSync } from "node:fs"
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import { LockError } from "../../src/domain/errors.js"
import type { LockShape } from "../../src/services/Lock.js"

/** the file opened and closed at once, as the real lock opens it: no such directory, a path that is no file, as it fails */
const touch = (path: string, flags: "a" | "r") =>
  Effect.try({
    try: () => {
      if (flags === "a" && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) return
      if (flags === "a" && !existsSync(path)) return
      if (flags === "a" && !lstatSync(path).isFile()) throw new Error("not a regular file; refused")
      closeSync(flags === "r" ? openSync(path, "r") : openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK))
    },
    catch: (e) => new LockError({ path, reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (e as Error).message })
  })

/** a fresh set of locks, one per path: those of one instance */
export const makeMemoryLock = (): LockShape => {
  // busy: holders and waiters, counted as they come, so that whether the lock is free at once is known without a race
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; busy: number }>()
  const entry = (path: string) => {
    const found = locks.get(path)
    if (found !== undefined) return found
    const made = { semaphore: Effect.unsafeMakeSemaphore(1), busy: 0 }
    locks.set(path, made)
    return made
  }
  /** the lock on `path` until the scope closes; `waiting` first when another holds it */
  const hold = <E, R>(path: string, waiting: Effect.Effect<void, E, R>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        Effect.sync(() => {
          const lock = entry(path)
          return { lock, free: lock.busy++ === 0 }
        }),
        ({ lock, free }) =>
          restore(Effect.zipRight(free ? Effect.void : waiting, lock.semaphore.take(1))).pipe(
            Effect.onError(() => Effect.sync(() => lock.busy--)),
            Effect.zipRight(Effect.addFinalizer(() => Effect.zipRight(lock.semaphore.release(1), Effect.sync(() => lock.busy--))))
          )
      )
    )
  return {
    exclusive: (path) => Effect.zipRight(Effect.zipRight(touch(dirname(path), "r"), hold(dirname(path), Effect.void)), Effect.zipRight(touch(path, "a"), hold(path, Effect.void))),
    directory: (path, waiting) => Effect.zipRight(touch(path, "r"), hold(path, waiting))
  }
}
