/** The run record's state, read from the runs and the marker files, without I/O. */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import type { Phase } from "../../src/domain/phases.js"
import {
  currentAttempt,
  describeState,
  followsKilledBoot,
  formatRecord,
  MAX_RUNS,
  parseRecord,
  processStart,
  systemBoot,
  statusOf,
  unfinishedBeforeFinal,
  unreadBeforeFinal,
  withRun,
  type ActionRun,
  type PhaseRun,
  type RunRecord
} from "../../src/domain/run-record.js"

let clock = Date.parse("2025-01-01T00:00:00Z")
const run = (phase: Phase, actions: ReadonlyArray<ActionRun> = [], extra: Partial<PhaseRun> = {}): PhaseRun => ({
  phase,
  start: new Date((clock += 1000)).toISOString(),
  pid: 100,
  durationMs: 10,
  exitStatus: actions.some((a) => a.result === "failed") ? 1 : 0,
  cloud: "aws",
  cloudChosenBy: "configured",
  userDataType: "missing",
  userDataWarnings: [],
  actions,
  ...extra
})
const done = (name: string): ActionRun => ({ name, result: "done", durationMs: 1 })
const failed = (name: string, message: string): ActionRun => ({ name, result: "failed", durationMs: 1, message })
const running = (phase: Phase, pid = 200): PhaseRun => {
  const { durationMs: _d, exitStatus: _e, ...rest } = run(phase, [], { pid })
  return rest
}
const record = (...runs: ReadonlyArray<PhaseRun>): RunRecord => ({ version: 1, runs })
const facts = (complete: boolean, alive: ReadonlyArray<number> = [], disabled = false) => ({ complete, disabled, isRunning: (pid: number) => alive.includes(pid) })
const full = (final: ReadonlyArray<ActionRun> = [done("bootstrap_complete")], main: ReadonlyArray<ActionRun> = [done("set_ssh_keys")]) => [
  run("boot", [done("expand_root")]),
  run("early", [done("save_userdata")]),
  run("main", main),
  run("final", final)
]
const summary = (r: RunRecord, f: ReturnType<typeof facts>) => {
  const s = statusOf(r, f)
  return [describeState(s.state), s.exitStatus, s.settled]
}

describe("statusOf", () => {
  it("nothing recorded: not started, or done when the marker is there (bootstrapped before the record existed)", () => {
    expect(summary(record(), facts(false))).toEqual(["not started", 0, false])
    expect(summary(record(), facts(true))).toEqual(["done", 0, true])
  })

  it("a clean first boot is done; a failed user-data action or a check's warning makes it done with errors (2)", () => {
    expect(summary(record(...full()), facts(true))).toEqual(["done", 0, true])
    const errors = statusOf(record(...full([failed("userdata_runcmd", "runcmd[0] exited with status 1"), done("bootstrap_complete")])), facts(true))
    expect([describeState(errors.state), errors.exitStatus, errors.errors]).toEqual(["done with errors", 2, ["final/userdata_runcmd: runcmd[0] exited with status 1"]])
    const runs = full()
    const warned = statusOf(record(...runs.slice(0, 3), { ...runs[3]!, userDataWarnings: ["unsupported cloud-config keys: chef"] }), facts(true))
    expect([warned.exitStatus, warned.warnings]).toEqual([2, ["user-data: unsupported cloud-config keys: chef"]])
  })

  it("user-data that cannot be used fails every user-data action with one message: said once, naming the first action and how many more", () => {
    const message = "#cloud-config user-data is invalid: line 2: expected a map of #cloud-config keys, got a list"
    const runs = full(
      [failed("userdata_runcmd", message), done("bootstrap_complete")],
      [failed("userdata_user", message), done("set_ssh_keys"), failed("userdata_hostname", message), failed("userdata_packages", "apk add exited with status 1")]
    )
    const s = statusOf(record(...runs), facts(true))
    expect([describeState(s.state), s.exitStatus, s.errors]).toEqual([
      "done with errors",
      2,
      [`main/userdata_user, main/userdata_hostname, final/userdata_runcmd: ${message}`, "main/userdata_packages: apk add exited with status 1"]
    ])
    const more = full([failed("userdata_runcmd", message), done("bootstrap_complete")], [failed("userdata_user", message), failed("userdata_users", message), failed("userdata_hostname", message)])
    expect(statusOf(record(...more), facts(true)).errors).toEqual([`main/userdata_user and 3 more actions: ${message}`])
  })

  it("an action that said one error line several times (a hotplug module listed twice) is named once, not as more actions", () => {
    const unknown = (times: number): ActionRun => ({ ...done("install_hotplugs"), errors: Array<string>(times).fill("nope: unknown") })
    const errorsOf = (...boot: ReadonlyArray<ActionRun>) => statusOf(record(run("boot", boot), ...full().slice(1)), facts(true)).errors
    // before: 'boot/install_hotplugs, boot/install_hotplugs: nope: unknown', and with four 'boot/install_hotplugs and 3 more actions'
    expect(errorsOf(unknown(2))).toEqual(["boot/install_hotplugs: nope: unknown"])
    expect(errorsOf(unknown(4))).toEqual(["boot/install_hotplugs: nope: unknown"])
    expect(errorsOf(unknown(2), unknown(1))).toEqual(["boot/install_hotplugs: nope: unknown"])
  })

  it("an action done all the same after an error line (an unknown hotplug module) makes it done with errors (2), the line named; a record's errors survive a read", () => {
    const boot = run("boot", [{ ...done("install_hotplugs"), errors: ["vnic_eth_hotplg: unknown"] }])
    const runs = [boot, ...full().slice(1)]
    const s = statusOf(record(...runs), facts(true))
    expect([describeState(s.state), s.exitStatus, s.errors]).toEqual(["done with errors", 2, ["boot/install_hotplugs: vnic_eth_hotplg: unknown"]])
    expect(parseRecord(formatRecord(record(...runs)))).toEqual(record(...runs))
    // save_userdata's error lines of the user-data check are said once, as the check's warnings
    const problem = "invalid user-data: line 2: expected a map of #cloud-config keys, got a list"
    const early = run("early", [{ ...done("save_userdata"), errors: [problem] }], { userDataWarnings: [problem] })
    const checked = statusOf(record(runs[0]!, early, ...runs.slice(2, 3), { ...runs[3]!, userDataWarnings: [problem] }), facts(true))
    expect([checked.exitStatus, checked.errors, checked.warnings]).toEqual([2, ["boot/install_hotplugs: vnic_eth_hotplg: unknown"], [`user-data: ${problem}`]])
    expect(parseRecord(JSON.stringify(record({ ...boot, actions: [{ ...done("install_hotplugs"), errors: [1] as unknown as Array<string> }] })))).toEqual(record())
  })

  it("a failed core action wins over everything, named with its phase and message, even before the final phase", () => {
    const main = [done("create_default_user"), failed("set_ssh_keys", "failed to find user alpine")]
    expect(summary(record(...full([failed("run_userdata", "x"), done("bootstrap_complete")], main)), facts(true))).toEqual([
      "failed at main/set_ssh_keys: failed to find user alpine",
      1,
      true
    ])
    expect(summary(record(...full(undefined, main).slice(0, 3)), facts(false))).toEqual(["failed at main/set_ssh_keys: failed to find user alpine", 1, false])
    expect(summary(record(...full(undefined, main).slice(0, 3), running("final")), facts(false, [200]))).toEqual([
      "failed at main/set_ssh_keys: failed to find user alpine",
      1,
      false
    ])
  })

  it("a running phase whose process lives is running; whose process is gone, or that is not the newest run, has failed", () => {
    const [boot, early] = full()
    expect(summary(record(boot!, running("early")), facts(false, [200]))).toEqual(["running early", 0, false])
    expect(summary(record(boot!, running("early")), facts(false, []))).toEqual(["failed at early: the phase ended before it finished (process gone)", 1, false])
    expect(summary(record(boot!, running("early", 300), run("main")), facts(false, [300]))).toEqual([
      "failed at early: the phase ended before it finished (process gone)",
      1,
      false
    ])
    expect(summary(record(boot!, early!), facts(false))).toEqual(["running (early done)", 0, false])
  })

  it("phases run out of order (main by hand before early): the attempt is in phase order, and the first failure named is the earlier phase's", () => {
    const attempt = [run("boot"), run("main", [failed("set_hostname", "invalid hostname '-x-'")]), run("early", [failed("save_userdata", "HTTP 500")])]
    expect(currentAttempt(attempt).map((r) => r.phase)).toEqual(["boot", "early", "main"])
    expect(summary(record(...attempt), facts(false))[0]).toBe("failed at early/save_userdata: HTTP 500")
  })

  it("a killed phase is looked for only when final's own running entry is the newest: one process's main whose end and final's start could not be recorded (a full state directory) is no killed phase", () => {
    expect(unfinishedBeforeFinal([run("boot"), running("early", 300), running("final", 400)], 400)?.phase).toBe("early")
    expect(unfinishedBeforeFinal([run("boot"), run("early"), running("main", 400)], 400)).toBeUndefined()
    // another process's final (its start recorded, this one's not), or this process's final already ended: not this final's record
    expect(unfinishedBeforeFinal([run("boot"), running("early", 300), running("final", 400)], 500)).toBeUndefined()
    expect(unfinishedBeforeFinal([run("boot"), running("early", 300), run("final", [], { pid: 400 })], 400)).toBeUndefined()
  })

  it("a first boot's attempt (it begins with boot) lacking a phase before final names it, not started: killed before it recorded its start, or never started; phases run by hand without boot lack none", () => {
    expect(unfinishedBeforeFinal([run("boot"), run("early"), running("final", 400)], 400)).toEqual({ phase: "main", started: false })
    expect(unfinishedBeforeFinal([run("boot"), running("final", 400)], 400)).toEqual({ phase: "early", started: false })
    expect(unfinishedBeforeFinal([run("boot"), running("early", 300), running("final", 400)], 400)).toEqual({ phase: "early", started: true })
    // an earlier attempt's main is not this one's
    expect(unfinishedBeforeFinal([run("boot"), run("early"), run("main"), run("boot"), run("early"), running("final", 400)], 400)).toEqual({ phase: "main", started: false })
    expect(unfinishedBeforeFinal([run("boot"), run("early"), run("main"), running("final", 400)], 400)).toBeUndefined()
    expect(unfinishedBeforeFinal([run("early"), running("final", 400)], 400)).toBeUndefined()
    expect(unfinishedBeforeFinal([running("final", 400)], 400)).toBeUndefined()
  })

  it("boot run again in the same kernel boot before final (rc-service tiny-cloud-boot restart) goes on with its first boot: its early and main count; another kernel boot's, or one after a final, does not", () => {
    const inBoot = (id: string) => ({ pidStart: `${id}/1234` })
    const [a, b] = ["8a1e0c6e-0b7f-4a57-9d3e-5f4a1f0f3c11", "c2d9b7a4-6f0e-4d1b-8e2a-7b3c9d1e5f20"]
    const first = [run("boot", [], inBoot(a)), run("early", [], inBoot(a)), run("main", [], inBoot(a))]
    expect(unfinishedBeforeFinal([...first, run("boot", [], inBoot(a)), running("final", 400)], 400)).toBeUndefined()
    expect(currentAttempt([...first, run("boot", [], inBoot(a))]).map((r) => r.phase)).toEqual(["boot", "early", "main"])
    // a reboot: another kernel boot
    expect(unfinishedBeforeFinal([...first, run("boot", [], inBoot(b)), running("final", 400)], 400)).toEqual({ phase: "early", started: false })
    // a first boot asked for again after its final, in the same kernel boot (a container restarted shares its host's)
    expect(currentAttempt([...first, run("final", [], inBoot(a)), run("boot", [], inBoot(a))]).map((r) => r.phase)).toEqual(["boot"])
    // a boot id not known (another PID namespace's /proc, an older record): each boot run begins an attempt, as before
    expect(unfinishedBeforeFinal([run("boot"), run("early"), run("main"), run("boot"), running("final", 400)], 400)).toEqual({ phase: "early", started: false })
  })

  it("a boot run follows a killed one only when the run just before it is a boot run that never ended: expand_root then looks for the disk programs the killed run left", () => {
    expect(followsKilledBoot([running("boot", 300), running("boot", 400)])).toBe(true)
    expect(followsKilledBoot([run("boot"), run("early"), running("boot", 400)])).toBe(false)
    expect(followsKilledBoot([run("boot"), running("boot", 400)])).toBe(false)
    // a boot killed in an earlier attempt, followed by phases since
    expect(followsKilledBoot([running("boot", 300), run("early"), running("boot", 400)])).toBe(false)
    expect(followsKilledBoot([running("boot", 400)])).toBe(false)
    expect(followsKilledBoot([])).toBe(false)
  })

  it("an earlier phase of final's attempt whose action could not read the metadata is named, the first; one run again by hand that read it is not", () => {
    const unread: ActionRun = { ...failed("set_hostname", "aws: cannot read URL: HTTP 500"), metadataUnread: true }
    const early: ActionRun = { ...failed("save_userdata", "aws: cannot read URL: timed out"), metadataUnread: true }
    expect(unreadBeforeFinal([run("boot"), run("early", [early]), run("main", [unread]), running("final", 400)], 400)).toEqual({ phase: "early", action: "save_userdata" })
    expect(unreadBeforeFinal([run("boot"), run("early"), run("main", [unread]), run("main", [done("set_hostname")]), running("final", 400)], 400)).toBeUndefined()
    // a value that cannot be used, or an earlier attempt's phase, is not
    expect(unreadBeforeFinal([run("boot"), run("early"), run("main", [failed("set_hostname", "invalid hostname '-x-'")]), running("final", 400)], 400)).toBeUndefined()
    expect(unreadBeforeFinal([run("boot"), run("early", [early]), run("boot"), run("early"), running("final", 400)], 400)).toBeUndefined()
    expect(unreadBeforeFinal([run("boot"), run("early", [early]), running("final", 400)], 500)).toBeUndefined()
    // the flag is kept through the record's text
    expect(parseRecord(formatRecord(record(run("main", [unread])))).runs[0]?.actions).toEqual([unread])
  })

  it("a new boot starts a new attempt; a phase run again by hand replaces its earlier run", () => {
    const failedMain = run("main", [failed("set_hostname", "invalid hostname '-x-'")])
    const first = [run("boot"), run("early"), failedMain, run("final", [done("bootstrap_complete")])]
    expect(summary(record(...first), facts(true))).toEqual(["failed at main/set_hostname: invalid hostname '-x-'", 1, true])
    expect(summary(record(...first, run("main", [done("set_hostname")])), facts(true))).toEqual(["done", 0, true])
    const again = [...first, run("boot")]
    expect(currentAttempt(again).map((r) => r.phase)).toEqual(["boot"])
    expect(summary(record(...again), facts(false))).toEqual(["running (boot done)", 0, false])
  })

  it("a phase run after a final that completed the bootstrap (the marker removed, the phases run by hand) starts a new attempt; a final that could not write it does not", () => {
    const first = full(undefined, [failed("set_ssh_keys", "x")])
    expect(currentAttempt([...first, run("early"), run("main")]).map((r) => r.phase)).toEqual(["early", "main"])
    expect(summary(record(...first, run("early"), run("main"), run("final", [done("bootstrap_complete")])), facts(true))).toEqual(["done", 0, true])
    // no run since: the attempt is still the completed one
    expect(currentAttempt(first).map((r) => r.phase)).toEqual(["boot", "early", "main", "final"])
    const unmarked = full([failed("bootstrap_complete", "write: read-only file system")])
    expect(currentAttempt([...unmarked, run("final", [done("bootstrap_complete")])]).map((r) => r.phase)).toEqual(["boot", "early", "main", "final"])
  })

  it("the final phase ran and the marker is gone (--bootstrap incomplete): not started; disabled then, unless a phase failed, which wins over everything", () => {
    expect(summary(record(...full()), facts(false))).toEqual(["not started", 0, false])
    expect(summary(record(...full()), facts(false, [], true))).toEqual(["disabled", 0, true])
    // disabled while main still runs (--disable during a first boot): main goes on to its end, so nothing is settled yet
    expect(summary(record(run("boot"), run("early"), running("main", 200)), facts(false, [200], true))).toEqual(["disabled", 0, false])
    expect(summary(record(...full(undefined, [failed("set_ssh_keys", "x")])), facts(false, [], true))).toEqual(["failed at main/set_ssh_keys: x", 1, true])
  })

  it("final recorded, its process still there, the marker not yet written (it is the last write): running final, not settled", () => {
    expect(summary(record(...full()), facts(false, [100]))).toEqual(["running final", 0, false])
    expect(summary(record(...full()), facts(true, [100]))).toEqual(["done", 0, true])
  })
})

describe("the record file", () => {
  it("reads back what it writes; what is not a run is left out; damage is an empty record", () => {
    const runs = full()
    expect(parseRecord(formatRecord(record(...runs)))).toEqual(record(...runs))
    expect(parseRecord(JSON.stringify({ version: 1, runs: [runs[0], { phase: "reboot" }, { ...runs[1], actions: [{ name: 1 }] }, runs[2]] }))).toEqual(
      record(runs[0]!, runs[2]!)
    )
    expect(parseRecord("{")).toEqual(record())
    expect(parseRecord(JSON.stringify({ version: 2, runs }))).toEqual(record())
  })

  it("a run edited by hand or cut short in a way status could not show is left out, each field on its own", () => {
    const good = run("main", [done("set_ssh_keys")])
    const bad: ReadonlyArray<Record<string, unknown>> = [
      { ...good, phase: "reboot" },
      { ...good, start: "yesterday" },
      { ...good, pid: -1 },
      { ...good, exitStatus: "0" },
      { ...good, exitStatus: -1 },
      // ended without its duration: analyze had no end for it ("NaNs from the start of boot to the end of main")
      { ...good, durationMs: undefined },
      { ...good, actions: [{ ...done("set_ssh_keys"), result: "maybe" }] },
      { ...good, actions: [{ ...done("set_ssh_keys"), durationMs: -5 }] },
      { ...good, actions: [{ ...done("set_ssh_keys"), durationMs: "1" }] }
    ]
    for (const entry of bad) expect(parseRecord(JSON.stringify({ version: 1, runs: [good, entry] }))).toEqual(record(good))
  })

  it("a finished run replaces its running entry; the newest MAX_RUNS runs are kept", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<Phase>("boot", "early", "main", "final"), { maxLength: 150, size: "max" }), (phases) => {
        let r = record()
        phases.forEach((phase, i) => {
          const start = run(phase, [], { pid: i })
          const { durationMs: _d, exitStatus: _e, ...entry } = start
          r = withRun(r, entry)
          expect(r.runs[r.runs.length - 1]).toEqual(entry)
          r = withRun(r, start)
        })
        expect(r.runs.length).toBe(Math.min(phases.length, MAX_RUNS))
        expect(r.runs.every((x) => x.exitStatus !== undefined)).toBe(true)
        expect(r.runs.map((x) => x.pid)).toEqual(phases.map((_, i) => i).slice(-MAX_RUNS))
      })
    )
    // the figure tiny-cloud(8) gives: the newest 64 runs
    const many = Array.from({ length: 70 }, (_, i) => run("main", [], { pid: i })).reduce(withRun, record())
    expect(many.runs.map((x) => x.pid)).toEqual(Array.from({ length: 64 }, (_, i) => i + 6))
  })
})

describe("processStart", () => {
  const BOOT = "0c5e1f2a-3b4c-4d5e-8f60-718293a4b5c6\n"
  const stat = (comm: string, state = "S", ticks = "3498679") =>
    `4242 (${comm}) ${state} 1 4242 4242 0 -1 4194560 98 0 0 0 0 0 0 0 20 0 1 0 ${ticks} 3133440 380 18446744073709551615 0 0 0 0 0\n`

  it("is the boot's id and the 22nd field, counted after the command name's last ')'", () => {
    expect(processStart(stat("node"), BOOT)).toBe("0c5e1f2a-3b4c-4d5e-8f60-718293a4b5c6/3498679")
    expect(processStart(stat("a) R 1 2 (b"), BOOT)).toBe("0c5e1f2a-3b4c-4d5e-8f60-718293a4b5c6/3498679")
  })

  it("tells two boots apart when the start time is the same, and two starts in one boot", () => {
    expect(processStart(stat("node"), BOOT)).not.toBe(processStart(stat("node"), "another-boot"))
    expect(processStart(stat("node"), BOOT)).not.toBe(processStart(stat("node", "S", "3498680"), BOOT))
  })

  it("is none for a zombie (a process that has ended) and for a text that is no stat line", () => {
    expect(processStart(stat("node", "Z"), BOOT)).toBeUndefined()
    expect(processStart("", BOOT)).toBeUndefined()
    expect(processStart("4242 (node) S 1 2", BOOT)).toBeUndefined()
  })
  it("in the boot systemBoot names: the kernel's boot id and its init's start, which a container started again on the same kernel has anew", () => {
    expect(systemBoot(BOOT, stat("init", "S", "120"))).toBe("0c5e1f2a-3b4c-4d5e-8f60-718293a4b5c6@120")
    expect(systemBoot(BOOT, stat("init", "S", "120"))).not.toBe(systemBoot(BOOT, stat("init", "S", "98000")))
    // /proc/1/stat not read: the boot id alone
    expect(systemBoot(BOOT, undefined)).toBe("0c5e1f2a-3b4c-4d5e-8f60-718293a4b5c6")
    expect(systemBoot(BOOT, "")).toBe("0c5e1f2a-3b4c-4d5e-8f60-718293a4b5c6")
  })
})
