/**
 * The settings that decide whether sshd takes the keys set_ssh_keys writes
 * (AuthorizedKeysFile, PubkeyAuthentication, PermitRootLogin, StrictModes),
 * as the real sshd reads them (`sshd -T`: it parses and prints, never
 * listens): `firstValue` takes the value sshd takes, with OpenSSH's stock
 * `Include /etc/ssh/sshd_config.d/*.conf` at the top and an image's drop-ins.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { dropInsRead, firstValue, sshdWords } from "../../src/domain/sshd-config.js"
import { describeSystem, which } from "../support/system.js"

const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-sshd-keys-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** what sshd -T prints for `keyword` (lowercase), sshd_config's Include led to `dropIns` */
const sshdTakes = (name: string, config: string, dropIns: Readonly<Record<string, string>>, keyword: string) => {
  const at = join(dir, name)
  mkdirSync(join(at, "sshd_config.d"), { recursive: true })
  for (const [file, text] of Object.entries(dropIns)) writeFileSync(join(at, "sshd_config.d", file), text)
  writeFileSync(join(at, "sshd_config"), config.replaceAll("/etc/ssh/sshd_config.d/", `${at}/sshd_config.d/`))
  execFileSync(which("ssh-keygen")!, ["-q", "-t", "ed25519", "-N", "", "-f", join(at, "key")])
  const script = 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$0" -T -f "$1" -h "$2"'
  const out = execFileSync(which("unshare")!, ["-m", "sh", "-c", script, which("sshd")!, join(at, "sshd_config"), join(at, "key")], { encoding: "utf8" })
  return new RegExp(`^${keyword.toLowerCase()} (.*)$`, "m").exec(out)?.[1]
}

const STOCK = "Include /etc/ssh/sshd_config.d/*.conf\n\n#PasswordAuthentication yes\nAuthorizedKeysFile .ssh/authorized_keys\nSubsystem sftp internal-sftp\n"

describeSystem("the key settings as sshd -T reads them", { tools: { sshd: "openssh-server", "ssh-keygen": "openssh-client", unshare: "util-linux", mount: "mount" }, root: true }, () => {
  const cases: ReadonlyArray<readonly [string, string, Readonly<Record<string, string>>, string, string]> = [
    ["keys-dropin", STOCK, { "40-hardening.conf": "AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n", "60-later.conf": "AuthorizedKeysFile .ssh/other\n" }, "AuthorizedKeysFile", "/etc/ssh/authorized_keys/%u"],
    ["keys-main", `AuthorizedKeysFile=/srv/keys/%u\n${STOCK}`, { "40-hardening.conf": "AuthorizedKeysFile .ssh/x\n" }, "AuthorizedKeysFile", "/srv/keys/%u"],
    ["root-dropin", `${STOCK}PermitRootLogin prohibit-password\n`, { "10-a.conf": "Match User bob\n  PermitRootLogin yes\n", "20-b.conf": "permitrootlogin no\n" }, "PermitRootLogin", "no"],
    ["pubkey", STOCK, { "50-x.conf": "PubkeyAuthentication no\n", "x.conf.bak": "PubkeyAuthentication yes\n" }, "PubkeyAuthentication", "no"],
    ["strict", STOCK, { "99-lax.conf": "StrictModes no\n" }, "StrictModes", "no"],
    ["strict-quoted", STOCK, { "99-lax.conf": 'StrictModes "no" # a shared home\n' }, "StrictModes", "no"],
    ["strict-crlf", STOCK.replaceAll("\n", "\r\n"), { "10-lax.conf": "StrictModes no\r\n" }, "StrictModes", "no"],
    ["keys-quoted", STOCK, { "10-k.conf": "AuthorizedKeysFile '.ssh/authorized_keys' /etc/keys/%u # two\n" }, "AuthorizedKeysFile", ".ssh/authorized_keys /etc/keys/%u"]
  ]
  for (const [name, config, dropIns, keyword, expected] of cases)
    it(`${keyword}: ${name}`, () => {
      const texts = dropInsRead(Object.keys(dropIns)).map((file) => dropIns[file]!)
      // the value's words as sshd splits them (quotes off, a comment dropped), as sshd -T prints them
      expect(sshdWords(firstValue(config, texts, keyword) ?? "").join(" ")).toBe(expected)
      expect(sshdTakes(name, config, dropIns, keyword)).toBe(expected)
    })
})
