/**
 * Azure's custom data (`az vm create --custom-data`): not in IMDS but the
 * base64 `CustomData` of `ovf-env.xml` on the provisioning media at
 * `/dev/sr0`, which wins over IMDS's `compute/userData` as cloud-init takes
 * them (IMDS's only where the media gave none). Hostile media
 * fails save_userdata alone, in one line: the user, keys and hostname are set.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ovfCustomData } from "../../src/domain/ovf-env.js"
import { makeTestInstance } from "../support/instance.js"
import { scopedDir } from "../support/scratch.js"

const tempDir = scopedDir("tiny-cloud-azure-media-")

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMedia media@example"

/** an ovf-env.xml as Azure writes it (cloud-init's construct_ovf_env), around `customData` as it stands in the document */
export const ovfEnv = (customData: string, prefix = "ns1") => `<?xml version="1.0" encoding="utf-8"?>
<ns0:Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:${prefix}="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <${prefix}:ProvisioningSection>
    <${prefix}:Version>1.0</${prefix}:Version>
    <${prefix}:LinuxProvisioningConfigurationSet>
      <${prefix}:ConfigurationSetType>LinuxProvisioningConfiguration</${prefix}:ConfigurationSetType>
      <${prefix}:HostName>media-host</${prefix}:HostName>
      <${prefix}:UserName>azureuser</${prefix}:UserName>
      <${prefix}:DisableSshPasswordAuthentication>true</${prefix}:DisableSshPasswordAuthentication>
      <${prefix}:CustomData>${customData}</${prefix}:CustomData>
    </${prefix}:LinuxProvisioningConfigurationSet>
  </${prefix}:ProvisioningSection>
</ns0:Environment>
`

const b64 = (text: string) => Buffer.from(text).toString("base64")
const CLOUD_CONFIG = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: from custom data\n"

/** a directory standing for the mounted provisioning media, holding `ovf-env.xml` */
const mediaWith = (document: string) => Effect.map(tempDir, (dir) => (writeFileSync(join(dir, "ovf-env.xml"), document), dir))

const instanceWith = (media: string, options: { readonly userData?: string; readonly env?: Readonly<Record<string, string>> } = {}) =>
  makeTestInstance({
    cloud: "azure",
    azureMedia: media,
    instance: { hostname: "vm-1", sshKeys: [KEY], ...(options.userData !== undefined ? { userData: new TextEncoder().encode(options.userData) } : {}) },
    ...(options.env !== undefined ? { env: options.env } : {})
  })

describe("ovfCustomData", () => {
  it("reads CustomData under any prefix bound to Azure's namespace, or the default one", () => {
    expect(ovfCustomData(ovfEnv("QUJD"))).toEqual({ base64: Option.some("QUJD") })
    expect(ovfCustomData(ovfEnv("\n  QUJD\n  ", "wa"))).toEqual({ base64: Option.some("\n  QUJD\n  ") })
    const plain = `<Environment xmlns="http://schemas.microsoft.com/windowsazure"><LinuxProvisioningConfigurationSet><CustomData>QUJD</CustomData></LinuxProvisioningConfigurationSet></Environment>`
    expect(ovfCustomData(plain)).toEqual({ base64: Option.some("QUJD") })
  })

  // an XML reader (cloud-init's ElementTree) gives CDATA sections and XML's own references as the text they stand for
  it("reads CustomData's CDATA sections, XML's own entities and character references as an XML reader does", () => {
    expect(ovfCustomData(ovfEnv("<![CDATA[QUJD\nREVG]]>"))).toEqual({ base64: Option.some("QUJD\nREVG") })
    expect(ovfCustomData(ovfEnv("QUJD&#13;&#10;REVG&#xD;&#xa;"))).toEqual({ base64: Option.some("QUJD\r\nREVG\r\n") })
    expect(ovfCustomData(ovfEnv("<![CDATA[QUJD]]>&#10;<![CDATA[REVG]]>"))).toEqual({ base64: Option.some("QUJD\nREVG") })
    expect(ovfCustomData(ovfEnv("<![CDATA[ ]]>&#32;"))).toEqual({ base64: Option.none() })
  })

  it("none when CustomData is absent, empty, or outside the provisioning set; a commented one is no element", () => {
    expect(ovfCustomData(ovfEnv(""))).toEqual({ base64: Option.none() })
    expect(ovfCustomData(ovfEnv("QUJD").replace(/<ns1:CustomData>.*<\/ns1:CustomData>/, "<ns1:CustomData />"))).toEqual({ base64: Option.none() })
    expect(ovfCustomData(ovfEnv("QUJD").replace(/<ns1:CustomData>.*<\/ns1:CustomData>/, "<!-- <ns1:CustomData>QUJD</ns1:CustomData> -->"))).toEqual({ base64: Option.none() })
    const outside = `<a xmlns:ns1="http://schemas.microsoft.com/windowsazure"><ns1:CustomData>QUJD</ns1:CustomData><ns1:LinuxProvisioningConfigurationSet/></a>`
    expect(ovfCustomData(outside)).toEqual({ base64: Option.none() })
  })

  it("refuses a document type (no entity is expanded), markup in CustomData, two of them, another namespace", () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n${ovfEnv("&lol2;").replace(/^<\?xml[^>]*>\n/, "")}`
    expect(ovfCustomData(bomb)).toEqual({ invalid: "a document type declaration (DOCTYPE, ENTITY) is not read" })
    expect(ovfCustomData(ovfEnv("<ns1:Value>QUJD</ns1:Value>"))).toEqual({ invalid: "CustomData holds markup, not base64 text" })
    expect(ovfCustomData(ovfEnv("QUJD&lol;"))).toEqual({ invalid: "CustomData refers to an entity or character XML does not define" })
    expect(ovfCustomData(ovfEnv("QUJD&#0;"))).toEqual({ invalid: "CustomData refers to an entity or character XML does not define" })
    expect(ovfCustomData(ovfEnv("QUJD</ns1:CustomData><ns1:CustomData>QUJD"))).toEqual({ invalid: "more than one CustomData" })
    // an element left open (a document cut short) is no value up to wherever the text ends
    expect(ovfCustomData(ovfEnv("QUJDQUJD").replace("</ns1:CustomData>", ""))).toEqual({ invalid: "CustomData is not closed" })
    const cut = ovfEnv("QUJDQUJD")
    expect(ovfCustomData(cut.slice(0, cut.indexOf("QUJDQUJD") + 4))).toEqual({ invalid: "LinuxProvisioningConfigurationSet is not closed" })
    expect(ovfCustomData(ovfEnv("QUJD").replace("http://schemas.microsoft.com/windowsazure", "urn:other"))).toEqual({
      invalid: "no element is of Azure's namespace (http://schemas.microsoft.com/windowsazure)"
    })
  })
})

describe("azure custom data on the provisioning media", () => {
  it.scopedLive("with IMDS's userData empty, the media's CustomData is the user-data: applied; the media mounted read-only and unmounted", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(yield* mediaWith(ovfEnv(b64(CLOUD_CONFIG))))
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/user-data")).toBe(CLOUD_CONFIG)
      expect(instance.read("/etc/motd")).toBe("from custom data")
      expect(instance.read("/etc/hostname")).toBe("vm-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      const mounts = instance.commands().filter((c) => c.startsWith("mount "))
      expect(mounts.length).toBeGreaterThan(0)
      for (const m of mounts) expect(m).toMatch(new RegExp(`^mount -o ro -t udf /dev/sr0 ${instance.root}/run/tiny-cloud/azure-media-\\S+$`))
      expect(instance.commands().filter((c) => c.startsWith("umount ")).map((c) => c.split(" ")[1])).toEqual(mounts.map((m) => m.split(" ").pop()))
      expect(readdirSync(join(instance.root, "run/tiny-cloud")).filter((d) => d.startsWith("azure-media-"))).toEqual([])
    })
  )

  it.scopedLive("CustomData written in a CDATA section, or with its line breaks as character references (&#13;&#10;), is the user-data, as cloud-init reads it", () =>
    Effect.gen(function* () {
      const wrapped = b64(CLOUD_CONFIG).replace(/.{20}/g, "$&&#13;&#10;")
      for (const customData of [`<![CDATA[${b64(CLOUD_CONFIG)}]]>`, wrapped]) {
        const instance = yield* instanceWith(yield* mediaWith(ovfEnv(customData)))
        const results = yield* instance.boot()
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        expect(instance.read("/var/lib/cloud/user-data")).toBe(CLOUD_CONFIG)
        expect(instance.read("/etc/motd")).toBe("from custom data")
      }
    })
  )

  it.scopedLive("media that cannot be mounted here (no mount point can be made: a user other than root) is no media: imds @userdata is empty, as before", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(yield* mediaWith(ovfEnv(b64(CLOUD_CONFIG))))
      rmSync(join(instance.root, "run/tiny-cloud"), { recursive: true, force: true })
      mkdirSync(join(instance.root, "run"), { recursive: true })
      writeFileSync(join(instance.root, "run/tiny-cloud"), "not a directory\n")
      // nor under /tmp, where one is made when /run/tiny-cloud takes none
      rmSync(join(instance.root, "tmp"), { recursive: true, force: true })
      writeFileSync(join(instance.root, "tmp"), "not a directory\n")
      expect(yield* instance.run(["imds", "@userdata"])).toMatchObject({ code: 0, stdout: "", stderr: "" })
    })
  )

  // az vm create --custom-data cloud-init.txt --user-data app.json: cloud-init runs the custom data, the user data stays the application's
  it.scopedLive("the media's CustomData wins over IMDS's userData (--user-data), as cloud-init takes them", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(yield* mediaWith(ovfEnv(b64(CLOUD_CONFIG))), { userData: '{"app": "settings"}\n' })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/user-data")).toBe(CLOUD_CONFIG)
      expect(instance.read("/etc/motd")).toBe("from custom data")
    })
  )

  it.scopedLive("IMDS's userData is the user-data where the media has no CustomData, or there is no media", () =>
    Effect.gen(function* () {
      const withoutCustomData = yield* instanceWith(yield* mediaWith(ovfEnv("")), { userData: "#!/bin/sh\necho from imds\n" })
      expect((yield* withoutCustomData.run(["early"])).code).toBe(0)
      expect(withoutCustomData.read("/var/lib/cloud/user-data")).toBe("#!/bin/sh\necho from imds\n")
      expect(withoutCustomData.commands().filter((c) => c.startsWith("mount "))).toHaveLength(1)
      const withoutMedia = yield* makeTestInstance({ cloud: "azure", instance: { hostname: "vm-1", sshKeys: [KEY], userData: new TextEncoder().encode("#!/bin/sh\necho from imds\n") } })
      expect((yield* withoutMedia.run(["early"])).code).toBe(0)
      expect(withoutMedia.read("/var/lib/cloud/user-data")).toBe("#!/bin/sh\necho from imds\n")
    })
  )

  it.scopedLive("in a container with CLOUD=azure, /dev/sr0 is the host's provisioning media: not mounted, its CustomData not applied; IMDS's userData is read as where there is no media", () =>
    Effect.gen(function* () {
      const instance = yield* instanceWith(yield* mediaWith(ovfEnv(b64(CLOUD_CONFIG))), { userData: "#!/bin/sh\necho from imds\n" })
      instance.write("/proc/1/environ", "container=lxc\0")
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/user-data")).toBe("#!/bin/sh\necho from imds\n")
      expect(instance.read("/etc/motd")).toBeUndefined()
      expect(instance.commands().filter((c) => c.startsWith("mount ") || c.startsWith("umount "))).toEqual([])
    })
  )

  const hostile: ReadonlyArray<{ readonly what: string; readonly media: (dir: string) => void; readonly env?: Record<string, string>; readonly line: string }> = [
    {
      what: "an ovf-env.xml past its bound",
      media: (dir) => writeFileSync(join(dir, "ovf-env.xml"), ovfEnv(b64(`#!/bin/sh\n${"x".repeat(5000)}\n`))),
      env: { USERDATA_MAX_BYTES: "1000", IMDS_MAX_BYTES: "1000" },
      line: "save_userdata: azure: cannot read /dev/sr0:ovf-env.xml: larger than 2336 bytes (USERDATA_MAX_BYTES in base64, and IMDS_MAX_BYTES)"
    },
    {
      what: "CustomData that decodes past USERDATA_MAX_BYTES",
      media: (dir) => writeFileSync(join(dir, "ovf-env.xml"), ovfEnv(b64(`#!/bin/sh\n${"x".repeat(1500)}\n`))),
      env: { USERDATA_MAX_BYTES: "1000" },
      line: "save_userdata: azure: cannot read /dev/sr0:ovf-env.xml: CustomData is larger than 1000 bytes (USERDATA_MAX_BYTES)"
    },
    {
      what: "an XML bomb",
      media: (dir) =>
        writeFileSync(
          join(dir, "ovf-env.xml"),
          `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${Array.from({ length: 10 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join("\n").replace("&lol0;".repeat(10), "lol")}\n]>\n${ovfEnv("&lol10;").replace(/^<\?xml[^>]*>\n/, "")}`
        ),
      line: "save_userdata: azure: cannot read /dev/sr0:ovf-env.xml: a document type declaration (DOCTYPE, ENTITY) is not read"
    },
    {
      what: "CustomData that is not base64",
      media: (dir) => writeFileSync(join(dir, "ovf-env.xml"), ovfEnv("#cloud-config")),
      line: "save_userdata: azure: cannot read /dev/sr0:ovf-env.xml: CustomData: invalid base64: character 1 is outside the base64 alphabet"
    },
    {
      what: "an ovf-env.xml that is a directory",
      media: (dir) => mkdirSync(join(dir, "ovf-env.xml")),
      line: "save_userdata: azure: cannot read /dev/sr0:ovf-env.xml: not a regular file; refused"
    },
    {
      what: "an ovf-env.xml that is a symbolic link (to the instance's shadow)",
      media: (dir) => symlinkSync("/etc/shadow", join(dir, "ovf-env.xml")),
      line: "save_userdata: azure: cannot read /dev/sr0:ovf-env.xml: is a symbolic link; refused"
    }
  ]

  for (const c of hostile) {
    it.scopedLive(`${c.what}: save_userdata fails in one line, nothing is stored; the user, keys and hostname are set`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        c.media(dir)
        const instance = yield* instanceWith(dir, c.env !== undefined ? { env: c.env } : {})
        const results = yield* instance.boot()
        const stderr = results.map((r) => r.stderr).join("")
        expect(stderr.split("\n").filter((l) => l.includes("ovf-env.xml"))).toEqual([c.line])
        expect(stderr).not.toMatch(/\n\s+at /)
        expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
        expect(instance.read("/etc/hostname")).toBe("vm-1\n")
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
        expect(readdirSync(join(instance.root, "run/tiny-cloud")).filter((d) => d.startsWith("azure-media-"))).toEqual([])
      })
    )
  }
})
