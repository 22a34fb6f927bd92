/**
 * A state directory (TINY_CLOUD_VAR) an image left that others may write: a
 * local user's real process (setpriv, as nobody) tries to put user-data of
 * its own in the place of what early saved, which main and final apply as root.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { bytesOf } from "../../src/domain/text.js"
import { makeTestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { skipAtRun, which } from "../support/system.js"

const USER_DATA = "#!/bin/sh\necho from the operator\n"

describe.concurrent("a state directory others may write (an image's leftover)", () => {
  const cases = [
    ["0777, root's", 0, 0o777],
    ["another user's", 65534, 0o755]
  ] as const
  for (const [what, owner, mode] of cases) it.scopedLive(`${what}: made root's, 0755, and said; a local user cannot replace the saved user-data main and final apply`, (ctx) =>
    Effect.gen(function* () {
      if (process.getuid?.() !== 0) return skipAtRun(ctx, "needs root (a process of another user's)")
      if (which("setpriv") === undefined) return skipAtRun(ctx, "needs setpriv (apt-get install util-linux)")
      const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { userData: bytesOf(USER_DATA) } })
      for (const dir of [i.dir, i.root, join(i.root, "var"), join(i.root, "var/lib")]) {
        mkdirSync(dir, { recursive: true })
        chmodSync(dir, 0o755)
      }
      const state = join(i.root, "var/lib/cloud")
      mkdirSync(state, { recursive: true })
      chmodSync(state, mode)
      chownSync(state, owner, owner)
      const boot = yield* i.run(["boot"])
      expect(boot.code).toBe(0)
      expect(boot.stderr).toContain(`${state} could be written by others (uid ${owner}, mode ${(0o40000 | mode).toString(8).slice(-4)}), who could replace the user-data it keeps: made root's, mode 0755\n`)
      expect([statSync(state).uid, statSync(state).mode & 0o7777]).toEqual([0, 0o755])
      const early = yield* i.run(["early"])
      expect(early.code).toBe(0)
      // the local user, between early and main: the saved user-data replaced by a script of theirs (root runs it in final)
      const pwned = join(i.root, "pwned")
      const swap = spawnSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", `printf '#!/bin/sh\\ntouch ${pwned}\\n' > '${state}/.mine' && mv -f '${state}/.mine' '${state}/user-data'`],
        { encoding: "utf8" }
      )
      // before: the swap succeeded, and final ran the user's script as root
      expect(swap.status).not.toBe(0)
      for (const phase of ["main", "final"]) {
        const r = yield* i.run([phase])
        expect([phase, r.code, r.code === 0 ? "" : r.stderr]).toEqual([phase, 0, ""])
      }
      expect([existsSync(pwned), i.read("/var/log/user-data.log")]).toEqual([false, "from the operator\n"])
    })
  )

  it.scopedLive("a directory of the host's above ROOT that others may write is not the instance's: nothing said of it", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA })
      for (const dir of [i.root, join(i.root, "var"), join(i.root, "var/lib")]) {
        mkdirSync(dir, { recursive: true })
        chmodSync(dir, 0o755)
      }
      chmodSync(i.dir, 0o777)
      const boot = yield* i.run(["boot"])
      expect([boot.code, boot.stderr]).toEqual([0, expect.not.stringContaining("may be written by others")])
      // the instance's own directories still are: ROOT's /var
      chmodSync(join(i.root, "var"), 0o777)
      const early = yield* i.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).toContain(`${join(i.root, "var")} may be written by others (uid ${process.getuid?.() ?? 0}, mode 0777)`)
      expect(early.stderr).not.toContain(`${i.dir} may be written`)
    })
  )
})
