/**
 * The live command runner's environment. ifupdown-ng runs its executors
 * (imds, and so `tiny-cloud net-sync`) with IFACE, PHASE and IF_* only: no
 * PATH. Node would then look programs up on /usr/bin:/bin, where Alpine has
 * no `ip` (/sbin/ip); they are looked up, and run, on the system's PATH.
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { textOf } from "../../src/domain/text.js"
import { makeLiveCommands } from "../../src/layers/CommandsLive.js"

it.effect("without PATH in the environment, programs run with the system's PATH, the one `has` looks on", () =>
  Effect.gen(function* () {
    const commands = makeLiveCommands(() => {}, { IFACE: "eth1", PHASE: "post-up" })
    const r = yield* commands.run("env", [])
    expect(textOf(r.stdout).split("\n")).toContain("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
    expect(textOf(r.stdout).split("\n")).toContain("IFACE=eth1")
  })
)

it.effect("a PATH of the environment is kept", () =>
  Effect.gen(function* () {
    const r = yield* makeLiveCommands(() => {}, { PATH: "/usr/bin:/bin" }).run("env", [])
    expect(textOf(r.stdout).split("\n")).toContain("PATH=/usr/bin:/bin")
  })
)
