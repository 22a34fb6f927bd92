/** `imds ARGS...` (BEHAVIOUR.md §1): keys processed left to right, each value printed as it comes. */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MetadataError } from "../domain/errors.js"
import { authorizedKeys } from "../domain/ssh-keys.js"
import { printable, sortedUnique } from "../domain/text.js"
import { stderrHidden } from "../services/Log.js"
import { Metadata, type CloudMetadata } from "../services/Metadata.js"
import { Network } from "../services/Network.js"
import { Output, print } from "../services/Output.js"

const SEPARATORS: ReadonlyMap<string, string> = new Map([["+n", "\n"], ["+s", " "], ["+t", "\t"]])

class NotFound extends Data.TaggedError("NotFound")<{ readonly key: string }> {
  override get message() {
    return `${printable(this.key)}: not found`
  }
}

class NoSuchInterface extends Data.TaggedError("NoSuchInterface")<{ readonly iface: string }> {
  override get message() {
    return `@nic:${printable(this.iface)}: no such interface`
  }
}

type KeyError = MetadataError | NotFound | NoSuchInterface

const found = (key: string) => (value: Option.Option<string | Uint8Array>) =>
  Option.match(value, { onNone: () => Effect.fail(new NotFound({ key })), onSome: print })

/** a path goes on a request line: nothing there may be blank, a control character or outside ASCII (an empty one is the root) */
const sendable = (path: string) => /^[\x21-\x7e]*$/.test(path)

/** one key's value printed, or its error */
const printKey = (md: CloudMetadata, key: string, hideStderr: boolean): Effect.Effect<void, KeyError, Output> => {
  switch (key) {
    case "@hostname":
      return Effect.flatMap(md.hostname, found(key))
    case "@local-hostname":
      return Effect.flatMap(md.localHostname, found(key))
    case "@ssh-keys":
      // the keys set_ssh_keys installs: a line that is not a key, or has options in front, is left out and said
      return Effect.flatMap(md.sshKeys, (entries) => {
        const { keys, dropped } = authorizedKeys(entries, { allowOptions: false })
        const said = dropped === 0 || hideStderr ? Effect.void : Effect.flatMap(Output, (o) => o.stderr(`imds: @ssh-keys: ${dropped === 1 ? "1 line that is not an OpenSSH public key, or has options in front of it" : `${dropped} lines that are not OpenSSH public keys, or have options in front of them`}, left out\n`))
        // sorted as written: a key's blanks made one (`TYPE  BLOB  comment`) may no longer sort where the line it came from did
        return Effect.zipRight(said, print(sortedUnique(keys).map((k) => `${k}\n`).join("")))
      })
    case "@userdata":
      return Effect.flatMap(md.userData, (d) => print(Option.getOrElse(d, () => new Uint8Array())))
    case "@nics":
      return Effect.flatMap(md.nics, found(key))
  }
  if (!sendable(key)) return Effect.fail(new NotFound({ key }))
  return Effect.flatMap(md.get(key), found(key))
}

interface State {
  ignoreErrors: boolean
  hideStderr: boolean
  status: number
}

/** reports an error; true when the run goes on */
const report = (state: State) => (e: KeyError) =>
  Effect.gen(function* () {
    if (!state.hideStderr) yield* Effect.flatMap(Output, (o) => o.stderr(`imds: ${e.message}\n`))
    if (state.ignoreErrors) return true
    state.status = 1
    return false
  })

/** processes keys left to right; false when an error must stop the run */
const processKeys = (
  md: CloudMetadata,
  keys: ReadonlyArray<string>,
  state: State,
  nic?: { iface: string; mac: string }
): Effect.Effect<boolean, never, Network | Output> =>
  Effect.gen(function* () {
    for (const key of keys) {
      if (key === "-e" || key === "+e") state.ignoreErrors = key === "-e"
      // (in a `@nic:` list, as in the shell edition's, `-E`/`+E` are no switches: a verbatim sub-path, BEHAVIOUR.md §1)
      else if (nic === undefined && (key === "-E" || key === "+E")) state.hideStderr = key === "-E"
      else if (SEPARATORS.has(key)) yield* print(SEPARATORS.get(key)!)
      else {
        const run: Effect.Effect<boolean, KeyError, Network | Output> =
          nic !== undefined
            ? sendable(key)
              ? Effect.as(Effect.flatMap(md.nic(nic.mac, key), found(`@nic:${nic.iface},${key}`)), true)
              : Effect.fail(new NotFound({ key: `@nic:${nic.iface},${key}` }))
            : key.startsWith("@nic:")
              ? nicKeys(md, key, state)
              : Effect.as(printKey(md, key, state.hideStderr), true)
        // what the program logs while it reads the key is its stderr too
        if (!(yield* Effect.catchAll(Effect.locally(run, stderrHidden, state.hideStderr), report(state)))) return false
      }
    }
    return true
  })

/**
 * `@nic:IFACE[,KEY...]`: the NIC is found by IFACE's MAC address. Its list
 * is a run of its own, as the shell edition's nested `imds` call: it starts
 * stopping at errors, its `-e`/`+e` end with it (`-E`/`+E` are sub-paths
 * there; the outer `-E` holds in it), and to the keys around it it is one
 * key that failed when an error stopped it.
 */
const nicKeys = (md: CloudMetadata, spec: string, state: State): Effect.Effect<boolean, KeyError, Network | Output> =>
  Effect.gen(function* () {
    // an empty KEY (`@nic:eth0,@mac,`) is none, as the shell edition's word splitting of the list left it out
    const [iface = "", ...keys] = spec.slice("@nic:".length).split(",").filter((k, i) => i === 0 || k !== "")
    const mac = yield* Effect.flatMap(Network, (n) => n.macAddress(iface))
    if (Option.isNone(mac)) return yield* Effect.fail(new NoSuchInterface({ iface }))
    if (keys.length === 0) return yield* Effect.as(Effect.flatMap(md.nic(mac.value, ""), found(spec)), true)
    const own: State = { ignoreErrors: false, hideStderr: state.hideStderr, status: 0 }
    if (yield* processKeys(md, keys, own, { iface, mac: mac.value })) return true
    // reported already, by the list's own switches
    if (state.ignoreErrors) return true
    state.status = own.status
    return false
  })

/** the keys' values on stdout; the exit status is that of the error that stopped the run, else 0 */
export const imds = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const md = yield* Metadata
    const state: State = { ignoreErrors: false, hideStderr: false, status: 0 }
    yield* processKeys(md, args, state)
    return state.status
  })
