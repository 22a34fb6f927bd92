/**
 * `vnic-eth-hotplug` (BEHAVIOUR.md §8): mdev runs it with `MDEV=ethN` and
 * `ACTION=add|remove` when a NIC is attached or detached. Events come in
 * bursts at boot: each waits for the lock on /etc/network/interfaces, so
 * they queue and never interleave.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { routeTableOf } from "../../domain/net-sync.js"
import { lines, printable, textOf } from "../../domain/text.js"
import { Commands } from "../../services/Commands.js"
import { err, info, warn } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"
import { assembleHoldingLock } from "./assemble.js"
import { envValue, failed, helper, INTERFACES, notADirectory } from "./helper.js"

/**
 * `rc-service networking status` says started (exit 0); `service networking status`, the shell edition's question,
 * where there is no rc-service on the PATH; without OpenRC it is not
 */
const networkingStarted = Effect.flatMap(Commands, (c) =>
  Effect.flatMap(c.has("rc-service"), (rc) => c.run(rc ? "rc-service" : "service", ["networking", "status"], { allowFailure: true })).pipe(
    Effect.map((r) => r.exitCode === 0),
    Effect.orElseSucceed(() => false)
  )
)

/**
 * the pid in udhcpc's pid file unless that process is known to be another (`/proc/PID` there, and no
 * `udhcpc ... -i IFACE`, as ifupdown-ng and busybox ifup start it): a client that died unwarned (killed, crashed)
 * leaves its file, and by now its number may be another program's. Where `/proc/PID` is not there (the process is
 * gone, or ROOT holds no /proc) the number is killed, as the contract says: a kill of no process harms nothing.
 */
const dhcpClientOf = (iface: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const file = `/run/udhcpc.${iface}.pid`
    const pid = Option.match(yield* fs.readTextIfExists(fs.at(file)), { onNone: () => "", onSome: (s) => s.trim() })
    // 1 is init, 0 and negative numbers process groups
    if (!/^[1-9]\d*$/.test(pid) || pid === "1") return Option.none<string>()
    if (!(yield* fs.exists(fs.at(`/proc/${pid}`)))) return Option.some(pid)
    const proc = (name: string) =>
      fs.readTextIfExists(fs.at(`/proc/${pid}/${name}`)).pipe(
        Effect.map(Option.getOrElse(() => "")),
        Effect.orElseSucceed(() => "")
      )
    const args = (yield* proc("cmdline")).split("\0")
    const named = args.some((a, i) => a === `-i${iface}` || a === `--interface=${iface}` || (a === iface && ["-i", "--interface"].includes(args[i - 1] ?? "")))
    // busybox's applet run by its link (/sbin/udhcpc), or by name (`busybox udhcpc ...`)
    const comm = (yield* proc("comm")).trim()
    if ((comm === "udhcpc" || (comm === "busybox" && args[1] === "udhcpc")) && named) return Option.some(pid)
    yield* warn(`${file}: process ${pid} is not ${iface}'s udhcpc; not killed`)
    return Option.none<string>()
  })

/** what ifupdown-ng and udhcpc keep of a NIC that is gone: its DHCP client, its state lines, its policy rules */
const cleanUp = (iface: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const commands = yield* Commands
    yield* info(`Cleaning up ${iface}`)
    const pid = yield* dhcpClientOf(iface)
    if (Option.isSome(pid)) yield* commands.run("kill", [pid.value], { allowFailure: true })
    const ifstate = fs.at("/run/ifstate")
    const state = yield* fs.readTextIfExists(ifstate)
    if (Option.isSome(state)) {
      const kept = state.value.split("\n").filter((l) => !l.startsWith(`${iface}=`))
      if (kept.length !== state.value.split("\n").length) yield* fs.writeAtomic(ifstate, kept.join("\n"), { keep: true })
    }
    yield* fs.remove(fs.at(`/run/ifstate.${iface}.lock`))
    const table = routeTableOf(iface)
    if (table === undefined) return
    for (const family of ["-4", "-6"]) {
      const shown = yield* commands.run("ip", [family, "rule", "show", "table", String(table)], { allowFailure: true })
      const prefs = lines(textOf(shown.stdout)).flatMap((l) => /^(\d+):/.exec(l)?.[1] ?? [])
      for (const pref of prefs) {
        // with its table: `del pref P` alone deletes the first rule of that priority, which may be another table's
        const args = ["rule", "del", "pref", pref, "table", String(table)]
        const r = yield* commands.run("ip", [family, ...args], { allowFailure: true })
        yield* r.exitCode === 0 ? info(`OK: ip ${family} ${args.join(" ")}`) : err(`FAIL: ip ${family} ${args.join(" ")}`)
      }
    }
  })

const ACTIONS = ["add", "remove"]

export const vnicEthHotplug = helper(
  Effect.gen(function* () {
    const iface = yield* envValue("MDEV")
    const action = yield* envValue("ACTION")
    if (iface === undefined || action === undefined) return yield* failed("MDEV or ACTION undefined, aborting")
    if (!ACTIONS.includes(action)) return yield* failed(`Unknown action '${printable(action)}'`)
    if (!/^eth\d+$/.test(iface)) return yield* failed(`MDEV '${printable(iface)}' is not an ethN interface`)
    yield* info(`STARTING: ${action} ${iface}`)
    const fs = yield* RootFs
    const path = fs.at(INTERFACES)
    const unusable = yield* notADirectory(`${path}.d`)
    if (Option.isSome(unusable)) return yield* failed(unusable.value)
    yield* Effect.scoped(
      Effect.gen(function* () {
        yield* assembleHoldingLock
        if (!(yield* networkingStarted)) return
        if (action === "add") {
          yield* info(`Bringing up ${iface}`)
          // mdev runs us with umask 0: udhcpc's pid file and ifupdown-ng's state must not be left writable by all
          yield* Effect.flatMap(Commands, (c) => c.run("ifup", [iface], { umask: 0o022 }))
        } else {
          yield* cleanUp(iface)
        }
      })
    )
    yield* info(`FINISHED: ${action} ${iface}`)
    return 0
  })
)
