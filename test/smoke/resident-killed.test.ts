/**
 * The resident process killed outright before final (SIGKILL: an OOM kill,
 * an operator's kill -9) cannot clean up after itself: final, run by its
 * service in a process of its own, leaves the run directory as a served
 * first boot does. Killed as it takes a phase, before that phase recorded
 * anything, the bootstrap is not marked complete: the next boot runs it;
 * killed as it takes boot, which nothing after it could miss, its client runs it.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, it } from "vitest"
import { makeInstance, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, bootAndServe, endResident, firstBootServices, SERVICES, serverPid, servicesEnv, startService, until } from "../support/openrc.js"

const open: Array<TestInstance> = []
afterAll(() => Promise.all(open.map((i) => (endResident(i), i.close()))))

/**
 * A mkdir first on the PATH the boot service gets, whose making of the run directory (the boot service's, before it
 * names the server in server.starting) waits until the server listens (its requests FIFO open): the boot service
 * slower than the server it started, as on a loaded machine. Only while `held` is there (removed with the test's directory)
 */
const slowBootService = (instance: TestInstance, env: Record<string, string>) => {
  const tools = join(instance.dir, "slow-mkdir")
  mkdirSync(tools)
  const [held, run] = [join(instance.dir, "held"), join(instance.root, "run/tiny-cloud")]
  writeFileSync(held, "")
  const listening = `{ read -r pid < '${run}/server.pid' && ls -l /proc/$pid/fd | grep -q '${run}/requests'; } 2>/dev/null`
  writeFileSync(
    join(tools, "mkdir"),
    `#!/bin/sh\nif [ "$2" = '${run}' ]; then\n  until ${listening} || [ ! -e '${held}' ]; do sleep 0.05; done\nfi\nPATH=\${PATH#*:} exec mkdir "$@"\n`,
    { mode: 0o755 }
  )
  return { ...env, PATH: `${tools}:${env.PATH}` }
}

/**
 * an instance served up to main, with `script` as its user-data, its resident process then SIGKILLed; final's service run,
 * and what run/tiny-cloud holds after it (`slow`: the boot service names the server only once it listens)
 */
const finalAfterKill = async (script: string, slow = false) => {
  const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "k-1", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilled k@example"], userData: new TextEncoder().encode(script) } })
  open.push(instance)
  const env = servicesEnv(instance)
  await bootAndServe(slow ? slowBootService(instance, env) : env, instance)
  for (const phase of ["early", "main"]) if ((await startService(phase, env)).code !== 0) throw new Error(`${phase} failed`)
  const pid = serverPid(instance)!
  process.kill(pid, "SIGKILL")
  await until(() => !alive(pid), "the resident process is gone")
  const final = await startService("final", env)
  return { instance, final, left: readdirSync(join(instance.root, "run/tiny-cloud")) }
}

/**
 * A flock first on the PATH a phase gets, which says when it is called (`taking`) and waits to be let go (`go`):
 * the resident process takes a phase's lock before its run is recorded. Only its first call waits (and only while
 * `taking` is there: removed with the test's directory, a failed test's flock is let go too)
 */
const heldFlock = (instance: TestInstance, env: Record<string, string>) => {
  const tools = join(instance.dir, "held-flock")
  mkdirSync(tools)
  const [taking, go] = [join(instance.dir, "taking"), join(instance.dir, "go")]
  writeFileSync(join(tools, "flock"), `#!/bin/sh\nif [ ! -e '${taking}' ]; then\n  touch '${taking}'\n  while [ ! -e '${go}' ] && [ -e '${taking}' ]; do sleep 0.05; done\nfi\nPATH=\${PATH#*:} exec flock "$@"\n`, { mode: 0o755 })
  return {
    env: { ...env, PATH: `${tools}:${env.PATH}` },
    /** SIGKILLs the resident process once it takes the lock, then lets the flock go */
    killAtLock: async () => {
      await until(() => existsSync(taking), "the phase takes its lock")
      const pid = serverPid(instance) ?? Number(readFileSync(join(instance.root, "run/tiny-cloud/server.starting"), "utf8"))
      process.kill(pid, "SIGKILL")
      await until(() => !alive(pid), "the resident process is gone")
      writeFileSync(go, "")
    }
  }
}

/**
 * A logger first on the PATH a service gets, which records the lines given to it on its command line (the
 * client's own) in `logged`, one per call, and reads its stdin (the program's lines) as a logger does
 */
const recordingLogger = (instance: TestInstance, env: Record<string, string>) => {
  const tools = join(instance.dir, "recording-logger")
  const logged = join(instance.dir, "logged")
  mkdirSync(tools)
  writeFileSync(join(tools, "logger"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${logged}'\nwhile IFS= read -r _; do :; done\n`, { mode: 0o755 })
  return { env: { ...env, PATH: `${tools}:${env.PATH}` }, logged: () => (existsSync(logged) ? readFileSync(logged, "utf8") : "") }
}

describe("the resident process killed before final", () => {
  it("SIGKILLed between main and final, final runs in a process of its own and leaves neither its server.pid nor its request FIFO behind", async ({ expect }) => {
    const { instance, final, left } = await finalAfterKill("#!/bin/sh\necho ran\n")
    expect(final.code).toBe(0)
    expect(final.stdout).toBe("ran\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    // before: [ 'requests', 'server.pid' ], the dead server's
    expect(left).toEqual([])
  })

  it("named in server.starting only after it listened (the boot service slower than it), SIGKILLed between main and final: final leaves its server.starting behind neither", async ({ expect }) => {
    const { instance, final, left } = await finalAfterKill("#!/bin/sh\necho ran\n", true)
    expect(final.code).toBe(0)
    expect(final.stdout).toBe("ran\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    // before: [ 'server.starting' ], naming the dead server (as a full npm test on a loaded machine once found)
    expect(left).toEqual([])
  })

  it("a final that fails in a process of its own keeps its exit status and lines", async ({ expect }) => {
    const { final, left } = await finalAfterKill("#!/bin/sh\necho failing\nexit 3\n")
    expect(final.code).toBe(1)
    expect(final.stdout).toBe("failing\n")
    expect(final.stderr).toContain("run_userdata: user-data script exited with status 3")
    expect(left).toEqual([])
  })
})

describe("the resident process killed as it takes main, before main recorded its start", () => {
  it("final does not mark the bootstrap complete, in one line naming main; the next boot sets up the user, keys and hostname", async ({ expect }) => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITaken k@example"
    const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "k-2", sshKeys: [key] } })
    open.push(instance)
    const env = servicesEnv(instance)
    await bootAndServe(env, instance)
    expect((await startService("early", env)).code).toBe(0)
    // main's lock, taken before its run is recorded
    const held = heldFlock(instance, env)
    const syslog = recordingLogger(instance, held.env)
    const main = startService("main", syslog.env)
    await held.killAtLock()
    const r = await main
    expect([r.code, r.stderr]).toEqual([1, "tiny-cloud/main: the resident process ended during the phase; it is not run again\n"])
    // the line goes to syslog too, where main's own lines stop (before: on stderr alone)
    expect(syslog.logged().split("\n").filter((l) => l.includes("resident"))).toEqual([
      expect.stringMatching(/^-p local7\.err -t tiny-cloud\/main\[\d+\] the resident process ended during the phase; it is not run again$/)
    ])
    const final = await startService("final", env)
    expect(final.code).toBe(1)
    // before: exit 0 and the marker, with no user, keys or hostname, which no later boot would set up
    expect(final.stderr).toContain(
      "bootstrap_complete: the main phase did not run in this first boot (killed as it started, or never started); not marked complete, so that the next boot runs the first boot again\n"
    )
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
    // the next boot: /run emptied, the four services
    rmSync(join(instance.root, "run"), { recursive: true })
    mkdirSync(join(instance.root, "run"))
    expect((await firstBootServices(env)).map((s) => s.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/etc/hostname")).toBe("k-2\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe("the resident process killed as it takes boot, before boot recorded its start", () => {
  it("the boot service runs boot in a process of its own, saying so, and the first boot ends set up and complete", async ({ expect }) => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBootKilled k@example"
    const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "k-3", sshKeys: [key] } })
    open.push(instance)
    const env = servicesEnv(instance)
    // the server, started by the boot service, has its PATH
    const held = heldFlock(instance, env)
    const syslog = recordingLogger(instance, held.env)
    const boot = startService("boot", syslog.env)
    await held.killAtLock()
    const r = await boot
    // before: exit 1, 'it is not run again', and final marked complete a first boot whose boot never ran: sshd never enabled
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([0, "tiny-cloud/boot: the resident process ended during the phase; it is run here"])
    // and to syslog, where boot's lines start again from another process (before: on stderr alone)
    expect(syslog.logged().split("\n").filter((l) => l.includes("resident"))).toEqual([
      expect.stringMatching(/^-p local7\.warning -t tiny-cloud\/boot\[\d+\] the resident process ended during the phase; it is run here$/)
    ])
    expect(instance.commands()).toContain("rc-update add sshd default")
    expect(instance.read("/etc/network/interfaces")).toContain("auto eth0\n")
    for (const phase of ["early", "main", "final"]) expect({ phase, code: (await startService(phase, env)).code }).toEqual({ phase, code: 0 })
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${key}\n`)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe("the resident process killed while boot's resize2fs runs", () => {
  it("the boot service's boot waits for that resize2fs, left running, rather than running a second beside it; the first boot ends set up and complete", async ({ expect }) => {
    const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "k-5", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOrphan k@example"] } })
    open.push(instance)
    const env = servicesEnv(instance)
    // a resize2fs that, the first time, is in $ROOT/proc while it runs (as the kernel's /proc has it) and waits to be let go
    const tools = join(instance.dir, "held-resize2fs")
    mkdirSync(tools)
    const [taking, go, runs] = [join(instance.dir, "taking"), join(instance.dir, "go"), join(instance.dir, "runs")]
    const proc = `'${instance.root}/proc/'$$`
    // (as heldFlock's, it waits only while \`taking\` is there: a failed test's directory removed, it ends)
    writeFileSync(
      join(tools, "resize2fs"),
      `#!/bin/sh\necho "start $$" >> '${runs}'\nif [ ! -e '${taking}' ]; then\n  mkdir ${proc} && printf 'resize2fs\\0%s\\0' "$1" > ${proc}/cmdline\n  touch '${taking}'\n  while [ ! -e '${go}' ] && [ -e '${taking}' ]; do sleep 0.05; done\n  rm -r ${proc}\nfi\necho "end $$" >> '${runs}'\nPATH=\${PATH#*:} exec resize2fs "$@"\n`,
      { mode: 0o755 }
    )
    const boot = startService("boot", { ...env, PATH: `${tools}:${env.PATH}` })
    await until(() => existsSync(taking), "boot runs resize2fs")
    const pid = serverPid(instance) ?? Number(readFileSync(join(instance.root, "run/tiny-cloud/server.starting"), "utf8"))
    process.kill(pid, "SIGKILL")
    await until(() => !alive(pid), "the resident process is gone")
    // before: the boot run here ran its own resize2fs at once, beside the first (on a real filesystem: busy, and boot failed)
    await until(() => readFileSync(instance.fake.commandLog, "utf8").includes("is running already"), "the boot run here waits for the resize2fs left running")
    writeFileSync(go, "")
    const r = await boot
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/\nexpand_root: resize2fs \(pid \d+\) is running already \(left by a run that was killed\); waiting for it to end\n/)
    const [first, second] = readFileSync(runs, "utf8").trim().split("\n").map((l) => l.split(" "))
    expect([first![0], second![0]]).toEqual(["start", "end"])
    expect(second![1]).toBe(first![1])
    expect(instance.commands()).toContain("rc-update add sshd default")
    for (const phase of ["early", "main", "final"]) expect({ phase, code: (await startService(phase, env)).code }).toEqual({ phase, code: 0 })
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })
})

describe("the resident process killed as it takes a phase, the service's stderr a pipe whose reader is gone (EPIPE)", () => {
  /** the service's start() by sh (`before` first), its stderr's only reader closed before its first line: its status */
  const startStderrGone = (phase: string, env: Record<string, string>, before: string) =>
    new Promise<number | null>((done) => {
      const child = spawn("sh", ["-c", `ebegin() { :; }; eend() { return "$1"; }; ${before}; . "${SERVICES}/tiny-cloud-${phase}"; start`], { env, stdio: ["ignore", "ignore", "pipe"] })
      child.stderr!.destroy()
      child.on("close", (code) => done(code))
    })

  it("the boot service still runs boot in a process of its own, not killed by SIGPIPE (nor ended by set -e) as it says so; main's returns 1", async ({ expect }) => {
    const killedAt = async (phase: "boot" | "main", before: string) => {
      const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "k-4", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEpipe k@example"] } })
      open.push(instance)
      const env = servicesEnv(instance)
      if (phase === "main") {
        await bootAndServe(env, instance)
        await startService("early", env)
      }
      const held = heldFlock(instance, env)
      const service = startStderrGone(phase, held.env, before)
      await held.killAtLock()
      return { instance, code: await service }
    }
    for (const before of [":", "set -e"]) {
      const { instance, code } = await killedAt("boot", before)
      // before: 141, the service killed by SIGPIPE at its line 'it is run here': boot never ran, and the bootstrap completed without sshd enabled
      expect({ before, code, sshd: instance.commands().includes("rc-update add sshd default") }).toEqual({ before, code: 0, sshd: true })
    }
    // (before: 141)
    expect((await killedAt("main", ":")).code).toBe(1)
  })
})
