/** `assemble-interfaces` (BEHAVIOUR.md §8): /etc/network/interfaces rebuilt from interfaces.d/. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ActionFailed } from "../../domain/errors.js"
import { DEFAULT_STANZA, interfaceOrder, interfacesText, LOOPBACK_STANZA, otherStanzas, stanzaFromDefault } from "../../domain/interfaces.js"
import { RootFs } from "../../services/RootFs.js"
import { helper, INTERFACES } from "./helper.js"

/**
 * The header, the stanzas of `lo` and of each `eth*` present (one missing
 * is created from DEFAULT), then every other stanza file; the previous
 * file kept as `interfaces.bak`, the new one put in place atomically.
 * Nothing is written when a stanza cannot be read.
 */
export const assembleInterfaces = Effect.gen(function* () {
  const fs = yield* RootFs
  const dir = fs.at(`${INTERFACES}.d`)
  if (!(yield* fs.isDirectory(dir))) return yield* Effect.fail(new ActionFailed({ reason: `${dir}: no such directory` }))
  const files = yield* fs.readDirectory(dir)
  const present = interfaceOrder(yield* fs.readDirectory(fs.at("/sys/class/net")))
  const stanzas: Array<string> = []
  const created: Array<readonly [path: string, stanza: string]> = []
  for (const iface of present) {
    const path = `${dir}/${iface}`
    const own = yield* fs.readTextIfExists(path)
    const stanza = Option.isSome(own) ? own.value : iface === "lo" ? LOOPBACK_STANZA : stanzaFromDefault(yield* defaultStanza(dir), iface)
    if (Option.isNone(own)) created.push([path, stanza])
    stanzas.push(stanza)
  }
  for (const name of otherStanzas(files)) {
    if (yield* fs.isDirectory(`${dir}/${name}`)) continue
    stanzas.push(yield* fs.readText(`${dir}/${name}`))
  }
  const path = fs.at(INTERFACES)
  const previous = yield* fs.readFileIfExists(path)
  if (Option.isSome(previous)) yield* fs.writeAtomic(`${path}.bak`, previous.value)
  yield* fs.writeAtomic(path, interfacesText(stanzas))
  // the new NICs' stanza files last: an interfaces file that could not be replaced (interfaces.bak a directory) leaves interfaces.d as it was
  for (const [path, stanza] of created) yield* fs.writeAtomic(path, stanza)
})

const defaultStanza = (dir: string) =>
  Effect.flatMap(RootFs, (fs) => fs.readTextIfExists(`${dir}/${DEFAULT_STANZA}`)).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.fail(new ActionFailed({ reason: `${dir}/${DEFAULT_STANZA}: not found; a new interface's stanza is made from it` })),
        onSome: Effect.succeed
      })
    )
  )

/** `assemble-interfaces`, `tiny-cloud assemble-interfaces` */
export const assembleCommand = helper(Effect.as(assembleInterfaces, 0))
