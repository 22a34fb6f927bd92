/** A local volume found by its label (NoCloud's `cidata`, OpenStack's `config-2`): mounted read-only, read, unmounted. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Commands } from "../services/Commands.js"
import { RootFs } from "../services/RootFs.js"

/**
 * `read` over the first of `labels` that mounts (vfat, then iso9660) under
 * `$ROOT/run/tiny-cloud/NAME-PID-*`; unmounted and the mount point removed
 * whatever `read` did, and those a crashed run left too. None when no volume
 * mounts.
 */
export const readVolume = <A, E, R>(labels: ReadonlyArray<string>, name: string, read: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const commands = yield* Commands
    const prefix = fs.at(`/run/tiny-cloud/${name}-`)
    // a crashed run's mount point: unmounted, then removed
    for (const stale of yield* fs.staleTempDirectories(prefix)) {
      yield* commands.run("umount", [stale], { allowFailure: true }).pipe(Effect.ignore)
      yield* fs.remove(stale, { recursive: true }).pipe(Effect.ignore)
    }
    const mnt = yield* fs.makeTempDirectory(prefix)
    const removeMountPoint = fs.remove(mnt, { recursive: true }).pipe(Effect.ignore)
    for (const fstype of ["vfat", "iso9660"]) {
      for (const label of labels) {
        const mounted = yield* commands.run("mount", ["-o", "ro", "-t", fstype, `LABEL=${label}`, mnt], { allowFailure: true }).pipe(
          Effect.map((r) => r.exitCode === 0),
          Effect.orElseSucceed(() => false)
        )
        if (!mounted) continue
        const value = yield* read(mnt).pipe(Effect.ensuring(Effect.zipRight(commands.run("umount", [mnt]).pipe(Effect.ignore), removeMountPoint)))
        return Option.some(value)
      }
    }
    yield* removeMountPoint
    return Option.none<A>()
  })
