/**
 * ssh_pwauth as the real sshd reads it (`sshd -T`: it parses and prints,
 * never listens): the value sshd takes is the one user-data asked, with
 * OpenSSH's stock `Include /etc/ssh/sshd_config.d/*.conf` at the top and an
 * image's drop-in that says otherwise.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance, type TestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { describeSystem, which } from "../support/system.js"

const STOCK = "Include /etc/ssh/sshd_config.d/*.conf\n\n#PasswordAuthentication yes\nAuthorizedKeysFile .ssh/authorized_keys\nSubsystem sftp internal-sftp\n"

/**
 * The PasswordAuthentication sshd takes from the instance's files: its
 * sshd_config with the Include's path under ROOT, read in a mount namespace
 * of its own whose /run has the privilege separation directory sshd asks for
 */
const sshdTakes = (i: TestInstance, value: string) => {
  const dir = join(i.root, "tmp/sshd-t")
  mkdirSync(dir, { recursive: true })
  const config = join(dir, "sshd_config")
  const main = readFileSync(join(i.root, "etc/ssh/sshd_config"), "utf8")
  writeFileSync(config, main.replaceAll("/etc/ssh/sshd_config.d/", `${i.root}/etc/ssh/sshd_config.d/`))
  execFileSync(which("ssh-keygen")!, ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, `key-${value}`)])
  const script = 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$0" -T -f "$1" -h "$2"'
  const out = execFileSync(which("unshare")!, ["-m", "sh", "-c", script, which("sshd")!, config, join(dir, `key-${value}`)], { encoding: "utf8" })
  return /^passwordauthentication (\S+)$/m.exec(out)?.[1]
}

describeSystem("ssh_pwauth as sshd -T reads it", { tools: { sshd: "openssh-server", "ssh-keygen": "openssh-client", unshare: "util-linux", mount: "mount" }, root: true }, () => {
  for (const [pwauth, expected] of [["true", "yes"], ["false", "no"]] as const)
    it.scopedLive(`ssh_pwauth: ${pwauth} over an image's drop-in that says otherwise`, () =>
      Effect.gen(function* () {
        const i = yield* makeTestInstance({
          cloud: "aws",
          env: PATIENT_METADATA,
          instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [], userData: new TextEncoder().encode(`#cloud-config\nssh_pwauth: ${pwauth}\n`) }
        })
        i.write("/etc/ssh/sshd_config", STOCK)
        i.write("/etc/ssh/sshd_config.d/60-image.conf", `PasswordAuthentication ${expected === "yes" ? "no" : "yes"}\n`)
        expect(sshdTakes(i, "before")).not.toBe(expected)
        for (const phase of ["early", "main"]) expect((yield* i.run([phase])).code).toBe(0)
        expect(sshdTakes(i, "after")).toBe(expected)
      })
    )

  it.scopedLive("ssh_pwauth: true where sshd_config.d is a file, which the Include reads nothing from", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({
        cloud: "aws",
        env: PATIENT_METADATA,
        instance: { hostname: "ip-10-0-0-1.ec2.internal", sshKeys: [], userData: new TextEncoder().encode("#cloud-config\nssh_pwauth: true\n") }
      })
      i.write("/etc/ssh/sshd_config", `${STOCK}PasswordAuthentication no\n`)
      i.write("/etc/ssh/sshd_config.d", "not a directory\n")
      expect(sshdTakes(i, "before")).toBe("no")
      for (const phase of ["early", "main"]) expect((yield* i.run([phase])).code).toBe(0)
      expect(sshdTakes(i, "after")).toBe("yes")
    })
  )
})
