/**
 * A first boot per cloud as OpenRC runs it: the four services' start(), the
 * boot service starting the bundled program's resident process, against the
 * metadata simulator, over a temporary ROOT with recording stand-ins for the
 * system commands. The clouds are the registry's. (A process per phase, as
 * when run by hand, is compared with this in resident.test.ts.)
 */
import { describe } from "vitest"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { simulatedCloud } from "../../src/sim/simulator.js"
import { actionLines, makeInstance, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, firstBootServices, serverPid, servicesEnv, until } from "../support/openrc.js"
import { itSystem } from "../support/system.js"

const HOST = "web-1.example.internal"
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB it's b:\"quoted\" $HOME"
/** every cloud serves it; incus reads its keys from it */
const USER_DATA = `#cloud-config
ssh_authorized_keys:
  - ${JSON.stringify(KEY_A)}
  - ${JSON.stringify(KEY_B)}
write_files:
  - path: /etc/smoke
    content: "written by user-data\\n"
`

const withInstance = async (cloud: string, body: (i: TestInstance) => Promise<void>) => {
  const instance = await makeInstance({ cloud, env: PATIENT_METADATA, instance: { hostname: HOST, localHostname: HOST, sshKeys: [KEY_B, KEY_A, KEY_B], userData: new TextEncoder().encode(USER_DATA) } })
  try {
    await body(instance)
  } finally {
    await instance.close()
  }
}

const privileged = new Set((await Promise.all(CLOUD_NAMES.map(async (c) => ((await simulatedCloud(c)).privilegedPort ? [c] : [])))).flat())

describe.concurrent.each(CLOUD_NAMES)("%s", (cloud) => {
  itSystem(
    `first boot on ${cloud}: hostname, keys, user-data, marker; then a phase does nothing`,
    { root: privileged.has(cloud) },
    ({ expect }) =>
      withInstance(cloud, async (instance) => {
        const env = servicesEnv(instance)
        const results = await firstBootServices(env)
        const pid = serverPid(instance)
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        expect(actionLines(results[2]!.stderr).filter((l) => l.endsWith("failed"))).toEqual([])
        expect(instance.read("/etc/hostname")).toBe("web-1\n")
        expect(instance.read("/etc/hosts")).toBe(`127.0.0.1\tlocalhost\n127.0.1.1\t${HOST} web-1\n`)
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[KEY_A, KEY_B].sort().join("\n")}\n`)
        expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
        expect(instance.read("/etc/smoke")).toBe("written by user-data\n")
        expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
        if (pid !== undefined) await until(() => !alive(pid), "the resident process exits after final")
        // the program's decision, in this process (a later boot's phase as a process of its own: simulate.test.ts's second boot)
        expect(await instance.runHere(["main"])).toEqual({ code: 0, stdout: "", stderr: "already bootstrapped\n" })
      })
  )
})
