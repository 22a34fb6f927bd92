/**
 * `tiny-cloud autodetect [-v]`: the cloud offline detection finds now, or
 * `unknown`; `-v` adds every detector's verdict, in a container what is not
 * read there, and what the phases would use instead (`CLOUD`, the cached detection).
 * The configuration is read as the phases read it: a problem in it is one line
 * on stderr, and the answer is still given (issue 14: exit 0).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Bootstrap } from "../services/Bootstrap.js"
import { Cloud } from "../services/Cloud.js"
import { Config } from "../services/Config.js"
import { Output, print } from "../services/Output.js"
import { containerKind } from "../services/RootFs.js"
import { printable } from "../domain/text.js"
import { detectionOutdated } from "../domain/bootstrap.js"
import { problemLine } from "../domain/settings.js"
import { isFinished } from "../domain/run-record.js"
import { currentStatus } from "./status.js"

export const autodetectCommand = (options: { readonly verbose: boolean }) =>
  Effect.gen(function* () {
    const settings = yield* Config
    // each problem of tiny-cloud.conf in one line, as a phase says it (the phases go on with the key's default, as this does)
    yield* Effect.forEach(settings.problems, (p) => Effect.flatMap(Output, (o) => o.stderr(`${problemLine(p)}\n`)), { discard: true })
    const service = yield* Cloud
    // and a CLOUD that names no cloud (`config` calls it invalid), which the phases take all the same: each of their actions
    // that needs metadata fails with this line (CLOUD=unknown too, which they word as nothing detected)
    if (settings.cloud !== "auto" && !(yield* service.choice).known) {
      yield* Effect.flatMap(Output, (o) => o.stderr(`unknown cloud '${printable(settings.cloud)}': set CLOUD in /etc/tiny-cloud.conf\n`))
    }
    const { cloud, verdicts } = yield* service.detect
    yield* print(`${cloud}\n`)
    if (!options.verbose) return 0
    const width = Math.max(...verdicts.map((v) => v.name.length))
    for (const v of verdicts) {
      yield* print(`  ${v.name.padEnd(width)}  ${Option.match(v.priority, { onNone: () => "not recognised", onSome: (p) => `priority ${p}` })}\n`)
    }
    // the detectors that read nothing there say only `not recognised`: why is said once
    const container = yield* containerKind
    if (container !== undefined) {
      yield* print(`in a container (${printable(container)}): the host's DMI strings, kernel command line and filesystem labels are not read; the command line is init's arguments (/proc/1/cmdline)\n`)
    }
    const cached = yield* service.cached
    if (settings.cloud !== "auto") yield* print(`CLOUD=${printable(settings.cloud)} is configured: the phases use it, not detection\n`)
    else if (Option.isSome(cached)) {
      // a first boot not started yet (an image, the marker removed by hand) whose signs name another cloud has its boot phase
      // remove the cache: it detects again. Not started: neither complete nor disabled, and no phase recorded, or only an
      // earlier first boot's, its final phase finished (whatever failed in it: the state names that failure instead)
      const { status } = yield* currentStatus
      const bootstrap = yield* Bootstrap
      const notStarted =
        !(yield* bootstrap.isComplete) &&
        !(yield* bootstrap.isDisabled) &&
        (status.attempt.length === 0 || status.attempt.some((r) => r.phase === "final" && isFinished(r)))
      yield* print(
        notStarted && detectionOutdated(cached.value, cloud)
          ? `the phases detect again: the boot phase of a first boot removes the cached detection, ${cached.value} (${settings.varDir}/.autodetect), which this machine's signs contradict\n`
          : `the phases use the cached detection: ${cached.value} (${settings.varDir}/.autodetect)\n`
      )
    }
    return 0
  })
