import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ActionFailed } from "../../domain/errors.js"
import { Commands } from "../../services/Commands.js"
import { info } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/

/** `/etc/hostname` gets the short name, which is applied; `/etc/hosts` the FQDN once */
/** `short` is the name of the host itself, the first label of `fqdn` unless it is given */
export const applyHostname = (fqdn: string, short: string = fqdn.split(".")[0]!) =>
  Effect.gen(function* () {
    if (!LABEL.test(short) || !LABEL.test(fqdn.split(".")[0]!) || fqdn.length > 253 || /[\s/]/.test(fqdn)) {
      return yield* Effect.fail(new ActionFailed({ reason: `invalid hostname '${fqdn.slice(0, 80)}'` }))
    }
    const fs = yield* RootFs
    const file = fs.at("/etc/hostname")
    yield* fs.writeAtomic(file, `${short}\n`)
    yield* Effect.flatMap(Commands, (c) => c.run("hostname", ["-F", file]))
    yield* fs.addLinesOnce(fs.at("/etc/hosts"), [`127.0.1.1\t${fqdn} ${short}`])
  })

export const setHostname = Effect.gen(function* () {
  const fqdn = yield* Effect.flatMap(Metadata, (m) => m.hostname)
  if (Option.isNone(fqdn)) {
    yield* info("set_hostname: no hostname set")
    return
  }
  yield* applyHostname(fqdn.value)
})
