import { Command, Options } from "@effect/cli"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { Effect, Layer, Option } from "effect"
import { makeFakeSystem, readCommandLog, type FakeSystem } from "../sim/fake-system.js"
import { SIM_CLOUDS, startSimulator, type RunningSim, type SimCloud, type SimInstance } from "../sim/simulator.js"
import { PHASES } from "../schema/config.js"

declare const __VERSION__: string

const DEMO_USER_DATA = "#!/bin/sh\necho \"hello from user-data on $(cat \"$ROOT/etc/hostname\")\"\n"

export const demoInstance = (userData: Uint8Array): SimInstance => ({
  hostname: "demo-1.example.internal",
  localHostname: "demo-1.example.internal",
  instanceId: "i-0123456789abcdef0",
  sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTinyCloudSimulation demo@example"],
  userData,
  nics: [{ mac: "02:00:00:00:00:01", ipv4: ["10.0.0.5"], ipv4Net: ["10.0.0.0/24"] }]
})

interface Snapshot {
  readonly [path: string]: string
}

const snapshot = (root: string): Snapshot => {
  const files: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.isFile() || entry.isSymbolicLink()) {
        const s = statSync(p, { throwIfNoEntry: false })
        files[`/${relative(root, p)}`] = s ? `${s.size}:${s.mtimeMs}:${(s.mode & 0o7777).toString(8)}` : "link"
      }
    }
  }
  walk(root)
  return files
}

/** the environment a simulated instance's phases run with */
export const simulationEnv = (fake: FakeSystem, cloud: SimCloud, sim: RunningSim): Record<string, string> => ({
  ...(process.env as Record<string, string>),
  ROOT: fake.root,
  PATH: fake.path,
  FAKE_COMMAND_LOG: fake.commandLog,
  CLOUD: cloud,
  TINY_CLOUD_LINK_WAIT_MAX: "1",
  IMDS_DEADLINE: "10",
  ...(sim.endpoint ? { IMDS_ENDPOINT: sim.endpoint } : {})
})

/** one phase as OpenRC would start it: a process of its own */
export const runPhaseProcess = (phase: string, env: Record<string, string>) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(process.execPath, [process.argv[1]!, phase], { env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (c: Buffer) => (output += c.toString()))
    child.stderr.on("data", (c: Buffer) => (output += c.toString()))
    child.on("close", (code) => resolve({ code: code ?? 1, output }))
  })

const simulate = (cloud: SimCloud, userDataFile: Option.Option<string>, rootDir: Option.Option<string>) =>
  Effect.promise(async () => {
    const dir = Option.getOrElse(rootDir, () => mkdtempSync(join(tmpdir(), "tiny-cloud-sim-")))
    mkdirSync(dir, { recursive: true })
    const fake = makeFakeSystem(dir)
    const userData = Option.match(userDataFile, { onNone: () => new TextEncoder().encode(DEMO_USER_DATA), onSome: (f) => new Uint8Array(readFileSync(f)) })
    const socketPath = cloud === "incus" ? join(fake.root, "dev/incus/sock") : undefined
    if (socketPath) mkdirSync(join(fake.root, "dev/incus"), { recursive: true })
    const sim = await startSimulator({ cloud, instance: demoInstance(userData), ...(socketPath ? { socketPath } : {}) })
    if (cloud === "nocloud") writeFileSync(join(fake.root, "proc/cmdline"), `root=/dev/vda2 ds=nocloud;s=${sim.seedUrl}\n`)
    const env = simulationEnv(fake, cloud, sim)
    const before = snapshot(fake.root)
    const out = process.stdout
    out.write(`Simulated ${cloud} instance: ROOT=${fake.root}\nmetadata service: ${sim.endpoint || sim.socketPath}\n`)
    let status = 0
    try {
      for (const phase of PHASES) {
        const { code, output } = await runPhaseProcess(phase, env)
        out.write(`\n== tiny-cloud ${phase} (exit ${code})\n${output}`)
        if (code !== 0) status = 1
      }
      const second = await runPhaseProcess("boot", env)
      out.write(`\n== second boot: tiny-cloud boot (exit ${second.code})\n${second.output}`)
    } finally {
      await sim.close()
    }
    const after = snapshot(fake.root)
    const changed = Object.keys(after).filter((p) => before[p] !== after[p]).sort()
    out.write(`\n== files written under ROOT\n${changed.map((p) => `  ${p}  (mode ${after[p]!.split(":")[2] ?? "?"})`).join("\n")}\n`)
    const describe = (c: { line: string; stdin: Array<string> }) =>
      c.line.startsWith("logger ") ? `  ${c.line}   <<< ${c.stdin.length} line(s)` : `  ${c.line}${c.stdin.length ? `   <<< ${c.stdin.join("\\n")}` : ""}`
    out.write(`\n== system commands that would run\n${readCommandLog(fake).map(describe).join("\n")}\n`)
    if (Option.isNone(rootDir)) rmSync(dir, { recursive: true, force: true })
    else out.write(`\nThe simulated instance is kept in ${dir}\n`)
    return status
  })

const command = Command.make(
  "simulate",
  {
    cloud: Options.choice("cloud", SIM_CLOUDS).pipe(Options.withDefault("aws" as SimCloud), Options.withDescription("the cloud to simulate")),
    userData: Options.file("user-data").pipe(Options.optional, Options.withDescription("user-data to boot with")),
    root: Options.directory("root", { exists: "either" }).pipe(Options.optional, Options.withDescription("keep the simulated instance in this directory"))
  },
  ({ cloud, userData, root }) => Effect.flatMap(simulate(cloud, userData, root), (status) => Effect.sync(() => (process.exitCode = status)))
)

export const main = (args: ReadonlyArray<string>): Promise<never> => {
  const cli = Command.run(command, { name: "tiny-cloud simulate", version: typeof __VERSION__ === "string" ? __VERSION__ : "dev" })
  return Effect.runPromise(
    cli(["node", "tiny-cloud simulate", ...args]).pipe(
      Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)),
      Effect.catchAll(() => Effect.sync(() => (process.exitCode = 1)))
    )
  ).then(() => process.exit(process.exitCode ?? 0))
}
