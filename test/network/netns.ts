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
import type { SimFaults, SimInstance, SimReport, SimRequest } from "../../src/sim/simulator.js"
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

/**
 * An IPv6 subnet (RA's SLAAC address `own`/64 on `v6net`) whose frames to
 * `silent` go out and are never answered: a connection to it waits for its
 * SYN's answer until its timeout, as at a metadata address whose service is off
 */
export const silentIpv6Subnet = (ns: Namespace, own: string, silent: string) =>
  Effect.gen(function* () {
    yield* ns.ip("link", "add", "v6net", "type", "veth", "peer", "name", "v6peer")
    yield* ns.ip("link", "set", "v6net", "up")
    yield* ns.ip("link", "set", "v6peer", "up")
    yield* ns.ip("-6", "addr", "add", `${own}/64`, "dev", "v6net", "nodad")
    yield* ns.ip("-6", "neigh", "replace", silent, "lladdr", "02:00:00:00:00:01", "dev", "v6net", "nud", "permanent")
  })

let bundled: Promise<string> | undefined

/** the simulator as one script for plain Node, in a directory of the scope's: its options in SIM_OPTIONS, `ready` on stdout once it listens */
const simulatorScript = Effect.gen(function* () {
  bundled ??= build({
    stdin: {
      contents: `import { startSimulator } from "./src/sim/simulator.ts"
const bytes = (_key, value) => (value !== null && typeof value === "object" && typeof value.$bytes === "string" ? new Uint8Array(Buffer.from(value.$bytes, "base64")) : value)
const sim = await startSimulator(JSON.parse(process.env.SIM_OPTIONS, bytes))
process.on("SIGTERM", () => sim.close().then(() => process.stdout.write(JSON.stringify({ requests: sim.requests, reports: sim.reports }) + "\\n", () => process.exit(0))))
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

/** what a simulator heard: its requests, and what the instance reported (azure's Ready) */
export interface SimRecord {
  readonly requests: ReadonlyArray<SimRequest>
  readonly reports: ReadonlyArray<SimReport>
}

export interface SimIn {
  /** stops the simulator; what it heard */
  readonly stop: Effect.Effect<SimRecord>
}

/** the instance as JSON, its bytes (user-data) as `{ $bytes: BASE64 }` */
const instanceJson = (options: object) =>
  JSON.stringify(options, (_key, value: unknown) => (value instanceof Uint8Array ? { $bytes: Buffer.from(value).toString("base64") } : value))

/**
 * The simulator of `cloud` on the namespace's HOST:PORT (default
 * 127.0.0.1; a cloud served on a unix socket listens under `root`), with
 * `faults`, stopped with the scope or by `stop`.
 */
export const simulatorIn = (
  ns: Namespace,
  cloud: string,
  instance: SimInstance,
  port: number,
  where: { readonly host?: string; readonly root?: string; readonly faults?: SimFaults } = {}
) =>
  Effect.acquireRelease(
    Effect.flatMap(
      simulatorScript,
      (script) =>
        Effect.async<SimIn>((resume) => {
          const child = spawn(IP, ["netns", "exec", ns.name, process.execPath, script], {
            env: { ...process.env, SIM_OPTIONS: instanceJson({ cloud, instance, host: where.host ?? "127.0.0.1", port, ...(where.root ? { root: where.root } : {}), ...(where.faults ? { faults: where.faults } : {}) }) },
            stdio: ["ignore", "pipe", "pipe"]
          })
          let err = ""
          let out = ""
          let ready = false
          const closed = new Promise<SimRecord>((done) =>
            child.on("close", (code) => {
              if (!ready) return resume(Effect.die(new Error(`simulator in ${ns.name} exited with ${code}: ${err.trim()}`)))
              const last = out.trim().split("\n").at(-1) ?? ""
              done(last.startsWith("{") ? (JSON.parse(last) as SimRecord) : { requests: [], reports: [] })
            })
          )
          child.stderr.on("data", (c: Buffer) => (err += c.toString()))
          child.stdout.on("data", (c: Buffer) => {
            out += c.toString()
            if (ready || !out.includes("ready\n")) return
            ready = true
            resume(
              Effect.succeed({
                stop: Effect.promise(() => {
                  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
                  return closed
                })
              })
            )
          })
        })
    ),
    (sim) => Effect.asVoid(sim.stop)
  )
