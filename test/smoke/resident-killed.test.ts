/**
 * The resident process killed outright before final (SIGKILL: an OOM kill,
 * an operator's kill -9) cannot clean up after itself: final, run by its
 * service in a process of its own, leaves the run directory as a served
 * first boot does. Killed as it takes a phase, before that phase recorded
 * anything, the bootstrap is not marked complete: the next boot runs it.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, it } from "vitest"
import { makeInstance, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, bootAndServe, endResident, firstBootServices, serverPid, servicesEnv, startService, until } from "../support/openrc.js"

const open: Array<TestInstance> = []
afterAll(() => Promise.all(open.map((i) => (endResident(i), i.close()))))

/** an instance served up to main, with `script` as its user-data, its resident process then SIGKILLed; final's service run, and what run/tiny-cloud holds after it */
const finalAfterKill = async (script: string) => {
  const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "k-1", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilled k@example"], userData: new TextEncoder().encode(script) } })
  open.push(instance)
  const env = servicesEnv(instance)
  await bootAndServe(env, instance)
  for (const phase of ["early", "main"]) if ((await startService(phase, env)).code !== 0) throw new Error(`${phase} failed`)
  const pid = serverPid(instance)!
  process.kill(pid, "SIGKILL")
  await until(() => !alive(pid), "the resident process is gone")
  const final = await startService("final", env)
  return { instance, final, left: readdirSync(join(instance.root, "run/tiny-cloud")) }
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
    // main's lock, taken before its run is recorded, with the flock of main's PATH: it says so, and waits to be let go
    const tools = join(instance.dir, "main-tools")
    mkdirSync(tools)
    const [taking, go] = [join(instance.dir, "taking"), join(instance.dir, "go")]
    writeFileSync(join(tools, "flock"), `#!/bin/sh\ntouch '${taking}'\nwhile [ ! -e '${go}' ]; do sleep 0.05; done\nPATH=\${PATH#*:} exec flock "$@"\n`, { mode: 0o755 })
    const pid = serverPid(instance)!
    const main = startService("main", { ...env, PATH: `${tools}:${env.PATH}` })
    await until(() => readdirSync(instance.dir).includes("taking"), "main takes its lock")
    process.kill(pid, "SIGKILL")
    await until(() => !alive(pid), "the resident process is gone")
    writeFileSync(go, "")
    const r = await main
    expect([r.code, r.stderr]).toEqual([1, "tiny-cloud/main: the resident process ended during the phase; it is not run again\n"])
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
