/**
 * The operator's commands as processes: `status --wait` following a first
 * boot whose phases are processes of their own, and the completion scripts
 * the bundle prints.
 */
import { execFileSync, spawn } from "node:child_process"
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { completionScript } from "../../src/programs/completion.js"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { SIM_CLOUDS } from "../../src/sim/simulator.js"
import { PROGRAM, runProgram, useInstances } from "../support/harness.js"
import { until } from "../support/openrc.js"
import { itSystem } from "../support/system.js"

/**
 * A phase's stand-in holding the state directory's lock, as a phase does until its last write (`then`, a shell command
 * run before it lets go), from when this returns until `release`
 */
const holdStateLock = async (instance: { readonly dir: string; readonly root: string }, then = "") => {
  const go = join(instance.dir, "go")
  const holding = join(instance.dir, "holding")
  const script = `: > "${holding}"; while [ ! -e "${go}" ]; do sleep 0.02; done${then === "" ? "" : `; ${then}`}`
  const holder = spawn("flock", ["-x", join(instance.root, "var/lib/cloud"), "sh", "-c", script], { stdio: "ignore" })
  const gone = new Promise((done) => holder.on("close", done))
  await until(() => existsSync(holding), "the lock is held")
  return {
    release: async () => {
      writeFileSync(go, "")
      await gone
    }
  }
}

const makeInstance = useInstances()

describe("tiny-cloud status --wait across processes", () => {
  it("started after boot, it returns once final has ended, saying done", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: ["ssh-ed25519 AAAA k@example"] } })
    expect((await instance.run(["boot"])).code).toBe(0)
    let finished = false
    const waiting = instance.run(["status", "--wait", "--timeout", "60"]).then((r) => {
      finished = true
      return r
    })
    for (const phase of ["early", "main"]) {
      expect((await instance.run([phase])).code).toBe(0)
      expect(finished).toBe(false)
    }
    expect((await instance.run(["final"])).code).toBe(0)
    const r = await waiting
    expect([r.code, r.stdout.split("\n")[0], r.stderr]).toEqual([0, "done", ""])
    expect((await instance.run(["status"])).stdout).toMatch(/^done\ncloud: aws \(configured\)\nuser-data: missing\nboot: .*\nearly: .*\nmain: .*\nfinal: .*\n$/)
  })
})

describe("tiny-cloud status --wait from a program of the phase that runs", () => {
  const UNDER_PHASE =
    "tiny-cloud status: waiting for the end of the phase this command runs under (a user-data script, runcmd): run in the foreground, it waits for ever; start it in the background (&) or give --timeout\n"

  it("in the background (as cloud-init's users start it), waits for the phase to end and says done; the phase is not held", async () => {
    // the script ends once the background status has asked (its first line), so that it asks while final runs
    const script = `#!/bin/sh\n( "${process.execPath}" "$TC" status --wait > "$OUT" 2>&1; echo "exit $?" >> "$OUT" ) &\nuntil grep -q "tiny-cloud status" "$OUT" 2>/dev/null; do sleep 0.05; done\n`
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", userData: new TextEncoder().encode(script) } })
    const out = join(instance.dir, "status.out")
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    const final = await instance.run(["final"], { TC: PROGRAM, OUT: out })
    expect([final.code, instance.read("/var/log/user-data.exit")]).toEqual([0, "0\n"])
    await until(() => existsSync(out) && readFileSync(out, "utf8").includes("exit "), "the background status ends")
    expect(readFileSync(out, "utf8")).toMatch(new RegExp(`^${UNDER_PHASE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}done\n(?:.*\n)*exit 0\n$`))
  })

  it("in the foreground, says it waits for its own caller's end, and ends at its --timeout (exit 3) with the status then; final then ends", async () => {
    const script = `#!/bin/sh\nexec "${process.execPath}" "$TC" status --wait --timeout 1\n`
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", userData: new TextEncoder().encode(script) } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    const r = await instance.run(["final"], { TC: PROGRAM })
    expect(
      r.stdout.startsWith(
        "tiny-cloud status: waiting for the end of the phase this command runs under (a user-data script, runcmd): run in the foreground, it waits until --timeout passes; start it in the background (&)\nrunning final\n"
      )
    ).toBe(true)
    expect([r.code, instance.read("/var/log/user-data.exit")]).toEqual([1, "3\n"])
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
  })
})

describe("tiny-cloud --bootstrap while a phase runs", () => {
  itSystem("incomplete waits for the phase that runs (final marks the bootstrap complete as its last write), then removes the marker", { tools: { flock: "util-linux" } }, async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example" } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    // final runs: it holds the state directory's lock until the test lets it go, having written the marker
    const holder = await holdStateLock(instance)
    let finished = false
    const asked = instance.run(["--bootstrap", "incomplete"]).then((r) => ((finished = true), r))
    const waits = () => readCommandLog(instance.fake).some((c) => c.stdin.includes("a phase is running; waiting for it to end"))
    await until(() => finished || waits(), "--bootstrap incomplete ends or waits")
    writeFileSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"), "")
    await holder.release()
    const r = await asked
    expect([r.code, r.stderr]).toEqual([0, "a phase is running; waiting for it to end\nbootstrap marked incomplete\n"])
    expect(existsSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"))).toBe(false)
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
  })

  itSystem("an ancestor that has the state directory open without its lock (an operator's shell after exec 3</var/lib/cloud) is no phase: incomplete still waits for final", { tools: { flock: "util-linux" } }, async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example" } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    const state = join(instance.root, "var/lib/cloud")
    const holder = await holdStateLock(instance)
    // the asker's parent (this process) keeps the directory open, as a shell's descriptor 3 would
    const open = openSync(state, "r")
    try {
      let finished = false
      const asked = instance.run(["--bootstrap", "incomplete"]).then((r) => ((finished = true), r))
      const waits = () => readCommandLog(instance.fake).some((c) => c.stdin.includes("a phase is running; waiting for it to end"))
      await until(() => finished || waits(), "--bootstrap incomplete ends or waits")
      // final's last write, then it ends
      writeFileSync(join(state, ".bootstrap-complete"), "")
      await holder.release()
      const r = await asked
      expect([r.code, r.stderr]).toEqual([0, "a phase is running; waiting for it to end\nbootstrap marked incomplete\n"])
      expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("incomplete\n")
    } finally {
      closeSync(open)
    }
  })

  itSystem("one run under the holder of the state directory's lock goes on at once where ROOT is given through a link (the kernel names the directory by its own path)", { tools: { flock: "util-linux" } }, async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example" } })
    const state = join(instance.root, "var/lib/cloud")
    mkdirSync(state, { recursive: true })
    writeFileSync(join(state, ".bootstrap-complete"), "")
    const link = join(instance.dir, "root-link")
    symlinkSync(instance.root, link)
    // as final that could not write its running entry runs a runcmd: the lock's holder is the asker's parent
    const asker = spawn("flock", ["-x", state, process.execPath, PROGRAM, "--bootstrap", "incomplete"], { env: { ...instance.env, ROOT: link }, stdio: ["ignore", "pipe", "pipe"], detached: true })
    let stderr = ""
    let code: number | undefined
    asker.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    asker.on("close", (c) => (code = c ?? -1))
    try {
      await until(() => code !== undefined || stderr.includes("waiting"), "--bootstrap incomplete ends or waits")
    } finally {
      // flock and the command it runs, which holds the lock's descriptor too
      if (code === undefined) process.kill(-asker.pid!, "SIGKILL")
    }
    expect([code, stderr]).toEqual([0, "bootstrap marked incomplete\n"])
    expect(existsSync(join(state, ".bootstrap-complete"))).toBe(false)
  })

  it("a user-data script that asks from inside final (which holds the lock) is not kept waiting: complete, then final ends", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", userData: new TextEncoder().encode(`#!/bin/sh\n"${process.execPath}" "$TC" --bootstrap incomplete && echo asked\n`) } })
    const r = await instance.boot({ TC: PROGRAM })
    expect(r.map((x) => x.code)).toEqual([0, 0, 0, 0])
    expect(r[3]!.stdout).toContain("asked\n")
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
  })

  it("nor when final could not write its running entry (a link in the run record's place): the process it runs under is known by the lock's directory it holds open", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", userData: new TextEncoder().encode(`#!/bin/sh\necho $$ > "$ASKER"\nexec "${process.execPath}" "$TC" --bootstrap incomplete\n`) } })
    const asker = join(instance.dir, "asker")
    mkdirSync(join(instance.root, "var/lib/cloud"), { recursive: true })
    symlinkSync("/nowhere", join(instance.root, "var/lib/cloud/status.json"))
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    let finished = false
    const final = instance.run(["final"], { TC: PROGRAM, ASKER: asker }).then((r) => ((finished = true), r))
    const waits = () => readCommandLog(instance.fake).some((c) => c.stdin.includes("a phase is running; waiting for it to end"))
    await until(() => finished || waits(), "final ends or --bootstrap incomplete waits")
    const waited = waits()
    // waiting for final, which waits for it: let final go
    if (!finished) process.kill(Number(readFileSync(asker, "utf8")), "SIGKILL")
    const r = await final
    expect([waited, r.code, r.stdout, r.stderr]).toEqual([false, 0, "bootstrap marked incomplete\n", expect.stringContaining("cannot write the run record")])
  })
})

describe("a phase run by a program of the phase that runs", () => {
  it("is not run, in one line, rather than waiting for the end of the phase that waits for it: final goes on and completes the bootstrap", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", userData: new TextEncoder().encode(`#!/bin/sh\necho $$ > "$ASKER"\nexec "${process.execPath}" "$TC" main\n`) } })
    const asker = join(instance.dir, "asker")
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    let finished = false
    const final = instance.run(["final"], { TC: PROGRAM, ASKER: asker }).then((r) => ((finished = true), r))
    const waits = () => readCommandLog(instance.fake).some((c) => c.stdin.includes("another phase is running; waiting for it to end"))
    await until(() => finished || waits(), "final ends or the main it runs waits")
    const waited = waits()
    // main waiting for final, which waits for it: let final go
    if (!finished) process.kill(Number(readFileSync(asker, "utf8")), "SIGKILL")
    const r = await final
    expect([waited, r.code]).toEqual([false, 1])
    expect(r.stdout).toBe("another phase is running: the one this command runs under (a program of it, a user-data script or runcmd), which would wait for it while it waits for that phase's end; not run\n")
    expect(r.stderr).toContain("   ++ run_userdata: failed\n   ++ bootstrap_complete: starting\n   ++ bootstrap_complete: done\n")
    expect((await instance.run(["--bootstrap", "status"])).stdout).toBe("complete\n")
  })
})

describe("a phase run by hand while another holds the lock", () => {
  itSystem("waits for it where a running entry left by a killed phase names a process that has its pid since, its shell (no phase it runs under)", { tools: { flock: "util-linux" } }, async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example" } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    const state = join(instance.root, "var/lib/cloud")
    const holder = await holdStateLock(instance)
    // the operator's shell, which runs main once the record names it
    const shell = join(instance.dir, "shell")
    const named = join(instance.dir, "named")
    let finished = false
    let stderr = ""
    const asker = spawn("sh", ["-c", `echo $$ > "${shell}"; while [ ! -e "${named}" ]; do sleep 0.02; done; "${process.execPath}" "${PROGRAM}" main`], { env: instance.env, stdio: ["ignore", "ignore", "pipe"] })
    asker.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const code = new Promise<number>((done) => asker.on("close", (c) => ((finished = true), done(c ?? -1))))
    await until(() => existsSync(shell) && readFileSync(shell, "utf8").endsWith("\n"), "the shell runs")
    // a final killed in an earlier boot, whose pid the shell has now: its start is another process's
    const record = JSON.parse(readFileSync(join(state, "status.json"), "utf8"))
    const last = record.runs[record.runs.length - 1]
    record.runs.push({ ...last, phase: "final", pid: Number(readFileSync(shell, "utf8")), pidStart: "00000000-0000-0000-0000-000000000000@1/1", exitStatus: undefined, durationMs: undefined, actions: [] })
    writeFileSync(join(state, "status.json"), JSON.stringify(record))
    writeFileSync(named, "")
    await until(() => finished || stderr.includes("waiting"), "main ends or waits")
    const waited = stderr.includes("another phase is running; waiting for it to end")
    await holder.release()
    expect([waited, await code]).toEqual([true, 0])
  })

  itSystem("finds the bootstrap complete once the phase it waited for ends (final): 'already bootstrapped', exit 0, nothing run again", { tools: { flock: "util-linux" } }, async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example" } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    const state = join(instance.root, "var/lib/cloud")
    // final, holding the lock until its last write, the marker
    const holder = await holdStateLock(instance, `: > "${state}/.bootstrap-complete"`)
    let finished = false
    let stderr = ""
    const main = spawn(process.execPath, [PROGRAM, "main"], { env: instance.env, stdio: ["ignore", "ignore", "pipe"] })
    main.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const code = new Promise<number>((done) => main.on("close", (c) => ((finished = true), done(c ?? -1))))
    try {
      await until(() => finished || stderr.includes("waiting"), "main ends or waits")
    } finally {
      await holder.release()
    }
    // before: main ran its actions again after the bootstrap was complete
    expect([await code, stderr]).toEqual([0, "another phase is running; waiting for it to end\nalready bootstrapped\n"])
  })

  itSystem("is not run where the running entry is an earlier edition's (its pidStart the kernel's boot id alone) and names a process it runs under, as status reads that entry", { tools: { flock: "util-linux" } }, async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example" } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
    const state = join(instance.root, "var/lib/cloud")
    // the lock held by no process main runs under: the running entry alone says the phase is its caller
    const holder = await holdStateLock(instance)
    // the earlier edition's final (installed over by apk upgrade in bootcmd), which runs main in runcmd
    const caller = join(instance.dir, "caller")
    const named = join(instance.dir, "named")
    let finished = false
    let stdout = ""
    let stderr = ""
    const asker = spawn("sh", ["-c", `echo $$ > "${caller}"; while [ ! -e "${named}" ]; do sleep 0.02; done; "${process.execPath}" "${PROGRAM}" main`], { env: instance.env, stdio: ["ignore", "pipe", "pipe"] })
    asker.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    asker.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const code = new Promise<number>((done) => asker.on("close", (c) => ((finished = true), done(c ?? -1))))
    try {
      await until(() => existsSync(caller) && readFileSync(caller, "utf8").endsWith("\n"), "the caller runs")
      const pid = Number(readFileSync(caller, "utf8"))
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      const ticks = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
      const record = JSON.parse(readFileSync(join(state, "status.json"), "utf8"))
      const last = record.runs[record.runs.length - 1]
      const pidStart = `${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}/${ticks}`
      record.runs.push({ ...last, phase: "final", pid, pidStart, exitStatus: undefined, durationMs: undefined, actions: [] })
      writeFileSync(join(state, "status.json"), JSON.stringify(record))
      writeFileSync(named, "")
      await until(() => finished || stderr.includes("waiting"), "main ends or waits")
    } finally {
      await holder.release()
    }
    expect([stderr.includes("waiting"), await code, stdout, stderr]).toEqual([
      false,
      1,
      "",
      "another phase is running: the one this command runs under (a program of it, a user-data script or runcmd), which would wait for it while it waits for that phase's end; not run\n"
    ])
  })
})

describe("tiny-cloud completion", () => {
  it("prints the scripts for bash, zsh and fish; bash -n accepts the bash one", async () => {
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const r = await runProgram(["completion", shell], { PATH: process.env.PATH ?? "" })
      expect([r.code, r.stdout === completionScript(shell, SIM_CLOUDS), r.stderr]).toEqual([0, true, ""])
      if (shell === "bash") execFileSync("bash", ["-n"], { input: r.stdout })
    }
    expect(await runProgram(["completion", "tcsh"], {})).toEqual({ code: 1, stdout: "", stderr: "Usage: tiny-cloud completion {bash|zsh|fish}\n" })
  })
})
