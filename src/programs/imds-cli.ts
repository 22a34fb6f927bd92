import { Effect, Option } from "effect"
import { metadataFor, providerNamed, resolveCloud } from "../layers/CloudLive.js"
import { Network } from "../services/Network.js"
import type { CloudMetadata, MetadataError } from "../services/Metadata.js"
import { runMain } from "./run.js"
import { IMDS_USAGE } from "./usage.js"

const SEPARATORS: Readonly<Record<string, string>> = { "+n": "\n", "+s": " ", "+t": "\t" }

class NotFound {
  readonly _tag = "NotFound"
  constructor(readonly key: string) {}
  get message() {
    return `${this.key}: not found`
  }
}

type KeyError = MetadataError | NotFound

const write = (data: string | Uint8Array) => Effect.sync(() => void process.stdout.write(data))

const found = (key: string) => (value: Option.Option<string | Uint8Array>) =>
  Option.match(value, { onNone: () => Effect.fail(new NotFound(key)), onSome: write })

/** one key's value printed, or its error */
const printKey = (md: CloudMetadata, key: string): Effect.Effect<void, KeyError, Network> => {
  switch (key) {
    case "@hostname":
      return Effect.flatMap(md.hostname, found(key))
    case "@local-hostname":
      return Effect.flatMap(md.localHostname, found(key))
    case "@ssh-keys":
      return Effect.flatMap(md.sshKeys, (keys) => write(keys.map((k) => `${k}\n`).join("")))
    case "@userdata":
      return Effect.flatMap(md.userData, (d) => write(Option.getOrElse(d, () => new Uint8Array())))
    case "@nics":
      return Effect.flatMap(md.nics, found(key))
  }
  return Effect.flatMap(md.get(key), found(key))
}

interface State {
  ignoreErrors: boolean
  hideStderr: boolean
  status: number
}

const report = (state: State) => (e: KeyError) =>
  Effect.sync(() => {
    if (!state.hideStderr) process.stderr.write(`imds: ${e.message}\n`)
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
): Effect.Effect<boolean, never, Network> =>
  Effect.gen(function* () {
    for (const key of keys) {
      if (key === "-e" || key === "+e") state.ignoreErrors = key === "-e"
      else if (key === "-E" || key === "+E") state.hideStderr = key === "-E"
      else if (SEPARATORS[key] !== undefined) yield* write(SEPARATORS[key]!)
      else {
        const run: Effect.Effect<boolean, KeyError, Network> =
          nic !== undefined
            ? Effect.as(Effect.flatMap(md.nic(nic.mac, key), found(`@nic:${nic.iface},${key}`)), true)
            : key.startsWith("@nic:")
              ? nicKeys(md, key, state)
              : Effect.as(printKey(md, key), true)
        if (!(yield* Effect.catchAll(run, report(state)))) return false
      }
    }
    return true
  })

/** `@nic:IFACE[,KEY...]`: the NIC is found by IFACE's MAC address */
const nicKeys = (md: CloudMetadata, spec: string, state: State): Effect.Effect<boolean, KeyError, Network> =>
  Effect.gen(function* () {
    const [iface = "", ...keys] = spec.slice("@nic:".length).split(",")
    const mac = yield* Effect.flatMap(Network, (n) => n.macAddress(iface))
    if (Option.isNone(mac)) return yield* Effect.fail(new NotFound(`@nic:${iface}: no such interface`))
    if (keys.length === 0) return yield* Effect.as(Effect.flatMap(md.nic(mac.value, ""), found(spec)), true)
    return yield* processKeys(md, keys, state, { iface, mac: mac.value })
  })

export const main = (args: ReadonlyArray<string>): Promise<never> => {
  if (args[0] === "-h" || args[0] === "--help") {
    process.stdout.write(IMDS_USAGE)
    process.exit(0)
  }
  if (args.length === 0) {
    process.stderr.write(IMDS_USAGE)
    process.exit(1)
  }
  const program = Effect.gen(function* () {
    const cloud = yield* resolveCloud
    const md = yield* metadataFor(providerNamed(cloud), cloud)
    const state: State = { ignoreErrors: false, hideStderr: false, status: 0 }
    yield* processKeys(md, args, state)
    return state.status
  })
  return runMain(program, "imds", "imds")
}
