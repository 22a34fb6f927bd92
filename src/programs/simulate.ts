import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { makeFakeSystem, readCommandLog, type FakeSystem } from "../sim/fake-system.js"
import { SIM_CLOUDS, simulatedCloud, socketPathProblem, startSimulator, type RunningSim, type SimCloud, type SimInstance } from "../sim/simulator.js"
import { CONFINED_ENV, confinedCommand, SIMULATION_ENV, type UserCommands } from "../domain/confine.js"
import { PHASES } from "../domain/phases.js"
import { CONFIG_KEYS } from "../domain/settings.js"
import { bytesOf, messageOf } from "../domain/text.js"

const DEMO_USER_DATA = "#!/bin/sh\necho \"hello from user-data on $(cat /etc/hostname)\"\n"

/**
 * A `chpasswd -e` line as the report shows it: a lock (`*`, `!`) as it is, a
 * password hash not (BEHAVIOUR.md 4.5: a `passwd`/`hashed_passwd` is a secret,
 * as /etc/shadow is root's); the stand-in's record keeps it for the tests
 */
const withoutHash = (line: string): string => {
  const colon = line.indexOf(":")
  const hash = colon < 0 ? "" : line.slice(colon + 1)
  return colon < 0 || hash === "*" || hash === "!" ? line : `${line.slice(0, colon)}:(hash not shown)`
}

export const demoInstance = (userData: Uint8Array | undefined, customData?: Uint8Array): SimInstance => ({
  hostname: "demo-1.example.internal",
  localHostname: "demo-1.example.internal",
  instanceId: "i-0123456789abcdef0",
  sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTinyCloudSimulation demo@example"],
  ...(userData !== undefined ? { userData } : {}),
  ...(customData !== undefined ? { customData } : {}),
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
        // a link that leads nowhere, or round to itself (ELOOP: the user's `ln -s loop loop`), is a link
        const s = (() => {
          try {
            return statSync(p, { throwIfNoEntry: false })
          } catch {
            return undefined
          }
        })()
        files[`/${relative(root, p)}`] = s ? `${s.size}:${s.mtimeMs}:${(s.mode & 0o7777).toString(8)}` : "link"
      }
    }
  }
  walk(root)
  return files
}

/**
 * The caller's own state and log directories (an environment's are taken as
 * given, not under ROOT): a simulation run on an instance would mark its real
 * bootstrap complete.
 */
const HOST_DIRECTORIES = ["TINY_CLOUD_VAR", "TINY_CLOUD_LOGS"]

/** the environment a simulated instance's phases run with */
const simulationEnv = (fake: FakeSystem, cloud: SimCloud, sim: RunningSim): Record<string, string> => ({
  // a simulated instance's, whose link is up and whose simulator answers at once; the caller's own settings win, as on an instance
  TINY_CLOUD_LINK_WAIT_MAX: "1",
  IMDS_DEADLINE: "10",
  ...(Object.fromEntries(Object.entries(process.env).filter(([key]) => !HOST_DIRECTORIES.includes(key))) as Record<string, string>),
  ROOT: fake.root,
  PATH: fake.path,
  FAKE_COMMAND_LOG: fake.commandLog,
  CLOUD: cloud,
  ...(sim.endpoint ? { IMDS_ENDPOINT: sim.endpoint } : {}),
  ...sim.settings,
  // the stand-in `mount` presents the medium's files for its device
  ...(sim.media !== undefined ? { FAKE_MEDIA_DEVICE: sim.media.device, FAKE_MEDIA: mediaDirectory(fake) } : {})
})

/** where a simulated instance's attached medium (azure's provisioning media) is kept: beside its ROOT */
const mediaDirectory = (fake: FakeSystem) => join(fake.root, "..", "media")

/** the phase processes running now: one that outlived this process would go on writing into the instance */
const phaseProcesses = new Set<ChildProcess>()

/** what ends a simulation as it ends a program run from a shell: Ctrl-C, a hangup, `kill` */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const

/** the signal that is ending the simulation: no phase starts after it */
let stoppedBy: NodeJS.Signals | undefined

/**
 * one phase as OpenRC would start it: a process of its own, its stdout and stderr one pipe, as they are one
 * console on a real boot, so that its log keeps the order it was written in (two pipes, read as they come, put
 * a script's output after the lines the phase wrote after it when this process was slow to read them)
 */
const runPhaseProcess = (phase: string, env: Record<string, string>) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    // stopped by a signal: this process is about to die of it, and reports nothing more
    if (stoppedBy !== undefined) return
    const child = spawn("/bin/sh", ["-c", 'exec "$0" "$@" 2>&1', process.execPath, process.argv[1]!, phase], { env, stdio: ["ignore", "pipe", "ignore"] })
    phaseProcesses.add(child)
    let output = ""
    child.stdout.on("data", (c: Buffer) => (output += c.toString()))
    child.on("close", (code) => {
      phaseProcesses.delete(child)
      if (stoppedBy === undefined) resolve({ code: code ?? 1, output })
    })
  })

/**
 * A signal that ends the simulation (`kill PID`, a hangup, a Ctrl-C to it alone) ends it as it would a boot: each
 * phase running gets it, and passes it on to the user's programs (a phase killed otherwise could not: they and
 * their confinement would go on unseen); once the phases have ended, `done` (the temporary instance removed), and this
 * process dies of the signal, the status a shell expects of it (128 + N), not an exit that skips the phases
 */
const stopOnSignals = (done: () => void) => {
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (stoppedBy !== undefined) return
      stoppedBy = signal
      const ended = [...phaseProcesses].map((child) => new Promise((gone) => (child.exitCode !== null || child.signalCode !== null ? gone(undefined) : child.once("exit", gone))))
      for (const child of phaseProcesses) child.kill(signal)
      void Promise.all(ended).then(() => {
        try {
          done()
        } catch {
          // what cannot be removed stays in the temporary directory
        }
        for (const off of handlers) off()
        process.kill(process.pid, signal)
      })
    }
    process.on(signal, handler)
    return () => void process.off(signal, handler)
  })
}

/** why the user's programs cannot be confined here, or undefined when they can */
const confinement = (root: string) =>
  new Promise<string | undefined>((done) => {
    const [program, argv] = confinedCommand(root, "/bin/true", [], process.execPath)
    const child = spawn(program, [...argv], { env: CONFINED_ENV, stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    child.stderr.on("data", (c: Buffer) => (err += c.toString()))
    child.on("error", (e) => done((e as NodeJS.ErrnoException).code === "ENOENT" ? "unshare is not installed" : e.message))
    child.on("close", (code) => done(code === 0 ? undefined : err.trim().split("\n")[0] || `exit status ${code}`))
  })

/** `mkdir DIR`, where a directory already there is made (`new/..` once `new` is, as mkdir -p takes it) */
const makeDirectory = (dir: string): void => {
  try {
    mkdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(dir).isDirectory()) throw e
  }
}

/**
 * `mkdir -p DIR`, a directory at a time: Node's recursive mkdir never returns
 * where the system refuses a directory with ENOENT though its parent is there
 * (`/proc/x`); what the system says otherwise is thrown
 */
const makeDirectories = (dir: string): void => {
  try {
    makeDirectory(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(dir) === dir) throw e
    makeDirectories(dirname(dir))
    makeDirectory(dir)
  }
}

const simulate = ({ cloud, userData: userDataFile, customData: customDataFile, root: rootDir, exec }: SimulateOptions) =>
  Effect.promise(async () => {
    // `not a directory`, `permission denied`...: the system's words, without the path the line names already
    const systemWords = (e: unknown) => {
      const message = messageOf(e)
      return /^[A-Z0-9]+: ([^,]+)/.exec(message)?.[1] ?? message
    }
    let dir: string
    try {
      dir = Option.getOrElse(rootDir, () => mkdtempSync(join(tmpdir(), "tiny-cloud-sim-")))
    } catch (e) {
      // without --root: TMPDIR names a directory that is not there, or not this user's to write in
      process.stderr.write(`tiny-cloud simulate: cannot make a temporary instance in ${tmpdir()} (TMPDIR): ${systemWords(e)}\n`)
      return 1
    }
    // refused before anything is made in DIR: a refusal leaves no half-made instance behind
    const socketProblem = socketPathProblem(cloud, await simulatedCloud(cloud), join(resolve(dir), "root"))
    if (socketProblem !== undefined) {
      process.stderr.write(`tiny-cloud simulate: ${socketProblem}\n`)
      if (Option.isNone(rootDir)) rmSync(dir, { recursive: true, force: true })
      return 1
    }
    try {
      makeDirectories(dir)
    } catch (e) {
      process.stderr.write(`tiny-cloud simulate: --root ${dir}: cannot make it: ${systemWords(e)}\n`)
      return 1
    }
    // a relative --root made the stand-ins' directory a relative PATH entry, which the phases leave out: the machine's own addgroup ran
    dir = resolve(dir)
    const removeTemporary = () => {
      if (Option.isNone(rootDir)) rmSync(dir, { recursive: true, force: true })
    }
    // a reader that goes away (`simulate | head`, `| less` quit early) ends this process at its next write (src/entry/exit.ts),
    // maybe while a phase runs: the phase is stopped and the temporary instance removed
    process.once("exit", () => {
      for (const child of phaseProcesses) child.kill("SIGKILL")
      try {
        removeTemporary()
      } catch {
        // what a phase wrote as it was stopped stays in the temporary directory
      }
    })
    stopOnSignals(removeTemporary)
    let fake: FakeSystem
    try {
      // an image with tiny-cloud installed, as a package installs it: the network helpers HOTPLUG_MODULES names are there
      fake = makeFakeSystem(dir, { program: process.argv[1]! })
    } catch (e) {
      process.stderr.write(`tiny-cloud simulate: ${messageOf(e)}\n`)
      removeTemporary()
      return 1
    }
    const userCommands: UserCommands = exec ? "exec" : "record"
    if (exec) {
      const reason = await confinement(fake.root)
      if (reason !== undefined) {
        process.stderr.write(`tiny-cloud simulate: --exec needs a private mount namespace and pivot_root (unshare, pivot_root): ${reason}\n`)
        removeTemporary()
        return 1
      }
    }
    const record = join(dir, "user-programs.log")
    // the user's programs' text, which may carry a token, as the saved user-data (0600) does
    writeFileSync(record, "", { mode: 0o600 })
    const customData = Option.map(customDataFile, (f) => new Uint8Array(readFileSync(f)))
    // custom data alone is the instance's user-data: no demo script beside it
    const userData = Option.match(userDataFile, {
      onNone: () => (Option.isSome(customData) ? undefined : bytesOf(DEMO_USER_DATA)),
      onSome: (f) => new Uint8Array(readFileSync(f))
    })
    let sim: RunningSim
    try {
      sim = await startSimulator({ cloud, instance: demoInstance(userData, Option.getOrUndefined(customData)), root: fake.root })
    } catch (e) {
      process.stderr.write(`tiny-cloud simulate: ${messageOf(e)}\n`)
      removeTemporary()
      return 1
    }
    for (const [path, content] of Object.entries(sim.instanceFiles)) writeFileSync(join(fake.root, path), content)
    if (sim.media !== undefined) {
      // the custom data, no one else's to read (cloud-init keeps its copy of ovf-env.xml 0600)
      mkdirSync(mediaDirectory(fake), { recursive: true, mode: 0o700 })
      for (const [path, content] of Object.entries(sim.media.files)) writeFileSync(join(mediaDirectory(fake), path), content, { mode: 0o600 })
    }
    const env: Record<string, string> = { ...simulationEnv(fake, cloud, sim), [SIMULATION_ENV.mode]: userCommands, [SIMULATION_ENV.record]: record }
    // the settings the simulation gives the instance itself (its ROOT, --cloud, its metadata service's address): the caller's are not used
    const replaced = CONFIG_KEYS.filter((key) => process.env[key] !== undefined && process.env[key] !== env[key])
    if (replaced.length > 0) process.stderr.write(`tiny-cloud simulate: ${replaced.join(", ")} of the environment ${replaced.length === 1 ? "is" : "are"} not used: the simulated instance has its own\n`)
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
    const commands = readCommandLog(fake)
    const syslog = commands.filter((c) => c.line.startsWith("logger "))
    const describe = (c: { line: string; stdin: Array<string> }) => {
      const stdin = c.line === "chpasswd -e" ? c.stdin.map(withoutHash) : c.stdin
      return `  ${c.line}${stdin.length ? `   <<< ${stdin.join("\\n")}` : ""}`
    }
    out.write(`\n== system commands that would run\n${commands.filter((c) => !c.line.startsWith("logger ")).map(describe).join("\n")}\n`)
    out.write(`  logger: ${syslog.length} line(s) to syslog, facility local7, tag tiny-cloud/PHASE[PID]\n`)
    const programs = readFileSync(record, "utf8")
    out.write(`\n== the user's programs (${exec ? "run confined to ROOT" : "not run; --exec runs them confined to ROOT"})\n${programs === "" ? "  (none)\n" : programs.replace(/^(?!  \|)/gm, "  ").replace(/\n  $/, "\n")}`)
    if (Option.isNone(rootDir)) removeTemporary()
    else out.write(`\nThe simulated instance is kept in ${dir}\n`)
    return status
  })

const SIMULATE_USAGE = `Usage: tiny-cloud simulate [--cloud CLOUD] [--user-data FILE] [--custom-data FILE] [--root DIR] [--exec]
  --cloud CLOUD     the cloud to simulate: ${SIM_CLOUDS.join(", ")} (default aws)
  --user-data FILE  boot with this user-data instead of the demo script
  --custom-data FILE
                    azure: boot with this custom data (az vm create --custom-data)
                    on the provisioning media, and no user-data unless --user-data
  --root DIR        keep the simulated instance in DIR
  --exec            run the user-data's own programs, confined to the simulated ROOT
                    (a private mount namespace with ROOT as its root, imds on their PATH);
                    without it they are only listed
`

interface SimulateOptions {
  readonly cloud: SimCloud
  readonly userData: Option.Option<string>
  readonly customData: Option.Option<string>
  readonly root: Option.Option<string>
  readonly exec: boolean
}

/** the options, or the one line saying what is wrong with them */
const parseSimulateArgs = (args: ReadonlyArray<string>): SimulateOptions | string => {
  let cloud: SimCloud = "aws"
  let userData = Option.none<string>()
  let customData = Option.none<string>()
  let root = Option.none<string>()
  let exec = false
  /** each option once, as the other commands take theirs: of two `--root`s, neither is silently the one */
  const given = new Set<string>()
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--exec") {
      if (exec) return "--exec given twice"
      exec = true
      continue
    }
    const [flag, inline] = args[i]!.startsWith("--") && args[i]!.includes("=") ? [args[i]!.slice(0, args[i]!.indexOf("=")), args[i]!.slice(args[i]!.indexOf("=") + 1)] : [args[i]!, undefined]
    // (`--exec=yes`: the option is known, its value is what is wrong)
    if (flag === "--exec") return "--exec takes no value"
    if (!["--cloud", "--user-data", "--custom-data", "--root"].includes(flag)) return `unknown option '${flag}'`
    if (given.has(flag)) return `${flag} given twice`
    given.add(flag)
    const value = inline ?? args[++i]
    if (value === undefined || value === "") return `${flag} needs a value`
    if (flag === "--cloud") {
      if (!SIM_CLOUDS.includes(value)) return `unknown cloud '${value}'; expected one of ${SIM_CLOUDS.join(", ")}`
      cloud = value
    } else if (flag === "--user-data") userData = Option.some(value)
    else if (flag === "--custom-data") customData = Option.some(value)
    else root = Option.some(value)
  }
  if (Option.isSome(customData) && cloud !== "azure") return "--custom-data: only azure has custom data; add --cloud azure"
  return { cloud, userData, customData, root, exec }
}

/** what makes the options unusable, before anything is made: a user-data that is a directory, a ROOT that is not an empty directory */
const optionProblem = ({ userData, customData, root }: SimulateOptions): string | undefined => {
  const kind = (path: string) => {
    try {
      const s = statSync(path)
      return s.isFile() ? "file" : s.isDirectory() ? "directory" : "other"
    } catch {
      return "none"
    }
  }
  for (const file of [userData, customData]) {
    if (Option.isNone(file)) continue
    const found = kind(file.value)
    if (found === "none") return `cannot read ${file.value}: no such file`
    // a pipe (`--user-data <(...)`) or /dev/stdin is read as a file is
    if (found === "directory") return `cannot read ${file.value}: is a directory`
  }
  if (Option.isSome(root) && !["none", "directory"].includes(kind(root.value))) return `--root ${root.value}: not a directory`
  // a first boot needs a fresh instance: an earlier simulation's ROOT (or anyone's files) is neither reused nor overwritten
  if (Option.isSome(root) && kind(root.value) === "directory" && readdirSync(root.value).length > 0) return `--root ${root.value}: not empty; give a new or empty directory`
  return undefined
}

export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  if (args[0] === "-h" || args[0] === "--help") {
    process.stdout.write(SIMULATE_USAGE)
    return 0
  }
  const options = parseSimulateArgs(args)
  if (typeof options === "string") {
    process.stderr.write(`tiny-cloud simulate: ${options}\n`)
    return 1
  }
  const problem = optionProblem(options)
  if (problem !== undefined) {
    process.stderr.write(`tiny-cloud simulate: ${problem}\n`)
    return 1
  }
  return Effect.runPromise(simulate(options))
}
