/**
 * A pretend instance driven in-process: a temporary ROOT shaped like a
 * fresh Alpine image, the metadata simulator on 127.0.0.1 (a real HTTP
 * server), and the program's own layers with a recording command runner and
 * captured output. Each `run` is like one process: fresh configuration,
 * caches and output; the recorded commands accumulate.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { bootstrapStatus } from "../../src/entry/bootstrap-status.js"
import { appLayer } from "../../src/layers/live.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { routeTinyCloud, routeImds, type Route } from "../../src/programs/cli.js"
import { describeCause } from "../../src/programs/failure.js"
import { Http } from "../../src/services/Http.js"
import { Lock, type LockShape } from "../../src/services/Lock.js"
import { Output } from "../../src/services/Output.js"
import { makeFakeSystem, type FakeSystemOptions } from "../../src/sim/fake-system.js"
import { startSimulator, type RunningSim, type SimFaults, type SimInstance } from "../../src/sim/simulator.js"
import { CommandsLive } from "../../src/layers/CommandsLive.js"
import type { Commands } from "../../src/services/Commands.js"
import { instanceSettings } from "./instance-env.js"
import { capturingOutput, lineOf, recordingCommands, type Invocation, type SystemOptions } from "./layers.js"
import { makeMemoryLock } from "./memory-lock.js"
import { scratchDir } from "./scratch.js"

export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface InstanceOptions extends FakeSystemOptions {
  /** the simulated cloud (default aws); CLOUD is set to it */
  readonly cloud?: string
  readonly instance?: SimInstance
  readonly faults?: SimFaults
  /** no simulator at all (nocloud from local files, unknown clouds); CLOUD is not set */
  readonly noSimulator?: boolean
  readonly env?: Readonly<Record<string, string>>
  /** `$ROOT/etc/tiny-cloud.conf` */
  readonly conf?: string
  /** a directory `mount LABEL=cidata` presents */
  readonly cidata?: string
  /** a directory `mount LABEL=config-2` presents (an OpenStack config drive) */
  readonly configDrive?: string
  /** a directory `mount /dev/sr0` presents (Azure's provisioning media) */
  readonly azureMedia?: string
  /** commands that are not installed */
  readonly missing?: ReadonlyArray<string>
  /** a `logger` installed: the lines sent to syslog are recorded, each as an invocation of it with the line as its stdin */
  readonly syslog?: boolean
  /** an answer of its own for a recorded command (exit status, output; it may run the real tool) */
  readonly answer?: SystemOptions["answer"]
  /** each recorded command takes this long to answer (concurrent runs interleave as real programs would) */
  readonly commandDelayMs?: number
  /** run the system's own commands for real instead of recording them (`commands()` stays empty) */
  readonly realCommands?: boolean
  /** a request over https goes over plain HTTP to its host and port: a TLS-terminating stand-in, as the tests' servers have no certificate this process trusts */
  readonly httpsAsHttp?: boolean
  /** the network of the test's own in place of the real one (with `noSimulator`: a metadata service answering on the Effect clock) */
  readonly http?: Layer.Layer<Http>
  /** the program's own lock (a flock process per lock) in place of one in memory: for tests whose subject is the lock */
  readonly realLock?: boolean
}

export interface TestInstance {
  readonly dir: string
  readonly root: string
  readonly sim: RunningSim | undefined
  readonly env: Readonly<Record<string, string>>
  /** `tiny-cloud ARGS...` in-process */
  readonly run: (args: ReadonlyArray<string>, env?: Readonly<Record<string, string>>) => Effect.Effect<RunResult>
  /** a route of the program's in-process (a network helper by its name: `routeHelper`) */
  readonly runRoute: (route: Route, env?: Readonly<Record<string, string>>) => Effect.Effect<RunResult>
  /** `imds ARGS...` in-process */
  readonly imds: (args: ReadonlyArray<string>, env?: Readonly<Record<string, string>>) => Effect.Effect<RunResult>
  /** boot, early, main and final, one after the other; stops at none */
  readonly boot: (env?: Readonly<Record<string, string>>) => Effect.Effect<ReadonlyArray<RunResult>>
  readonly read: (instancePath: string) => string | undefined
  readonly mode: (instancePath: string) => number | undefined
  readonly stat: (instancePath: string) => { readonly uid: number; readonly gid: number; readonly mode: number } | undefined
  readonly write: (instancePath: string, content: string | Uint8Array) => void
  /** the commands that would have run, as command lines */
  readonly commands: () => ReadonlyArray<string>
  readonly invocations: () => ReadonlyArray<Invocation>
}

const isRoot = process.getuid?.() === 0

/** without root no source port below 1024 can be bound: the request goes out from any port */
const unprivilegedHttp = Layer.effect(
  Http,
  Effect.map(Http, (http) => ({ request: (r) => http.request({ ...r, privilegedSourcePort: false }) }))
).pipe(Layer.provide(HttpLive))

/** the network of the tests' runs in this process: without root, no source port below 1024 */
export const testHttp = isRoot ? HttpLive : unprivilegedHttp

/**
 * A route of the program run in this process with the environment `env`,
 * as a process of its own would run it: its commands from `commands` (given
 * where a logged program's output goes), its metadata through `http`, its
 * output captured; its locks `lock`'s when given (else the program's own).
 */
export const runInProcess = (
  args: ReadonlyArray<string>,
  route: Route,
  env: Readonly<Record<string, string>>,
  commands: (echo: (chunk: Uint8Array) => void) => Layer.Layer<Commands>,
  http: Layer.Layer<Http>,
  lock?: LockShape
): Effect.Effect<RunResult> =>
  Effect.gen(function* () {
    switch (route._tag) {
      case "Print":
        return { code: route.code, stdout: route.stdout ?? "", stderr: route.stderr ?? "" }
      case "BootstrapStatus":
        return { code: 0, stdout: bootstrapStatus(env), stderr: "" }
      case "Standalone":
      case "Resident":
        return yield* Effect.die(new Error(`${args.join(" ")} does not run in-process`))
      case "Program": {
        const { layer: output, captured, echo } = yield* capturingOutput
        const program = yield* Effect.promise(route.load)
        const layer = appLayer(env, route.logTag, { commands: commands(echo), http, output }, { lenientConfig: route.lenientConfig ?? false, ...(route.log ? { log: route.log } : {}) })
        const code = yield* Effect.scoped(Effect.provide(lock === undefined ? program : Effect.provideService(program, Lock, lock), layer)).pipe(
          Effect.catchAllCause((cause) => Effect.as(Effect.flatMap(Output, (o) => o.stderr(`${route.errorPrefix}: ${describeCause(cause)}\n`)), 1)),
          Effect.provide(output)
        )
        return { code, stdout: captured.stdout(), stderr: captured.stderr() }
      }
    }
  })

export const makeTestInstance = (options: InstanceOptions = {}): Effect.Effect<TestInstance, never, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => scratchDir("tiny-cloud-test-")),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const fake = makeFakeSystem(dir, options)
    const cloud = options.cloud ?? "aws"
    const sim = options.noSimulator
      ? undefined
      : yield* Effect.acquireRelease(
          Effect.promise(() =>
            startSimulator({
              cloud,
              instance: options.instance ?? {},
              root: fake.root,
              privilegedPortEnforced: isRoot,
              ...(options.faults ? { faults: options.faults } : {})
            })
          ),
          (s) => Effect.promise(() => s.close())
        )
    for (const [path, content] of Object.entries(sim?.instanceFiles ?? {})) writeFileSync(join(fake.root, path), content)
    if (options.conf !== undefined) writeFileSync(join(fake.root, "etc/tiny-cloud.conf"), options.conf)
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...instanceSettings(fake.root, cloud, sim, options) }
    let echo: (chunk: Uint8Array) => void = () => {}
    let runEnv: Readonly<Record<string, string>> = env
    const recorder = yield* recordingCommands({
      root: fake.root,
      missing: [...(options.syslog ? [] : ["logger"]), "getent", ...(options.missing ?? [])],
      echo: (chunk) => echo(chunk),
      env: () => runEnv,
      ...(options.cidata !== undefined ? { cidata: options.cidata } : {}),
      ...(options.configDrive !== undefined ? { configDrive: options.configDrive } : {}),
      ...(options.azureMedia !== undefined ? { azureMedia: options.azureMedia } : {}),
      ...(options.answer !== undefined ? { answer: options.answer } : {}),
      ...(options.commandDelayMs !== undefined ? { delayMs: options.commandDelayMs } : {})
    })
    const http =
      options.http ??
      (options.httpsAsHttp ? Layer.effect(Http, Effect.map(Http, (h) => ({ request: (r) => h.request({ ...r, protocol: "http" }) }))).pipe(Layer.provide(testHttp)) : testHttp)
    const lock = options.realLock ? undefined : makeMemoryLock()

    const runRoute = (args: ReadonlyArray<string>, route: Route, extraEnv: Readonly<Record<string, string>>) => {
      runEnv = { ...env, ...extraEnv }
      return runInProcess(args, route, runEnv, (echoed) => {
        echo = echoed
        return options.realCommands ? CommandsLive : recorder.layer
      }, http, lock)
    }

    const at = (p: string) => join(fake.root, p)
    const instance: TestInstance = {
      dir,
      root: fake.root,
      sim,
      env,
      run: (args, extraEnv = {}) => runRoute(args, routeTinyCloud(args), extraEnv),
      imds: (args, extraEnv = {}) => runRoute(args, routeImds(args), extraEnv),
      runRoute: (route, extraEnv = {}) => runRoute([], route, extraEnv),
      boot: (extraEnv = {}) => Effect.forEach(["boot", "early", "main", "final"], (phase) => instance.run([phase], extraEnv)),
      read: (p) => (existsSync(at(p)) ? readFileSync(at(p), "utf8") : undefined),
      mode: (p) => (existsSync(at(p)) ? statSync(at(p)).mode & 0o7777 : undefined),
      stat: (p) => {
        if (!existsSync(at(p))) return undefined
        const s = statSync(at(p))
        return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }
      },
      write: (p, content) => {
        mkdirSync(join(at(p), ".."), { recursive: true })
        writeFileSync(at(p), content)
      },
      commands: () => Effect.runSync(Ref.get(recorder.calls)).map(lineOf),
      invocations: () => Effect.runSync(Ref.get(recorder.calls))
    }
    return instance
  })

/** the stderr lines of a phase that the engine writes for actions */
export const actionLines = (stderr: string) => stderr.split("\n").filter((l) => /^ {3}(\+\+|--) /.test(l))
