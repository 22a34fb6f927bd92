/**
 * A final phase killed while the user's runcmd runs, then run again, as the
 * next boot runs it: the run converges and leaves nothing of the killed one.
 * A phase killed before final, in the same boot, leaves the bootstrap
 * incomplete; the user's programs that ran to their end do not run again. And a phase that cannot keep other phases out (its lock) runs
 * all the same. The damaged records of a first boot, with no process
 * killed, are in test/phases/damaged-records (in-process).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { execFileSync, spawn } from "node:child_process"
import { it as itEffect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { actionLines, PROGRAM, TEST_CODE_CACHE, useInstances, type InstanceOptions, type RunResult, type TestInstance } from "../support/harness.js"
import { makeTestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { describeSystem, which } from "../support/system.js"
import { until } from "../support/openrc.js"

const useInstance = useInstances()
// none of these tests is about a metadata failure: on a loaded machine the in-process simulator may answer after the
// short default deadline, and a boot brought to the phase a test is about would fail for that (exit 1)
const makeInstance = (options: InstanceOptions) => useInstance({ ...options, env: { ...PATIENT_METADATA, ...options.env } })

const PHASES = ["boot", "early", "main", "final"]

/**
 * A boot's four phases: those before `from` in this process (runHere: they only bring the instance to the phase a test is
 * about, and run no program that signals its parent), `from` and those after it as processes of their own
 */
const bootFrom = async (instance: TestInstance, from: "main" | "final") => {
  const results: Array<RunResult> = []
  for (const phase of PHASES) results.push(await (PHASES.indexOf(phase) < PHASES.indexOf(from) ? instance.runHere([phase]) : instance.run([phase])))
  return results
}

describe.concurrent("a final phase killed during runcmd", () => {
  it("is run again to completion, and leaves nothing beside user-data.log", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    // the first time, runcmd kills the phase that runs it (its parent), as a power cut would
    const userData = `#cloud-config\nruncmd:\n  - echo before\n  - "[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; }"\n  - echo after\n`
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    const [boot, early, main, killed] = await bootFrom(instance, "final")
    expect([boot!.code, early!.code, main!.code, killed!.code]).toEqual([0, 0, 0, -1])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    const again = await instance.run(["final"])
    expect(again.code).toBe(0)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    expect(readdirSync(join(instance.root, "var/log")).filter((f) => f.startsWith("."))).toEqual([])
  })
})

describe.concurrent("an append a crash left beside a user-data.log that is a FIFO, or a directory (an image's)", () => {
  it.each(["a FIFO", "a directory"])("%s: the next program's output is refused in one line at once, never waited on; the program runs", async (what) => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode('#cloud-config\nbootcmd:\n  - touch "$ROOT/tmp/booted"\n') } })
    for (const phase of ["boot", "early"]) expect((await instance.runHere([phase])).code).toBe(0)
    const log = join(instance.root, "var/log/user-data.log")
    mkdirSync(join(instance.root, "var/log"), { recursive: true })
    writeFileSync(join(instance.root, "var/log/.user-data.log.append-0"), "the killed run's output\n")
    if (what === "a FIFO") execFileSync("mkfifo", [log])
    else mkdirSync(log)
    // a process of its own: an open that waits for the FIFO's reader holds its whole process, where no timeout can end it
    const child = spawn(process.execPath, [PROGRAM, "main"], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env }, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    let code: number | undefined
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("close", (c) => (code = c ?? -1))
    try {
      await until(() => code !== undefined, "main ends")
    } finally {
      if (code === undefined) child.kill("SIGKILL")
    }
    expect(code).toBe(0)
    expect(stderr).toContain(`userdata_bootcmd: cannot keep its programs' output: append ${log}: not a regular file; refused\n`)
    expect(instance.read("/tmp/booted")).toBe("")
  })
})

describe.concurrent("a main phase killed between writing a file and giving its new directories the file's owner", () => {
  it("gives them the owner when run again, as an undisturbed boot does", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    const userData = "#cloud-config\nusers:\n  - default\n  - name: appuser\nwrite_files:\n  - path: /home/appdata/conf/settings.conf\n    content: x\n    owner: appuser\n"
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    // the first chown kills the phase that runs it (its parent), as a power cut would: the file and its directories are written by then;
    // it never gets to its own work (nor to logging it, which a loaded machine would let happen during the rerun)
    for (const phase of ["boot", "early"]) expect((await instance.runHere([phase])).code).toBe(0)
    rmSync(join(instance.fake.bin, "chown"))
    writeFileSync(join(instance.fake.bin, "chown"), `#!/bin/sh\n[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; exit 1; }\nprintf 'chown %s\\n' "$*" >> "$FAKE_COMMAND_LOG"\n`, { mode: 0o755 })
    expect((await instance.run(["main"])).code).toBe(-1)
    expect(instance.read("/home/appdata/conf/settings.conf")).toBe("x")
    expect((await instance.run(["main"])).code).toBe(0)
    expect(instance.commands().filter((c) => c.startsWith("chown "))).toEqual([
      `chown -h appuser ${instance.root}/home/appdata`,
      `chown -h appuser ${instance.root}/home/appdata/conf`,
      `chown -h appuser ${instance.root}/home/appdata/conf/settings.conf`
    ])
    // the record of those directories is this first boot's: a first boot asked for again starts without it
    expect(instance.read("/var/lib/cloud/.write_files-directories")).toBeDefined()
    expect((await instance.run(["--bootstrap", "incomplete"])).code).toBe(0)
    expect(instance.read("/var/lib/cloud/.write_files-directories")).toBeUndefined()
  })
})

describe.concurrent("a main phase killed before it set up the keys, followed by final in the same boot (out of memory, its service ended)", () => {
  it("leaves the bootstrap incomplete, in one line, so that the next boot sets up the keys", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    // the first time, bootcmd (before set_ssh_keys) kills the phase that runs it
    const userData = `#cloud-config\nbootcmd:\n  - "[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; }"\n`
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilled a@example"
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "killed-1.example.internal", sshKeys: [key], userData: new TextEncoder().encode(userData) } })
    const first = await bootFrom(instance, "main")
    expect(first.map((r) => r.code)).toEqual([0, 0, -1, 1])
    expect(first[3]!.stderr).toContain(
      "bootstrap_complete: the main phase ended before it finished (its process is gone); not marked complete, so that the next boot runs the first boot again\n   ++ bootstrap_complete: failed\n"
    )
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    const next = await bootFrom(instance, "main")
    expect(next.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe.concurrent("a final phase run again after its user programs ran to their end (a phase before it was killed, or a crash before the marker)", () => {
  it("does not run them again, in one line each; a killed main is run again; --bootstrap incomplete forgets them", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    const runs = join(marks, "runs")
    const userData = `#cloud-config\nbootcmd:\n  - "[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; }"\nruncmd:\n  - echo runcmd >> ${runs}\n`
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    expect((await bootFrom(instance, "main")).map((r) => r.code)).toEqual([0, 0, -1, 1])
    expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
    const next = await bootFrom(instance, "main")
    expect(next.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(next[3]!.stderr).toContain("userdata_runcmd: its programs ran to their end in this first boot already; not run again\n")
    expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    expect((await instance.run(["--bootstrap", "incomplete"])).code).toBe(0)
    expect(instance.read("/var/lib/cloud/.userdata-ran")).toBeUndefined()
  })
})

describe.concurrent("a final phase killed after the multipart script parts, as runcmd starts", () => {
  it("runs runcmd when run again, and not the parts, which ran to their end before it (as cloud-init's part-NNN run before runcmd)", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    const runs = join(marks, "runs")
    const userData = [
      'Content-Type: multipart/mixed; boundary="XX"\nMIME-Version: 1.0\n',
      `--XX\nContent-Type: text/cloud-config\n\n#cloud-config\nruncmd:\n  - "[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; }"\n  - echo runcmd >> ${runs}`,
      `--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho part >> ${runs}`,
      "--XX--\n"
    ].join("\n")
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    expect((await bootFrom(instance, "final")).map((r) => r.code)).toEqual([0, 0, 0, -1])
    expect(readFileSync(runs, "utf8")).toBe("part\n")
    const again = await instance.run(["final"])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain("userdata_scripts: its programs ran to their end in this first boot already; not run again\n")
    expect(readFileSync(runs, "utf8")).toBe("part\nruncmd\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe.concurrent("a final phase run again after the user's programs ran to their end and failed", () => {
  it("passes over runcmd, and its action fails all the same with the status it ended with: the bootstrap is done with errors, not done", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    const runs = join(marks, "runs")
    const userData = `#cloud-config\nbootcmd:\n  - "[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; }"\nruncmd:\n  - echo runcmd >> ${runs}\n  - exit 7\n`
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    expect((await bootFrom(instance, "main")).map((r) => r.code)).toEqual([0, 0, -1, 1])
    const next = await bootFrom(instance, "main")
    expect(next.map((r) => r.code)).toEqual([0, 0, 0, 1])
    expect(next[3]!.stderr).toContain(
      "userdata_runcmd: its programs ran to their end in this first boot already; not run again\nuserdata_runcmd: runcmd exited with status 7\n   ++ userdata_runcmd: failed\n"
    )
    expect(readFileSync(runs, "utf8")).toBe("runcmd\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    const status = await instance.run(["status"])
    expect(status.code).toBe(2)
    expect(status.stdout).toContain("error: final/userdata_runcmd: runcmd exited with status 7\n")
  })

  it("passes over a user-data script, and run_userdata fails with its status", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-killed-"))
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }))
    const once = join(marks, "once")
    const runs = join(marks, "runs")
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "killed-2.example.internal", userData: new TextEncoder().encode(`#!/bin/sh\necho script >> ${runs}\nexit 3\n`) } })
    // the first time, set_hostname's hostname kills main (its parent)
    const first = [await instance.runHere(["boot"]), await instance.runHere(["early"])]
    rmSync(join(instance.fake.bin, "hostname"))
    writeFileSync(join(instance.fake.bin, "hostname"), `#!/bin/sh\n[ -e ${once} ] || { touch ${once}; kill -9 $PPID; sleep 5; exit 1; }\n`, { mode: 0o755 })
    first.push(await instance.run(["main"]), await instance.run(["final"]))
    expect(first.map((r) => r.code)).toEqual([0, 0, -1, 1])
    const next = await bootFrom(instance, "main")
    expect(next.map((r) => r.code)).toEqual([0, 0, 0, 1])
    expect(next[3]!.stderr).toContain(
      "run_userdata: its programs ran to their end in this first boot already; not run again\nrun_userdata: user-data script exited with status 3\n   ++ run_userdata: failed\n"
    )
    expect(readFileSync(runs, "utf8")).toBe("script\n")
    expect(instance.read("/var/log/user-data.exit")).toBe("3\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

// in-process: the lock's flock is the one the phase's PATH finds, as in a process of its own
describe.concurrent("a phase whose lock cannot be taken (flock missing or failing)", () => {
  /** a directory on the phase's PATH with a flock that says `message` and exits with `status` */
  const failingFlock = (dir: string, message: string, status: number) => {
    const tools = join(dir, "flock-tools")
    mkdirSync(tools)
    writeFileSync(join(tools, "flock"), `#!/bin/sh\necho '${message}' >&2\nexit ${status}\n`, { mode: 0o755 })
    return { PATH: `${tools}:${process.env.PATH ?? "/usr/bin:/bin"}` }
  }

  itEffect.scopedLive("says so in one line and runs all the same: the user, keys and hostname are set up", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", realLock: true, instance: { hostname: "lock-1.example.internal", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILock a@example"] } })
      const results = yield* instance.boot(failingFlock(instance.dir, "flock: cannot lock: broken", 64))
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(results[2]!.stderr).toContain(`cannot lock ${instance.root}/var/lib/cloud: flock: cannot lock: broken; the phase runs without the lock\n`)
      expect(instance.read("/etc/hostname")).toBe("lock-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILock a@example\n")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  itEffect.scopedLive("flock not installed: says so by name in one line, and the first boot ends as it does with the lock", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", realLock: true, instance: { hostname: "lock-2.example.internal", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoFlock a@example"] } })
      // every command of the machine's PATH but flock
      const tools = join(instance.dir, "tools")
      mkdirSync(tools)
      // the first of a name, as the PATH search finds it (a dangling link too: existsSync would not see the one made)
      const linked = new Set(["flock"])
      for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":").filter((d) => existsSync(d)))
        for (const name of readdirSync(dir)) {
          if (linked.has(name)) continue
          linked.add(name)
          symlinkSync(join(dir, name), join(tools, name))
        }
      const results = yield* instance.boot({ PATH: tools })
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      for (const r of results) expect(r.stderr).toMatch(new RegExp(`^cannot lock ${instance.root}/var/lib/cloud: flock is not installed; the phase runs without the lock\\n`))
      expect(instance.read("/etc/hostname")).toBe("lock-2\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoFlock a@example\n")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )

  itEffect.scopedLive("busybox flock failing (status 1 and its message, as for anything but another holder): named, and no phase claims another is running", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", realLock: true, instance: { hostname: "lock-3.example.internal" } })
      const results = yield* instance.boot(failingFlock(instance.dir, "flock: flock: No locks available", 1))
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
      for (const r of results) {
        expect(r.stderr).toMatch(new RegExp(`^cannot lock ${instance.root}/var/lib/cloud: flock: flock: No locks available; the phase runs without the lock\\n`))
        expect(r.stderr).not.toContain("another phase is running")
      }
      expect(instance.read("/etc/hostname")).toBe("lock-3\n")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )
})

/** a shell script in a mount namespace of the test's own (its mounts go with it), as root; fd 3 is its stdout, 1 and 2 its stderr */
const inMountNamespace = (script: string, env: Readonly<Record<string, string>>) =>
  new Promise<{ stdout: string; stderr: string }>((done) => {
    const child = spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", `exec 3>&1 1>&2; ${script}`], { env: { ...env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE } })
    let out = ""
    let err = ""
    child.stdout.on("data", (c: Buffer) => (out += c.toString()))
    child.stderr.on("data", (c: Buffer) => (err += c.toString()))
    child.on("close", () => done({ stdout: out, stderr: err }))
  })

describeSystem("a first boot whose state directory fills during main (its end cannot be recorded)", { tools: { unshare: "util-linux", mount: "mount" }, root: true }, () => {
  it("is marked complete, as before the check of killed phases: an end the record lacks is no killed phase", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFull a@example"
    // main's bootcmd fills the state directory, a tmpfs of 1 MiB of a mount namespace of the test's own
    const userData = '#cloud-config\nbootcmd:\n  - dd if=/dev/zero of="$ROOT/var/lib/cloud/fill" bs=4k 2>/dev/null; true\n'
    const instance = await makeInstance({ cloud: "aws", instance: { sshKeys: [key], userData: new TextEncoder().encode(userData) } })
    const phases = ["boot", "early", "main", "final"].map((p) => `"${process.execPath}" "${PROGRAM}" ${p}; echo "${p} $?" >&3`).join("; ")
    const script = `"${which("mount")}" -t tmpfs -o size=1m tmpfs "$ROOT/var/lib/cloud" || exit 1; ${phases}; [ -e "$ROOT/var/lib/cloud/.bootstrap-complete" ] && echo marked >&3`
    const { stdout, stderr } = await inMountNamespace(script, instance.env)
    expect(stderr).toContain(`cannot write the run record: write ${instance.root}/var/lib/cloud/status.json: no space left on device\n`)
    expect(stderr).not.toContain("ended before it finished")
    expect(stdout).toBe("boot 0\nearly 0\nmain 0\nfinal 0\nmarked\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
  })
}, { concurrent: true })

describeSystem("a final phase whose state directory is read-only (a root remounted read-only after an error)", { tools: { unshare: "util-linux", mount: "mount" }, root: true }, () => {
  it("fails bootstrap_complete in its own lines, not after 'done'; exit 1, and no marker", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReadOnly a@example"] } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.runHere([phase])).code).toBe(0)
    const state = `"$ROOT/var/lib/cloud"`
    const mount = `"${which("mount")}"`
    const script = `${mount} --bind ${state} ${state} && ${mount} -o remount,ro,bind ${state} || exit 1; "${process.execPath}" "${PROGRAM}" final; echo "final $?" >&3`
    const { stdout, stderr } = await inMountNamespace(script, instance.env)
    expect(stdout).toBe("final 1\n")
    expect(actionLines(stderr)).toEqual(["   ++ bootstrap_complete: starting", "   ++ bootstrap_complete: failed"])
    expect(stderr).toContain(`\n   ++ bootstrap_complete: starting\nbootstrap_complete: write ${instance.root}/var/lib/cloud/.bootstrap-complete: read-only file system\n   ++ bootstrap_complete: failed\n`)
    expect(readdirSync(join(instance.root, "var/lib/cloud")).filter((f) => f.includes("bootstrap-complete"))).toEqual([])
  })
}, { concurrent: true })

/** `tiny-cloud PHASE` killed by strace at its K-th file replacement (a rename), as a power cut there would end it */
const runKilledAtWrite = (env: Record<string, string>, phase: string, atWrite: number, trace = "/dev/null") =>
  new Promise<void>((done) => {
    const inject = atWrite > 0 ? ["-e", `inject=rename,renameat,renameat2:signal=KILL:when=${atWrite}`] : []
    const args = ["-f", "-qq", "-o", trace, "-e", "trace=rename,renameat,renameat2", ...inject, process.execPath, PROGRAM, phase]
    spawn(which("strace")!, args, { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...env }, stdio: "ignore" }).on("close", () => done())
  })

describeSystem("a final phase killed at any of its file replacements (bootstrap_complete's probe among them), then run again", { tools: { strace: "strace" } }, () => {
  it("leaves the state directory as an undisturbed boot does: the marker and the record, no temporary", async () => {
    const options: InstanceOptions = { cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProbe a@example"] } }
    const reference = await makeInstance(options)
    for (const phase of ["boot", "early", "main"]) expect((await reference.runHere([phase])).code).toBe(0)
    // what boot, early and main left (no file of it names its ROOT): each killed final starts from a copy, owners
    // (the user's ~/.ssh), modes, links and times as they are; Node's cpSync would give every file to the test's user
    const copy = (from: string, to: string) => execFileSync("cp", ["-a", from, to])
    const afterMain = join(reference.dir, "after-main")
    copy(reference.root, afterMain)
    const boot = async () => {
      const instance = await makeInstance(options)
      rmSync(instance.root, { recursive: true })
      copy(afterMain, instance.root)
      return instance
    }
    const state = (root: string) => readdirSync(join(root, "var/lib/cloud")).sort()
    const trace = join(reference.dir, "renames")
    await runKilledAtWrite(reference.env, "final", 0, trace)
    const writes = readFileSync(trace, "utf8").split("\n").filter((l) => /rename/.test(l)).length
    expect(state(reference.root)).toEqual([".bootstrap-complete", "status.json"])
    for (let atWrite = 1; atWrite <= writes; atWrite++) {
      const instance = await boot()
      await runKilledAtWrite(instance.env, "final", atWrite)
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
      expect((await instance.run(["final"])).code).toBe(0)
      expect([atWrite, state(instance.root)]).toEqual([atWrite, [".bootstrap-complete", "status.json"]])
    }
  })
}, { concurrent: true })

// after a power cut the phase may get the pid it had: the probe it left has the name the new one would take
describeSystem("a final phase run again with the pid it had, after a power cut that left bootstrap_complete's probe", { tools: { unshare: "util-linux" }, root: true }, () => {
  it("is marked complete, and the probe is gone", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProbe a@example"] } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.runHere([phase])).code).toBe(0)
    // the program is pid 1 of a PID namespace of its own; its counter of temporaries gives one of these
    for (let n = 0; n < 4; n++) instance.write(`/var/lib/cloud/..bootstrap-complete.tmp-1-${n}`, "")
    const code = await new Promise<number | null>((done) =>
      spawn("unshare", ["-f", "-p", process.execPath, PROGRAM, "final"], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env }, stdio: "ignore" }).on("close", done)
    )
    expect(code).toBe(0)
    expect(readdirSync(join(instance.root, "var/lib/cloud")).sort()).toEqual([".bootstrap-complete", "status.json"])
  })
}, { concurrent: true })

// an operator's kill -9 (or the OOM killer's), then a later program of this one's name that gets the pid: here in a PID namespace of the test's own
describeSystem("an early phase killed, whose pid a later 'tiny-cloud status --wait' gets", { tools: { unshare: "util-linux", strace: "strace" }, root: true }, () => {
  it("is a phase that died, not one that runs: --wait returns the failure at once, status says so", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReused a@example"] } })
    expect((await instance.runHere(["boot"])).code).toBe(0)
    const program = `"${process.execPath}" "${PROGRAM}"`
    const script = [
      // killed at its second file replacement, its running entry (the first) written; its pid is that entry's
      `"${which("strace")}" -f -qq -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL:when=2 ${program} early`,
      `early=$(sed -n 's/^ *"pid": \\([0-9]*\\),$/\\1/p' "$ROOT/var/lib/cloud/status.json" | tail -n 1)`,
      `touch "$ROOT/etc/tiny-cloud.disabled"`,
      `echo $((early - 1)) > /proc/sys/kernel/ns_last_pid`,
      `${program} status --wait --timeout 20 > /dev/null & waiting=$!`,
      `[ "$waiting" = "$early" ] && echo "the same pid" >&3`,
      `wait $waiting; echo "--wait $?" >&3`,
      `${program} status >&3`
    ].join("\n")
    const { stdout } = await new Promise<{ stdout: string }>((done) => {
      const child = spawn("unshare", ["-p", "-f", "--mount-proc", "sh", "-c", `exec 3>&1 1>&2; ${script}`], { env: { ...instance.env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE } })
      let out = ""
      child.stdout.on("data", (c: Buffer) => (out += c.toString()))
      child.on("close", () => done({ stdout: out }))
    })
    expect(stdout).toMatch(/^the same pid\n--wait 1\nfailed at early: the phase ended before it finished \(process gone\)\n(.*\n)*early: did not finish\n/)
  })
}, { concurrent: true })

/** an aws instance whose user-data is `script`, its image holding /usr/bin/env (the script runs with the host's) */
const withImageEnv = async (script: string) => {
  const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(script) } })
  mkdirSync(join(instance.root, "usr/bin"), { recursive: true })
  if (!existsSync(join(instance.root, "usr/bin/env"))) writeFileSync(join(instance.root, "usr/bin/env"), "")
  return instance
}

describe.concurrent("a user-data script whose #! is `/usr/bin/env NAME` (#!/usr/bin/env bash), NAME not installed", () => {
  it("fails run_userdata naming NAME, as a #! naming a program the image lacks names it", async () => {
    const instance = await withImageEnv("#!/usr/bin/env -S tiny-cloud-no-such-shell -e\necho hi\n")
    const [, , , final] = await bootFrom(instance, "final")
    expect(final!.code).toBe(1)
    expect(instance.read("/var/log/user-data.exit")).toBe("127\n")
    expect(final!.stderr).toContain("run_userdata: user-data script exited with status 127: its interpreter tiny-cloud-no-such-shell is not installed\n")
  })

  it("names no program where NAME is an option's argument (`-S -u NAME sh`) and the interpreter is there: the script's own 127", async () => {
    const instance = await withImageEnv("#!/usr/bin/env -S -u TINY_CLOUD_UNSET sh\nexit 127\n")
    const [, , , final] = await bootFrom(instance, "final")
    expect(final!.code).toBe(1)
    expect(instance.read("/var/log/user-data.exit")).toBe("127\n")
    expect(final!.stderr).toContain("run_userdata: user-data script exited with status 127\n")
    expect(final!.stderr).not.toContain("is not installed")
  })

  it("names no program where the interpreter is there in quotes (`-S 'sh' -e`, as env -S reads it): the script's own 127", async () => {
    const instance = await withImageEnv("#!/usr/bin/env -S 'sh' -e\nexit 127\n")
    const [, , , final] = await bootFrom(instance, "final")
    expect(final!.code).toBe(1)
    expect(instance.read("/var/log/user-data.exit")).toBe("127\n")
    expect(final!.stderr).toContain("run_userdata: user-data script exited with status 127\n")
    expect(final!.stderr).not.toContain("is not installed")
  })
})

describe.concurrent("a user-data script that signals its own process group (kill 0)", () => {
  it("ends only itself: final records its status and completes the bootstrap", async () => {
    const userData = '#!/bin/sh\necho before\nkill -TERM 0\necho after\n'
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.runHere([phase])).code).toBe(0)
    // final in a process group of its own, as OpenRC's service runs it (not the test's, which the script would signal without the fix)
    const final = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [PROGRAM, "final"], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env }, stdio: ["ignore", "ignore", "pipe"], detached: true })
      let stderr = ""
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
      child.on("close", (code, signal) => done({ code, signal, stderr }))
    })
    expect({ code: final.code, signal: final.signal }).toEqual({ code: 1, signal: null })
    expect(final.stderr).toContain("run_userdata: user-data script exited with status 143\n")
    expect(instance.read("/var/log/user-data.log")).toBe("before\n")
    expect(instance.read("/var/log/user-data.exit")).toBe("143\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe.concurrent("a final phase run by hand, stopped by Ctrl-C (SIGINT to the terminal's foreground group) while its runcmd runs", () => {
  it("stops the runcmd and what it started, as it did when they shared the phase's group", async ({ onTestFinished }) => {
    const marks = mkdtempSync(join(tmpdir(), "tiny-cloud-interrupted-"))
    const pids = join(marks, "pids")
    // the program runcmd waits on (a sleep, as a hung download would be), and runcmd's shell
    const userData = `#cloud-config\nruncmd:\n  - "sh -c 'echo $$ $PPID > ${pids}.tmp; mv ${pids}.tmp ${pids}; exec sleep 1000'; echo after"\n`
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(userData) } })
    for (const phase of ["boot", "early", "main"]) expect((await instance.runHere([phase])).code).toBe(0)
    // final leads a group of its own, as the shell that runs it by hand makes it the terminal's foreground group
    const child = spawn(process.execPath, [PROGRAM, "final"], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env }, stdio: "ignore", detached: true })
    const closed = new Promise<NodeJS.Signals | null>((done) => child.on("close", (_code, signal) => done(signal)))
    while (!existsSync(pids)) await new Promise((wait) => setTimeout(wait, 50))
    const started = readFileSync(pids, "utf8").trim().split(" ").map(Number)
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    onTestFinished(() => {
      for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL")
      rmSync(marks, { recursive: true, force: true })
    })
    process.kill(-child.pid!, "SIGINT")
    expect(await closed).toBe("SIGINT")
    // the signal reaches them as it reaches the phase: they end with it
    const gone = async (pid: number) => {
      while (alive(pid)) await new Promise((wait) => setTimeout(wait, 50))
      return true
    }
    expect(await Promise.all(started.map(gone))).toEqual([true, true])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
  })
})

/**
 * A container started once (`unshare -p --mount-proc`: an init of its own, a shell that runs `phases` one after the
 * other, as OpenRC would), on this host's kernel and boot id: each phase's exit status
 */
const containerStart = (instance: TestInstance, phases: ReadonlyArray<string>) => {
  rmSync(join(instance.root, "run"), { recursive: true, force: true })
  mkdirSync(join(instance.root, "run"))
  const script = 'for phase in "$@"; do "$NODE" "$PROGRAM" "$phase" >/dev/null 2>&1; printf "%s " $?; done'
  const env = { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...instance.env, NODE: process.execPath, PROGRAM }
  // not execFileSync: the metadata simulator answers from this process
  return new Promise<ReadonlyArray<number>>((done) => {
    let out = ""
    const child = spawn("unshare", ["-f", "-p", "--mount-proc", "sh", "-c", script, "sh", ...phases], { env, stdio: ["ignore", "pipe", "ignore"] })
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    child.on("close", () => done(out.trim().split(" ").map(Number)))
  })
}

describeSystem("a container started again before its final phase, on its host's kernel (the host's boot id)", { tools: { unshare: "util-linux" }, root: true }, () => {
  it("is another boot: the early and main of the start before do not stand for this one's, which did not run (the network not up), and final does not mark the bootstrap complete", async () => {
    const instance = await makeInstance({ cloud: "aws" })
    expect(await containerStart(instance, ["boot", "early", "main"])).toEqual([0, 0, 0])
    // before: 0, and the marker written, early and main of the start before counted as this boot's
    expect(await containerStart(instance, ["boot", "final"])).toEqual([0, 1])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    expect(await containerStart(instance, ["boot", "early", "main", "final"])).toEqual([0, 0, 0, 0])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  it("its boot service started again in the same start, after main (rc-service tiny-cloud-boot restart), goes on with its first boot: final marks it complete", async () => {
    const instance = await makeInstance({ cloud: "aws" })
    expect(await containerStart(instance, ["boot", "early", "main", "boot", "final"])).toEqual([0, 0, 0, 0, 0])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})
