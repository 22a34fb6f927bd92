/**
 * One process for the whole first boot: the OpenRC scripts as OpenRC runs
 * them (their start(), with ebegin/eend stubbed), the boot script starting
 * the resident process, the client asking it for each phase.
 * The instance ends exactly as with a process per phase; killed, the
 * resident process is not missed; it never outlives final.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { chmodSync, chownSync, closeSync, constants, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, it } from "vitest"
import { ovfEnvXml } from "../../src/sim/clouds/azure.js"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { makeInstance, runProgram, type RunResult, type TestInstance } from "../support/harness.js"
import { describeSystem, itSystem, SHELLS, which } from "../support/system.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { makeMemoryLock } from "../support/memory-lock.js"
import { alive, bootAndServe, endResident, serverPid, SERVICES, servicesEnv, startService, startServiceBytes, until } from "../support/openrc.js"

const KEYS = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIResidentA a@example", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQResidentB b@example"]
const USER_DATA = "#!/bin/sh\necho hello from user-data\necho to stderr >&2\nexit 0\n"

const open: Array<TestInstance> = []
// servers a test held reading a FIFO (stoppedBeforeMain, holdingServer): one that failed before it let them go leaves them deaf to SIGTERM
const held: Array<number> = []
afterAll(() =>
  Promise.all(
    open.map((i) => {
      // a test that stops before final leaves its resident process waiting
      endResident(i)
      return i.close()
    })
  ).finally(() => held.filter(alive).forEach((pid) => process.kill(pid, "SIGKILL")))
)

const newInstance = async (userData = USER_DATA) => {
  // the tests count requests: an answer late under load (the simulator shares this thread) would be a retry they are not about, and a token
  // outliving its 5 s default (kept 4 s) under load a second PUT; token lifetimes are tested on the TestClock
  const instance = await makeInstance({ cloud: "aws", env: { ...PATIENT_METADATA, IMDS_TOKEN_TTL: "21600" }, instance: { hostname: "res-1.example.internal", sshKeys: KEYS, userData: new TextEncoder().encode(userData) } })
  open.push(instance)
  return { instance, env: servicesEnv(instance) }
}

/**
 * Waits for a phase's syslog lines: the program hands them to a logger that
 * writes them when it gets to them, which may be after the phase's service
 * has returned (a process of its own may have ended by then too).
 */
const logged = (instance: TestInstance, phase: string) =>
  until(() => readCommandLog(instance.fake).some((c) => c.line.startsWith("logger ") && c.line.includes(` -t tiny-cloud/${phase}[`)), `${phase}'s syslog lines`)

type Booted = { readonly instance: TestInstance; readonly env: Record<string, string> }

/**
 * A first boot of each of two instances `make` gives, at once: the reference as a phase at a time, each as a process of its own runs it
 * (in this process: its subject is what the phases do, which no process of its own changes), the other through the resident process
 */
const bootBothWays = async (make: () => Promise<Booted>) => {
  const bootAlone = async () => {
    const alone = await make()
    const separate: Array<RunResult> = []
    // one phase after the other, its lock kept in memory: a flock descriptor of this process is held by what the other
    // worker thread forks meanwhile, until it execs, and main then said 'another phase is running; waiting for it to end'
    const lock = makeMemoryLock()
    for (const phase of ["boot", "early", "main", "final"]) separate.push(await alone.instance.runHere([phase], alone.env, lock))
    return { alone, separate }
  }
  const bootServed = async () => {
    const resident = await make()
    const served: Array<RunResult> = [await bootAndServe(resident.env, resident.instance)]
    const pid = serverPid(resident.instance)!
    for (const phase of ["early", "main", "final"]) served.push(await startService(phase, resident.env))
    return { resident, served, pid }
  }
  const [{ alone, separate }, { resident, served, pid }] = await Promise.all([bootAlone(), bootServed()])
  return { alone, separate, resident, served, pid }
}

const files = (instance: TestInstance) =>
  ["/etc/hostname", "/etc/hosts", "/home/alpine/.ssh/authorized_keys", "/var/lib/cloud/user-data", "/var/log/user-data.log", "/var/log/user-data.exit", "/var/lib/cloud/.bootstrap-complete"].map((p) => [p, instance.read(p)])

/**
 * In place of the watchdog's sleep, a shell function that returns at once and counts the round by a line in `file`: the pid of the
 * shell that runs it, the watchdog (read from /proc/self: a builtin's redirection is its shell's own), no process started. Past
 * `quick` rounds of one watchdog it really waits (a client held past its rounds would otherwise spin)
 */
const quickSleep = (file: string, quick = 100) =>
  `sleep() { _qs_n=$((\${_qs_n:-0} + 1)); read -r _qs_stat < /proc/self/stat; echo "\${_qs_stat%% *}" >> '${file}'; [ "$_qs_n" -le ${quick} ] || command sleep "$@"; }`

/**
 * An instance served up to main, its server stopped (SIGSTOP) so that main's request waits in the FIFO; main's client's watchdog
 * waits with quickSleep's rounds (`quick`: the function, before the client is sourced), each counted in `sleeps`: the watchdog's pid
 */
const stoppedBeforeMain = async () => {
  const { instance, env } = await newInstance()
  await bootAndServe(env, instance)
  if ((await startService("early", env)).code !== 0) throw new Error("early failed")
  const pid = serverPid(instance)!
  held.push(pid)
  process.kill(pid, "SIGSTOP")
  const sleeps = join(instance.dir, "sleeps")
  const waits = () => (existsSync(sleeps) ? readFileSync(sleeps, "utf8").trim().split("\n").map(Number) : [])
  return { instance, env, pid, quick: quickSleep(sleeps), waits, dir: join(instance.root, "run/tiny-cloud") }
}

/** in place of the client's mv: a FIFO in env.PID's place, and the server let on, which takes the request and is held reading it */
const holdingServer = (pid: number) =>
  `mv() { command mv -f "$_tc_env" "$_tc_env.held"; mkfifo -m 600 "$_tc_env"; command kill -CONT ${pid}; while [ -e "$_tc_env" ]; do :; done; return 1; }`

/** a client as client.sh asks, with an environment that is no `export -p`, its request written to "$RUN/requests" by `write`: the server's answer */
const unreadableClient = (env: Record<string, string>, run: string, write: string) =>
  execFileSync("sh", ["-c", `R="$RUN/reply.$$"; mkfifo -m 600 "$R"; echo "not an export" > "$RUN/env.$$"; exec 4<>"$R"; ${write}; read -r a <&4; rm -f "$R"; echo "$a"`], {
    env: { ...env, RUN: run },
    encoding: "utf8"
  })

/** what a client killed while its request waits leaves in the run directory `run`: its reply FIFO, nobody reading it, its environment `env`, its request */
const deadClientAsks = (run: string, phase: string, env: string) => {
  execFileSync("mkfifo", ["-m", "600", join(run, "reply.999999")])
  writeFileSync(join(run, "env.999999"), env, { mode: 0o600 })
  const fd = openSync(join(run, "requests"), constants.O_WRONLY | constants.O_NONBLOCK)
  writeSync(fd, `${phase} 999999\n`)
  closeSync(fd)
}

describe.concurrent("the resident process of a first boot", () => {
  it("runs the four phases for the services with the same output, files and exit codes as a process per phase, and exits after final", async ({ expect }) => {
    const { alone, separate, resident, served, pid } = await bootBothWays(() => newInstance())

    expect(served).toEqual(separate)
    expect(files(resident.instance)).toEqual(files(alone.instance))
    expect(separate[3]!.stdout).toBe("hello from user-data\nto stderr\n")
    const neutral = (i: TestInstance) => i.commands().map((c) => c.replaceAll(i.root, "$ROOT"))
    expect(neutral(resident.instance)).toEqual(neutral(alone.instance))
    // every phase was the resident process's: their syslog lines carry its pid
    const tags = (i: TestInstance) => [...new Set(readCommandLog(i.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    await logged(resident.instance, "final")
    expect(tags(resident.instance)).toEqual(["boot", "early", "main", "final"].map((p) => `tiny-cloud/${p}[${pid}]`))
    // one token, one request per datum (a process per phase asks again in each)
    const asked = resident.instance.sim!.requests.map((r) => `${r.method} ${r.path}`)
    expect(asked.filter((r) => r.startsWith("PUT "))).toHaveLength(1)
    expect(asked.length).toBe(new Set(asked).size)
    expect(alone.instance.sim!.requests.filter((r) => r.method === "PUT").length).toBeGreaterThan(1)
    await until(() => !alive(pid), "the resident process exits after final")
    expect(existsSync(join(resident.instance.root, "run/tiny-cloud/requests"))).toBe(false)
    expect(existsSync(join(resident.instance.root, "run/tiny-cloud/server.pid"))).toBe(false)
  })

  it("reads what main needs as early starts: the hostname and the keys are asked for before main is", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    expect((await startService("early", env)).code).toBe(0)
    const asked = () => instance.sim!.requests.map((r) => `${r.method} ${r.path}`)
    await until(() => asked().some((r) => r.endsWith("/meta-data/hostname")) && asked().some((r) => r.endsWith("/openssh-key")), "the hostname and the keys are read ahead")
    expect((await startService("main", env)).code).toBe(0)
    // main asked for nothing more
    expect(asked().length).toBe(new Set(asked()).size)
    expect(instance.read("/etc/hostname")).toBe("res-1\n")
  })

  it("what it reads ahead as early starts is logged by the phase that uses it, as a process of its own logs it: the same syslog lines, once", async ({ expect }) => {
    // a NoCloud seed whose key list has an item that is no string: set_ssh_keys (main) says so
    const seeded = async () => {
      const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "nocloud" } })
      open.push(instance)
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", `instance-id: i-1\nlocal-hostname: res-1\npublic-keys:\n  - ${KEYS[0]}\n  - {a: 1}\n`)
      instance.write("/var/lib/cloud/seed/nocloud/user-data", USER_DATA)
      return { instance, env: servicesEnv(instance) }
    }
    const syslog = (i: TestInstance) => readCommandLog(i.fake).filter((c) => c.line.startsWith("logger ")).map((c) => `${c.line.replace(/\[\d+\]$/, "")}: ${c.stdin.join(" / ")}`)
    const { alone, separate, resident, served, pid } = await bootBothWays(seeded)
    expect([separate.map((r) => r.code), served.map((r) => r.code)]).toEqual([[0, 0, 0, 0], [0, 0, 0, 0]])
    await until(() => !alive(pid), "the resident process exits after final")
    expect(syslog(alone.instance).filter((l) => l.includes("public-keys"))).toEqual([
      "logger -p local7.warning -t tiny-cloud/main: NoCloud meta-data 'public-keys': 1 item that is not a string left out"
    ])
    expect(syslog(resident.instance)).toEqual(syslog(alone.instance))
  })

  it("a NoCloud seed boot did not read (set_network_interfaces skipped) is loaded by early, which says what is wrong with it, as a process of its own does", async ({ expect }) => {
    const seeded = async () => {
      const instance = await makeInstance({ noSimulator: true, env: { CLOUD: "nocloud", SKIP_INIT_ACTIONS: "set_network_interfaces" } })
      open.push(instance)
      instance.write("/proc/cmdline", "console=ttyS0 ds=nocloud;s=/srv/seed/\n")
      instance.write("/srv/seed/meta-data", "")
      instance.write("/srv/seed/user-data", USER_DATA)
      return { instance, env: servicesEnv(instance) }
    }
    const syslog = (i: TestInstance) => readCommandLog(i.fake).filter((c) => c.line.startsWith("logger ")).map((c) => `${c.line.replace(/\[\d+\]$/, "")}: ${c.stdin.join(" / ")}`)
    const { alone, separate, resident, served, pid } = await bootBothWays(seeded)
    expect(separate[1]!.stderr).toBe("\n   ++ save_userdata: starting\nNoCloud 'meta-data' is empty\n   ++ save_userdata: done\n")
    expect(served).toEqual(separate)
    await until(() => !alive(pid), "the resident process exits after final")
    expect(syslog(resident.instance)).toEqual(syslog(alone.instance))
  })

  for (const customData of [undefined, "#!/bin/sh\necho hello from custom data\n"]) {
    it(`azure ${customData === undefined ? "without user-data or custom data" : "with custom data"}: the provisioning media is mounted once, by early, as by a process of its own (the read-ahead reads IMDS alone)`, async ({ expect }) => {
      const azure = async () => {
        const instance = await makeInstance({ cloud: "azure", env: PATIENT_METADATA, instance: { hostname: "res-1", sshKeys: KEYS } })
        open.push(instance)
        const env = servicesEnv(instance)
        if (customData === undefined) return { instance, env }
        // the stand-in mount presents this directory for /dev/sr0
        const media = join(instance.dir, "media")
        mkdirSync(media)
        writeFileSync(join(media, "ovf-env.xml"), ovfEnvXml({ hostname: "res-1" }, new TextEncoder().encode(customData)))
        return { instance, env: { ...env, FAKE_MEDIA_DEVICE: "/dev/sr0", FAKE_MEDIA: media } }
      }
      const neutral = (i: TestInstance) => i.commands().map((c) => c.replaceAll(i.root, "$ROOT").replace(/azure-media-\d+-\S+/, "azure-media-PID"))
      const { alone, separate, resident, served, pid } = await bootBothWays(azure)
      await until(() => !alive(pid), "the resident process exits after final")
      // each instance has a simulator of its own: the wireserver's port differs
      const port = (results: ReadonlyArray<RunResult>) => results.map((r) => ({ ...r, stderr: r.stderr.replace(/127\.0\.0\.1:\d+/g, "WIRESERVER") }))
      expect(port(served)).toEqual(port(separate))
      expect(separate.map((r) => r.code)).toEqual([0, 0, 0, 0])
      expect(resident.instance.read("/var/lib/cloud/user-data")).toBe(customData)
      expect(neutral(resident.instance).filter((c) => / \/dev\/sr0 /.test(c))).toEqual(
        customData === undefined ? ["udf", "iso9660"].map((t) => `mount -o ro -t ${t} /dev/sr0 $ROOT/run/tiny-cloud/azure-media-PID`) : ["mount -o ro -t udf /dev/sr0 $ROOT/run/tiny-cloud/azure-media-PID"]
      )
      expect(neutral(resident.instance)).toEqual(neutral(alone.instance))
      expect(readdirSync(join(resident.instance.root, "run/tiny-cloud")).filter((d) => d.startsWith("azure-media-"))).toEqual([])
    })
  }

  it("openstack: the config drive is looked for by the phases that read the metadata alone, as by processes of their own (nothing is read ahead)", async ({ expect }) => {
    const openstack = async () => {
      const instance = await makeInstance({ cloud: "openstack", env: PATIENT_METADATA, instance: { hostname: "res-1", sshKeys: KEYS, userData: new TextEncoder().encode(USER_DATA) } })
      open.push(instance)
      return { instance, env: servicesEnv(instance) }
    }
    const neutral = (i: TestInstance) => i.commands().map((c) => c.replaceAll(i.root, "$ROOT").replace(/config-2-\d+-\S+/, "config-2-PID"))
    const { alone, separate, resident, served, pid } = await bootBothWays(openstack)
    await until(() => !alive(pid), "the resident process exits after final")
    expect(served).toEqual(separate)
    expect(separate.map((r) => r.code)).toEqual([0, 0, 0, 0])
    // no drive: early (user_data) and main (meta_data.json) each try its labels once, then ask the metadata service
    const probe = ["vfat", "iso9660"].flatMap((t) => ["config-2", "CONFIG-2"].map((l) => `mount -o ro -t ${t} LABEL=${l} $ROOT/run/tiny-cloud/config-2-PID`))
    expect(neutral(resident.instance).filter((c) => c.startsWith("mount "))).toEqual([...probe, ...probe])
    expect(neutral(resident.instance)).toEqual(neutral(alone.instance))
  })

  it("early started at once after boot, while the resident process still starts, waits for it rather than starting its own", async ({ expect }) => {
    const { instance, env } = await newInstance()
    expect((await startService("boot", env)).code).toBe(0)
    const early = await startService("early", env)
    expect(early.code).toBe(0)
    const pid = serverPid(instance)
    expect(pid).toBeDefined()
    await logged(instance, "early")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags.filter((t) => t!.startsWith("tiny-cloud/early"))).toEqual([`tiny-cloud/early[${pid}]`])
    expect(instance.sim!.requests.filter((r) => r.method === "PUT")).toHaveLength(1)
    expect(existsSync(join(instance.root, "run/tiny-cloud/server.starting"))).toBe(false)
  })

  it("killed between main and final, it is not missed: final runs in a process of its own", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    process.kill(serverPid(instance)!, "SIGKILL")
    const final = await startService("final", env)
    expect(final.code).toBe(0)
    expect(final.stdout).toBe("hello from user-data\nto stderr\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  it("started again (rc-service tiny-cloud-boot restart), the first resident process keeps serving, and exits after final", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    expect((await startService("boot", env)).code).toBe(0)
    // the second one yields, and names itself nowhere
    await until(() => !existsSync(join(instance.root, "run/tiny-cloud/server.starting")), "the second server's name is gone")
    // and never takes the first one's place: the clients still find the first
    expect(serverPid(instance)).toBe(pid)
    for (const phase of ["early", "main", "final"]) expect((await startService(phase, env)).code).toBe(0)
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags.filter((t) => t!.startsWith("tiny-cloud/final"))).toEqual([`tiny-cloud/final[${pid}]`])
    await until(() => !alive(pid), "the resident process exits after final")
  })

  it("server.starting left naming a process that is gone (a second server, the boot service started again, that stepped aside before the service named it) does not send the clients past the live one, nor stays after the boot", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    const gone = spawnSync("true").pid!
    writeFileSync(join(instance.root, "run/tiny-cloud/server.starting"), `${gone}\n`)
    for (const phase of ["early", "main", "final"]) expect((await startService(phase, env)).code).toBe(0)
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    // before: each phase in a process of its own
    expect(tags.filter((t) => /^tiny-cloud\/(early|main|final)\[/.test(t!))).toEqual(["early", "main", "final"].map((phase) => `tiny-cloud/${phase}[${pid}]`))
    await until(() => !alive(pid), "the resident process exits after final")
    // before: [ 'server.starting' ], naming the second server, which no service after final removes
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("a client that reads server.pid before a starting server writes it, and server.starting once that server has removed it, asks that server all the same (not the phase in a process of its own)", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    // that one ended (its idle time): the next starts while early's client looks for it
    const first = serverPid(instance)!
    endResident(instance)
    await until(() => !alive(first) && serverPid(instance) === undefined, "the first resident process ends")
    // the client held as it reads server.starting, which it reads only as a regular file (a FIFO there, planted, names nobody):
    // its reading of it (the client's own, with a read of a FIFO held open here first) waits until the test lets it end
    const run = join(instance.root, "run/tiny-cloud")
    const hold = join(instance.dir, "hold")
    execFileSync("mkfifo", ["-m", "600", hold])
    const holder = openSync(hold, constants.O_RDWR | constants.O_NONBLOCK)
    const lib = join(instance.dir, "lib")
    mkdirSync(lib)
    writeFileSync(
      join(lib, "client.sh"),
      `. '${SERVICES}/client.sh'\n_tiny_cloud_read_pid() {\n\tcase $2 in */server.starting) read -r _ < '${hold}' ;; esac\n\tif [ -f "$2" ] && ! [ -L "$2" ]; then { read -r "$1" < "$2"; } 2>/dev/null || :; fi\n}\n`
    )
    const shell = join(instance.dir, "client.pid")
    const early = startService("early", { ...env, TINY_CLOUD_LIB: lib }, ["sh"], `echo $$ > '${shell}'`)
    const reading = () => {
      try {
        return readlinkSync(`/proc/${readFileSync(shell, "utf8").trim()}/fd/0`) === hold
      } catch {
        return false
      }
    }
    await until(reading, "early's client has read server.pid (none) and reads server.starting")
    const server = spawn("tiny-cloud", ["serve"], { env, stdio: "ignore", detached: true })
    server.unref()
    await until(() => serverPid(instance) === server.pid && !existsSync(join(run, "server.starting")), "the second resident process listens")
    closeSync(holder)
    expect((await early).code).toBe(0)
    await logged(instance, "early")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    // before: tiny-cloud/early[the client's own process]
    expect(tags.filter((t) => t!.startsWith("tiny-cloud/early"))).toEqual([`tiny-cloud/early[${server.pid}]`])
  })

  it("its boot service started again after main (rc-service tiny-cloud-boot restart before final), the first boot still completes, as with a process per phase: final marks it", async ({ expect }) => {
    const again = async (served: boolean) => {
      const { instance, env } = await newInstance()
      const results: Array<RunResult> = []
      if (served) await bootAndServe(env, instance)
      for (const phase of served ? ["early", "main", "boot", "final"] : ["boot", "early", "main", "boot", "final"]) {
        results.push(served ? await startService(phase, env) : await instance.runHere([phase], env))
      }
      return { instance, results }
    }
    for (const { instance, results } of await Promise.all([again(true), again(false)])) {
      expect(results.map((r) => r.code)).toEqual(results.map(() => 0))
      expect(results.at(-1)!.stderr).not.toContain("did not run in this first boot")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    }
  })

  it("a phase that fails gives its client the status and lines a process of its own gives: an invalid configuration value, a user-data script that fails", async ({ expect }) => {
    const failing = async () => {
      const booted = await newInstance("#!/bin/sh\necho failing\nexit 3\n")
      booted.instance.write("/etc/tiny-cloud.conf", "IMDS_MAX_KEYS=many\n")
      return booted
    }
    const { separate, served, pid } = await bootBothWays(failing)
    expect(separate.map((r) => r.code)).toEqual([1, 1, 1, 1])
    expect(separate.map((r) => r.stderr.includes("IMDS_MAX_KEYS: invalid value 'many'"))).toEqual([true, true, true, true])
    expect(served).toEqual(separate)
    await until(() => !alive(pid), "the resident process exits after final")
  })

  it("a user-data script's output that ends with no newline reaches a console that stderr also goes to where a process of its own puts it: before the phase's line about the script", async ({ expect }) => {
    // the services as OpenRC runs them, stderr sent to stdout (one console); without the client, each phase a process of its own
    const console = async (served: boolean) => {
      const { instance, env } = await newInstance("#!/bin/sh\necho done\nprintf 'no newline'\nexit 3\n")
      const services = served ? env : { ...env, TINY_CLOUD_LIB: join(instance.dir, "no-client") }
      const pid = served ? (await bootAndServe(services, instance, "exec 2>&1"), serverPid(instance)!) : undefined
      const results = [...(served ? [] : [await startService("boot", services, ["sh"], "exec 2>&1")])]
      for (const phase of ["early", "main", "final"]) results.push(await startService(phase, services, ["sh"], "exec 2>&1"))
      if (pid !== undefined) await until(() => !alive(pid), "the resident process exits after final")
      return results.at(-1)!
    }
    const [alone, served] = await Promise.all([console(false), console(true)])
    expect(alone.stdout).toContain("done\nno newlinerun_userdata: user-data script exited with status 3\n")
    expect(served).toEqual(alone)
  })

  it("a user-data script that writes faster than its client reads (the client's shell reads a byte at a time) does not pile its output up in the resident process: as a process of its own, the phase goes on once its client has taken most of the output (all but less than 4 MiB)", async ({ expect }) => {
    const size = 8 * 1024 * 1024
    const { instance, env } = await newInstance(`#!/bin/sh\nhead -c ${size} /dev/zero | tr '\\0' x | fold -w 99\n`)
    await bootAndServe(env, instance)
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    // final as startServiceBytes runs it, noting how much of the output its client had printed when the phase marked the bootstrap complete
    const marker = join(instance.root, "var/lib/cloud/.bootstrap-complete")
    let printed = 0
    let whenMarked: number | undefined
    const code = await new Promise<number>((done) => {
      const child = spawn("sh", ["-c", `ebegin() { :; }; eend() { return "$1"; }; . "${SERVICES}/tiny-cloud-final"; start`], { env, stdio: ["ignore", "pipe", "ignore"] })
      child.stdout.on("data", (c: Buffer) => {
        if (whenMarked === undefined && existsSync(marker)) whenMarked = printed
        printed += c.length
      })
      child.on("close", (status) => done(status ?? -1))
    })
    expect(code).toBe(0)
    expect(printed).toBe(size + Math.floor(size / 99))
    expect(whenMarked).toBeGreaterThan(printed - 4 * 1024 * 1024)
    // (a shell reading 8 MiB a byte at a time: about 10 s alone, a minute and more beside a loaded machine's other tests)
  }, 240_000)

  it("answers N to a request whose environment it cannot read, and runs nothing: its client runs the phase itself", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const run = join(instance.root, "run/tiny-cloud")
    expect(unreadableClient(env, run, `printf 'early %s\\n' $$ > "$RUN/requests"`)).toBe("N\n")
    expect(readdirSync(run).sort()).toEqual(["requests", "server.pid"])
    expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
  })

  it("takes a request line written in pieces, after a line that is no request", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const run = join(instance.root, "run/tiny-cloud")
    // its request in three writes: the server may read each alone
    expect(unreadableClient(env, run, `printf 'hello\\near' > "$RUN/requests"; sleep 0.1; printf 'ly %s' $$ > "$RUN/requests"; printf '\\n' > "$RUN/requests"`)).toBe("N\n")
    expect(readdirSync(run).sort()).toEqual(["requests", "server.pid"])
  })

  it("goes when tiny-cloud is disabled while it waits (tiny-cloud --disable by hand), leaving nothing behind", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    instance.write("/etc/tiny-cloud.disabled", "")
    await until(() => !alive(pid), "the resident process exits once tiny-cloud is disabled")
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("a client killed while its request waited leaves nothing behind: its reply FIFO and environment go when the request comes up", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const run = join(instance.root, "run/tiny-cloud")
    deadClientAsks(run, "main", `export ROOT='${instance.root}'\n`)
    await until(() => readdirSync(run).sort().join(" ") === "requests server.pid", "the request's files are gone")
    expect(instance.read("/etc/hostname")).toBeUndefined()
  })

  it("a client killed while its request waited behind final (an operator's rc-service tiny-cloud-main restart, then Ctrl-C) leaves nothing behind: its reply FIFO and environment go when the resident process ends after final", async ({ expect }) => {
    const { instance, env } = await newInstance('#!/bin/sh\ntouch "$ROOT/tmp/final"\nwhile [ ! -e "$ROOT/tmp/go" ]; do sleep 0.05; done\n')
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    const final = startService("final", env)
    await until(() => instance.read("/tmp/final") !== undefined, "final's user-data script runs")
    const run = join(instance.root, "run/tiny-cloud")
    deadClientAsks(run, "main", "export http_proxy='http://proxy:S3cret@10.0.0.1:3128'\n")
    writeFileSync(join(instance.root, "tmp/go"), "")
    expect((await final).code).toBe(0)
    await until(() => !alive(pid), "the resident process exits after final")
    expect(readdirSync(run)).toEqual([])
  })

  it("final run by its client itself while the resident process lives (stopped past the watchdog's wait: a slow CPU) leaves that server its name and FIFO, which it removes as it ends", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    const pid = serverPid(instance)!
    held.push(pid)
    process.kill(pid, "SIGSTOP")
    // final's client gets no answer: its watchdog answers T (quickSleep's waits), and it runs final in a process of its own
    const final = await startService("final", env, ["sh"], quickSleep(join(instance.dir, "sleeps")))
    expect(final.code).toBe(0)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    const run = join(instance.root, "run/tiny-cloud")
    // a live server's: not removed under it by final's client (only a dead or starting one's are)
    expect(readdirSync(run).sort()).toEqual(["requests", "server.pid"])
    process.kill(pid, "SIGCONT")
    await until(() => !alive(pid), "the resident process ends, the bootstrap complete")
    expect(readdirSync(run)).toEqual([])
  })

  it("a server.pid left by a crashed boot that names another live process does not keep it from serving", async ({ expect }) => {
    const { instance, env } = await newInstance()
    const other = Number(execFileSync("sh", ["-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $!"], { encoding: "utf8" }))
    try {
      const run = join(instance.root, "run/tiny-cloud")
      mkdirSync(run, { recursive: true, mode: 0o700 })
      execFileSync("mkfifo", ["-m", "600", join(run, "requests")])
      writeFileSync(join(run, "server.pid"), `${other}\n`)
      const stale = lstatSync(join(run, "server.pid")).ino
      // and what a server killed as it wrote its name left beside it
      const gone = Number(execFileSync("sh", ["-c", "sh -c 'exit 0' & echo $!; wait"], { encoding: "utf8" }))
      writeFileSync(join(run, `server.pid.${gone}.new`), `${gone}\n`)
      expect((await startService("boot", env)).code).toBe(0)
      await until(() => serverPid(instance) !== other, "the resident process takes its place")
      const pid = serverPid(instance)!
      // its name written beside and renamed over the stale one, never emptied and rewritten in place, where a client or a
      // second server reading it meanwhile would find an empty file naming no server
      expect(lstatSync(join(run, "server.pid")).ino).not.toBe(stale)
      expect(readdirSync(run).filter((name) => name.startsWith("server.pid."))).toEqual([])
      for (const phase of ["early", "main", "final"]) expect((await startService(phase, env)).code).toBe(0)
      await logged(instance, "final")
      const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
      expect(tags.filter((t) => !t!.startsWith("tiny-cloud/boot"))).toEqual(["early", "main", "final"].map((p) => `tiny-cloud/${p}[${pid}]`))
    } finally {
      process.kill(other)
    }
  })

  it("a first boot finished without it (final run by hand) ends it too", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    expect((await startService("early", env)).code).toBe(0)
    // main by hand too, in this process: what ends the server is the marker that final, run by hand, writes
    expect((await instance.runHere(["main"])).code).toBe(0)
    expect((await instance.run(["final"])).code).toBe(0)
    await until(() => !alive(pid), "the resident process exits once the bootstrap is complete")
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("a later boot whose tiny-cloud.conf the services leave to the program (a backslash) starts one that finds the bootstrap complete and ends at once: the run directory is empty after final", async ({ expect }) => {
    const { instance, env } = await newInstance()
    instance.write("/etc/tiny-cloud.conf", 'CLOUD=aws\nIMDS_ENDPOINT="a\\b"\n')
    instance.write("/var/lib/cloud/.bootstrap-complete", "")
    // the boot service's server, through a program that says when it has ended (its pid, that of the process server.starting names)
    const ended = join(instance.dir, "ended")
    const wrapper = join(instance.dir, "serve-wrapper")
    mkdirSync(wrapper)
    writeFileSync(join(wrapper, "tiny-cloud"), `#!/bin/sh\n[ "$1" = serve ] || exec '${join(instance.dir, "program/tiny-cloud")}' "$@"\n'${join(instance.dir, "program/tiny-cloud")}' "$@"\necho $$ > '${ended}'\n`, { mode: 0o755 })
    const boot = await startService("boot", { ...env, PATH: `${wrapper}:${env.PATH}` })
    expect(boot).toEqual({ code: 0, stdout: "", stderr: "already bootstrapped\n" })
    await until(() => existsSync(ended) && readFileSync(ended, "utf8").endsWith("\n") && !alive(Number(readFileSync(ended, "utf8"))), "the resident process ends")
    for (const phase of ["early", "main", "final"]) expect(await startService(phase, env)).toEqual({ code: 0, stdout: "", stderr: "already bootstrapped\n" })
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("a server still starting (named in server.starting alone, no server.pid or FIFO yet) keeps its name after final, run in a process of its own; once it is gone, final removes it", async ({ expect }) => {
    const { instance, env } = await newInstance()
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true, mode: 0o700 })
    // a live process the boot service named while it starts (any command name: server.starting is written before it is the server)
    const starting = spawn("sleep", ["60"], { stdio: "ignore" })
    try {
      writeFileSync(join(run, "server.starting"), `${starting.pid}\n`)
      expect((await startService("final", env)).code).toBe(0)
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeDefined()
      expect(readdirSync(run)).toEqual(["server.starting"])
    } finally {
      starting.kill("SIGKILL")
    }
    await until(() => !alive(starting.pid!), "the starting process ends")
    rmSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"))
    expect((await startService("final", env)).code).toBe(0)
    expect(readdirSync(run)).toEqual([])
  })

  it("named in server.starting only after it listened (the boot script was slower than it), it leaves no server.starting behind", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    writeFileSync(join(instance.root, "run/tiny-cloud/server.starting"), `${pid}\n`)
    for (const phase of ["early", "main", "final"]) expect((await startService(phase, env)).code).toBe(0)
    await until(() => !alive(pid), "the resident process exits after final")
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("the reply FIFOs and environments that clients of a crashed boot left are gone once it has served the boot", async ({ expect }) => {
    const { instance, env } = await newInstance()
    const dead = Number(execFileSync("sh", ["-c", "sh -c : & echo $!; wait"], { encoding: "utf8" }))
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true, mode: 0o700 })
    execFileSync("mkfifo", ["-m", "600", join(run, `reply.${dead}`), join(run, "requests")])
    // and what it left taken by a server or withdrawn; a live client's (this process's pid) is not the crashed boot's
    for (const name of [`env.${dead}`, `env.${dead}.taken`, `env.${dead}.withdrawn`, `env.${process.pid}.withdrawn`]) writeFileSync(join(run, name), "export SECRET='x'\n", { mode: 0o600 })
    writeFileSync(join(run, "server.pid"), `${dead}\n`)
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    for (const phase of ["early", "main", "final"]) expect((await startService(phase, env)).code).toBe(0)
    await until(() => !alive(pid), "the resident process exits after final")
    expect(readdirSync(run)).toEqual([`env.${process.pid}.withdrawn`])
  })

  it("serves two clients asking at once one after the other", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const [a, b] = await Promise.all([startService("early", env), startService("early", env)])
    for (const r of [a, b]) expect(r.stderr).toBe("\n   ++ save_userdata: starting\n   ++ save_userdata: done\n")
    expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
  })

  it("exits after TINY_CLOUD_RESIDENT_IDLE seconds without a request, leaving nothing behind", async ({ expect }) => {
    const { instance, env } = await newInstance()
    // idle long enough that a loaded machine still sees it listen after boot (at 0.5 s it had gone once, under load 7)
    await bootAndServe({ ...env, TINY_CLOUD_RESIDENT_IDLE: "2" }, instance)
    const pid = serverPid(instance)!
    await until(() => !alive(pid), "the resident process exits when idle")
    expect(existsSync(join(instance.root, "run/tiny-cloud/requests"))).toBe(false)
    expect(existsSync(join(instance.root, "run/tiny-cloud/server.pid"))).toBe(false)
    // the phases still run, each in a process of its own
    expect((await startService("early", env)).code).toBe(0)
    expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
  })

  it("stopped (SIGSTOP, a slow CPU) past its idle time while a client asked, it serves the request that came in time rather than ending", async ({ expect }) => {
    const { instance, env } = await newInstance()
    // idle long enough that a loaded machine still stops it before it ends (as in the test above)
    await bootAndServe({ ...env, TINY_CLOUD_RESIDENT_IDLE: "2" }, instance)
    const pid = serverPid(instance)!
    held.push(pid)
    process.kill(pid, "SIGSTOP")
    const run = join(instance.root, "run/tiny-cloud")
    const early = startService("early", env)
    // the request is in its FIFO once the client's reply FIFO is there (it asks at once after): then the server is kept stopped past its idle time
    await until(() => readdirSync(run).some((f) => /^reply\.\d+$/.test(f)), "early's client asks")
    await new Promise((r) => setTimeout(r, 2500))
    process.kill(pid, "SIGCONT")
    const r = await early
    expect(r.code).toBe(0)
    await logged(instance, "early")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    // before: tiny-cloud/early[the client's own process], the server ended by its idle time before it read the request
    expect(tags.filter((t) => t!.startsWith("tiny-cloud/early"))).toEqual([`tiny-cloud/early[${pid}]`])
  })

  it("ending (its idle time out, a signal) just as a client asks, after the client found its FIFO, it leaves no file in the FIFO's place: the phase runs in a process of its own, and the run directory is empty after final", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    expect((await startService("early", env)).code).toBe(0)
    const pid = serverPid(instance)!
    const run = join(instance.root, "run/tiny-cloud")
    // main's client, once it has found the server and its FIFO, reads its umask (the step before it opens the FIFO): here a function
    // that ends the server first and waits until its FIFO is gone
    const ending = `umask() { if [ $# = 0 ]; then command kill -TERM ${pid}; while [ -p '${run}/requests' ]; do :; done; fi; command umask "$@"; }`
    const main = await startService("main", env, ["sh"], ending)
    expect(main.code).toBe(0)
    expect(main.stderr).toBe("\n   ++ create_default_user: starting\n   ++ create_default_user: done\n   ++ set_hostname: starting\n   ++ set_hostname: done\n   ++ set_ssh_keys: starting\n   ++ set_ssh_keys: done\n")
    await until(() => !alive(pid), "the resident process exits")
    expect(readdirSync(run)).toEqual([])
    expect((await startService("final", env)).code).toBe(0)
    expect(readdirSync(run)).toEqual([])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  it("ended by a signal while it waits (SIGTERM, SIGINT, SIGHUP: a shutdown during the first boot), it leaves nothing behind, and the phases still run", async ({ expect }) => {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      const { instance, env } = await newInstance()
      await bootAndServe(env, instance)
      const pid = serverPid(instance)!
      process.kill(pid, signal)
      await until(() => !alive(pid), `the resident process exits on ${signal}`)
      expect({ signal, left: readdirSync(join(instance.root, "run/tiny-cloud")) }).toEqual({ signal, left: [] })
      expect((await startService("early", env)).code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
    }
  })

  it("killed during a phase it took, the phase is not run again: one line says so, exit 1, the user's script ran once", async ({ expect }) => {
    const { instance, env } = await newInstance('#!/bin/sh\necho run >> "$ROOT/tmp/runs"\nsleep 2\necho finished\n')
    await bootAndServe(env, instance)
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    const pid = serverPid(instance)!
    const final = startService("final", env)
    await until(() => instance.read("/tmp/runs") !== undefined, "the user-data script runs")
    process.kill(pid, "SIGKILL")
    const r = await final
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("tiny-cloud/final: the resident process ended during the phase; it is not run again\n")
    expect(instance.read("/tmp/runs")).toBe("run\n")
    // nothing of it is left after the boot: its name and request FIFO go with its last phase, as when final runs in a process of its own
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("stopped (SIGTERM) during a phase's user-data script, the signal is passed on to the script: it and what it waits on end with the phase, not after it", async ({ expect }) => {
    const { instance, env } = await newInstance(`#!/bin/sh\nsh -c 'echo $$ $PPID > "$ROOT/tmp/pids.tmp"; mv "$ROOT/tmp/pids.tmp" "$ROOT/tmp/pids"; exec sleep 1000'\necho after\n`)
    await bootAndServe(env, instance)
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    const pid = serverPid(instance)!
    const final = startService("final", env)
    await until(() => instance.read("/tmp/pids") !== undefined, "the user-data script runs")
    const started = instance.read("/tmp/pids")!.trim().split(" ").map(Number)
    try {
      process.kill(pid, "SIGTERM")
      const r = await final
      expect(r.code).toBe(1)
      await until(() => !started.some(alive), "the script and its sleep end")
      expect(instance.read("/var/log/user-data.log")).toBe("")
    } finally {
      for (const p of started) if (alive(p)) process.kill(p, "SIGKILL")
    }
  })

  it("its client killed while main runs in it (the service ended by OpenRC or an operator), final run by the next service waits for that main: its runcmd after main's end, the marker after main", async ({ expect }) => {
    // main's bootcmd goes on only once the test lets it; runcmd says whether main had ended, and whether the bootstrap was marked complete already
    const userData = [
      "#cloud-config",
      "bootcmd:",
      '  - echo main started >> "$ROOT/tmp/order"; while [ ! -e "$ROOT/tmp/go" ]; do sleep 0.05; done; echo main ended >> "$ROOT/tmp/order"',
      "runcmd:",
      '  - echo final runcmd >> "$ROOT/tmp/order"; [ ! -e "$ROOT/var/lib/cloud/.bootstrap-complete" ] || echo marked before final >> "$ROOT/tmp/order"',
      ""
    ].join("\n")
    const { instance, env } = await newInstance(userData)
    await bootAndServe(env, instance)
    expect((await startService("early", env)).code).toBe(0)
    const client = spawn("sh", ["-c", `ebegin() { :; }; eend() { return "$1"; }; . "${SERVICES}/tiny-cloud-main"; start`], { env, stdio: "ignore" })
    const clientGone = new Promise((done) => client.on("close", done))
    await until(() => instance.read("/tmp/order") !== undefined, "main's bootcmd runs")
    client.kill("SIGKILL")
    await clientGone
    // final's client gets no answer while main runs, and its watchdog answers for the server after its 50 waits (sleep 0.2 each, about
    // 10 s): here each wait is a sleep that returns at once. Then it runs final in a process of its own
    let finished = false
    const final = startService("final", env, ["sh"], quickSleep(join(instance.dir, "sleeps"))).then((r) => ((finished = true), r))
    const waits = () => readCommandLog(instance.fake).some((c) => c.line.includes(" -t tiny-cloud/final[") && c.stdin.includes("another phase is running; waiting for it to end"))
    await until(() => finished || waits(), "final ends or waits for main")
    writeFileSync(join(instance.root, "tmp/go"), "")
    const r = await final
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^another phase is running; waiting for it to end\n/)
    expect(instance.read("/tmp/order")).toBe("main started\nmain ended\nfinal runcmd\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  itSystem("early waiting for the lock of a phase run by hand that completes the bootstrap asks the metadata service nothing, as a process of its own", { tools: { flock: "util-linux" } }, async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    const asked = () => instance.sim!.requests.map((r) => `${r.method} ${r.path}`)
    const before = asked()
    // another phase holds the state directory's lock (a phase run by hand) until the test lets it go
    const go = join(instance.dir, "go")
    const holding = join(instance.dir, "holding")
    const holder = spawn("flock", ["-x", join(instance.root, "var/lib/cloud"), "sh", "-c", `: > "${holding}"; while [ ! -e "${go}" ]; do sleep 0.02; done`], { stdio: "ignore" })
    const holderGone = new Promise((done) => holder.on("close", done))
    await until(() => existsSync(holding), "the lock is held")
    const early = startService("early", env)
    await until(() => readCommandLog(instance.fake).some((c) => c.line.includes(" -t tiny-cloud/early[") && c.stdin.includes("another phase is running; waiting for it to end")), "early waits for the lock")
    // what early asks while it waits
    const waiting = asked()
    writeFileSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"), "")
    writeFileSync(go, "")
    await holderGone
    const r = await early
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("another phase is running; waiting for it to end\nalready bootstrapped\n")
    expect(waiting).toEqual(before)
    expect(asked()).toEqual(before)
    // nor after the phase: a read-ahead it never decided on is not started as it ends (the bootstrap complete, the server then ends)
    await until(() => !alive(pid), "the resident process ends once the bootstrap is complete")
    expect(asked()).toEqual(before)
  })

  itSystem("starts a phase's logger while the lock's flock runs, not once flock has ended (each a fork of the whole process)", { tools: { flock: "util-linux" } }, async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    // on early's PATH: a logger that says it started, and a flock that waits for one to start (at most 2000 rounds, which
    // only a program that starts none waits out), says whether it did, and then locks
    const tools = join(instance.dir, "early-tools")
    const order = join(instance.dir, "order")
    mkdirSync(tools)
    writeFileSync(join(tools, "logger"), `#!/bin/sh\necho logger >> '${order}'\nPATH=\${PATH#*:} exec logger "$@"\n`, { mode: 0o755 })
    writeFileSync(
      join(tools, "flock"),
      `#!/bin/sh\nn=0\nwhile [ $n -lt 2000 ] && ! grep -q logger '${order}' 2>/dev/null; do sleep 0.01; n=$((n + 1)); done\necho flock >> '${order}'\nPATH=\${PATH#*:} exec flock "$@"\n`,
      { mode: 0o755 }
    )
    const early = await startService("early", { ...env, PATH: `${tools}:${env.PATH}` })
    expect(early.code).toBe(0)
    expect(early.stderr).not.toMatch(/cannot lock/)
    expect(readFileSync(order, "utf8").split("\n").slice(0, 2)).toEqual(["logger", "flock"])
    await logged(instance, "early")
  })

  it("taking a request just as its client's watchdog gives up on it (a slow CPU), the phase runs once: by the server, for that client", async ({ expect }) => {
    // the server, stopped, does not take main's request; the client's watchdog answers T.
    // The client, slow, has read the T but not yet withdrawn the request when the server goes on and takes it: its kill of the
    // watchdog (the next step after the read, a function here in place of the builtin) lets the server on and waits for the take
    const { instance, env, pid, quick } = await stoppedBeforeMain()
    const slowClient = [
      "_late=",
      `kill() { if [ "$1" != -0 ] && [ -z "$_late" ]; then _late=1; command kill -CONT ${pid}; while [ -e "$_tc_env" ]; do :; done; fi; command kill "$@"; }`
    ].join("; ")
    const main = await startService("main", env, ["sh"], `${quick}; ${slowClient}`)
    expect(main.code).toBe(0)
    // main once: the server's run made the user, so a second run finds it
    expect(main.stderr).not.toMatch(/already exists|another phase is running/)
    expect((await startService("final", env)).code).toBe(0)
    await until(() => !alive(pid), "the resident process exits after final")
    const tags = readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ") && c.line.includes(" -t tiny-cloud/main[")).map((c) => c.line.split(" -t ")[1])
    expect(new Set(tags)).toEqual(new Set([`tiny-cloud/main[${pid}]`]))
    expect(readCommandLog(instance.fake).filter((c) => c.line.startsWith("adduser "))).toHaveLength(1)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  for (const end of ["answers", "dies"] as const) {
    it(`a server that took the request and is held there (alive, not answering) is waited for past the watchdog's second round; then it ${end}: the phase runs once, in ${end === "answers" ? "the server" : "the client"}`, async ({ expect }) => {
      // the client's watchdog answers T; its withdrawal finds the request taken by the server, which is held before it answers
      const { instance, env, pid, quick, waits, dir } = await stoppedBeforeMain()
      let finished = false
      const main = startService("main", env, ["sh"], `${quick}; ${holdingServer(pid)}`).then((r) => ((finished = true), r))
      // two watchdog rounds are 100 waits: past them, a client that still waits waits for the server
      await until(() => finished || waits().length > 120, "main's client gives up or waits past two rounds")
      const held = readdirSync(dir).find((f) => f.endsWith(".held"))!
      if (end === "answers") writeFileSync(join(dir, held.replace(/\.held$/, ".taken")), readFileSync(join(dir, held)))
      else process.kill(pid, "SIGKILL")
      rmSync(join(dir, held))
      const r = await main
      expect(r.code).toBe(0)
      expect(r.stderr).not.toMatch(/already exists|another phase is running/)
      expect((await startService("final", env)).code).toBe(0)
      await until(() => !alive(pid), "the resident process is gone")
      expect(readCommandLog(instance.fake).filter((c) => c.line.startsWith("adduser "))).toHaveLength(1)
      const tags = readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ") && c.line.includes(" -t tiny-cloud/main[")).map((c) => c.line.split(" -t ")[1])
      expect(new Set(tags).size).toBe(1)
      expect(tags.includes(`tiny-cloud/main[${pid}]`)).toBe(end === "answers")
      // a server that dies leaves its request FIFO and names to the next one (as when killed between phases), nothing of the client's
      const left = readdirSync(dir)
      expect(end === "answers" ? left : left.filter((f) => /^(?:env|reply)\./.test(f))).toEqual([])
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  }

  it("its client killed while it waits for a server that took its request, its watchdog goes too (it does not wait out the server)", async () => {
    const { env, pid, quick, waits, dir } = await stoppedBeforeMain()
    const main = startService("main", env, ["sh"], `${quick}; ${holdingServer(pid)}`)
    await until(() => waits().length > 120, "main's client waits past two rounds")
    const client = Number(readdirSync(dir).find((f) => /^reply\.\d+$/.test(f))!.slice("reply.".length))
    const watchdog = waits().at(-1)!
    process.kill(client, "SIGKILL")
    await main
    await until(() => !alive(watchdog), "the watchdog ends with its client")
    process.kill(pid, "SIGKILL")
  })

  it("its client killed just after it withdrew its request leaves nothing behind once the server gets to it: the next phase is served", async ({ expect }) => {
    // the client's watchdog answers T; the client withdraws the request (mv) and is killed then (a function in place of mv)
    const { instance, env, pid, quick, dir } = await stoppedBeforeMain()
    const main = await startService("main", env, ["sh"], `${quick}; mv() { command mv "$@"; command kill -KILL $$; }`)
    expect(main.code).not.toBe(0)
    process.kill(pid, "SIGCONT")
    // main never ran: final, served, says so and leaves the first boot to the next boot
    const final = await startService("final", env)
    expect(final.code).toBe(1)
    expect(final.stderr).toContain("bootstrap_complete: the main phase did not run in this first boot")
    await until(() => !alive(pid), "the resident process exits after final")
    expect(readCommandLog(instance.fake).some((c) => c.line.includes(` -t tiny-cloud/final[${pid}]`))).toBe(true)
    expect(readdirSync(dir)).toEqual([])
  })

  it("the programs a phase runs see that phase's own environment, not the boot service's", async ({ expect }) => {
    const { instance, env } = await newInstance('#!/bin/sh\necho "service=$RC_SVCNAME only=${ONLY_FINAL-unset}"\n')
    await bootAndServe({ ...env, RC_SVCNAME: "tiny-cloud-boot" }, instance)
    const pid = serverPid(instance)!
    for (const phase of ["early", "main"]) expect((await startService(phase, { ...env, RC_SVCNAME: `tiny-cloud-${phase}` })).code).toBe(0)
    const final = await startService("final", { ...env, RC_SVCNAME: "tiny-cloud-final", ONLY_FINAL: "yes" })
    expect([final.code, final.stdout]).toEqual([0, "service=tiny-cloud-final only=yes\n"])
    // it was the resident process's run
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toContain(`tiny-cloud/final[${pid}]`)
  })

  it("a phase takes its lock with the flock its client's PATH finds, as its other programs, not the boot service's", async ({ expect }) => {
    const { instance, env } = await newInstance()
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    // a flock that fails, on early's PATH alone: a process of its own would run it
    const tools = join(instance.dir, "early-tools")
    mkdirSync(tools)
    writeFileSync(join(tools, "flock"), "#!/bin/sh\necho \"flock: cannot lock: on early's PATH\" >&2\nexit 64\n", { mode: 0o755 })
    const early = await startService("early", { ...env, PATH: `${tools}:${env.PATH}` })
    expect(early.code).toBe(0)
    expect(early.stderr).toMatch(new RegExp(`^cannot lock ${instance.root}/var/lib/cloud: flock: cannot lock: on early's PATH; the phase runs without the lock\n`))
    // it was the resident process's run
    await logged(instance, "early")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toContain(`tiny-cloud/early[${pid}]`)
  })

  it("a phase gets its client's umask, not the boot service's: the user's files and the program's own, as from a process of its own", async ({ expect }) => {
    const { instance, env } = await newInstance('#!/bin/sh\numask\ntouch "$ROOT/etc/from-user-data"\n')
    await bootAndServe(env, instance)
    const pid = serverPid(instance)!
    for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
    const final = await startService("final", env, ["sh"], "umask 077")
    expect([final.code, final.stdout]).toEqual([0, "0077\n"])
    expect(instance.mode("/etc/from-user-data")).toBe(0o600)
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toContain(`tiny-cloud/final[${pid}]`)
  })

  it("a phase runs in its client's working directory, not the boot service's: a user-data script's pwd, as from a process of its own; then the server's own again", async ({ expect }) => {
    const { instance, env } = await newInstance("#!/bin/sh\npwd\n")
    const [started, asked] = ["boot-cwd", "final-cwd"].map((d) => join(instance.dir, d))
    for (const d of [started, asked]) mkdirSync(d)
    await bootAndServe(env, instance, `cd '${started}'`)
    const pid = serverPid(instance)!
    for (const phase of ["early", "main"]) expect((await startService(phase, env, ["sh"], `cd '${asked}'`)).code).toBe(0)
    // between the phases, where it started
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(started)
    const final = await startService("final", env, ["sh"], `cd '${asked}'`)
    expect([final.code, final.stdout]).toEqual([0, `${asked}\n`])
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toContain(`tiny-cloud/final[${pid}]`)
  })

  it("a relative ROOT: what early reads ahead is read as the phase reads it, from its client's working directory, not the server's (its tiny-cloud.conf, the endpoint there)", async ({ expect }) => {
    const { instance, env } = await newInstance()
    // another tree, where the server's working directory takes the same relative ROOT: its tiny-cloud.conf names another service
    const other = await newInstance()
    const started = join(instance.dir, "started")
    mkdirSync(join(started, "root/etc"), { recursive: true })
    writeFileSync(join(started, "root/etc/tiny-cloud.conf"), `CLOUD=aws\nIMDS_ENDPOINT=${other.instance.env.IMDS_ENDPOINT}\n`)
    instance.write("/etc/tiny-cloud.conf", `CLOUD=aws\nIMDS_ENDPOINT=${instance.env.IMDS_ENDPOINT}\n`)
    const { CLOUD: _cloud, IMDS_ENDPOINT: _endpoint, ...rest } = env
    expect(instance.root).toBe(join(instance.dir, "root"))
    // the boot service in `started` (ROOT ../root), the other services in the instance's directory (ROOT root): the same tree
    await bootAndServe({ ...rest, ROOT: "../root" }, instance, `cd '${started}'`)
    const pid = serverPid(instance)!
    const results = []
    for (const phase of ["early", "main", "final"]) results.push(await startService(phase, { ...rest, ROOT: "root" }, ["sh"], `cd '${instance.dir}'`))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0])
    expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toContain(`tiny-cloud/early[${pid}]`)
    expect(other.instance.sim!.requests.map((r) => r.path)).toEqual([])
  })

  it("a relative ROOT with '..' after a symbolic link (link/../root) is where the kernel finds it, as for the boot service and the clients: it serves there, and makes nothing where the text alone would lead", async ({ expect }) => {
    const { instance, env } = await newInstance()
    // from `started`, link/../root is the link target's parent's root: the instance's; read as text, started/root
    const started = join(instance.dir, "started")
    mkdirSync(join(instance.dir, "target"))
    mkdirSync(started)
    symlinkSync(join(instance.dir, "target"), join(started, "link"))
    const relative = { ...env, ROOT: "link/../root" }
    const cd = `cd '${started}'`
    expect((await startService("boot", relative, ["sh"], cd)).code).toBe(0)
    const pid = serverPid(instance)
    expect(pid).toBeDefined()
    expect((await startService("early", relative, ["sh"], cd)).code).toBe(0)
    expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
    await logged(instance, "early")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toEqual([`tiny-cloud/boot[${pid}]`, `tiny-cloud/early[${pid}]`])
    expect(existsSync(join(started, "root"))).toBe(false)
  })

  it("puts its own umask back after each phase: a client that writes none (an older client.sh) after one with 077 gets the server's, not 077", async ({ expect }) => {
    const { instance, env } = await newInstance("#!/bin/sh\numask\n")
    // the server's: the boot service's, which starts it
    await bootAndServe(env, instance, "umask 022")
    const pid = serverPid(instance)!
    for (const phase of ["early", "main"]) expect((await startService(phase, env, ["sh"], "umask 077")).code).toBe(0)
    // a umask that prints nothing: its env.PID is an older client's, its environment alone
    const final = await startService("final", env, ["sh"], "umask 027; umask() { :; }")
    expect([final.code, final.stdout]).toEqual([0, "0022\n"])
    await logged(instance, "final")
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags).toContain(`tiny-cloud/final[${pid}]`)
  })

  it("a first boot whose services run with umask 0, as mdev and some supervisors start programs, makes nothing under ROOT that others may write", async ({ expect }) => {
    const { instance, env } = await newInstance("#!/bin/sh\ntrue\n")
    let pid: number | undefined
    for (const phase of ["boot", "early", "main", "final"]) {
      expect((await startService(phase, env, ["sh"], "umask 0")).code).toBe(0)
      pid ??= serverPid(instance)
    }
    // its files gone with it before they are looked at (server.pid was once found by the walk and gone when asked its mode)
    if (pid !== undefined) await until(() => !alive(pid!), "the resident process exits after final")
    // what the phases made (the state directory, ~/.ssh, /etc/hostname...): none writable by its group or others. The stand-ins of
    // adduser and addgroup make the home and /etc/group with the umask (busybox's own give them their modes): theirs are not looked at
    const theStandIns = new Set(["/etc/group", "/home", "/home/alpine"])
    // the image's own /tmp and /var/tmp are everybody's (sticky), as on Alpine
    const theImage = new Set(["/tmp", "/var/tmp"])
    const writable: Array<string> = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isSymbolicLink()) continue
        const name = path.slice(instance.root.length)
        if ((lstatSync(path).mode & 0o022) !== 0 && !entry.isSocket() && !entry.isFIFO() && !theStandIns.has(name) && !theImage.has(name)) writable.push(name)
        if (entry.isDirectory()) walk(path)
      }
    }
    walk(instance.root)
    expect(writable).toEqual([])
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  it("a first boot whose services run with umask 077 makes the home an image's account lacks, and its parents, ones the user may enter: sshd reads authorized_keys as the user", async ({ expect }) => {
    const { instance, env } = await newInstance("#!/bin/sh\ntrue\n")
    // the image's alpine, whose home (and /home) the image lacks: create_default_user makes no account, set_ssh_keys makes the home
    instance.write("/etc/passwd", `${instance.read("/etc/passwd")}alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n`)
    instance.write("/etc/group", `${instance.read("/etc/group")}alpine:x:1000:\n`)
    instance.write("/etc/shadow", `${instance.read("/etc/shadow")}alpine:*:20000:0:99999:7:::\n`)
    rmSync(join(instance.root, "home"), { recursive: true, force: true })
    for (const phase of ["boot", "early", "main", "final"]) expect((await startService(phase, env, ["sh"], "umask 077")).code).toBe(0)
    const mode = (path: string) => (lstatSync(join(instance.root, path)).mode & 0o7777).toString(8)
    // before: /home and /home/alpine 0700 (mkdir's 0755 less the umask), root's /home closed to alpine
    expect(["/home", "/home/alpine", "/home/alpine/.ssh", "/home/alpine/.ssh/authorized_keys"].map(mode)).toEqual(["755", "755", "700", "600"])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(KEYS.map((k) => `${k}\n`).join(""))
  })

  // the shells OpenRC's services may run under
  describeSystem("from other shells", { tools: SHELLS }, () => {
    it.for(["dash", "busybox sh", "bash --posix", "bash"])(
      "a phase asked from %s sees its client's environment to the byte: quotes, $, backslashes, newlines, unicode, long values, unset and empty",
      async (sh, { expect }) => {
        const shell = sh.split(" ")
        const { instance, env } = await newInstance(
          '#!/bin/sh\nfor v in A B C D E F; do eval "printf \'%s=[%s]\\n\' $v \\"\\${$v-unset}\\""; done\necho "L=${#L}"\n'
        )
        const exports = `export A="it's"; export B='a"b$c\\d\`e'; export C="one\nline 'two'"; export D=""; export E="\u00fcn\u00ef \u{1F600}"; export F; unset F; export L=$(printf '%0100000d' 0)`
        await bootAndServe(env, instance)
        const pid = serverPid(instance)!
        for (const phase of ["early", "main"]) expect((await startService(phase, env, shell)).code).toBe(0)
        const final = await startService("final", env, shell, exports)
        expect([final.code, final.stdout]).toEqual([0, `A=[it's]\nB=[a"b$c\\d\`e]\nC=[one\nline 'two']\nD=[]\nE=[\u00fcn\u00ef \u{1F600}]\nF=[unset]\nL=100000\n`])
        await logged(instance, "final")
        const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
        expect(tags).toContain(`tiny-cloud/final[${pid}]`)
      }
    )

    it.for(["dash", "busybox sh"])("a phase asked from %s gives the user's program's stdout byte for byte: characters split between chunks, bytes that are not UTF-8", async (sh, { expect }) => {
      const shell = sh.split(" ")
      const { instance, env } = await newInstance("#!/bin/sh\nyes '\u00fc\u20ac\u{1F600}' | head -n 2000\nprintf 'latin1 \\351 no newline'\n")
      await bootAndServe(env, instance)
      for (const phase of ["early", "main"]) expect((await startService(phase, env, shell)).code).toBe(0)
      const final = await startServiceBytes("final", env, shell)
      expect(final.code).toBe(0)
      expect(final.stdout.equals(Buffer.concat([Buffer.from("\u00fc\u20ac\u{1F600}\n".repeat(2000)), Buffer.from("latin1 \xe9 no newline", "latin1")]))).toBe(true)
    })
  })

  it("a client of another ROOT never reaches it", async ({ expect }) => {
    const first = await newInstance()
    await bootAndServe(first.env, first.instance)
    const requestsBefore = first.instance.sim!.requests.length
    const second = await newInstance()
    expect((await startService("early", second.env)).code).toBe(0)
    expect(second.instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
    expect(first.instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    expect(first.instance.sim!.requests.length).toBe(requestsBefore)
  })

  it("a run directory others may enter (made by something else, 0755) is not its own: it says so in one line and does not serve", async ({ expect }) => {
    const { instance } = await newInstance()
    mkdirSync(join(instance.root, "run/tiny-cloud"), { recursive: true, mode: 0o755 })
    chmodSync(join(instance.root, "run/tiny-cloud"), 0o755)
    // (were it to serve, it would not wait long)
    expect(await runProgram(["serve"], { ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "0.5" })).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud serve: ${instance.root}/run/tiny-cloud: not this user's alone; not serving\n` })
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  // (its owner another user: only root may give it one)
  it.skipIf(process.getuid?.() !== 0)("a run directory of another user's, for that user alone (0700), is not its own: it says so in one line and does not serve", async ({ expect }) => {
    const { instance } = await newInstance()
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true, mode: 0o700 })
    chmodSync(run, 0o700)
    chownSync(run, 65534, 65534)
    // (were it to serve, it would not wait long)
    expect(await runProgram(["serve"], { ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "0.5" })).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud serve: ${run}: not this user's alone; not serving\n` })
    expect(readdirSync(run)).toEqual([])
  })

  // a user who owns the run directory (planted in an image whose /run is no tmpfs) may name any process of theirs its server
  // and plant what they like where root's services write: their server.starting and env.PID, their request
  itSystem("a run directory of another user's, where that user's program (named tiny-cloud-serve) poses as the server: the services ask it nothing and write nothing there; each phase runs in a process of its own", { root: true, tools: { setpriv: "util-linux", dash: "dash" } }, async ({ expect }) => {
    const { instance, env } = await newInstance()
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true, mode: 0o700 })
    for (const dir of [instance.dir, instance.root, join(instance.root, "run")]) chmodSync(dir, 0o755)
    chmodSync(run, 0o700)
    chownSync(run, 65534, 65534)
    // the user's program: a shell by the server's name (its command name, as ps shows it), which names itself in server.pid,
    // makes the request FIFO, and keeps the request it is sent (in a directory of its own, which it may write)
    const theirs = join(instance.dir, "theirs")
    mkdirSync(theirs, { mode: 0o755 })
    chownSync(theirs, 65534, 65534)
    execFileSync("cp", [which("dash")!, join(theirs, "tiny-cloud-serve")])
    const poser = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", join(theirs, "tiny-cloud-serve"), "-c", `cd '${run}' && mkfifo -m 622 requests && echo $$ > server.pid && read -r asked < requests && echo "$asked" > '${theirs}/asked'`], { stdio: "ignore" })
    const ended = new Promise((done) => poser.on("close", done))
    await until(() => existsSync(join(run, "server.pid")) && existsSync(join(run, "requests")), "the user's server.pid and FIFO")
    const results = []
    for (const phase of ["boot", "early", "main", "final"]) results.push(await startService(phase, env))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[...KEYS].sort().join("\n")}\n`)
    // before: the boot service wrote server.starting there, and every client sent its request (and wrote its environment) to the user's program
    expect(existsSync(join(theirs, "asked")) ? readFileSync(join(theirs, "asked"), "utf8") : "nothing asked").toBe("nothing asked")
    expect(readdirSync(run).sort()).toEqual(["requests", "server.pid"])
    poser.kill("SIGKILL")
    await ended
  })

  it.for(["/run/tiny-cloud", "/run"])("%s a symbolic link out of ROOT (planted in an image): nothing is made through it, by the boot service or the server; the services run each phase in a process of their own", async (link, { expect }) => {
    const { instance, env } = await newInstance()
    const outside = join(instance.dir, "outside")
    mkdirSync(outside, { mode: 0o700 })
    mkdirSync(join(instance.root, link, ".."), { recursive: true })
    symlinkSync(outside, join(instance.root, link))
    // by hand: one line (were it to serve, it would not wait long)
    expect(await runProgram(["serve"], { ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "0.5" })).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud serve: ${instance.root}/run/tiny-cloud: reached through a symbolic link; not serving\n` })
    const results = []
    for (const phase of ["boot", "early", "main", "final"]) results.push(await startService(phase, env))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[...KEYS].sort().join("\n")}\n`)
    expect(readdirSync(outside)).toEqual([])
    // a phase that fails there keeps its exit status, as from a process of its own (a bad value: exit 1)
    rmSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"))
    expect((await startService("main", { ...env, IMDS_TIMEOUT: "-1" })).code).toBe(1)
  })

  it.for([
    ["server.pid", "a FIFO"],
    ["server.pid", "a link out of ROOT"],
    ["server.pid", "a directory"],
    ["server.pid", "a hard link to a file out of ROOT"],
    ["server.starting", "a FIFO"],
    ["server.starting", "a link out of ROOT"],
    ["server.starting", "a hard link to a file out of ROOT"]
  ])("/run/tiny-cloud/%s %s (planted in an image): no service or server waits on it, reads or writes through it, or stops on it; the phases are served", async ([name, planted], { expect }) => {
    const { instance, env } = await newInstance()
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true, mode: 0o700 })
    chmodSync(run, 0o700)
    const outside = join(instance.dir, "outside")
    writeFileSync(outside, "the host's file\n")
    if (planted === "a FIFO") execFileSync("mkfifo", ["-m", "600", join(run, name!)])
    else if (planted === "a directory") mkdirSync(join(run, name!))
    // (another name of that file, on the same file system: where /run is no tmpfs, an image's /etc/passwd)
    else if (planted === "a hard link to a file out of ROOT") linkSync(outside, join(run, name!))
    else symlinkSync(outside, join(run, name!))
    const results = []
    for (const phase of ["boot", "early", "main", "final"]) results.push(await startService(phase, env))
    expect(results.map((r) => [r.code, r.stderr.split("\n").filter((l) => l !== "" && !/^ {3}(\+\+|--) /.test(l) && !l.startsWith("hello") && !l.startsWith("to stderr"))])).toEqual([[0, []], [0, []], [0, []], [0, []]])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[...KEYS].sort().join("\n")}\n`)
    expect(readFileSync(outside, "utf8")).toBe("the host's file\n")
    await logged(instance, "final")
    // the resident process served them, where it can write its name (not in a directory's place: each phase a process of its own)
    const pids = new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ") && / -t tiny-cloud\/(early|main|final)\[/.test(c.line)).map((c) => c.line.split("[")[1]))
    expect(pids.size).toBe(planted === "a directory" ? 3 : 1)
  })

  it.for([
    ["/run/tiny-cloud", "a crashed server's leftovers"],
    ["/run/tiny-cloud", "a live server"],
    ["/run", "a crashed server's leftovers"],
    ["/run", "a live server"]
  ] as const)("%s a symbolic link to another ROOT's run directory, holding %s: the clients ask nobody and remove nothing through it", async ([link, held], { expect }) => {
    const { instance, env } = await newInstance()
    const other = await newInstance()
    const outside = join(other.instance.root, "run/tiny-cloud")
    if (held === "a live server") await bootAndServe(other.env, other.instance)
    else {
      mkdirSync(outside, { recursive: true, mode: 0o700 })
      execFileSync("mkfifo", ["-m", "600", join(outside, "requests")])
      writeFileSync(join(outside, "server.pid"), "999999\n", { mode: 0o600 })
    }
    const before = readdirSync(outside).sort()
    const otherPid = serverPid(other.instance)
    if (link === "/run") {
      // the image's /run a link to the other ROOT's: $ROOT/run/tiny-cloud is then a directory reached through it
      rmSync(join(instance.root, "run"), { recursive: true, force: true })
      symlinkSync(join(other.instance.root, "run"), join(instance.root, "run"))
    } else {
      mkdirSync(join(instance.root, "run"), { recursive: true })
      symlinkSync(outside, join(instance.root, "run/tiny-cloud"))
    }
    const results = []
    for (const phase of ["boot", "early", "main", "final"]) results.push(await startService(phase, env))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[...KEYS].sort().join("\n")}\n`)
    await logged(instance, "final")
    // each phase a process of its own: none by the other ROOT's server, and its run directory as it was
    const tags = [...new Set(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.line.split(" -t ")[1]))]
    expect(tags.filter((t) => otherPid !== undefined && t!.endsWith(`[${otherPid}]`))).toEqual([])
    expect(readdirSync(outside).sort()).toEqual(before)
  })

  it("where its run directory cannot be its own, it says so in one line and does not serve: the services run each phase in a process of their own", async ({ expect }) => {
    const { instance, env } = await newInstance()
    instance.write("/run/tiny-cloud", "not a directory")
    expect(await runProgram(["serve"], instance.env)).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud serve: ${instance.root}/run/tiny-cloud: not a directory; not serving\n` })
    const results = []
    for (const phase of ["boot", "early", "main", "final"]) results.push(await startService(phase, env))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[...KEYS].sort().join("\n")}\n`)
  })
})
