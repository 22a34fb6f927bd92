/**
 * Crash points: a phase killed at a moment a property chooses (after N ms,
 * or at its K-th file replacement), then that phase and the ones after it
 * run again. The instance must end exactly as an undisturbed boot leaves it:
 * no truncated or duplicated lines, no missing group membership, no stray
 * temporaries. Real processes of the bundled program, as OpenRC runs them.
 * Test names start `crash point: `.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import fc from "fast-check"
import { afterAll, beforeAll, expect, it } from "vitest"
import { PHASES, type Phase } from "../../src/domain/phases.js"
import { parseRecord } from "../../src/domain/run-record.js"
import { makeInstance, PROGRAM, type TestInstance } from "../support/harness.js"
import { describeSystem } from "../support/system.js"

const KEYS = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrashA a@example", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCrashB b@example"]
/** user-data that touches most of what a first boot writes; its own commands are idempotent, as a user's should be */
const USER_DATA = `#cloud-config
groups:
  - admins: [deploy, root]
users:
  - default
  - name: deploy
    groups: [wheel, adm]
    ssh_authorized_keys: [${JSON.stringify(KEYS[0])}]
ssh_authorized_keys: [${JSON.stringify(KEYS[1])}]
write_files:
  - path: /etc/app/plain.conf
    content: "setting = 1\\n"
  - path: /etc/motd
    content: "appended once\\n"
    append: true
packages: [htop]
runcmd:
  - mkdir -p "$ROOT/srv/ran" && echo done > "$ROOT/srv/ran/marker"
`

type Cloud = "aws" | "nocloud"
type Kill = { readonly afterMs: number } | { readonly atWrite: number }
interface CrashPoint {
  readonly cloud: Cloud
  readonly phase: Phase
  readonly kill: Kill
}

const newInstance = (cloud: Cloud) =>
  makeInstance({ cloud, instance: { hostname: "crash-1.example.internal", localHostname: "crash-1.example.internal", sshKeys: KEYS, userData: new TextEncoder().encode(USER_DATA) } })

/** one phase as OpenRC starts it, killed as the crash point says; resolves when the process is gone */
const runKilled = (instance: TestInstance, phase: Phase, kill: Kill | undefined) =>
  new Promise<number | null>((done) => {
    const node = [process.execPath, PROGRAM, phase]
    const [command, ...args] =
      kill !== undefined && "atWrite" in kill
        ? ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2", "-e", `inject=rename,renameat,renameat2:signal=KILL:when=${kill.atWrite}`, ...node]
        : node
    const child = spawn(command!, args, { env: instance.env, stdio: "ignore" })
    if (kill !== undefined && "afterMs" in kill) setTimeout(() => child.kill("SIGKILL"), kill.afterMs)
    child.on("close", (code) => done(code))
  })

/**
 * The phase as a reboot starts it again: in a PID namespace of its own, under
 * strace (injecting a kill at its K-th file replacement, or nothing), so that
 * the program gets the same pid in every run, as a boot that starts the same
 * programs in the same order may give it. Resolves with the program's exit status.
 */
const runSamePid = (instance: TestInstance, phase: Phase, atWrite: number | undefined) =>
  new Promise<number | null>((done) => {
    const inject = atWrite === undefined ? [] : ["-e", `inject=rename,renameat,renameat2:signal=KILL:when=${atWrite}`]
    const args = ["-f", "-p", "strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2", ...inject, process.execPath, PROGRAM, phase]
    spawn("unshare", args, { env: instance.env, stdio: "ignore" }).on("close", (code) => done(code))
  })

/** every file under ROOT (mode and content digest; links by target), the instance's own paths made neutral */
const tree = (instance: TestInstance): Record<string, string> => {
  const out: Record<string, string> = {}
  const neutral = (text: string) => text.replaceAll(instance.root, "$ROOT").replaceAll(instance.sim?.endpoint ?? "\0", "$ENDPOINT")
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const s = lstatSync(path)
      const key = `/${relative(instance.root, path)}`
      if (s.isDirectory()) walk(path)
      else if (s.isSymbolicLink()) out[key] = `link ${neutral(readlinkSync(path))}`
      else out[key] = `${(s.mode & 0o7777).toString(8)} ${createHash("sha256").update(neutral(readFileSync(path, "latin1"))).digest("hex").slice(0, 16)}`
    }
  }
  walk(instance.root)
  // the log of the user's programs and the run record keep every run, by design
  delete out["/var/log/user-data.log"]
  delete out["/var/lib/cloud/status.json"]
  return out
}

/**
 * What a reboot leaves in the run record: its runs were made in another kernel boot (their pidStart's boot id), which the
 * harness cannot give its processes; without it a boot run again in this one goes on with their first boot (891c0c0)
 */
const madeInAnotherKernelBoot = (instance: TestInstance) => {
  const path = join(instance.root, "var/lib/cloud/status.json")
  if (!existsSync(path)) return
  const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
  writeFileSync(path, readFileSync(path, "utf8").replaceAll(`"${bootId}`, `"00000000-0000-4000-8000-000000000000`))
}

const point: fc.Arbitrary<CrashPoint> = fc.record({
  cloud: fc.constantFrom<Cloud>("aws", "nocloud"),
  phase: fc.constantFrom(...PHASES),
  kill: fc.oneof(fc.integer({ min: 0, max: 600 }).map((afterMs): Kill => ({ afterMs })), fc.integer({ min: 1, max: 12 }).map((atWrite): Kill => ({ atWrite })))
})

const SEED = Number(process.env.CRASH_SEED ?? 20261128)
const POINTS = fc.sample(point, { numRuns: Number(process.env.CRASH_POINTS ?? 16), seed: SEED })

const name = (p: CrashPoint) => `crash point: ${p.cloud} ${p.phase} killed ${"afterMs" in p.kill ? `after ${p.kill.afterMs} ms` : `at file write ${p.kill.atWrite}`}`

describeSystem(`crash points (seed ${SEED})`, { tools: { strace: "strace" } }, () => {
  const reference = new Map<Cloud, Record<string, string>>()
  const open: Array<TestInstance> = []
  beforeAll(async () => {
    for (const cloud of ["aws", "nocloud"] as const) {
      const instance = await newInstance(cloud)
      open.push(instance)
      for (const phase of PHASES) await runKilled(instance, phase, undefined)
      reference.set(cloud, tree(instance))
    }
  })
  afterAll(() => Promise.all(open.map((i) => i.close())))

  /** how many files a phase replaces when nothing disturbs it */
  const writesOf = async (cloud: Cloud, phase: Phase) => {
    const instance = await newInstance(cloud)
    open.push(instance)
    const at = PHASES.indexOf(phase)
    for (const before of PHASES.slice(0, at)) await runKilled(instance, before, undefined)
    const trace = join(instance.dir, "renames")
    await new Promise((done) =>
      spawn("strace", ["-f", "-qq", "-o", trace, "-e", "trace=rename,renameat,renameat2", process.execPath, PROGRAM, phase], { env: instance.env, stdio: "ignore" }).on("close", done)
    )
    return readFileSync(trace, "utf8").split("\n").filter((l) => /rename/.test(l)).length
  }

  /**
   * final killed at its last file replacement, which is its marker's: killed by the signal (strace passes it on), the marker
   * not written. Else the crash never happened (no file replaced by a rename: strace refuses `when=0` and runs nothing) and
   * the run after it, undisturbed, ends as the reference does whatever a crash would have left
   */
  const killedAtLastWrite = async (instance: TestInstance, last: number) => {
    expect(last).toBeGreaterThan(0)
    expect(await runKilled(instance, "final", { atWrite: last })).toBeNull()
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
  }

  // the first boot's last write: a crash there must not leave the final phase done with a temporary behind
  it.concurrent.each(["aws", "nocloud"] as const)("crash point: %s final killed at its last file write, then run again, ends as an undisturbed boot", async (cloud) => {
    const last = await writesOf(cloud, "final")
    const instance = await newInstance(cloud)
    open.push(instance)
    for (const phase of PHASES.slice(0, 3)) await runKilled(instance, phase, undefined)
    await killedAtLastWrite(instance, last)
    await runKilled(instance, "final", undefined)
    expect(tree(instance)).toEqual(reference.get(cloud))
  })

  // killed there by a power cut: runcmd ran to its end, the marker not written; the reboot's early saves the same user-data
  // again and its final passes over runcmd, which writes its program file no more (before: user-data.runcmd gone)
  it.concurrent.each(["aws", "nocloud"] as const)("crash point: %s final killed at its last file write, then a reboot, ends as an undisturbed boot", async (cloud) => {
    const last = await writesOf(cloud, "final")
    const instance = await newInstance(cloud)
    open.push(instance)
    for (const phase of PHASES.slice(0, 3)) await runKilled(instance, phase, undefined)
    await killedAtLastWrite(instance, last)
    rmSync(join(instance.root, "run"), { recursive: true, force: true })
    mkdirSync(join(instance.root, "run"))
    madeInAnotherKernelBoot(instance)
    for (const phase of PHASES) await runKilled(instance, phase, undefined)
    expect(tree(instance)).toEqual(reference.get(cloud))
    expect(instance.read("/srv/ran/marker")).toBe("done\n")
  })

  /** an instance whose phases before the point's ran, then the point's phase killed as it says */
  const killedAt = async (p: CrashPoint) => {
    const instance = await newInstance(p.cloud)
    open.push(instance)
    for (const phase of PHASES.slice(0, PHASES.indexOf(p.phase))) await runKilled(instance, phase, undefined)
    await runKilled(instance, p.phase, p.kill)
    return instance
  }

  it.concurrent.each(POINTS.map((p) => [name(p), p] as const))("%s, then run again, ends as an undisturbed boot", async (_, p) => {
    const instance = await killedAt(p)
    const at = PHASES.indexOf(p.phase)
    for (const phase of PHASES.slice(at)) await runKilled(instance, phase, undefined)
    expect(tree(instance)).toEqual(reference.get(p.cloud))
    expect(instance.read("/etc/motd")).toBe("appended once\n")
    expect(instance.read("/etc/group")).toMatch(/^wheel:x:10:root,alpine,deploy$/m)
    // the run record ends with the rerun phases, each finished without error
    const runs = parseRecord(instance.read("/var/lib/cloud/status.json") ?? "").runs.slice(-(PHASES.length - at))
    expect(runs.map((r) => [r.phase, r.exitStatus])).toEqual(PHASES.slice(at).map((phase) => [phase, 0]))
  })

  // a power cut rather than a kill: the next boot starts again from boot, /run (a tmpfs) empty, the state directory as it was
  it.concurrent.each(POINTS.map((p) => [name(p), p] as const))("%s, then a reboot (/run emptied, the four phases from boot), ends as an undisturbed boot", async (_, p) => {
    const instance = await killedAt(p)
    rmSync(join(instance.root, "run"), { recursive: true, force: true })
    mkdirSync(join(instance.root, "run"))
    madeInAnotherKernelBoot(instance)
    for (const phase of PHASES) await runKilled(instance, phase, undefined)
    expect(tree(instance)).toEqual(reference.get(p.cloud))
    expect(instance.read("/etc/motd")).toBe("appended once\n")
    // nothing stays running or failed: the reboot's attempt is the one status tells, and analyze times it from its boot
    expect(await instance.run(["status"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^done\n/) })
    const reboot = parseRecord(instance.read("/var/lib/cloud/status.json") ?? "").runs.slice(-PHASES.length)
    const final = reboot[reboot.length - 1]!
    const analysis = JSON.parse((await instance.run(["analyze", "--json"])).stdout) as { spanMs: number; spanStart?: string }
    // (on the monotonic clock the reboot's phases marked their starts on)
    expect(analysis).toMatchObject({ spanStart: "boot", spanMs: final.startMark! + final.durationMs! - reboot[0]!.startMark! })
  })
})

// after a power loss the phase runs again with the pid it had: a temporary named with that pid is a crashed run's, not its own
describeSystem(`crash points with the pid of the killed run`, { tools: { strace: "strace", unshare: "util-linux" }, root: true }, () => {
  const open: Array<TestInstance> = []
  afterAll(() => Promise.all(open.map((i) => i.close())))

  it.concurrent.each([2, 3])("crash point: aws main killed at file write %i, then run again with the same pid, ends as an undisturbed boot", async (atWrite) => {
    const reference = await newInstance("aws")
    const instance = await newInstance("aws")
    open.push(reference, instance)
    for (const phase of PHASES) await runKilled(reference, phase, undefined)
    for (const phase of PHASES.slice(0, 2)) await runKilled(instance, phase, undefined)
    expect(await runSamePid(instance, "main", atWrite)).not.toBe(0)
    expect(await runSamePid(instance, "main", undefined)).toBe(0)
    await runKilled(instance, "final", undefined)
    expect(tree(instance)).toEqual(tree(reference))
  })
})
