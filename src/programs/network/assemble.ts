/** `assemble-interfaces` (BEHAVIOUR.md §8): /etc/network/interfaces rebuilt from interfaces.d/. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ActionFailed } from "../../domain/errors.js"
import { DEFAULT_STANZA, INTERFACES_MAX_BYTES, interfaceOrder, interfacesText, LOOPBACK_STANZA, otherStanzas, stanzaFromDefault } from "../../domain/interfaces.js"
import { Lock } from "../../services/Lock.js"
import { debug } from "../../services/Log.js"
import { RootFs, type Ownership } from "../../services/RootFs.js"
import { helper, INTERFACES, interfacesLockPath, notADirectory } from "./helper.js"

/**
 * The header, the stanzas of `lo` and of each `eth*` present (one missing
 * is created from DEFAULT), then every other stanza file; the previous
 * file kept as `interfaces.bak`, the new one put in place atomically.
 * Nothing is written when a stanza cannot be read, or when the stanzas
 * hold more than INTERFACES_MAX_BYTES together.
 */
export const assembleInterfaces = Effect.gen(function* () {
  const fs = yield* RootFs
  const dir = fs.at(`${INTERFACES}.d`)
  const unusable = yield* notADirectory(dir)
  if (Option.isSome(unusable)) return yield* Effect.fail(new ActionFailed({ reason: unusable.value }))
  const files = yield* fs.readDirectory(dir)
  const present = interfaceOrder(yield* fs.readDirectory(fs.at("/sys/class/net")))
  const stanzas: Array<string> = []
  let size = 0
  // the bits of the classes (group, others) that some stanza file keeps from reading it: the file that copies them keeps them too
  let hidden = 0
  const add = (stanza: string, from: Option.Option<Ownership>) => {
    stanzas.push(stanza)
    size += stanza.length
    if (Option.isSome(from)) hidden |= (from.value.mode & 0o040 ? 0 : 0o070) | (from.value.mode & 0o004 ? 0 : 0o007)
    return size > INTERFACES_MAX_BYTES ? Effect.fail(new ActionFailed({ reason: `${dir}: the stanzas are larger than ${INTERFACES_MAX_BYTES} bytes together` })) : Effect.void
  }
  const created: Array<readonly [path: string, stanza: string, like: Option.Option<Ownership>]> = []
  for (const iface of present) {
    const path = `${dir}/${iface}`
    const own = yield* readStanza(path)
    const fromDefault = Option.isNone(own) && iface !== "lo"
    const stanza = Option.isSome(own) ? own.value : fromDefault ? stanzaFromDefault(yield* defaultStanza(dir), bytesOf(iface)) : LOOPBACK_STANZA
    // a NIC's copy of DEFAULT gets its group and who may read it (what an operator keeps from others there stays so), but stays root's
    // alone to write: root's ifupdown runs its lines, and DEFAULT's owner or group (a user's) would edit a present NIC's for good
    const like = Option.isSome(own) ? yield* fs.ownership(path) : fromDefault ? Option.map(yield* fs.ownership(`${dir}/${DEFAULT_STANZA}`), rootsCopy) : Option.none<Ownership>()
    if (Option.isNone(own)) created.push([path, stanza, like])
    yield* add(stanza, like)
  }
  for (const name of otherStanzas(files)) {
    if (yield* fs.isDirectory(`${dir}/${name}`)) continue
    yield* add(stanzaOf(yield* fs.readFile(`${dir}/${name}`, { maxBytes: INTERFACES_MAX_BYTES })), yield* fs.ownership(`${dir}/${name}`))
  }
  const path = fs.at(INTERFACES)
  const previous = yield* fs.readFileIfExists(path)
  const before = yield* fs.ownership(path)
  // the copy with the original's mode and owner, as `cp -a` makes it: a file of 0600 (wifi-psk lines) is not readable by all as interfaces.bak
  if (Option.isSome(previous)) yield* fs.writeAtomic(`${path}.bak`, previous.value, Option.getOrUndefined(before))
  // the new NICs' stanza files before the file that holds them: one killed between the two is run again with the file before it still
  // in place, which it keeps as interfaces.bak again (made after them, a rerun found every stanza there and kept its own output); after
  // interfaces.bak, so that one that cannot be written (a directory) leaves interfaces.d as it was
  for (const [path, stanza, like] of created) yield* fs.writeAtomic(path, Buffer.from(stanza, "latin1"), Option.getOrUndefined(like))
  // the file's own mode and owner (0644 root's when new), less what a stanza in it keeps from others
  const { mode, ...owner } = Option.getOrElse(before, () => ({ mode: 0o644 }))
  yield* fs.writeAtomic(path, Buffer.from(interfacesText(stanzas), "latin1"), { mode: mode & ~hidden, ...owner })
})

/** a file's mode and group for a copy the writer (root) owns: no write, setuid or setgid for anyone else (uid -1: chown leaves the owner) */
const rootsCopy = (o: Ownership): Ownership => ({ mode: o.mode & 0o755, uid: -1, gid: o.gid })

/** a stanza file's bytes as its text, one character each: copied as they are, whatever their encoding */
const stanzaOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1")

/** a name (sysfs gives it as UTF-8) as the bytes a stanza holds it by */
const bytesOf = (name: string): string => Buffer.from(name, "utf8").toString("latin1")

/** a stanza file's text, when it is there; one larger than the whole file may be is refused unread */
const readStanza = (path: string) =>
  Effect.flatMap(RootFs, (fs) => fs.readFileIfExists(path, { maxBytes: INTERFACES_MAX_BYTES })).pipe(Effect.map(Option.map(stanzaOf)))

const defaultStanza = (dir: string) =>
  readStanza(`${dir}/${DEFAULT_STANZA}`).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.fail(new ActionFailed({ reason: `${dir}/${DEFAULT_STANZA}: not found; a new interface's stanza is made from it` })),
        onSome: Effect.succeed
      })
    )
  )

/**
 * `assembleInterfaces` holding the exclusive lock on the interfaces file (where it is inside ROOT) until the scope
 * closes: hotplug events and an operator's `assemble-interfaces` queue, never interleave (one that read sysfs before a
 * NIC came would put its file, without that NIC, over the one its event assembled). The lock makes no file where there
 * is none (one killed before its rename leaves none); an empty one there (an earlier release's lock made it) does not
 * stay when the assembly fails: set_default_interfaces would take it for a configuration (a symlink in its place is the
 * image's).
 */
export const assembleHoldingLock = Effect.gen(function* () {
  const fs = yield* RootFs
  const path = fs.at(INTERFACES)
  yield* (yield* Lock).exclusive(yield* interfacesLockPath)
  yield* debug(`locked ${path}`)
  const empty = !(yield* fs.isSymlink(path)) && Option.match(yield* fs.readTextIfExists(path), { onNone: () => true, onSome: (text) => text === "" })
  yield* Effect.tapError(assembleInterfaces, () => (empty ? fs.remove(path).pipe(Effect.ignore) : Effect.void))
})

/** `assemble-interfaces`, `tiny-cloud assemble-interfaces`: interfaces.d checked first, so that no lock makes a file beside a directory it cannot read */
export const assembleCommand = helper(
  Effect.gen(function* () {
    const unusable = yield* notADirectory(`${(yield* RootFs).at(INTERFACES)}.d`)
    if (Option.isSome(unusable)) return yield* Effect.fail(new ActionFailed({ reason: unusable.value }))
    yield* Effect.scoped(assembleHoldingLock)
    return 0
  })
)
