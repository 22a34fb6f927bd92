import { gzipSync } from "node:zlib"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import type { UserConfig } from "../../src/domain/userdata/model.js"
import { apkVersion, repositoryLines } from "../../src/domain/userdata/model.js"
import { analyseUserData, parseUserData, type ParsedUserData } from "../../src/domain/userdata/parse.js"
import { userDataWord as userDataType } from "../../src/domain/userdata/type.js"

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (data: Uint8Array) => new TextDecoder().decode(data)
const OPTIONS = { maxBytes: 1024 * 1024 }

const parsed = (source: string, options: Parameters<typeof parseUserData>[1] = OPTIONS): ParsedUserData =>
  Either.getOrThrowWith(parseUserData(bytes(source), options), (e) => new Error(e.message))

const config = (source: string, options?: Parameters<typeof parseUserData>[1]): UserConfig => {
  const result = parsed(source, options)
  if (result.kind !== "config" && result.kind !== "multipart") throw new Error(`not a config: ${result.kind}`)
  return result.config
}

const failure = (source: string): string =>
  Either.match(parseUserData(bytes(source), OPTIONS), {
    onLeft: (e) => e.message,
    onRight: () => {
      throw new Error("expected a failure")
    }
  })

describe("userDataType", () => {
  it.each([
    ["", "missing"],
    ["#!/bin/sh\necho hi\n", "script"],
    ["#!", "script"],
    ["#alpine-config\nuser: bob\n", "alpine-config"],
    ["#cloud-config\r\nhostname: x\r\n", "cloud-config"],
    ["#cloud-config", "cloud-config"],
    ["#cloud-config with a comment\n", "cloud-config"],
    ["#include\nhttp://x\n", "include"],
    ["# just a comment\n", "unknown"],
    ["hello\n", "unknown"],
    [" #cloud-config\n", "unknown"],
    ['Content-Type: multipart/mixed; boundary="x"\n', "multipart"],
    ["MIME-Version: 1.0\n", "multipart"]
  ])("%j is %s", (source, type) => {
    expect(userDataType(bytes(source))).toBe(type)
  })

  it("keeps scripts and unknown types as they are", () => {
    expect(parsed("")).toEqual({ kind: "missing", type: "missing" })
    const script = parsed("#!/bin/sh\necho hi\n")
    expect(script.kind === "script" && text(script.script)).toBe("#!/bin/sh\necho hi\n")
    expect(parsed("#cloud-boothook\necho\n")).toEqual({ kind: "unknown", type: "cloud-boothook" })
    expect(parsed("plain text\n")).toEqual({ kind: "unknown", type: "unknown" })
  })

  it("refuses user-data over maxBytes", () => {
    expect(Either.isLeft(parseUserData(bytes("#alpine-config\npackages: [a]\n"), { maxBytes: 10 }))).toBe(true)
  })
})

describe("#alpine-config", () => {
  it("maps every key", () => {
    const c = config(`#alpine-config
user: bob
ssh_authorized_keys:
  - ssh-ed25519 AAAA one
bootcmd:
  - echo boot
runcmd:
  - echo run
  - [touch, /tmp/x]
write_files:
  - path: /etc/motd
    content: hello
ntp:
  enabled: true
  ntp_client: busybox
apk:
  cache: /var/cache/apk
  repositories:
    - base_url: https://mirror.example/alpine/
      version: edge
      repos: [main, community]
    - base_url: https://other.example/alpine
      repos: [testing]
package_update: true
package_upgrade: yes
packages: [vim, curl]
autoinstall: true
`)
    expect(c.defaultUser?.name).toBe("bob")
    expect(c.sshAuthorizedKeys).toEqual(["ssh-ed25519 AAAA one"])
    expect(c.bootcmd).toEqual([{ kind: "shell", script: "echo boot" }])
    expect(c.runcmd).toEqual([
      { kind: "shell", script: "echo run" },
      { kind: "argv", argv: ["touch", "/tmp/x"] }
    ])
    expect(c.writeFiles).toHaveLength(1)
    expect(c.ntp).toEqual({ client: "busybox", servers: [], pools: [] })
    expect(c.apk).toEqual({
      cache: "/var/cache/apk",
      repositories: [
        { baseUrl: "https://mirror.example/alpine/", version: "edge", repos: ["main", "community"] },
        { baseUrl: "https://other.example/alpine", version: undefined, repos: ["testing"] }
      ],
      configured: true,
      replaceRepositories: false
    })
    expect(c.apk.repositories.flatMap((r) => repositoryLines(r, "v3.20"))).toEqual([
      "https://mirror.example/alpine/edge/main",
      "https://mirror.example/alpine/edge/community",
      "https://other.example/alpine/v3.20/testing"
    ])
    expect([c.packageUpdate, c.packageUpgrade, c.autoinstall]).toEqual([true, true, true])
    expect(c.packages).toEqual(["vim", "curl"])
    expect(c.problems).toEqual([])
    expect(c.warnings).toEqual([])
  })

  it("has the contract's defaults", () => {
    const c = config("#alpine-config\n")
    expect(c.defaultUser).toBeUndefined()
    expect(c.ntp).toBeUndefined()
    expect(c.apk).toEqual({ repositories: [], configured: false, replaceRepositories: false })
    expect([c.packageUpdate, c.packageUpgrade, c.autoinstall, c.packages, c.writeFiles]).toEqual([false, false, false, [], []])
  })

  it("treats a key with no value as absent", () => {
    const c = config("#alpine-config\nruncmd:\npackages:\nntp:\n")
    expect([c.runcmd, c.packages, c.ntp]).toEqual([[], [], undefined])
  })

  it("takes user as a map with a name", () => {
    expect(config("#alpine-config\nuser:\n  name: carol\n").defaultUser?.name).toBe("carol")
  })

  it("keeps the default user when the user map has no name, and says so", () => {
    const c = config("#alpine-config\nuser:\n  shell: /bin/ash\n")
    expect(c.defaultUser).toBeUndefined()
    expect(c.problems).toEqual(["user: a user map needs a name; the default user is kept"])
  })

  it("enables ntp only when asked, chrony by default", () => {
    expect(config("#alpine-config\nntp:\n  enabled: false\n  ntp_client: openntpd\n").ntp).toBeUndefined()
    expect(config("#alpine-config\nntp:\n  ntp_client: openntpd\n").ntp).toBeUndefined()
    expect(config("#alpine-config\nntp:\n  enabled: yes\n").ntp?.client).toBe("chrony")
  })

  it("warns about unknown top-level keys", () => {
    expect(config("#alpine-config\nfoo: 1\nbar: [x]\npackages: [a]\n").warnings).toEqual(["unknown #alpine-config keys ignored: foo, bar"])
  })

  it("refuses wrong types with the path and line", () => {
    expect(failure("#alpine-config\npackages: [a]\nwrite_files:\n  - path: /x\n    permissions: rwx\n")).toBe(
      '#alpine-config user-data is invalid: line 5: write_files[0].permissions: expected an octal mode such as 0644, got "rwx"'
    )
    expect(failure("#alpine-config\npackages: vim\nautoinstall: maybe\n")).toBe(
      '#alpine-config user-data is invalid: line 2: packages: expected a list of package names, got "vim" (and 1 more)'
    )
  })

  it("refuses YAML syntax errors with their line, without quoting the document", () => {
    const message = failure("#alpine-config\npackages: [a\nruncmd:\n  - secret-token\n")
    expect(message).toMatch(/^#alpine-config user-data is invalid: line \d+: YAML: /)
    expect(message).not.toContain("secret-token")
  })
})

describe("write_files", () => {
  const files = (entries: string, options?: Parameters<typeof parseUserData>[1]) => config(`#alpine-config\nwrite_files:\n${entries}`, options)

  it("has defaults 0644, root:root, text/plain, no append", () => {
    const [file] = files("  - path: /etc/motd\n    content: hi\n").writeFiles
    expect(file).toEqual({ path: "/etc/motd", content: bytes("hi"), mode: 0o644, owner: "root:root", append: false, defer: false })
  })

  it("reads modes as octal digits, quoted or not", () => {
    const modes = files(
      ["'0600'", "0755", "644", '"0o640"', "4755"].map((m) => `  - path: /f\n    permissions: ${m}\n`).join("")
    ).writeFiles.map((f) => f.mode)
    expect(modes).toEqual([0o600, 0o755, 0o644, 0o640, 0o4755])
  })

  it("takes owner and append", () => {
    const [file] = files("  - path: /f\n    owner: nobody:nogroup\n    append: true\n").writeFiles
    expect([file!.owner, file!.append]).toEqual(["nobody:nogroup", true])
  })

  it("decodes base64, gzip+base64 and !!binary content", () => {
    const payload = "line one\nline two\n"
    const b64 = Buffer.from(payload).toString("base64")
    const gz = gzipSync(Buffer.from(payload)).toString("base64")
    const c = files(
      [
        `  - path: /a\n    encoding: b64\n    content: ${b64}\n`,
        `  - path: /b\n    encoding: base64\n    content: |\n      ${b64.slice(0, 8)}\n      ${b64.slice(8)}\n`,
        `  - path: /c\n    encoding: gzip+base64\n    content: ${gz}\n`,
        `  - path: /d\n    encoding: gz+b64\n    content: ${gz}\n`,
        `  - path: /e\n    encoding: gz\n    content: !!binary ${gz}\n`,
        `  - path: /f\n    content: !!binary ${b64}\n`,
        `  - path: /g\n    encoding: gzip\n    content: ${gz}\n`
      ].join("")
    )
    expect(c.problems).toEqual([])
    expect(c.writeFiles.map((f) => [f.path, text(f.content)])).toEqual(["/a", "/b", "/c", "/d", "/e", "/f", "/g"].map((p) => [p, payload]))
  })

  it("skips an entry without a path, with a warning", () => {
    const c = files("  - content: orphan\n  - path: /kept\n")
    expect(c.writeFiles.map((f) => f.path)).toEqual(["/kept"])
    expect(c.warnings).toEqual(["write_files[0]: no path; entry skipped"])
  })

  it("reports content that cannot be decoded and writes the others", () => {
    const c = files("  - path: /bad\n    encoding: b64\n    content: '***'\n  - path: /bad2\n    encoding: gzip+base64\n    content: aGVsbG8=\n  - path: /ok\n")
    expect(c.writeFiles.map((f) => f.path)).toEqual(["/ok"])
    expect(c.problems).toEqual([
      "write_files[0].content: content is not valid base64; /bad not written",
      "write_files[1].content: content is not valid gzip data; /bad2 not written"
    ])
  })

  it("refuses a gzip bomb without inflating it", () => {
    // 100 MiB of zeros: 100 gzip members of 1 MiB each, about 100 KiB compressed
    const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 })
    const bomb = Buffer.concat(Array.from({ length: 100 }, () => member)).toString("base64")
    const before = process.memoryUsage().arrayBuffers
    const c = files(`  - path: /bomb\n    encoding: gz+b64\n    content: ${bomb}\n  - path: /ok\n    content: fine\n`, {
      maxBytes: 4 * 1024 * 1024
    })
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
    expect(c.writeFiles.map((f) => f.path)).toEqual(["/ok"])
    expect(c.problems).toEqual([
      "write_files[0].content: gzip content expands to more than 16777216 bytes, the limit for all write_files; /bomb not written"
    ])
  })

  it("counts the decompression limit over all files", () => {
    const one = gzipSync(Buffer.alloc(600)).toString("base64")
    const entry = (p: string) => `  - path: ${p}\n    encoding: gz+b64\n    content: ${one}\n`
    const c = files(entry("/a") + entry("/b"), { maxBytes: OPTIONS.maxBytes, maxDecompressedBytes: 1000 })
    expect(c.writeFiles.map((f) => f.path)).toEqual(["/a"])
    expect(c.problems[0]).toMatch(/^write_files\[1\]\.content: gzip content expands to more than 1000 bytes/)
  })
})

describe("#cloud-config", () => {
  it("makes the first user the default user when there is no `default`", () => {
    const c = config(`#cloud-config
users:
  - name: bob
    groups: "wheel, adm"
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/ash
    lock_passwd: false
    ssh_authorized_keys: [ssh-ed25519 AAAA bob]
  - name: eve
    groups: [audio, video]
    sudo: false
  - mallory
`)
    expect(c.defaultUser).toEqual({
      name: "bob",
      groups: ["wheel", "adm"],
      sudo: ["ALL=(ALL) NOPASSWD:ALL"],
      shell: "/bin/ash",
      lockPasswd: false,
      sshAuthorizedKeys: ["ssh-ed25519 AAAA bob"]
    })
    expect(c.users).toEqual([
      { name: "eve", groups: ["audio", "video"], sudo: false, lockPasswd: true, sshAuthorizedKeys: [] },
      { name: "mallory", groups: [], sudo: undefined, lockPasswd: true, sshAuthorizedKeys: [] }
    ])
  })

  it("keeps CLOUD_USER when `default` is listed", () => {
    const c = config("#cloud-config\nusers:\n  - default\n  - name: bob\n    sudo: [ALL=(ALL) ALL, 'bob ALL=(ALL) NOPASSWD: /sbin/reboot']\n")
    expect(c.defaultUser).toBeUndefined()
    expect(c.users.map((u) => [u.name, u.sudo])).toEqual([["bob", ["ALL=(ALL) ALL", "bob ALL=(ALL) NOPASSWD: /sbin/reboot"]]])
  })

  it("skips a user map without a name, and says so", () => {
    const c = config("#cloud-config\nusers:\n  - groups: wheel\n")
    expect(c.defaultUser).toBeUndefined()
    expect(c.users).toEqual([])
    expect(c.problems).toEqual(["users[0]: a user map needs a name; entry skipped"])
  })

  it("maps the top-level keys", () => {
    const c = config(`#cloud-config
hostname: web-1
fqdn: web-1.example.com
ssh_authorized_keys:
  - ssh-rsa AAAA top
timezone: Europe/Paris
ssh_pwauth: false
package_update: true
package_upgrade: true
packages:
  - vim
  - [curl, 8.5.0-r0]
bootcmd:
  - echo "string form"
  - [echo, list, form]
runcmd:
  - [sh, -c, echo hi]
write_files:
  - path: /etc/late
    content: x
    defer: true
    permissions: '0600'
ntp:
  servers: [ntp1.example]
  pools: [pool.ntp.org]
`)
    expect([c.hostname, c.fqdn, c.timezone, c.sshPwauth]).toEqual(["web-1", "web-1.example.com", "Europe/Paris", false])
    expect(c.sshAuthorizedKeys).toEqual(["ssh-rsa AAAA top"])
    expect([c.packageUpdate, c.packageUpgrade]).toEqual([true, true])
    expect(c.packages).toEqual(["vim", "curl=8.5.0-r0"])
    expect(c.bootcmd).toEqual([
      { kind: "shell", script: 'echo "string form"' },
      { kind: "argv", argv: ["echo", "list", "form"] }
    ])
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["sh", "-c", "echo hi"] }])
    expect(c.writeFiles).toEqual([{ path: "/etc/late", content: bytes("x"), mode: 0o600, owner: "root:root", append: false, defer: true }])
    expect(c.ntp).toEqual({ client: "chrony", servers: ["ntp1.example"], pools: ["pool.ntp.org"] })
    expect(c.warnings).toEqual([])
    expect(c.apk.configured).toBe(false)
  })

  it("leaves ntp off when enabled is false, and ssh_pwauth alone when unchanged", () => {
    const c = config("#cloud-config\nntp:\n  enabled: false\nssh_pwauth: unchanged\n")
    expect([c.ntp, c.sshPwauth]).toEqual([undefined, undefined])
  })

  it("maps apk_repos", () => {
    const c = config(`#cloud-config
apk_repos:
  alpine_repo:
    base_url: https://mirror.example/alpine
    version: v3.20
    community_enabled: true
    testing_enabled: true
  local_repo_base_url: https://local.example/repo
`)
    expect(c.apk.configured && c.apk.replaceRepositories).toBe(true)
    expect(c.apk.repositories.flatMap((r) => repositoryLines(r, undefined))).toEqual([
      "https://mirror.example/alpine/v3.20/main",
      "https://mirror.example/alpine/v3.20/community",
      "https://mirror.example/alpine/edge/testing",
      "https://local.example/repo/v3.20"
    ])
    const kept = config("#cloud-config\napk_repos:\n  preserve_repositories: true\n  alpine_repo:\n    version: edge\n")
    expect(kept.apk).toEqual({ repositories: [], configured: true, replaceRepositories: false })
    expect(kept.warnings).toEqual(["apk_repos: preserve_repositories is true; repositories left alone"])
  })

  it("collects unsupported keys into one warning", () => {
    const c = config("#cloud-config\nchpasswd: {expire: false}\nhostname: h\nmounts: []\n")
    expect(c.unsupportedKeys).toEqual(["chpasswd", "mounts"])
    expect(c.warnings).toEqual(["unsupported cloud-config keys: chpasswd, mounts"])
    expect(c.hostname).toBe("h")
  })

  it("refuses a host name that is not one", () => {
    expect(failure("#cloud-config\nhostname: 'a b'\n")).toContain("line 2: hostname: expected a host name")
  })
})

describe("multipart", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64")
  const message = [
    'Content-Type: multipart/mixed; boundary="==XYZ=="',
    "MIME-Version: 1.0",
    "",
    "preamble is ignored",
    "--==XYZ==",
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    'Content-Disposition: attachment; filename="setup.sh"',
    "",
    "#!/bin/sh",
    "echo hi",
    "--==XYZ==",
    "Content-Type: text/cloud-config",
    "",
    "#cloud-config",
    "hostname: one",
    "packages: [a, b]",
    "runcmd: [echo first]",
    "--==XYZ==",
    "Content-Type: text/cloud-config",
    "Content-Transfer-Encoding: base64",
    "",
    b64("#cloud-config\npackages: [c]\nfqdn: two.example\n"),
    "--==XYZ==",
    "Content-Type: text/x-shellscript",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "#!/bin/sh",
    "echo caf=C3=A9 =",
    "done",
    "--==XYZ==",
    "Content-Type: text/x-include-url",
    "",
    "http://example.com/more",
    "--==XYZ==--",
    "epilogue"
  ].join("\r\n")

  it("keeps script parts in order and merges cloud-config parts, later keys winning", () => {
    const result = parsed(message)
    if (result.kind !== "multipart") throw new Error(result.kind)
    expect(result.scripts.map((s) => [s.name, text(s.content)])).toEqual([
      ["setup.sh", "#!/bin/sh\r\necho hi"],
      ["part-4", "#!/bin/sh\r\necho café done"]
    ])
    expect(result.config.hostname).toBe("one")
    expect(result.config.fqdn).toBe("two.example")
    expect(result.config.packages).toEqual(["c"])
    expect(result.config.runcmd).toEqual([{ kind: "shell", script: "echo first" }])
    expect(result.config.warnings).toEqual(["part 5 (line 33): text/x-include-url parts are not supported; part ignored"])
  })

  it("places a part's problems on the user-data's lines", () => {
    const bad = message.replace("packages: [a, b]", "packages: 5")
    expect(failure(bad)).toBe("multipart user-data is invalid: line 16: packages: expected a list of packages, got 5")
  })

  it("places the merged model's problems in the part that gave the key", () => {
    const withUser = message.replace("runcmd: [echo first]", "runcmd: [echo first]\r\nusers:\r\n  - groups: wheel")
    const result = analyseUserData(bytes(withUser), OPTIONS)
    expect(result.problems).toEqual([{ path: "users[0]", line: 19, message: "a user map needs a name; entry skipped" }])
  })

  it("sniffs text/plain parts and accepts a MIME message that is not multipart", () => {
    const single = parsed("MIME-Version: 1.0\nContent-Type: text/plain\n\n#!/bin/sh\necho single\n")
    expect(single.kind === "multipart" && single.scripts.map((s) => text(s.content))).toEqual(["#!/bin/sh\necho single\n"])
  })

  it("refuses multipart without a boundary", () => {
    expect(failure("Content-Type: multipart/mixed\n\n--x\n")).toBe(
      "multipart user-data is invalid: line 1: multipart user-data has no boundary in its Content-Type"
    )
  })
})

describe("apkVersion", () => {
  it.each([
    ["3.20.3", "v3.20"],
    ["3.21.0_alpha20240101", "edge"],
    ["edge", "edge"],
    [undefined, undefined],
    ["weird", undefined]
  ])("%s → %s", (id, version) => {
    expect(apkVersion(id)).toBe(version)
  })
})
