import fc from "fast-check"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { ipv4 } from "../../src/domain/ip.js"
import { setHostname } from "../../src/programs/actions/hostname.js"
import { makeRootFs } from "../../src/layers/RootFsLive.js"
import { capturingLog, recordingCommands, staticMetadata } from "../support/layers.js"
import { RootFs } from "../../src/services/RootFs.js"

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/)
// a name that is an IPv4 address is not taken as it is (see below)
const fqdn = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join("."))
  .filter((name) => ipv4(name) === undefined)

/** set_hostname over a temporary ROOT, a cloud answering from memory and a recording command runner */
const run = (root: string, hostname: string | undefined) =>
  Effect.gen(function* () {
    const commands = yield* recordingCommands()
    const log = yield* capturingLog
    const fs = yield* makeRootFs(root)
    const exit = yield* Effect.exit(
      setHostname.pipe(
        Effect.provide(
          Layer.mergeAll(
            commands.layer,
            Layer.succeed(RootFs, fs),
            log.layer,
            staticMetadata(hostname === undefined ? {} : { hostname })
          )
        )
      )
    )
    return { exit, calls: yield* Ref.get(commands.calls), lines: (yield* Ref.get(log.lines)).map((l) => l.line) }
  }).pipe(Effect.runPromise)

/** a temporary ROOT with the image's /etc/hosts, removed afterwards */
const withHosts = async (body: (root: string) => Promise<void>) => {
  const root = mkdtempSync(join(tmpdir(), "tiny-cloud-hostname-"))
  try {
    mkdirSync(join(root, "etc"))
    writeFileSync(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n")
    await body(root)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

describe("set_hostname", () => {
  it("writes the short name, applies it, and adds the FQDN to /etc/hosts once, for any valid name", async () => {
    await fc.assert(
      fc.asyncProperty(fqdn, async (name) => {
        const root = mkdtempSync(join(tmpdir(), "tiny-cloud-hostname-"))
        try {
          mkdirSync(join(root, "etc"))
          writeFileSync(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n")
          const short = name.split(".")[0]!
          for (let i = 0; i < 2; i++) {
            const { exit, calls } = await run(root, name)
            expect(exit._tag).toBe("Success")
            expect(calls).toEqual([{ command: "hostname", args: ["-F", `${root}/etc/hostname`], stdin: undefined }])
          }
          expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe(`${short}\n`)
          expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe(`127.0.0.1\tlocalhost\n127.0.1.1\t${name} ${short}\n`)
        } finally {
          rmSync(root, { recursive: true, force: true })
        }
      }),
      { numRuns: 30 }
    )
  })

  it("refuses a name whose own label is not one, in one line with what is not printable escaped; nothing is written", async () => {
    const root = mkdtempSync(join(tmpdir(), "tiny-cloud-hostname-"))
    try {
      mkdirSync(join(root, "etc"))
      writeFileSync(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n")
      for (const [name, shown] of [
        ["$(reboot);`id`.example.com", "$(reboot);`id`.example.com"],
        ["host\nforged log line", "host\\x0aforged log line"],
        ["\u001b[31mred.example.com", "\\x1b[31mred.example.com"],
        [".example.com", ".example.com"],
        ["-web-.example.com", "-web-.example.com"]
      ]) {
        const { exit, calls } = await run(root, name)
        expect(exit._tag === "Failure" && String(exit.cause)).toContain(`invalid hostname '${shown}'`)
        expect(calls).toEqual([])
      }
      expect(existsSync(join(root, "etc/hostname"))).toBe(false)
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n")
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it.each([
    ["a label of its domain is not one", "web-1.$(reboot);`id`", "web-1.$(reboot);`id`"],
    ["its domain has a control character", "web-1.\u001b[31mred", "web-1.\\x1b[31mred"],
    ["its domain has an empty label", "web-1..example.com", "web-1..example.com"],
    ["a label of its domain is over 63", `web-1.${"a".repeat(64)}.com`, `web-1.${"a".repeat(64)}.com`],
    ["a label past the first of its domain is not one", "web-1.example.-bad-", "web-1.example.-bad-"],
    ["its domain is unicode", "web-1.b\u00fccher.example", "web-1.b\\xfccher.example"]
  ])("names the host by its own label when %s, and fails in one line naming the name", (_, name, shown) =>
    withHosts(async (root) => {
      const { exit, calls } = await run(root, name)
      expect(exit._tag === "Failure" && String(exit.cause)).toContain(`invalid hostname '${shown}': the host is named web-1, without a domain`)
      expect(calls).toEqual([{ command: "hostname", args: ["-F", `${root}/etc/hostname`], stdin: undefined }])
      expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe("web-1\n")
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb-1 web-1\n")
    })
  )

  it.each([
    ["a name with a blank in it (NoCloud's local-hostname: my server)", "my server"],
    ["a name with a blank before its domain", "web-1 example.com"]
  ])("refuses %s in one line naming it, never naming the host by its first word", (_, served) =>
    withHosts(async (root) => {
      const { exit, calls } = await run(root, served)
      expect(exit._tag === "Failure" && String(exit.cause)).toContain(`invalid hostname '${served}'`)
      expect(calls).toEqual([])
      expect(existsSync(join(root, "etc/hostname"))).toBe(false)
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n")
    })
  )

  it("applies the file as written inside ROOT when /etc/hostname is a link, never the one it names on the host", async () => {
    const root = mkdtempSync(join(tmpdir(), "tiny-cloud-hostname-"))
    const outside = mkdtempSync(join(tmpdir(), "tiny-cloud-outside-"))
    try {
      mkdirSync(join(root, "etc"))
      writeFileSync(join(outside, "hostname"), "the-host-machine\n")
      symlinkSync(`../${"../".repeat(10)}${outside.slice(1)}/hostname`, join(root, "etc/hostname"))
      const { exit, calls } = await run(root, "web-1.example.com")
      expect(exit._tag).toBe("Success")
      expect(calls).toEqual([{ command: "hostname", args: ["-F", join(root, outside, "hostname")], stdin: undefined }])
      expect(readFileSync(join(root, outside, "hostname"), "utf8")).toBe("web-1\n")
      expect(readFileSync(join(outside, "hostname"), "utf8")).toBe("the-host-machine\n")
    } finally {
      rmSync(root, { recursive: true, force: true })
      rmSync(outside, { recursive: true, force: true })
    }
  })

  it.each([
    ["a name in DNS's absolute form (a trailing dot) as the same name", "web-1.example.com.", "web-1", "web-1.example.com web-1"],
    ["the first of several names (AWS, when a VPC's DHCP options list two domains)", "ip-10-0-6-110.testapi. eu-central-1.compute.internal.", "ip-10-0-6-110", "ip-10-0-6-110.testapi ip-10-0-6-110"],
    ["an IPv4 address for the host's name as ip-A-B-C-D, as cloud-init names it", "10.0.12.5", "ip-10-0-12-5", "ip-10-0-12-5 ip-10-0-12-5"]
  ])("takes %s", (_, served, short, hosts) =>
    withHosts(async (root) => {
      expect((await run(root, served)).exit._tag).toBe("Success")
      expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe(`${short}\n`)
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe(`127.0.0.1\tlocalhost\n127.0.1.1\t${hosts}\n`)
    })
  )

  it("takes a host name of 64 characters (an Azure computer name), not more, and a domain's labels of 63", () =>
    withHosts(async (root) => {
      const long = `vm${"x".repeat(61)}1`
      expect((await run(root, long)).exit._tag).toBe("Success")
      expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe(`${long}\n`)
      expect((await run(root, `${long}1`)).exit._tag).toBe("Failure")
      expect((await run(root, `host.${long}`)).exit._tag).toBe("Failure")
    })
  )

  it("takes a full name of 253 characters, DNS's most, not 254, though every label is one", () =>
    withHosts(async (root) => {
      const labels = (last: number) => ["web", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(last)].join(".")
      expect(labels(57).length).toBe(253)
      expect((await run(root, labels(57))).exit._tag).toBe("Success")
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toContain(`\t${labels(57)} web\n`)
      // the host keeps its own label
      const { exit } = await run(root, labels(58))
      expect(exit._tag === "Failure" && String(exit.cause)).toContain("invalid hostname 'web.aaa")
      expect(readFileSync(join(root, "etc/hostname"), "utf8")).toBe("web\n")
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb web\n")
    })
  )

  it("gives /etc/hosts one 127.0.1.1 line, the new name's in place of the one an earlier bootstrap wrote, keeping the file's mode", () =>
    withHosts(async (root) => {
      writeFileSync(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\told-1.example.com old-1\n::1\tlocalhost\n127.0.1.1 web-1.example.com web-1")
      chmodSync(join(root, "etc/hosts"), 0o444)
      for (let i = 0; i < 2; i++) expect((await run(root, "web-1.example.com")).exit._tag).toBe("Success")
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb-1.example.com web-1\n::1\tlocalhost\n")
      expect(statSync(join(root, "etc/hosts")).mode & 0o7777).toBe(0o444)
    })
  )

  it("puts the host's line on a line of its own when the image's /etc/hosts does not end in a line break", () =>
    withHosts(async (root) => {
      writeFileSync(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost")
      expect((await run(root, "web-1.example.com")).exit._tag).toBe("Success")
      expect(readFileSync(join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tweb-1.example.com web-1\n")
    })
  )

  it("does nothing but say so when the cloud has no hostname", async () => {
    const root = mkdtempSync(join(tmpdir(), "tiny-cloud-hostname-"))
    try {
      const { exit, calls, lines } = await run(root, undefined)
      expect(exit._tag).toBe("Success")
      expect(calls).toEqual([])
      expect(lines).toEqual(["set_hostname: no hostname set"])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
