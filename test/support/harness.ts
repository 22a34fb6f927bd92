import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterEach, beforeEach } from "vitest"
import { makeFakeSystem, readCommandLog, type FakeSystem, type FakeSystemOptions } from "../../src/sim/fake-system.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeLiveCommands } from "../../src/layers/CommandsLive.js"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { Commands } from "../../src/services/Commands.js"
import type { LockShape } from "../../src/services/Lock.js"
import { instanceSettings } from "./instance-env.js"
import { runInProcess, testHttp } from "./instance.js"
import { startSimulator, type RunningSim, type SimCloud, type SimFaults, type SimInstance } from "../../src/sim/simulator.js"
import { scratchDir } from "./scratch.js"
import { TEST_CODE_CACHE } from "./code-cache.js"

export const PROGRAM = resolve(new URL("../../dist/tiny-cloud.cjs", import.meta.url).pathname)

export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export { TEST_CODE_CACHE } from "./code-cache.js"

/** runs the bundled program as its own process; `as` is the name it is invoked by */
export const runProgram = (args: ReadonlyArray<string>, env: Record<string, string>, as: "tiny-cloud" | "imds" = "tiny-cloud", cwd?: string) =>
  new Promise<RunResult>((done) => {
    let script = PROGRAM
    if (as === "imds") {
      // one directory per build: a link another checkout made (tmp is shared) would run that checkout's program
      const dir = join(tmpdir(), `tiny-cloud-test-bin-${createHash("sha256").update(PROGRAM).digest("hex").slice(0, 12)}`)
      mkdirSync(dir, { recursive: true })
      script = join(dir, "imds")
      // two workers may make it at once on a fresh machine: the other's link is the same
      if (!existsSync(script)) {
        try {
          symlinkSync(PROGRAM, script)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        }
      }
    }
    const child = spawn(process.execPath, [script, ...args], { cwd, env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("latin1")))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }))
  })

export interface TestInstance {
  readonly dir: string
  readonly fake: FakeSystem
  readonly root: string
  readonly sim: RunningSim | undefined
  readonly env: Record<string, string>
  readonly run: (args: ReadonlyArray<string>, extraEnv?: Record<string, string>) => Promise<RunResult>
  /**
   * `tiny-cloud ARGS...` in this process, as `run` runs it but for the process: the same environment, the
   * instance's stand-ins run for real (their record is `commands()`'s). For the phases that only bring an
   * instance to where the process a test is about starts; never one that runs a user's program that signals its parent.
   * `lock` in place of the real one: flock(2) on a descriptor of this process, which a program another thread of it
   * (vitest's other worker) forks meanwhile holds until it execs, so that a lock let go may still be held
   */
  readonly runHere: (args: ReadonlyArray<string>, extraEnv?: Record<string, string>, lock?: LockShape) => Promise<RunResult>
  readonly imds: (args: ReadonlyArray<string>, extraEnv?: Record<string, string>) => Promise<RunResult>
  /** runs boot, early, main and final as four processes; stops at none */
  readonly boot: (extraEnv?: Record<string, string>) => Promise<Array<RunResult>>
  readonly read: (instancePath: string) => string | undefined
  readonly mode: (instancePath: string) => number | undefined
  readonly commands: () => Array<string>
  readonly commandsWithStdin: () => Array<{ line: string; stdin: Array<string> }>
  readonly write: (instancePath: string, content: string | Uint8Array) => void
  readonly close: () => Promise<void>
}

export interface InstanceOptions extends FakeSystemOptions {
  readonly cloud?: SimCloud
  readonly instance?: SimInstance
  readonly faults?: SimFaults
  /** no simulator at all (nocloud from local files, unknown clouds) */
  readonly noSimulator?: boolean
  readonly env?: Record<string, string>
  readonly conf?: string
}

export const makeInstance = async (options: InstanceOptions = {}): Promise<TestInstance> => {
  const dir = scratchDir("tiny-cloud-test-")
  const fake = makeFakeSystem(dir, options)
  const cloud = options.cloud ?? "aws"
  const sim = options.noSimulator
    ? undefined
    : await startSimulator({ cloud, instance: options.instance ?? {}, root: fake.root, ...(options.faults ? { faults: options.faults } : {}) })
  for (const [path, content] of Object.entries(sim?.instanceFiles ?? {})) writeFileSync(join(fake.root, path), content)
  if (options.conf !== undefined) writeFileSync(join(fake.root, "etc/tiny-cloud.conf"), options.conf)
  const env: Record<string, string> = {
    PATH: fake.path,
    HOME: dir,
    FAKE_COMMAND_LOG: fake.commandLog,
    ...instanceSettings(fake.root, cloud, sim, options)
  }
  const at = (p: string) => join(fake.root, p)
  const run = (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}) => runProgram(args, { ...env, ...extraEnv })
  return {
    dir,
    fake,
    root: fake.root,
    sim,
    env,
    run,
    runHere: (args, extraEnv = {}, lock) => {
      const runEnv = { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...env, ...extraEnv }
      const commands = (echo: (chunk: Uint8Array) => void) => Layer.succeed(Commands, makeLiveCommands(echo, runEnv))
      return Effect.runPromise(runInProcess(args, routeTinyCloud(args), runEnv, commands, testHttp, lock))
    },
    imds: (args, extraEnv = {}) => runProgram(args, { ...env, ...extraEnv }, "imds"),
    boot: async (extraEnv = {}) => {
      const results: Array<RunResult> = []
      for (const phase of ["boot", "early", "main", "final"]) results.push(await run([phase], extraEnv))
      return results
    },
    read: (p) => (existsSync(at(p)) ? readFileSync(at(p), "utf8") : undefined),
    mode: (p) => (existsSync(at(p)) ? statSync(at(p)).mode & 0o7777 : undefined),
    commands: () => readCommandLog(fake).map((c) => c.line).filter((l) => !l.startsWith("logger ")),
    commandsWithStdin: () => readCommandLog(fake).filter((c) => !c.line.startsWith("logger ")),
    write: (p, content) => {
      mkdirSync(join(at(p), ".."), { recursive: true })
      writeFileSync(at(p), content)
    },
    close: async () => {
      await sim?.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * Called once at the top of a test file: the function it returns makes an
 * instance (as makeInstance does) that is closed once its test is over.
 * In a concurrent suite, where a test cannot tell its instances from its
 * neighbours', they are closed when no test of the file is running any more.
 */
export const useInstances = () => {
  const open = new Set<TestInstance>()
  let running = 0
  beforeEach(() => {
    running++
  })
  afterEach(async () => {
    running--
    if (running > 0) return
    const done = [...open]
    open.clear()
    await Promise.all(done.map((instance) => instance.close()))
  })
  return async (options?: InstanceOptions): Promise<TestInstance> => {
    const instance = await makeInstance(options)
    open.add(instance)
    return instance
  }
}

/** the stderr lines of a phase that the engine writes for actions */
export const actionLines = (stderr: string) => stderr.split("\n").filter((l) => /^ {3}(\+\+|--) /.test(l))
