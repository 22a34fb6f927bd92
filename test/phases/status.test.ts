/**
 * The run record and the commands that read it: `status [--json] [--wait]`
 * and `analyze`, after simulated first boots run in-process.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { settingsFromLeniently } from "../../src/domain/settings.js"
import { appLayer } from "../../src/layers/live.js"
import { CommandsLive } from "../../src/layers/CommandsLive.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { analyzeCommand } from "../../src/programs/analyze.js"
import { startRun } from "../../src/programs/status-record.js"
import { makeRootFs } from "../../src/layers/RootFsLive.js"
import { Config } from "../../src/services/Config.js"
import { RootFs } from "../../src/services/RootFs.js"
import { UserData } from "../../src/services/UserData.js"
import { SERVER_TITLE } from "../../src/domain/resident.js"
import { capturingLog } from "../support/layers.js"
import { Output } from "../../src/services/Output.js"
import { bytesOf } from "../../src/domain/text.js"
import { actionLines, makeTestInstance, type TestInstance } from "../support/instance.js"
import { advancingClock, passTime } from "../support/test-clock.js"
import { steppableWallClock } from "../support/wall-clock.js"
import { scopedDir } from "../support/scratch.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStatusTestKey status@example"
const SCRIPT = "#!/bin/sh\necho the-script-said-this\nexit 3\n"

const STATUS_FILE = "/var/lib/cloud/status.json"

interface RecordedAction {
  readonly name: string
  readonly result: string
  readonly durationMs: number
  readonly message?: string
  readonly errors?: ReadonlyArray<string>
}
interface RecordedRun {
  readonly phase: string
  readonly start: string
  readonly pidStart?: string
  readonly startMark?: number
  readonly durationMs?: number
  readonly exitStatus?: number
  readonly cloud: string
  readonly cloudChosenBy: string
  readonly userDataType: string
  readonly userDataWarnings: ReadonlyArray<string>
  readonly actions: ReadonlyArray<RecordedAction>
}

const record = (i: TestInstance) => JSON.parse(i.read(STATUS_FILE) ?? "{}") as { version: number; runs: ReadonlyArray<RecordedRun> }

/**
 * A run as a phase that has not finished records it: started now, no actions yet, no exit status nor duration, `changes`
 * over `run`; without the process's start too where it is an earlier edition's record (`earlierEdition`)
 */
const unfinished = (run: RecordedRun, changes: Partial<RecordedRun> & { readonly pid?: number }, earlierEdition = false) => {
  const { durationMs: _duration, exitStatus: _status, pidStart, ...rest } = { ...run, start: new Date().toISOString(), actions: [], ...changes }
  return earlierEdition ? rest : { ...rest, pidStart }
}

const awsInstance = (userData?: string, options: Parameters<typeof makeTestInstance>[0] = {}) =>
  makeTestInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], ...(userData !== undefined ? { userData: bytesOf(userData) } : {}) }, ...options })

describe("the run record", () => {
  it.scopedLive("each phase appends its run: start, duration, exit status, cloud, user-data type, every action; 0600; no user-data or keys", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(SCRIPT)
      const results = yield* i.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 1])
      expect(i.mode(STATUS_FILE)).toBe(0o600)
      const { version, runs } = record(i)
      expect(version).toBe(1)
      expect(runs.map((r) => [r.phase, r.exitStatus, r.cloud, r.cloudChosenBy])).toEqual([
        ["boot", 0, "aws", "configured"],
        ["early", 0, "aws", "configured"],
        ["main", 0, "aws", "configured"],
        ["final", 1, "aws", "configured"]
      ])
      expect(runs.map((r) => r.userDataType)).toEqual(["missing", "script", "script", "script"])
      expect(runs[2]!.actions.map((a) => [a.name, a.result])).toEqual([
        ["create_default_user", "done"],
        ["set_hostname", "done"],
        ["set_ssh_keys", "done"]
      ])
      expect(runs[3]!.actions.map((a) => [a.name, a.result, a.message])).toEqual([
        ["run_userdata", "failed", "user-data script exited with status 3"],
        ["bootstrap_complete", "done", undefined]
      ])
      for (const r of runs) {
        expect(Date.parse(r.start)).not.toBeNaN()
        expect(r.durationMs).toBeGreaterThanOrEqual(r.actions.reduce((sum, a) => sum + a.durationMs, 0))
      }
      const text = i.read(STATUS_FILE)!
      expect(text).not.toContain("the-script-said-this")
      expect(text).not.toContain("AAAAC3NzaC1lZDI1NTE5")
    })
  )

  it.scopedLive("records the cloud as detected, and the user-data check's warnings", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ noSimulator: true })
      i.write("/proc/cmdline", "console=ttyS0 ds=nocloud;s=/seed/\n")
      i.write("/seed/meta-data", "local-hostname: seeded\n")
      i.write("/seed/user-data", "#cloud-config\nchef: {}\npackages: [htop]\n")
      yield* i.boot()
      const runs = record(i).runs
      expect(runs.map((r) => r.cloudChosenBy)).toEqual(["detected", "detected", "detected", "detected"])
      expect(runs[1]!.userDataType).toBe("cloud-config")
      expect(runs[1]!.userDataWarnings).toEqual(["unsupported cloud-config keys: chef"])
      const status = yield* i.run(["status"])
      expect(status.stdout).toContain("warning: user-data: unsupported cloud-config keys: chef\n")
      expect([status.code, status.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
    })
  )

  it.scopedLive("a key the check skipped is recorded too: done with errors", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#alpine-config\npackages: htop\n")
      yield* i.boot()
      const status = yield* i.run(["status"])
      expect([status.code, status.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(status.stdout).toMatch(/^warning: user-data: invalid user-data: line 2: packages: .*$/m)
    })
  )

  it.scopedLive("user-data of a type nothing here runs (cloud-init's include.txt): done with errors, in the words of schema; a script is not warned about", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#include\nhttps://example.com/user-data.txt\n")
      yield* i.boot()
      const status = yield* i.run(["status"])
      expect([status.code, status.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(status.stdout).toContain(
        "warning: user-data: invalid user-data: line 1: user-data type #include is not supported; expected #alpine-config, #cloud-config, #cloud-config-archive, a #! script or MIME multipart\n"
      )
      const script = yield* awsInstance("#!/bin/sh\ntrue\n")
      yield* script.boot()
      expect(record(script).runs.map((r) => r.userDataWarnings)).toEqual([[], [], [], []])
      expect((yield* script.run(["status"])).code).toBe(0)
    })
  )

  it.scopedLive("a script's run is recorded without parsing it: the parser, YAML and Schema stay unloaded before ssh-ready", () =>
    Effect.gen(function* () {
      const root = yield* scopedDir("tiny-cloud-record-", tmpdir())
      const log = yield* capturingLog
      const script = bytesOf("#!/bin/sh\ntrue\n")
      const userData = Layer.succeed(UserData, {
        path: "/var/lib/cloud/user-data",
        bytes: Effect.succeed(Option.some(script)),
        unreadable: Effect.succeed(Option.none()),
        word: Effect.succeed("script"),
        analysis: Effect.dieMessage("a script was parsed"),
        save: () => Effect.void,
        remove: Effect.void,
        removeSaved: Effect.void
      })
      const layers = Layer.mergeAll(userData, log.layer, Layer.succeed(Config, settingsFromLeniently({ ROOT: root }, "")), Layer.effect(RootFs, makeRootFs(root)))
      const cloud = { name: "aws", known: true, chosenBy: "configured" as const, changes: [], ephemeralNetwork: Effect.succeed(false), readAhead: true, reportReady: Effect.succeed("") }
      const run = yield* startRun("main", { at: 0, mark: 0 }, cloud, "script").pipe(Effect.provide(layers))
      yield* run.finish({ exitCode: 0, actions: [] }).pipe(Effect.provide(layers))
      expect(yield* log.lines).toEqual([])
      const runs = (JSON.parse(readFileSync(join(root, STATUS_FILE), "utf8")) as { runs: ReadonlyArray<RecordedRun> }).runs
      expect(runs.map((r) => [r.phase, r.exitStatus, r.userDataType, r.userDataWarnings])).toEqual([["main", 0, "script", []]])
    })
  )

  it.scopedLive("--bootstrap incomplete keeps the earlier runs: the next boot is appended", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.boot()
      expect(yield* i.run(["--bootstrap", "incomplete"])).toMatchObject({ code: 0 })
      // the first boot's processes are gone (its phases ran in this process here, which final's record names, and which is still there)
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: record(i).runs.map((r) => ({ ...r, pid: 2 ** 22 + 1 })) }))
      expect((yield* i.run(["status"])).stdout.split("\n")[0]).toBe("not started")
      yield* i.boot()
      expect(record(i).runs.map((r) => r.phase)).toEqual(["boot", "early", "main", "final", "boot", "early", "main", "final"])
      // a bootstrapped instance's phases do nothing and record nothing
      yield* i.run(["main"])
      expect(record(i).runs).toHaveLength(8)
    })
  )
})

describe("tiny-cloud status", () => {
  it.scopedLive("before any phase: not started, exit 0", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: "not started\n", stderr: "" })
    })
  )

  it.scopedLive("before any phase, a run directory that holds no record (a file in its place, a link loop for the spare record): not started, nothing on stderr", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      i.write("/run/tiny-cloud", "not a directory\n")
      // before: "tiny-cloud status: stat $ROOT/run/tiny-cloud/status.json: not a directory; the state comes from the marker files alone"
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: "not started\n", stderr: "" })
      rmSync(join(i.root, "run/tiny-cloud"))
      mkdirSync(join(i.root, "run/tiny-cloud"), { recursive: true })
      symlinkSync("status.json", join(i.root, "run/tiny-cloud/status.json"))
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: "not started\n", stderr: "" })
    })
  )

  it.scopedLive("a first boot where all went well: done, the cloud, the user-data type, each phase's duration; exit 0", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#!/bin/sh\nexit 0\n")
      yield* i.boot()
      const r = yield* i.run(["status"])
      expect(r.code).toBe(0)
      const lines = r.stdout.trimEnd().split("\n")
      expect(lines.slice(0, 3)).toEqual(["done", "cloud: aws (configured)", "user-data: script"])
      expect(lines.slice(3).map((l) => l.replace(/\d+\.\d{3}s/, "Ns"))).toEqual(["boot: Ns", "early: Ns", "main: Ns", "final: Ns"])
      // --bootstrap status is as it always was
      expect(yield* i.run(["--bootstrap", "status"])).toEqual({ code: 0, stdout: "complete\n", stderr: "" })
    })
  )

  it.scopedLive("a failed user-data action: done with errors, naming it; exit 2", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(SCRIPT)
      yield* i.boot()
      const r = yield* i.run(["status"])
      expect(r.code).toBe(2)
      expect(r.stdout.split("\n")[0]).toBe("done with errors")
      expect(r.stdout).toContain("final: ")
      expect(r.stdout).toMatch(/^final: \d+\.\d{3}s, exit 1$/m)
      expect(r.stdout).toContain("error: final/run_userdata: user-data script exited with status 3\n")
    })
  )

  it.scopedLive("a marker that cannot be written, after the run was recorded: the record says bootstrap_complete failed", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#!/bin/sh\nexit 0\n")
      for (const phase of ["boot", "early", "main"]) yield* i.run([phase])
      symlinkSync("/nonexistent", join(i.root, "var/lib/cloud/.bootstrap-complete"))
      const final = yield* i.run(["final"])
      expect(final.code).toBe(1)
      expect(final.stderr).toContain("bootstrap_complete: write")
      const r = yield* i.run(["status"])
      expect(r.code).toBe(1)
      expect(r.stdout.split("\n")[0]).toMatch(/^failed at final\/bootstrap_complete: write .*is a symbolic link; refused$/)
    })
  )

  it.scopedLive("a directory in the marker's place at final's end (the marker cannot be written after the run was recorded): final exits 1, and the record says bootstrap_complete failed", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#!/bin/sh\nexit 0\n")
      for (const phase of ["boot", "early", "main"]) yield* i.run([phase])
      mkdirSync(join(i.root, "var/lib/cloud/.bootstrap-complete/x"), { recursive: true })
      const final = yield* i.run(["final"])
      expect([final.code, final.stderr]).toEqual([1, expect.stringContaining("bootstrap_complete: ")])
      const { runs } = record(i)
      expect(runs[runs.length - 1]).toMatchObject({ phase: "final", exitStatus: 1 })
    })
  )

  it.scopedLive("a directory in the marker's place is no marker, as the shell edition tests -f: status says incomplete, the phases run, --bootstrap complete refuses it in one line", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      mkdirSync(join(i.root, "var/lib/cloud/.bootstrap-complete"), { recursive: true })
      expect((yield* i.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
      const boot = yield* i.run(["boot"])
      expect(boot.stderr).not.toContain("already bootstrapped")
      expect(boot.stderr).toContain("expand_root: starting")
      const complete = yield* i.run(["--bootstrap", "complete"])
      expect(complete.code).toBe(1)
      expect(complete.stderr).toMatch(/^[^\n]*\.bootstrap-complete: not a regular file; refused\n$/)
      expect((yield* i.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
    })
  )

  it.scopedLive("a link to a regular file in the marker's place is the marker, as the shell edition's -f and touch take it: --bootstrap complete keeps it, exit 0", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      mkdirSync(join(i.root, "var/lib/cloud"), { recursive: true })
      writeFileSync(join(i.root, "var/lib/cloud/done"), "")
      symlinkSync("done", join(i.root, "var/lib/cloud/.bootstrap-complete"))
      expect((yield* i.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
      expect((yield* i.run(["--bootstrap", "complete"])).code).toBe(0)
      expect(readlinkSync(join(i.root, "var/lib/cloud/.bootstrap-complete"))).toBe("done")
    })
  )

  it.scopedLive("a failed core action: failed at main/set_ssh_keys with its message; exit 1, even though final completed", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#!/bin/sh\nexit 1\n", { conf: 'SKIP_INIT_ACTIONS="create_default_user"\n' })
      const results = yield* i.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 1, 1])
      const r = yield* i.run(["status"])
      expect(r.code).toBe(1)
      const failure = record(i).runs[2]!.actions.find((a) => a.result === "failed")!
      expect(failure.name).toBe("set_ssh_keys")
      expect(r.stdout.split("\n")[0]).toBe(`failed at main/set_ssh_keys: ${failure.message}`)
      expect(failure.message).toContain("alpine")
      // the failed user-data script is named too
      expect(r.stdout).toContain("error: final/run_userdata: user-data script exited with status 1\n")
    })
  )

  it.scopedLive("the wall clock stepped back an hour during main (NTP setting right a clock that was ahead): main's run is kept, its durations measured as they went by, and its failure is the state", () =>
    Effect.gen(function* () {
      const wall = yield* steppableWallClock
      // set_hostname runs `hostname` in main, before set_ssh_keys fails for want of the user
      const i = yield* awsInstance("#!/bin/sh\nexit 1\n", {
        conf: 'SKIP_INIT_ACTIONS="create_default_user"\n',
        answer: (c) => (c.command === "hostname" ? void wall.step(-3_600_000) : undefined)
      })
      const results = yield* i.boot().pipe(Effect.withClock(wall.clock))
      expect(results.map((r) => r.code)).toEqual([0, 0, 1, 1])
      const main = record(i).runs.find((r) => r.phase === "main")
      // before, each duration was the wall clock's difference: main's and set_hostname's an hour less than nothing, and the record dropped the run
      expect(main?.actions.map((a) => [a.name, a.result])).toEqual([["create_default_user", "skipped"], ["set_hostname", "done"], ["set_ssh_keys", "failed"]])
      for (const duration of [main!.durationMs!, ...main!.actions.map((a) => a.durationMs)]) expect(duration).toSatisfy((ms: number) => ms >= 0 && ms < 3_600_000)
      const r = yield* i.run(["status"]).pipe(Effect.withClock(wall.clock))
      expect(r.code).toBe(1)
      expect(r.stdout.split("\n")[0]).toMatch(/^failed at main\/set_ssh_keys: /)
    })
  )

  it.scopedLive("two core actions failed by unusable values: the state names the first, an error line the other; exit 1", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "bad_host!", sshKeys: [KEY, KEY.replace("status@", "other@")] }, conf: "IMDS_MAX_KEYS=1\n" })
      const results = yield* i.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 1, 0])
      const r = yield* i.run(["status"])
      const failed = record(i).runs[2]!.actions.filter((a) => a.result === "failed")
      expect(failed.map((a) => a.name)).toEqual(["set_hostname", "set_ssh_keys"])
      expect(r.code).toBe(1)
      expect(r.stdout.split("\n")[0]).toBe(`failed at main/set_hostname: ${failed[0]!.message}`)
      // the keys' failure, the one that keeps the user out, is not hidden behind the hostname's
      expect(r.stdout).toContain(`error: main/set_ssh_keys: ${failed[1]!.message}\n`)
      expect(r.stdout).not.toContain("error: main/set_hostname")
    })
  )

  it.scopedLive("user-data nothing can be used of: each user-data action fails with the one message, said in one error line; the user, keys and hostname are there", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#cloud-config\n- a\n- b\n")
      yield* i.boot()
      const failed = record(i).runs.flatMap((r) => r.actions.filter((a) => a.result === "failed"))
      expect(failed.length).toBeGreaterThan(2)
      const r = yield* i.run(["status"])
      const message = "#cloud-config user-data is invalid: line 2: expected a map of #cloud-config keys, got a list"
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(r.stdout.split("\n").filter((l) => l.startsWith("error: "))).toEqual([`error: main/${failed[0]!.name} and ${failed.length - 1} more actions: ${message}`])
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("an action of INIT_ACTIONS_* that does not exist (a typo, as config says): done with errors, naming it; exit 2", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(undefined, { conf: 'INIT_ACTIONS_MAIN="create_default_user set_hostnme set_ssh_keys"\n' })
      yield* i.boot()
      expect(record(i).runs[2]!.actions.map((a) => [a.name, a.result])).toContainEqual(["set_hostnme", "unknown"])
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(r.stdout).toContain("warning: configuration: INIT_ACTIONS_MAIN: unknown action 'set_hostnme', passed over\n")
    })
  )

  it.scopedLive("a name of SKIP_INIT_ACTIONS no action has (expand-root, a comma list) skips nothing: every phase warns in one line naming them, status too; the action lines are unchanged", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(undefined, { conf: 'SKIP_INIT_ACTIONS="expand-root set_hostname,set_ssh_keys enable_sshd"\n' })
      const runs = yield* i.boot()
      const line = "SKIP_INIT_ACTIONS: unknown actions 'expand-root', 'set_hostname,set_ssh_keys': they skip nothing (names are separated by blanks)"
      for (const r of runs) expect([r.code, r.stderr.split("\n").filter((l) => l.startsWith("SKIP_INIT_ACTIONS"))]).toEqual([0, [line]])
      expect(actionLines(runs[0]!.stderr).slice(0, 2)).toEqual(["   ++ expand_root: starting", "   ++ expand_root: done"])
      expect(actionLines(runs[0]!.stderr)).toContain("   -- enable_sshd: skipped")
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(r.stdout).toContain(`warning: configuration: ${line}\n`)
      // one name alone, said as one
      const one = yield* awsInstance(undefined, { conf: "SKIP_INIT_ACTIONS=expand-root\n" })
      expect((yield* one.run(["boot"])).stderr.split("\n")[0]).toBe("SKIP_INIT_ACTIONS: unknown action 'expand-root': it skips nothing")
    })
  )

  it.scopedLive("an action of INIT_ACTIONS_* named as what every object has (constructor, toString) is as unknown as a typo: passed over, and the keys after it are set", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(undefined, { conf: 'INIT_ACTIONS_MAIN="create_default_user constructor toString set_ssh_keys"\n' })
      const [, , main] = yield* i.boot()
      expect(main!.stderr).toContain("   ++ constructor: unknown\n")
      expect(record(i).runs[2]!.actions.map((a) => [a.name, a.result]).filter(([name]) => name !== "missing_userdata")).toEqual([
        ["create_default_user", "done"],
        ["constructor", "unknown"],
        ["toString", "unknown"],
        ["set_ssh_keys", "done"]
      ])
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("a failure message with a line break and a control character from user-data: one line of printable text in the record and status, as on the console", () =>
    Effect.gen(function* () {
      // the cache directory under a file (/etc/hosts): mkdir names the path as user-data gave it
      const i = yield* awsInstance('#alpine-config\napk:\n  cache: "/etc/hosts/\\e[31mred\\nline"\n')
      const [, , main] = yield* i.boot()
      const shown = `mkdir ${i.root}/etc/hosts/\\x1b[31mred\\x0aline: not a directory`
      expect(main!.stderr).toContain(`\nuserdata_apk_cache: ${shown}\n   ++ userdata_apk_cache: failed\n`)
      expect(record(i).runs[2]!.actions.find((a) => a.name === "userdata_apk_cache")?.message).toBe(shown)
      const r = yield* i.run(["status"])
      expect(r.code).toBe(2)
      expect(r.stdout).toContain(`\nerror: main/userdata_apk_cache: ${shown}\n`)
    })
  )

  it.scopedLive("a hotplug module that does not exist, logged 'unknown' at error level by a boot that goes on: done with errors, naming it; exit 2", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(undefined, { conf: 'HOTPLUG_MODULES="vnic_eth_hotplg"\n' })
      const [boot] = yield* i.boot()
      expect(boot!.code).toBe(0)
      expect(boot!.stderr).toContain("\t  >> vnic_eth_hotplg: unknown\n   ++ install_hotplugs: done\n")
      expect(record(i).runs[0]!.actions.find((a) => a.name === "install_hotplugs")).toMatchObject({ result: "done", errors: ["vnic_eth_hotplg: unknown"] })
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(r.stdout).toContain("error: boot/install_hotplugs: vnic_eth_hotplg: unknown\n")
      const json = JSON.parse((yield* i.run(["status", "--json"])).stdout) as { exitStatus: number; errors: ReadonlyArray<string> }
      expect([json.exitStatus, json.errors]).toEqual([2, ["boot/install_hotplugs: vnic_eth_hotplg: unknown"]])
    })
  )

  it.scopedLive("between phases it is running; a phase whose process is gone has failed, and did not finish (status and analyze)", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      expect(yield* i.run(["status"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^running \(boot done\)\n/) })
      const { runs } = record(i)
      const dead = unfinished(runs[0]!, { phase: "early", pid: 2 ** 22 + 1 })
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, dead] }))
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([1, "failed at early: the phase ended before it finished (process gone)"])
      // its line says so too, not `running`; so does analyze's
      expect(r.stdout).toContain("\nearly: did not finish\n")
      expect((yield* i.run(["analyze"])).stdout).toMatch(/\nearly +0\.000s  did not finish\n/)
    })
  )

  it.scopedLive("analyze: an action name with control characters in the record (edited by hand, or another edition's) is shown escaped, never sent to the terminal", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      const edited = { ...runs[0]!, actions: runs[0]!.actions.map((a, n) => (n === 0 ? { ...a, name: "expand\x1b[2Jroot" } : a)) }
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [edited] }))
      const r = yield* i.run(["analyze"])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain("expand\\x1b[2Jroot")
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f]/)
    })
  )

  it.scopedLive("status: a message, a type or a warning with control characters in the record (edited by hand, or another edition's) is shown escaped, never sent to the terminal", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      const edited = {
        ...runs[0]!,
        userDataType: "scr\x1b]0;title\x07ipt",
        userDataWarnings: ["warn\x1b[2Jclear"],
        configProblems: ["conf\x1b[1mbold"],
        actions: runs[0]!.actions.map((a, n) => (n === 0 ? { ...a, result: "failed", message: "evil\x1b[31mred" } : n === 1 ? { ...a, result: "failed", message: "more\x9bred" } : a))
      }
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [edited] }))
      const r = yield* i.run(["status"])
      expect(r.code).toBe(1)
      expect(r.stdout.split("\n")).toEqual(
        expect.arrayContaining([
          "failed at boot/expand_root: evil\\x1b[31mred",
          "user-data: scr\\x1b]0;title\\x07ipt",
          "error: boot/install_hotplugs: more\\x9bred",
          "warning: configuration: conf\\x1b[1mbold",
          "warning: user-data: warn\\x1b[2Jclear"
        ])
      )
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\uffff]/)
    })
  )

  it.scopedLive("a running phase of a live process: running PHASE", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      const live = unfinished(runs[0]!, { phase: "early", pid: process.pid })
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, live] }))
      expect(yield* i.run(["status"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^running early\n(.*\n)*early: running\n/) })
      expect((yield* i.run(["analyze"])).stdout).toMatch(/\nearly +0\.000s +running\n/)
    })
  )

  it.scopedLive("final recorded, its marker not yet written (its last write), its process still there: running final, not 'not started'", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      for (const phase of ["boot", "early", "main", "final"]) yield* i.run([phase])
      // the moment between final's record and its marker: the phases ran in this process, which is still there
      rmSync(join(i.root, "var/lib/cloud/.bootstrap-complete"))
      expect(record(i).runs.map((r) => [r.phase, r.exitStatus])).toEqual([["boot", 0], ["early", 0], ["main", 0], ["final", 0]])
      const r = yield* i.run(["status"])
      expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^running final\n/) })
      expect(JSON.parse((yield* i.run(["status", "--json"])).stdout)).toMatchObject({ state: "running", phase: "final" })
    })
  )

  it.scopedLive("a running phase of a live process recorded by an earlier edition (the process's start in the kernel's boot id alone): running PHASE", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      expect(runs[0]!.pidStart).toMatch(/^[^/]+@\d+\/\d+$/)
      const live = unfinished(runs[0]!, { phase: "early", pid: process.pid, pidStart: runs[0]!.pidStart!.replace(/@\d+\//, "/") })
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, live] }))
      expect(yield* i.run(["status"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^running early\n/) })
    })
  )

  it.scopedLive("an unfinished phase whose pid another program has now (a reboot after a crash) died: disabled, --wait returns with that failure", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      const other = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("sleep", ["600"], { stdio: "ignore" })),
        (child) => Effect.sync(() => child.kill())
      )
      // an earlier edition's record, without the process's start: its command name tells
      const crashed = unfinished(runs[0]!, { phase: "early", pid: other.pid! }, true)
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, crashed] }))
      i.write("/etc/tiny-cloud.disabled", "")
      const failed = { code: 1, stdout: expect.stringMatching(/^failed at early: the phase ended before it finished \(process gone\)\n(.*\n)*early: did not finish\n/), stderr: "" }
      expect(yield* i.run(["status"])).toEqual(failed)
      // settled: it returns at once (the timeout, which it would otherwise wait out, is exit 3)
      expect(yield* i.run(["status", "--wait", "--timeout", "600"])).toEqual(failed)
    })
  )

  it.scopedLive("an unfinished phase of an earlier edition's record whose pid is the resident process's (tiny-cloud-serve, which runs the phases): running PHASE", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      const resident = yield* Effect.acquireRelease(
        Effect.sync(() => spawn(process.execPath, ["-e", `process.title = "${SERVER_TITLE}"; setInterval(() => {}, 1000)`], { stdio: "ignore" })),
        (child) => Effect.sync(() => child.kill())
      )
      const comm = () => {
        try {
          return readFileSync(`/proc/${resident.pid}/comm`, "utf8").trim()
        } catch {
          return ""
        }
      }
      while (comm() !== SERVER_TITLE.slice(0, 15)) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 10)))
      const live = unfinished(runs[0]!, { phase: "early", pid: resident.pid! }, true)
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, live] }))
      expect(yield* i.run(["status"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^running early\n(.*\n)*early: running\n/) })
    })
  )

  it.scopedLive("a phase of a live process after an earlier phase failed: the state is the failure, the phase's line says running (status and analyze)", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const { runs } = record(i)
      const failedBoot = { ...runs[0]!, exitStatus: 1, actions: [{ name: "expand_root", result: "failed", durationMs: 0, message: "resize2fs exited with status 1" }] }
      const live = unfinished(runs[0]!, { phase: "early", pid: process.pid })
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [failedBoot, live] }))
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([1, "failed at boot/expand_root: resize2fs exited with status 1"])
      expect(r.stdout).toContain("\nearly: running\n")
      expect((yield* i.run(["analyze"])).stdout).toMatch(/\nearly +0\.000s +running\n/)
    })
  )

  it.scopedLive("a phase run again by hand while a later one has finished: its line says running, as the state does", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      for (const phase of ["boot", "early", "main"]) yield* i.run([phase])
      const { runs } = record(i)
      const live = unfinished(runs[1]!, { pid: process.pid })
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, live] }))
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([0, "running early"])
      expect(r.stdout).toMatch(/\nearly: running\nmain: \d+\.\d{3}s\n/)
    })
  )

  it.scopedLive("disabled: disabled, exit 0; a damaged record: the marker files alone, said so; the next phase keeps it aside and starts anew", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      i.write(STATUS_FILE, "{ not json")
      const said = `tiny-cloud status: ${i.root}${STATUS_FILE} is damaged; the state comes from the marker files alone\n`
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: "not started\n", stderr: said })
      const boot = yield* i.run(["boot"])
      expect(boot.stderr).toContain(`the run record ${i.root}${STATUS_FILE} was damaged: kept as ${i.root}${STATUS_FILE}.damaged, a new one started\n`)
      expect(i.read(`${STATUS_FILE}.damaged`)).toBe("{ not json")
      expect(i.mode(`${STATUS_FILE}.damaged`)).toBe(0o600)
      expect((yield* i.run(["status"])).stdout.split("\n")[0]).toBe("running (boot done)")
      i.write("/etc/tiny-cloud.disabled", "")
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: expect.stringMatching(/^disabled\n/), stderr: "" })
    })
  )

  it.scopedLive("a record of another version (a newer edition's, left by a downgrade) is not ours to overwrite: kept aside as a damaged one is", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      const other = JSON.stringify({ version: 2, runs: [] })
      i.write(STATUS_FILE, other)
      const boot = yield* i.run(["boot"])
      expect(boot.stderr).toContain(`the run record ${i.root}${STATUS_FILE} was damaged: kept as ${i.root}${STATUS_FILE}.damaged, a new one started\n`)
      expect(i.read(`${STATUS_FILE}.damaged`)).toBe(other)
    })
  )

  it.scopedLive("a record damaged to a huge file (600 MiB, more than a string holds): not read; the first boot sets up the user and keys, and a new record tells its state", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      i.write(STATUS_FILE, "")
      // sparse: it takes no room
      truncateSync(`${i.root}${STATUS_FILE}`, 600 * 1024 * 1024)
      expect((yield* i.run(["status"])).stderr).toBe(`tiny-cloud status: read ${i.root}${STATUS_FILE}: larger than 4194304 bytes; the state comes from the marker files alone\n`)
      const results = yield* i.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[0]!.stderr).toContain(`the run record ${i.root}${STATUS_FILE} was damaged (larger than 4194304 bytes): a new one started\n`)
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(statSync(`${i.root}${STATUS_FILE}`).size).toBeLessThan(64 * 1024)
      expect(yield* i.run(["status"])).toEqual({ code: 0, stdout: expect.stringMatching(/^done\n/), stderr: "" })
    })
  )

  it.scopedLive("a record that is a symbolic link (to the shadow file): never followed, neither read nor copied aside nor written through", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      const shadow = "root:SECRET-CANARY-HASH:19000:0:::::\n"
      i.write("/etc/shadow", shadow)
      mkdirSync(`${i.root}/var/lib/cloud`, { recursive: true })
      symlinkSync("../../../etc/shadow", `${i.root}${STATUS_FILE}`)
      expect(yield* i.run(["status"])).toEqual({
        code: 0,
        stdout: "not started\n",
        stderr: `tiny-cloud status: ${i.root}${STATUS_FILE} is a symbolic link; refused; the state comes from the marker files alone\n`
      })
      const boot = yield* i.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr).not.toContain("SECRET-CANARY")
      expect(i.read(`${STATUS_FILE}.damaged`)).toBeUndefined()
      expect(i.read("/etc/shadow")).toBe(shadow)
    })
  )

  it.scopedLive("a record that cannot be written (a directory in its place): each phase says so and does all its work", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      mkdirSync(`${i.root}${STATUS_FILE}`, { recursive: true })
      const results = yield* i.boot()
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[0]!.stderr).toContain("cannot write the run record: ")
      expect(i.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(i.read("/var/lib/cloud/.bootstrap-complete")).toBeDefined()
    })
  )

  it.scopedLive("a value tiny-cloud.conf gets wrong, its default used by the first boot: done with errors, naming it; exit 2", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(undefined, { conf: "IMDS_TIMEOUT=soon\n" })
      yield* i.boot()
      const r = yield* i.run(["status"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([2, "done with errors"])
      expect(r.stdout).toContain("\nwarning: configuration: IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds\n")
    })
  )

  it.scopedLive("a record it cannot read (root's only): the marker files alone tell the state, and it says so; analyze refuses", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.boot()
      // a directory cannot be read as a file: as a non-root user's 0600 file cannot
      rmSync(`${i.root}${STATUS_FILE}`)
      mkdirSync(`${i.root}${STATUS_FILE}`)
      expect(yield* i.run(["status"])).toEqual({
        code: 0,
        stdout: "done\n",
        stderr: `tiny-cloud status: read ${i.root}${STATUS_FILE}: not a regular file; refused; the state comes from the marker files alone\n`
      })
      expect(yield* i.run(["analyze"])).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud analyze: read ${i.root}${STATUS_FILE}: not a regular file; refused\n` })
    })
  )

  it.scopedLive("--json: the record with the derived state", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(SCRIPT)
      yield* i.boot()
      const r = yield* i.run(["status", "--json"])
      expect(r.code).toBe(2)
      const json = JSON.parse(r.stdout) as Record<string, unknown>
      expect(json).toMatchObject({
        state: "done with errors",
        summary: "done with errors",
        exitStatus: 2,
        errors: ["final/run_userdata: user-data script exited with status 3"],
        warnings: [],
        version: 1
      })
      expect(json.runs).toEqual(record(i).runs)
    })
  )

  // on the TestClock: the waiting status looks again many times between the phases without their being waited for
  it.scoped("--wait started before early returns when final ends", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* advancingClock(i.run(["boot"]))
      const waiting = yield* Effect.fork(i.run(["status", "--wait"]))
      for (const phase of ["early", "main"]) {
        yield* advancingClock(i.run([phase]))
        yield* passTime("2 seconds", "100 millis")
        expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      }
      yield* advancingClock(i.run(["final"]))
      const { result: r } = yield* advancingClock(Fiber.join(waiting))
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([0, "done"])
      expect(r.stdout).toMatch(/^final: /m)
    })
  )

  it.scopedLive("--wait --timeout: exit 3 with the state at that time when the final phase has not run", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      const r = yield* i.run(["status", "--wait", "--timeout", "0.3"])
      expect([r.code, r.stdout.split("\n")[0]]).toEqual([3, "running (boot done)"])
    })
  )

  it.scopedLive("--wait returns at once when the bootstrap is complete or disabled", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["--bootstrap", "complete"])
      expect(yield* i.run(["status", "--wait", "--timeout", "5"])).toEqual({ code: 0, stdout: "done\n", stderr: "" })
    })
  )
})

/** from `first`'s start to `last`'s end on the monotonic clock their starts were marked on */
const spanOf = (first: RecordedRun, last: RecordedRun) => last.startMark! + last.durationMs! - first.startMark!

const timed = (runs: ReadonlyArray<RecordedRun>) => runs.flatMap((r) => r.actions.map((a) => ({ phase: r.phase, name: a.name, result: a.result, durationMs: a.durationMs })))

describe("tiny-cloud analyze", () => {
  it.scopedLive("lists every action that ran, slowest first; the phase totals add up; the span runs from boot's start to final's end", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance("#!/bin/sh\nsleep 0.2\n")
      yield* i.boot()
      const { runs } = record(i)
      const r = yield* i.run(["analyze", "--json"])
      expect(r.code).toBe(0)
      const analysis = JSON.parse(r.stdout) as {
        actions: ReadonlyArray<{ phase: string; name: string; durationMs: number }>
        phases: ReadonlyArray<{ phase: string; actionsMs: number; durationMs: number }>
        spanMs: number
      }
      expect([...analysis.actions].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
        [...timed(runs)].sort((a, b) => a.name.localeCompare(b.name))
      )
      const durations = analysis.actions.map((a) => a.durationMs)
      expect(durations).toEqual([...durations].sort((a, b) => b - a))
      // the slowest is the record's slowest (the script's sleep makes it run_userdata on a quiet machine; a loaded one may make it another)
      const slowest = analysis.actions[0]!
      expect(slowest.durationMs).toBe(Math.max(...timed(runs).map((a) => a.durationMs)))
      for (const p of analysis.phases) {
        expect(p.actionsMs).toBe(analysis.actions.filter((a) => a.phase === p.phase).reduce((sum, a) => sum + a.durationMs, 0))
        expect(p.durationMs).toBe(runs.find((run) => run.phase === p.phase)!.durationMs)
      }
      const last = runs[runs.length - 1]!
      expect(analysis.spanMs).toBe(spanOf(runs[0]!, last))

      const text = yield* i.run(["analyze"])
      const rows = text.stdout.split("\n")
      expect(rows[0]).toMatch(/^ DURATION {2}PHASE {2}ACTION +RESULT$/)
      expect(rows[1]).toMatch(new RegExp(`^ +\\d+\\.\\d{3}s {2}${slowest.phase} +${slowest.name} +done +#{30}$`))
      expect(rows.slice(1, 1 + analysis.actions.length).map((l) => l.trim().split(/\s+/)[2])).toEqual(analysis.actions.map((a) => a.name))
      expect(text.stdout).toMatch(/^PHASE +ACTIONS +RUN$/m)
      expect(text.stdout).toMatch(/^final +\d+\.\d{3}s +\d+\.\d{3}s$/m)
      expect(text.stdout).toContain(`${(analysis.spanMs / 1000).toFixed(3)}s from the start of boot to the end of final\n`)
      expect(/^[\x09\x0a\x20-\x7e]*$/.test(text.stdout)).toBe(true)
    })
  )

  it.scopedLive("on a UTF-8 terminal: block bars and failed actions in red; a serial console keeps ASCII", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance(SCRIPT)
      yield* i.boot()
      const onTerminal = (term: string, env: Record<string, string> = {}) =>
        Effect.gen(function* () {
          let out = ""
          const output = Layer.succeed(Output, { stdout: (d) => Effect.sync(() => void (out += String(d))), stderr: () => Effect.void, isTerminal: true })
          const layer = appLayer({ ...i.env, TERM: term, LANG: "C.UTF-8", ...env }, "tiny-cloud", { commands: CommandsLive, http: HttpLive, output })
          yield* Effect.scoped(Effect.provide(analyzeCommand({ json: false }), layer))
          return out
        })
      const xterm = yield* onTerminal("xterm-256color")
      expect(xterm).toContain("\u2588")
      expect(xterm).toMatch(/\x1b\[31m.*run_userdata +failed.*\x1b\[0m/)
      const serial = yield* onTerminal("vt220")
      expect(serial).not.toContain("\u2588")
      expect(serial).toContain("#")
      // the virtual console (TERM=linux) is no UTF-8 terminal either; colour stays on both
      const console = yield* onTerminal("linux")
      expect([console.includes("\u2588"), console.includes("\x1b[31m")]).toEqual([false, true])
      // never colour with NO_COLOR set (the bars stay), nor on a dumb terminal
      const noColour = yield* onTerminal("xterm-256color", { NO_COLOR: "1" })
      expect([noColour.includes("\u2588"), noColour.includes("\x1b")]).toEqual([true, false])
      expect((yield* onTerminal("dumb")).includes("\x1b")).toBe(false)
    })
  )

  it.scopedLive("main still running, or killed: the span ends with early, the phase that ended last, and says so; a boot killed at once has no span", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.run(["boot"])
      yield* i.run(["early"])
      const { runs } = record(i)
      const early = runs[1]!
      // main's running entry, started a minute after early ended (its process gone, or still working)
      const main = { ...early, phase: "main", start: new Date(Date.parse(early.start) + early.durationMs! + 60_000).toISOString(), pid: 999_999_999, actions: [] }
      const { durationMs: _d, exitStatus: _e, ...running } = main
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs, running] }))
      const json = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanEnd?: string }
      expect(json).toMatchObject({ spanMs: spanOf(runs[0]!, early), spanEnd: "early" })
      const text = (yield* i.run(["analyze"])).stdout
      expect(text).toContain(`${(json.spanMs / 1000).toFixed(3)}s from the start of boot to the end of early\n`)
      expect(text).toMatch(/^main +0\.000s +did not finish$/m)
      const { durationMs: _b, exitStatus: _x, ...boot } = runs[0]!
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [{ ...boot, pid: 999_999_999, actions: [] }] }))
      expect((yield* i.run(["analyze"])).stdout).toMatch(/\nno phase has ended yet\n$/)
    })
  )

  it.scopedLive("the clock set back between boot and early (NTP on a first boot): the span from the starts' marks; without them (an earlier edition's record) no span is given from the dates", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.boot()
      const { runs } = record(i)
      const last = runs[runs.length - 1]!
      // boot's date an hour ahead: the clock was set back by an hour before early
      const ahead = { ...runs[0]!, start: new Date(Date.parse(runs[0]!.start) + 3_600_000).toISOString() }
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [ahead, ...runs.slice(1)] }))
      const marked = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanStart?: string; spanEnd?: string; clockSetBack?: boolean }
      expect(marked).toMatchObject({ spanMs: spanOf(runs[0]!, last), spanStart: "boot", spanEnd: "final" })
      expect(marked.clockSetBack).toBeUndefined()
      const unmarked = [ahead, ...runs.slice(1)].map(({ startMark: _m, ...run }) => run)
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: unmarked }))
      // before: '0.010s from the start of boot to the end of boot' (boot's date the latest end), spanEnd boot
      const json = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanStart?: string; spanEnd?: string; clockSetBack?: boolean }
      expect(json).toMatchObject({ spanMs: 0, spanStart: "boot", spanEnd: "final", clockSetBack: true })
      expect((yield* i.run(["analyze"])).stdout).toMatch(/\nno span from the start of boot to the end of final: the clock was set back between two phases\n$/)
      // set back by less than early took: early alone starts before boot's end, main after it (the second run is compared too)
      const early = runs[1]!
      const slightly = { ...unmarked[0]!, start: new Date(Date.parse(early.start) + 1 - runs[0]!.durationMs!).toISOString() }
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [slightly, ...unmarked.slice(1)] }))
      expect(Date.parse(runs[2]!.start)).toBeGreaterThan(Date.parse(early.start) + 1)
      expect(JSON.parse((yield* i.run(["analyze", "--json"])).stdout)).toMatchObject({ spanMs: 0, spanEnd: "final", clockSetBack: true })
      // set forward, or not at all: the span from the dates
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: runs.map(({ startMark: _m, ...run }) => run) }))
      expect(JSON.parse((yield* i.run(["analyze", "--json"])).stdout)).toMatchObject({ spanMs: Date.parse(last.start) + last.durationMs! - Date.parse(runs[0]!.start), spanEnd: "final" })
    })
  )

  it.scopedLive("marks that contradict the record (final's before boot's) give the span from the dates; a mark past 2^53 is a damaged run, left out as one", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      yield* i.boot()
      const { runs } = record(i)
      const last = runs[runs.length - 1]!
      const before = { ...last, startMark: runs[0]!.startMark! - last.durationMs! - 10_000 }
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs.slice(0, -1), before] }))
      // before: '0.000s from the start of boot to the end of final'
      expect(JSON.parse((yield* i.run(["analyze", "--json"])).stdout)).toMatchObject({ spanMs: Date.parse(last.start) + last.durationMs! - Date.parse(runs[0]!.start), spanEnd: "final" })
      // final marked in another boot of the kernel (a reboot during the first boot): its mark is no other's clock, the dates give the span
      const rebooted = { ...last, pidStart: `another-boot/${last.pidStart!.split("/").pop()}`, startMark: runs[0]!.startMark! + 1_000_000_000 }
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs.slice(0, -1), rebooted] }))
      expect(JSON.parse((yield* i.run(["analyze", "--json"])).stdout)).toMatchObject({ spanMs: Date.parse(last.start) + last.durationMs! - Date.parse(runs[0]!.start), spanEnd: "final" })
      i.write(STATUS_FILE, JSON.stringify({ version: 1, runs: [...runs.slice(0, -1), { ...last, startMark: 2 ** 53 + 10 }] }))
      // before: '9007199184349.008s from the start of boot to the end of final'
      const json = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanEnd?: string }
      expect(json).toMatchObject({ spanMs: spanOf(runs[0]!, runs[2]!), spanEnd: "main" })
    })
  )

  it.scopedLive("the wall clock at 1970 set right during main (NTP on a VM without a clock of its own): the span is the boot's time, not 56 years; each start is marked on the monotonic clock", () =>
    Effect.gen(function* () {
      const wall = yield* steppableWallClock
      const years = 56 * 365 * 86_400_000
      wall.step(-years)
      const i = yield* awsInstance(undefined, { answer: (c) => (c.command === "hostname" ? void wall.step(years) : undefined) })
      yield* i.boot().pipe(Effect.withClock(wall.clock))
      const { runs } = record(i)
      expect(runs.map((r) => new Date(r.start).getUTCFullYear() < 2000)).toEqual([true, true, true, false])
      for (const run of runs) expect(run.startMark).toSatisfy(Number.isInteger)
      const json = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanStart?: string; spanEnd?: string; clockSetBack?: boolean }
      // before: the dates' span, the step's 56 years and the boot's time
      expect(json).toMatchObject({ spanMs: spanOf(runs[0]!, runs[3]!), spanStart: "boot", spanEnd: "final" })
      expect(json.spanMs).toBeLessThan(3_600_000)
      expect((yield* i.run(["analyze"])).stdout).toMatch(/\n\d+\.\d{3}s from the start of boot to the end of final\n$/)
    })
  )

  it.scopedLive("early run again by hand after main: the span ends with early, which ended last, and starts with boot", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      for (const phase of ["boot", "early", "main", "early"]) yield* i.run([phase])
      const { runs } = record(i)
      const early = runs[runs.length - 1]!
      expect(early.phase).toBe("early")
      const json = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanStart?: string; spanEnd?: string; clockSetBack?: boolean }
      expect(json).toMatchObject({ spanMs: spanOf(runs[0]!, early), spanStart: "boot", spanEnd: "early" })
      expect(json.clockSetBack).toBeUndefined()
    })
  )

  it.scopedLive("boot run again after main (rc-service tiny-cloud-boot restart) before final: the first boot's span starts with its first boot run, not with early", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      for (const phase of ["boot", "early", "main", "boot", "final"]) yield* i.run([phase])
      const { runs } = record(i)
      const final = runs[runs.length - 1]!
      const json = JSON.parse((yield* i.run(["analyze", "--json"])).stdout) as { spanMs: number; spanStart?: string; spanEnd?: string; phases: ReadonlyArray<{ phase: string }> }
      expect(json.phases.map((p) => p.phase)).toEqual(["boot", "early", "main", "final"])
      // before: 'from the start of early to the end of final', the first boot run's time left out
      expect(json).toMatchObject({ spanMs: spanOf(runs[0]!, final), spanStart: "boot", spanEnd: "final" })
      expect((yield* i.run(["analyze"])).stdout).toMatch(/ from the start of boot to the end of final\n$/)
    })
  )

  it.scopedLive("before any phase: nothing to analyse", () =>
    Effect.gen(function* () {
      const i = yield* awsInstance()
      expect(yield* i.run(["analyze"])).toEqual({ code: 0, stdout: "no phase has run yet\n", stderr: "" })
    })
  )
})
