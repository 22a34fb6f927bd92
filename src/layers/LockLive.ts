/**
 * Exclusive locks with flock(2), which Node cannot call: we open the file
 * and hand the descriptor to `flock -x 0` (util-linux, or busybox on
 * Alpine) as its stdin. flock(2) locks belong to the open file description,
 * which we share with it: when it exits with the lock granted, the lock is
 * ours, and it goes when we close the descriptor or this process dies. No
 * lock file, so no stale lock to recover after a crash.
 *
 * Files locked this way may be replaced by rename (assemble-interfaces
 * does that to /etc/network/interfaces), and a holder's rename frees the
 * path for the next comer while the holder still runs. So we first lock
 * the file's directory, which is never replaced, and only then the file
 * (for whoever else locks it); the locked file is compared with the
 * path's and locked again until they are the same.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync } from "node:fs"
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import { LockError } from "../domain/errors.js"
import type { LockShape } from "../services/Lock.js"
import { childProcess } from "./builtins.js"
import { reasonOf } from "./regular-file.js"
import { endsWithThisProcess, keep, problemLine, programEnvironment, STDERR_KEPT_BYTES, whyNotSpawned, type Environment } from "./CommandsLive.js"

/** a directory opened to be locked (its file's lock: openFile below) */
const openDirectory = (path: string) =>
  Effect.try({
    try: () => openSync(path, "r"),
    catch: (e) => new LockError({ path, reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : reasonOf(e) })
  })

const close = (fd: number) => Effect.sync(() => closeSync(fd))

/** `flock -x 0` on the descriptor: true when it exits 0; with `tryOnly` (`-n`), false at once when another holds the lock */
const flock = (env: Environment, path: string, fd: number, tryOnly = false) =>
  Effect.flatMap(childProcess, ({ spawn }) =>
    Effect.async<boolean, LockError>((resume) => {
      const child = spawn("flock", [...(tryOnly ? ["-n"] : []), "-x", "0"], { stdio: [fd, "ignore", "pipe"], env })
      endsWithThisProcess(child)
      // what it says, up to its first STDERR_KEPT_BYTES as of any command: one that floods its stderr costs no more memory
      const errs: Array<Buffer> = []
      let errBytes = 0
      child.stderr?.on("data", (chunk: Buffer) => (errBytes = keep(errs, errBytes, chunk, STDERR_KEPT_BYTES)))
      child.on("error", (e: NodeJS.ErrnoException) =>
        resume(Effect.fail(new LockError({ path, reason: e.code === "ENOENT" ? "flock is not installed" : `flock ${whyNotSpawned(e)}` })))
      )
      child.on("close", (code, signal) => {
        if (code === 0) return resume(Effect.succeed(true))
        if (signal !== null) return resume(Effect.fail(new LockError({ path, reason: `flock killed by ${signal}` })))
        // the line that names its problem, as of any command that fails; busybox's and util-linux's flock -n say nothing
        // when the lock is another's
        const said = problemLine("flock", Buffer.concat(errs))
        if (tryOnly && code === 1 && said === "") return resume(Effect.succeed(false))
        resume(Effect.fail(new LockError({ path, reason: said || `flock exited with status ${code}` })))
      })
      // interrupted while waiting: it goes, and its place in the queue with it
      return Effect.sync(() => child.kill("SIGKILL"))
    })
  )

/** whether the descriptor is the file the path names now */
const stillNamed = (path: string, fd: number) =>
  Effect.sync(() => {
    try {
      const held = fstatSync(fd)
      const named = lstatSync(path)
      return held.dev === named.dev && held.ino === named.ino
    } catch {
      return false
    }
  })

/** a symlink at `path`: its file is not locked, the directory's lock alone keeps holders apart */
const isSymlink = (path: string) =>
  Effect.sync(() => {
    try {
      return lstatSync(path).isSymbolicLink()
    } catch {
      return false
    }
  })

/** the descriptor holding the lock on the file `path` names; none for a symlink */
const acquireFile = (env: Environment, path: string): Effect.Effect<number | undefined, LockError> =>
  Effect.flatMap(isSymlink(path), (link) => (link ? Effect.succeed(undefined) : acquireRegular(env, path)))

/**
 * the file opened where it is, to be locked; none where it is missing: no file is made for the lock (the directory's
 * alone keeps holders apart, as for a symlink), which a holder killed before it renamed its file into place would
 * leave empty, an interfaces file that set_default_interfaces takes for the image's. One that is no regular file is
 * refused, as the file's readers and writers refuse it: a FIFO's open for writing would wait for a reader for ever
 */
const openFile = (path: string) =>
  Effect.try({
    try: () => {
      let fd: number
      try {
        // never through a symlink: one may point out of ROOT; never waiting (a FIFO without a reader: ENXIO)
        fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === "ENOENT") return undefined
        if (code === "ENXIO" || code === "EISDIR") throw new Error(NOT_REGULAR)
        throw e
      }
      if (fstatSync(fd).isFile()) return fd
      closeSync(fd)
      throw new Error(NOT_REGULAR)
    },
    // in the kernel's words alone, as the file's writers say them ('operation not permitted' for one made immutable), not Node's
    // 'EPERM: ..., open PATH'
    catch: (e) => new LockError({ path, reason: reasonOf(e) })
  })

const NOT_REGULAR = "not a regular file; refused"

const acquireRegular = (env: Environment, path: string): Effect.Effect<number | undefined, LockError> =>
  Effect.flatMap(openFile(path), (fd) =>
    fd === undefined
      ? Effect.succeed(undefined)
      : flock(env, path, fd).pipe(
          Effect.zipRight(stillNamed(path, fd)),
          Effect.onError(() => close(fd)),
          Effect.flatMap((named) => (named ? Effect.succeed<number | undefined>(fd) : Effect.zipRight(close(fd), acquireFile(env, path))))
        )
  )

const acquireDirectory = (env: Environment, path: string): Effect.Effect<number, LockError> =>
  Effect.flatMap(openDirectory(path), (fd) =>
    flock(env, path, fd).pipe(
      Effect.as(fd),
      Effect.onError(() => close(fd))
    )
  )

/** the directory's lock, taken at once when it is free; else `waiting`, then the wait */
const acquireDirectoryAfter = <E, R>(env: Environment, path: string, waiting: Effect.Effect<void, E, R>): Effect.Effect<number, LockError | E, R> =>
  Effect.flatMap(openDirectory(path), (fd) =>
    flock(env, path, fd, true).pipe(
      Effect.flatMap((free) => (free ? Effect.void : Effect.zipRight(waiting, flock(env, path, fd)))),
      Effect.as(fd),
      Effect.onError(() => close(fd))
    )
  )

/** the wait may be interrupted; a lock once granted is released with the scope */
const held = <E, R>(acquire: Effect.Effect<number | undefined, E, R>) =>
  Effect.uninterruptibleMask((restore) => Effect.flatMap(restore(acquire), (fd) => (fd === undefined ? Effect.void : Effect.addFinalizer(() => close(fd)))))

/** the locks of a command run with the environment `given` */
export const makeLiveLock = (given: Environment): LockShape => {
  const env = programEnvironment(given)
  return {
    exclusive: (path) => Effect.zipRight(held(acquireDirectory(env, dirname(path))), held(acquireFile(env, path))),
    directory: (path, waiting) => held(acquireDirectoryAfter(env, path, waiting))
  }
}
