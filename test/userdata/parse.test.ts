import { gzipSync } from "node:zlib"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import type { UserConfig } from "../../src/domain/userdata/model.js"
import { apkVersion, repositoryLines } from "../../src/domain/userdata/model.js"
import { analyseUserData, MAX_NOTES, parseUserData, type ParsedUserData } from "../../src/domain/userdata/parse.js"
import { formatProblem } from "../../src/domain/userdata/problem.js"
import { userDataWord as userDataType } from "../../src/domain/userdata/type.js"
import { YAML_MAX_TOKENS } from "../../src/domain/yaml-depth.js"
import { bytesOf } from "../../src/domain/text.js"

const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data)
const OPTIONS = { maxBytes: 1024 * 1024 }

const parsed = (source: string, options: Parameters<typeof parseUserData>[1] = OPTIONS): ParsedUserData =>
  Either.getOrThrowWith(parseUserData(bytesOf(source), options), (e) => new Error(e.message))

const config = (source: string, options?: Parameters<typeof parseUserData>[1]): UserConfig => {
  const result = parsed(source, options)
  if (result.kind !== "config" && result.kind !== "multipart") throw new Error(`not a config: ${result.kind}`)
  return result.config
}

/** the problems (skipped parts) and warnings, as `tiny-cloud schema` words them */
const notes = (source: string, options: Parameters<typeof parseUserData>[1] = OPTIONS) => {
  const a = analyseUserData(bytesOf(source), options)
  return { problems: a.problems.map(formatProblem), warnings: a.warnings }
}

const failure = (source: string): string =>
  Either.match(parseUserData(bytesOf(source), OPTIONS), {
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
    // as cloud-init: the type a first line starts with, whatever follows it (a Tailscale recipe's `#cloud-config:`)
    ["#cloud-config:\npackage_update: true\n", "cloud-config"],
    ["#cloud-configuration\n", "cloud-config"],
    ["#cloud-config-archive\n- x\n", "cloud-config-archive"],
    ["#cloud-config-jsonp\n", "cloud-config-jsonp"],
    ["#include-once\nhttp://x\n", "include-once"],
    ["## template: jinja\n#cloud-config:\nhostname: x\n", "cloud-config"],
    ["#alpine-config:\n", "alpine-config:"],
    ["# just a comment\n", "unknown"],
    ["hello\n", "unknown"],
    ["hostname: x\n", "unknown"],
    // as cloud-init: leading whitespace and case do not matter
    [" #cloud-config\n", "cloud-config"],
    ["\n\n  \t#cloud-config\nhostname: x\n", "cloud-config"],
    ["#Cloud-Config\n", "cloud-config"],
    ["#CLOUD-CONFIG\n", "cloud-config"],
    ["\n#!/bin/sh\n", "script"],
    ['Content-Type: multipart/mixed; boundary="x"\n', "multipart"],
    ["MIME-Version: 1.0\n", "multipart"],
    ["mime-version: 1.0\ncontent-type: text/x-shellscript\n\n#!/bin/sh\n", "multipart"],
    ["From nobody Thu Jan  1 00:00:00 1970\nContent-Type: multipart/mixed; boundary=x\nMIME-Version: 1.0\n\n--x--\n", "multipart"],
    ["Subject: hello\nX-Anything: 1\nMIME-Version: 1.0\n\nbody\n", "multipart"],
    ["Subject: hello\n\nno mime header\n", "unknown"],
    // jinja is not rendered: the cloud-config under it is read as it is
    ["## template: jinja\n#cloud-config\nhostname: x\n", "cloud-config"],
    ["## Template: Jinja\n\n#cloud-config\n", "cloud-config"],
    ["## template: jinja\n#!/bin/sh\necho {{ x }}\n", "jinja"]
  ])("%j is %s", (source, type) => {
    expect(userDataType(bytesOf(source))).toBe(type)
  })

  it("names text saved as UTF-16 (its byte-order mark first, as Windows PowerShell 5 writes files) utf-16, whatever it holds: never read as UTF-8", () => {
    const le = Buffer.from("\ufeff#cloud-config\r\nhostname: x\r\n", "utf16le")
    expect(userDataType(le)).toBe("utf-16")
    expect(userDataType(Buffer.from(le).swap16())).toBe("utf-16")
    expect(userDataType(Buffer.from("\ufeff#!/bin/sh\r\necho hi\r\n", "utf16le"))).toBe("utf-16")
    expect(Either.getOrThrow(parseUserData(le, OPTIONS))).toEqual({ kind: "unknown", type: "utf-16" })
    // a UTF-8 byte-order mark is read past, as before
    expect(userDataType(bytesOf("\ufeff#cloud-config\n"))).toBe("cloud-config")
    // without its byte-order mark (PowerShell's [Text.Encoding]::Unicode.GetBytes, then base64 for the cloud), either byte order
    const bare = Buffer.from("#cloud-config\r\nhostname: x\r\n", "utf16le")
    expect([userDataType(bare), userDataType(Buffer.from(bare).swap16())]).toEqual(["utf-16", "utf-16"])
    expect(userDataType(Buffer.from("#!/bin/sh\necho hi\n", "utf16le"))).toBe("utf-16")
    // a NUL elsewhere is no sign of it
    expect(userDataType(bytesOf("#cloud-config\nruncmd: [\"printf '\\\\0'\"]\n"))).toBe("cloud-config")
    expect(userDataType(Buffer.from([0x23, 0x21, 0, 0]))).toBe("script")
  })

  it("names base64 text of user-data or of gzip data (Terraform's cloudinit_config output on a cloud that serves it as given) base64: never decoded, as cloud-init does not decode it", () => {
    const b64 = (data: string | Uint8Array) => Buffer.from(data).toString("base64")
    expect(userDataType(bytesOf(b64("#cloud-config\nhostname: x\n")))).toBe("base64")
    // line-wrapped, as base64(1) writes it, and of gzip data: Terraform's default
    expect(userDataType(bytesOf(`${b64(gzipSync("#!/bin/sh\necho hi\n"))}\n`))).toBe("base64")
    expect(userDataType(bytesOf(b64("#!/bin/sh\n" + "echo hello world\n".repeat(300)).replace(/.{76}/g, "$&\n")))).toBe("base64")
    expect(parsed(b64("#cloud-config\nhostname: x\n"))).toEqual({ kind: "unknown", type: "base64" })
    // text that is base64 too, but of nothing user-data is, stays unknown
    expect(userDataType(bytesOf("test\n"))).toBe("unknown")
    expect(userDataType(bytesOf(b64("just some text\n")))).toBe("unknown")
    // text whose letters decode to '#' and bytes of no type ('I' then one of w-z, 0-9, + or /: one text in 256), or to gzip's first two bytes alone
    expect(userDataType(bytesOf("I was here\n"))).toBe("unknown")
    expect(userDataType(bytesOf("Ix9fK2mQpL0aZ7Rt"))).toBe("unknown")
    expect(userDataType(bytesOf("H4sh1234"))).toBe("unknown")
  })

  it("finds MIME headers in the first 4 KiB only", () => {
    const padding = `X-Padding: ${"a".repeat(5000)}\n`
    expect(userDataType(bytesOf(`Subject: x\n${padding}MIME-Version: 1.0\n\n`))).toBe("unknown")
    expect(userDataType(bytesOf(`MIME-Version: 1.0\n${padding}\n`))).toBe("multipart")
    // all of them: a MIME-Version after 3 KiB of other headers (a long Subject, a DKIM signature) is found
    expect(userDataType(bytesOf(`Subject: x\nX-Padding: ${"a".repeat(3000)}\nMIME-Version: 1.0\n\n`))).toBe("multipart")
  })

  it("reads MIME whose headers run into its first boundary without a blank line, as Python's email (so cloud-init) reads it: the parts apply", () => {
    const source = [
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="==B=="',
      "--==B==",
      "Content-Type: text/cloud-config",
      "",
      "#cloud-config",
      "hostname: no-separator",
      "--==B==",
      "Content-Type: text/x-shellscript",
      "",
      "#!/bin/sh",
      "echo part",
      "--==B==--",
      ""
    ].join("\n")
    expect(userDataType(bytesOf(source))).toBe("multipart")
    const result = parsed(source)
    expect(result.kind === "multipart" && [result.config.hostname, result.scripts.map((s) => text(s.content))]).toEqual(["no-separator", ["#!/bin/sh\necho part"]])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    // headers that are no MIME's stay what their first line says
    expect(userDataType(bytesOf("Subject: x\n#cloud-config\nhostname: h\n"))).toBe("unknown")
  })

  it("takes headers run into a line that is no header for MIME only with MIME-Version, as cloud-init parses nothing else as email", () => {
    // no MIME-Version: cloud-init reads the text as it is, of no type (its first line 'Content-Type: ...'), and runs nothing
    expect(parsed("Content-Type: text/x-shellscript\n#!/bin/sh\necho hi\n")).toEqual({ kind: "unknown", type: "unknown" })
    expect(userDataType(bytesOf("Content-Type: text/cloud-config\n#cloud-config\nhostname: h\n"))).toBe("unknown")
    // with it, Python's email takes the rest for the body: a text/plain part sniffed by its first line
    expect(userDataType(bytesOf("MIME-Version: 1.0\n#cloud-config\nhostname: h\n"))).toBe("multipart")
    const withVersion = parsed("MIME-Version: 1.0\n#cloud-config\nhostname: h\n")
    expect(withVersion.kind === "multipart" && withVersion.config.hostname).toBe("h")
    // headers ended by a blank line, or cut by the 4 KiB mark, are read as before
    expect(userDataType(bytesOf("Content-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n"))).toBe("multipart")
    expect(userDataType(bytesOf(`Content-Type: multipart/mixed; boundary=B\nX-Long: x\n${"a".repeat(5000)}`))).toBe("multipart")
  })

  it("keeps scripts and unknown types as they are", () => {
    expect(parsed("")).toEqual({ kind: "missing", type: "missing" })
    const script = parsed("#!/bin/sh\necho hi\n")
    expect(script.kind === "script" && text(script.script)).toBe("#!/bin/sh\necho hi\n")
    expect(parsed("#cloud-boothook\necho\n")).toEqual({ kind: "unknown", type: "cloud-boothook" })
    expect(parsed("plain text\n")).toEqual({ kind: "unknown", type: "unknown" })
  })

  it("warns of a script whose lines end in a CR alone, which does not start (the kernel ends its #! line at LF); a CR LF first line is no matter, a byte-order mark its own warning", () => {
    const warning = "line 1: the #! line holds a carriage return (CR line ends, which the kernel does not read as a line's end): the script will not start; save it with LF line ends"
    const mark = "line 1: starts with a byte-order mark, after which cloud-init finds no #! and applies nothing; applied here as if it were not there"
    expect(analyseUserData(bytesOf("#!/bin/sh\recho hi\r"), OPTIONS)).toMatchObject({ type: "script", problems: [], warnings: [warning], usable: true })
    expect(analyseUserData(bytesOf("\ufeff#!/usr/bin/env sh\recho hi\r"), OPTIONS).warnings).toEqual([mark, warning])
    for (const runs of ["#!/bin/sh\r\necho hi\r\n", "#!/bin/sh\necho a\rb\n"]) {
      expect(analyseUserData(bytesOf(runs), OPTIONS).warnings).toEqual([])
    }
    expect(analyseUserData(bytesOf("\ufeff#!/bin/sh\r\necho hi\r\n"), OPTIONS).warnings).toEqual([mark])
  })

  it("does not warn of a script whose #! comes after a blank line and ends in CR LF: run_userdata runs its interpreter itself, and it starts", () => {
    // its first line (blank) ends in LF alone, so its CR LFs stay; the kernel does not read that #! line, run_userdata does, a CR as a blank
    for (const runs of ["\n#!/bin/sh\r\necho hi\r\n", "\n\n#!/bin/sh -e\r\necho hi\r\n", "  \n#!/bin/sh\r\n"]) {
      expect(analyseUserData(bytesOf(runs), OPTIONS)).toMatchObject({ type: "script", warnings: [] })
    }
    // its lines ending in a CR alone, the words after the CR are the interpreter's argument: still said
    expect(analyseUserData(bytesOf("\n#!/bin/sh\recho hi\r"), OPTIONS).warnings).toHaveLength(1)
  })

  it("applies a #cloud-config saved with a UTF-8 byte-order mark, and says cloud-init would apply none of it; an #alpine-config's is left out unsaid", () => {
    const source = "\ufeff#cloud-config\nhostname: bom-host\n"
    expect(config(source).hostname).toBe("bom-host")
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["line 1: starts with a byte-order mark, after which cloud-init finds no #cloud-config and applies nothing; applied here as if it were not there"]
    })
    expect(notes("#cloud-config\nhostname: plain\n").warnings).toEqual([])
    expect(notes("\ufeff#alpine-config\nbootcmd: [\"true\"]\n")).toEqual({ problems: [], warnings: [] })
  })

  it("says the same of a #cloud-config-archive, MIME user-data or a sniffed MIME part behind a byte-order mark, which cloud-init leaves unused; not of a part whose type says cloud-config, nor an archive entry without a type (cloud-init's YAML reader skips the mark)", () => {
    const bom = "\ufeff"
    const said = (found: string) => `starts with a byte-order mark, after which cloud-init finds no ${found} and applies nothing; applied here as if it were not there`
    const archive = `${bom}#cloud-config-archive\n- type: text/cloud-config\n  content: |\n    hostname: archived\n`
    expect(config(archive).hostname).toBe("archived")
    expect(notes(archive)).toEqual({ problems: [], warnings: [`line 1: ${said("#cloud-config-archive")}`] })
    const mime = (type: string, body: string) => `Content-Type: multipart/mixed; boundary="XX"\nMIME-Version: 1.0\n\n--XX\nContent-Type: ${type}\n\n${body}#cloud-config\nhostname: parted\n--XX--\n`
    expect(config(`${bom}${mime("text/cloud-config", "")}`).hostname).toBe("parted")
    expect(notes(`${bom}${mime("text/cloud-config", "")}`)).toEqual({ problems: [], warnings: [`line 1: ${said("MIME headers")}`] })
    expect(config(mime("text/plain", bom)).hostname).toBe("parted")
    expect(notes(mime("text/plain", bom))).toEqual({ problems: [], warnings: [`part 1 (line 7): ${said("#cloud-config")}`] })
    expect(notes(mime("text/cloud-config", bom))).toEqual({ problems: [], warnings: [] })
    const untyped = `#cloud-config-archive\n- content: "${bom}#cloud-config\\nhostname: untyped\\n"\n`
    expect(config(untyped).hostname).toBe("untyped")
    expect(notes(untyped)).toEqual({ problems: [], warnings: [] })
  })

  it("runs a script saved with a UTF-8 byte-order mark, and says cloud-init finds no #! behind the mark", () => {
    expect(notes("\ufeff#!/bin/sh\necho hi\n")).toEqual({
      problems: [],
      warnings: ["line 1: starts with a byte-order mark, after which cloud-init finds no #! and applies nothing; applied here as if it were not there"]
    })
    expect(notes("#!/bin/sh\necho hi\n")).toEqual({ problems: [], warnings: [] })
  })

  it("refuses user-data over maxBytes", () => {
    expect(Either.isLeft(parseUserData(bytesOf("#alpine-config\npackages: [a]\n"), { maxBytes: 10 }))).toBe(true)
  })

  it("reads cloud-config after a jinja line as plain cloud-config, and says so", () => {
    const source = "## template: jinja\n#cloud-config\nhostname: {{ ds.meta_data.name }}\nruncmd:\n  - echo {{ v1.instance_id }}\n"
    expect(config(source).runcmd).toEqual([{ kind: "shell", script: "echo {{ v1.instance_id }}", index: 0 }])
    expect(notes(source)).toEqual({
      problems: ["line 3: hostname: holds a jinja expression, which is not rendered; skipped"],
      warnings: ["line 1: jinja templates are not supported; the rest is read as plain cloud-config"]
    })
  })

  it("never reads a jinja expression as YAML: one after a value's start, or in a flow list, is text; a comment is left out", () => {
    const source =
      "## template: jinja\n#cloud-config\nhostname: {{ v1.local_hostname }}-web\n{# which packages #}\npackages: [vim, {{ ds.meta_data.pkg }}]\nruncmd:\n  - [echo, {{ v1.instance_id }}]\n"
    const read = config(source)
    expect(read.packages).toEqual(["vim"])
    expect(read.runcmd).toEqual([{ kind: "argv", argv: ["echo", "{{ v1.instance_id }}"], index: 0 }])
    expect(notes(source)).toEqual({
      problems: ["line 3: hostname: holds a jinja expression, which is not rendered; skipped", "line 5: packages[1]: holds a jinja expression, which is not rendered; skipped"],
      warnings: ["line 1: jinja templates are not supported; the rest is read as plain cloud-config"]
    })
    // the same in a MIME part
    const part = `Content-Type: multipart/mixed; boundary=XX\nMIME-Version: 1.0\n\n--XX\nContent-Type: text/jinja2\n\n${source}--XX--\n`
    expect(notes(part).problems).toEqual([
      "line 9: hostname: holds a jinja expression, which is not rendered; skipped",
      "line 11: packages[1]: holds a jinja expression, which is not rendered; skipped"
    ])
  })

  it("says a user or group name that holds a jinja expression as what it is, whole: the ';' in the name's description is not where its consequence starts", () => {
    const source = "## template: jinja\n#cloud-config\nusers:\n  - default\n  - name: {{ ds.meta_data.admin }}\n    groups: ['{{ v1.region }}']\n"
    expect(notes(source).problems).toEqual([
      "line 5: users[1].name: holds a jinja expression, which is not rendered; users[1] skipped",
      "line 6: users[1].groups[0]: holds a jinja expression, which is not rendered; skipped"
    ])
  })

  it("says a key left out because it holds a jinja expression as what it is, not as a line that is no OpenSSH key; a key that is none, as before", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNsb3VkLWluaXQtamluamEta2V5LWZvci10ZXN0 ops@example"
    const source = `## template: jinja\n#cloud-config\nssh_authorized_keys:\n  - ${key}\n  - {{ ds.meta_data.public_keys[0] }}\n  - not a key\nusers:\n  - default\n  - name: ops\n    ssh_authorized_keys:\n      - |\n        ${key}\n        {{ ds.meta_data.ops_key }}\n`
    expect(notes(source).warnings).toEqual([
      "line 1: jinja templates are not supported; the rest is read as plain cloud-config",
      "line 5: ssh_authorized_keys[1]: holds a jinja expression, which is not rendered; left out",
      "line 6: ssh_authorized_keys[2]: not an OpenSSH public key; left out",
      "line 11: users[1].ssh_authorized_keys[0]: holds a jinja expression, which is not rendered; that line left out, its keys kept"
    ])
    // outside a template, braces are text like any other
    expect(notes(`#cloud-config\nssh_authorized_keys:\n  - '{{ x }}'\n`).warnings).toEqual(["line 3: ssh_authorized_keys[0]: not an OpenSSH public key; left out"])
  })

  it("says a write_files permissions that holds a jinja expression as what it is (cloud-init renders it), not as a mode cloud-init cannot read", () => {
    const source = "## template: jinja\n#cloud-config\nwrite_files:\n  - path: /etc/a\n    permissions: '{{ ds.meta_data.mode }}'\n  - path: /etc/b\n    permissions: rwxr-xr-x\n"
    expect(notes(source).warnings).toEqual([
      "line 1: jinja templates are not supported; the rest is read as plain cloud-config",
      "line 5: write_files[0].permissions: holds a jinja expression, which is not rendered; the file gets 0644",
      "line 7: write_files[1].permissions: not a mode cloud-init can read (it gives the file its default 0644 too); the file gets 0644"
    ])
  })

  it("names each ntp source that is no host name or network it skips, at its own place, and one holding a jinja expression as what it is", () => {
    const source = "#cloud-config\nntp:\n  servers:\n    - ntp1.example\n    - 0.pool.ntp.org iburst\n    - ntp2.example\n  pools: ['a b', 'c d']\n"
    expect(config(source).ntp).toMatchObject({ servers: ["ntp1.example", "ntp2.example"], pools: [] })
    expect(notes(source).problems).toEqual([
      "line 5: ntp.servers[1]: not a host name or network; skipped",
      "line 7: ntp.pools[0]: not a host name or network; skipped",
      "line 7: ntp.pools[1]: not a host name or network; skipped"
    ])
    const template = "## template: jinja\n#cloud-config\nntp:\n  servers: ['{{ ds.meta_data.ntp }}', ntp1.example]\n"
    expect(notes(template).problems).toEqual(["line 4: ntp.servers[0]: holds a jinja expression, which is not rendered; skipped"])
  })

  // chronyd -p (chrony 4.3): `allow host.example` (unresolvable at boot), `allow [10.0.0.1]`, `allow 1.2.3.4/` and `allow a/b`
  // are "Fatal error : Could not parse allow directive", and chronyd does not start; `10`, `10/8`, `::` and `fe80::/10` it reads
  it("skips an ntp allow entry that is no network chronyd reads without DNS, on which it would refuse to start: named at its place", () => {
    const source = "#cloud-config\nntp:\n  allow: [10.0.0.0/8, host.example, '[10.0.0.1]', 1.2.3.4/, a/b, '10', 10/8, '::', fe80::/10, 300.1.1.1, all, 10.0.0.0/33]\n"
    expect(config(source).ntp).toMatchObject({ client: "chrony", allow: ["10.0.0.0/8", "10", "10/8", "::", "fe80::/10", "all"] })
    const skipped = "not a network chrony's allow reads without DNS (ADDRESS or ADDRESS/BITS), on which chronyd would refuse to start; skipped"
    expect(notes(source).problems).toEqual([1, 2, 3, 4, 9, 11].map((i) => `line 3: ntp.allow[${i}]: ${skipped}`))
  })

  it("leaves out a jinja comment that goes on over several lines, as jinja does, and keeps the lines after it where they are", () => {
    const source = "## template: jinja\n#cloud-config\n{#\n  a note: {x\n#}\npackages: [vim]\nhostname: {{ v1.local_hostname }}\n"
    expect(config(source).packages).toEqual(["vim"])
    expect(notes(source).problems).toEqual(["line 7: hostname: holds a jinja expression, which is not rendered; skipped"])
  })

  it("masks jinja expressions in a template that holds private-use characters of its own, and keeps those as written", () => {
    const source = "## template: jinja\n#cloud-config\n# \uE000 \uE0010\uE001\nhostname: {{ v1.local_hostname }}\nruncmd:\n  - echo \uE0000\uE001 {{ v1.instance_id }}\n"
    expect(config(source).runcmd).toEqual([{ kind: "shell", script: "echo \uE0000\uE001 {{ v1.instance_id }}", index: 0 }])
    expect(notes(source).problems).toEqual(["line 4: hostname: holds a jinja expression, which is not rendered; skipped"])
  })

  it("says a jinja statement keeps a template from being read, at its line, not as a YAML error", () => {
    const source = '## template: jinja\n#cloud-config\nhostname: web\n{% if v1.region == "us-east-1" %}\npackages: [vim]\n{% endif %}\n'
    expect(failure(source)).toBe(
      "#cloud-config user-data is invalid: line 4: a jinja statement ({% ... %}) decides what this template holds, and jinja templates are not rendered; nothing of it is applied"
    )
    // one in a comment is none, as jinja reads it; the next one outside is named at its line
    const commented = "## template: jinja\n#cloud-config\n{# {% if x %} #}\n{#\n{% if v1.region %}\n#}\npackages: [vim]\n"
    expect(notes(commented)).toEqual({ problems: [], warnings: ["line 1: jinja templates are not supported; the rest is read as plain cloud-config"] })
    expect(config(commented).packages).toEqual(["vim"])
    expect(failure(`${commented}{% endif %}\n`)).toBe(
      "#cloud-config user-data is invalid: line 8: a jinja statement ({% ... %}) decides what this template holds, and jinja templates are not rendered; nothing of it is applied"
    )
  })
})

describe("#cloud-config-archive", () => {
  it("reads each entry as the MIME part it stands for: its type, else what its first line names, else cloud-config; its headers", () => {
    const source = [
      "#cloud-config-archive",
      "- content: |",
      "    #!/bin/sh",
      "    echo first",
      "- type: text/x-shellscript",
      "  filename: setup.sh",
      "  content: \"#!/bin/sh\\necho second\"",
      "- 'packages: [vim]'",
      "- type: text/cloud-config",
      "  merge-type: list(append)+dict(recurse_array)+str()",
      "  content: |",
      "    packages: [curl]",
      "    hostname: [not, a, name]",
      "- [not, a, part]",
      "- type: cloud-config",
      "  content: 'packages: [htop]'",
      ""
    ].join("\n")
    const result = parsed(source)
    expect(result.kind === "multipart" && result.scripts.map((s) => [s.name, text(s.content)])).toEqual([
      ["part-1", "#!/bin/sh\necho first\n"],
      ["setup.sh", "#!/bin/sh\necho second"]
    ])
    expect(config(source).packages).toEqual(["vim", "curl"])
    expect(notes(source)).toEqual({
      problems: ["line 13: hostname: expected a host name such as web-1 or web-1.example.com, got a list; skipped"],
      warnings: [
        "part 5 (line 14): expected a string or a map with content and type; part ignored",
        "part 6 (line 15): type: expected a MIME type such as text/cloud-config; part ignored"
      ]
    })
    expect(analyseUserData(bytesOf(source), OPTIONS).type).toBe("cloud-config-archive")
  })

  it("reads a !!binary entry without a type as application/octet-stream, which is not read, unless its first line names a type, as cloud-init does", () => {
    const binary = (content: string) => `!!binary ${Buffer.from(content).toString("base64")}`
    // the third is no UTF-8 (an iso-8859-1 e acute), which cloud-init reads no first line of (type_from_starts_with)
    const latin1 = `!!binary ${Buffer.from("#!/bin/sh\necho caf\u00e9\n", "latin1").toString("base64")}`
    const source = `#cloud-config-archive\n- content: ${binary("runcmd: [echo never]\n")}\n- content: ${binary("#cloud-config\nruncmd: [echo named]\n")}\n- content: ${latin1}\n`
    // cloud-init 22.4 merges the second entry alone and leaves the others unhandled ('Unhandled unknown content-type (application/octet-stream)')
    expect(config(source).runcmd).toEqual([{ kind: "shell", script: "echo named", index: 0 }])
    const result = parsed(source)
    expect(result.kind === "multipart" && result.scripts).toEqual([])
    expect(notes(source).warnings).toEqual([
      "part 1 (line 2): application/octet-stream parts are not supported; part ignored",
      "part 3 (line 4): application/octet-stream parts are not supported; part ignored"
    ])
  })

  it("names what its YAML has odd, as a #cloud-config's", () => {
    expect(notes("#cloud-config-archive\n- type: text/x-shellscript\n  type: text/cloud-config\n  content: 'packages: [vim]'\n").warnings).toEqual([
      "line 3: [0].type: duplicate key; the last one is used, as cloud-init does"
    ])
  })

  it("names a part's launch-index, which it cannot honour, and uses the part (cloud-init's launch-index example)", () => {
    const source = [
      "#cloud-config-archive",
      "- type: text/cloud-config",
      "  launch-index: 1",
      "  content: 'hostname: web-1'",
      "- type: text/upstart-job",
      "  launch-index: 0",
      "  content: whats this",
      "- 'packages: [curl]'",
      ""
    ].join("\n")
    expect(config(source)).toMatchObject({ hostname: "web-1", packages: ["curl"] })
    expect(notes(source).warnings).toEqual([
      "part 1 (line 4): Launch-Index is not supported; the part is used whatever the instance's launch index",
      "part 2 (line 7): text/upstart-job parts are not supported; part ignored"
    ])
    const mime = ['Content-Type: multipart/mixed; boundary="B"', "", "--B", "Content-Type: text/x-shellscript", "Launch-Index: 2", "", "#!/bin/sh", "echo hi", "--B--", ""].join("\n")
    expect(notes(mime).warnings).toEqual(["part 1 (line 7): Launch-Index is not supported; the part is used whatever the instance's launch index"])
  })

  it("says what keeps an archive from being read", () => {
    expect(failure("#cloud-config-archive\nhostname: x\n")).toBe("#cloud-config-archive user-data is invalid: line 2: expected a list of parts")
  })

  it("reads an archive with nothing under its first line as one with no parts, as cloud-init does", () => {
    for (const source of ["#cloud-config-archive\n", "#cloud-config-archive\n# none yet\n", "#cloud-config-archive\n~\n"]) {
      expect(notes(source)).toEqual({ problems: [], warnings: ["#cloud-config-archive has no parts"] })
    }
  })
})

describe("#alpine-config", () => {
  it("maps every key", () => {
    const source = `#alpine-config
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
`
    const c = config(source)
    expect(c.defaultUser?.name).toBe("bob")
    expect(c.sshAuthorizedKeys).toEqual(["ssh-ed25519 AAAA one"])
    expect(c.commandStyle).toBe("entries")
    expect(c.bootcmd).toEqual([{ kind: "shell", script: "echo boot", index: 0 }])
    expect(c.runcmd).toEqual([
      { kind: "shell", script: "echo run", index: 0 },
      { kind: "argv", argv: ["touch", "/tmp/x"], index: 1 }
    ])
    expect(c.writeFiles).toHaveLength(1)
    expect(c.ntp).toEqual({ client: "busybox", servers: [], pools: [], peers: [], allow: [], install: "apk add" })
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
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("cuts a base_url's trailing slashes in linear time, however many there are and whatever follows them", () => {
    // /\/+$/ tried every start in a run of '/' that did not end the URL: minutes for these
    const slashes = "/".repeat(400_000)
    const source = `#alpine-config\napk:\n  repositories:\n    - base_url: "https://m.example${slashes}alpine"\n      repos: [main]\n    - base_url: "https://m.example/alpine${slashes}"\n      repos: [main]\n`
    expect(config(source).apk.repositories.flatMap((r) => repositoryLines(r, "v3.20"))).toEqual([
      `https://m.example${slashes}alpine/v3.20/main`,
      "https://m.example/alpine/v3.20/main"
    ])
  })

  it("has the contract's defaults", () => {
    const c = config("#alpine-config\n")
    expect(c.defaultUser).toBeUndefined()
    expect(c.ntp).toBeUndefined()
    expect(c.apk).toEqual({ repositories: [], configured: false, replaceRepositories: false })
    expect([c.packageUpdate, c.packageUpgrade, c.autoinstall, c.packages, c.writeFiles]).toEqual([false, false, false, [], []])
  })

  it("reads apk's fields on their own: a bad cache costs only the cache; an apk key that cannot be used still leaves the repositories alone", () => {
    const source = "#alpine-config\napk:\n  cache: 5\n  repositories:\n    - {base_url: 'https://m.example/alpine', repos: [main]}\n"
    const c = config(source)
    expect(c.apk.cache).toBeUndefined()
    expect(c.apk.repositories.map((r) => r.baseUrl)).toEqual(["https://m.example/alpine"])
    expect(notes(source).problems.map((p) => p.split(":")[1]!.trim())).toEqual(["apk.cache"])
    const unusable = "#alpine-config\napk: 5\n"
    expect(config(unusable).apk).toEqual({ repositories: [], configured: true, replaceRepositories: false })
    expect(notes(unusable).problems).toHaveLength(1)
  })

  it("refuses a repository whose base_url, version or repos hold a blank or a control character (a CR a script made on Windows left in a value): apk could not use that line", () => {
    const source =
      '#alpine-config\napk:\n  repositories:\n    - {base_url: "https://m.example/alpine\\r", repos: [main]}\n    - {base_url: https://m.example/alpine, version: "v3.20\\r", repos: [main]}\n    - {base_url: https://m.example/alpine, repos: ["main\\r", community]}\n    - {base_url: https://ok.example/alpine, version: edge, repos: [main]}\n'
    expect(config(source).apk.repositories.flatMap((r) => repositoryLines(r, "v3.20"))).toEqual(["https://ok.example/alpine/edge/main"])
    expect(notes(source).problems).toEqual([
      "line 4: apk.repositories[0].base_url: expected a repository URL such as https://dl-cdn.alpinelinux.org/alpine, after an @tag and a space if tagged (not starting with #, which apk reads as a comment; no other blanks or control characters), got a string of 25 characters; apk.repositories[0] skipped",
      "line 5: apk.repositories[1].version: expected a version string such as v3.20 or edge, got a string of 6 characters; apk.repositories[1] skipped",
      "line 6: apk.repositories[2].repos[0]: expected a repository name such as main or community, got a string of 5 characters; apk.repositories[2] skipped"
    ])
  })

  it("refuses a repository whose version is blanks alone or a CR alone (a template's empty value on a line made on Windows): never written as BASE/ /REPO; an empty one is the release's, as the shell edition reads it ('.' is none)", () => {
    const source =
      '#alpine-config\napk:\n  repositories:\n    - {base_url: https://m.example/alpine, version: " ", repos: [main]}\n    - {base_url: https://m.example/alpine, version: "\\r", repos: [main]}\n    - {base_url: https://e.example/alpine, version: "", repos: [main]}\n    - {base_url: /srv/packages, version: ., repos: [main]}\n'
    expect(config(source).apk.repositories.flatMap((r) => repositoryLines(r, "v3.20"))).toEqual(["https://e.example/alpine/v3.20/main", "/srv/packages/main"])
    expect(notes(source).problems).toEqual([
      "line 4: apk.repositories[0].version: expected a version string such as v3.20 or edge, got a string of 1 character; apk.repositories[0] skipped",
      "line 5: apk.repositories[1].version: expected a version string such as v3.20 or edge, got a string of 1 character; apk.repositories[1] skipped"
    ])
  })

  it("takes a tagged repository, its base_url '@tag URL' (apk's repositories syntax: the tag, one space, the URL), as #alpine-config and cloud-config's apk_repos", () => {
    const source = '#alpine-config\napk:\n  repositories:\n    - {base_url: "@testing https://dl-cdn.alpinelinux.org/alpine/", version: edge, repos: [testing]}\n    - {base_url: "@local file:///srv/packages", repos: [main]}\n'
    expect(notes(source).problems).toEqual([])
    expect(config(source).apk.repositories.flatMap((r) => repositoryLines(r, "v3.20"))).toEqual([
      "@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing",
      "@local file:///srv/packages/v3.20/main"
    ])
    const cloud = '#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n  local_repo_base_url: "@local https://local.example/repo"\n'
    expect(notes(cloud).problems).toEqual([])
    expect(config(cloud).apk.repositories.flatMap((r) => repositoryLines(r, undefined))).toContain("@local https://local.example/repo/v3.20")
    // a tag alone, two spaces, a blank in the URL after the tag: still refused
    for (const bad of ["@testing", "@testing  https://m.example/alpine", "@testing https://m.example/al pine", "@ https://m.example/alpine"]) {
      expect({ bad, problems: notes(`#alpine-config\napk:\n  repositories:\n    - {base_url: "${bad}", repos: [main]}\n`).problems }).toEqual({ bad, problems: [expect.stringContaining("skipped")] })
    }
  })

  it("refuses a repository base_url that starts with '#', a line apk passes over as a comment, tagged or not, as #alpine-config and cloud-config's apk_repos", () => {
    for (const bad of ["#https://m.example/alpine", "@testing #https://m.example/alpine"]) {
      expect({ bad, problems: notes(`#alpine-config\napk:\n  repositories:\n    - {base_url: "${bad}", version: edge, repos: [main]}\n`).problems }).toEqual({
        bad,
        problems: [expect.stringContaining("base_url: expected a repository URL such as https://dl-cdn.alpinelinux.org/alpine, after an @tag and a space if tagged (not starting with #, which apk reads as a comment;")]
      })
      expect({ bad, problems: notes(`#cloud-config\napk_repos:\n  alpine_repo:\n    base_url: "${bad}"\n    version: v3.20\n`).problems }).toEqual({
        bad,
        problems: [expect.stringContaining("base_url: expected a repository URL such as https://dl-cdn.alpinelinux.org/alpine, after an @tag and a space if tagged (not starting with #, which apk reads as a comment;")]
      })
      expect({ bad, problems: notes(`#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n  local_repo_base_url: "${bad}"\n`).problems }).toEqual({
        bad,
        problems: [expect.stringContaining("local_repo_base_url: expected a repository URL such as https://dl-cdn.alpinelinux.org/alpine, after an @tag and a space if tagged (not starting with #, which apk reads as a comment;")]
      })
    }
    // a '#' further on is part of the URL, as apk reads it
    expect(notes('#alpine-config\napk:\n  repositories:\n    - {base_url: "https://m.example/al#pine", repos: [main]}\n').problems).toEqual([])
  })

  it("treats a key with no value as absent, and passes over null entries", () => {
    const c = config("#alpine-config\nruncmd:\npackages:\nntp:\nbootcmd: [~, echo a, ~]\n")
    expect([c.runcmd, c.packages, c.ntp]).toEqual([[], [], undefined])
    expect(c.bootcmd).toEqual([{ kind: "shell", script: "echo a", index: 1 }])
  })

  it("takes user as a map with a name", () => {
    expect(config("#alpine-config\nuser:\n  name: carol\n").defaultUser?.name).toBe("carol")
  })

  it("keeps the default user when the user map has no name, and says so", () => {
    const source = "#alpine-config\nuser:\n  shell: /bin/ash\npackages: [a]\n"
    expect(config(source).defaultUser).toBeUndefined()
    expect(notes(source).problems).toEqual(["line 2: user: a user map needs a name; the default user is kept"])
  })

  it("a user map without a name is an error (BEHAVIOUR.md §6) but no reason to refuse the document: alone, it is still usable", () => {
    const a = analyseUserData(bytesOf("#alpine-config\nuser:\n  shell: /bin/ash\n"), OPTIONS)
    expect(a.problems).toEqual([{ path: "user", line: 2, message: "a user map needs a name; the default user is kept", error: true }])
    expect(a.usable).toBe(true)
    expect(config("#alpine-config\nuser: {}\n").defaultUser).toBeUndefined()
  })

  it("enables ntp only when asked, chrony by default; clients cloud-init knows are mapped, others warned about", () => {
    expect(config("#alpine-config\nntp:\n  enabled: false\n  ntp_client: openntpd\n").ntp).toBeUndefined()
    expect(config("#alpine-config\nntp:\n  ntp_client: openntpd\n").ntp).toBeUndefined()
    expect(config("#alpine-config\nntp:\n  enabled: yes\n").ntp?.client).toBe("chrony")
    // the words as the shell edition reads them: "yes" and "true" are on, any other is off
    expect(config('#alpine-config\nntp:\n  enabled: "yes"\n  ntp_client: busybox\n').ntp?.client).toBe("busybox")
    expect(config('#alpine-config\nntp:\n  enabled: "true"\n').ntp?.client).toBe("chrony")
    expect(config('#alpine-config\nntp:\n  enabled: "off"\n').ntp).toBeUndefined()
    expect(notes('#alpine-config\nntp:\n  enabled: "yes"\n')).toEqual({ problems: [], warnings: [] })
    expect(config("#alpine-config\nntp:\n  enabled: true\n  ntp_client: ntp\n").ntp?.client).toBe("busybox")
    const odd = "#alpine-config\nntp:\n  enabled: true\n  ntp_client: ntpd-rs\n"
    expect(config(odd).ntp?.client).toBe("chrony")
    expect(notes(odd).warnings).toEqual(['line 4: ntp.ntp_client: not an NTP client on Alpine; chrony is used'])
  })

  it("warns about unknown keys, at the top and in a file", () => {
    const source = "#alpine-config\nfoo: 1\nbar: [x]\npackages: [a]\nwrite_files:\n  - path: /a\n    defer: true\nuser: {name: bob, shell: /bin/ash}\nntp: {enabled: true, servers: [x]}\napk:\n  pin: yes\n  repositories:\n    - {base_url: 'https://m.example', repos: [main], signed: true}\n"
    expect(notes(source).warnings).toEqual([
      "unknown #alpine-config keys ignored: foo, bar, write_files[0].defer, user.shell, ntp.servers, apk.pin, apk.repositories[0].signed"
    ])
  })

  it("skips only the key or entry that does not fit, naming its line, path and reason", () => {
    const source = "#alpine-config\npackages: [a, -rf, b]\nwrite_files:\n  - path: /x\n    permissions: rwx\n  - path: /y\nautoinstall: maybe\n"
    const c = config(source)
    expect(c.packages).toEqual(["a", "b"])
    expect(c.writeFiles.map((f) => f.path)).toEqual(["/y"])
    expect(c.autoinstall).toBe(false)
    expect(notes(source).problems).toEqual([
      'line 2: packages[1]: expected a package name (no spaces, not starting with -), got a string of 3 characters; skipped',
      'line 5: write_files[0].permissions: expected an octal mode such as 0644, got a string of 3 characters; write_files[0] skipped',
      'line 7: autoinstall: expected true or false, got a string of 5 characters; skipped'
    ])
  })

  it("tells a flag given as a list or a map that it wants true or false, as it tells one given an unknown word: never that a string would do", () => {
    const source = "#alpine-config\npackage_update: [true]\npackage_upgrade: {a: 1}\nautoinstall: maybe\nwrite_files:\n  - {path: /x, append: [yes]}\n"
    expect(notes(source).problems).toEqual([
      "line 2: package_update: expected true or false, got a list; skipped",
      "line 3: package_upgrade: expected true or false, got a map; skipped",
      "line 4: autoinstall: expected true or false, got a string of 5 characters; skipped",
      "line 6: write_files[0].append: expected true or false, got a list; write_files[0] skipped"
    ])
  })

  it("tells a value that takes a flag among other kinds (sudo, ssh_pwauth, a package's version) given a list or a map what it takes, not that it wants true or false", () => {
    const source = "#cloud-config\nusers:\n  - {name: bob, sudo: {a: 1}}\nssh_pwauth: [x]\npackages: [[vim, {a: 1}]]\n"
    expect(notes(source).problems).toEqual([
      "line 3: users[0].sudo: expected sudo rules (a string or a list of strings), true or false, got a map; skipped",
      "line 4: ssh_pwauth: expected true, false or unchanged, got a list; skipped",
      "line 5: packages[0][1]: expected a package version (no spaces) or a number or true or false, got a map; packages[0] skipped"
    ])
    // #alpine-config's ntp.enabled takes any word (only yes and true turn it on): a flag, as it says
    expect(notes("#alpine-config\nntp: {enabled: [x]}\n").problems).toEqual(["line 2: ntp.enabled: expected true or false, got a list; ntp skipped"])
  })

  it("refuses YAML syntax errors with their line, without quoting the document", () => {
    const message = failure("#alpine-config\npackages: [a\nruncmd:\n  - secret-token\n")
    expect(message).toMatch(/^#alpine-config user-data is invalid: line \d+: YAML: /)
    expect(message).not.toContain("secret-token")
  })

  it("never quotes the document in a YAML error or warning whose parser message would (a block scalar header, an escape, a tag)", () => {
    expect(failure("#cloud-config\nhostname: h1\npassword: |Sup3rSecret\n")).toBe("#cloud-config user-data is invalid: line 3: YAML: unexpected characters")
    expect(failure('#cloud-config\nhostname: h1\npassword: "x\\uSup3rSecret"\n')).toBe("#cloud-config user-data is invalid: line 3: YAML: an invalid escape sequence")
    expect(notes("#alpine-config\nruncmd: [!Sup3rSecret x]\n").warnings).toContain("line 2: YAML: a tag it cannot resolve")
    expect(failure("#cloud-config\nhostname: h1\nruncmd: [!Sup3rSecret x]\n")).not.toContain("Sup3rSecret")
  })

  it("refuses a #cloud-config holding an unquoted date Python's datetime refuses (2024-02-30, a 25th hour), on which PyYAML's safe_load fails; a real date, a quoted one or one PyYAML takes for text is read", () => {
    const refused = "YAML: a date that is no day of the calendar (or a time of day past 23:59:59), which cloud-init's PyYAML cannot construct: it refuses the document (quote it)"
    expect(failure("#cloud-config\nhostname: h1\nruncmd:\n  - [echo, 2024-02-30]\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(failure("#cloud-config\nhostname: h1\nwrite_files:\n  - {path: /etc/stamp, content: 2024-01-01 25:00:00}\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    const c = config("#cloud-config\nruncmd:\n  - [echo, 2024-02-29, '2024-02-30', 2024-2-30, 2024-02-30x]\n")
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", "2024-02-29", "2024-02-30", "2024-2-30", "2024-02-30x"], index: 0 }])
  })

  it("refuses a #cloud-config with a ':' that has no key before it (after a flow list, at a line's start), as PyYAML refuses it; an explicit empty key (`?`) is read", () => {
    const refused = "YAML: a ':' with no key before it (after a list's ']', at a line's start), which cloud-init's PyYAML refuses: it refuses the document"
    expect(failure("#cloud-config\nhostname: h1\npackages: [vim, curl]: x\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    expect(failure("#cloud-config\nruncmd:\n  - echo a\n: echo b\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(failure("#cloud-config\nhostname: h1\ntimezone: UTC\n  : Europe/Paris\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    // after a key with no value, at the line's start or at that key's indentation, as PyYAML refuses it ('while parsing a block mapping')
    expect(failure("#cloud-config\npackages:\n: [vim]\nhostname: h1\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    expect(failure("#cloud-config\nx-a:\n  b:\n  : x\nhostname: h1\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(config("#cloud-config\nx-anchored: {&k : 1}\nhostname: h1\n").hostname).toBe("h1")
    expect(config("#cloud-config\nx-odd:\n  ?\n  : c\nhostname: h1\n").hostname).toBe("h1")
    expect(config("#cloud-config\nx-odd: [? : b, {? : c}]\nhostname: h1\n").hostname).toBe("h1")
  })

  it("reads a #cloud-config whose explicit key (`?`) carries an anchor or a tag with its ':' on a line below, as PyYAML reads it; the same anchor or tag without `?` is refused", () => {
    const refused = "YAML: a ':' with no key before it (after a list's ']', at a line's start), which cloud-init's PyYAML refuses: it refuses the document"
    expect(config("#cloud-config\nx-odd:\n  ? &k\n  : c\nhostname: h1\n").hostname).toBe("h1")
    expect(config("#cloud-config\nx-odd:\n  ? !!str # the key\n\n  : c\nhostname: h1\n").hostname).toBe("h1")
    expect(config("#cloud-config\r\nx-odd: [? &k\r\n  : c]\r\nhostname: h1\r\n").hostname).toBe("h1")
    expect(failure("#cloud-config\nx-odd: &k\n: c\nhostname: h1\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    expect(failure("#cloud-config\nx-odd: [&k\n  : c]\nhostname: h1\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
  })

  it("refuses a #cloud-config that sets one anchor twice, as PyYAML's composer refuses it ('found duplicate anchor'); an anchor named by many aliases is read", () => {
    const refused = "YAML: an anchor set a second time, which cloud-init's PyYAML refuses: it refuses the document (give each anchor its own name)"
    expect(failure("#cloud-config\nhostname: h1\nx-a: &owner root:root\nx-b: &owner nginx:nginx\nwrite_files:\n  - {path: /etc/x, owner: *owner}\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    const c = config("#cloud-config\nx-a: &owner nginx:nginx\nwrite_files:\n  - {path: /etc/x, owner: *owner}\n  - {path: /etc/y, owner: *owner}\n")
    expect(c.writeFiles.map((f) => f.owner)).toEqual(["nginx:nginx", "nginx:nginx"])
  })

  it("reads a NEL (U+0085) in a #cloud-config as a line break, as PyYAML reads it: a plain value broken by one is refused, a quoted one folds it to a space, a comment ends at it", () => {
    expect(failure("#cloud-config\nhostname: h1\nx-a: x\u0085y\n")).toMatch(/^#cloud-config user-data is invalid: line 4: YAML: /)
    const c = config('#cloud-config\nruncmd:\n  - "echo x\u0085y"\n  - echo a # c\u0085  - echo b\n')
    expect(c.runcmd.map((r) => (r.kind === "shell" ? r.script : r.argv))).toEqual(["echo x y", "echo a", "echo b"])
  })

  it("refuses a #cloud-config with a value its YAML tag does not fit (!!int x, !!set [x], !!omap {x: 1}, !!str {a: 1}, !!timestamp x), which PyYAML cannot construct; values that fit are read", () => {
    const refused = "YAML: a value its tag does not fit (!!int x, !!set [x], !!str {a: 1}), which cloud-init's PyYAML cannot construct: it refuses the document"
    for (const value of ["!!int x", "!!bool maybe", "!!float x", "!!timestamp x", "!!timestamp 2024-02-30", "!!set [x]", "!!map [x]", "!!omap {x: 1}", "!!pairs {x: 1}", "!!seq {x: 1}", "!!str {a: 1}"]) {
      expect(failure(`#cloud-config\nhostname: h1\nx-a: ${value}\n`)).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    }
    const fits = ["!!int 0o17", "!!int 0x1F", "!!int 1:30", "!!bool tRuE", "!!float 1", "!!float .inf", "!!float 1e5", "!!timestamp 2024-1-1", "!!set {x}", "!!omap [x: 1]", "!!pairs [x: 1, x: 2]", "!!str 12", "!!null x"]
    expect(config(`#cloud-config\nhostname: h1\n${fits.map((v, i) => `x-${i}: ${v}\n`).join("")}`).hostname).toBe("h1")
  })

  it("refuses a #cloud-config that is a document end (...) alone, as PyYAML refuses it ('expected the node content'); one after a document or after '---' is read", () => {
    const refused = "YAML: a document end (...) before any content, which cloud-init's PyYAML refuses: it refuses the document"
    expect(failure("#cloud-config\n...\n")).toBe(`#cloud-config user-data is invalid: line 2: ${refused}`)
    expect(failure("#cloud-config\n# c\n\n... # end\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(config("#cloud-config\nhostname: h1\n...\n").hostname).toBe("h1")
    expect(notes("#cloud-config\n---\n...\n").problems).toEqual([])
  })

  it("refuses a #cloud-config under a %YAML directive of a version other than 1.x, or a second one, as PyYAML refuses it; %YAML 1.2 and 1.1 are read", () => {
    const refused = "YAML: a %YAML directive of a version other than 1.x, or a second one, which cloud-init's PyYAML refuses: it refuses the document"
    expect(failure("#cloud-config\n%YAML 2.0\n---\nhostname: h1\n")).toBe(`#cloud-config user-data is invalid: line 2: ${refused}`)
    expect(failure("#cloud-config\n%YAML 1.1\n# c\n%YAML 1.1\n---\nhostname: h1\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(config("#cloud-config\n%YAML 1.2\n%TAG !x! tag:example.com,2000:\n---\nhostname: h1\nx-a: |\n  %YAML 2.0\n").hostname).toBe("h1")
  })

  it("refuses a #cloud-config with a plain value starting with ':' inside brackets ([::1]), as PyYAML refuses it ('while parsing a flow node'); quoted, outside brackets or an empty key it is read", () => {
    const refused = "YAML: a plain value starting with ':' inside brackets ([::1]), which cloud-init's PyYAML refuses: it refuses the document (quote it: '::1')"
    expect(failure("#cloud-config\nhostname: h1\nruncmd: [::1]\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    expect(failure("#cloud-config\nhostname: h1\nx-a:\n  b: {c: ::1}\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    const c = config("#cloud-config\nruncmd:\n  - [ping, '::1']\n  - ping ::1\n  - [ping, a::1]\nx-a: {? : x}\n")
    expect(c.runcmd.map((r) => (r.kind === "argv" ? r.argv : r.script))).toEqual([["ping", "::1"], "ping ::1", ["ping", "a::1"]])
  })

  it("refuses a #cloud-config holding a plain `=` as a value, which PyYAML resolves to YAML 1.1's value type and safe_load cannot construct; as a key, quoted or in a longer text it is read", () => {
    const refused = "YAML: a plain = (YAML 1.1's value key), which cloud-init's PyYAML (safe_load) cannot construct: it refuses the document (quote it: '=')"
    expect(failure("#cloud-config\nhostname: h1\nruncmd:\n  - [test, a, =, b]\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(failure("#cloud-config\nhostname: h1\nx-sep: ! =\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    const c = config("#cloud-config\nruncmd:\n  - [test, a, '=', b]\n  - = x\nx-map: {=: 1}\n")
    expect(c.runcmd).toEqual([
      { kind: "argv", argv: ["test", "a", "=", "b"], index: 0 },
      { kind: "shell", script: "= x", index: 1 }
    ])
  })

  it("refuses a #cloud-config holding a tag PyYAML's safe_load cannot construct (`!vault`, `!!python/object`, a %TAG prefix's), at its line, as cloud-init applies none of it; YAML's own tags are read", () => {
    const refused = "YAML: a tag other than YAML's own (!!str, !!binary...), which cloud-init's PyYAML (safe_load) cannot construct: it refuses the document"
    for (const [document, line] of [
      ["#cloud-config\nhostname: h1\nusers:\n  - name: ops\n    plain_text_passwd: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n", 5],
      ["#cloud-config\nhostname: h1\nruncmd: [!!python/object/apply:os.system [reboot]]\n", 3],
      ["#cloud-config\nhostname: h1\nbootcmd: !cmds [[echo, x]]\n", 3],
      ["#cloud-config\n%TAG !e! tag:example.com,2000:\n---\nruncmd: [!e!x echo]\n", 4]
    ] as const) {
      expect(failure(document)).toBe(`#cloud-config user-data is invalid: line ${line}: ${refused}`)
    }
    const c = config("#cloud-config\nruncmd:\n  - !!str 1\n  - ! echo\nwrite_files:\n  - {path: /etc/x, content: !!binary aGk=}\nx-set: !!set {a}\nx-omap: !!omap [a: 1]\nx-date: !!timestamp 2001-01-01\n")
    expect(c.runcmd).toEqual([
      { kind: "shell", script: "1", index: 0 },
      { kind: "shell", script: "echo", index: 1 }
    ])
    expect(text(c.writeFiles[0]?.content)).toBe("hi")
  })

  it("reads `!!python/unicode`, which cloud-init's YAML loader adds to safe_load's tags, as a string, with no warning, in #cloud-config and #alpine-config", () => {
    const c = config('#cloud-config\nhostname: !!python/unicode web-1\nruncmd:\n  - !!python/unicode "echo hi"\n')
    expect(c.hostname).toBe("web-1")
    expect(c.runcmd).toEqual([{ kind: "shell", script: "echo hi", index: 0 }])
    expect(notes('#cloud-config\nhostname: !!python/unicode web-1\n')).toEqual({ problems: [], warnings: [] })
    expect(notes('#alpine-config\nruncmd:\n  - !!python/unicode "echo hi"\n')).toEqual({ problems: [], warnings: [] })
  })

  it("keeps the parser's message where it is a fixed text that quotes nothing (a block collection inside a flow one)", () => {
    expect(failure("#cloud-config\npackages: [\n  - a\n]\n")).toBe("#cloud-config user-data is invalid: line 3: YAML: Block collections are not allowed within flow collections")
    expect(failure("#cloud-config\nruncmd: [ a: b: c ]\n")).toBe("#cloud-config user-data is invalid: line 2: YAML: Block collections are not allowed within flow collections")
  })

  it("names the line of the error PyYAML stops at where a string goes on over less indented lines before it, not the first such line", () => {
    const document = '#cloud-config\nruncmd:\n  - "printf a\n  b"\npackages: [curl,\njq]\nhostname: "web\n'
    expect(failure(document)).toBe('#cloud-config user-data is invalid: line 8: YAML: Missing closing "quote')
  })

  it("reads a string that goes on at the list's column after a block scalar of the same entry ('- content: |'), as PyYAML does: that scalar's lines end at the entry's next key", () => {
    const c = config('#cloud-config\nwrite_files:\n- content: |\n    Welcome\n  path: "/etc/\\\nmotd"\n  permissions: "0644"\nruncmd:\n- echo done\n')
    expect(c.writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/etc/motd", "Welcome\n"]])
    expect(c.runcmd).toEqual([{ kind: "shell", script: "echo done", index: 0 }])
  })

  it("refuses a flow collection's line that starts with a tab, as PyYAML does ('while scanning for the next token'); a quoted string's such line is read", () => {
    expect(failure("#cloud-config\npackages: [curl,\n\tjq]\n")).toMatch(/^#cloud-config user-data is invalid: line 3: YAML: /)
    expect(config('#cloud-config\nruncmd:\n  - "a\n\tb"\n').runcmd).toEqual([{ kind: "shell", script: "a b", index: 0 }])
  })

  it("refuses a #cloud-config with a tab outside a quoted or block scalar (after a key's colon, after a value, in a plain one), at its line, as PyYAML refuses it whole; a tab in quotes, a block scalar or a comment is read", () => {
    const refused = "line 3: YAML: a tab outside a quoted or block scalar, which cloud-init's PyYAML refuses (only spaces separate YAML's tokens)"
    for (const document of ["#cloud-config\nhostname: web\npackages:\tvim\n", "#cloud-config\npackages:\n  - vim\t\n", "#cloud-config\nruncmd:\n  - echo a\tb\n", "#cloud-config\nruncmd: [a,\n  \tb]\n", "#cloud-config\nruncmd:\n\t\n"]) {
      expect(failure(document)).toBe(`#cloud-config user-data is invalid: ${refused}`)
    }
    expect(notes("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/cloud-config\n\n#cloud-config\nhostname:\tweb\n--b--\n").problems).toEqual([`line 7: ${refused.slice("line 3: ".length)}; part skipped`])
    const c = config("#cloud-config\t# a comment\t\nruncmd:\n  - 'a\tb'\n  - \"c\n\td\"\nwrite_files:\n  - path: /etc/x\n    content: |\n      \tindented\n")
    expect(c.runcmd).toEqual([
      { kind: "shell", script: "a\tb", index: 0 },
      { kind: "shell", script: "c d", index: 1 }
    ])
    expect(text(c.writeFiles[0]?.content)).toBe("\tindented\n")
    // an #alpine-config is read as the shell edition's libyaml read it, which takes a tab after a value
    expect(config("#alpine-config\npackages: [vim,\tcurl]\t\n").packages).toEqual(["vim", "curl"])
  })

  it("reads a block scalar's lines past a blank line in it as its text, where a flow collection later in the document goes on at the start of a line", () => {
    // PyYAML 6: {'write_files': [{'path': '/x', 'content': 'a\n\n"unterminated\nb\n'}], 'packages': ['curl', 'jq']}
    const c = config('#cloud-config\nwrite_files:\n  - path: /x\n    content: |\n      a\n\n      "unterminated\n      b\npackages: [curl,\njq]\n')
    expect(c.writeFiles.map((f) => text(f.content))).toEqual(['a\n\n"unterminated\nb\n'])
    expect(c.packages).toEqual(["curl", "jq"])
  })

  it("gives a block scalar whose last line ends the document without a line break none at its end, as PyYAML (so cloud-init) reads it", () => {
    const contents = (document: string) => config(document).writeFiles.map((f) => text(f.content))
    // the values are PyYAML 6's (cloud-init 22.4): a document pasted without its last line break
    expect(contents("#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: |\n    Welcome")).toEqual(["Welcome"])
    expect(contents("#cloud-config\nwrite_files:\n- path: /a\n  content: |\n    one\n- path: /b\n  content: >\n    two\n    three  ")).toEqual(["one\n", "two three  "])
    expect(contents("#cloud-config\nwrite_files:\n- path: /a\n  content: |+\n    x\n\n    z")).toEqual(["x\n\nz"])
    // a last line of the indentation alone holds no text: the line break before it stays, as a document's final one does
    expect(contents("#cloud-config\nwrite_files:\n- path: /a\n  content: |+\n\n    x\n    ")).toEqual(["\nx\n"])
    expect(contents("#cloud-config\nwrite_files:\n- path: /a\n  content: |\n    Welcome\n")).toEqual(["Welcome\n"])
  })

  it("names a control character YAML does not allow (NULs padding the data) as the cause of a YAML error, at its line", () => {
    expect(failure("#cloud-config\nhostname: web\n\0\0\0")).toBe("#cloud-config user-data is invalid: line 3: YAML: a control character (\\x00), which YAML does not allow")
  })

  it("names the first YAML error only, and refuses unread a document nested deeper than any real one", () => {
    const open = notes(`#cloud-config\nruncmd: ${"[".repeat(5000)}\n`)
    expect(open.problems).toHaveLength(1)
    expect(notes(`#cloud-config\nruncmd: ${"[".repeat(300_000)}${"]".repeat(300_000)}\n`).problems).toEqual(["line 1: YAML: nested too deeply (more than 200 levels)"])
  })

  it(`refuses unparsed, in one line, YAML of more than ${YAML_MAX_TOKENS} tokens (all cloud-config parts together); a block scalar is one token however long`, () => {
    const tooMany = `#cloud-config\nhostname: h\nruncmd:\n${"- a\n".repeat(YAML_MAX_TOKENS / 4)}`
    const refused = analyseUserData(bytesOf(tooMany), OPTIONS)
    expect([refused.parsed, refused.problems.map(formatProblem)]).toEqual([undefined, [`line 1: YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data`]])
    // a long list of a real document's kind, and megabytes of a file's content, are read
    const packages = notes(`#cloud-config\npackages:\n${"- pkg\n".repeat(10_000)}`)
    expect(packages.problems).toEqual([])
    const content = "x".repeat(60) + "\n"
    const file = parseUserData(bytesOf(`#cloud-config\nwrite_files:\n  - path: /big\n    content: |\n${`      ${content}`.repeat(50_000)}`), { maxBytes: 16 * 1024 * 1024 })
    expect(Either.isRight(file) && file.right.kind === "config" && file.right.config.writeFiles[0]?.content?.length).toBe(content.length * 50_000)
    // the parts share the budget: two parts each under it, together over (a list under a key of the user's own: counted as any, not read as commands)
    const half = `#cloud-config\nx-padding:\n${"- a\n".repeat(YAML_MAX_TOKENS / 8 + 100)}`
    const mime = ["Content-Type: multipart/mixed; boundary=B", "", "--B", "Content-Type: text/cloud-config", "", half, "--B", "Content-Type: text/cloud-config", "", half, "--B--", ""].join("\n")
    const both = analyseUserData(bytesOf(mime), OPTIONS)
    expect(both.problems.map((p) => p.message)).toEqual([`YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data; part skipped`])
    // a #cloud-config-archive's list shares it with its parts: a list and a part each under it, together over
    const indented = (text: string) => text.replace(/^(?=.)/gm, "    ")
    const archive = `#cloud-config-archive\n- content: |\n${indented(half)}  x-padding:\n${"  - a\n".repeat(YAML_MAX_TOKENS / 8 + 100)}`
    const listAndPart = analyseUserData(bytesOf(archive), OPTIONS)
    expect(listAndPart.problems.map((p) => p.message)).toEqual([`YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data; part skipped`])
  })

  it(`lists ${MAX_NOTES} problems and ${MAX_NOTES} warnings of a document, counts the others in one line each, and names ${MAX_NOTES} keys not carried out`, () => {
    const entries = MAX_NOTES + 400
    const source = `#cloud-config\nhostname: h\n${"hostname: h\n".repeat(entries)}${Array.from({ length: entries }, (_, i) => `k${i}: 1\n`).join("")}write_files:\n${"  - {path: 5, content: x}\n".repeat(entries)}  - {path: /ok, content: x}\n`
    const a = analyseUserData(bytesOf(source), OPTIONS)
    const problems = a.problems.map(formatProblem)
    expect(problems).toHaveLength(MAX_NOTES + 1)
    const firstProblem = 2 + 2 * entries + 2
    expect(problems[0]).toBe(`line ${firstProblem}: write_files[0].path: expected a string, got a number; write_files[0] skipped`)
    expect(problems.at(-1)).toBe(`line ${firstProblem + MAX_NOTES}: 400 more problems are not listed`)
    expect(a.warnings).toHaveLength(MAX_NOTES + 2)
    expect(a.warnings[MAX_NOTES]).toBe("400 more warnings are not listed")
    const keys = Array.from({ length: MAX_NOTES }, (_, i) => `k${i}`).join(", ")
    expect(a.warnings.at(-1)).toBe(`unsupported cloud-config keys: ${keys} and 400 more`)
    expect(a.parsed?.kind === "config" && a.parsed.config.writeFiles.map((f) => f.path)).toEqual(["/ok"])
    // exactly as many keys as are listed: all named, none counted
    const exactly = analyseUserData(bytesOf(`#cloud-config\n${Array.from({ length: MAX_NOTES }, (_, i) => `k${i}: 1\n`).join("")}hostname: h\n`), OPTIONS)
    expect(exactly.warnings).toEqual([`unsupported cloud-config keys: ${keys}`])
  })

  it("applies nothing of a document that is not a map, or whose every key is broken, and says so", () => {
    const check = (source: string) => {
      const a = analyseUserData(bytesOf(source), OPTIONS)
      return [a.usable, a.problems.map(formatProblem)]
    }
    expect(check("#alpine-config\n- a\n- b\n")).toEqual([false, ["line 2: expected a map of #alpine-config keys, got a list"]])
    expect(check("#alpine-config\npackages: vim\nautoinstall: maybe\n")).toEqual([
      false,
      ['line 2: packages: expected a list, got a string of 3 characters; skipped', 'line 3: autoinstall: expected true or false, got a string of 5 characters; skipped']
    ])
    expect(check("#alpine-config\npackages: vim\nautoinstall: true\n")[0]).toBe(true)
    expect(config("#alpine-config\npackages: vim\n").packages).toEqual([])
  })
})

describe("write_files", () => {
  const files = (entries: string, options?: Parameters<typeof parseUserData>[1]) => config(`#alpine-config\nwrite_files:\n${entries}`, options)

  it("has defaults 0644, root:root, text/plain, no append", () => {
    const [file] = files("  - path: /etc/motd\n    content: hi\n").writeFiles
    expect(file).toEqual({ path: "/etc/motd", content: bytesOf("hi"), mode: 0o644, owner: "root:root", append: false, defer: false, index: 0 })
  })

  it("#alpine-config reads modes as octal digits, quoted or not, as the shell edition's chmod does", () => {
    const modes = files(["'0600'", "0755", "644", '"0o640"', "4755"].map((m) => `  - path: /f\n    permissions: ${m}\n`).join("")).writeFiles.map(
      (f) => f.mode
    )
    expect(modes).toEqual([0o600, 0o755, 0o644, 0o640, 0o4755])
  })

  it("#cloud-config reads modes as cloud-init does: a string is octal, an integer is the mode's value", () => {
    const c = config(
      `#cloud-config\nwrite_files:\n${["'0600'", "0755", "493", '"0o640"', "'644'", "420"].map((m) => `  - path: /f\n    permissions: ${m}\n`).join("")}`
    )
    expect(c.writeFiles.map((f) => f.mode)).toEqual([0o600, 0o755, 0o755, 0o640, 0o644, 0o644])
  })

  it("#cloud-config reads a string mode as Python's int(text, 8) does: leading zeros, a sign, '_' between digits, '0o_'; what it refuses, or no mode, is 0644 with a warning", () => {
    const read = ["'000755'", "'+0750'", "'7_55'", "'0o_700'", "'0O6_4_0'", "' 0600 '", "'-0'", "'00000000000644'"]
    const refused = ["'7__5'", "'_755'", "'0o'", "'-644'", "'17777'", "'0x1ed'", "'644abc'"]
    const source = `#cloud-config\nwrite_files:\n${[...read, ...refused].map((m) => `  - path: /f\n    permissions: ${m}\n`).join("")}`
    expect(config(source).writeFiles.map((f) => f.mode)).toEqual([0o755, 0o750, 0o755, 0o700, 0o640, 0o600, 0, 0o644, ...refused.map(() => 0o644)])
    expect(notes(source).warnings).toHaveLength(refused.length)
  })

  it("#cloud-config reads owner as cloud-init does: split at the first ':', each side trimmed, an empty side, -1 or none left unchanged", () => {
    const owners = ["':nginx'", "'nginx:'", "' nginx : adm '", "'-1:adm'", "'deploy:none'", "'-1:-1'", "''", "1000", "'www:www'"]
    const source = `#cloud-config\nwrite_files:\n${owners.map((o) => `  - path: /f\n    owner: ${o}\n`).join("")}`
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config(source).writeFiles.map((f) => f.owner)).toEqual([":nginx", "nginx", "nginx:adm", ":adm", "deploy", "", "", "1000", "www:www"])
    expect(notes("#cloud-config\nwrite_files:\n  - {path: /f, owner: 'a:b:c'}\n  - {path: /g, owner: '--reference=/etc:x'}\n").problems).toEqual([
      "line 3: write_files[0].owner: expected an owner such as root:root, got a string of 5 characters; write_files[0] skipped",
      "line 4: write_files[1].owner: expected an owner such as root:root, got a string of 18 characters; write_files[1] skipped"
    ])
  })

  it("takes owner and append", () => {
    const [file] = files("  - path: /f\n    owner: nobody:nogroup\n    append: true\n").writeFiles
    expect([file!.owner, file!.append]).toEqual(["nobody:nogroup", true])
  })

  it("decodes base64, gzip+base64 and !!binary content", () => {
    const payload = "line one\nline two\n"
    const b64 = Buffer.from(payload).toString("base64")
    const gz = gzipSync(Buffer.from(payload)).toString("base64")
    const source = `#alpine-config\nwrite_files:\n${[
      `  - path: /a\n    encoding: b64\n    content: ${b64}\n`,
      `  - path: /b\n    encoding: base64\n    content: |\n      ${b64.slice(0, 8)}\n      ${b64.slice(8)}\n`,
      `  - path: /c\n    encoding: gzip+base64\n    content: ${gz}\n`,
      `  - path: /d\n    encoding: gz+b64\n    content: ${gz}\n`,
      `  - path: /e\n    encoding: gz\n    content: !!binary ${gz}\n`,
      `  - path: /f\n    content: !!binary ${b64}\n`,
      `  - path: /g\n    encoding: gzip\n    content: ${gz}\n`,
      `  - path: /h\n    encoding: " B64 "\n    content: ${b64}\n`
    ].join("")}`
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual(["/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h"].map((p) => [p, payload]))
  })

  it("#cloud-config names gz or gzip text content, which cloud-init gunzips as it is and fails on, and writes it as base64 of gzip data", () => {
    const payload = "line one\n"
    const gz = gzipSync(Buffer.from(payload)).toString("base64")
    const source = `#cloud-config\nwrite_files:\n${[
      `  - {path: /a, encoding: gz, content: ${gz}}\n`,
      `  - {path: /b, encoding: GZIP, content: ${gz}}\n`,
      `  - {path: /c, encoding: gzip, content: !!binary ${gz}}\n`,
      `  - {path: /d, encoding: gz+b64, content: ${gz}}\n`,
      `  - {path: /e, encoding: gz, content: ""}\n`
    ].join("")}`
    const said = (encoding: string) =>
      `${encoding} with text content, which cloud-init gunzips as it is and fails on (it writes neither this file nor those after it): read as base64 of gzip data, as gz+base64 is`
    expect(notes(source)).toEqual({ problems: [], warnings: [`line 3: write_files[0].encoding: ${said("gz")}`, `line 4: write_files[1].encoding: ${said("gzip")}`] })
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([...["/a", "/b", "/c", "/d"].map((p) => [p, payload]), ["/e", ""]])
  })

  it("decodes !!binary content under an encoding that names base64 once more, as cloud-init does; bytes that are no base64 text are taken as they are", () => {
    const payload = "line one\n"
    const b64 = Buffer.from(payload).toString("base64")
    const gz = gzipSync(Buffer.from(payload))
    const twice = (data: Buffer | string) => Buffer.from(Buffer.from(data).toString("base64")).toString("base64")
    // cloud-init 22.4.2, run on these entries, writes the payload for /a and /b (the YAML's !!binary, then base64), fails
    // /c ('Incorrect padding': gzip's bytes are no base64), and writes /d's bytes unchanged (gzip alone names no base64)
    const source = `#cloud-config\nwrite_files:\n${[
      `  - {path: /a, encoding: b64, content: !!binary ${twice(payload)}}\n`,
      `  - {path: /b, encoding: gz+base64, content: !!binary ${twice(gz)}}\n`,
      `  - {path: /c, encoding: gzip+b64, content: !!binary ${gz.toString("base64")}}\n`,
      `  - {path: /d, encoding: gz, content: !!binary ${gz.toString("base64")}}\n`,
      `  - {path: /e, encoding: text/plain, content: !!binary ${b64}}\n`,
      // 'hello world' as !!binary: letters alone, but no padded base64, on which cloud-init fails: the text stays the file
      `  - {path: /f, encoding: b64, content: !!binary ${Buffer.from("hello world").toString("base64")}}\n`
    ].join("")}`
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([
      ...["/a", "/b", "/c", "/d", "/e"].map((p) => [p, payload]),
      ["/f", "hello world"]
    ])
  })

  it("#alpine-config decodes !!binary content once under a base64 encoding, as the shell edition does: base64 text it holds stays the file", () => {
    // the shell edition gives the !!binary's text to 'base64 -d' once: a key file and the word 'abcd', both base64's letters in whole quads, are written as they are
    const key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
    const gz = gzipSync(Buffer.from(key)).toString("base64")
    const source = `#alpine-config\nwrite_files:\n${[
      `  - {path: /key, encoding: b64, content: !!binary ${Buffer.from(key).toString("base64")}}\n`,
      `  - {path: /word, encoding: base64, content: !!binary ${Buffer.from("abcd").toString("base64")}}\n`,
      `  - {path: /gz, encoding: gz+b64, content: !!binary ${gz}}\n`
    ].join("")}`
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/key", key], ["/word", "abcd"], ["/gz", key]])
  })

  it("takes an empty encoding as none, as cloud-init does: the content is the text, with no warning of an unknown encoding", () => {
    const source = `#cloud-config\nwrite_files:\n  - path: /a\n    encoding: ""\n    content: aGk=\n  - path: /b\n    encoding: " "\n    content: plain\n`
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/a", "aGk="], ["/b", "plain"]])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("skips an entry whose !!binary content is not base64 (PyYAML refuses it), and a #cloud-config-archive part so given, saying so: never an empty file written for it", () => {
    const source = "#cloud-config\nwrite_files:\n  - {path: /bad, content: !!binary 'a$$$=b'}\n  - {path: /good, content: !!binary aGk=}\n"
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/good", "hi"]])
    expect(notes(source).problems).toEqual(["line 3: write_files[0].content: !!binary data that is not valid base64; write_files[0] skipped"])
    const archive = "#cloud-config-archive\n- {type: text/cloud-config, content: !!binary 'a$$=b'}\n"
    expect(notes(archive).warnings).toEqual(["part 1 (line 2): content: !!binary data that is not valid base64; part ignored"])
  })

  it("skips a #cloud-config entry whose !!binary text lacks its closing '=' padding, which PyYAML refuses ('Incorrect padding'), saying so; #alpine-config takes it", () => {
    const source = "#cloud-config\nwrite_files:\n  - {path: /bad, content: !!binary aGk}\n  - {path: /good, content: !!binary aGk=}\n"
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/good", "hi"]])
    expect(notes(source).problems).toEqual(["line 3: write_files[0].content: !!binary data that is not valid base64; write_files[0] skipped"])
    const alpine = "#alpine-config\nwrite_files:\n  - {path: /taken, content: !!binary aGk}\n"
    expect(config(alpine).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/taken", "hi"]])
  })

  it("skips a #cloud-config entry whose !!binary text holds a character outside ASCII, which PyYAML refuses ('failed to convert base64 data into ascii'), saying so; #alpine-config takes it", () => {
    const source = "#cloud-config\nwrite_files:\n  - {path: /bad, content: !!binary aGk=\u00e9}\n  - {path: /good, content: !!binary aGk=}\n"
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/good", "hi"]])
    expect(notes(source).problems).toEqual(["line 3: write_files[0].content: !!binary data that is not valid base64; write_files[0] skipped"])
    const alpine = "#alpine-config\nwrite_files:\n  - {path: /taken, content: !!binary aGk=\u00e9}\n"
    expect(config(alpine).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/taken", "hi"]])
  })

  it("#cloud-config names base64 content with characters outside ASCII, which cloud-init's decoder refuses (not 'as cloud-init drops them'); #alpine-config drops them as before", () => {
    const body = "write_files:\n  - path: /a\n    encoding: b64\n    content: aGVsbG8g\u00e9d29ybGQ=\n"
    expect(config(`#cloud-config\n${body}`).writeFiles.map((f) => text(f.content))).toEqual(["hello world"])
    expect(notes(`#cloud-config\n${body}`).warnings).toEqual([
      "line 5: write_files[0].content: base64 with characters outside ASCII, which cloud-init refuses (it writes neither this file nor those after it); decoded without them"
    ])
    expect(notes(`#alpine-config\n${body}`).warnings).toEqual(["line 5: write_files[0].content: 1 characters outside the base64 alphabet were dropped, as cloud-init drops them"])
  })

  it("drops characters outside the base64 alphabet as cloud-init does, and says so", () => {
    const source = "#alpine-config\nwrite_files:\n  - path: /a\n    encoding: b64\n    content: aGVs!bG8g*d29y.bGQ=...\n"
    expect(config(source).writeFiles.map((f) => text(f.content))).toEqual(["hello world"])
    expect(notes(source).warnings).toEqual(["line 5: write_files[0].content: 6 characters outside the base64 alphabet were dropped, as cloud-init drops them"])
  })

  it("writes #cloud-config base64 whose closing '=' padding is missing (cloud-init's b64decode refuses it: 'Incorrect padding'), and says so: never silently", () => {
    const source = "#cloud-config\nwrite_files:\n  - {path: /a, encoding: b64, content: aGk}\n  - {path: /b, encoding: base64, content: aGVsbA=}\n  - {path: /c, encoding: b64, content: aGk=}\n  - {path: /d, encoding: b64, content: aGVsbA==}\n"
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content)])).toEqual([["/a", "hi"], ["/b", "hell"], ["/c", "hi"], ["/d", "hell"]])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 3: write_files[0].content: base64 without its closing '=' padding, which cloud-init refuses ('Incorrect padding'); decoded as if padded",
        "line 4: write_files[1].content: base64 without its closing '=' padding, which cloud-init refuses ('Incorrect padding'); decoded as if padded"
      ]
    })
  })

  it("#cloud-config fetches only http and https sources: another's content is written, said; one without content is skipped, no empty file written", () => {
    const source = "#cloud-config\nwrite_files:\n  - {path: /a, content: kept, source: {uri: 'ftp://example.com/a'}}\n  - {path: /b, source: {uri: 'file:///etc/shadow'}}\n"
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content), f.source?.uri])).toEqual([["/a", "kept", undefined]])
    expect(notes(source)).toEqual({
      problems: ["line 4: write_files[1].source.uri: no source to fetch and no content; write_files[1] skipped"],
      warnings: [
        "line 3: write_files[0].source.uri: only http and https sources are fetched; content is used",
        "line 4: write_files[1].source.uri: only http and https sources are fetched; content is used"
      ]
    })
  })

  it("#cloud-config names no unpadded base64 or gz text content beside a source: cloud-init fetches the source and decodes the content only when that fails", () => {
    const gz = gzipSync(Buffer.from("hi")).toString("base64")
    const source = `#cloud-config\nwrite_files:\n${[
      "  - {path: /a, encoding: b64, content: aGk, source: {uri: 'http://example.com/a'}}\n",
      `  - {path: /b, encoding: gz, content: ${gz}, source: {uri: 'https://example.com/b'}}\n`,
      // an empty uri is no source to cloud-init: its content is decoded, and named
      "  - {path: /c, encoding: b64, content: aGk, source: {uri: ''}}\n"
    ].join("")}`
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content), f.source?.uri])).toEqual([
      ["/a", "hi", "http://example.com/a"],
      ["/b", "hi", "https://example.com/b"],
      ["/c", "hi", undefined]
    ])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["line 5: write_files[2].content: base64 without its closing '=' padding, which cloud-init refuses ('Incorrect padding'); decoded as if padded"]
    })
  })

  it("#cloud-config keeps an entry with a source whose content cannot be decoded: cloud-init fetches the source and decodes the content only when that fails", () => {
    const source = `#cloud-config\nwrite_files:\n${[
      "  - {path: /a, encoding: b64, content: 'a$$=b', source: {uri: 'http://example.com/a'}}\n",
      "  - {path: /b, encoding: gz, content: aGk=, source: {uri: 'http://example.com/b'}}\n",
      // with no source (an empty uri is none), the entry is skipped, as before
      "  - {path: /c, encoding: b64, content: 'a$$=b', source: {uri: ''}}\n"
    ].join("")}`
    expect(config(source).writeFiles.map((f) => [f.path, f.content, f.source?.uri])).toEqual([
      ["/a", undefined, "http://example.com/a"],
      ["/b", undefined, "http://example.com/b"]
    ])
    expect(notes(source)).toEqual({
      problems: ["line 5: write_files[2].content: content is not valid base64; write_files[2] skipped"],
      warnings: [
        "line 3: write_files[0].content: content is not valid base64: only its source is written (cloud-init decodes the content only when the fetch fails)",
        "line 4: write_files[1].content: content is not valid gzip data: only its source is written (cloud-init decodes the content only when the fetch fails)"
      ]
    })
  })

  it("counts the characters it drops from base64 as the text has them: a pair of surrogates is one, two lone ones the alphabet separates are two", () => {
    const source = '#alpine-config\nwrite_files:\n  - path: /a\n    encoding: b64\n    content: "aGVs\\ud800bG8g\\udc00d29ybGQ=\\ud83d\\ude00"\n'
    expect(config(source).writeFiles.map((f) => text(f.content))).toEqual(["hello world"])
    expect(notes(source).warnings).toEqual(["line 5: write_files[0].content: 3 characters outside the base64 alphabet were dropped, as cloud-init drops them"])
  })

  it("writes content of an encoding cloud-init does not know as text/plain, with a warning", () => {
    const source = "#alpine-config\nwrite_files:\n  - path: /a\n    encoding: base32\n    content: NBSWY3DP\n"
    expect(config(source).writeFiles.map((f) => text(f.content))).toEqual(["NBSWY3DP"])
    expect(notes(source).warnings).toEqual([
      'line 4: write_files[0].encoding: not an encoding cloud-init knows; the content is written as text/plain, as cloud-init does'
    ])
  })

  it("skips an entry without a path, with a warning (alpine-config(5), cloud-config(5)): no problem, even as the only entry", () => {
    const source = "#alpine-config\nwrite_files:\n  - content: orphan\n  - path: /kept\n"
    expect(config(source).writeFiles.map((f) => f.path)).toEqual(["/kept"])
    expect(notes(source)).toEqual({ problems: [], warnings: ["line 3: write_files[0]: no path; skipped"] })
    for (const alone of ["#alpine-config\nwrite_files:\n  - content: orphan\n", "#cloud-config\nwrite_files:\n  - {content: orphan, path: ''}\n"]) {
      const a = analyseUserData(bytesOf(alone), OPTIONS)
      expect({ problems: a.problems, usable: a.usable, warnings: a.warnings }).toEqual({ problems: [], usable: true, warnings: ["line 3: write_files[0]: no path; skipped"] })
    }
  })

  it("skips an entry whose path names a directory (a trailing /) or holds a NUL byte: no file of another name is written in its place", () => {
    for (const format of ["#alpine-config", "#cloud-config"]) {
      const source = `${format}\nwrite_files:\n  - path: /etc/app/\n    content: x\n  - path: "/etc/a\\0b"\n    content: y\n  - path: /etc/app/kept\n    content: z\n`
      expect(config(source).writeFiles.map((f) => f.path)).toEqual(["/etc/app/kept"])
      expect(notes(source).problems).toEqual([
        "line 3: write_files[0].path: ends with /: it names a directory, not a file; write_files[0] skipped",
        "line 5: write_files[1].path: holds a NUL byte, which no file name can; write_files[1] skipped"
      ])
    }
  })

  it("reads a relative write_files path from the root, as the file is written: one in cloud-init's per-boot scripts is named as such too", () => {
    const source = "#cloud-config\nwrite_files:\n  - path: etc/motd\n    content: hi\n  - path: var/lib/cloud/scripts/per-boot/tick\n    content: x\n"
    expect(config(source).writeFiles.map((f) => f.path)).toEqual(["/etc/motd", "/var/lib/cloud/scripts/per-boot/tick"])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["line 5: write_files[1].path: cloud-init runs the programs in /var/lib/cloud/scripts/per-boot/; Tiny Cloud writes the file but does not run it"]
    })
  })

  it("reports content that cannot be decoded and writes the others", () => {
    const source = "#alpine-config\nwrite_files:\n  - path: /bad\n    encoding: b64\n    content: 'aGVsb'\n  - path: /bad2\n    encoding: gzip+base64\n    content: aGVsbG8=\n  - path: /ok\n"
    expect(config(source).writeFiles.map((f) => f.path)).toEqual(["/ok"])
    expect(notes(source).problems).toEqual([
      "line 5: write_files[0].content: content is not valid base64; write_files[0] skipped",
      "line 8: write_files[1].content: content is not valid gzip data; write_files[1] skipped"
    ])
  })

  it("writes empty content as an empty file whatever its encoding, as cloud-init decodes only content that is not empty", () => {
    for (const format of ["#alpine-config", "#cloud-config"]) {
      const source = `${format}\nwrite_files:\n  - {path: /a, content: "", encoding: gzip}\n  - {path: /b, content: "", encoding: gz+b64}\n  - {path: /c, content: !!binary "", encoding: gz}\n`
      expect(config(source).writeFiles.map((f) => [f.path, f.content?.length])).toEqual([["/a", 0], ["/b", 0], ["/c", 0]])
      expect(notes(source)).toEqual({ problems: [], warnings: [] })
    }
  })

  it("reads base64 content with a million '=' in linear time: before the data, invalid; after it, padding", () => {
    // /=+$/ tried every start in the run of '=' that did not end the text: minutes for this one
    const before = `#alpine-config\nwrite_files:\n  - path: /bad\n    encoding: b64\n    content: "${"=".repeat(1_000_000)}QQ=="\n`
    expect(notes(before).problems).toEqual(["line 5: write_files[0].content: content is not valid base64; write_files[0] skipped"])
    const after = `#alpine-config\nwrite_files:\n  - path: /a\n    encoding: b64\n    content: "QQ${"=".repeat(1_000_000)}"\n`
    expect(config(after).writeFiles.map((f) => [f.path, Buffer.from(f.content ?? []).toString()])).toEqual([["/a", "A"]])
  })

  it("refuses a gzip bomb without inflating it", () => {
    // 100 MiB of zeros: 100 gzip members of 1 MiB each, about 100 KiB compressed
    const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 })
    const bomb = Buffer.concat(Array.from({ length: 100 }, () => member)).toString("base64")
    const before = process.memoryUsage().arrayBuffers
    const source = `#alpine-config\nwrite_files:\n  - path: /bomb\n    encoding: gz+b64\n    content: ${bomb}\n  - path: /ok\n    content: fine\n`
    const options = { maxBytes: 4 * 1024 * 1024 }
    const c = config(source, options)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
    expect(c.writeFiles.map((f) => f.path)).toEqual(["/ok"])
    expect(notes(source, options).problems).toEqual([
      "line 5: write_files[0].content: gzip content expands to more than 16777216 bytes, the limit for all write_files; write_files[0] skipped"
    ])
  })

  it("counts the decompression limit over all files", () => {
    const one = gzipSync(Buffer.alloc(600)).toString("base64")
    const entry = (p: string) => `  - path: ${p}\n    encoding: gz+b64\n    content: ${one}\n`
    const options = { maxBytes: OPTIONS.maxBytes, maxDecompressedBytes: 1000 }
    expect(files(entry("/a") + entry("/b"), options).writeFiles.map((f) => f.path)).toEqual(["/a"])
    expect(notes(`#alpine-config\nwrite_files:\n${entry("/a")}${entry("/b")}`, options).problems[0]).toMatch(
      /^line 8: write_files\[1\]\.content: gzip content expands to more than 1000 bytes/
    )
  })

  it("counts plain and base64 content in that limit too: one large text given to many files by a YAML alias is not that many copies", () => {
    const text = "x".repeat(400)
    const source = `#cloud-config\nbig: &b ${text}\nwrite_files:\n${["/a", "/b", "/c"].map((p) => `  - {path: ${p}, content: *b}\n`).join("")}  - {path: /d, encoding: b64, content: ${Buffer.from(text).toString("base64")}}\n`
    const options = { maxBytes: OPTIONS.maxBytes, maxDecompressedBytes: 1000 }
    expect(config(source, options).writeFiles.map((f) => [f.path, f.content?.length])).toEqual([["/a", 400], ["/b", 400]])
    expect(notes(source, options).problems).toEqual([
      "line 6: write_files[2].content: content makes write_files more than 1000 bytes, the limit for all write_files; write_files[2] skipped",
      "line 7: write_files[3].content: content makes write_files more than 1000 bytes, the limit for all write_files; write_files[3] skipped"
    ])
  })

  it("skips bootcmd or runcmd whose commands, one text given to many entries by YAML aliases, are more than the user-data may hold: never a script too long to make", () => {
    const source = `#cloud-config\nbig: &b "echo ${"x".repeat(400)}"\nbootcmd: [*b]\nruncmd: [*b, *b, [*b]]\n`
    const options = { maxBytes: OPTIONS.maxBytes, maxDecompressedBytes: 1000 }
    const c = config(source, options)
    expect([c.bootcmd.length, c.runcmd.length]).toEqual([1, 0])
    expect(notes(source, options).problems).toEqual(["line 4: runcmd: more than 1000 bytes of commands, the limit for user-data; skipped"])
  })

  it("#cloud-config: a source to fetch, its headers, and content to fall back on", () => {
    const c = config(`#cloud-config
write_files:
  - path: /usr/bin/hello
    source:
      uri: https://files.example/hello
      headers:
        Authorization: Basic dG9rZW4=
    permissions: '0755'
  - path: /etc/fallback
    source: http://files.example/conf
    content: fallback
  - path: /etc/only-content
    source:
      uri: file:///etc/hostname
    content: local
`)
    expect(c.writeFiles.map((f) => [f.path, f.source, f.content === undefined ? undefined : text(f.content)])).toEqual([
      ["/usr/bin/hello", { uri: "https://files.example/hello", headers: { Authorization: "Basic dG9rZW4=" } }, undefined],
      ["/etc/fallback", { uri: "http://files.example/conf", headers: {} }, "fallback"],
      ["/etc/only-content", undefined, "local"]
    ])
  })

  it("#cloud-config: a source without a uri (or a null one) is no source, as cloud-init reads it (`source.get('uri')`): the content is written, empty when there is none", () => {
    const source = '#cloud-config\nwrite_files:\n  - {path: /etc/a, source: {headers: {X-Token: t}}, content: local}\n  - {path: /etc/b, source: {uri: null}}\n'
    expect(config(source).writeFiles.map((f) => [f.path, f.source, f.content === undefined ? undefined : text(f.content)])).toEqual([
      ["/etc/a", undefined, "local"],
      ["/etc/b", undefined, ""]
    ])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("#cloud-config: a source whose headers cloud-init cannot send (a number) fails its fetch there, so the content is used, said; without content the entry is skipped", () => {
    const source =
      '#cloud-config\nwrite_files:\n  - {path: /etc/a, source: {uri: "https://files.example/a", headers: {X-Num: 1}}, content: local}\n  - {path: /etc/b, source: {uri: "https://files.example/b", headers: {X-Num: 1}}}\n'
    expect(config(source).writeFiles.map((f) => [f.path, f.source, f.content === undefined ? undefined : text(f.content)])).toEqual([["/etc/a", undefined, "local"]])
    expect(notes(source)).toEqual({
      problems: ["line 4: write_files[1].source.headers.X-Num: expected a header value on one line, got a number; write_files[1] skipped"],
      warnings: ["line 3: write_files[0].source.headers: not headers cloud-init can send (each a name and a value on one line, as strings): its fetch fails, and the content is used"]
    })
  })

  it("#cloud-config: a source header whose name no request can carry is named in a warning, never left out unsaid; the others are sent", () => {
    const source = '#cloud-config\nwrite_files:\n  - path: /etc/a\n    source:\n      uri: https://files.example/a\n      headers: {"Bad Name": v, "X-Ok": "1", "X\\u0000": w}\n    content: local\n'
    expect(config(source).writeFiles.map((f) => f.source)).toEqual([{ uri: "https://files.example/a", headers: { "X-Ok": "1" } }])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 6: write_files[0].source.headers.Bad Name: not a header name; that header is not sent",
        "line 6: write_files[0].source.headers.X\\x00: not a header name; that header is not sent"
      ]
    })
  })

  it("#cloud-config: an empty source uri is no source, as cloud-init reads it: the content is written, empty when there is none", () => {
    const source = '#cloud-config\nwrite_files:\n  - {path: /etc/a, source: {uri: ""}, content: local}\n  - {path: /etc/b, source: {uri: ""}}\n'
    expect(config(source).writeFiles.map((f) => [f.path, f.source, f.content === undefined ? undefined : text(f.content)])).toEqual([
      ["/etc/a", undefined, "local"],
      ["/etc/b", undefined, ""]
    ])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })
})

describe("#cloud-config", () => {
  it("reads a document whose lines end in a CR alone (old Mac line ends) as PyYAML, so cloud-init, reads it: each CR ends a line", () => {
    const source = "#cloud-config\rhostname: mac\rruncmd:\r  - echo mac\rwrite_files:\r  - path: /etc/x\r    content: |\r      a\r      b\r"
    const c = config(source)
    expect(c.hostname).toBe("mac")
    expect(c.runcmd).toEqual([{ kind: "shell", script: "echo mac", index: 0 }])
    // a block scalar's line breaks are LF, as YAML makes every one of them
    expect(text(c.writeFiles[0]!.content)).toBe("a\nb\n")
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    // lines are counted at each CR, as PyYAML counts them; CR LF is one line break still
    expect(notes("#cloud-config\rhostname: mac\rtimezone: [x]\r").problems).toEqual(["line 3: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped"])
    expect(notes("#cloud-config\r\nhostname: mac\r\ntimezone: [x]\r\n").problems).toEqual(["line 3: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped"])
    expect(config("#alpine-config\rruncmd:\r  - echo alp\r").runcmd).toEqual([{ kind: "shell", script: "echo alp", index: 0 }])
  })

  it("takes merge_how and merge_type out of a single document, as cloud-init pops them: no key to warn about; mergers it cannot read named", () => {
    const source = '#cloud-config\nmerge_how: "list(append)+dict(recurse_array)+str()"\npackages: [vim]\n'
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config(source).packages).toEqual(["vim"])
    expect(notes("#cloud-config\nmerge_type: bogus(x)\npackages: [vim]\n")).toEqual({
      problems: [],
      warnings: ["line 2: merge_type: the merge_type key names a merger other than dict(), list() and str(); it says how MIME parts merge, so it changes nothing here"]
    })
    // merge_type beside merge_how is left unread, as in cloud-init, and is no key to warn about either
    expect(notes("#cloud-config\nmerge_how: 'list(append)'\nmerge_type: 'dict(replace)'\npackages: [vim]\n")).toEqual({ problems: [], warnings: [] })
    expect(notes("#cloud-config\nmerge_how: 5\nmerge_type: 'dict(replace)'\n").warnings).toEqual([
      "line 2: merge_how: the merge_how key is not a list of mergers such as list(append)+dict(recurse_array)+str(); it says how MIME parts merge, so it changes nothing here"
    ])
    // #alpine-config is no cloud-init format: its unknown keys are named
    expect(notes("#alpine-config\nmerge_how: x\n").warnings).toEqual(["unknown #alpine-config keys ignored: merge_how"])
  })

  it("accepts, with no warning, the keys whose value asks what Tiny Cloud does anyway (cloud-init's defaults, set_hostname's and expand_root's effect); another value is named", () => {
    const asked = [
      "preserve_hostname: false",
      "create_hostname_file: true",
      "prefer_fqdn_over_hostname: false",
      "manage_etc_hosts: localhost",
      "resize_rootfs: true",
      "growpart: {mode: auto, devices: ['/'], ignore_growroot_disabled: false}",
      "package_reboot_if_required: false",
      "ssh_deletekeys: false",
      "manage_resolv_conf: false",
      "chpasswd: {expire: False}"
    ]
    expect(notes(`#cloud-config\nhostname: web-1\n${asked.join("\n")}\n`)).toEqual({ problems: [], warnings: [] })
    // flags as cloud-init's get_cfg_option_bool reads them; noblock grows the root in the background; cc_growpart's defaults left out
    expect(notes("#cloud-config\npreserve_hostname: 'no'\nssh_deletekeys: 0\nresize_rootfs: noblock\ngrowpart: {mode: auto}\n")).toEqual({ problems: [], warnings: [] })
    // cc_resizefs: translate_bool(value, addons=["noblock"]) compares str(value).lower().strip(): these grow the root too
    for (const v of ["NoBlock", "' noblock '", "'YES'", "1"]) expect(notes(`#cloud-config\nresize_rootfs: ${v}\n`)).toEqual({ problems: [], warnings: [] })
    // cc_set_hostname reads prefer_fqdn_over_hostname with get_cfg_option_bool too: a quoted "false", "no" or 0 names the host by its short name
    for (const v of ['"false"', "'no'", "off", "0"]) expect(notes(`#cloud-config\nprefer_fqdn_over_hostname: ${v}\n`)).toEqual({ problems: [], warnings: [] })
    const other = [
      "preserve_hostname: true",
      "create_hostname_file: false",
      // the whole name in /etc/hostname, which cloud-init writes on Alpine then
      "prefer_fqdn_over_hostname: true",
      // the whole file from cloud-init's template, at every boot
      "manage_etc_hosts: true",
      "resize_rootfs: false",
      "growpart: {mode: auto, devices: [/dev/vdb1]}",
      "package_reboot_if_required: true",
      "ssh_deletekeys: true",
      "manage_resolv_conf: true",
      // cloud-init sets (and does not expire) these passwords: named
      "chpasswd: {expire: false, list: [alpine:RANDOM]}"
    ]
    const keys = other.map((line) => line.split(":")[0]).join(", ")
    expect(notes(`#cloud-config\n${other.join("\n")}\n`)).toEqual({ problems: [], warnings: [`unsupported cloud-config keys: ${keys}`] })
    expect(notes("#cloud-config\ngrowpart: {mode: growpart}\nmanage_etc_hosts: template\n").warnings).toEqual(["unsupported cloud-config keys: growpart, manage_etc_hosts"])
    // cc_ssh reads ssh_deletekeys by Python's truth (cfg.get): a quoted "false" or "no" deletes the host keys
    for (const v of ['"false"', "'no'"]) expect(notes(`#cloud-config\nssh_deletekeys: ${v}\n`).warnings).toEqual(["unsupported cloud-config keys: ssh_deletekeys"])
  })

  // cloud-init's integration tests test_keys_to_console.py and test_ssh_auth_key_fingerprints.py turn the console output off:
  // cc_keys_to_console reads emit_keys_to_console with get_cfg_option_bool (anything but a true word is false), and
  // cc_ssh_authkey_fingerprints no_ssh_fingerprints with util.is_true (a float 1.0 is no true word); Tiny Cloud writes neither
  it("accepts no_ssh_fingerprints: true and ssh: {emit_keys_to_console: false}, which ask what Tiny Cloud does anyway; their other values are named", () => {
    expect(notes("#cloud-config\nssh:\n  emit_keys_to_console: false\nno_ssh_fingerprints: true\n")).toEqual({ problems: [], warnings: [] })
    expect(notes("#cloud-config\nssh: {emit_keys_to_console: 'no'}\nno_ssh_fingerprints: 'yes'\n")).toEqual({ problems: [], warnings: [] })
    expect(notes("#cloud-config\nno_ssh_fingerprints: false\nssh: {emit_keys_to_console: true}\n").warnings).toEqual(["unsupported cloud-config keys: no_ssh_fingerprints, ssh"])
    expect(notes("#cloud-config\nno_ssh_fingerprints: 1.0\nssh: {emit_keys_to_console: false, other: 1}\n").warnings).toEqual(["unsupported cloud-config keys: no_ssh_fingerprints, ssh"])
  })

  // cc_keys_to_console skips only when util.is_false(cfg.get("ssh", {}).get("emit_keys_to_console", True)): a false word (str()
  // of the value), so no value, another word or a float 0.0 (str: "0.0") writes the host keys; `ssh:` with no value has no .get
  it("names ssh: with no value, and emit_keys_to_console with no value, a word that is not false or a float 0.0: cloud-init writes the host keys to the console then, or fails", () => {
    const named = { problems: [], warnings: ["unsupported cloud-config keys: ssh"] }
    for (const value of ["", "~", "maybe", "0.0", "!!float 0", "1.0"]) expect(notes(`#cloud-config\nssh: {emit_keys_to_console: ${value}}\n`)).toEqual(named)
    expect(notes("#cloud-config\nzero: &z 0.0\nssh: {emit_keys_to_console: *z}\n").warnings).toEqual(["unsupported cloud-config keys: zero, ssh"])
    expect(notes("#cloud-config\nssh:\n")).toEqual(named)
    for (const value of ["0", "off", "' No '", "FALSE"]) expect(notes(`#cloud-config\nssh: {emit_keys_to_console: ${value}}\n`)).toEqual({ problems: [], warnings: [] })
  })

  // cc_ssh: the cloud's keys installed unless allow_public_ssh_keys is false to get_cfg_option_bool (no value, a float 1.0
  // too); host keys published unless ssh_publish_hostkeys' `enabled` is (and it fails on one that is no map)
  it("accepts allow_public_ssh_keys: true and ssh_publish_hostkeys: {enabled: false}, which ask what Tiny Cloud does anyway; no value and their other values are named", () => {
    expect(notes("#cloud-config\nallow_public_ssh_keys: true\nssh_publish_hostkeys:\n  enabled: false\n  blacklist: [rsa]\n")).toEqual({ problems: [], warnings: [] })
    expect(notes("#cloud-config\nallow_public_ssh_keys: 'yes'\nssh_publish_hostkeys: {enabled: 'off'}\n")).toEqual({ problems: [], warnings: [] })
    const named = ["unsupported cloud-config keys: allow_public_ssh_keys, ssh_publish_hostkeys"]
    expect(notes("#cloud-config\nallow_public_ssh_keys:\nssh_publish_hostkeys:\n").warnings).toEqual(named)
    expect(notes("#cloud-config\nallow_public_ssh_keys: false\nssh_publish_hostkeys: {blacklist: [rsa]}\n").warnings).toEqual(named)
    expect(notes("#cloud-config\nallow_public_ssh_keys: 1.0\nssh_publish_hostkeys: {enabled: true}\n").warnings).toEqual(named)
  })

  // cloud-init consumes vendor-data only where vendor_data's `enabled` is a true word (util.is_true: a float 1.0 is none);
  // this edition applies none, so a setting that turns it off asks what is done anyway
  it("accepts vendor_data that turns vendor-data off; one that turns it on, or is no map, is named", () => {
    for (const value of ["{enabled: false}", "{enabled: 'no', prefix: [/bin/sh]}", "{enabled: 1.0}", "{enabled: null}"]) {
      expect(notes(`#cloud-config\nvendor_data: ${value}\n`), value).toEqual({ problems: [], warnings: [] })
    }
    for (const value of ["{enabled: true}", "{enabled: 'yes'}", "{prefix: [/bin/sh]}", "{}", "false", "[x]"]) {
      expect(notes(`#cloud-config\nvendor_data: ${value}\n`).warnings, value).toEqual(["unsupported cloud-config keys: vendor_data"])
    }
  })

  // cc_ssh: get_cfg_option_list(cfg["ssh_publish_hostkeys"], "blacklist", ...) takes any value (a text is a list of it), and
  // get_cfg_option_bool(..., "enabled", True) a float 1.0 as false (str: "1.0"): no host key is published
  it("accepts ssh_publish_hostkeys: {enabled: false} beside a blacklist that is no list, and {enabled: 1.0}: cloud-init publishes no host key", () => {
    for (const value of ["{enabled: false, blacklist: x}", "{enabled: false, blacklist: 5}", "{enabled: 1.0}", "{enabled: !!float 1}", "{enabled: 0.0}"]) {
      expect(notes(`#cloud-config\nssh_publish_hostkeys: ${value}\n`)).toEqual({ problems: [], warnings: [] })
    }
    expect(notes("#cloud-config\nssh_publish_hostkeys: {enabled: 1, blacklist: x}\n").warnings).toEqual(["unsupported cloud-config keys: ssh_publish_hostkeys"])
  })

  // cc_package_update_upgrade_install: _multi_cfg_bool_get(cfg, "apt_reboot_if_required", "package_reboot_if_required"); the schema
  // names apt_reboot_if_required deprecated (22.2), and its own test takes `apt_reboot_if_required: false` as valid
  it("reads apt_reboot_if_required, cloud-init's deprecated name, as package_reboot_if_required: false is accepted, true named; the deprecation said", () => {
    const deprecated = "line 2: apt_reboot_if_required: deprecated; read as package_reboot_if_required, as cloud-init does"
    expect(notes("#cloud-config\napt_reboot_if_required: false\n")).toEqual({ problems: [], warnings: [deprecated] })
    expect(notes("#cloud-config\napt_reboot_if_required: 'no'\n")).toEqual({ problems: [], warnings: [deprecated] })
    expect(notes("#cloud-config\napt_reboot_if_required: true\n")).toEqual({ problems: [], warnings: [deprecated, "unsupported cloud-config keys: apt_reboot_if_required"] })
  })

  // cc_resizefs: get_cfg_option_str(cfg, "resize_rootfs", True) gives "None", which translate_bool reads as false (no
  // resize); cc_growpart: "'growpart' in config was not a dict", and no growpart; create_hostname_file: get_cfg_option_bool
  // reads None as false. Those whose null is cloud-init's default (preserve_hostname...) are still accepted
  it("names resize_rootfs, growpart and create_hostname_file with no value, which cloud-init reads as false (no resize, no growpart, no file), as their false is named", () => {
    expect(notes("#cloud-config\nhostname: web-1\nresize_rootfs:\ngrowpart:\ncreate_hostname_file:\n")).toEqual({
      problems: [],
      warnings: ["unsupported cloud-config keys: resize_rootfs, growpart, create_hostname_file"]
    })
    expect(notes("#cloud-config\npreserve_hostname:\nprefer_fqdn_over_hostname:\nmanage_etc_hosts:\npackage_reboot_if_required:\nssh_deletekeys:\nmanage_resolv_conf:\n")).toEqual({
      problems: [],
      warnings: []
    })
    expect(config("#cloud-config\nhostname: web-1\nresize_rootfs:\n").hostname).toBe("web-1")
  })

  it("applies what cloud-init's schema lets through: a mode it cannot read gives 0644, an empty shell is adduser's, an empty time zone or host name is none", () => {
    const c = config("#cloud-config\nwrite_files:\n  - {path: /etc/x, content: x, permissions: rwxr-xr-x}\n  - {path: /etc/y, content: y, permissions: 99999}\ntimezone: ''\nhostname: ' '\nusers: [default, {name: bob, shell: ''}]\n")
    expect(c.writeFiles.map((f) => [f.path, f.mode])).toEqual([["/etc/x", 0o644], ["/etc/y", 0o644]])
    expect([c.timezone, c.hostname]).toEqual([undefined, undefined])
    expect(c.users.find((u) => u.name === "bob")?.account.shell).toBeUndefined()
    expect(notes("#cloud-config\nwrite_files:\n  - {path: /etc/x, content: x, permissions: u+x}\ntimezone: ''\nusers: [default, {name: bob, shell: ''}]\n")).toEqual({
      problems: [],
      warnings: ["line 3: write_files[0].permissions: not a mode cloud-init can read (it gives the file its default 0644 too); the file gets 0644", "line 4: timezone: empty; the time zone is left alone"]
    })
    // cloud-init (22.4.2, run on this document) reads no octal in these and writes 0644, but gives a number to chmod as it
    // is: -1 made 07777, 99999 03237, true 01; the warning says what each is, never that cloud-init does the same
    expect(notes("#cloud-config\nwrite_files:\n  - {path: /a, permissions: '0x1ed'}\n  - {path: /b, permissions: -1}\n  - {path: /c, permissions: 99999}\n  - {path: /d, permissions: true}\n").warnings).toEqual([
      "line 3: write_files[0].permissions: not a mode cloud-init can read (it gives the file its default 0644 too); the file gets 0644",
      ...["4: write_files[1]", "5: write_files[2]", "6: write_files[3]"].map(
        (at) => `line ${at}.permissions: not a file mode (an integer from 0 to 0o7777); the file gets 0644, where cloud-init would give the number to chmod as it is`
      )
    ])
  })

  it("reads a fractional permissions number as cloud-init does, made an integer before chmod (384.9 is 0600), without a warning; one that is no mode then still gets 0644", () => {
    const source = "#cloud-config\nwrite_files:\n  - {path: /a, permissions: 384.9}\n  - {path: /b, permissions: 493.0}\n  - {path: /c, permissions: 4096.5}\n"
    expect(config(source).writeFiles.map((f) => [f.path, f.mode])).toEqual([["/a", 0o600], ["/b", 0o755], ["/c", 0o644]])
    expect(notes(source).warnings).toEqual([
      "line 5: write_files[2].permissions: not a file mode (an integer from 0 to 0o7777); the file gets 0644, where cloud-init would give the number to chmod as it is"
    ])
  })

  it("merges a user listed again into its first entry as cloud-init does: the first entry's keys win, the later one's others are added", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - name: bob\n    groups: [audio]\n  - name: bob\n    shell: /bin/ash\n    groups: [video]\n  - bob\n"
    const bobs = config(source).users.filter((u) => u.name === "bob")
    expect(bobs).toHaveLength(1)
    expect([bobs[0]!.account.shell, bobs[0]!.groups]).toEqual(["/bin/ash", ["audio"]])
    expect(notes(source).warnings).toEqual([
      "line 6: users[2]: the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them",
      "line 9: users[3]: the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them"
    ])
  })

  it("merges two maps without a name (or named default), both the default user's, as a repeated user: the first one's keys win, its keys alone are installed", () => {
    const source =
      "#cloud-config\nusers:\n  - gecos: First\n    ssh_authorized_keys: [ssh-ed25519 AAAA first]\n  - name: default\n    gecos: Second\n    shell: /bin/ash\n    ssh_authorized_keys: [ssh-ed25519 AAAA second]\n"
    const c = config(source)
    expect([c.defaultUser?.account.gecos, c.defaultUser?.account.shell, c.defaultUser?.sshAuthorizedKeys]).toEqual(["First", "/bin/ash", ["ssh-ed25519 AAAA first"]])
    expect(notes(source).warnings).toEqual(["line 5: users[1]: the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them"])
  })

  it("names a repeated user's keys where that entry wrote them, not in the first entry it is merged into", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - bob\n  - name: bob\n    shell: 12\n    lock-passwd: 'false'\n    selinux-user: x\n  - name: bob\n    sudo: true\n    shell: /bin/ash\n"
    expect(notes(source)).toEqual({
      problems: ["line 6: users[2].shell: expected a shell such as /bin/sh, got a number; skipped"],
      warnings: [
        "line 5: users[2]: the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them",
        "line 7: users[2].lock-passwd: a string, which cloud-init takes as true whatever it says: the password stays locked (write false without quotes to unlock it)",
        "line 9: users[3]: the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them",
        "line 10: users[3].sudo: true is not a sudo rule; ALL=(ALL) NOPASSWD:ALL is used",
        "unsupported cloud-config keys: users[2].selinux-user"
      ]
    })
  })

  it("merges two merge keys (`<<`) of one map as PyYAML does: the later one's values over the earlier one's, an earlier map's of one list over a later's", () => {
    const source = "#cloud-config\nx-base: &base {permissions: '0600', owner: 'root:root', append: true}\nx-web: &web {permissions: '0644', owner: 'nginx:nginx'}\nx-log: &log {permissions: '0640', append: false}\nwrite_files:\n  - <<: *base\n    <<: [*web, *log]\n    path: /etc/x\n    content: hi\n"
    const c = config(source)
    expect(c.writeFiles.map((f) => [f.mode, f.owner, f.append])).toEqual([[0o644, "nginx:nginx", false]])
  })

  it("reads booleans as cloud-init's PyYAML does: yes/no/on/off/true/false, but y and n are strings", () => {
    const c = config("#cloud-config\npackage_upgrade: on\npackages: [n, y, N]\nwrite_files:\n  - path: /etc/answer\n    content: y\nruncmd:\n  - [echo, y, n, Y, N]\n")
    expect(c.packageUpgrade).toBe(true)
    expect(c.packages).toEqual(["n", "y", "N"])
    expect(text(c.writeFiles[0]?.content)).toBe("y")
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", "y", "n", "Y", "N"], index: 0 }])
  })

  it("reads a scalar under the non-specific tag `!` as PyYAML does, resolved as an untagged plain one even when quoted: `! yes` is true, `! '0644'` 420", () => {
    const c = config("#cloud-config\npackage_update: ! yes\nruncmd:\n  - [echo, ! 12, ! yes, ! '0644', ! x]\n")
    expect(c.packageUpdate).toBe(true)
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", "12", "True", "420", "x"], index: 0 }])
  })

  it("reads a document under a `%YAML 1.2` directive as PyYAML reads any version 1 document: with YAML 1.1's booleans and integers", () => {
    const c = config("#cloud-config\n%YAML 1.2\n---\npackage_update: yes\nusers:\n  - default\n  - name: ops\n    lock_passwd: false\nwrite_files:\n  - path: /etc/a\n    permissions: 0640\nruncmd:\n  - [echo, on, off, 0o14, 014, 1:30]\n")
    expect(c.packageUpdate).toBe(true)
    expect(c.users.map((u) => u.lockPasswd)).toEqual([false])
    expect(c.writeFiles[0]?.mode).toBe(0o640)
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", "True", "False", "0o14", "12", "90"], index: 0 }])
  })

  it("reads floats as PyYAML does: a dot always and a signed exponent, so `.`, `-.5` and `1e3` are words", () => {
    const c = config("#cloud-config\nruncmd:\n  - [echo, ., -.5, 1e3, 1.0e3, 2.5, 1.5e+3, .5]\n")
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", ".", "-.5", "1e3", "1.0e3", "2.5", "1500.0", "0.5"], index: 0 }])
    // an #alpine-config repository's version `.` is the shell edition's "no version"
    const a = config("#alpine-config\napk:\n  repositories:\n    - {base_url: 'https://m.example/alpine', version: ., repos: [main]}\n")
    expect(a.apk.repositories.map((r) => r.version)).toEqual(["."])
  })


  it("reads integers as PyYAML does: a leading 0 is octal's, so `0800`, `09` and `01:30` are words, and `._5` is no float", () => {
    const source = "#cloud-config\nhostname: 0800\nusers:\n  - default\n  - name: ops\n    plain_text_passwd: 0123456789\n    lock_passwd: off\nwrite_files:\n  - path: /etc/pin\n    content: 09\n    permissions: 0640\nruncmd:\n  - [echo, 08, -09, +0800, 012_8, 01:30, 1:30, 0_, 010, 1_000, ._5, .5_]\n"
    const c = config(source)
    expect(c.hostname).toBe("0800")
    expect(c.users.map((u) => u.password?.value)).toEqual(["0123456789"])
    expect(text(c.writeFiles[0]?.content)).toBe("09")
    expect(c.writeFiles[0]?.mode).toBe(0o640)
    // as PyYAML reads each, and Python's str() writes it
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", "08", "-09", "+0800", "012_8", "01:30", "90", "0", "8", "1000", "._5", "0.5"], index: 0 }])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

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
    // a sudo rule of its own comes with wheel, as before
    expect(c.defaultUser).toEqual({
      name: "bob",
      account: { shell: "/bin/ash" },
      groups: ["wheel", "adm"],
      createGroups: true,
      sudo: ["ALL=(ALL) NOPASSWD:ALL"],
      doas: [],
      lockPasswd: false,
      sshAuthorizedKeys: ["ssh-ed25519 AAAA bob"]
    })
    expect(c.users.map((u) => [u.name, u.groups, u.sudo, u.lockPasswd])).toEqual([
      ["eve", ["audio", "video"], [], true],
      ["mallory", [], [], true]
    ])
  })

  it("writes none of a user's sudo rules when sudoers cannot parse one (no '=': a quoted false; an empty one), which would make sudo refuse to run, with a warning (cloud-init's schema takes it); an empty sudo is none, as for cloud-init", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - name: bob\n    sudo: 'False'\n  - name: ann\n    sudo: [ALL=(ALL) ALL, '', ALL]\n  - name: cy\n    sudo: ''\n  - name: di\n    sudo: [ALL=(ALL) ALL, 'ALL=(ALL) NOPASSWD: /sbin/reboot']\n"
    expect(config(source).users.map((u) => [u.name, u.sudo])).toEqual([["bob", []], ["ann", []], ["cy", []], ["di", ["ALL=(ALL) ALL", "ALL=(ALL) NOPASSWD: /sbin/reboot"]]])
    const none = "a line sudoers cannot parse breaks sudo for every user: none of this user's sudo rules are written"
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [`line 5: users[1].sudo: rule 1: expected = after the hosts; ${none}`, `line 7: users[2].sudo: rule 2: expected a host (ALL, a name or an address) before =; ${none}`]
    })
    // a whole sudoers line pasted as the rule names the user twice once written ('dan dan ALL=...'); host lists are kept
    const pasted = "#cloud-config\nusers:\n  - default\n  - name: dan\n    sudo: ['dan ALL=(ALL) NOPASSWD: /sbin/reboot', 'web1, !web2 = (root) /bin/ls']\n  - name: eve\n    sudo: ['web1, !web2 = (root) /bin/ls']\n"
    expect(config(pasted).users.map((u) => [u.name, u.sudo])).toEqual([["dan", []], ["eve", ["web1, !web2 = (root) /bin/ls"]]])
    expect(notes(pasted)).toEqual({ problems: [], warnings: [`line 5: users[1].sudo: rule 1: expected = after the hosts; ${none}`] })
  })

  it("writes none of a user's sudo rules when one ends in a backslash, which sudoers continues with the next line of the file (the next user's rule) into a syntax error; an escaped one is kept", () => {
    const source = String.raw`#cloud-config
users:
  - default
  - name: fay
    sudo: ['ALL=(ALL) /usr/bin/id', 'ALL=(ALL) /bin/ls\  ']
  - name: gus
    sudo: [ALL=(ALL) NOPASSWD:ALL, 'ALL=(ALL) /bin/echo \\']
`
    expect(config(source).users.map((u) => [u.name, u.sudo])).toEqual([
      ["fay", []],
      ["gus", ["ALL=(ALL) NOPASSWD:ALL", String.raw`ALL=(ALL) /bin/echo \\`]]
    ])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["line 5: users[1].sudo: rule 2: ends with a \\, which continues it onto the next line of the file; a line sudoers cannot parse breaks sudo for every user: none of this user's sudo rules are written"]
    })
  })

  it("skips a sudo rule that is no string (a number) alone: the user's other rules are kept", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - name: sn\n    sudo: ['ALL=(ALL) ALL', 5, ~]\n"
    expect(config(source).users.map((u) => [u.name, u.sudo])).toEqual([["sn", ["ALL=(ALL) ALL"]]])
    expect(notes(source)).toEqual({ problems: ["line 5: users[1].sudo[1]: expected a string, got a number; skipped"], warnings: [] })
    // a default user's rules all skipped so still gives it no wheel
    expect(config("#cloud-config\nusers:\n  - name: ops\n    sudo: [5]\n").defaultUser?.account.wheel).toBe(false)
  })

  it("writes none of a user's sudo rules when one would not stay one line of sudoers: a control character (an escape, a NUL); a tab is a blank", () => {
    const source = [
      "#cloud-config",
      "users:",
      "  - default",
      "  - name: bob",
      "    sudo: ['ALL=(ALL) NOPASSWD: /sbin/reboot', 'ALL=(ALL) /bin/echo a\\,b']",
      "  - name: carol",
      '    sudo: ["ALL=(ALL) /bin/x \\e[31m", "ALL=(ALL)\\tALL"]',
      "  - name: dan",
      '    sudo: ["ALL=(ALL)\\tALL"]',
      ""
    ].join("\n")
    expect(config(source).users.map((u) => [u.name, u.sudo])).toEqual([
      ["bob", ["ALL=(ALL) NOPASSWD: /sbin/reboot", "ALL=(ALL) /bin/echo a\\,b"]],
      ["carol", []],
      ["dan", ["ALL=(ALL)\tALL"]]
    ])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["line 7: users[2].sudo: rule 1: holds a control character (a line break, a NUL); a line sudoers cannot parse breaks sudo for every user: none of this user's sudo rules are written"]
    })
  })

  it("a default user whose sudo rules are all skipped (a template's quoted 'False') has no rights, as with sudo: false: no wheel", () => {
    for (const sudo of ["'False'", "['']", "[]", "''", "['False', 'ALL=(ALL) ALL']"]) {
      expect(config(`#cloud-config\nuser:\n  name: ops\n  sudo: ${sudo}\n`).defaultUser?.account.wheel).toBe(false)
      expect(config(`#cloud-config\nusers:\n  - name: ops\n    sudo: ${sudo}\n`).defaultUser?.account.wheel).toBe(false)
    }
    // a rule that is written still comes with wheel
    expect(config("#cloud-config\nuser:\n  name: ops\n  sudo: ['ALL=(ALL) ALL']\n").defaultUser?.account.wheel).toBeUndefined()
  })

  it("keeps CLOUD_USER when `default` is listed", () => {
    const c = config("#cloud-config\nusers:\n  - default\n  - name: bob\n    sudo: [ALL=(ALL) ALL, ~, 'ALL=(ALL) NOPASSWD: /sbin/reboot']\n")
    expect(c.defaultUser).toBeUndefined()
    expect(c.users.map((u) => [u.name, u.sudo])).toEqual([["bob", ["ALL=(ALL) ALL", "ALL=(ALL) NOPASSWD: /sbin/reboot"]]])
  })

  it.each([
    ["default", undefined, []],
    ["bob", "bob", []],
    ['"bob, alice"', "bob", ["alice"]],
    ['"default, bob"', undefined, ["bob"]],
    ["[[bob, 'carol, dave']]", "bob", ["carol", "dave"]],
    ["{bob: true, alice: {groups: [adm]}, mallory: false}", "bob", ["alice"]],
    ["{default: true, bob: {}}", undefined, ["bob"]]
  ])("takes users written as %s", (users, defaultName, further) => {
    const source = `#cloud-config\nusers: ${users}\n`
    const c = config(source)
    expect(c.defaultUser?.name).toBe(defaultName)
    expect(c.users.map((u) => u.name)).toEqual(further)
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  // `users:` with no value: cloud-init's normalization finds no list (the system's `users: [default]` does not replace a key the user-data has) and makes no user
  it.each(["[]", "''", "{}", "", "~", "null", '[""]', "[[]]", "','", '[", "]', "{default: false}", "{bob: false, alice: 'no'}"])("keeps the default user for users written as %s, and says so", (users) => {
    const source = `#cloud-config\nusers: ${users}\n`
    expect(config(source).defaultUser).toBeUndefined()
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["line 2: users: empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable"]
    })
  })

  // system_info's default_user describes the default user; only `user` makes cloud-init add it to the users it makes
  it("says so when system_info describes the default user and users is empty, and not when user names it", () => {
    const warning = "line 5: users: empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable"
    const described = "#cloud-config\nsystem_info:\n  default_user:\n    name: ops\nusers: []\n"
    expect(config(described).defaultUser?.name).toBe("ops")
    expect(notes(described)).toEqual({ problems: [], warnings: [warning] })
    expect(notes("#cloud-config\nuser: ops\n\n\nusers: []\n")).toEqual({ problems: [], warnings: [] })
  })

  // cloud-init adds `user` to a map by name as `default: map.get("default", True)`: a `default: false` there still asks for no one
  it("says so when user names the default user and users is a map by name that says default: false", () => {
    const warning = "line 3: users: empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable"
    const source = "#cloud-config\nuser: ops\nusers: {default: false, bob: 'no'}\n"
    expect(config(source).defaultUser?.name).toBe("ops")
    expect(notes(source)).toEqual({ problems: [], warnings: [warning] })
    expect(notes("#cloud-config\nuser: ops\nusers: {bob: false}\n")).toEqual({ problems: [], warnings: [] })
  })

  // cloud-init adds `user` only when it is true to Python: an empty map is not
  it("says so when user is an empty map and users is empty", () => {
    expect(notes("#cloud-config\nuser: {}\nusers: []\n")).toEqual({
      problems: [],
      warnings: ["line 3: users: empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable"]
    })
  })

  it("reads a user map as cloud-init does: `-` in keys, sudo true, groups as a map, a bare shell, uid as text", () => {
    const source = `#cloud-config
users:
  - name: ops
    primary-group: staff
    lock-passwd: false
    sudo: true
    groups: {adm: null, wheel: null}
    shell: bash
    uid: "2001"
    homedir: /srv/ops
    gecos: Operations
    system: true
    no-create-home: true
    create_groups: false
    doas: [permit nopass ops]
    selinux-user: staff_u
    no-log-init: true
`
    expect(config(source).defaultUser).toEqual({
      name: "ops",
      account: { homedir: "/srv/ops", shell: "/bin/bash", uid: 2001, primaryGroup: "staff", gecos: "Operations", system: true, noCreateHome: true, wheel: false },
      groups: ["adm", "wheel"],
      createGroups: false,
      sudo: ["ALL=(ALL) NOPASSWD:ALL"],
      doas: ["permit nopass ops"],
      lockPasswd: false,
      sshAuthorizedKeys: []
    })
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 6: users[0].sudo: true is not a sudo rule; ALL=(ALL) NOPASSWD:ALL is used",
        'line 8: users[0].shell: not a path; the shell of that name in /bin is used',
        "unsupported cloud-config keys: users[0].selinux-user, users[0].no-log-init"
      ]
    })
  })

  it("names a doas rule holding a line break or a CR (left in a value by a script made on Windows) in words, never by the pattern it failed", () => {
    expect(notes('#cloud-config\nusers:\n  - name: erin\n    doas: ["permit nopass erin\\r"]\n').problems).toEqual([
      "line 4: users[0].doas[0]: expected a doas rule on one line (no line break or CR), got a string of 19 characters; users[0].doas skipped"
    ])
  })

  it("a user map's key __proto__ is named as not carried out, never taken for the map's prototype", () => {
    const source = `#cloud-config
users:
  - name: bob
    __proto__: {sudo: "ALL=(ALL) NOPASSWD:ALL", shell: /bin/ash}
`
    expect(config(source).defaultUser).toMatchObject({ name: "bob", sudo: [], account: {} })
    expect(config(source).defaultUser?.account.shell).toBeUndefined()
    expect(notes(source)).toEqual({ problems: [], warnings: ["unsupported cloud-config keys: users[0].__proto__"] })
  })

  it("a key's terminal escapes are named escaped among the keys not carried out (stderr, syslog, status)", () => {
    const source = '#cloud-config\n"\\e[31mevil\\a": 1\nwrite_files:\n  - {path: /x, content: x, "\\e]0;t\\a": [1]}\nusers:\n  - {name: bob, "k\\u00e9y\\e": 1}\n'
    expect(notes(source)).toEqual({
      problems: [],
      warnings: ["unsupported cloud-config keys: \\x1b[31mevil\\x07, write_files[0].\\x1b]0;t\\x07, users[0].k\\xe9y\\x1b"]
    })
  })

  it("a key that is a map or a list (or an alias of one) refuses a #cloud-config, as PyYAML cannot construct it (unhashable), never naming its content; an #alpine-config names it by its kind among the keys not carried out (BEHAVIOUR.md 4.5)", () => {
    const source = "#cloud-config\n? {password: SECRET-CANARY-1}\n: x\n[SECRET-CANARY-2]: y\nanchor: &k {token: SECRET-CANARY-3}\nusers:\n  - name: bob\n    *k : 1\n"
    const refused = "YAML: a list or a map as a key, which cloud-init's PyYAML cannot construct (unhashable): it refuses the document"
    expect(failure(source)).toBe(`#cloud-config user-data is invalid: line 2: ${refused}`)
    expect(failure("#cloud-config\nhostname: h1\nx-a:\n  [SECRET-CANARY-2]: y\n")).toBe(`#cloud-config user-data is invalid: line 4: ${refused}`)
    expect(failure("#cloud-config\nm: &m {a: SECRET-CANARY-1}\nx-a: {*m : 1}\n")).toBe(`#cloud-config user-data is invalid: line 3: ${refused}`)
    // an !!omap's keys are kept in a list of pairs, which PyYAML constructs
    expect(config("#cloud-config\nhostname: h1\nx-a: !!omap [[k]: 1]\n").hostname).toBe("h1")
    const { problems, warnings } = notes(source.replace("#cloud-config", "#alpine-config"))
    expect(problems).toEqual([])
    expect(warnings).toEqual(["unknown #alpine-config keys ignored: (a map as a key), (a list as a key), anchor, users"])
        // two different ones are not one key written twice
    expect(notes("#alpine-config\n? {a: SECRET-CANARY-1}\n: 1\n? {b: SECRET-CANARY-2}\n: 2\n")).toEqual({ problems: [], warnings: ["unknown #alpine-config keys ignored: (a map as a key)"] })
    // what is inside such a key is its content: a key written twice in it is not named; a duplicate under one is not named
    // either, as the key is not carried out (the one line naming it says all)
    expect(notes("#alpine-config\n? {SECRET-CANARY-1: 1, SECRET-CANARY-1: 2}\n: 1\n")).toEqual({ problems: [], warnings: ["unknown #alpine-config keys ignored: (a map as a key)"] })
    // one map given twice as a key (an alias of it) is one key written twice: as it is not carried out, it is named once
    expect(notes("#alpine-config\nm: &m {a: SECRET-CANARY-1}\n? *m\n: 1\n? *m\n: 2\n").warnings).toEqual(["unknown #alpine-config keys ignored: m, (a map as a key)"])
  })

  it("reads passwords: hashed_passwd over plain_text_passwd over passwd, never quoting one", () => {
    const users = config(`#cloud-config
users:
  - default
  - {name: a, passwd: $6$salt$hash}
  - {name: b, hashed_passwd: $6$h, plain_text_passwd: p1, lock_passwd: false}
  - {name: c, plain_text_passwd: "s3cret pass", lock_passwd: false}
`).users
    expect(users.map((u) => u.password)).toEqual([
      { kind: "hash", value: "$6$salt$hash", onlyNewUser: true },
      { kind: "hash", value: "$6$h", onlyNewUser: false },
      { kind: "plain", value: "s3cret pass", onlyNewUser: false }
    ])
    const bad = notes("#cloud-config\nusers:\n  - {name: a, passwd: 'x:y'}\n  - {name: b, plain_text_passwd: [hunter2]}\n")
    expect(bad.problems).toEqual(["line 3: users[0].passwd: expected a password hash; skipped", "line 4: users[1].plain_text_passwd: expected a password on one line; skipped"])
    expect(JSON.stringify(bad)).not.toMatch(/x:y|hunter2/)
    expect(notes("#cloud-config\nusers:\n  - {name: a, passwd: $6$x}\n").warnings).toEqual([
      "line 3: users[0]: a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work"
    ])
  })

  it("an empty password sets none, as cloud-init skips it; the next one given is used", () => {
    const users = config(`#cloud-config
users:
  - default
  - {name: a, plain_text_passwd: "", lock_passwd: false}
  - {name: b, hashed_passwd: "", plain_text_passwd: p1, lock_passwd: false}
  - {name: c, passwd: "", lock_passwd: false}
`).users
    expect(users.map((u) => u.password)).toEqual([undefined, { kind: "plain", value: "p1", onlyNewUser: false }, undefined])
  })

  it("a user map without a name configures the default user; `user` names it", () => {
    expect(config("#cloud-config\nusers:\n  - groups: [adm]\n  - bob\n").defaultUser).toMatchObject({ groups: ["adm"] })
    expect(config("#cloud-config\nusers:\n  - groups: [adm]\n  - bob\n").users.map((u) => u.name)).toEqual(["bob"])
    const c = config("#cloud-config\nuser: {name: admin, sudo: 'ALL=(ALL) ALL'}\nusers: [carol]\n")
    expect([c.defaultUser?.name, c.defaultUser?.sudo, c.users.map((u) => u.name)]).toEqual(["admin", ["ALL=(ALL) ALL"], ["carol"]])
    expect(config("#cloud-config\nuser: admin\n").defaultUser?.name).toBe("admin")
  })

  it("a user map named `default` configures the default user, as cloud-init reads it: no account named default", () => {
    const c = config("#cloud-config\nusers:\n  - name: default\n    groups: [docker]\n    sudo: ALL=(ALL) ALL\n  - alice\n")
    expect([c.defaultUser?.name, c.defaultUser?.groups, c.defaultUser?.sudo, c.users.map((u) => u.name)]).toEqual([undefined, ["docker"], ["ALL=(ALL) ALL"], ["alice"]])
    const byName = config("#cloud-config\nusers:\n  default: {groups: [adm]}\n  bob: {}\n")
    expect([byName.defaultUser?.name, byName.defaultUser?.groups, byName.users.map((u) => u.name)]).toEqual([undefined, ["adm"], ["bob"]])
  })

  it("a map for the default user that does not give lock_passwd or create_groups keeps what `user` gives: their defaults do not undo it", () => {
    const c = config('#cloud-config\nuser: {name: bob, lock_passwd: false, hashed_passwd: "$6$s$h", create_groups: false}\nusers:\n  - name: default\n    groups: [docker]\n')
    expect([c.defaultUser?.name, c.defaultUser?.lockPasswd, c.defaultUser?.createGroups, c.defaultUser?.password, c.defaultUser?.groups]).toEqual([
      "bob",
      false,
      false,
      { kind: "hash", value: "$6$s$h", onlyNewUser: false },
      ["docker"]
    ])
    // a map that gives them too does not undo them either: `user` wins, as cloud-init merges the two (`user` first)
    expect(config("#cloud-config\nuser: {name: bob, lock_passwd: false}\nusers:\n  - {lock_passwd: true}\n").defaultUser?.lockPasswd).toBe(false)
  })

  // cloud-init (ug_util.normalize_users_groups) adds a `default` entry for `user`, and makes the default user of
  // mergemanydict([user, the `default` entries, the entry naming it]): the first one giving a key wins, lists are not joined;
  // the default user's groups are taken out of `user` first, so a `default` entry's groups replace them
  it("`user` and a map without a name in `users`: `user`'s keys win, its lists too (not joined), the map's groups replace user's; said", () => {
    const k1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne k1@example"
    const k2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo k2@example"
    const source = `#cloud-config\nuser:\n  gecos: A\n  groups: [adm]\n  ssh_authorized_keys: [${k1}]\nusers:\n  - gecos: B\n    shell: /bin/ash\n    groups: [docker]\n    ssh_authorized_keys: [${k2}]\n`
    const c = config(source)
    // before: gecos B and both keys
    expect([c.defaultUser?.name, c.defaultUser?.account, c.defaultUser?.groups, c.defaultUser?.sshAuthorizedKeys]).toEqual([undefined, { gecos: "A", shell: "/bin/ash" }, ["docker"], [k1]])
    expect(notes(source).warnings).toEqual([
      "line 7: users[0]: the default user, as user is: its gecos, ssh_authorized_keys not used, as cloud-init takes user's; user's groups replaced by its own, as cloud-init merges them"
    ])
    // the same for the image's description of it
    const image = config(`#cloud-config\nsystem_info:\n  default_user: {name: ops, gecos: A}\nusers:\n  - {gecos: B, ssh_authorized_keys: [${k2}]}\n`)
    expect([image.defaultUser?.name, image.defaultUser?.account.gecos, image.defaultUser?.sshAuthorizedKeys]).toEqual(["ops", "A", [k2]])
    // what `user` does not give is the map's, without a word
    const named = `#cloud-config\nuser: bob\nusers:\n  - {gecos: B, ssh_authorized_keys: [${k2}]}\n`
    expect([config(named).defaultUser?.name, config(named).defaultUser?.account.gecos, config(named).defaultUser?.sshAuthorizedKeys]).toEqual(["bob", "B", [k2]])
    expect(notes(named).warnings).toEqual([])
  })

  // cloud-init (ug_util._normalize_users) makes the default user of mergemanydict([user, the `default` entries, the entry
  // naming it]): that entry is merged last, so what `user` (or a map without a name) gives wins, lists too; only the groups
  // are joined (uniq_merge_sorted of the entry's and user's), unless a `default` entry gives its own
  it("`user` and a `users` entry naming the same user: `user`'s keys and rules win (not joined), the entry gives the rest, the groups are joined; said", () => {
    const k1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne k1@example"
    const k2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo k2@example"
    const entry = `  - name: ops\n    ssh_authorized_keys: [${k2}]\n    sudo: "ALL=(ALL) ALL"\n    groups: [docker]\n    gecos: B\n`
    const source = `#cloud-config\nuser:\n  name: ops\n  ssh_authorized_keys: [${k1}]\n  sudo: "ALL=(ALL) NOPASSWD:/bin/true"\n  groups: [adm]\nusers:\n${entry}`
    const c = config(source)
    const ops = c.users.find((u) => u.name === "ops")
    // before: k2 and ALL=(ALL) ALL too
    expect([c.defaultUser?.sshAuthorizedKeys, c.defaultUser?.sudo, c.defaultUser?.groups]).toEqual([[k1], ["ALL=(ALL) NOPASSWD:/bin/true"], ["adm"]])
    expect([ops?.sshAuthorizedKeys, ops?.sudo, ops?.groups, ops?.account]).toEqual([[], [], ["docker"], { gecos: "B" }])
    expect(notes(source).warnings).toEqual(["line 8: users[0]: the default user, as user names it: its ssh_authorized_keys, sudo not used, as cloud-init takes user's"])
    // `default` beside it changes nothing; a map without a name gives the default user's keys before the entry naming it does
    const withDefault = config(`#cloud-config\nuser: {name: ops, ssh_authorized_keys: [${k1}]}\nusers:\n  - default\n${entry}`)
    expect(withDefault.users.find((u) => u.name === "ops")?.sshAuthorizedKeys).toEqual([])
    const map = `#cloud-config\nuser: ops\nusers:\n${entry}  - {groups: [wheel], ssh_authorized_keys: [${k1}]}\n`
    const byMap = config(map)
    expect([byMap.defaultUser?.sshAuthorizedKeys, byMap.defaultUser?.groups, byMap.users.find((u) => u.name === "ops")?.sshAuthorizedKeys, byMap.users.find((u) => u.name === "ops")?.groups]).toEqual([[k1], ["wheel"], [], []])
    expect(notes(map).warnings).toEqual(["line 4: users[0]: the default user, as user names it: its groups, ssh_authorized_keys not used, as cloud-init takes users[1]'s"])
    // the password and lock_passwd `user` gives are set, by the default user's settings, once: not the entry's (its passwd,
    // another key, is set by cloud-init as it makes the account, before user's hashed_passwd replaces it)
    const passwordSource = `#cloud-config\nuser: {name: ops, hashed_passwd: "$6$s$h", lock_passwd: false}\nusers:\n  - {name: ops, lock_passwd: false, passwd: "$6$o$x"}\n`
    const password = config(passwordSource)
    expect([password.defaultUser?.password, password.defaultUser?.lockPasswd, password.users[0]?.password, password.users[0]?.lockPasswd]).toEqual([
      { kind: "hash", value: "$6$s$h", onlyNewUser: false },
      false,
      undefined,
      true
    ])
    const hashLast = config(`#cloud-config\nuser: {name: ops, plain_text_passwd: pw, lock_passwd: false}\nusers:\n  - {name: ops, hashed_passwd: "$6$o$x"}\n`)
    expect([hashLast.defaultUser?.password, hashLast.defaultUser?.lockPasswd, hashLast.users[0]?.password]).toEqual([{ kind: "hash", value: "$6$o$x", onlyNewUser: false }, false, undefined])
    expect(notes(passwordSource).warnings).toEqual(["line 4: users[0]: the default user, as user names it: its lock_passwd not used, as cloud-init takes user's"])
  })

  it("the default user's password said to stay locked only when it does once its entries are merged: one may unlock another's", () => {
    const locked = (line: number, at: string) => `line ${line}: ${at}: a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work`
    const hash = `"$6$s$h"`
    // before: said of `user` (or of the entry) though the merged default user's password is set unlocked
    for (const source of [
      `#cloud-config\nuser: {name: ops, hashed_passwd: ${hash}}\nusers:\n  - {name: ops, lock_passwd: false}\n`,
      `#cloud-config\nuser: {name: ops, hashed_passwd: ${hash}}\nusers:\n  - {lock_passwd: false}\n`,
      `#cloud-config\nuser: {name: ops, lock_passwd: false}\nusers:\n  - {name: ops, hashed_passwd: ${hash}}\n`
    ]) {
      expect([config(source).defaultUser?.lockPasswd, config(source).defaultUser?.password?.value, notes(source).warnings]).toEqual([false, "$6$s$h", []])
    }
    // still said where it stays locked, once, where the password is given
    expect(notes(`#cloud-config\nuser: {name: ops, hashed_passwd: ${hash}}\n`).warnings).toEqual([locked(2, "user")])
    expect(notes(`#cloud-config\nuser: {name: ops, gecos: A}\nusers:\n  - {name: ops, hashed_passwd: ${hash}}\n`).warnings).toEqual([locked(4, "users[0]")])
    expect(notes(`#cloud-config\nusers:\n  - {hashed_passwd: ${hash}}\n  - {name: bob, hashed_passwd: ${hash}}\n`).warnings).toEqual([locked(3, "users[0]"), locked(4, "users[1]")])
  })

  it("a `users` entry naming CLOUD_USER beside `user` without a name, or a map without a name: merged last, as an entry naming the user `user` names", () => {
    const k1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne k1@example"
    const k2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyTwo k2@example"
    const withCloudUser = { ...OPTIONS, cloudUser: "alpine" }
    const byUser = `#cloud-config\nuser: {ssh_authorized_keys: [${k1}]}\nusers:\n  - {name: alpine, ssh_authorized_keys: [${k2}], groups: [docker]}\n`
    const c = config(byUser, withCloudUser)
    // before: k2 kept beside k1
    expect([c.defaultUser?.sshAuthorizedKeys, c.users[0]?.name, c.users[0]?.sshAuthorizedKeys, c.users[0]?.groups]).toEqual([[k1], "alpine", [], ["docker"]])
    expect(notes(byUser, withCloudUser).warnings).toEqual(["line 4: users[0]: the default user, as CLOUD_USER names it: its ssh_authorized_keys not used, as cloud-init takes user's"])
    const byMap = `#cloud-config\nusers:\n  - {ssh_authorized_keys: [${k1}]}\n  - {name: alpine, ssh_authorized_keys: [${k2}]}\n`
    expect(config(byMap, withCloudUser).users[0]?.sshAuthorizedKeys).toEqual([])
    expect(notes(byMap, withCloudUser).warnings).toEqual(["line 4: users[1]: the default user, as CLOUD_USER names it: its ssh_authorized_keys not used, as cloud-init takes users[0]'s"])
    // two maps without a name merged into the first: the keys used named where they were written
    const byTwoMaps = `#cloud-config\nusers:\n  - {sudo: "ALL=(ALL) ALL"}\n  - {ssh-authorized-keys: [${k1}]}\n  - {name: alpine, ssh_authorized_keys: [${k2}], sudo: "ALL=(ALL) NOPASSWD:ALL"}\n`
    expect(notes(byTwoMaps, withCloudUser).warnings).toEqual([
      "line 4: users[1]: the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them",
      "line 5: users[2]: the default user, as CLOUD_USER names it: its ssh_authorized_keys not used, as cloud-init takes users[1]'s; its sudo not used, as cloud-init takes users[0]'s"
    ])
    // another user, or `default` alone beside it, keeps its own
    expect(config(byUser.replace("name: alpine", "name: bob"), withCloudUser).users[0]?.sshAuthorizedKeys).toEqual([k2])
    expect(config(`#cloud-config\nusers:\n  - default\n  - {name: alpine, ssh_authorized_keys: [${k2}]}\n`, withCloudUser).users[0]?.sshAuthorizedKeys).toEqual([k2])
  })

  // cloud-init sets the merged entry's passwd as it makes the account, then its plain_text_passwd, then its hashed_passwd
  it("`user` and a map without a name giving passwords by different keys: both are given, and the one cloud-init sets last wins (the hash over the plain text over passwd)", () => {
    const password = (user: string, map: string) => config(`#cloud-config\nuser: {name: bob, lock_passwd: false, ${user}}\nusers:\n  - {${map}}\n`).defaultUser?.password
    // before: user's plain text, the map's hash dropped without a word
    expect(password("plain_text_passwd: pw", 'hashed_passwd: "$6$map"')).toEqual({ kind: "hash", value: "$6$map", onlyNewUser: false })
    expect(password('passwd: "$6$user"', "plain_text_passwd: pw")).toEqual({ kind: "plain", value: "pw", onlyNewUser: false })
    expect(password('hashed_passwd: "$6$user"', "plain_text_passwd: pw")).toEqual({ kind: "hash", value: "$6$user", onlyNewUser: false })
    // the same key: user's, the map's named as not used
    expect(password('passwd: "$6$user"', 'passwd: "$6$map"')).toEqual({ kind: "hash", value: "$6$user", onlyNewUser: true })
    expect(notes(`#cloud-config\nuser: {name: bob, lock_passwd: false, passwd: "$6$user"}\nusers:\n  - {passwd: "$6$map"}\n`).warnings).toContain(
      "line 4: users[0]: the default user, as user is: its passwd not used, as cloud-init takes user's"
    )
  })

  it("`user` and a map without a name: whether the password stays locked is said of the two merged, as cloud-init locks the merged entry", () => {
    const LOCKED = "a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work"
    const said = (user: string, map: string) => {
      const source = `#cloud-config\nuser: {name: bob, ${user}}\nusers:\n  - {${map}}\n`
      return [config(source).defaultUser?.lockPasswd, notes(source).warnings.filter((w) => w.endsWith(LOCKED))]
    }
    // before: each said its password stays locked, where user's lock_passwd: false (or the map's) unlocks it
    expect(said("lock_passwd: false", "plain_text_passwd: pw")).toEqual([false, []])
    expect(said("plain_text_passwd: pw", "lock_passwd: false")).toEqual([false, []])
    // before: neither said it, where user's lock_passwd: true locks the map's password
    expect(said("lock_passwd: true", "plain_text_passwd: pw, lock_passwd: false")).toEqual([true, [`line 4: users[0]: ${LOCKED}`]])
    // locked all the same: said where it was
    expect(said("plain_text_passwd: pw", "gecos: B")).toEqual([true, [`line 2: user: ${LOCKED}`]])
  })

  it("an invalid user entry is skipped and keeps CLOUD_USER: no later entry takes its place", () => {
    const source = "#cloud-config\nusers:\n  - name: bad name\n    uid: 1001\n  - alice\n"
    const c = config(source)
    expect(c.defaultUser).toBeUndefined()
    expect(c.users.map((u) => u.name)).toEqual(["alice"])
    expect(notes(source).problems).toEqual(["line 3: users[0].name: expected a user name (at most 255 characters: letters, digits, _ . -; not starting with . or -), got a string of 8 characters; users[0] skipped"])
    expect(config("#cloud-config\nuser: {name: 'bad name'}\npackages: [vim]\n").defaultUser).toBeUndefined()
    // a name of letters alone that is too long is told as such
    expect(notes(`#cloud-config\nusers:\n  - name: ${"a".repeat(256)}\n  - name: ${"b".repeat(255)}\n`).problems).toEqual([
      "line 3: users[0].name: expected a user name (at most 255 characters: letters, digits, _ . -; not starting with . or -), got a string of 256 characters; users[0] skipped"
    ])
    expect(config("#cloud-config\nusers: [5, bob]\n").defaultUser?.name).toBe("bob")
  })

  it.each([`["bad name", alice]`, `"bad name, alice"`, `[["bad name", alice]]`, `{bad name: true, alice: true}`])(
    "a first user named by a string that is no user name keeps CLOUD_USER too, as a map with that name does: users: %s",
    (users) => {
      const c = config(`#cloud-config\nusers: ${users}\n`)
      expect([c.defaultUser, c.users.map((u) => u.name)]).toEqual([undefined, ["alice"]])
      expect(notes(`#cloud-config\nusers: ${users}\n`).problems).toHaveLength(1)
    }
  )

  // cloud-init's cc_users_groups refuses such a user ("Not creating user dave. Key(s) ssh_authorized_keys cannot be
  // provided with no_create_home"): a key that needs a home beside one that says there is none; the others are made
  it("a user given keys and no home (no_create_home, system) is skipped as cloud-init skips it, in one line; the first keeps CLOUD_USER", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey k1"
    const source = `#cloud-config\nusers:\n  - default\n  - name: dave\n    no_create_home: true\n    ssh_authorized_keys: ['${key}']\n  - {name: svc, system: true, ssh_redirect_user: true}\n  - erin\n`
    const c = config(source)
    expect(c.users.map((u) => u.name)).toEqual(["erin"])
    expect(notes(source).problems).toEqual([
      "line 4: users[1]: ssh_authorized_keys cannot be given with no_create_home: the user would have no home for its keys, and cloud-init makes no such user; skipped",
      "line 7: users[2]: ssh_redirect_user cannot be given with system: the user would have no home for its keys, and cloud-init makes no such user; skipped"
    ])
    // the first named user stands in for the default one only when it can be made: CLOUD_USER is kept, with the cloud's keys
    const first = config(`#cloud-config\nusers:\n  - {name: deploy, system: true, no_create_home: true, ssh_authorized_keys: ['${key}']}\n  - erin\n`)
    expect([first.defaultUser, first.users.map((u) => u.name)]).toEqual([undefined, ["erin"]])
    // nothing that needs a home (an empty list, false), or a home after all: the user is made
    expect(config(`#cloud-config\nusers:\n  - default\n  - {name: svc, system: true, ssh_authorized_keys: [], ssh_redirect_user: false}\n`).users.map((u) => u.name)).toEqual(["svc"])
    expect(config(`#cloud-config\nusers:\n  - default\n  - {name: dave, no_create_home: false, ssh_authorized_keys: ['${key}']}\n`).users.map((u) => u.name)).toEqual(["dave"])
  })

  it("a value in a user map that does not fit skips that key alone: the user is still created, with its keys", () => {
    const source = "#cloud-config\nusers:\n  - name: bob\n    uid: lots\n    shell: 5\n    ssh_authorized_keys: [ssh-ed25519 AAAA bob]\n  - alice\n"
    const c = config(source)
    expect(c.defaultUser).toMatchObject({ name: "bob", sshAuthorizedKeys: ["ssh-ed25519 AAAA bob"], account: {} })
    expect(c.users.map((u) => u.name)).toEqual(["alice"])
    expect(notes(source).problems).toEqual([
      "line 4: users[0].uid: expected a user id such as 1001, got a string of 4 characters; skipped",
      "line 5: users[0].shell: expected a shell such as /bin/sh, got a number; skipped"
    ])
    // sudo that cannot be read gives no rights, and no wheel either
    expect(config("#cloud-config\nusers:\n  - name: bob\n    sudo: {all: yes}\n").defaultUser?.account.wheel).toBe(false)
  })

  it("a group name that cannot be one skips that group alone: the user's other groups are still joined, in every form", () => {
    const source = `#cloud-config\nusers:\n  - default\n  - name: bob\n    groups: [docker, "my group", adm]\n  - name: carol\n    groups: "docker, my group, adm"\n  - name: dave\n    groups: {docker: null, "my group": null, adm: null}\n`
    const c = config(source)
    expect(c.users.map((u) => [u.name, u.groups])).toEqual([
      ["bob", ["docker", "adm"]],
      ["carol", ["docker", "adm"]],
      ["dave", ["docker", "adm"]]
    ])
    const bad = "expected a group name (at most 255 characters: letters, digits, _ . -; not starting with . or -), got a string of 8 characters"
    expect(notes(source).problems).toEqual([`line 5: users[1].groups[1]: ${bad}; skipped`, `line 7: users[2].groups: ${bad}; users[2].groups[1] skipped`, `line 9: users[3].groups.my group: ${bad}; skipped`])
  })

  // busybox adduser and addgroup (which cloud-init runs on Alpine) take a name shorter than LOGIN_NAME_MAX, 256: not shadow's 32
  it("a user or group name past 32 characters is still one, as busybox takes it; past 255 it is skipped", () => {
    const [user, group] = ["u".repeat(40), "g".repeat(255)]
    const source = `#cloud-config\nusers:\n  - default\n  - name: ${user}\n    groups: [${group}]\ngroups: [${group}]\n`
    expect(config(source).users.map((u) => [u.name, u.groups])).toEqual([[user, [group]]])
    expect(config(source).groups.map((g) => g.name)).toEqual([group])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    const tooLong = `#cloud-config\nusers:\n  - default\n  - name: ${"u".repeat(256)}\n  - alice\n`
    expect(config(tooLong).users.map((u) => u.name)).toEqual(["alice"])
    expect(notes(tooLong).problems).toHaveLength(1)
  })

  it("a group name of a user's list or map is stripped of its spaces, as cloud-init strips each before it joins them", () => {
    const source = `#cloud-config\nusers:\n  - default\n  - name: bob\n    groups: [" docker", "adm "]\n  - name: carol\n    groups: {" docker": null, "adm ": true}\n`
    expect(config(source).users.map((u) => [u.name, u.groups])).toEqual([
      ["bob", ["docker", "adm"]],
      ["carol", ["docker", "adm"]]
    ])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("a user's key entry that is no key's text (a template's empty variable) is skipped alone: the user's other keys are kept, as the top-level ones are", () => {
    const source = "#cloud-config\nusers:\n  - name: admin\n    ssh_authorized_keys:\n      - ssh-ed25519 AAAA admin\n      -\n  - name: bob\n    ssh_authorized_keys: {laptop: ssh-ed25519 BBBB bob, desk: null}\n"
    const c = config(source)
    expect([c.defaultUser?.name, c.defaultUser?.sshAuthorizedKeys]).toEqual(["admin", ["ssh-ed25519 AAAA admin"]])
    expect(c.users.map((u) => [u.name, u.sshAuthorizedKeys])).toEqual([["bob", ["ssh-ed25519 BBBB bob"]]])
    expect(notes(source).problems).toEqual([
      "line 6: users[0].ssh_authorized_keys[1]: expected a string, got null; skipped",
      "line 8: users[1].ssh_authorized_keys[1]: expected a string, got null; skipped"
    ])
  })

  it("names a user's key entry that is not a key where it stands, as it names a top-level one: schema says what the boot leaves out", () => {
    // a template's placeholder (cloud-init's own schema test of users writes `ssh-authorized-keys: ["ssh-ed25519 ..."]`)
    const source = "#cloud-config\nssh_authorized_keys: [not a key]\nuser: {name: ops, ssh_authorized_keys: [bogus]}\nusers:\n  - default\n  - name: lima\n    ssh-authorized-keys: ['ssh-ed25519 ...', ssh-ed25519 AAAA lima]\n"
    expect(notes(source).warnings).toEqual([
      "line 2: ssh_authorized_keys[0]: not an OpenSSH public key; left out",
      "line 3: user.ssh_authorized_keys[0]: not an OpenSSH public key; left out",
      "line 7: users[1].ssh-authorized-keys[0]: not an OpenSSH public key; left out"
    ])
    expect(config(source).users.map((u) => [u.name, u.sshAuthorizedKeys])).toEqual([["lima", ["ssh-ed25519 ...", "ssh-ed25519 AAAA lima"]]])
  })

  it("names the lines of a key entry of several lines that are no key, not the entry, whose keys are installed: the boot says nothing more of them", () => {
    const source = "#cloud-config\nssh_authorized_keys:\n  - |\n    ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk1 k1\n    not a key\n  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2 k2\\nbogus\\nbogus again\"\n  - \"bogus\\n# a comment\"\n"
    expect(notes(source).warnings).toEqual([
      "line 3: ssh_authorized_keys[0]: 1 of its lines is not an OpenSSH public key; that line left out, its keys kept",
      "line 6: ssh_authorized_keys[1]: 2 of its lines are not OpenSSH public keys; those lines left out, its keys kept",
      "line 7: ssh_authorized_keys[2]: not an OpenSSH public key; left out"
    ])
  })

  it("takes a user's keys as cloud-init does: one key as a string, or a map whose values are the keys", () => {
    expect(config("#cloud-config\nusers:\n  - name: bob\n    ssh_authorized_keys: ssh-ed25519 AAAA bob\n").defaultUser?.sshAuthorizedKeys).toEqual(["ssh-ed25519 AAAA bob"])
    expect(config("#cloud-config\nusers:\n  - name: bob\n    ssh-authorized-keys: {laptop: ssh-ed25519 AAAA l, desk: ssh-rsa BBBB d}\n").defaultUser?.sshAuthorizedKeys).toEqual(["ssh-ed25519 AAAA l", "ssh-rsa BBBB d"])
    expect(config("#cloud-config\nssh_authorized_keys: ssh-ed25519 AAAA top\n").sshAuthorizedKeys).toEqual(["ssh-ed25519 AAAA top"])
  })

  it("reads flags written as strings as cloud-init does; a quoted lock_passwd is true to cloud-init, so the password stays locked", () => {
    const source = "#cloud-config\npackage_update: 'true'\npackage_upgrade: 'yes'\nwrite_files:\n  - {path: /a, content: x, append: 'true', defer: 'false'}\nusers:\n  - name: runner\n    lock_passwd: 'false'\n    passwd: $6$x\n"
    const c = config(source)
    expect([c.packageUpdate, c.packageUpgrade]).toEqual([true, true])
    expect(c.writeFiles.map((f) => [f.path, f.append])).toEqual([["/a", true]])
    expect(c.defaultUser).toMatchObject({ name: "runner", lockPasswd: true })
    expect(notes(source).problems).toEqual([])
    expect(notes(source).warnings).toContain(
      "line 8: users[0].lock_passwd: a string, which cloud-init takes as true whatever it says: the password stays locked (write false without quotes to unlock it)"
    )
  })

  // cloud-init's Alpine add_user (`if kwargs.get("no_create_home") or kwargs.get("system")`, `if create_groups and groups`) and
  // cc_users_groups' check of a user given keys without a home read these as Python conditions, not as words
  it("reads system, no_create_home and create_groups as cloud-init does: a quoted \"false\" is true to it, so here, with a warning; with keys, no user", () => {
    const source =
      "#cloud-config\nusers:\n  - default\n  - {name: svc, system: 'false'}\n  - {name: app, no_create_home: 'no', groups: [extra], create_groups: 'false'}\n  - {name: dave, system: 'False', ssh_authorized_keys: ['ssh-ed25519 AAAA dave']}\n  - {name: erin, system: false, no_create_home: 0, create_groups: true}\n"
    const c = config(source)
    expect(c.users.map((u) => [u.name, u.account.system, u.account.noCreateHome, u.createGroups])).toEqual([
      ["svc", true, undefined, true],
      ["app", undefined, true, true],
      ["erin", undefined, undefined, true]
    ])
    expect(notes(source)).toEqual({
      problems: ["line 6: users[3]: ssh_authorized_keys cannot be given with system: the user would have no home for its keys, and cloud-init makes no such user; skipped"],
      warnings: [
        "line 4: users[1].system: a string, which cloud-init takes as true whatever it says: a system account is made, without a home (write false without quotes for an account of its own)",
        "line 5: users[2].no_create_home: a string, which cloud-init takes as true whatever it says: no home is made (write false without quotes to make one)",
        "line 5: users[2].create_groups: a string, which cloud-init takes as true whatever it says: its groups that are missing are created (write false without quotes to leave them out)"
      ]
    })
  })

  // cloud-init's create_user: `if kwargs.get("lock_passwd", True): self.lock_passwd(name)`, None being a value the key has
  it("leaves the password unlocked for lock_passwd with no value, which cloud-init reads as None, not as its default", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - name: ops\n    hashed_passwd: $6$x\n    lock_passwd:\n"
    expect(config(source).users.find((u) => u.name === "ops")).toMatchObject({ lockPasswd: false, password: { kind: "hash", value: "$6$x" } })
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("takes a float 1.0 or 0.0 for no flag, as cloud-init compares str(1.0), '1.0', with its words: sshd unchanged, nothing upgraded", () => {
    const source = "#cloud-config\nssh_pwauth: 1.0\npackage_upgrade: 1.0\npackage_update: !!float 0\n"
    const c = config(source)
    expect([c.sshPwauth, c.packageUpgrade, c.packageUpdate]).toEqual([undefined, false, false])
    expect(notes(source)).toEqual({
      problems: ["line 3: package_upgrade: expected true or false, got a number; skipped", "line 4: package_update: expected true or false, got a number; skipped"],
      warnings: ["line 2: ssh_pwauth: not true or false; PasswordAuthentication left unchanged"]
    })
    // an integer is read by its digits: 1 is true
    expect(config("#cloud-config\nssh_pwauth: 1\npackage_upgrade: 0x1\n")).toMatchObject({ sshPwauth: true, packageUpgrade: true })
  })

  it("takes a flag given by an alias of a float 1.0 as the float written there: no flag, and the anchored value, with its other aliases, stays 1.0", () => {
    const source = "#cloud-config\nx: &a 1.0\npackage_upgrade: *a\nssh_pwauth: *a\nresize_rootfs: *a\npackages:\n  - [foo, *a]\nwrite_files:\n  - path: /a\n    content: x\n    append: *a\n"
    const c = config(source)
    expect([c.sshPwauth, c.packageUpgrade, c.writeFiles.map((f) => f.append)]).toEqual([undefined, false, [false]])
    expect(c.packages).toEqual(config("#cloud-config\npackages:\n  - [foo, 1.0]\n").packages)
    expect(notes(source)).toEqual({
      problems: ["line 3: package_upgrade: expected true or false, got a number; skipped"],
      warnings: [
        "line 4: ssh_pwauth: not true or false; PasswordAuthentication left unchanged",
        "line 11: write_files[0].append: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "unsupported cloud-config keys: x, resize_rootfs"
      ]
    })
  })

  it("takes a write_files entry's append or defer of 1.0 for no flag, as cloud-init's get_cfg_option_bool compares str(1.0) with its words: overwritten, not deferred", () => {
    const source = "#cloud-config\nwrite_files:\n  - path: /a\n    content: x\n    append: 1.0\n  - path: /b\n    content: y\n    defer: !!float 1\n  - path: /c\n    content: z\n    append: 1\n    defer: true\n"
    expect(config(source).writeFiles.map((f) => [f.path, f.append, f.defer])).toEqual([
      ["/a", false, false],
      ["/b", false, false],
      ["/c", true, true]
    ])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 5: write_files[0].append: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "line 8: write_files[1].defer: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false"
      ]
    })
  })

  it("takes resize_rootfs, preserve_hostname and create_hostname_file of 1.0 for false, as cloud-init compares str(1.0) with its words: no resize named", () => {
    const source = "#cloud-config\nresize_rootfs: 1.0\npreserve_hostname: 1.0\ncreate_hostname_file: !!float 1\nprefer_fqdn_over_hostname: 1.0\n"
    expect(notes(source).warnings).toEqual(["unsupported cloud-config keys: resize_rootfs, create_hostname_file"])
    // an integer 1 is true, as before: the root grown, the host named by its fqdn (named)
    expect(notes("#cloud-config\nresize_rootfs: 1\nprefer_fqdn_over_hostname: 1\n").warnings).toEqual(["unsupported cloud-config keys: prefer_fqdn_over_hostname"])
  })

  it("names a float uid (1000.0, !!float 1000), which cloud-init's Alpine add_user passes as adduser -u 1000.0 and fails on; the user is made without it", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - name: u1\n    uid: 1000.0\n  - name: u2\n    uid: !!float 1001\n  - name: u3\n    uid: 1002\n  - name: u4\n    uid: !!int 0o1753\n"
    const users = config(source).users
    expect(users.find((u) => u.name === "u1")?.account).toEqual({})
    expect(users.find((u) => u.name === "u2")?.account).toEqual({})
    expect(users.find((u) => u.name === "u3")?.account).toEqual({ uid: 1002 })
    expect(users.find((u) => u.name === "u4")?.account).toEqual({ uid: 1003 })
    expect(notes(source).problems).toEqual([
      "line 5: users[1].uid: expected a user id such as 1001, got a number; skipped",
      "line 7: users[2].uid: expected a user id such as 1001, got a number; skipped"
    ])
  })

  it("reads a flag or a uid given by an alias of 1.0 as its anchor (PyYAML's float): false, named, the user made without it; the anchor's other uses as written", () => {
    const source =
      "#cloud-config\nx-one: &one 1.0\nx-id: &id 1000.0\nresize_rootfs: *one\nwrite_files:\n  - path: /a\n    content: x\n    append: *one\nusers:\n  - default\n  - name: u1\n    uid: *id\nruncmd:\n  - [echo, *one]\n"
    expect(config(source).writeFiles.map((f) => [f.path, f.append])).toEqual([["/a", false]])
    expect(config(source).users.find((u) => u.name === "u1")?.account).toEqual({})
    expect(config(source).runcmd).toEqual([{ kind: "argv", argv: ["echo", "1.0"], index: 0 }])
    expect(notes(source)).toEqual({
      problems: ["line 12: users[1].uid: expected a user id such as 1001, got a number; skipped"],
      warnings: [
        "line 8: write_files[0].append: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "unsupported cloud-config keys: x-one, x-id, resize_rootfs"
      ]
    })
  })

  it("reads an alias of a flag's or a uid's own anchored 1.0 (`resize_rootfs: &a 1.0`, `ssh_pwauth: *a`) as the float written: the flag named, the file written, the argument 1.0", () => {
    const source =
      "#cloud-config\nresize_rootfs: &a 1.0\nssh_pwauth: *a\nwrite_files:\n  - {path: /a, content: x, append: *a}\nusers:\n  - default\n  - {name: u1, uid: &i 1000.0}\n  - {name: u2, uid: *i}\nruncmd:\n  - [echo, *a, *i]\n"
    const c = config(source)
    expect(c.sshPwauth).toBeUndefined()
    expect(c.writeFiles.map((f) => [f.path, f.append])).toEqual([["/a", false]])
    expect(c.users.filter((u) => u.name === "u1" || u.name === "u2").map((u) => u.account)).toEqual([{}, {}])
    // an argument's own anchored 1.0 (`[echo, &v 1.0]`), made text there, is still the float where an alias of it is a flag
    const argument = "#cloud-config\nruncmd:\n  - [echo, &v 1.0]\nwrite_files:\n  - {path: /a, content: x, append: *v}\n"
    expect(config(argument).writeFiles.map((f) => [f.path, f.append])).toEqual([["/a", false]])
    expect(config(argument).runcmd).toEqual([{ kind: "argv", argv: ["echo", "1.0"], index: 0 }])
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["echo", "1.0", "1000.0"], index: 0 }])
    expect(notes(source)).toEqual({
      problems: ["line 8: users[1].uid: expected a user id such as 1001, got a number; skipped", "line 9: users[2].uid: expected a user id such as 1001, got a number; skipped"],
      warnings: [
        "line 3: ssh_pwauth: not true or false; PasswordAuthentication left unchanged",
        "line 5: write_files[0].append: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "unsupported cloud-config keys: resize_rootfs"
      ]
    })
  })

  it("reads a flag or a uid brought in by a merge key (`<<: *f`) of 1.0 as the direct form: false, named; the merged mapping's other uses as written", () => {
    const source =
      "#cloud-config\nx-f: &f {path: /a, content: x, append: &one 1.0, defer: *one}\nx-t: &t {append: true}\nx-u: &u {uid: 1000.0}\nwrite_files:\n  - {<<: *f}\n  - {<<: [*t, *f], path: /b}\n  - {<<: *f, path: /c, append: true}\nusers:\n  - default\n  - {<<: *u, name: u1}\nruncmd:\n  - [echo, *one]\n"
    expect(config(source).writeFiles.map((f) => [f.path, f.append, f.defer])).toEqual([
      ["/a", false, false],
      ["/b", true, false],
      ["/c", true, false]
    ])
    expect(config(source).users.find((u) => u.name === "u1")?.account).toEqual({})
    expect(config(source).runcmd).toEqual([{ kind: "argv", argv: ["echo", "1.0"], index: 0 }])
    expect(notes(source)).toEqual({
      problems: ["line 11: users[1].uid: expected a user id such as 1001, got a number; skipped"],
      warnings: [
        "line 6: write_files[0].append: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "line 6: write_files[0].defer: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "line 7: write_files[1].defer: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "line 8: write_files[2].defer: a float, 1.0, which cloud-init takes for false (str(1.0), '1.0', is none of its true words): taken as false",
        "unsupported cloud-config keys: x-f, x-t, x-u"
      ]
    })
  })

  it("names uid and create_groups with no value, on which cloud-init's Alpine add_user fails; the user is made, its groups created", () => {
    const source = "#cloud-config\nusers:\n  - default\n  - name: u1\n    uid:\n  - name: u2\n    groups: [g1]\n    create_groups:\n"
    const users = config(source).users
    expect(users.find((u) => u.name === "u1")?.account).toEqual({})
    expect(users.find((u) => u.name === "u2")).toMatchObject({ groups: ["g1"], createGroups: true })
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 5: users[1].uid: no value: cloud-init runs adduser -u None, which fails, and makes neither this user nor those after it; here the user is made with the uid adduser picks",
        "line 8: users[2].create_groups: no value, which cloud-init reads as false: it creates none of the user's missing groups, and adding the user to one fails and stops its users module; here the missing groups are created"
      ]
    })
  })

  it("takes system_info.default_user as the default user when there is no user key; the rest of system_info is named as ignored", () => {
    const source = "#cloud-config\nsystem_info:\n  distro: alpine\n  default_user:\n    name: ops\n    groups: [adm]\n    ssh_authorized_keys: [ssh-ed25519 AAAA ops]\n"
    expect(config(source).defaultUser).toMatchObject({ name: "ops", groups: ["adm"], sshAuthorizedKeys: ["ssh-ed25519 AAAA ops"] })
    expect(notes(source).warnings).toContain("unsupported cloud-config keys: system_info.distro")
    expect(config("#cloud-config\nuser: dev\nsystem_info: {default_user: {name: ops}}\n").defaultUser?.name).toBe("dev")
    // with a user key, default_user is not used: it is named, never dropped silently
    expect(notes("#cloud-config\nuser: dev\nsystem_info: {default_user: {name: ops, groups: [adm]}}\n").warnings).toEqual(["unsupported cloud-config keys: system_info.default_user"])
  })

  it("creates top-level groups, with their members", () => {
    expect(config("#cloud-config\ngroups:\n  - admingroup: [root, sys]\n  - cloud-users\n  - solo: bob\n").groups).toEqual([
      { name: "admingroup", members: ["root", "sys"] },
      { name: "cloud-users", members: [] },
      { name: "solo", members: ["bob"] }
    ])
    expect(config("#cloud-config\ngroups: 'a, b'\n").groups.map((g) => g.name)).toEqual(["a", "b"])
  })

  it("reads packages written as a string as cloud-init does: the one package it names, with a warning", () => {
    const source = "#cloud-config\npackages: nginx\n"
    expect(config(source).packages).toEqual(["nginx"])
    expect(notes(source)).toEqual({ problems: [], warnings: ["line 2: packages: a string, not a list; read as one package, as cloud-init reads it"] })
    expect(notes("#cloud-config\npackages: nginx curl\n").problems).toEqual([
      "line 2: packages: expected a package name (no spaces, not starting with -), got a string of 10 characters; skipped"
    ])
  })

  it("skips a package name or version holding a NUL, another control character or a blank, alone: apk add takes the others (a NUL failed the whole command)", () => {
    const source = '#cloud-config\npackages: ["curl\\0x", git, [vim, "1.0\\0"], [nano, 7.2-r1], [htop, 3.3], [less, "1 2"], "a\\x1bb"]\n'
    expect(config(source).packages).toEqual(["git", "nano=7.2-r1", "htop=3.3"])
    expect(notes(source).problems).toEqual([
      "line 2: packages[0]: expected a package name (no spaces, not starting with -), got a string of 6 characters; skipped",
      "line 2: packages[2][1]: expected a package version (no spaces), got a string of 4 characters; packages[2] skipped",
      "line 2: packages[5][1]: expected a package version (no spaces), got a string of 3 characters; packages[5] skipped",
      "line 2: packages[6]: expected a package name (no spaces, not starting with -), got a string of 3 characters; skipped"
    ])
    expect(config('#alpine-config\npackages: ["curl\\0x", "a\\x7fb", git]\n').packages).toEqual(["git"])
  })

  it("reads a group's member string as cloud-init does: names separated by commas", () => {
    const source = "#cloud-config\ngroups:\n  devs: 'alice, bob'\n  ops: carol\n"
    expect(config(source).groups).toEqual([
      { name: "devs", members: ["alice", "bob"] },
      { name: "ops", members: ["carol"] }
    ])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  // cloud-init's _normalize_groups: a map's null members go to uniq_merge_sorted (extend(None)), a list's map raises "Bad group
  // member type NoneType": a TypeError that fails cc_users_groups (no group, no user) and cc_ssh's keys
  it("makes a group written with no members (docker: with no value), which cloud-init cannot read, and says so", () => {
    const source = "#cloud-config\ngroups:\n  docker:\n  admins: [root]\n  empty: []\n"
    expect(config(source).groups).toEqual([
      { name: "docker", members: [] },
      { name: "admins", members: ["root"] },
      { name: "empty", members: [] }
    ])
    const warning = (line: number, path: string) =>
      `line ${line}: ${path}: no members (null), which cloud-init cannot read (a name, names separated by commas, or a list; [] for none): it makes none of the groups and users, nor installs any key; the group is made here without members`
    expect(notes(source)).toEqual({ problems: [], warnings: [warning(3, "groups.docker")] })
    expect(notes("#cloud-config\ngroups:\n  - docker:\n  - cloud-users\n")).toEqual({ problems: [], warnings: [warning(3, "groups[0].docker")] })
  })

  it("skips a group member that cannot be a user's name alone, as cloud-init makes the group and leaves out a member that is no user: the group and its other members stay", () => {
    const source = "#cloud-config\ngroups:\n  - admins: [root, 5]\n  - ops: 'root, bad name'\n"
    expect(config(source).groups).toEqual([
      { name: "admins", members: ["root"] },
      { name: "ops", members: ["root"] }
    ])
    expect(notes(source).problems).toEqual([
      "line 3: groups[0].admins[1]: expected a user name (at most 255 characters: letters, digits, _ . -; not starting with . or -), got a number; skipped",
      "line 4: groups[1].ops: expected a user name (at most 255 characters: letters, digits, _ . -; not starting with . or -), got a string of 8 characters; groups[1].ops[1] skipped"
    ])
  })

  it("maps the top-level keys", () => {
    const source = `#cloud-config
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
  peers: [km001]
  allow: [192.168.23.0/24]
`
    const c = config(source)
    expect([c.hostname, c.fqdn, c.timezone, c.sshPwauth]).toEqual(["web-1", "web-1.example.com", "Europe/Paris", false])
    expect(c.sshAuthorizedKeys).toEqual(["ssh-rsa AAAA top"])
    expect([c.packageUpdate, c.packageUpgrade]).toEqual([true, true])
    expect(c.packages).toEqual(["vim", "curl=8.5.0-r0"])
    expect(c.commandStyle).toBe("script")
    expect(c.bootcmd).toEqual([
      { kind: "shell", script: 'echo "string form"', index: 0 },
      { kind: "argv", argv: ["echo", "list", "form"], index: 1 }
    ])
    expect(c.runcmd).toEqual([{ kind: "argv", argv: ["sh", "-c", "echo hi"], index: 0 }])
    expect(c.writeFiles).toEqual([{ path: "/etc/late", content: bytesOf("x"), mode: 0o600, owner: "root:root", append: false, defer: true, index: 0, ownsNewDirectories: true }])
    expect(c.ntp).toEqual({ client: "chrony", servers: ["ntp1.example"], pools: ["pool.ntp.org"], peers: ["km001"], allow: ["192.168.23.0/24"], install: "cloud-init" })
    expect(c.apk.configured).toBe(false)
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("writes a float of an argument list as Python's str() does: inf, nan, and 1e-05 below 0.0001", () => {
    expect(config("#cloud-config\nruncmd:\n  - [echo, .inf, -.inf, .nan, .NaN, 0.00001, 1.5e-07, 0.0001, -0.000012, 2.5e-10, 2.5]\n").runcmd).toEqual([
      { kind: "argv", argv: ["echo", "inf", "-inf", "nan", "nan", "1e-05", "1.5e-07", "0.0001", "-1.2e-05", "2.5e-10", "2.5"], index: 0 }
    ])
    expect(config("#cloud-config\npackages:\n  - [tool, .inf]\n").packages).toEqual(["tool=inf"])
  })

  // EC2's user guide (its LAMP example): `[ find, /var/www, -type, f, -exec, chmod, 0664, {}, \; ]`, where YAML's `{}` is an empty map
  it("writes a map or a list in an argument list as Python's str() does, as cloud-init's shellify writes it: `{}` is an empty map", () => {
    const source = "#cloud-config\nruncmd:\n  - [find, /var/www, -type, f, -exec, chmod, 0664, {}, +]\n  - [echo, {a: \"it's\", b: [1, true, null, 2.5, 'x\\ty']}, []]\n"
    expect(config(source).runcmd).toEqual([
      { kind: "argv", argv: ["find", "/var/www", "-type", "f", "-exec", "chmod", "436", "{}", "+"], index: 0 },
      { kind: "argv", argv: ["echo", "{'a': \"it's\", 'b': [1, True, None, 2.5, 'x\\\\ty']}", "[]"], index: 1 }
    ])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config("#cloud-config\nruncmd:\n  - [echo, !!set {x, y}, !!set {}, !!omap [a: 1, b: 2]]\n").runcmd).toEqual([
      { kind: "argv", argv: ["echo", "{'x', 'y'}", "set()", "[('a', 1), ('b', 2)]"], index: 0 }
    ])
    // binary data has no such text here: that entry alone is skipped
    expect(notes("#cloud-config\nruncmd:\n  - [echo, [!!binary aGk=]]\n  - echo ok\n").problems).toEqual(["line 3: runcmd[0][1]: expected a string, got a list; runcmd[0] skipped"])
    // an alias names one map at many places: never more of its text than the user-data may hold
    const many = `#cloud-config\nx: &a {k: ${"a".repeat(80)}}\nruncmd:\n  - [echo, *a, *a, *a, *a]\n  - echo ok\n`
    expect(notes(many, { maxBytes: 300, maxDecompressedBytes: 300 }).problems).toEqual(["line 4: runcmd[0][4]: more than 300 bytes of commands, the limit for user-data; runcmd[0] skipped"])
    expect(config(many, { maxBytes: 300, maxDecompressedBytes: 300 }).runcmd).toEqual([{ kind: "shell", script: "echo ok", index: 1 }])
    // the text of a list deep in lists is counted once, not at each level: 8 levels of 100 characters are far below 300
    const deep = `#cloud-config\nx: &a ${"[".repeat(8)}${"a".repeat(100)}${"]".repeat(8)}\nruncmd:\n  - [echo, *a]\n`
    expect(notes(deep, { maxBytes: 300, maxDecompressedBytes: 300 }).problems).toEqual([])
    expect(config(deep, { maxBytes: 300, maxDecompressedBytes: 300 }).runcmd).toEqual([{ kind: "argv", argv: ["echo", `${"[".repeat(8)}'${"a".repeat(100)}'${"]".repeat(8)}`], index: 0 }])
    // a list or map that holds itself (an alias inside its own anchor) is `[...]` or `{...}` there, as Python writes it
    expect(config("#cloud-config\nruncmd:\n  - &b [echo, {k: *b}]\n").runcmd).toEqual([{ kind: "argv", argv: ["echo", "{'k': ['echo', {...}]}"], index: 0 }])
    expect(config("#cloud-config\nruncmd:\n  - [echo, &m {k: *m, l: [*m]}]\n").runcmd).toEqual([{ kind: "argv", argv: ["echo", "{'k': {...}, 'l': [{...}]}"], index: 0 }])
    // a float in one is Python's float (`1.0`, where its value alone is 1), an integer past 2**53 its digits, in bootcmd too
    const numbers = "#cloud-config\nbootcmd:\n  - [echo, {version: 1.0, v: [-0.0, 1.0e+20, !!float 3, 12345678901234567890, 7, 0x10]}]\n"
    expect(config(numbers).bootcmd).toEqual([
      { kind: "argv", argv: ["echo", "{'version': 1.0, 'v': [-0.0, 1e+20, 3.0, 12345678901234567890, 7, 16]}"], index: 0 }
    ])
    // a timestamp in one is the date or datetime PyYAML makes of it, as repr() writes it (str() of a list writes its items' repr())
    const dates = "#cloud-config\nruncmd:\n  - [echo, [2024-01-01, 2024-01-01T10:00:00Z, 2001-12-14 21:59:43.10 -5, 2024-1-2 9:05:07, '2024-01-01'], {d: 2024-01-01 10:00:00 +05:30}]\n"
    expect(config(dates).runcmd).toEqual([
      {
        kind: "argv",
        argv: [
          "echo",
          "[datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone.utc), datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400))), datetime.datetime(2024, 1, 2, 9, 5, 7), '2024-01-01']",
          "{'d': datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800)))}"
        ],
        index: 0
      }
    ])
  })

  it("writes a !!timestamp (quoted too) or a `!` one in an argument list as the date or datetime PyYAML makes of it; as a command it is a date, named", () => {
    const source = "#cloud-config\nruncmd:\n  - [echo, !!timestamp 2024-01-01T10:00:00Z, ! '2024-01-01 10:00:00Z', [!!timestamp '2024-01-01', ! \"2024-01-01T10:00:00Z\", !!str 2024-01-01]]\n"
    expect(config(source).runcmd).toEqual([
      {
        kind: "argv",
        argv: ["echo", "2024-01-01 10:00:00+00:00", "2024-01-01 10:00:00+00:00", "[datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone.utc), '2024-01-01']"],
        index: 0
      }
    ])
    expect(notes("#cloud-config\nruncmd:\n  - !!timestamp 2024-01-01\n  - ! '2024-01-01'\n").warnings).toEqual([
      "line 3: runcmd[0]: a date, not a command (a string or a list): cloud-init refuses it and runs none of runcmd; here it runs as the command written",
      "line 4: runcmd[1]: a date, not a command (a string or a list): cloud-init refuses it and runs none of runcmd; here it runs as the command written"
    ])
  })

  it("writes a timestamp with a time of day in an argument list as Python's str() writes the datetime PyYAML makes of it; a date, a quoted one, a !!str one and a line stay as written", () => {
    const source =
      "#cloud-config\nruncmd:\n  - [touch, -d, 2024-01-01T10:00:00Z, 2024-1-2 9:05:00.5, 2001-12-14 21:59:43.10 -5, 2002-12-14t21:59:43 +01:30, 2002-12-14 21:59:43.0-00:30]\n" +
      "  - [echo, 2024-01-01, '2024-01-01T10:00:00Z', !!str 2024-01-01 10:00:00Z, '2024-02-30 10:00:00']\n  - echo 2024-01-01T10:00:00Z\n"
    expect(config(source).runcmd).toEqual([
      {
        kind: "argv",
        argv: ["touch", "-d", "2024-01-01 10:00:00+00:00", "2024-01-02 09:05:00.500000", "2001-12-14 21:59:43.100000-05:00", "2002-12-14 21:59:43+01:30", "2002-12-14 21:59:43-00:30"],
        index: 0
      },
      { kind: "argv", argv: ["echo", "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00Z", "2024-02-30 10:00:00"], index: 1 },
      { kind: "shell", script: "echo 2024-01-01T10:00:00Z", index: 2 }
    ])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("writes a whole float of an argument list or a package pair as Python's str() does: with its .0, and from 1e16 in exponent form", () => {
    expect(config("#cloud-config\nruncmd:\n  - [sleep, 1.0, 9., -0.0, 0.0, 1_0.0, 1.0e+3, 10000000000000000.0, 123456789012345678.0, 9999999999999998.0]\n").runcmd).toEqual([
      { kind: "argv", argv: ["sleep", "1.0", "9.0", "-0.0", "0.0", "10.0", "1000.0", "1e+16", "1.2345678901234568e+17", "9999999999999998.0"], index: 0 }
    ])
    // a zero float version is none, as cloud-init reads a pair ('and pkg[1]')
    expect(config("#cloud-config\npackages:\n  - [python3, 3.0]\n  - [zero, 0.0]\n").packages).toEqual(["python3=3.0", "zero"])
  })

  it("reads an argument tagged !!float or !!int as PyYAML constructs it, written as Python's str() writes it, with no warning", () => {
    const source = "#cloud-config\nruncmd:\n  - [echo, !!float 1, !!float 1e5, !!float 1:30, !!float .5, !!float -.NaN, !!float '3', !!int 0o17, !!int 1:70, !!int ' 12 ', !!int 0x10, !!str 1.0, !!bool yes]\n"
    // python3 -c 'import yaml; print([str(x) for x in yaml.safe_load(open("f"))["runcmd"][0]])' (PyYAML 6)
    expect(config(source).runcmd).toEqual([{ kind: "argv", argv: ["echo", "1.0", "100000.0", "90.0", "0.5", "nan", "3.0", "15", "130", "12", "16", "1.0", "True"], index: 0 }])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("writes a number reached through an alias as Python does, wherever its anchor is; the anchor's own value is left as it is", () => {
    const source = [
      "#cloud-config",
      "timezone: &t 4.0",
      "x-args: &a [sleep, 2.0, 12345678901234567890]",
      "packages:",
      "  - [python3, &v 3.0]",
      "  - [py, *t]",
      "  - [zero, &z 0.0]",
      "runcmd:",
      "  - [echo, *v, *t, *z]",
      "  - *a",
      ""
    ].join("\n")
    const c = config(source)
    expect(c.packages).toEqual(["python3=3.0", "py=4.0", "zero"])
    expect(c.runcmd).toEqual([
      { kind: "argv", argv: ["echo", "3.0", "4.0", "0.0"], index: 0 },
      { kind: "argv", argv: ["sleep", "2.0", "12345678901234567890"], index: 1 }
    ])
    expect(notes(source).problems).toEqual(["line 2: timezone: expected a time zone such as Europe/Paris or UTC, got a number; skipped"])
  })

  it("writes the numbers of a whole command or package list given by an alias as Python does, as one written there", () => {
    const source = [
      "#cloud-config",
      "x-cmds: &c",
      "  - [echo, 3.0, 123456789012345678901]",
      "  - [sleep, 1.0e+16]",
      "x-packages: &p [[python3, 3.0]]",
      "runcmd: *c",
      "bootcmd: *c",
      "packages: *p",
      ""
    ].join("\n")
    const c = config(source)
    const argv = [
      { kind: "argv", argv: ["echo", "3.0", "123456789012345678901"], index: 0 },
      { kind: "argv", argv: ["sleep", "1e+16"], index: 1 }
    ]
    expect([c.runcmd, c.bootcmd, c.packages]).toEqual([argv, argv, ["python3=3.0"]])
  })

  it("writes the numbers of a command or package list under a key given by an alias as Python does", () => {
    const source = ["#cloud-config", "x-keys: [&r runcmd, &p packages]", "*r : [[echo, 5.0, 123456789012345678901]]", "*p : [[py, 3.0]]", ""].join("\n")
    const c = config(source)
    expect([c.runcmd, c.packages]).toEqual([[{ kind: "argv", argv: ["echo", "5.0", "123456789012345678901"], index: 0 }], ["py=3.0"]])
  })

  it("reads an alias or an anchor written against a key's colon (`*r: ...`, `{*k: 1}`) as PyYAML does: its name ends at the colon", () => {
    const source = "#cloud-config\nx-keys: [&r runcmd, &h hostname]\n*r: [echo a]\nx-map: {*h: web}\n&t timezone: UTC\n"
    const c = config(source)
    expect([c.runcmd, c.timezone]).toEqual([[{ kind: "shell", script: "echo a", index: 0 }], "UTC"])
    expect(notes(source).problems).toEqual([])
  })

  it("writes an integer of an argument list with all its digits, as Python does, however large", () => {
    expect(config("#cloud-config\nbootcmd:\n  - [echo, 12345678901234567890, -1_234_567_890_123_456_789_0, +99999999999999999999, 9007199254740991]\n").bootcmd).toEqual([
      { kind: "argv", argv: ["echo", "12345678901234567890", "-12345678901234567890", "99999999999999999999", "9007199254740991"], index: 0 }
    ])
  })

  it("writes an integer of any YAML 1.1 form (hex, octal, binary, base 60) and a package version with all its digits, as PyYAML and Python do", () => {
    expect(config("#cloud-config\nruncmd:\n  - [echo, 0x1FFFFFFFFFFFFFFFFF, -0x1_0000_0000_0000_0000, 01777777777777777777777, 0b111111111111111111111111111111111111111111111111111111111111, 1:2:3:4:5:6:7:8:9:10:11:12, 0x10, 017, 0b101, 190:20:30, -0]\n").runcmd).toEqual([
      {
        kind: "argv",
        argv: ["echo", "590295810358705651711", "-18446744073709551616", "18446744073709551615", "1152921504606846975", "37519948336684860672", "16", "15", "5", "685230", "0"],
        index: 0
      }
    ])
    expect(config("#cloud-config\npackages:\n  - [tool, 12345678901234567890]\n  - [other, 1.10]\n").packages).toEqual(["tool=12345678901234567890", "other=1.1"])
  })

  it("installs a package written as a list of its name alone, as cloud-init's expand_package_list does; three items are still refused", () => {
    const source = "#cloud-config\npackages:\n  - curl\n  - [open-iscsi]\n  - [jq, 1.7]\n  - [a, b, c]\n"
    expect(config(source).packages).toEqual(["curl", "open-iscsi", "jq=1.7"])
    expect(notes(source).problems).toHaveLength(1)
    expect(notes(source).problems[0]).toMatch(/^line 6: packages\[3\]/)
  })

  it("runs the command of a cloud-init-per line, which cloud-init runs once per frequency: on the first boot, the command itself; another use is named", () => {
    // cloud-init's bootcmd example, and AWS's ECS launch templates
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - [cloud-init-per, once, mymkfs, mkfs, /dev/vdb]",
      "  - cloud-init-per instance docker_options echo 'OPTIONS=\"--storage-opt dm.basesize=20G\"' >> /etc/conf.d/docker",
      "  - |",
      "    mkdir -p /data",
      "    cloud-init-per always mnt mount /dev/vdb /data",
      "  - echo a; cloud-init-per once b touch /b",
      "runcmd:",
      "  - [cloud-init-per, once]",
      "  - [sh, -c, cloud-init-per once c true]",
      ""
    ].join("\n")
    const c = config(source)
    expect(c.bootcmd).toEqual([
      { kind: "argv", argv: ["mkfs", "/dev/vdb"], index: 0 },
      { kind: "shell", script: `echo 'OPTIONS="--storage-opt dm.basesize=20G"' >> /etc/conf.d/docker`, index: 1 },
      { kind: "shell", script: "mkdir -p /data\nmount /dev/vdb /data\n", index: 2 },
      { kind: "shell", script: "echo a; cloud-init-per once b touch /b", index: 3 }
    ])
    expect(c.runcmd).toEqual([
      { kind: "argv", argv: ["cloud-init-per", "once"], index: 0 },
      { kind: "argv", argv: ["sh", "-c", "cloud-init-per once c true"], index: 1 }
    ])
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 8: bootcmd[3]: ${named}`, `line 10: runcmd[0]: ${named}`, `line 11: runcmd[1]: ${named}`])
  })

  it("skips a cloud-init-per line's name as the shell word it is: a quoted name with a blank leaves the command's words exactly as written", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      `  - cloud-init-per instance "my job" touch /srv/x`,
      `  - cloud-init-per once 'set up' sh -c 'echo "$1"' _ 'a  b'`,
      "  - cloud-init-per once $NAME touch /y",
      "  - cloud-init-per once x;echo hi",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "touch /srv/x", index: 0 },
      { kind: "shell", script: `sh -c 'echo "$1"' _ 'a  b'`, index: 1 },
      // a name the shell would expand or split is not guessed at: the line is left as written, and named
      { kind: "shell", script: "cloud-init-per once $NAME touch /y", index: 2 },
      { kind: "shell", script: "cloud-init-per once x;echo hi", index: 3 }
    ])
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 5: runcmd[2]: ${named}`, `line 6: runcmd[3]: ${named}`])
  })

  it("leaves a here-document's body as written: a cloud-init-per line in it is the file's text, neither run nor named; the lines after its delimiter are read again", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - |",
      "    cat > /etc/motd <<EOF",
      "    cloud-init-per once is what we used",
      "    EOF",
      "    cloud-init-per once a touch /a",
      "  - |",
      "    cat <<-'END' > /etc/notes; echo $((1<<2))",
      "    \tcloud-init-per always b touch /b",
      "    \tEND",
      "    cloud-init-per once c touch /c",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "cat > /etc/motd <<EOF\ncloud-init-per once is what we used\nEOF\ntouch /a\n", index: 0 },
      { kind: "shell", script: "cat <<-'END' > /etc/notes; echo $((1<<2))\n\tcloud-init-per always b touch /b\n\tEND\ntouch /c\n", index: 1 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("opens no here-document at a '<<' in quotes, an escape, an arithmetic expansion or a comment: the cloud-init-per lines after it are rewritten", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - |",
      "    sed -i 's/<<HOST>>/web1/' /etc/motd",
      "    cloud-init-per once a touch /a",
      "  - |",
      '    echo "<<EOF" \\<<EOF $(( x << y )) # <<END',
      "    cloud-init-per once b touch /b",
      "  - |",
      "    echo 'quoted' <<'END' # an apostrophe's <<NOT",
      "    cloud-init-per once body",
      "    END",
      "    cloud-init-per once c touch /c",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "sed -i 's/<<HOST>>/web1/' /etc/motd\ntouch /a\n", index: 0 },
      { kind: "shell", script: 'echo "<<EOF" \\<<EOF $(( x << y )) # <<END\ntouch /b\n', index: 1 },
      { kind: "shell", script: "echo 'quoted' <<'END' # an apostrophe's <<NOT\ncloud-init-per once body\nEND\ntouch /c\n", index: 2 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("opens no here-document at a '<<' in a parameter expansion, an arithmetic expansion with parentheses or a comment after an operator, as dash reads them", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - |",
      "    echo ${x#<<}",
      "    cloud-init-per once a touch /a",
      "  - |",
      "    echo $(( (1 << y) ))",
      "    cloud-init-per once b touch /b",
      "  - |",
      "    echo x;#<<EOF",
      "    cloud-init-per once c touch /c",
      "  - |",
      "    echo ${x}<<EOF $(( (1) ))",
      "    cloud-init-per once body",
      "    EOF",
      "    cloud-init-per once d touch /d",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "echo ${x#<<}\ntouch /a\n", index: 0 },
      { kind: "shell", script: "echo $(( (1 << y) ))\ntouch /b\n", index: 1 },
      { kind: "shell", script: "echo x;#<<EOF\ntouch /c\n", index: 2 },
      { kind: "shell", script: "echo ${x}<<EOF $(( (1) ))\ncloud-init-per once body\nEOF\ntouch /d\n", index: 3 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("reads an escaped quote in \"...\" and $'...' as the shell does: a here-document after it is one, and its body is left as written", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - |",
      '    tr -d "\\"" <<EOF > /etc/motd; echo "written"',
      "    cloud-init-per once is the text",
      "    EOF",
      "    cloud-init-per once a touch /a",
      "  - |",
      "    cat - $'\\'' <<EOF > /etc/motd; echo 'written'",
      "    cloud-init-per once is the text",
      "    EOF",
      "    cloud-init-per once b touch /b",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: 'tr -d "\\"" <<EOF > /etc/motd; echo "written"\ncloud-init-per once is the text\nEOF\ntouch /a\n', index: 0 },
      { kind: "shell", script: "cat - $'\\'' <<EOF > /etc/motd; echo 'written'\ncloud-init-per once is the text\nEOF\ntouch /b\n", index: 1 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("reads a quoted string over the lines it spans, as the shell does: its lines are the string's text, a here-document on the line that closes it is one", () => {
    const scripts = [
      'echo "first\nsecond" <<EOF; echo "x"\ncloud-init-per once is the text\nEOF\ncloud-init-per once a touch /a\n',
      "echo 'a message:\ncloud-init-per once is the text'\nprintf '%s' \"one \\\ncloud-init-per once is the text\" $'\\''\ncloud-init-per once b touch /b\n"
    ]
    const source = `#cloud-config\nruncmd:\n${scripts.map((script) => `  - ${JSON.stringify(script)}\n`).join("")}`
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: scripts[0]!.replace("cloud-init-per once a ", ""), index: 0 },
      { kind: "shell", script: scripts[1]!.replace("cloud-init-per once b ", ""), index: 1 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("reads a '#' right after a subshell's ')' as a comment, as dash does, and one after a $(...) as the word's: a quote in it opens no string, or one", () => {
    const scripts = [
      "(cd /tmp && true)#it's done\ncloud-init-per once a touch /a\n",
      "echo $(echo a)#'x\ncloud-init-per once is the text'\necho $((1))#'y\ncloud-init-per once is the text'\n"
    ]
    const source = `#cloud-config\nruncmd:\n${scripts.map((script) => `  - ${JSON.stringify(script)}\n`).join("")}`
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "(cd /tmp && true)#it's done\ntouch /a\n", index: 0 },
      { kind: "shell", script: scripts[1], index: 1 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("ends a here-document of CRLF lines at its delimiter with the carriage return, as the shell does: the line after it is rewritten", () => {
    const script = "cat > /etc/motd <<EOF\r\ncloud-init-per once is text\r\nEOF\r\ncloud-init-per once b touch /b\r\n"
    const source = `#cloud-config\nruncmd:\n  - ${JSON.stringify(script)}\n`
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "cat > /etc/motd <<EOF\r\ncloud-init-per once is text\r\nEOF\r\ntouch /b\r\n", index: 0 }
    ])
    expect(notes(source).warnings).toEqual([])
  })

  it("names no INSTANCE_ID in a quoted here-document's body, the file's text (cloud-config(5)); an unquoted one's (expanded, empty here), a line after its delimiter, or a list's sh -c line, is a use of it", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - |",
      "    cat > /usr/local/bin/whoami-instance <<'EOF'",
      "    #!/bin/sh",
      "    INSTANCE_ID=$(wget -qO- http://169.254.169.254/latest/meta-data/instance-id)",
      "    echo \"$INSTANCE_ID\"",
      "    EOF",
      "  - |",
      "    cat > /etc/motd <<EOF",
      "    text",
      "    EOF",
      "    echo $INSTANCE_ID > /run/id",
      '  - [sh, -c, "cat > /etc/x <<EOF\\n$INSTANCE_ID\\nEOF"]',
      '  - [sh, -c, "echo $INSTANCE_ID"]',
      "  - |",
      "    cat > /etc/y <<\\EOF",
      "    $INSTANCE_ID",
      "    EOF",
      '  - [sh, -c, "cat > /etc/z <<\'EOF\'\\n$INSTANCE_ID\\nEOF"]',
      ""
    ].join("\n")
    const named = "uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty"
    expect(notes(source).warnings).toEqual([`line 9: bootcmd[1]: ${named}`, `line 14: bootcmd[2]: ${named}`, `line 15: bootcmd[3]: ${named}`])
  })

  it("names INSTANCE_ID in a line of a string an earlier line opened where the shell expands it: a double-quoted string's text, what follows a string's end; not a single-quoted string's text", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - |",
      '    echo "instance:',
      '    $INSTANCE_ID" > /etc/instance',
      "  - |",
      "    printf '%s\\n' 'first",
      "    second' $INSTANCE_ID > /etc/instance",
      "  - |",
      "    echo 'a note:",
      "    $INSTANCE_ID is set by cloud-init",
      "    ' > /etc/note",
      '  - [sh, -c, "echo \\"id:\\n$INSTANCE_ID\\" > /etc/instance"]',
      ""
    ].join("\n")
    const named = "uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty"
    expect(notes(source).warnings).toEqual([`line 3: bootcmd[0]: ${named}`, `line 6: bootcmd[1]: ${named}`, `line 13: bootcmd[3]: ${named}`])
  })

  it("names no INSTANCE_ID on the line a single-quoted or $'...' string ends on, inside the string (the file's text under both shells); what follows its end is read", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - |",
      "    echo 'the id is",
      "    $INSTANCE_ID' > /etc/template",
      "  - |",
      "    echo $'a\\'",
      "    $INSTANCE_ID' > /etc/t2",
      "  - |",
      "    echo 'a",
      "    $INSTANCE_ID' $INSTANCE_ID > /etc/t3",
      ""
    ].join("\n")
    expect(notes(source).warnings).toEqual(["line 9: bootcmd[2]: uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty"])
  })

  it("ends a here-document at its delimiter's whole word however its parts are quoted (<<\"E\"OF, <<E\\OF), as the shell does: its body is the file's text, unexpanded; the lines after it are the script's", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - |",
      '    cat > /etc/a <<"E"OF',
      "    $INSTANCE_ID",
      "    EOF",
      "    echo $INSTANCE_ID > /run/id",
      "  - |",
      "    cat > /etc/b <<E\\OF",
      "    $INSTANCE_ID",
      "    EOF",
      "  - |",
      "    cat > /etc/c <<'E'OF",
      "    $INSTANCE_ID",
      "    EOF",
      "runcmd:",
      "  - |",
      '    cat > /etc/motd <<E"OF"',
      "    cloud-init-per once is the text",
      "    EOF",
      "    cloud-init-per once a touch /a",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([{ kind: "shell", script: 'cat > /etc/motd <<E"OF"\ncloud-init-per once is the text\nEOF\ntouch /a\n', index: 0 }])
    expect(notes(source).warnings).toEqual(["line 3: bootcmd[0]: uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty"])
  })

  it("ends a here-document at a delimiter quoted with $'...' (<<$'EOF', <<E$'OF', <<-$'E\\x4fF') where busybox ash does, at EOF: its body is the file's text, unexpanded; the lines after it are the script's", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - |",
      "    cat > /etc/a <<$'EOF'",
      "    $INSTANCE_ID",
      "    EOF",
      "    echo $INSTANCE_ID > /run/id",
      "  - |",
      "    cat > /etc/b <<E$'OF'",
      "    $INSTANCE_ID",
      "    EOF",
      "runcmd:",
      "  - |",
      "    cat > /etc/motd <<$'EOF'",
      "    cloud-init-per once is the text",
      "    EOF",
      "    cloud-init-per once a touch /a",
      "  - \"cat > /etc/issue <<-$'E\\\\x4fF'\\n\\tcloud-init-per once is the text\\n\\tEOF\\ncloud-init-per once b touch /b\\n\"",
      ""
    ].join("\n")
    expect(config(source).runcmd).toEqual([
      { kind: "shell", script: "cat > /etc/motd <<$'EOF'\ncloud-init-per once is the text\nEOF\ntouch /a\n", index: 0 },
      { kind: "shell", script: "cat > /etc/issue <<-$'E\\x4fF'\n\tcloud-init-per once is the text\n\tEOF\ntouch /b\n", index: 1 }
    ])
    expect(notes(source).warnings).toEqual(["line 3: bootcmd[0]: uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty"])
  })

  it("reads a list's sh -c script as a string's: a here-document's body in it is no use of cloud-init-per, a line after it is", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      '  - [sh, -c, "cat > /etc/motd <<EOF\\ncloud-init-per once is what we used\\nEOF"]',
      '  - [sh, -c, "cat > /etc/motd <<EOF\\ntext\\nEOF\\ncloud-init-per once a touch /a"]',
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 4: bootcmd[1]: ${named}`])
  })

  it("names cloud-init-per only where the shell would run it: the word in an echo, a comment or a command -v probe is no use of it", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - echo cloud-init-per is not needed here",
      "  - |",
      "    # cloud-init-per would run this once",
      "    touch /a",
      "  - command -v cloud-init-per || echo absent",
      "  - [grep, -r, cloud-init-per, /etc]",
      "  - if true; then cloud-init-per once b touch /b; fi",
      "  - sudo cloud-init-per once c touch /c",
      "  - x=$(cloud-init-per once d date)",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 9: runcmd[4]: ${named}`, `line 10: runcmd[5]: ${named}`, `line 11: runcmd[6]: ${named}`])
  })

  it("names cloud-init-per where a shell keyword or the command builtin runs it: if, while, until, command", () => {
    const source = [
      "#cloud-config",
      "bootcmd:",
      "  - if cloud-init-per once mkfs mkfs.ext4 /dev/vdb; then echo formatted; fi",
      "  - while cloud-init-per always wait test ! -e /dev/vdb; do sleep 1; done",
      "  - until cloud-init-per always probe test -e /dev/vdb; do sleep 1; done",
      "  - command cloud-init-per once x true",
      "  - [sh, -c, 'if cloud-init-per once a true; then :; fi']",
      "  - echo if you need cloud-init-per, use the command itself",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([3, 4, 5, 6, 7].map((line, i) => `line ${line}: bootcmd[${i}]: ${named}`))
  })

  it("names a quoted cloud-init-per only as the script it opens (its frequency after it): a quoted argument that merely mentions it runs nothing", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      `  - grep -q "cloud-init-per" /etc/motd || echo no mention`,
      "  - echo 'cloud-init-per'",
      `  - [sh, -c, 'grep -rl "cloud-init-per" /etc/local.d']`,
      `  - x="cloud-init-per"; echo "$x"`,
      "  - sh -c 'cloud-init-per once a touch /a'",
      `  - su -c "cloud-init-per instance b touch /b" root`,
      `  - "'cloud-init-per' always c touch /c"`,
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 7: runcmd[4]: ${named}`, `line 8: runcmd[5]: ${named}`, `line 9: runcmd[6]: ${named}`])
  })

  it("names cloud-init-per run after assignments or a runner's options (env FOO=1, sudo -u bob, nice, timeout 60), and not a quoted mention that is no script", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - env FOO=1 cloud-init-per once a touch /a",
      "  - [env, FOO=1, cloud-init-per, once, b, touch, /b]",
      "  - sudo -u bob cloud-init-per once c touch /c",
      "  - [sudo, -u, bob, cloud-init-per, once, d, touch, /d]",
      "  - nice cloud-init-per once e touch /e",
      "  - [nice, cloud-init-per, once, f, touch, /f]",
      "  - FOO=1 cloud-init-per once g touch /g",
      "  - timeout 60 cloud-init-per once h touch /h",
      "  - [timeout, 60, cloud-init-per, once, i, touch, /i]",
      "  - bash -lc 'cloud-init-per once j touch /j'",
      `  - [su, -c, "cloud-init-per once k touch /k", bob]`,
      `  - echo "cloud-init-per once is what we used to run"`,
      "  - grep -q 'cloud-init-per once' /etc/motd || true",
      `  - [grep, -q, "cloud-init-per once", /etc/motd]`,
      "  - [echo, run, cloud-init-per, once, later]",
      "  - command -v cloud-init-per || echo absent",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([...Array(11).keys()].map((i) => `line ${i + 3}: runcmd[${i}]: ${named}`))
  })

  it("names cloud-init-per after a runner only past its options, their values, assignments and numbers, and a quote only as a shell's -c script: grep -c, tar -c and sudo echo run nothing", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - sudo --user=bob -E cloud-init-per once a touch /a",
      "  - [timeout, -s, KILL, 60, cloud-init-per, once, b, touch, /b]",
      "  - sudo -u bob nice -n 5 cloud-init-per once c touch /c",
      "  - su - bob -c 'cloud-init-per once d touch /d'",
      `  - [/bin/sh, -c, "cloud-init-per once e touch /e"]`,
      "  - grep -c 'cloud-init-per once' /etc/motd || true",
      `  - [grep, -c, "cloud-init-per once", /etc/motd]`,
      "  - tar -c 'cloud-init-per once' -f /tmp/x.tar",
      "  - sudo -u bob echo cloud-init-per once is gone",
      "  - [sudo, echo, cloud-init-per, once, is, gone]",
      "  - timeout 60 grep cloud-init-per once /etc/motd",
      "  - xargs -I{} echo cloud-init-per once {}",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([...Array(5).keys()].map((i) => `line ${i + 3}: runcmd[${i}]: ${named}`))
  })

  it("names cloud-init-per after a runner's short options run together with a value (sudo -iu bob, sudo -Hu bob), in a line as in a list", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - sudo -iu bob cloud-init-per once a touch /a",
      "  - [sudo, -Hu, bob, cloud-init-per, once, b, touch, /b]",
      "  - sudo -iu bob echo cloud-init-per once is gone",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 3: runcmd[0]: ${named}`, `line 4: runcmd[1]: ${named}`])
  })

  it("names cloud-init-per in a list where the line of its words would run it: after sudo or env, as in a line", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - [sudo, cloud-init-per, once, x, touch, /x]",
      "  - [env, cloud-init-per, once, y, touch, /y]",
      "  - [grep, -r, cloud-init-per, /etc]",
      "  - [echo, cloud-init-per, is, not, needed]",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 3: runcmd[0]: ${named}`, `line 4: runcmd[1]: ${named}`])
  })

  it("names cloud-init-per in a list only as its program: a list's words are arguments, never the shell's separators or keywords", () => {
    const source = [
      "#cloud-config",
      "runcmd:",
      "  - [echo, then, cloud-init-per, runs, once]",
      "  - [printf, '%s\\n', 'a;', cloud-init-per]",
      "  - [logger, -t, setup, '(', cloud-init-per, ')']",
      "  - [sudo, env, cloud-init-per, once, z, touch, /z]",
      ""
    ].join("\n")
    const named = "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found"
    expect(notes(source).warnings).toEqual([`line 6: runcmd[3]: ${named}`])
  })

  it("takes scalar runcmd entries as written: `false` is a command, not a boolean", () => {
    expect(config("#cloud-config\nruncmd: [cd /tmp, false, 5, ~, [sleep, 1]]\n").runcmd).toEqual([
      { kind: "shell", script: "cd /tmp", index: 0 },
      { kind: "shell", script: "false", index: 1 },
      { kind: "shell", script: "5", index: 2 },
      { kind: "argv", argv: ["sleep", "1"], index: 4 }
    ])
  })

  it("names a bootcmd or runcmd entry that is a number or a boolean, which cloud-init's shellify refuses, and with it the whole key", () => {
    const source = "#cloud-config\nbootcmd:\n  - yes\nruncmd: [cd /tmp, false, 5, ~, [sleep, 1], 1.5]\nother: {runcmd: [3]}\n"
    const said = (kind: string, key: string) => `${kind}, not a command (a string or a list): cloud-init refuses it and runs none of ${key}; here it runs as the command written`
    expect(notes(source).warnings).toEqual([
      `line 3: bootcmd[0]: ${said("a boolean", "bootcmd")}`,
      `line 4: runcmd[1]: ${said("a boolean", "runcmd")}`,
      `line 4: runcmd[2]: ${said("a number", "runcmd")}`,
      `line 4: runcmd[5]: ${said("a number", "runcmd")}`,
      "unsupported cloud-config keys: other"
    ])
    // the shell edition's #alpine-config reads them as commands, as its YAML reader gives text
    expect(notes("#alpine-config\nruncmd: [false, 5]\n").warnings).toEqual([])
  })

  it("names a bootcmd or runcmd entry that is a date, which PyYAML makes a date and cloud-init's shellify refuses, and with it the whole key", () => {
    const source = '#cloud-config\nbootcmd:\n  - 2024-01-01\nruncmd:\n  - echo 2024-01-01\n  - "2024-01-01"\n  - [date, -d, 2024-01-01]\n  - 2024-01-01 10:00:00\n  - 2024-1-1\n'
    const said = (key: string) => `a date, not a command (a string or a list): cloud-init refuses it and runs none of ${key}; here it runs as the command written`
    expect(notes(source).warnings).toEqual([`line 3: bootcmd[0]: ${said("bootcmd")}`, `line 8: runcmd[3]: ${said("runcmd")}`])
    // still run as written, as a number or a boolean is
    expect(config(source).bootcmd).toEqual([{ kind: "shell", script: "2024-01-01", index: 0 }])
    expect(notes("#alpine-config\nruncmd: [2024-01-01]\n").warnings).toEqual([])
  })

  it("enables ntp as cloud-init does: an empty ntp key too, unless enabled is false; ntp and ntpdate are busybox's ntpd", () => {
    expect(config("#cloud-config\nntp:\n").ntp).toEqual({ client: "chrony", servers: [], pools: [], peers: [], allow: [], install: "cloud-init" })
    expect(config("#cloud-config\nntp: {enabled: false}\n").ntp).toBeUndefined()
    // servers given beside it do not turn it on: cloud-init's module does nothing when enabled is false
    expect(config("#cloud-config\nntp: {enabled: false, servers: [time.example.com], ntp_client: chrony}\n").ntp).toBeUndefined()
    expect(config("#cloud-config\nntp: {ntp_client: ntp}\n").ntp?.client).toBe("busybox")
    expect(config("#cloud-config\nntp: {ntp_client: ntpdate}\n").ntp?.client).toBe("busybox")
    const other = "#cloud-config\nntp:\n  ntp_client: systemd-timesyncd\n  allow: [10.0.0.0/8]\n  config: {confpath: /x}\n"
    expect(config(other).ntp?.client).toBe("chrony")
    expect(notes(other).warnings).toEqual([
      'line 3: ntp.ntp_client: not an NTP client on Alpine; chrony is used',
      "unsupported cloud-config keys: ntp.config"
    ])
    expect(notes("#cloud-config\nntp: {ntp_client: busybox, allow: [10.0.0.0/8]}\n").warnings).toEqual(["unsupported cloud-config keys: ntp.allow"])
    // a template's value left empty: cloud-init selects its client as for auto ('if ntp_client and ntp_client != "auto"'), without a word
    expect(config('#cloud-config\nntp: {ntp_client: ""}\n').ntp?.client).toBe("chrony")
    expect(notes('#cloud-config\nntp: {ntp_client: ""}\n')).toEqual({ problems: [], warnings: [] })
  })

  it.each([
    ["true", true],
    ['"yes"', true],
    ["'on'", true],
    ["1", true],
    ['"no"', false],
    ["'False'", false],
    ["unchanged", undefined]
  ])("reads ssh_pwauth %s as cloud-init does", (value, expected) => {
    const source = `#cloud-config\nssh_pwauth: ${value}\n`
    expect(config(source).sshPwauth).toBe(expected)
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
  })

  it("leaves ssh_pwauth alone for a word it does not know, and says so", () => {
    expect(config("#cloud-config\nssh_pwauth: maybe\n").sshPwauth).toBeUndefined()
    expect(notes("#cloud-config\nssh_pwauth: maybe\n").warnings).toEqual(['line 2: ssh_pwauth: not true or false; PasswordAuthentication left unchanged'])
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
    // a CR (or a blank) in a part of the line is refused, not written into /etc/apk/repositories, where apk could not use it
    const crs = '#cloud-config\napk_repos:\n  alpine_repo:\n    base_url: "https://mirror.example/alpine\\r"\n    version: v3.20\n'
    expect(config(crs).apk).toEqual({ repositories: [], configured: false, replaceRepositories: false })
    expect(notes(crs).problems).toEqual([
      "line 4: apk_repos.alpine_repo.base_url: expected a repository URL such as https://dl-cdn.alpinelinux.org/alpine, after an @tag and a space if tagged (not starting with #, which apk reads as a comment; no other blanks or control characters), got a string of 30 characters; apk_repos skipped"
    ])
    expect(notes('#cloud-config\napk_repos:\n  alpine_repo:\n    version: "v3.20\\r"\n').problems).toEqual([
      "line 4: apk_repos.alpine_repo.version: expected a version string such as v3.20 or edge, got a string of 6 characters; apk_repos skipped"
    ])
    expect(notes('#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n  local_repo_base_url: "https://local.example/repo x"\n').problems).toHaveLength(1)
    // an empty local_repo_base_url is none, as before
    expect(config('#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n  local_repo_base_url: ""\n').apk.repositories).toHaveLength(1)
    const kept = "#cloud-config\napk_repos:\n  preserve_repositories: true\n  alpine_repo:\n    version: edge\n"
    expect(config(kept).apk).toEqual({ repositories: [], configured: true, replaceRepositories: false })
    expect(notes(kept).warnings).toEqual(["line 2: apk_repos: preserve_repositories is true; repositories left alone"])
  })

  it("reads an apk_repos or ntp flag left empty (a template's value) as the key's default, as cloud-init does, not as a problem that skips the key", () => {
    // cloud-init: get_cfg_option_bool('') and the repositories template's `if ''` are false, is_false('') is not false
    const repos = '#cloud-config\napk_repos:\n  preserve_repositories: ""\n  alpine_repo:\n    version: v3.20\n    community_enabled: ""\n    testing_enabled: ""\n'
    expect(notes(repos)).toEqual({ problems: [], warnings: [] })
    expect(config(repos).apk.repositories.flatMap((r) => repositoryLines(r, undefined))).toEqual(["https://dl-cdn.alpinelinux.org/alpine/v3.20/main"])
    const ntp = '#cloud-config\nntp:\n  enabled: ""\n  servers: [ntp.example]\n'
    expect(notes(ntp)).toEqual({ problems: [], warnings: [] })
    expect(config(ntp).ntp?.servers).toEqual(["ntp.example"])
  })

  it("names a quoted false word in community_enabled or testing_enabled, which cloud-init's template takes as true", () => {
    const source = '#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n    community_enabled: "false"\n    testing_enabled: "no"\n'
    expect(config(source).apk.repositories.flatMap((r) => repositoryLines(r, undefined))).toEqual(["https://dl-cdn.alpinelinux.org/alpine/v3.20/main"])
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 5: apk_repos.alpine_repo.community_enabled: a string, read as false; cloud-init's template takes any string that is not empty as true, and adds the repository",
        "line 6: apk_repos.alpine_repo.testing_enabled: a string, read as false; cloud-init's template takes any string that is not empty as true, and adds the repository"
      ]
    })
    // the words cloud-init's template and this reading agree on are not named
    expect(notes('#cloud-config\napk_repos:\n  alpine_repo:\n    version: v3.20\n    community_enabled: "yes"\n    testing_enabled: false\n')).toEqual({ problems: [], warnings: [] })
  })

  it("names every key it does not carry out in one warning", () => {
    const source =
      "#cloud-config\nchpasswd: {expire: true}\nhostname: h\nmounts: []\npackages: [vim, {apt: [x], snap: [y]}]\napk_repos: {alpine_repo: {version: edge, mirror: x}}\nwrite_files:\n  - {path: /a, source: {uri: 'http://x/a', retries: 3}, mode: 1}\n"
    expect(config(source).hostname).toBe("h")
    expect(config(source).packages).toEqual(["vim"])
    expect(notes(source).warnings).toEqual([
      "unsupported cloud-config keys: chpasswd, mounts, packages[1].apt, packages[1].snap, apk_repos.alpine_repo.mirror, write_files[0].mode, write_files[0].source.retries"
    ])
  })

  it("keeps the last of a duplicate key, as cloud-init's YAML does, with a warning", () => {
    const source = "#cloud-config\npackages: [a]\nhostname: one\npackages: [b]\nusers:\n  - name: x\n    shell: /bin/sh\n    shell: /bin/ash\n"
    const c = config(source)
    expect([c.packages, c.defaultUser?.account.shell]).toEqual([["b"], "/bin/ash"])
    expect(notes(source).warnings).toEqual([
      "line 4: packages: duplicate key; the last one is used, as cloud-init does",
      "line 8: users[0].shell: duplicate key; the last one is used, as cloud-init does"
    ])
    // merge keys are each merged, none written over by the next
    const merged = "#cloud-config\na: &a {shell: /bin/ash}\nb: &b {lock_passwd: false}\nusers:\n  - <<: *a\n    <<: *b\n    name: bob\n"
    expect(config(merged).defaultUser).toMatchObject({ name: "bob", account: { shell: "/bin/ash" } })
    expect(notes(merged).warnings).toEqual(["unsupported cloud-config keys: a, b"])
  })

  it("names a key it does not carry out once, however often it is written (cloud-init's disk-setup and add-apt-repos examples)", () => {
    // cloud-init's cloud-config-disk-setup.txt gives disk_setup and fs_setup once per cloud, and cloud-config-add-apt-repos.txt
    // apt three times: neither is carried out, so "the last one is used" would be untrue, and a line per copy more than one line
    const source = [
      "#cloud-config",
      "disk_setup: {ephemeral0: {table_type: mbr}}",
      "fs_setup: [{label: a}]",
      "disk_setup: {ephemeral0: {table_type: gpt}}",
      "fs_setup: [{label: b}]",
      "apt: {primary: [{arches: [default]}], primary: []}",
      "ntp: {servers: [a.example], servers: [b.example], config: {confpath: /a, confpath: /b}}",
      "packages: [a]",
      "packages: [b]",
      ""
    ].join("\n")
    expect(notes(source)).toEqual({
      problems: [],
      warnings: [
        "line 7: ntp.servers: duplicate key; the last one is used, as cloud-init does",
        "line 9: packages: duplicate key; the last one is used, as cloud-init does",
        "unsupported cloud-config keys: disk_setup, fs_setup, apt, ntp.config"
      ]
    })
    expect(config(source).ntp?.servers).toEqual(["b.example"])
  })

  it("merges every merge key (`<<`) of a map, as PyYAML does: two are no duplicate key, and a key inside one is named with `<<`", () => {
    const source = "#cloud-config\nx: &x {path: /a}\ny: &y {content: b}\nwrite_files: [{<<: *x, <<: *y}]\npackages: [{<<: {name: p, name: q}}]\n"
    expect(config(source).writeFiles.map((f) => [f.path, text(f.content as Uint8Array)])).toEqual([["/a", "b"]])
    expect(notes(source).warnings).toEqual([
      "line 5: packages[0].<<.name: duplicate key; the last one is used, as cloud-init does",
      "unsupported cloud-config keys: x, y, packages[0].name"
    ])
  })

  it("takes a host name written as a number as its digits, as cloud-init's str() does; a list is no name", () => {
    const source = "#cloud-config\nhostname: 1042\nfqdn: 1042.example.com\n"
    expect([config(source).hostname, config(source).fqdn]).toEqual(["1042", "1042.example.com"])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(config("#cloud-config\nhostname: 0x10\n").hostname).toBe("16")
    expect(notes("#cloud-config\nhostname: [1042]\n").problems).toEqual(["line 2: hostname: expected a host name such as web-1 or web-1.example.com, got a list; skipped"])
  })

  it("makes `_` in a host name `-`, with a warning, and skips a name that cannot be one", () => {
    const source = "#cloud-config\nhostname: my_host\nfqdn: 'a b.example'\n"
    expect([config(source).hostname, config(source).fqdn]).toEqual(["my-host", undefined])
    expect(notes(source)).toEqual({
      problems: ['line 3: fqdn: expected a host name such as web-1 or web-1.example.com, got a string of 11 characters; skipped'],
      warnings: ["line 2: hostname: not a valid host name; it is used with each '_' made '-'"]
    })
  })

  // cloud-init passes over a false `user` (`if cfg.get("user")`): a template's unset `user: "${user}"` is not a user name to refuse
  it("says an empty user is passed over: the default user is the image's, system_info's or users' first named entry, as cloud-init reads it", () => {
    expect(notes("#cloud-config\nuser: ''\n")).toEqual({ problems: [], warnings: ["line 2: user: empty; passed over, as cloud-init passes over it"] })
    expect(config("#cloud-config\nuser: ''\n").defaultUser).toBeUndefined()
    // nor does it keep the default user where users' first named entry takes its place: said so, that line would be false
    expect(notes("#cloud-config\nuser: ''\nusers: [{name: bob}]\n").warnings).toEqual(["line 2: user: empty; passed over, as cloud-init passes over it"])
    expect(config("#cloud-config\nuser: ''\nusers: [{name: bob}]\n").defaultUser?.name).toBe("bob")
    expect(config("#cloud-config\nuser: ''\nsystem_info: {default_user: {name: ops}}\n").defaultUser?.name).toBe("ops")
    // a blank is a name, and no user's: refused, as before
    expect(notes("#cloud-config\nuser: ' '\n").problems).toHaveLength(1)
  })

  it("says an empty hostname or fqdn keeps the cloud's name only when the other gives none", () => {
    expect(notes("#cloud-config\nhostname: ''\n")).toEqual({ problems: [], warnings: ["line 2: hostname: empty; the cloud's host name is kept"] })
    expect(notes("#cloud-config\nhostname: ''\nfqdn: web.example.com\n")).toEqual({ problems: [], warnings: ["line 2: hostname: empty; the host is named by fqdn"] })
    expect(notes("#cloud-config\nhostname: web\nfqdn: '  '\n")).toEqual({ problems: [], warnings: ["line 3: fqdn: empty; the host is named by hostname"] })
    // the other skipped (no host name): the cloud's is kept
    expect(notes("#cloud-config\nhostname: ''\nfqdn: 'a b'\n").warnings).toEqual(["line 2: hostname: empty; the cloud's host name is kept"])
  })

  it("keeps a name whose own label is one though its domain is not, for set_hostname to name the host by that label; a bad own label is still skipped", () => {
    const name = `web-1.${"a".repeat(64)}.lan`
    const source = `#cloud-config\nhostname: ${name}\nfqdn: web-1..lan\n`
    expect([config(source).hostname, config(source).fqdn]).toEqual([name, "web-1..lan"])
    expect(notes(source)).toEqual({ problems: [], warnings: [] })
    expect(notes("#cloud-config\nhostname: -bad-.example.com\n").problems).toEqual([
      "line 2: hostname: expected a host name such as web-1 or web-1.example.com, got a string of 17 characters; skipped"
    ])
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
    expect(result.config.runcmd).toEqual([{ kind: "shell", script: "echo first", index: 0 }])
    expect(notes(message).warnings).toEqual(["part 5 (line 33): text/x-include-url parts are not supported; part ignored"])
  })

  it("places a part's problems on the user-data's lines, and applies the rest", () => {
    const bad = message.replace("packages: [a, b]", "packages: 5")
    expect(notes(bad).problems).toEqual([])
    const badLast = message.replace("hostname: one", "hostname: one\r\ntimezone: [x]")
    expect(notes(badLast).problems).toEqual(["line 16: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped"])
    expect(config(badLast).hostname).toBe("one")
  })

  it("places the merged model's problems in the part that gave the key", () => {
    const withUser = message.replace("runcmd: [echo first]", "runcmd: [echo first]\r\nusers:\r\n  - name: x\r\n    uid: many")
    expect(analyseUserData(bytesOf(withUser), OPTIONS).problems).toEqual([
      { path: "users[0].uid", line: 20, message: 'expected a user id such as 1001, got a string of 4 characters; skipped' }
    ])
  })

  it("skips a part that is not YAML and uses the others", () => {
    const broken = message.replace("packages: [a, b]", "packages: [a, b")
    const result = analyseUserData(bytesOf(broken), OPTIONS)
    expect(result.parsed?.kind).toBe("multipart")
    expect(result.problems.map(formatProblem)[0]).toMatch(/^line 1[67]: YAML: .*; part skipped$/)
  })

  it("sniffs text/plain parts after blank lines, and accepts a MIME message that is not multipart", () => {
    const single = parsed("MIME-Version: 1.0\nContent-Type: text/plain\n\n#!/bin/sh\necho single\n")
    expect(single.kind === "multipart" && single.scripts.map((s) => text(s.content))).toEqual(["#!/bin/sh\necho single\n"])
    const blank = parsed("Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\ncontent-type: TEXT/PLAIN\n\n\n\n#cloud-config\nhostname: x\n--b\nContent-Type: text/plain\n\n\n#!/bin/sh\necho hi\n--b--\n")
    expect(blank.kind === "multipart" && [blank.config.hostname, blank.scripts.map((s) => text(s.content))]).toEqual(["x", ["#!/bin/sh\necho hi"]])
  })

  it("reads a message after a mbox From line, and gzip parts", () => {
    const gz = gzipSync("#cloud-config\nhostname: zipped\n").toString("base64")
    const result = parsed(`From nobody Mon Jan  1 00:00:00 2024\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/x-gzip\nContent-Transfer-Encoding: base64\n\n${gz}\n--b--\n`)
    expect(result.kind === "multipart" && result.config.hostname).toBe("zipped")
  })

  it("refuses multipart without a boundary", () => {
    expect(failure("Content-Type: multipart/mixed\n\n--x\n")).toBe("multipart user-data is invalid: line 1: multipart user-data has no boundary in its Content-Type")
  })
})

describe("apkVersion", () => {
  it.each([
    ["3.20.3", "v3.20"],
    ["3.21", "v3.21"],
    ["3", undefined],
    ["3.21.0_alpha20240101", "edge"],
    ["edge", "edge"],
    [undefined, undefined],
    ["weird", undefined]
  ])("%s → %s", (id, version) => {
    expect(apkVersion(id)).toBe(version)
  })
})
