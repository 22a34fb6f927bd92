/**
 * A first boot under the limits an operator may give the services (OpenRC's
 * `rc_ulimit` in /etc/conf.d or /etc/rc.conf), which the phases inherit.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "vitest"
import { useInstances } from "../support/harness.js"
import { bootAndServe, endResident, servicesEnv, startService } from "../support/openrc.js"
import { which } from "../support/system.js"

const newInstance = useInstances()
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILimits a@example"

// under each sh the services may run under that is here
const shells = [["dash"], ["busybox", "sh"]].filter(([s]) => which(s!) !== undefined)

it.each(shells.map((s) => [s.join(" "), s] as const))(
  "a file size limit (ulimit -f) the services' environment does not fit in (%s): the client says so in one line, not the shell's `File size limit exceeded` or a full disk, and runs the phase itself",
  async (_, shell) => {
    const userData = "#!/bin/sh\necho ran\n"
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
    const env = servicesEnv(instance)
    try {
      await bootAndServe(env, instance)
      // 8 KiB (16 blocks of 512 bytes): the phase's own files fit, the exported environment (a 12 KB variable) does not
      const early = await startService("early", { ...env, PADDING: "x".repeat(12000) }, shell, "ulimit -f 16")
      const run = join(instance.root, "run/tiny-cloud")
      expect(early.stderr.split("\n")[0]).toMatch(new RegExp(`^tiny-cloud/early: cannot write ${run}/env\\.\\d+: file too large \\(the file size limit, ulimit -f\\); the phase is run here$`))
      expect(early.stderr.slice(early.stderr.indexOf("\n") + 1)).toBe("\n   ++ save_userdata: starting\n   ++ save_userdata: done\n")
      expect(early.code).toBe(0)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(userData)
      // nothing of the withdrawn request is left, the environment least
      expect(readdirSync(run).filter((f) => f.startsWith("env.") || f.startsWith("reply."))).toEqual([])
    } finally {
      endResident(instance)
    }
  }
)

// the hard open-files limit this process, and so the services' shells, have: Node raises the soft one to it
const hardOpenFiles = Number(/^Max open files +\d+ +(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1])

it.each(["in a process of its own", "by the resident process"] as const)(
  "the user's programs start with the open-files limit (ulimit -n) of the service that ran the phase, not the one Node raises its own to: run %s",
  async (how) => {
    const userData = "#!/bin/sh\necho \"open files: $(ulimit -S -n) $(ulimit -H -n)\"\n"
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
    const env = servicesEnv(instance)
    try {
      // a resident process started without it, as the boot service's own limit may differ from final's (rc_ulimit in
      // /etc/conf.d/tiny-cloud-final); else none, and the final service's client runs the phase itself
      if (how === "by the resident process") {
        await bootAndServe(env, instance)
        for (const phase of ["early", "main"]) expect((await startService(phase, env)).code).toBe(0)
      } else {
        for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
      }
      expect((await startService("final", env, ["sh"], "ulimit -S -n 256")).code).toBe(0)
      expect(instance.read("/var/log/user-data.log")).toBe(`open files: 256 ${hardOpenFiles}\n`)
    } finally {
      endResident(instance)
    }
  }
)
