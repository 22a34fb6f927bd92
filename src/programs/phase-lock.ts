/** `--bootstrap` after the phase that runs: the state directory's lock, which each phase holds (src/programs/phase.ts). */
import { realpathSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isFinished } from "../domain/run-record.js"
import { Config } from "../services/Config.js"
import { Lock } from "../services/Lock.js"
import { notice, warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { readRecord, startedAt } from "./status-record.js"

/** the parent of process `pid` (`/proc/PID/stat`'s fourth field, counted from the command name's last ')'), undefined when gone */
const parentOf = (pid: number) =>
  Effect.flatMap(RootFs, (fs) => fs.readTextIfExists(`/proc/${pid}/stat`)).pipe(
    Effect.map((stat) => (Option.isSome(stat) ? Number(stat.value.slice(stat.value.lastIndexOf(")") + 2).split(" ")[1]) : undefined)),
    Effect.orElseSucceed(() => undefined)
  )

/** this process and its ancestors */
const ownAncestry = Effect.gen(function* () {
  const chain: Array<number> = []
  let p: number | undefined = process.pid
  // (a bound: a /proc of another PID namespace may not lead to 1)
  for (let n = 0; n < 256 && p !== undefined && p > 1; n++) {
    chain.push(p)
    p = yield* parentOf(p)
  }
  return chain
})

/**
 * whether process `pid` holds the lock of the directory `dir`: a descriptor of it on which a flock(2) lock is held
 * (its fdinfo's `lock:` line), as a phase holds the state directory's lock. One open alone is no phase: an operator's
 * shell that keeps it open (`exec 3</var/lib/cloud`) would let its `--bootstrap incomplete` skip the wait for the
 * final that runs, whose marker would then undo it
 */
const holdsLock = (pid: number, dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    for (const fd of yield* fs.readDirectory(`/proc/${pid}/fd`)) {
      if ((yield* fs.readLink(`/proc/${pid}/fd/${fd}`).pipe(Effect.orElseSucceed(() => ""))) !== dir) continue
      const info = yield* fs.readTextIfExists(`/proc/${pid}/fdinfo/${fd}`).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      if (Option.exists(info, (text) => /^lock:\s.*\bFLOCK\b/m.test(text))) return true
    }
    return false
  }).pipe(Effect.orElseSucceed(() => false))

/**
 * Whether the phase that holds the state directory's lock is one that a process of `ancestry` runs (this process is
 * a program of it: a user-data script, runcmd): its running entry names one of them, or one of them holds the lock
 */
const runsUnderLockHolder = (ancestry: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { varDir } = yield* Config
    const { runs } = yield* readRecord
    const newest = runs[runs.length - 1]
    // (the process that wrote it, not one that has its pid since: a phase killed in an earlier boot, its pid an operator's shell's now)
    if (newest !== undefined && !isFinished(newest) && ancestry.includes(newest.pid)) {
      if (newest.pidStart === undefined || (yield* startedAt(newest.pid, newest.pidStart))) return true
    }
    // a phase that could not write its running entry ('cannot write the run record': a full disk, a link in its
    // place) is known by the state directory's lock it holds: waited for, it would wait for this process
    // (by the name the kernel gives the directory there, every link of the path resolved, ROOT's own among them: a ROOT
    // given through a link would name it otherwise, and the phase that could not say it runs would be waited for)
    const dir = yield* fs.resolve(varDir).pipe(
      Effect.flatMap((resolved) => Effect.try(() => realpathSync(resolved))),
      Effect.orElseSucceed(() => undefined)
    )
    return dir !== undefined && (yield* Effect.exists(ancestry, (pid) => holdsLock(pid, dir)))
  })

/**
 * For a phase that finds the state directory's lock taken: whether a phase it runs under holds it (run from a
 * user-data script or runcmd), whose end, waited for, would wait for its own. This process itself holds no lock yet.
 */
export const underLockHolder = Effect.flatMap(ownAncestry, (chain) => runsUnderLockHolder(chain.filter((pid) => pid !== process.pid)))

/**
 * `--bootstrap complete|incomplete` after the phase that runs, which would
 * otherwise undo it (final writes the marker as its last write: an
 * `incomplete` said during it was lost): the state directory's lock, waited
 * for as a phase waits. Not when that phase is one this process runs under
 * (a user-data script or runcmd asking), which holds the lock until it ends
 * (its running entry names an ancestor, or an ancestor holds the directory's lock);
 * nor where there is no state directory, and nothing to wait for.
 */
export const afterRunningPhase = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  if (!(yield* fs.isDirectory(varDir))) return
  if (yield* runsUnderLockHolder(yield* ownAncestry)) return
  yield* (yield* Lock).directory(yield* fs.resolve(varDir), notice("a phase is running; waiting for it to end")).pipe(
    Effect.catchAll((e) => warn(`cannot lock ${e.path}: ${e.reason}; going on without the lock`))
  )
})
