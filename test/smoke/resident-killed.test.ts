/**
 * The resident process killed outright before final (SIGKILL: an OOM kill,
 * an operator's kill -9) cannot clean up after itself: final, run by its
 * service in a process of its own, leaves the run directory as a served
 * first boot does.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, it } from "vitest"
import { makeInstance, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, bootAndServe, endResident, serverPid, servicesEnv, startService, until } from "../support/openrc.js"

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
