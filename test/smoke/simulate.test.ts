import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { PROGRAM, runProgram, TEST_CODE_CACHE, type RunResult } from "../support/harness.js"
import { describeSystem, which } from "../support/system.js"
import { until } from "../support/openrc.js"
import { FAKE_COMMANDS } from "../../src/sim/fake-system.js"
import { shippedStanza } from "../support/shipped.js"

/** runs `body` with a temporary directory of its own, removed after it */
const withScratch = async <A>(body: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
  try {
    return await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `simulate --exec` of the user-data `userData` (written in `dir`), its instance under `dir` */
const simulateExec = (dir: string, userData: string) => {
  writeFileSync(join(dir, "user-data"), userData)
  return runProgram(["simulate", "--exec", "--user-data", join(dir, "user-data"), "--root", join(dir, "instance")], { PATH: process.env.PATH ?? "/usr/bin:/bin" })
}

/** the pids of the processes (a simulation's phases) whose ROOT is under `prefix` */
const processesUnder = (prefix: string) =>
  readdirSync("/proc").filter((pid) => {
    try {
      return /^\d+$/.test(pid) && `\0${readFileSync(`/proc/${pid}/environ`, "latin1")}`.includes(`\0ROOT=${prefix}`)
    } catch {
      return false
    }
  })

/** a simulation started with `env`, its stderr read, and how it ended: its exit status or the signal it died of */
const startSimulation = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const child = spawn(process.execPath, [PROGRAM, "simulate", ...args], { env: { TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...env }, stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) => child.on("close", (code, signal) => done({ code, signal, stderr })))
  return { child, ended }
}

/** user-data naming a file of the machine running the tests, in a directory the simulated instance has too */
const outsideFile = (dir: string) => `/tmp/escaped-${dir.split("-").pop()}`
const PASSWORD = "s3cret-Simulated"
const HASH = "$6$CANARY-simulated-hash"
const userData = (target: string) =>
  `#cloud-config\nusers: [default, {name: dave, lock_passwd: false, plain_text_passwd: ${PASSWORD}}, {name: erin, lock_passwd: false, hashed_passwd: "${HASH}", gecos: "Erin's -G wheel"}]\nruncmd:\n  - echo escaped > ${target}\nbootcmd:\n  - [sh, -c, "echo boot > ${target}.boot"]\n`

/**
 * A simulation run once, for the tests that only read what it printed and left (each simulation is six program processes):
 * its directory, removed after the file's tests
 */
const shared = (simulation: (dir: string) => Promise<RunResult>) => {
  let run: Promise<{ readonly dir: string; readonly r: RunResult }> | undefined
  afterAll(async () => {
    if (run !== undefined) rmSync((await run).dir, { recursive: true, force: true })
  })
  return () => (run ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
    return { dir, r: await simulation(dir) }
  })())
}

/** aws with the user-data of userData, in an environment that names a TINY_CLOUD_VAR and TINY_CLOUD_LOGS of the caller's */
const awsWithUserData = shared((dir) => {
  writeFileSync(join(dir, "user-data"), userData(outsideFile(dir)))
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TINY_CLOUD_VAR: join(dir, "host-var"), TINY_CLOUD_LOGS: join(dir, "host-logs") }
  return runProgram(["simulate", "--cloud", "aws", "--user-data", join(dir, "user-data"), "--root", join(dir, "instance")], env)
})

/** azure with custom data that writes /etc/motd */
const azureWithCustomData = shared((dir) => {
  writeFileSync(join(dir, "custom-data"), "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: from custom data\n")
  return runProgram(["simulate", "--cloud", "azure", "--custom-data", join(dir, "custom-data"), "--root", join(dir, "instance")], { PATH: process.env.PATH ?? "/usr/bin:/bin" })
})

describe.concurrent("tiny-cloud simulate", () => {
  it("--cloud azure --custom-data: the custom data is on the simulated provisioning media, not in IMDS; the boot applies it", async () => {
    const { dir, r } = await azureWithCustomData()
    expect(r.code, r.stdout).toBe(0)
    expect(readFileSync(join(dir, "instance/root/etc/motd"), "utf8")).toBe("from custom data")
    expect(readFileSync(join(dir, "instance/root/var/lib/cloud/user-data"), "utf8")).toContain("from custom data")
    expect(r.stdout).toMatch(/\n  mount -o ro -t udf \/dev\/sr0 \S+\/run\/tiny-cloud\/azure-media-\S+\n/)
    expect(await runProgram(["simulate", "--custom-data", join(dir, "custom-data")], { PATH: process.env.PATH ?? "/usr/bin:/bin" })).toEqual({
      code: 1,
      stdout: "",
      stderr: "tiny-cloud simulate: --custom-data: only azure has custom data; add --cloud azure\n"
    })
  })

  it("boots a simulated aws instance and reports phases, files and commands; lists the user's programs with their text and runs none", async () => {
    const { dir, r } = await awsWithUserData()
    try {
      expect(r.code).toBe(0)
      for (const phase of ["boot", "early", "main", "final"]) expect(r.stdout).toContain(`== tiny-cloud ${phase} (exit 0)\n`)
      expect(r.stdout).toContain("== second boot: tiny-cloud boot (exit 0)\nalready bootstrapped\n")
      expect(r.stdout).toMatch(/== files written under ROOT\n(.*\n)*  \/etc\/hostname  \(mode 644\)/)
      expect(r.stdout).toContain("  adduser -h /home/alpine -s /bin/sh -G alpine -D alpine\n")
      expect(readFileSync(join(dir, "instance/root/etc/hostname"), "utf8")).toBe("demo-1\n")
      expect(existsSync(join(dir, "instance/root/var/lib/cloud/.bootstrap-complete"))).toBe(true)
      // the user's programs: listed, not run
      expect(existsSync(outsideFile(dir))).toBe(false)
      expect(existsSync(`${outsideFile(dir)}.boot`)).toBe(false)
      expect(r.stdout).toContain("== the user's programs (not run; --exec runs them confined to ROOT)\n")
      expect(r.stdout).toContain(`echo boot > ${outsideFile(dir)}.boot`)
      expect(r.stdout).toContain(`echo escaped > ${outsideFile(dir)}`)
      // a clear-text password goes to chpasswd on its stdin, which the report does not show
      expect(r.stdout).toContain("  chpasswd   <<< dave:(password not shown)\n")
      expect(r.stdout).not.toContain(PASSWORD)
      // nor a password hash (BEHAVIOUR.md 4.5), which chpasswd -e gets on its stdin too; a lock is shown as it is
      expect(r.stdout).toContain("  chpasswd -e   <<< erin:(hash not shown)\n")
      expect(r.stdout).toContain("  chpasswd -e   <<< alpine:*\n")
      // each argument as sh would need it: a gecos with blanks and a quote is one argument, not an option "-G wheel"
      expect(r.stdout).toContain("  adduser -h /home/erin -s /bin/sh -G erin -D -g 'Erin'\\''s -G wheel' erin\n")
      expect(r.stdout).not.toContain("CANARY")
    } finally {
      rmSync(outsideFile(dir), { force: true })
    }
  })

  it("--root DIR keeps no file of the user-data's secrets that others may read: the stand-ins' record (a chpasswd -e hash), the user's programs, azure's media", async () => {
    const { dir, r } = await awsWithUserData()
    expect(r.code, r.stdout).toBe(0)
    const holding = (at: string): Array<string> =>
      readdirSync(at, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? holding(join(at, e.name)) : e.isFile() && readFileSync(join(at, e.name), "latin1").includes("CANARY") ? [join(at, e.name)] : []
      )
    const instance = join(dir, "instance")
    const found = holding(instance)
    expect(found).toContain(join(instance, "commands.log"))
    const othersMay = (path: string) => `${path.slice(instance.length)} ${(statSync(path).mode & 0o077).toString(8)}`
    expect(found.map(othersMay)).toEqual(found.map((path) => `${path.slice(instance.length)} 0`))
    // the user's programs, whose commands may carry a token (runcmd's curl -H 'Authorization: ...')
    expect(othersMay(join(instance, "user-programs.log"))).toBe("/user-programs.log 0")
    // the custom data on azure's provisioning media (root's alone on an instance, as cloud-init keeps its copy)
    const azure = await azureWithCustomData()
    expect(azure.r.code, azure.r.stdout).toBe(0)
    const media = join(azure.dir, "instance/media")
    expect([media, join(media, "ovf-env.xml")].map((p) => (statSync(p).mode & 0o077).toString(8))).toEqual(["0", "0"])
  })

  it("--root DIR keeps the accounts as sshd would read them: the cloud user's password `*` (adduser's `!` refuses its keys), a password set not shown", async () => {
    const { dir, r } = await awsWithUserData()
    expect(r.code, r.stdout).toBe(0)
    const shadow = readFileSync(join(dir, "instance/root/etc/shadow"), "utf8")
    // before: alpine:! (and dave, erin), as adduser's stand-in left them: chpasswd's stand-in recorded `alpine:*` and set nothing
    expect(shadow.split("\n").map((l) => l.split(":").slice(0, 2).join(":"))).toEqual(["root:*", "alpine:*", "dave:(hash not shown)", "erin:(hash not shown)", ""])
  })

  it("keeps the state and logs in the simulated instance when the caller's environment names its own TINY_CLOUD_VAR and TINY_CLOUD_LOGS", async () => {
    const { dir, r } = await awsWithUserData()
    expect(r.code, r.stdout).toBe(0)
    expect(existsSync(join(dir, "instance/root/var/lib/cloud/.bootstrap-complete"))).toBe(true)
    expect(existsSync(join(dir, "host-var"))).toBe(false)
    expect(existsSync(join(dir, "host-logs"))).toBe(false)
    expect(r.stderr).toBe("tiny-cloud simulate: TINY_CLOUD_VAR, TINY_CLOUD_LOGS of the environment are not used: the simulated instance has its own\n")
  })

  it("the caller's IMDS_DEADLINE and TINY_CLOUD_LINK_WAIT_MAX are the instance's, as on an instance (a bad one named by each phase); an IMDS_ENDPOINT it cannot use is named", async () => {
    await withScratch(async (dir) => {
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", IMDS_DEADLINE: "0", TINY_CLOUD_LINK_WAIT_MAX: "soon", IMDS_ENDPOINT: "bad/host", CLOUD: "aws" }
      const r = await runProgram(["simulate", "--cloud", "aws", "--root", join(dir, "instance")], env)
      // before: replaced by the simulation's 10 and 1 without a word, and the boot exited 0
      expect(r.stdout).toContain(
        "== tiny-cloud boot (exit 1)\nIMDS_DEADLINE: invalid value '0': expected a positive number of seconds; the default is used\nTINY_CLOUD_LINK_WAIT_MAX: invalid value 'soon': expected a whole number of tenths of a second; the default is used\n"
      )
      expect(r.stdout).toContain("== tiny-cloud main (exit 1)\n")
      expect(readFileSync(join(dir, "instance/root/etc/hostname"), "utf8")).toBe("demo-1\n")
      // the metadata service is the simulator's: the caller's address is not used, and said so (CLOUD, the --cloud's, is not named)
      expect(r.stderr).toBe("tiny-cloud simulate: IMDS_ENDPOINT of the environment is not used: the simulated instance has its own\n")
      expect(r.code).toBe(1)
    })
  })

  it("HOTPLUG_MODULES boots as on an instance with tiny-cloud installed: its network helpers and interfaces.d are in the image, the NICs at launch assembled", async () => {
    await withScratch(async (dir) => {
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOTPLUG_MODULES: "vnic_eth_hotplug nvme_ebs_links" }
      const r = await runProgram(["simulate", "--cloud", "aws", "--root", join(dir, "instance")], env)
      // before: install_hotplugs: vnic_eth_hotplug: /lib/mdev/vnic-eth-hotplug is missing; nvme_ebs_links: ..., and the boot phase exited 1
      expect(r.stdout).toContain("\t  >> vnic_eth_hotplug: installed\n\t  >> nvme_ebs_links: installing\n\t  >> nvme_ebs_links: installed\n")
      expect(r.stdout).toContain("== tiny-cloud boot (exit 0)\n")
      expect(r.code, r.stdout).toBe(0)
      const root = join(dir, "instance/root")
      expect(readFileSync(join(root, "etc/mdev.conf"), "utf8")).toContain("eth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug\n")
      expect(readFileSync(join(root, "etc/mdev.conf"), "utf8")).toContain("nvme[0-9]+n.*\troot:disk 0660 */lib/mdev/nvme-ebs-links\n")
      // the shipped stanza files, as make install puts them; eth0's made from DEFAULT by assemble-interfaces
      for (const f of ["lo", "DEFAULT"]) expect(readFileSync(join(root, "etc/network/interfaces.d", f), "utf8")).toBe(shippedStanza(f))
      expect(readFileSync(join(root, "etc/network/interfaces"), "utf8")).toContain("\nauto eth0\niface eth0\n  use dhcp\n  use imds\n")
      expect(r.stdout).toContain("\n  /etc/network/interfaces  (mode 644)\n")
      // the helpers at the shell edition's paths lead to the program, as make install's relative links do
      expect(readFileSync(join(root, "lib/mdev/vnic-eth-hotplug"))).toEqual(readFileSync(PROGRAM))
    })
  })

  // every other cloud's first boot against the simulator is in first-boot.test.ts; azure's adds the wireserver
  it("boots a simulated azure instance, whose wireserver hears that it is ready", async () => {
    const { dir, r } = await azureWithCustomData()
    expect(r.code, r.stdout).toBe(0)
    for (const phase of ["boot", "early", "main", "final"]) expect(r.stdout).toContain(`== tiny-cloud ${phase} (exit 0)\n`)
    expect(readFileSync(join(dir, "instance/root/etc/hostname"), "utf8")).toBe("demo-1\n")
    expect(r.stdout).toMatch(/report_ready: Ready reported to the Azure wireserver at 127\.0\.0\.1:\d+\n/)
  })

  it("rejects an unknown cloud or option with one line naming it", async () => {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" }
    expect(await runProgram(["simulate", "--cloud", "nimbus"], env)).toEqual({
      code: 1,
      stdout: "",
      stderr: `tiny-cloud simulate: unknown cloud 'nimbus'; expected one of ${CLOUD_NAMES.join(", ")}\n`
    })
    expect(await runProgram(["simulate", "--frobnicate"], env)).toEqual({ code: 1, stdout: "", stderr: "tiny-cloud simulate: unknown option '--frobnicate'\n" })
    // a known option given a value it does not take is not called unknown
    expect(await runProgram(["simulate", "--exec=yes"], env)).toEqual({ code: 1, stdout: "", stderr: "tiny-cloud simulate: --exec takes no value\n" })
    // an option given twice is refused, as the other commands refuse it, not the last one silently taken (a ROOT kept elsewhere)
    expect(await runProgram(["simulate", "--cloud", "aws", "--cloud=gcp"], env)).toEqual({ code: 1, stdout: "", stderr: "tiny-cloud simulate: --cloud given twice\n" })
    expect(await runProgram(["simulate", "--exec", "--exec"], env)).toEqual({ code: 1, stdout: "", stderr: "tiny-cloud simulate: --exec given twice\n" })
    expect(await runProgram(["simulate", "--user-data", "/no/such/file"], env)).toEqual({ code: 1, stdout: "", stderr: "tiny-cloud simulate: cannot read /no/such/file: no such file\n" })
    await withScratch(async (dir) => {
      writeFileSync(join(dir, "file"), "")
      expect(await runProgram(["simulate", "--user-data", dir], env)).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud simulate: cannot read ${dir}: is a directory\n` })
      expect(await runProgram(["simulate", "--root", join(dir, "file")], env)).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud simulate: --root ${join(dir, "file")}: not a directory\n` })
      // a directory that holds something (an earlier simulation's instance, anyone's files) is neither reused nor overwritten
      expect(await runProgram(["simulate", "--root", dir], env)).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud simulate: --root ${dir}: not empty; give a new or empty directory\n` })
      expect(readdirSync(dir)).toEqual(["file"])
      // a ROOT that cannot be made is one line naming why, not an internal error: under a file, under a link that leads nowhere
      expect(await runProgram(["simulate", "--root", join(dir, "file/instance")], env)).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud simulate: --root ${join(dir, "file/instance")}: cannot make it: not a directory\n` })
      symlinkSync(join(dir, "gone"), join(dir, "link"))
      expect(await runProgram(["simulate", "--root", join(dir, "link/instance")], env)).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud simulate: --root ${join(dir, "link/instance")}: cannot make it: no such file or directory\n` })
      // without --root, a TMPDIR that is not there: one line naming it, not an internal error
      expect(await runProgram(["simulate"], { ...env, TMPDIR: join(dir, "gone") })).toEqual({
        code: 1,
        stdout: "",
        stderr: `tiny-cloud simulate: cannot make a temporary instance in ${join(dir, "gone")} (TMPDIR): no such file or directory\n`
      })
    })
  })

  it("--root through a directory it makes and `..` (`new/../instance`), as mkdir -p takes it: the instance is made there, not refused as 'file already exists'", async () => {
    await withScratch(async (dir) => {
      // written out: join() would take the `..` away before the program sees it
      const r = await runProgram(["simulate", "--cloud", "nocloud", "--root", `${dir}/new/../instance`], { PATH: process.env.PATH ?? "/usr/bin:/bin" })
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(readFileSync(join(dir, "instance/root/etc/hostname"), "utf8")).not.toBe("")
      expect(readdirSync(dir).sort()).toEqual(["instance", "new"])
    })
  })

  it("--root relative to the working directory: the phases run the stand-ins, never a command of the machine running it (its addgroup added the group alpine to the host's /etc/group)", async () => {
    await withScratch(async (dir) => {
      // ahead of the machine's own on PATH, a tripwire in each stand-in's name: a phase that passed the stand-ins over runs it, not the machine's
      const tripwires = join(dir, "tripwires")
      mkdirSync(tripwires)
      for (const name of FAKE_COMMANDS) writeFileSync(join(tripwires, name), `#!/bin/sh\necho "${name} $*" >> ${join(dir, "ran")}\nexit 1\n`, { mode: 0o755 })
      const r = await runProgram(["simulate", "--root", "instance"], { PATH: `${tripwires}:${process.env.PATH ?? "/usr/bin:/bin"}` }, "tiny-cloud", dir)
      expect(existsSync(join(dir, "ran")) ? readFileSync(join(dir, "ran"), "utf8") : "").toBe("")
      expect(r.code, r.stdout).toBe(0)
      for (const phase of ["boot", "early", "main", "final"]) expect(r.stdout).toContain(`== tiny-cloud ${phase} (exit 0)\n`)
      expect(r.stdout).toContain(`ROOT=${join(dir, "instance/root")}\n`)
      expect(readFileSync(join(dir, "instance/root/etc/passwd"), "utf8")).toMatch(/^alpine:/m)
    })
  })

  it("--cloud incus with a ROOT too long for a unix socket's path (107 bytes) says so in one line, never binds the socket at a name cut short, and makes nothing in DIR", async () => {
    await withScratch(async (dir) => {
      // DIR/root/dev is 107 bytes: the socket's path cut there was ROOT's own dev directory, "internal error: listen EADDRINUSE"
      const long = join(dir, "x".repeat(98 - dir.length - 1))
      const socket = `${long}/root/dev/incus/sock`
      expect(await runProgram(["simulate", "--cloud", "incus", "--root", long], { PATH: process.env.PATH ?? "/usr/bin:/bin" })).toEqual({
        code: 1,
        stdout: "",
        stderr: `tiny-cloud simulate: ROOT ${long}/root is too long: incus's socket ${socket} is ${socket.length} bytes, a unix socket's path at most 107\n`
      })
      // refused, it leaves no half-made instance (its stand-ins, its image) where the operator asked for one
      expect(existsSync(long)).toBe(false)
    })
  })

  it("removes its temporary instance when its reader goes away before the end (`simulate | head -1`)", async () => {
    // TMPDIR: where the temporary instance is made, this test's own
    const tmp = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
    try {
      const child = spawn(process.execPath, [PROGRAM, "simulate"], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: tmp, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }, stdio: ["ignore", "pipe", "pipe"] })
      let first = ""
      const closed = new Promise<number | null>((done) => child.on("close", done))
      // the first line, then the reader is gone
      child.stdout.once("data", (c: Buffer) => {
        first = c.toString()
        child.stdout.destroy()
      })
      expect(await closed).toBe(0)
      expect(first).toMatch(new RegExp(`^Simulated aws instance: ROOT=${tmp}/tiny-cloud-sim-\\w+/root\n`))
      // no phase process of it goes on writing into the instance
      const phases = readdirSync("/proc").filter((pid) => {
        try {
          return /^\d+$/.test(pid) && `\0${readFileSync(`/proc/${pid}/environ`, "latin1")}`.includes(`\0ROOT=${tmp}/`)
        } catch {
          return false
        }
      })
      expect(phases).toEqual([])
      expect(readdirSync(tmp)).toEqual([])
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })

  it("ended by a signal to it alone (kill, a hangup) while a phase runs: the phase ends with it, a temporary instance is removed, --root kept, and it dies of the signal (128 + N), no stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
    const tmp = join(dir, "tmp")
    mkdirSync(tmp)
    // loaded with each node process simulate starts (NODE_OPTIONS): main says it runs, then never ends by itself
    const hook = join(dir, "stuck-main.cjs")
    writeFileSync(hook, `if (process.argv[2] === "main") {\n  require("node:fs").writeFileSync(process.env.ROOT + "/main-runs", "")\n  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)\n}\n`)
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: tmp, NODE_OPTIONS: `--require ${hook}` }
    try {
      for (const [signal, root] of [["SIGTERM", undefined], ["SIGHUP", join(dir, "instance")]] as const) {
        const { child, ended } = startSimulation(root === undefined ? [] : ["--root", root], env)
        const instance = root ?? tmp
        const made = () => root ?? readdirSync(tmp).map((name) => join(tmp, name))[0]
        await until(() => made() !== undefined && existsSync(join(made()!, "root/main-runs")), "main runs")
        expect(processesUnder(instance)).toHaveLength(1)
        child.kill(signal)
        expect(await ended).toEqual({ code: null, signal, stderr: "" })
        // its phase is gone, not left writing into the instance
        expect(processesUnder(instance)).toEqual([])
        if (root === undefined) expect(readdirSync(tmp)).toEqual([])
        else expect(existsSync(join(root, "root/main-runs"))).toBe(true)
      }
    } finally {
      for (const pid of processesUnder(dir)) process.kill(Number(pid), "SIGKILL")
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("run by a user whose umask is 002 (Debian 13's, pam_umask's usergroups), the simulated image has an Alpine image's modes, and the report says so", async () => {
    await withScratch(async (dir) => {
      const r = await new Promise<RunResult>((done) => {
        const child = spawn("/bin/sh", ["-c", 'umask 002 && exec "$@"', "sh", process.execPath, PROGRAM, "simulate", "--root", join(dir, "instance")], {
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let [stdout, stderr] = ["", ""]
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
        child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }))
      })
      expect(r.code, r.stderr).toBe(0)
      const mode = (p: string) => (statSync(join(dir, "instance/root", p)).mode & 0o7777).toString(8)
      // before: 775 and 664, kept by the phases
      // /etc/group and the home: the stand-ins of addgroup and adduser, 664 and 775 before (the home 2755, as busybox's adduser makes it)
      expect(Object.fromEntries(["/etc", "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/hosts", "/home", "/home/alpine", "/var/lib/cloud", "/var/log", "/tmp"].map((p) => [p, mode(p)]))).toEqual({
        "/etc": "755",
        "/etc/passwd": "644",
        "/etc/group": "644",
        "/etc/shadow": "644",
        "/etc/hosts": "644",
        "/home": "755",
        "/home/alpine": "2755",
        "/var/lib/cloud": "755",
        "/var/log": "755",
        "/tmp": "1777"
      })
      expect(r.stdout).toContain("\n  /etc/hosts  (mode 644)\n")
      expect(r.stdout).toContain("\n  /etc/passwd  (mode 644)\n")
      expect(r.stdout).toContain("\n  /etc/group  (mode 644)\n")
    })
  })
})

describe.concurrent("tiny-cloud simulate never runs the user's programs on the machine running it", () => {
  describeSystem("with --exec", { tools: { unshare: "util-linux", pivot_root: "util-linux", chroot: "coreutils" } }, () => {
    it("they run confined to the simulated ROOT: an absolute path outside lands inside it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      try {
        writeFileSync(join(dir, "user-data"), userData(outsideFile(dir)))
        // as a user other than root runs it on Debian: no sbin on the PATH, where pivot_root and chroot are
        const userPath = (process.env.PATH ?? "/usr/bin:/bin").split(":").filter((d) => !d.endsWith("/sbin")).join(":")
        const r = await runProgram(["simulate", "--exec", "--user-data", join(dir, "user-data"), "--root", join(dir, "instance")], { PATH: userPath })
        expect(r.stderr).toBe("")
        expect(r.code).toBe(0)
        expect(existsSync(outsideFile(dir))).toBe(false)
        expect(readFileSync(join(dir, "instance/root", outsideFile(dir)), "utf8")).toBe("escaped\n")
        expect(r.stdout).toContain("== the user's programs (run confined to ROOT)\n")
      } finally {
        rmSync(dir, { recursive: true, force: true })
        rmSync(outsideFile(dir), { force: true })
      }
    })

    it("a link the user's program leaves that leads round to itself (ln -s loop loop) is listed as a link: the report is whole, not an internal error", async () => {
      await withScratch(async (dir) => {
        const r = await simulateExec(dir, "#cloud-config\nruncmd:\n  - ln -s loop /tmp/loop\n")
        expect(r.stderr).toBe("")
        expect(r.code).toBe(0)
        expect(r.stdout).toContain("\n  /tmp/loop  (mode ?)\n")
        expect(r.stdout).toContain("== the user's programs (run confined to ROOT)\n")
      })
    })

    it("cloud-init's own runcmd test document, which writes into /var/tmp as an Alpine image has it, runs", async () => {
      await withScratch(async (dir) => {
        // the user-data of cloud-init's integration test of runcmd (tests/integration_tests/modules/test_runcmd.py)
        const r = await simulateExec(dir, "#cloud-config\nruncmd:\n - echo cloud-init run cmd test > /var/tmp/run_cmd\n")
        expect(r.stdout).toContain("   ++ userdata_runcmd: done\n")
        expect(r.code).toBe(0)
        expect(readFileSync(join(dir, "instance/root/var/tmp/run_cmd"), "utf8")).toBe("cloud-init run cmd test\n")
      })
    })

    it("their /run is a tmpfs, as an instance's: a bootcmd writes there and main succeeds; nothing of it lands on ROOT's disk", async () => {
      await withScratch(async (dir) => {
        const r = await simulateExec(dir, "#cloud-config\nbootcmd:\n  - echo boot > /run/bootcmd-ran\n  - cat /run/bootcmd-ran\n")
        expect(r.stdout).toContain("== tiny-cloud main (exit 0)\n")
        expect(r.code).toBe(0)
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.log"), "utf8")).toBe("boot\n")
        expect(existsSync(join(dir, "instance/root/run/bootcmd-ran"))).toBe(false)
      })
    })

    it("a user-data script calls imds as on an instance: on its PATH, answering from the simulated cloud; the caller's environment is not theirs", async () => {
      await withScratch(async (dir) => {
        writeFileSync(join(dir, "user-data"), '#!/bin/sh\nREGION=$(imds meta-data/placement/region)\necho "region=$REGION host=$(imds @hostname)"\necho "canary=${SIM_CALLER_CANARY-unset}"\n')
        const r = await runProgram(["simulate", "--exec", "--cloud", "aws", "--user-data", join(dir, "user-data"), "--root", join(dir, "instance")], { PATH: process.env.PATH ?? "/usr/bin:/bin", SIM_CALLER_CANARY: "from-the-caller" })
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.log"), "utf8")).toBe("region=us-east-1 host=demo-1.example.internal\ncanary=unset\n")
        expect(r.code).toBe(0)
      })
    })

    it("a script killed by a signal records 128 plus its number, as a real boot does (SIGTERM 143)", async () => {
      await withScratch(async (dir) => {
        const r = await simulateExec(dir, "#!/bin/sh\necho before\nkill -TERM $$\necho after\n")
        expect(r.stdout).toContain("   ++ run_userdata: starting\nbefore\nrun_userdata: user-data script exited with status 143\n   ++ run_userdata: failed\n")
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.exit"), "utf8")).toBe("143\n")
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.log"), "utf8")).toBe("before\n")
      })
    })

    it("a phase's log keeps the order the phase wrote it in, however late simulate reads it (its output, then the status line)", async () => {
      await withScratch(async (dir) => {
        writeFileSync(join(dir, "user-data"), "#!/bin/sh\necho before\nexit 3\n")
        // loaded with each node process simulate starts (NODE_OPTIONS): the final phase's stops simulate as it starts, and a
        // watcher lets it go once that phase has exited, so that simulate reads all the phase wrote at once (a loaded machine)
        const hook = join(dir, "slow-reader.cjs")
        writeFileSync(
          hook,
          `if (process.argv[2] === "final") {
  require("node:child_process").spawn("/bin/sh", ["-c", 'while s=$(cat /proc/$0/stat 2>/dev/null); do s=\${s##*) }; [ "\${s%% *}" = Z ] && break; sleep 0.02; done; kill -CONT $1', String(process.pid), String(process.ppid)], { detached: true, stdio: "ignore" }).unref()
  process.kill(process.ppid, "SIGSTOP")
}
`
        )
        const r = await runProgram(["simulate", "--exec", "--user-data", join(dir, "user-data"), "--root", join(dir, "instance")], { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_OPTIONS: `--require ${hook}` })
        // before: the phase's stderr, then its stdout ('before' after 'bootstrap_complete: done'), as two pipes were read
        expect(r.stdout).toContain("== tiny-cloud final (exit 1)\n\n   ++ run_userdata: starting\nbefore\nrun_userdata: user-data script exited with status 3\n   ++ run_userdata: failed\n")
      })
    })
  })

  describeSystem("with --exec, a program left in the background", { tools: { unshare: "util-linux", pivot_root: "util-linux", chroot: "coreutils" } }, () => {
    it("does not hold the simulated phase up until it exits, as on a real boot (bootcmd 'daemon &'); in the confinement's process namespace, it ends with its command rather than outlive the simulation", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      // a number of this test's own, to find the program by (its pid is the namespace's, not the machine's)
      const seconds = 100000 + (process.pid % 50000)
      const left = () => spawnSync("pgrep", ["-f", `^sleep ${seconds}$`], { encoding: "utf8" }).stdout.trim()
      try {
        const r = await simulateExec(dir, `#cloud-config\nbootcmd:\n  - sleep ${seconds} &\n  - echo after\n`)
        expect(r.code).toBe(0)
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.log"), "utf8")).toBe("after\n")
        expect(left()).toBe("")
      } finally {
        if (left() !== "") spawnSync("pkill", ["-f", `^sleep ${seconds}$`])
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("a program of the user's ends with its confinement when that is ended (its unshare SIGKILLed, as the phase kills an interrupted command): none goes on unseen", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      // a number of this test's own, to find the program by (its pid is the namespace's, not the machine's)
      const seconds = 150000 + (process.pid % 50000)
      const left = () => spawnSync("pgrep", ["-f", `^sleep ${seconds}$`], { encoding: "utf8" }).stdout.trim()
      const confinement = () => spawnSync("pgrep", ["-f", `^unshare .* confine ${join(dir, "instance/root")} `], { encoding: "utf8" }).stdout.trim()
      try {
        writeFileSync(join(dir, "user-data"), `#cloud-config\nbootcmd:\n  - sleep ${seconds}\n  - echo after\n`)
        const simulation = runProgram(["simulate", "--exec", "--user-data", join(dir, "user-data"), "--root", join(dir, "instance")], { PATH: process.env.PATH ?? "/usr/bin:/bin" })
        await until(() => left() !== "" && confinement() !== "", "the user's program runs")
        for (const pid of confinement().split("\n")) process.kill(Number(pid), "SIGKILL")
        // ended with it, before the phase goes on (the confinement's end ends its process namespace's programs)
        await simulation
        expect(left()).toBe("")
      } finally {
        if (left() !== "") spawnSync("pkill", ["-f", `^sleep ${seconds}$`])
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("a SIGTERM or a Ctrl-C to simulate alone ends the user's program with the phase running it (none goes on unseen), and the temporary instance is removed", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      // a number of this test's own, to find the program by (its pid is the namespace's, not the machine's)
      const seconds = 200000 + (process.pid % 50000)
      const left = () => spawnSync("pgrep", ["-f", `^sleep ${seconds}$`], { encoding: "utf8" }).stdout.trim()
      const tmp = join(dir, "tmp")
      mkdirSync(tmp)
      try {
        writeFileSync(join(dir, "user-data"), `#cloud-config\nbootcmd:\n  - sleep ${seconds}\n`)
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          const { child, ended } = startSimulation(["--exec", "--user-data", join(dir, "user-data")], { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: tmp })
          await until(() => left() !== "", "the user's program runs")
          child.kill(signal)
          expect(await ended).toEqual({ code: null, signal, stderr: "" })
          expect(processesUnder(tmp)).toEqual([])
          await until(() => left() === "", "the user's program has ended")
          expect(readdirSync(tmp)).toEqual([])
        }
      } finally {
        for (const pid of processesUnder(tmp)) process.kill(Number(pid), "SIGKILL")
        if (left() !== "") spawnSync("pkill", ["-f", `^sleep ${seconds}$`])
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("a SIGTERM or a Ctrl-C to simulate ends a user's program that ignores both with the phase running it, and its confinement (unshare blocks them, the namespace's first process ignores them)", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      // a number of this test's own, to find the program by (its pid is the namespace's, not the machine's)
      const seconds = 250000 + (process.pid % 50000)
      const left = () => spawnSync("pgrep", ["-f", `^sleep ${seconds}$`], { encoding: "utf8" }).stdout.trim()
      const confinement = (root: string) => spawnSync("pgrep", ["-f", `^unshare .* confine ${root} `], { encoding: "utf8" }).stdout.trim()
      const roots: string[] = []
      try {
        writeFileSync(join(dir, "user-data"), `#cloud-config\nbootcmd:\n  - trap "" TERM INT; sleep ${seconds}\n`)
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          const instance = join(dir, `instance-${signal}`)
          roots.push(join(instance, "root"))
          const { child, ended } = startSimulation(["--exec", "--user-data", join(dir, "user-data"), "--root", instance], { PATH: process.env.PATH ?? "/usr/bin:/bin" })
          await until(() => left() !== "", "the user's program runs")
          child.kill(signal)
          expect(await ended).toEqual({ code: null, signal, stderr: "" })
          expect(processesUnder(instance)).toEqual([])
          await until(() => left() === "" && confinement(join(instance, "root")) === "", "the user's program and its confinement have ended")
        }
      } finally {
        for (const pid of processesUnder(dir)) process.kill(Number(pid), "SIGKILL")
        for (const root of roots) for (const pid of confinement(root).split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL")
        if (left() !== "") spawnSync("pkill", ["-f", `^sleep ${seconds}$`])
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("cannot signal a program of the machine's (it sees only its own command's): `kill` of one outside fails, and that program goes on", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      const outside = spawn("sleep", ["600"], { stdio: "ignore" })
      try {
        const r = await simulateExec(dir, `#cloud-config\nruncmd:\n  - kill -9 ${outside.pid} && echo reached || echo refused\n`)
        expect(r.code).toBe(0)
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.log"), "utf8")).toMatch(/refused\n$/)
        expect([outside.exitCode, outside.signalCode]).toEqual([null, null])
      } finally {
        outside.kill()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  describeSystem("with --exec, against a chroot escape", { tools: { unshare: "util-linux", pivot_root: "util-linux", perl: "perl-base" } }, () => {
    it("a nested chroot and enough `..` lead only to the simulated ROOT", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      const target = outsideFile(dir)
      try {
        // the classic escape: chroot into a subdirectory without entering it, climb, chroot there
        const escape = `perl -e 'mkdir "/x"; chroot "/x" or die; chdir ".." for 1..64; chroot "." or die; open(my $f, ">", "${target}") or die; print $f "escaped\\n"'`
        const r = await simulateExec(dir, `#cloud-config\nruncmd:\n  - ${JSON.stringify(escape)}\n`)
        expect(r.code).toBe(0)
        expect(existsSync(target)).toBe(false)
        expect(readFileSync(join(dir, "instance/root", target), "utf8")).toBe("escaped\n")
      } finally {
        rmSync(dir, { recursive: true, force: true })
        rmSync(target, { force: true })
      }
    })
  })

  describeSystem("with --exec, run by root", { tools: { unshare: "util-linux", pivot_root: "util-linux", mount: "mount" }, root: true }, () => {
    it("the user's programs have none of root's power over the machine: a /proc they mount cannot lead to its files through /proc/PID/root", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-simulate-"))
      const target = outsideFile(dir)
      try {
        // the machine's root as seen from a process outside the confinement (simulate's own): its DIR is there, and not in ROOT
        const escape = `mkdir -p /p && mount -t proc proc /p && for p in /p/[0-9]*; do if [ -d "$p/root${dir}" ]; then echo escaped > "$p/root${target}"; break; fi; done`
        const r = await simulateExec(dir, `#cloud-config\nruncmd:\n  - ${JSON.stringify(escape)}\n`)
        expect(r.stdout).toContain("== the user's programs (run confined to ROOT)\n")
        expect(existsSync(target)).toBe(false)
        expect(readFileSync(join(dir, "instance/root/var/log/user-data.log"), "utf8")).toMatch(/^mount: /)
      } finally {
        rmSync(dir, { recursive: true, force: true })
        rmSync(target, { force: true })
      }
    })
  })

  describeSystem("on a file system mounted noexec", { tools: { unshare: "util-linux", mount: "mount" }, root: true }, () => {
    it("its stand-ins cannot run there, so it simulates nothing, says why in one line, and none of the system's commands run in their place", async () => {
      const work = mkdtempSync(join(tmpdir(), "tiny-cloud-sim-noexec-"))
      try {
        // the system's own commands, recording: each a name of the stand-ins, which the PATH search passes over when they cannot run
        const system = join(work, "system")
        mkdirSync(system)
        const calls = join(work, "calls")
        for (const command of FAKE_COMMANDS) writeFileSync(join(system, command), `#!/bin/sh\necho "${command} $*" >> "${calls}"\n`, { mode: 0o755 })
        // TMPDIR a noexec tmpfs (a hardened /tmp), in a mount namespace of the test's own, gone with it
        const tmp = join(work, "tmp")
        mkdirSync(tmp)
        const r = spawnSync(which("unshare")!, ["-m", "--propagation", "private", "sh", "-c", `${which("mount")} -t tmpfs -o noexec tmpfs "$1" && exec "$2" "$3" simulate`, "sh", tmp, process.execPath, PROGRAM], {
          encoding: "utf8",
          env: { PATH: `${system}:${process.env.PATH}`, TMPDIR: tmp, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
        })
        // before, the simulated phases ran these: sfdisk on /dev/vda, resize2fs, ip link set dev eth0 up, addgroup, adduser, chpasswd, hostname
        expect(existsSync(calls) ? readFileSync(calls, "utf8") : "").toBe("")
        expect(r.stderr).toMatch(/^tiny-cloud simulate: \/\S+: its stand-in commands cannot be run there \(EACCES: a file system mounted noexec\?\), and the phases would run this system's own sfdisk, adduser, ifup; nothing simulated\n$/)
        expect([r.status, r.stdout]).toEqual([1, ""])
      } finally {
        rmSync(work, { recursive: true, force: true })
      }
    })
  })
})
