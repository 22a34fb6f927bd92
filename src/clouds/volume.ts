/** Local media (NoCloud's `cidata`, OpenStack's `config-2`, Azure's provisioning media): mounted read-only, read, unmounted. */
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { FsError } from "../domain/errors.js"
import { Commands } from "../services/Commands.js"
import { containerKind, RootFs } from "../services/RootFs.js"

/** the mount point inside a private `$ROOT/tmp/tiny-cloud-NAME-PID-*` directory */
const SPARE_MOUNT = "medium"

/** what `mount` is given: a device (or `LABEL=...`) and its filesystem type */
export type MediumAttempt = { readonly source: string; readonly fstype: string }

/**
 * `read` over each of `attempts` in turn that mounts, read-only, under
 * `$ROOT/run/tiny-cloud/NAME-PID-*` (where that takes no directory, read-only,
 * full or out of inodes: `$ROOT/tmp/tiny-cloud-NAME-PID-*`, so that the
 * medium is still read), until one gives a value; each unmounted
 * whatever `read` did, the mount point removed at the end, and those a
 * crashed run left too. None when nothing mounts or no medium gives a value,
 * and in a container, whose block devices are the host's: its cidata or
 * config-2 volume, or Azure's provisioning media, is the host's, never the container's.
 */
export const readMedia = <A, E, R>(attempts: ReadonlyArray<MediumAttempt>, name: string, read: (dir: string) => Effect.Effect<Option.Option<A>, E, R>) =>
  Effect.gen(function* () {
    if ((yield* containerKind) !== undefined) return Option.none<A>()
    const fs = yield* RootFs
    const commands = yield* Commands
    const [prefix, spare] = [fs.at(`/run/tiny-cloud/${name}-`), fs.at(`/tmp/tiny-cloud-${name}-`)]
    // a crashed run's mount point: unmounted, then removed
    for (const stale of [...(yield* fs.staleTempDirectories(prefix)), ...(yield* fs.staleTempDirectories(spare)).map((d) => `${d}/${SPARE_MOUNT}`)]) {
      yield* commands.run("umount", [stale], { allowFailure: true }).pipe(Effect.ignore)
      yield* fs.remove(stale.endsWith(`/${SPARE_MOUNT}`) ? dirname(stale) : stale, { recursive: true }).pipe(Effect.ignore)
    }
    // (both refused: one line names each place and its reason); under $ROOT/tmp, which all may pass through, the medium is mounted
    // one level down, in the private directory: a mounted volume shows its own modes (vfat's, iso9660's: readable by all)
    const [mnt, made] = yield* fs.makeTempDirectory(prefix).pipe(
      Effect.map((dir) => [dir, dir] as const),
      Effect.catchAll((e) =>
        Effect.mapError(
          Effect.flatMap(fs.makeTempDirectory(spare), (dir) => Effect.as(fs.makeDirectory(`${dir}/${SPARE_MOUNT}`, { mode: 0o700, noFollow: true }), [`${dir}/${SPARE_MOUNT}`, dir] as const)),
          (spareError) => new FsError({ op: e.op, path: e.path, reason: `${e.reason}, nor ${spareError.message}` })
        )
      )
    )
    const removeMountPoint = fs.remove(made, { recursive: true }).pipe(Effect.ignore)
    for (const { source, fstype } of attempts) {
      const mounted = yield* commands.run("mount", ["-o", "ro", "-t", fstype, source, mnt], { allowFailure: true }).pipe(
        Effect.map((r) => r.exitCode === 0),
        Effect.orElseSucceed(() => false)
      )
      if (!mounted) continue
      const value = yield* read(mnt).pipe(
        Effect.ensuring(commands.run("umount", [mnt]).pipe(Effect.ignore)),
        Effect.onExit((exit) => (exit._tag === "Success" && Option.isNone(exit.value) ? Effect.void : removeMountPoint))
      )
      if (Option.isSome(value)) return value
    }
    yield* removeMountPoint
    return Option.none<A>()
  })

/** `read` over the first of `labels` that mounts (vfat, then iso9660); None when no volume mounts, and in a container */
export const readVolume = <A, E, R>(labels: ReadonlyArray<string>, name: string, read: (dir: string) => Effect.Effect<A, E, R>) =>
  readMedia(
    ["vfat", "iso9660"].flatMap((fstype) => labels.map((label) => ({ source: `LABEL=${label}`, fstype }))),
    name,
    (dir) => Effect.map(read(dir), Option.some)
  )
