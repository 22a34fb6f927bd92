/**
 * Network namespaces for the system tests: a namespace of the test's own
 * (its loopback up), commands run inside it, and the metadata simulator
 * listening on its loopback. The simulator is plain Node: it is bundled
 * once into a script that `ip netns exec` runs.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { build } from "esbuild"
import type { SimInstance } from "../../src/sim/simulator.js"
import { which } from "../support/system.js"

const ROOT = new URL("../../", import.meta.url).pathname

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** runs a program to its end */
export const run = (command: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = process.env as Record<string, string>) =>
  Effect.async<Ran>((resume) => {
    const child = spawn(command, [...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("error", (e) => resume(Effect.succeed({ code: -1, stdout, stderr: e.message })))
    child.on("close", (code) => resume(Effect.succeed({ code: code ?? -1, stdout, stderr })))
  })

export const IP = which("ip") ?? "/usr/sbin/ip"

/** `ip ARGS...` that must work */
export const ip = (...args: ReadonlyArray<string>) =>
  Effect.flatMap(run(IP, args), (r) => (r.code === 0 ? Effect.succeed(r.stdout) : Effect.die(new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`))))

export interface Namespace {
  readonly name: string
  /** `ip -n NAME ARGS...` */
  readonly ip: (...args: ReadonlyArray<string>) => Effect.Effect<string>
  /** a program run inside the namespace */
  readonly exec: (command: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) => Effect.Effect<Ran>
}

/** a namespace of its own, deleted with the scope */
export const makeNamespace: Effect.Effect<Namespace, never, Scope.Scope> = Effect.gen(function* () {
  const name = `tiny-cloud-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  yield* Effect.acquireRelease(ip("netns", "add", name), () => Effect.ignore(run(IP, ["netns", "del", name])))
  yield* ip("-n", name, "link", "set", "lo", "up")
  return {
    name,
    ip: (...args) => ip("-n", name, ...args),
    exec: (command, args, env) => run(IP, ["netns", "exec", name, command, ...args], env)
  }
})

let bundled: Promise<string> | undefined

/** the simulator as one script for plain Node, in a directory of the scope's: its options in SIM_OPTIONS, `ready` on stdout once it listens */
const simulatorScript = Effect.gen(function* () {
  bundled ??= build({
    stdin: {
      contents: `import { startSimulator } from "./src/sim/simulator.ts"
const sim = await startSimulator(JSON.parse(process.env.SIM_OPTIONS))
process.on("SIGTERM", () => sim.close().then(() => process.exit(0)))
process.stdout.write("ready\\n")`,
      resolveDir: ROOT,
      loader: "ts"
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    logLevel: "silent"
  }).then((result) => result.outputFiles[0]!.text)
  const text = yield* Effect.promise(() => bundled!)
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "tiny-cloud-sim-"))),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  )
  writeFileSync(join(dir, "simulator.mjs"), text)
  return join(dir, "simulator.mjs")
})

/** the simulator of `cloud` on the namespace's 127.0.0.1:PORT, stopped with the scope */
export const simulatorIn = (ns: Namespace, cloud: string, instance: SimInstance, port: number) =>
  Effect.acquireRelease(
    Effect.flatMap(
      simulatorScript,
      (script) =>
        Effect.async<ReturnType<typeof spawn>>((resume) => {
          const child = spawn(IP, ["netns", "exec", ns.name, process.execPath, script], {
            env: { ...process.env, SIM_OPTIONS: JSON.stringify({ cloud, instance, host: "127.0.0.1", port }) },
            stdio: ["ignore", "pipe", "pipe"]
          })
          let err = ""
          let ready = false
          child.stderr.on("data", (c: Buffer) => (err += c.toString()))
          child.stdout.on("data", (c: Buffer) => {
            if (ready || !c.toString().includes("ready")) return
            ready = true
            resume(Effect.succeed(child))
          })
          child.on("close", (code) => {
            if (!ready) resume(Effect.die(new Error(`simulator in ${ns.name} exited with ${code}: ${err.trim()}`)))
          })
        })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("close", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )
