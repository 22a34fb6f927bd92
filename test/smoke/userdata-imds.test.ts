/**
 * `imds` as Alpine users call it from a user-data script (`#!/bin/sh` with
 * `$(imds meta-data/...)`, `imds @ssh-keys`, `imds -e @hostname`): during
 * final, through the resident process of a first boot as OpenRC runs it and
 * with a process per phase, the bundled program by the name `imds` on the
 * script's PATH answers as the shell edition's does: the values as the cloud
 * serves them, a missing datum empty with status 1 (busybox wget's), 0 after -e.
 */
import { symlinkSync } from "node:fs"
import { join } from "node:path"
import { describe, it } from "vitest"
import { makeInstance, PROGRAM, type RunResult } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, firstBootServices, serverPid, servicesEnv, until } from "../support/openrc.js"

const HOST = "app-3.example.internal"
const KEYS = ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQUserDataImdsB b@example", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserDataImdsA a@example"]
const SCRIPT = `#!/bin/sh
echo "host=$(imds -e @hostname)"
echo "local=$(imds @local-hostname +n)"
imds @ssh-keys
echo "id=$(imds meta-data/instance-id)"
m=$(imds meta-data/placement/nowhere 2>/dev/null); echo "missing=[$m] $?"
imds -e meta-data/placement/nowhere 2>/dev/null; echo "ignored=$?"
`

describe("imds in a user-data script during final", () => {
  for (const how of ["through the resident process", "a process per phase"]) {
    it(how, async ({ expect }) => {
      const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: HOST, localHostname: HOST, sshKeys: KEYS, userData: new TextEncoder().encode(SCRIPT) } })
      try {
        const env = servicesEnv(instance)
        // on the script's PATH, as make install puts it at $PREFIX/bin/imds
        symlinkSync(PROGRAM, join(instance.dir, "program", "imds"))
        let results: Array<RunResult>
        if (how === "through the resident process") {
          results = await firstBootServices(env)
          const pid = serverPid(instance)
          if (pid !== undefined) await until(() => !alive(pid), "the resident process exits after final")
        } else {
          results = []
          for (const phase of ["boot", "early", "main", "final"]) results.push(await instance.run([phase], { PATH: env.PATH! }))
        }
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        const id = (await instance.imds(["meta-data/instance-id"])).stdout
        expect(id).not.toBe("")
        const log = [`host=${HOST}`, `local=${HOST}`, ...[...KEYS].sort(), `id=${id}`, "missing=[] 1", "ignored=0", ""].join("\n")
        expect(instance.read("/var/log/user-data.log")).toBe(log)
        expect(results[3]!.stdout).toBe(log)
        expect(instance.read("/var/log/user-data.exit")).toBe("0\n")
      } finally {
        await instance.close()
      }
    })
  }
})
