/** `--bootstrap`, `--enable` and `--disable` (BEHAVIOUR.md §1). */
import * as Effect from "effect/Effect"
import { problemLine } from "../domain/settings.js"
import { Bootstrap } from "../services/Bootstrap.js"
import { Config } from "../services/Config.js"
import { err, info, notice, warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { afterRunningPhase } from "./phase-lock.js"

/**
 * `--bootstrap status` is answered by the entry (src/entry/bootstrap-status.ts).
 * The marker is set or removed whatever else tiny-cloud.conf gets wrong; each
 * problem is one line first, as a phase says it (a bad TINY_CLOUD_VAR: the default's marker)
 */
export const bootstrapCommand = (what: "complete" | "incomplete") =>
  Effect.scoped(Effect.gen(function* () {
    yield* Effect.forEach((yield* Config).problems, (p) => err(problemLine(p)), { discard: true })
    const bootstrap = yield* Bootstrap
    yield* afterRunningPhase
    switch (what) {
      case "complete":
        yield* bootstrap.markComplete
        yield* notice("bootstrap marked complete")
        return 0
      case "incomplete": {
        // each file that could not be removed is named; the line says what is so
        const kept = yield* bootstrap.markIncomplete
        yield* Effect.forEach(kept, (e) => err(e.message), { discard: true })
        if (!(yield* bootstrap.isComplete)) yield* warn("bootstrap marked incomplete")
        return kept.length === 0 ? 0 : 1
      }
    }
  }))

const SERVICES: ReadonlyArray<readonly [string, string]> = [
  ["tiny-cloud-boot", "boot"],
  ["tiny-cloud-early", "default"],
  ["tiny-cloud-main", "default"],
  ["tiny-cloud-final", "default"]
]

/** removes every `tiny-cloud*` runlevel link, then (when enabling) links the four services */
export const setEnabled = (enable: boolean) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const runlevels = fs.at("/etc/runlevels")
    // one entry that cannot go or come (a directory someone put there) is named, and keeps no other link from going or coming
    let status = 0
    const named = <E extends { readonly message: string }>(step: Effect.Effect<void, E>) =>
      Effect.catchAll(Effect.as(step, true), (e) => Effect.as(Effect.zipRight(err(e.message), Effect.sync(() => void (status = 1))), false))
    for (const level of yield* fs.readDirectory(runlevels)) {
      // runlevels are the directories (`$ROOT/etc/runlevels/*/`): a file beside them (`.keep`) is none
      if (!(yield* fs.isDirectory(`${runlevels}/${level}`))) continue
      for (const entry of yield* fs.readDirectory(`${runlevels}/${level}`)) {
        if (entry.startsWith("tiny-cloud")) yield* named(fs.remove(`${runlevels}/${level}/${entry}`))
      }
    }
    yield* info(status === 0 ? "- tiny-cloud* services removed from all runlevels" : "- tiny-cloud* services removed from all runlevels, but for the entries named")
    if (!enable) return status
    for (const [service, level] of SERVICES) {
      if (yield* named(Effect.zipRight(fs.makeDirectory(`${runlevels}/${level}`), fs.symlink(`/etc/init.d/${service}`, `${runlevels}/${level}/${service}`)))) {
        yield* info(`+ ${service} service added to ${level} runlevel`)
      }
    }
    return status
  })
