import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { LockError } from "../domain/errors.js"

/** Exclusive locks on files, between processes (and between fibers of one). */
export interface LockShape {
  /**
   * Waits for the exclusive lock on the file at `path` and holds it until
   * the scope closes; a missing file is not made (the lock of its directory,
   * taken first, keeps holders apart: a holder killed before it put its file
   * there leaves none, rather than an empty one). The lock is on the file the path
   * names when it is granted: a file replaced by rename while waiting is
   * locked again, so holders never overlap.
   */
  readonly exclusive: (path: string) => Effect.Effect<void, LockError, Scope.Scope>
  /**
   * The exclusive lock on the directory at `path` itself (no file is made
   * in it), held until the scope closes; `waiting` runs first when another
   * holds it, then the lock is waited for.
   */
  readonly directory: <E, R>(path: string, waiting: Effect.Effect<void, E, R>) => Effect.Effect<void, LockError | E, Scope.Scope | R>
}

export class Lock extends Context.Tag("tiny-cloud/Lock")<Lock, LockShape>() {}
