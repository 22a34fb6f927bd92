/**
 * A phase's stdout through the resident process, byte for byte as from a
 * process of its own: the NUL bytes a user-data program prints included,
 * which no shell variable of the client can hold.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, it } from "vitest"
import { makeInstance, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { bootAndServe, endResident, SERVICES, serverPid, servicesEnv, startServiceBytes } from "../support/openrc.js"

const SCRIPT = "#!/bin/sh\nprintf 'a\\000b\\n'\nprintf '\\000\\000'\nprintf 'c\\000'\n"

const open: Array<TestInstance> = []
const dirs: Array<string> = []
afterAll(() => Promise.all(open.map((i) => (endResident(i), i.close()))).finally(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))))

/** final's stdout, the services run with the client in `lib` (undefined: a process per phase) */
const finalStdout = async (lib: string | undefined) => {
  const instance = await makeInstance({ cloud: "nocloud", env: PATIENT_METADATA, instance: { hostname: "o-1", userData: new TextEncoder().encode(SCRIPT) } })
  open.push(instance)
  const env = { ...servicesEnv(instance), TINY_CLOUD_LIB: lib ?? "/nonexistent" }
  if (lib === undefined) await startServiceBytes("boot", env)
  else await bootAndServe(env, instance)
  const pid = serverPid(instance)
  for (const phase of ["early", "main"]) await startServiceBytes(phase, env)
  const final = await startServiceBytes("final", env)
  return { stdout: final.stdout, code: final.code, served: pid !== undefined }
}

describe("a phase's stdout through the resident process", () => {
  it("passes a user-data program's NUL bytes as a process of its own prints them", async ({ expect }) => {
    const [alone, served] = await Promise.all([finalStdout(undefined), finalStdout(SERVICES)])
    expect(alone).toEqual({ stdout: Buffer.from("a\0b\n\0\0c\0"), code: 0, served: false })
    // before: "ab\nc", the client's read dropping them
    expect(served).toEqual({ ...alone, served: true })
  })

  it("to a client that does not know the NUL line (the release before it), the rest of the output as before: the NULs left out", async ({ expect }) => {
    const older = mkdtempSync(join(tmpdir(), "tiny-cloud-older-client-"))
    dirs.push(older)
    writeFileSync(join(older, "client.sh"), readFileSync(join(SERVICES, "client.sh"), "utf8").replace(/^\t\t10\) .*\n/m, ""))
    expect(readFileSync(join(older, "client.sh"), "utf8")).not.toContain("\t\t10)")
    expect(await finalStdout(older)).toEqual({ stdout: Buffer.from("ab\nc"), code: 0, served: true })
  })
})
