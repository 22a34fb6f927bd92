/** The pure pieces the providers read values with: base64 as clouds serve it, networks of addresses, GCP's key lines, Scaleway's tags, Incus's meta-data. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Option from "effect/Option"
import { decodeBase64 } from "../../src/clouds/common.js"
import { oneKey } from "../../src/clouds/azure.js"
import { blocksProjectKeys, hasExpired, instanceKeys, osLoginOn, otherLogins, splitLogin, startupScripts } from "../../src/clouds/gcp.js"
import { hetznerKeys } from "../../src/clouds/hetzner.js"
import { parseMetaData } from "../../src/clouds/incus.js"
import { ipv4Network, ipv6Network } from "../../src/clouds/ip.js"
import { parseConf, scalewayKeys } from "../../src/clouds/scaleway.js"
import { bytesOf } from "../../src/domain/text.js"

const decoded = (text: string) => {
  const r = decodeBase64(bytesOf(text))
  return "invalid" in r ? r : { text: Option.match(r.decoded, { onNone: () => null, onSome: (b) => Buffer.from(b).toString("utf8") }) }
}

describe("base64 as the clouds serve it", () => {
  it("decodes, with or without padding, and takes the whitespace `base64` writes", () => {
    expect(decoded("aGVsbG8K")).toEqual({ text: "hello\n" })
    expect(decoded("aGVsbG8")).toEqual({ text: "hello" })
    expect(decoded(" aGVs\nbG8K\r\n\t")).toEqual({ text: "hello\n" })
    expect(decoded("")).toEqual({ text: null })
    // more '=' than the quad needs, as Python's b64decode (cloud-init) takes them
    expect(decoded("aGVsbG8===")).toEqual({ text: "hello" })
    expect(decoded("===")).toEqual({ text: null })
  })

  it("names what is wrong, never the data", () => {
    expect(decoded("aGVs!bG8K")).toEqual({ invalid: "invalid base64: character 5 is outside the base64 alphabet" })
    expect(decoded("aGVs-bG8K")).toEqual({ invalid: "invalid base64: character 5 is outside the base64 alphabet" })
    // whitespace is ASCII's
    expect(decoded("aGVs\u00a0bG8K")).toEqual({ invalid: "invalid base64: character 5 is outside the base64 alphabet" })
    expect(decoded("aG=VsbG8K")).toEqual({ invalid: "invalid base64: '=' before the end" })
    expect(decoded("aGVsb")).toEqual({ invalid: "invalid base64: truncated" })
  })

  it("gives back any bytes, however the encoding was wrapped", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300, size: "max" }), fc.integer({ min: 1, max: 80 }), (bytes, width) => {
        const text = Buffer.from(bytes).toString("base64").replace(new RegExp(`(.{${width}})`, "g"), "$1\n")
        const r = decodeBase64(bytesOf(text))
        expect("decoded" in r && Option.isSome(r.decoded) && Buffer.from(r.decoded.value).equals(Buffer.from(bytes))).toBe(true)
      })
    )
  })
})

describe("networks of addresses", () => {
  it.each([
    ["10.128.0.2", "255.255.240.0", "10.128.0.0/20"],
    ["203.0.113.20", "255.255.240.0", "203.0.112.0/20"],
    ["192.168.20.14", "24", "192.168.20.0/24"],
    ["10.0.0.5", "0.0.0.0", "0.0.0.0/0"],
    ["10.0.0.5", "255.255.255.255", "10.0.0.5/32"]
  ])("IPv4 %s with %s is %s", (ip, mask, net) => expect(ipv4Network(ip, mask)).toBe(net))

  it.each([
    ["2A03:B0C0:0003:00D0:0000:0000:1A2B:3001", 64, "2a03:b0c0:3:d0::/64"],
    ["fd4c:7a21:9e3b:0:f816:3eff:fe4c:2a91", "ffff:ffff:ffff:ffff::", "fd4c:7a21:9e3b::/64"],
    ["2001:db8::5/56", undefined, "2001:db8::/56"],
    ["2001:db8:0:1:1:0:0:1", "128", "2001:db8:0:1:1::1/128"],
    ["::1", 0, "::/0"]
  ])("IPv6 %s with %s is %s", (ip, prefix, net) => expect(ipv6Network(ip, prefix)).toBe(net))

  it("gives nothing for what is not an address and a mask", () => {
    expect(ipv4Network("10.0.0.300", "24")).toBeUndefined()
    expect(ipv4Network("10.0.0.1", "255.0.255.0")).toBeUndefined()
    expect(ipv4Network(undefined, "24")).toBeUndefined()
    expect(ipv6Network("2001:db8::1::2", 64)).toBeUndefined()
    expect(ipv6Network("2001:db8::1", "ffff:0:ffff::")).toBeUndefined()
    expect(ipv6Network("2001:db8::1", undefined)).toBeUndefined()
  })
})

describe("gcp's ssh-keys lines", () => {
  const NOW = Date.parse("2025-01-01T00:00:00Z")
  const K = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey"

  it("splits a login from its key; a key with options is not a login", () => {
    expect(splitLogin(`alpine:${K} me`)).toEqual({ login: "alpine", key: `${K} me` })
    expect(splitLogin(`${K} me`)).toEqual({ key: `${K} me` })
    expect(splitLogin(`command="echo a:b" ${K}`)).toEqual({ key: `command="echo a:b" ${K}` })
  })

  it("a line with blanks after its login's colon is still that login's, its key without them", () => {
    expect(splitLogin(`bob: ${K} b`)).toEqual({ login: "bob", key: `${K} b` })
    expect(instanceKeys([`bob: ${K} b`, `alpine:\t${K} a`].join("\n"), "alpine", NOW)).toEqual([`${K} a`])
  })

  it("a login with no key (bob:) is that login's line: another user's is not the cloud user's, the cloud user's is kept whole as a line that is no key", () => {
    expect(splitLogin("bob:")).toEqual({ login: "bob", key: "" })
    expect(instanceKeys(["bob:", "carol:  ", `alpine:${K} a`].join("\n"), "alpine", NOW)).toEqual([`${K} a`])
    expect(instanceKeys("alpine:", "alpine", NOW)).toEqual(["alpine:"])
  })

  it("keeps the cloud user's, cloudinit's and login-less keys, not others' nor expired ones", () => {
    const text = [`alpine:${K} a`, `cloudinit:${K} c`, `${K} none`, `bob:${K} b`, `alpine:${K} google-ssh {"userName":"x","expireOn":"2024-12-31T23:59:59+0000"}`].join("\n")
    expect(instanceKeys(text, "alpine", NOW)).toEqual([`${K} a`, `${K} c`, `${K} none`])
    expect(instanceKeys(text, "bob", NOW)).toEqual([`${K} c`, `${K} none`, `${K} b`])
  })

  it("other logins: those of lines with a key that has not expired, but the cloud user's and cloudinit's", () => {
    const text = [`alpine:${K} a`, `cloudinit:${K} c`, `${K} none`, `bob:${K} b`, "carol:", `dave:${K} google-ssh {"userName":"x","expireOn":"2024-12-31T23:59:59+0000"}`, `erin: ${K} e`].join("\n")
    expect(otherLogins(text, "alpine", NOW)).toEqual(["bob", "erin"])
    expect(otherLogins(text, "bob", NOW)).toEqual(["alpine", "erin"])
  })

  it("block-project-ssh-keys: true as GCE's guest environment (Go's ParseBool) and cloud-init read it", () => {
    for (const flag of ["TRUE", "True", "true", "1", "t", "T", " true\n"]) expect(blocksProjectKeys(flag), flag).toBe(true)
    for (const flag of ["FALSE", "false", "0", "f", "", "yes", "on", "2"]) expect(blocksProjectKeys(flag), flag).toBe(false)
  })

  it("enable-oslogin: the instance's where it is a flag Go's ParseBool reads, else the project's, as the guest environment decides", () => {
    const on = (instance?: string, project?: string) => osLoginOn(Option.fromNullable(instance), Option.fromNullable(project))
    expect(on("TRUE", undefined)).toBe("the instance")
    expect(on(undefined, "TRUE")).toBe("the project")
    expect(on(" true\n", "FALSE")).toBe("the instance")
    // the instance turns off what the project turns on
    expect(on("FALSE", "TRUE")).toBeUndefined()
    expect(on("0", "TRUE")).toBeUndefined()
    // a value that is no flag is not set: the project's decides
    expect(on("yes", "TRUE")).toBe("the project")
    expect(on("", "1")).toBe("the project")
    expect(on(undefined, undefined)).toBeUndefined()
    expect(on(undefined, "FALSE")).toBeUndefined()
  })

  it("startup scripts: the instance's listing names them, else the project's, as the guest environment runs the instance's in place of the project's", () => {
    const found = (instance?: string, project?: string) => startupScripts(Option.fromNullable(instance), Option.fromNullable(project))
    expect(found("ssh-keys\nstartup-script\n", "startup-script-url\n")).toEqual({ names: ["startup-script"], of: "the instance" })
    expect(found("ssh-keys\n", "startup-script\nstartup-script-url\n")).toEqual({ names: ["startup-script", "startup-script-url"], of: "the project" })
    // a name only like it is another attribute
    expect(found("windows-startup-script-ps1\nshutdown-script\n", undefined)).toBeUndefined()
    expect(found(undefined, undefined)).toBeUndefined()
  })

  it("takes a google-ssh key whose expiry cannot be read as not expired, as cloud-init does", () => {
    expect(hasExpired(`${K} google-ssh {"userName":"x","expireOn":"2026-01-01T00:00:00+0000"}`, NOW)).toBe(false)
    expect(hasExpired(`${K} google-ssh {"userName":"x","expireOn":"2024-01-01T00:00:00Z"}`, NOW)).toBe(true)
    expect(hasExpired(`${K} google-ssh {"userName":"x"}`, NOW)).toBe(false)
    expect(hasExpired(`${K} google-ssh not-json`, NOW)).toBe(false)
    expect(hasExpired(`${K} google-ssh {"expireOn":"soon"}`, NOW)).toBe(false)
    expect(hasExpired(`${K} someone {"expireOn":"2000-01-01T00:00:00Z"}`, NOW)).toBe(false)
  })
})

describe("scaleway's keys", () => {
  it("are the account's and the AUTHORIZED_KEY tags', `_` read as spaces", () => {
    const conf = parseConf(
      "SSH_PUBLIC_KEYS=1\nSSH_PUBLIC_KEYS_0_KEY='ssh-ed25519 AAAAOne one'\nTAGS=3\nTAGS_0=web\nTAGS_1=AUTHORIZED_KEY=ssh-rsa_AAAATwo_two@host\nTAGS_2='AUTHORIZED_KEY=ssh-ed25519_AAAAOne_one'\n"
    )
    expect(scalewayKeys(conf)).toEqual(["ssh-ed25519 AAAAOne one", "ssh-rsa AAAATwo two@host"])
  })

  it("/conf's unquoted lists are read as written (the names of the keys that follow), the quoted values as a shell reads them", () => {
    const conf = parseConf("PUBLIC_IP=DYNAMIC ID ADDRESS\r\nPUBLIC_IP_ADDRESS=212.47.236.31\nSSH_PUBLIC_KEYS_0=KEY FINGERPRINT\nSSH_PUBLIC_KEYS_0_KEY='ssh-rsa AAAA a b'\n")
    expect(Object.fromEntries(conf)).toEqual({
      PUBLIC_IP: "DYNAMIC ID ADDRESS",
      PUBLIC_IP_ADDRESS: "212.47.236.31",
      SSH_PUBLIC_KEYS_0: "KEY FINGERPRINT",
      SSH_PUBLIC_KEYS_0_KEY: "ssh-rsa AAAA a b"
    })
  })

  it("a quote a /conf line leaves open, which no later quote closes (an apostrophe written unquoted), is that line's: the keys on the lines after it are still read", () => {
    const conf = parseConf("NAME=bob's-box\nSSH_PUBLIC_KEYS_0_KEY=\"ssh-ed25519 AAAAOne one\"\nTAGS_1=AUTHORIZED_KEY=ssh-rsa_AAAATwo_two@host\n")
    expect(scalewayKeys(conf)).toEqual(["ssh-ed25519 AAAAOne one", "ssh-rsa AAAATwo two@host"])
    expect(conf.get("NAME")).toBe("bob's-box")
  })

  it("an apostrophe written unquoted is its line's even where a later line has one (the keys' own quotes, as Scaleway writes them): the lines between are still read", () => {
    const conf = parseConf("NAME=bob's-box\nSSH_PUBLIC_KEYS=1\nSSH_PUBLIC_KEYS_0=KEY FINGERPRINT\nSSH_PUBLIC_KEYS_0_KEY='ssh-ed25519 AAAAOne one'\nTAGS=1\nTAGS_0=don't\n")
    expect(scalewayKeys(conf)).toEqual(["ssh-ed25519 AAAAOne one"])
    expect(conf.get("NAME")).toBe("bob's-box")
    expect(conf.get("SSH_PUBLIC_KEYS_0")).toBe("KEY FINGERPRINT")
    // two apostrophes that read cleanly together (bob's ... don't) are no value across lines: the later one does not close it at its line's end
    const two = parseConf("NAME=bob's-box\nSSH_PUBLIC_KEYS_0_KEY=ssh-ed25519_AAAAOne\nTAGS_0=don't\n")
    expect(Object.fromEntries(two)).toEqual({ NAME: "bob's-box", SSH_PUBLIC_KEYS_0_KEY: "ssh-ed25519_AAAAOne", TAGS_0: "don't" })
    expect(conf.get("TAGS_0")).toBe("don't")
  })

  it("a value quoted across lines (a key holding a newline) is read as a shell reads it, one value", () => {
    const conf = parseConf("NAME=box\nSSH_PUBLIC_KEYS_0_KEY='ssh-ed25519 AAAAOne one\ncommand=\"/bin/sh -c evil\" ssh-rsa AAAAEvil e@x'\nTAGS=0\n")
    expect(conf.get("SSH_PUBLIC_KEYS_0_KEY")).toBe('ssh-ed25519 AAAAOne one\ncommand="/bin/sh -c evil" ssh-rsa AAAAEvil e@x')
    expect(conf.get("TAGS")).toBe("0")
  })

  it("a value double-quoted across lines is one value too, as a shell reads it", () => {
    const conf = parseConf('NAME=box\nSSH_PUBLIC_KEYS_0_KEY="ssh-ed25519 AAAAOne one\nssh-rsa AAAATwo two"\nTAGS=0\n')
    expect(conf.get("SSH_PUBLIC_KEYS_0_KEY")).toBe("ssh-ed25519 AAAAOne one\nssh-rsa AAAATwo two")
    expect(conf.get("TAGS")).toBe("0")
  })

  it("only a tag that starts with AUTHORIZED_KEY= is a key, as cloud-init's DataSourceScaleway reads tags: one that merely holds it is none", () => {
    const conf = parseConf("TAGS=2\nTAGS_0=NOT_AUTHORIZED_KEY=ssh-rsa_AAAATwo_two@host\nTAGS_1=web,AUTHORIZED_KEY=ssh-ed25519_AAAAOne_one\n")
    expect(scalewayKeys(conf)).toEqual([])
  })
})

describe("hetzner's public-keys", () => {
  it("an item that is no string (a number, an object, null) is left out, and only it: the list's keys are still the instance's", () => {
    expect(hetznerKeys(["ssh-ed25519 AAAA a", 5, { k: "ssh-rsa X" }, null, "ssh-rsa BBB b\r\nssh-rsa CCC c"])).toEqual({
      keys: ["ssh-ed25519 AAAA a", "ssh-rsa BBB b", "ssh-rsa CCC c"],
      leftOut: [1, 2, 3]
    })
  })

  it("null or an empty object is no keys, as cloud-init reads an empty public-keys", () => {
    expect(hetznerKeys(null)).toEqual({ keys: [], leftOut: [] })
    expect(hetznerKeys({})).toEqual({ keys: [], leftOut: [] })
  })

  it("what is no list at all is none", () => {
    expect(hetznerKeys({ a: "ssh-rsa X" })).toBeUndefined()
    expect(hetznerKeys("ssh-rsa X")).toBeUndefined()
  })
})

describe("incus's meta-data lines", () => {
  it("a comment after a value is left out, as YAML reads it; a '#' inside a value or a quoted one is kept", () => {
    const md = parseMetaData("#cloud-config\ninstance-id: abc # id\nlocal-hostname: 'web-1'  # ours\nname: \"a #b\"\t# c\nplain: a#b\nquoted: 'it''s # here'\n")
    expect(Object.fromEntries(md)).toEqual({ "instance-id": "abc", "local-hostname": "web-1", name: "a #b", plain: "a#b", quoted: "it's # here" })
  })

  it("a value that is only a comment is none, as YAML reads it: the later key gives no name, never '#...'", () => {
    const md = parseMetaData("#cloud-config\nlocal-hostname: c1\nlocal-hostname:   # set by the operator later\ninstance-id: #\n")
    expect(Object.fromEntries(md)).toEqual({ "local-hostname": "", "instance-id": "" })
  })

  it("YAML's null (a user.meta-data's 'local-hostname: ~' appended after Incus's own line) is no value, as cloud-init reads it: never the name '~'; a quoted one is a string", () => {
    const md = parseMetaData("#cloud-config\ninstance-id: abc\nlocal-hostname: c1\nlocal-hostname: ~\nname: null  # none\nNull: Null\nquoted: '~'\nword: nullable\n")
    expect(Object.fromEntries(md)).toEqual({ "instance-id": "abc", "local-hostname": "", name: "", Null: "", quoted: "~", word: "nullable" })
  })
})

describe("azure keyData", () => {
  const wrapped = (key: string) => key.match(/.{1,64}/g)!.join("\r\n") + "\r\n"
  const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAswVXqfxOkOM1h9osfsETZbgKXK7xQ5XoOozfIXPGGG"

  it("a key Azure wrapped at 64 characters, its comment too, is one key", () => {
    expect(oneKey(wrapped(`${ED} generated-by-azure`))).toEqual([`${ED} generated-by-azure`])
  })

  it("lines after a whole key stay lines, each checked as a key of its own: an option line, or another key's text, is never run into it", () => {
    expect(oneKey(`${ED} a@b\ncommand="evil" ssh-rsa AAAAB3 e@x`)).toEqual([`${ED} a@b`, 'command="evil" ssh-rsa AAAAB3 e@x'])
    expect(oneKey(`${ED}\nrestrict ssh-rsa AAAAB3 e@x`)).toEqual([ED, "restrict ssh-rsa AAAAB3 e@x"])
    expect(oneKey(`${ED}\r\n`)).toEqual([ED])
  })

  it("a wrapping whose blob holds only its type's name is no whole key: its lines stay lines", () => {
    // AAAAB3NzaC1yc2E= is the one field `ssh-rsa`, with no key material after it
    expect(oneKey("ssh-rsa AAAAB3Nza\r\nC1yc2E=\r\n")).toEqual(["ssh-rsa AAAAB3Nza", "C1yc2E="])
  })
})
