/**
 * Exclusive locks with flock(2), which Node cannot call: we open the file
 * and hand the descriptor to `flock -x 0` (util-linux, or busybox on
 * Alpine) as its stdin. flock(2) locks belong to the open file description,
 * which we share with it: when it exits with the lock granted, the lock is
 * ours, and it goes when we close the descriptor or this process dies. No
 * lock file, so no stale lock to recover after a crash.
 *
 * Files locked this way may be replaced by rename (assemble-interfaces
 * does that to /etc/network/interfaces): a lock granted on a file the path
 * no longer names would let two holders run at once, so the locked file is
 * compared with the path's and locked again until they are the same.
 */
import { spawn } from "node:child_process"
import { closeSync, fstatSync, openSync, statSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { LockError } from "../domain/errors.js"
import { Lock } from "../services/Lock.js"

const open = (path: string) =>
  Effect.try({
    try: () => openSync(path, "a", 0o644),
    catch: (e) => new LockError({ path, reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (e as Error).message })
  })

const close = (fd: number) => Effect.sync(() => closeSync(fd))

/** `flock -x 0` on the descriptor: done when it exits 0 */
const flock = (path: string, fd: number) =>
  Effect.async<void, LockError>((resume) => {
    const child = spawn("flock", ["-x", "0"], { stdio: [fd, "ignore", "pipe"] })
    let err = ""
    child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("error", (e: NodeJS.ErrnoException) =>
      resume(Effect.fail(new LockError({ path, reason: e.code === "ENOENT" ? "flock is not installed" : e.message })))
    )
    child.on("close", (code) =>
      resume(code === 0 ? Effect.void : Effect.fail(new LockError({ path, reason: err.trim().split("\n").pop() || `flock exited with status ${code}` })))
    )
    // interrupted while waiting: it goes, and its place in the queue with it
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** whether the descriptor is the file the path names now */
const stillNamed = (path: string, fd: number) =>
  Effect.sync(() => {
    try {
      const held = fstatSync(fd)
      const named = statSync(path)
      return held.dev === named.dev && held.ino === named.ino
    } catch {
      return false
    }
  })

/** the descriptor holding the lock on the file `path` names */
const acquire = (path: string): Effect.Effect<number, LockError> =>
  Effect.flatMap(open(path), (fd) =>
    flock(path, fd).pipe(
      Effect.zipRight(stillNamed(path, fd)),
      Effect.onError(() => close(fd)),
      Effect.flatMap((named) => (named ? Effect.succeed(fd) : Effect.zipRight(close(fd), acquire(path))))
    )
  )

export const LockLive = Layer.succeed(Lock, {
  // the wait may be interrupted; a lock once granted is released with the scope
  exclusive: (path) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(acquire(path)), (fd) => Effect.addFinalizer(() => close(fd)))
    )
})
