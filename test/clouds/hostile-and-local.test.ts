/**
 * What the providers do beyond reading a datum (issue 10): user-data the
 * cloud says is base64 and is not fails naming the cloud and the datum while
 * the instance still gets its user, keys and hostname; Incus keeps its
 * vendor-data and network-config beside the user-data; OpenStack's config
 * drive comes before its metadata service; detection between the clouds
 * that share signs.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { bytesOf } from "../../src/domain/text.js"
import { openstackFiles } from "../../src/sim/clouds/openstack.js"
import { Http } from "../../src/services/Http.js"
import type { FixtureRoute } from "../support/fixture-http.js"
import { phasesOver, recorded, WIRESERVER } from "../support/fixture-boot.js"
import { scopedDir } from "../support/scratch.js"
import { onTestClock } from "../support/test-clock.js"
import { makeInstance } from "../support/harness.js"
import { makeTestInstance, testHttp, type InstanceOptions } from "../support/instance.js"

const tempDir = scopedDir("tiny-cloud-reads-")

/** the recorded routes with the one at `path` answering `body` instead */
const answering = (routes: ReadonlyArray<FixtureRoute>, path: string, body: string) => routes.map((r) => (r.path === path ? { ...r, body } : r))

// `!` is outside the base64 alphabet; line breaks are not
const NOT_BASE64 = "I2Nsb3VkLWNvbmZpZwp\nydW5jbWQ6!CiAgLSBlY2hvIGhlbGxvCg=="

describe("user-data the cloud serves as base64 and that is not", () => {
  it.scopedLive.each([
    {
      cloud: "azure",
      fixture: "azure/single-vm.json",
      path: "/metadata/instance/compute/userData",
      url: "http://169.254.169.254/metadata/instance/compute/userData?format=text&api-version=2021-05-01",
      extra: WIRESERVER,
      hostname: "examplevmname"
    },
    { cloud: "oci", fixture: "oci/two-vnics.json", path: "/opc/v2/instance/metadata/user_data", url: "http://169.254.169.254/opc/v2/instance/metadata/user_data", extra: [], hostname: "instance-20240320-1400" },
    {
      cloud: "gcp",
      fixture: "gcp/user-data-base64.json",
      path: "/computeMetadata/v1/instance/attributes/user-data",
      url: "http://169.254.169.254/computeMetadata/v1/instance/attributes/user-data",
      extra: [],
      hostname: "instance-1"
    }
  ])("$cloud: save_userdata fails naming the cloud and the datum, nothing is stored, the user, keys and hostname are still set up", ({ cloud, fixture, path, url, extra, hostname }) =>
    Effect.gen(function* () {
      const recording = recorded(fixture)
      const routes = [...answering(recording.routes ?? [], path, NOT_BASE64), ...extra]
      const { results, read } = yield* phasesOver(cloud, recording, routes, ["early", "main"])
      const [early, main] = results
      expect(early!.code).toBe(1)
      expect(early!.stderr).toContain(`save_userdata: ${cloud}: cannot read ${url}: invalid base64: character 30 is outside the base64 alphabet\n`)
      expect(read("/var/lib/cloud/user-data")).toBeUndefined()
      expect(main!.code, main!.stderr).toBe(0)
      expect(read("/etc/hostname")).toBe(`${hostname}\n`)
      expect(read("/etc/passwd")).toContain("alpine:x:")
      const keys = recording.expect.sshKeys ?? []
      if (keys.length > 0) expect(read("/home/alpine/.ssh/authorized_keys")).toBe(keys.map((k) => `${k}\n`).join(""))
    })
  )

  it.scopedLive("gcp: a user-data-encoding other than base64 is named in a warning, and the user-data taken as it is, as cloud-init takes it", () =>
    Effect.gen(function* () {
      const recording = recorded("gcp/user-data-base64.json")
      const routes = answering(recording.routes ?? [], "/computeMetadata/v1/instance/attributes/user-data-encoding", "gzip")
      const served = routes.find((r) => r.path.endsWith("/attributes/user-data"))!.body
      const { results, read } = yield* phasesOver("gcp", recording, routes, ["early"])
      expect(results[0]!.code).toBe(0)
      expect(results[0]!.stderr).toContain(
        "gcp: http://169.254.169.254/computeMetadata/v1/instance/attributes/user-data-encoding: 'gzip' is no encoding cloud-init knows (base64); the user-data is used as it is\n"
      )
      expect(read("/var/lib/cloud/user-data")).toBe(served)
    })
  )

  it.scopedLive("gcp: user-data without user-data-encoding is taken as it is, whatever it looks like", () =>
    Effect.gen(function* () {
      const recording = recorded("gcp/user-data-base64.json")
      const routes = answering(recording.routes ?? [], "/computeMetadata/v1/instance/attributes/user-data", NOT_BASE64).filter(
        (r) => !r.path.endsWith("/user-data-encoding")
      )
      const { results, read } = yield* phasesOver("gcp", recording, routes, ["early"])
      expect(results[0]!.code).toBe(0)
      expect(read("/var/lib/cloud/user-data")).toBe(NOT_BASE64)
    })
  )
})

describe("user-data the cloud serves as base64, of USERDATA_MAX_BYTES once decoded", () => {
  /** a script of `size` bytes (comments alone: early only saves it) */
  const script = (size: number) => `#!/bin/sh\n#${"x".repeat(size - 12)}\n`
  /** the simulated instance serving `userData` as the cloud does: base64 on azure and oci, on gcp with user-data-encoding; hetzner keeps text, so its users give the base64 themselves */
  const serving = (cloud: string, userData: string, base64: boolean) =>
    cloud === "hetzner"
      ? { hostname: "h1", userData: bytesOf(base64 ? Buffer.from(userData).toString("base64") : userData) }
      : { hostname: "h1", userData: bytesOf(userData), ...(cloud === "gcp" ? { userDataBase64: base64 } : {}) }
  const early = (cloud: string, userData: string, base64: boolean) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud, instance: serving(cloud, userData, base64), env: { USERDATA_MAX_BYTES: "1000" } })
      return { ...(yield* instance.run(["early"])), saved: instance.read("/var/lib/cloud/user-data") }
    })
  it.scopedLive.each(["azure", "oci", "gcp", "hetzner"])(
    "%s: saved whole (its base64 answer, a third larger, was refused as past USERDATA_MAX_BYTES); a byte more fails naming the limit",
    (cloud) =>
      Effect.gen(function* () {
        const atLimit = yield* early(cloud, script(1000), true)
        expect(atLimit.code, atLimit.stderr).toBe(0)
        expect(atLimit.saved).toBe(script(1000))
        const over = yield* early(cloud, script(1001), true)
        expect(over.code).toBe(1)
        expect(over.stderr).toMatch(new RegExp(`\nsave_userdata: ${cloud}: cannot read http://\\S+: decodes to more than 1000 bytes \\(USERDATA_MAX_BYTES\\)\n`))
        expect(over.saved).toBeUndefined()
      })
  )

  it.scopedLive.each(["gcp", "hetzner"])("%s: user-data taken as it is (no base64 there) is held to USERDATA_MAX_BYTES still", (cloud) =>
    Effect.gen(function* () {
      const atLimit = yield* early(cloud, script(1000), false)
      expect(atLimit.code, atLimit.stderr).toBe(0)
      expect(atLimit.saved).toBe(script(1000))
      const over = yield* early(cloud, script(1001), false)
      expect(over.code).toBe(1)
      expect(over.stderr).toMatch(new RegExp(`\nsave_userdata: ${cloud}: cannot read http://\\S+: answer exceeds 1000 bytes \\(USERDATA_MAX_BYTES\\)\n`))
      expect(over.saved).toBeUndefined()
    })
  )
})

describe("hetzner: gzip user-data given as base64, the only way its text-only user-data takes binary data", () => {
  const config = "#cloud-config\nhostname: from-gzip\n" + "# padding to wrap the base64 past one line\n".repeat(8)
  const boot = (userData: string) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "hetzner", instance: { hostname: "h1", userData: bytesOf(userData) } })
      yield* instance.run(["early"])
      return { main: yield* instance.run(["main"]), hostname: instance.read("/etc/hostname") }
    })
  it.scopedLive("one base64 word is decoded and applied; wrapped in lines (base64's default), as cloud-init it is not, and the line says how to give it", () =>
    Effect.gen(function* () {
      const gzipped = gzipSync(config).toString("base64")
      const word = yield* boot(gzipped)
      expect(word.main.code, word.main.stderr).toBe(0)
      expect(word.hostname).toBe("from-gzip\n")
      const wrapped = yield* boot(`${gzipped.replace(/.{76}/g, "$&\n")}\n`)
      expect(wrapped.hostname).toBe("h1\n")
      expect(wrapped.main.stderr).toContain(
        "unknown_userdata: unable to process 'base64' user-data: base64 text is not decoded, as cloud-init does not decode it either: give the cloud the user-data itself (on gcp, or set user-data-encoding to base64; on hetzner, which keeps user-data as text, binary user-data as one base64 word without line breaks, as base64 -w0 writes it)\n"
      )
    })
  )
})

describe("gcp: a startup script (the guest environment's) is named by save_userdata, never run", () => {
  const LINE = (of: string) => `gcp: startup-script of ${of} is not run here (Google's guest environment runs it); a script for the first boot is given as user-data\n`
  const PROJECT_LISTING = "/computeMetadata/v1/project/attributes/"

  it.scopedLive("the instance's startup-script and no user-data: named once, by save_userdata; no user-data, the keys and hostname as always", () =>
    Effect.gen(function* () {
      const recording = recorded("gcp/startup-script-not-user-data.json")
      const { results, read } = yield* phasesOver("gcp", recording, recording.routes ?? [], ["early", "main"])
      const [early, main] = results
      expect(early!.code, early!.stderr).toBe(0)
      expect(early!.stderr).toContain(LINE("the instance"))
      expect(main!.stderr).not.toContain("startup-script")
      expect(read("/var/lib/cloud/user-data")).toBeUndefined()
      expect(main!.stderr).toContain("missing_userdata: no user-data found\n")
      expect(read("/etc/hostname")).toBe("web-7\n")
      expect(read("/home/alpine/.ssh/authorized_keys")).toBe(`${recording.expect.sshKeys![0]}\n`)
    })
  )

  it.scopedLive("the project's startup-script-url beside user-data: named as the project's, and the user-data saved", () =>
    Effect.gen(function* () {
      const recording = recorded("gcp/basic.json")
      const like = recording.routes!.find((r) => r.path.endsWith("/instance/hostname"))!
      const routes = [...recording.routes!, { ...like, path: PROJECT_LISTING, body: "ssh-keys\nstartup-script-url\n" }]
      const { results, read } = yield* phasesOver("gcp", recording, routes, ["early"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).toContain(
        "gcp: startup-script-url of the project is not run here (Google's guest environment runs it); a script for the first boot is given as user-data\n"
      )
      expect(read("/var/lib/cloud/user-data")).toBe(recording.expect.userData)
    })
  )

  it.scopedLive("no startup script, or attribute listings that cannot be had (404): nothing is said", () =>
    Effect.gen(function* () {
      const recording = recorded("gcp/basic.json")
      const { results } = yield* phasesOver("gcp", recording, recording.routes ?? [], ["early"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).not.toContain("startup-script")
    })
  )
})

describe("incus keeps vendor-data and network-config beside the user-data", () => {
  it.scopedLive("as the instance has them now: written root-only, and removed when the instance no longer has one", () =>
    Effect.gen(function* () {
      const networkConfig = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
      const vendorData = "#cloud-config\npackages: [htop]\n"
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf("#cloud-config\n{}\n"), networkConfig: bytesOf(networkConfig), vendorData: bytesOf(vendorData) }
      })
      instance.write("/var/lib/cloud/vendor-data", "stale\n")
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect(instance.read("/var/lib/cloud/network-config")).toBe(networkConfig)
      expect(instance.mode("/var/lib/cloud/network-config")).toBe(0o600)
      expect(instance.read("/var/lib/cloud/vendor-data")).toBe(vendorData)

      const without = yield* makeTestInstance({ cloud: "incus", instance: { hostname: "c1", userData: bytesOf("#cloud-config\n{}\n") } })
      without.write("/var/lib/cloud/network-config", "stale\n")
      expect((yield* without.run(["early"])).code).toBe(0)
      expect(without.read("/var/lib/cloud/network-config")).toBeUndefined()
    })
  )
  it.scopedLive("a static address in the network-config (LXD's and Incus's guides give one so) is named once, by save_userdata, as not configured: eth0 gets DHCP", () =>
    Effect.gen(function* () {
      const recording = recorded("incus/static-network-config.json")
      const { results, read } = yield* phasesOver("incus", recording, recording.routes ?? [], ["early", "main"])
      const [early, main] = results
      expect(early!.code, early!.stderr).toBe(0)
      expect(early!.stderr).toContain(
        `incus 'network-config' is not applied (the default stanzas configure the interface by DHCP): its static address "10.10.10.12/24" for "eth0" is not configured\n`
      )
      expect(main!.stderr).not.toContain("network-config")
      expect(read("/var/lib/cloud/network-config")).toBe(recording.routes!.find((r) => r.path.endsWith("cloud-init.network-config"))!.body)
      expect(read("/etc/hostname")).toBe("db-static\n")
      expect(read("/home/alpine/.ssh/authorized_keys")).toBe(`${recording.expect.sshKeys![0]}\n`)
    })
  )

  it.scopedLive("a network-config by DHCP alone, or one that is no YAML, says nothing of addresses", () =>
    Effect.gen(function* () {
      const recording = recorded("incus/static-network-config.json")
      for (const body of ["version: 2\nethernets:\n  eth0:\n    dhcp4: true\n", "version: [2\n"]) {
        const routes = recording.routes!.map((r) => (r.path.endsWith("cloud-init.network-config") ? { ...r, body } : r))
        const { results } = yield* phasesOver("incus", recording, routes, ["early"])
        expect(results[0]!.code, results[0]!.stderr).toBe(0)
        expect(results[0]!.stderr).not.toContain("network-config")
      }
    })
  )

  it.scopedLive("by save_userdata alone: 'imds @userdata' writes nothing (as a user other than root it warned 'cannot keep vendor-data: permission denied')", () =>
    Effect.gen(function* () {
      const userData = "#cloud-config\n{}\n"
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(userData), vendorData: bytesOf("#cloud-config\npackages: [htop]\n"), networkConfig: bytesOf("version: 2\n") }
      })
      instance.write("/var/lib/cloud/network-config", "kept by the first boot\n")
      expect(yield* instance.imds(["@userdata"])).toEqual({ code: 0, stdout: userData, stderr: "" })
      expect(instance.read("/var/lib/cloud/vendor-data")).toBeUndefined()
      expect(instance.read("/var/lib/cloud/network-config")).toBe("kept by the first boot\n")
    })
  )
})

describe("incus's vendor-data is never dropped silently", () => {
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVendorDocsKeyOne0000000000000000000000000 v@x"
  const earlyWarnings = (userData: string, vendorData: string) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "incus", instance: { hostname: "c1", userData: bytesOf(userData), vendorData: bytesOf(vendorData) } })
      const r = yield* instance.run(["early"])
      expect(r.code).toBe(0)
      return r.stderr.split("\n").filter((l) => l.includes("vendor-data"))
    })
  // an Incus profile's cloud-init.vendor-data (Incus's docs: users, packages), which cloud-init applies beneath the user-data
  it.scopedLive("what it is not applied of is named once by save_userdata; the default user's keys alone say nothing; turned off by the user-data, nothing", () =>
    Effect.gen(function* () {
      const vendor = `#cloud-config\nusers:\n  - name: vendoruser\n    ssh_authorized_keys: [${key}]\npackages: [htop]\nssh_authorized_keys: [${key}]\n`
      expect(yield* earlyWarnings("#cloud-config\npackages: [git]\n", vendor)).toEqual([
        "incus 'vendor-data' (cloud-config) is not applied: its keys users, packages are ignored"
      ])
      expect(yield* earlyWarnings("#!/bin/sh\necho hi\n", "#!/bin/sh\necho vendor\n")).toEqual(["incus 'vendor-data' (script) is not applied"])
      // LXD's vendor-data for cloud-init.ssh-keys of the default user: its keys are installed, nothing else is there
      expect(yield* earlyWarnings("#!/bin/sh\necho hi\n", `#cloud-config\nusers:\n- name: alpine\n  ssh-authorized-keys:\n  - ${key}\n`)).toEqual([])
      expect(yield* earlyWarnings("#cloud-config\nvendor_data: {enabled: false}\n", vendor)).toEqual([])
      expect(yield* earlyWarnings("#cloud-config\nvendor_data: {enabled: 1.0}\n", vendor)).toEqual([])
      expect(yield* earlyWarnings("#cloud-config\n{}\n", `#cloud-config\nusers: [default]\nssh_authorized_keys: [${key}]\n`)).toEqual([])
    })
  )
  it.scopedLive("the user-data that says whether the vendor-data applies is the one save_userdata read: not asked for again", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf("#cloud-config\npackages: [git]\n"), vendorData: bytesOf("#cloud-config\npackages: [htop]\n") }
      })
      const r = yield* instance.run(["early"])
      expect(r.stderr).toContain("incus 'vendor-data' (cloud-config) is not applied: its key packages is ignored")
      expect(instance.sim!.requests.filter((q) => q.path === "/1.0/config/cloud-init.user-data")).toHaveLength(1)
    })
  )
})

describe("incus's user-data keys", () => {
  it.scopedLive("LXD before its cloud-init.* keys refuses them (403): that is no user-data there, and user.user-data is read; a 403 on user.user-data is an error still", () =>
    Effect.gen(function* () {
      const script = "#!/bin/sh\necho legacy\n"
      const lxd = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(script), legacyUserDataKey: true },
        faults: { overrides: [{ path: "/1.0/config/cloud-init.user-data", status: 403 }] }
      })
      expect((yield* lxd.run(["early"])).code).toBe(0)
      expect(lxd.read("/var/lib/cloud/user-data")).toBe(script)
      const refused = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(script), legacyUserDataKey: true },
        faults: { overrides: [{ path: "/1.0/config/user.user-data", status: 403 }] }
      })
      const early = yield* refused.run(["early"])
      expect(early.code).toBe(1)
      expect(early.stderr).toMatch(/\nsave_userdata: incus: cannot read \S+\/1\.0\/config\/user\.user-data: HTTP 403 \(the guest API refuses this instance: security\.guestapi \(LXD's security\.devlxd\) is false\?\)\n/)
      expect(refused.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )
})

describe("incus's guest API turned off (security.guestapi=false; LXD: security.devlxd=false)", () => {
  it.scopedLive("every read answered 403 'not authorized', as Incus answers then: each line says why, never a bare HTTP 403", () =>
    Effect.gen(function* () {
      const refused = { status: 403, body: "not authorized\n" }
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1" },
        faults: {
          overrides: ["/1.0/meta-data", "/1.0/config/cloud-init.user-data", "/1.0/config/user.user-data", "/1.0/config/user.meta-data", "/1.0/config/cloud-init.vendor-data", "/1.0/config/user.vendor-data"].map(
            (path) => ({ path, ...refused })
          )
        }
      })
      const why = "HTTP 403 (the guest API refuses this instance: security.guestapi (LXD's security.devlxd) is false?)"
      const hostname = yield* instance.imds(["@hostname"])
      expect(hostname.code).toBe(1)
      expect(hostname.stderr).toMatch(/^imds: incus: cannot read \S+\/1\.0\/meta-data: (.*)\n$/)
      expect(hostname.stderr).toContain(`/1.0/meta-data: ${why}\n`)
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain(`/1.0/config/user.user-data: ${why}\n`)
    })
  )
})

describe("incus's guest API socket made after the read began (a VM's agent starting)", () => {
  it.scopedLive("LXD's /dev/lxd/sock, made while the read waited at Incus's: the next request goes to it (it kept asking at /dev/incus/sock until IMDS_DEADLINE)", () =>
    Effect.gen(function* () {
      const sockets: Array<string | undefined> = []
      /** the agent makes its socket once the first request has found none */
      const agent = { start: () => {} }
      const http = Layer.effect(
        Http,
        Effect.map(Http, (h) => ({
          request: (r) => Effect.ensuring(h.request(r), Effect.sync(() => (sockets.push(r.socketPath), agent.start())))
        }))
      ).pipe(Layer.provide(testHttp))
      const instance = yield* makeTestInstance({ cloud: "incus", instance: { hostname: "c1" }, http, env: { IMDS_DEADLINE: "3" } })
      const at = (path: string) => join(instance.root, path)
      renameSync(at("/dev/incus/sock"), at("/dev/agent.sock"))
      mkdirSync(at("/dev/lxd"))
      agent.start = () => {
        renameSync(at("/dev/agent.sock"), at("/dev/lxd/sock"))
        agent.start = () => {}
      }
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "c1", stderr: "" })
      expect(sockets).toEqual([at("/dev/incus/sock"), at("/dev/lxd/sock")])
    })
  )
})

describe("incus's keys from the user-data: each line named once", () => {
  const [own, vendors, others] = ["Own", "Vendor", "Other"].map((k) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${k} ${k.toLowerCase()}@example`)
  const keysOf = (userData: string) =>
    Effect.flatMap(makeTestInstance({ cloud: "incus", instance: { hostname: "c1", userData: bytesOf(userData) } }), (instance) => instance.imds(["@ssh-keys"]))

  it.scopedLive("the default user's keys: a users entry written with both ssh_authorized_keys and ssh-authorized-keys gives the one written last; the first named entry stands in only where no `user` key names the default user", () =>
    Effect.gen(function* () {
      const both = (first: string, last: string) => `#cloud-config\nusers:\n  - name: alpine\n    ssh-authorized-keys: ["${first}"]\n    ssh_authorized_keys: ["${last}"]\n`
      expect(yield* keysOf(both(others, own))).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" })
      // ops is the default user where no `user` key names another; with `user: alpine`, ops is a user of its own, and so are his keys
      const ops = `users:\n  - name: ops\n    ssh_authorized_keys: ["${own}"]\n`
      expect(yield* keysOf(`#cloud-config\n${ops}`)).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" })
      expect(yield* keysOf(`#cloud-config\nuser: alpine\n${ops}`)).toEqual({ code: 0, stdout: "", stderr: "" })
    })
  )

  it.scopedLive("a user-data line that is no key is named by save_userdata alone, one with options installed by ssh_authorized_keys: set_ssh_keys counts only the vendor-data's lines", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: {
          hostname: "c1",
          userData: bytesOf(`#cloud-config\nssh_authorized_keys: ["not a key", "${own}", "no-pty ${others}"]\n`),
          vendorData: bytesOf(`#cloud-config\nusers:\n- name: alpine\n  ssh_authorized_keys: ["${vendors}", "vendor junk"]\n`)
        }
      })
      const dropped = "1 line that is not an OpenSSH public key, or has options in front of it"
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${own}\n${vendors}\n`, stderr: `imds: @ssh-keys: ${dropped}, left out\n` })
      const early = yield* instance.run(["early"])
      expect(early.code).toBe(0)
      expect(early.stderr).toContain("save_userdata: line 2: ssh_authorized_keys[0]: not an OpenSSH public key; left out\n")
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr.split("\n").filter((l) => l.startsWith("set_ssh_keys:"))).toEqual([`set_ssh_keys: ${dropped} dropped`])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${own}\n${vendors}\nno-pty ${others}\n`)
      // without the vendor-data's line, set_ssh_keys has none to name
      const alone = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(`#cloud-config\nssh_authorized_keys: ["not a key", "${own}", "no-pty ${others}"]\n`) }
      })
      expect(yield* alone.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" })
      expect((yield* alone.run(["early"])).code).toBe(0)
      const quiet = yield* alone.run(["main"])
      expect(quiet.stderr.split("\n").filter((l) => l.startsWith("set_ssh_keys:"))).toEqual([])
      expect(alone.read("/home/alpine/.ssh/authorized_keys")).toBe(`${own}\nno-pty ${others}\n`)
    })
  )
})

describe("incus's vendor-data keys (LXD's cloud-init.ssh-keys.* options), beneath the user-data's as cloud-init merges them", () => {
  const [own, vendors, others] = ["Own", "Vendor", "Other"].map((k) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${k} ${k.toLowerCase()}@example`)
  /** a users entry as LXD merges a `cloud-init.ssh-keys.NAME: USER:KEY` option into the vendor-data it serves */
  const lxdVendorData = (user: string, key: string) =>
    `#cloud-config\nusers:\n- name: ${user}\n  ssh-authorized-keys:\n  - ${key} #lxd:cloud-init.ssh-keys\n  ssh_authorized_keys:\n  - ${key} #lxd:cloud-init.ssh-keys\n`
  const keysOf = (userData: string | undefined, vendorData: string, faults?: InstanceOptions["faults"]) =>
    Effect.flatMap(
      makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", ...(userData === undefined ? {} : { userData: bytesOf(userData) }), vendorData: bytesOf(vendorData) },
        ...(faults === undefined ? {} : { faults })
      }),
      (instance) => instance.imds(["@ssh-keys"])
    )

  it.scopedLive("a script user-data (which LXD cannot merge the key into): the vendor-data's key for the default user is the instance's, and set_ssh_keys installs it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf("#!/bin/sh\necho hi\n"), vendorData: bytesOf(lxdVendorData("alpine", vendors)) }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${vendors}\n`, stderr: "" })
      expect((yield* instance.run(["early"])).code).toBe(0)
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${vendors}\n`)
      // no user-data at all: the same
      expect(yield* keysOf(undefined, lxdVendorData("alpine", vendors))).toEqual({ code: 0, stdout: `${vendors}\n`, stderr: "" })
      // another user's key is that user's
      expect(yield* keysOf(undefined, lxdVendorData("bob", vendors) + "user: alpine\n")).toEqual({ code: 0, stdout: "", stderr: "" })
      // as LXD serves it (no user key, no default): bob, first in the vendor-data's users, does not stand in for the default user, which
      // nothing makes him here (the users action reads the user-data alone): his key never opens alpine's account, in wheel
      const bobs = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf("#!/bin/sh\necho hi\n"), vendorData: bytesOf(lxdVendorData("bob", others)) }
      })
      expect(yield* bobs.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: "", stderr: "" })
      expect((yield* bobs.run(["early"])).code).toBe(0)
      yield* bobs.run(["main"])
      expect(bobs.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
      // the user-data's own first named user still stands in (its users action makes it the default user), over the vendor-data's
      expect(yield* keysOf(`#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys: ["${own}"]\n`, lxdVendorData("bob", others))).toEqual({
        code: 0,
        stdout: `${own}\n`,
        stderr: ""
      })
    })
  )

  it.scopedLive("the user-data's keys win key by key: its users replace the vendor-data's, its top-level ssh_authorized_keys leave the vendor-data's users", () =>
    Effect.gen(function* () {
      const ownUsers = `#cloud-config\nusers:\n  - name: alpine\n    ssh_authorized_keys: ["${own}"]\n`
      expect(yield* keysOf(ownUsers, lxdVendorData("alpine", vendors))).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" })
      const topLevel = `#cloud-config\nssh_authorized_keys: ["${own}"]\n`
      expect(yield* keysOf(topLevel, lxdVendorData("alpine", vendors) + `ssh_authorized_keys: ["${others}"]\n`)).toEqual({
        code: 0,
        stdout: `${own}\n${vendors}\n`,
        stderr: ""
      })
    })
  )

  it.scopedLive("a user-data that turns vendor-data off (vendor_data: {enabled: false}, or no map) keeps its keys out; enabled: yes lets them in", () =>
    Effect.gen(function* () {
      const vendor = lxdVendorData("alpine", vendors)
      expect(yield* keysOf("#cloud-config\nvendor_data: {enabled: false}\n", vendor)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* keysOf("#cloud-config\nvendor_data: off\n", vendor)).toEqual({ code: 0, stdout: "", stderr: "" })
      // null too: cloud-init's merge keeps the user-data's null over its built-in {enabled: true}, then warns 'invalid vendor_data setting'
      expect(yield* keysOf("#cloud-config\nvendor_data:\n", vendor)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* keysOf("#cloud-config\nvendor_data: {}\n", vendor)).toEqual({ code: 0, stdout: `${vendors}\n`, stderr: "" })
      expect(yield* keysOf("#cloud-config\nvendor_data: {enabled: 'yes', prefix: []}\n", vendor)).toEqual({ code: 0, stdout: `${vendors}\n`, stderr: "" })
      // a float 1.0 is no true word to util.is_true (str(1.0) is '1.0'): off, as save_userdata reads it; an integer 1 is one
      expect(yield* keysOf("#cloud-config\nvendor_data: {enabled: 1.0}\n", vendor)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* keysOf("#cloud-config\nvendor_data: {enabled: 1}\n", vendor)).toEqual({ code: 0, stdout: `${vendors}\n`, stderr: "" })
    })
  )

  it.scopedLive("a vendor-data that cannot be read, or is no YAML, costs its keys and a warning, never the user-data's", () =>
    Effect.gen(function* () {
      const userData = `#cloud-config\nssh_authorized_keys: ["${own}"]\n`
      const broken = yield* keysOf(userData, "#cloud-config\nusers: [\n")
      expect(broken.stdout).toBe(`${own}\n`)
      expect(broken.stderr).toMatch(/^keys of vendor-data left out: incus: cannot read \S+cloud-init\.vendor-data: invalid YAML in vendor-data: .*\n$/)
      expect(broken.code).toBe(0)
      const refused = yield* keysOf(userData, lxdVendorData("alpine", vendors), {
        overrides: [
          { path: "/1.0/config/cloud-init.vendor-data", status: 404 },
          { path: "/1.0/config/user.vendor-data", status: 403 }
        ]
      })
      expect(refused).toEqual({ code: 0, stdout: `${own}\n`, stderr: expect.stringMatching(/^keys of vendor-data left out: incus: cannot read \S+\/1\.0\/config\/user\.vendor-data: HTTP 403 \(the guest API refuses this instance: security\.guestapi \(LXD's security\.devlxd\) is false\?\)\n$/) })
    })
  )

  it.scopedLive("a vendor-data the guest API holds up to the read's deadline (503 throughout) costs its own keys alone: user.meta-data's public-keys are still read", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf("#!/bin/sh\necho hi\n") },
        env: { IMDS_DEADLINE: "1" },
        faults: {
          overrides: [
            { path: "/1.0/config/cloud-init.vendor-data", status: 503 },
            { path: "/1.0/config/user.meta-data", body: `public-keys:\n  - ${others}\n` }
          ]
        }
      })
      // the deadline's second on a TestClock of the read's own, not waited out
      const got = yield* onTestClock(instance.imds(["@ssh-keys"]))
      expect(got).toEqual({ code: 0, stdout: `${others}\n`, stderr: expect.stringMatching(/^keys of vendor-data left out: incus: cannot read \S+cloud-init\.vendor-data: HTTP 503\n$/) })
    })
  )

  it.scopedLive("a vendor-data or user.meta-data with more keys than IMDS_MAX_KEYS costs its own keys alone, named: the others' are still the instance's", () =>
    Effect.gen(function* () {
      const many = (name: string) => ["A", "B", "C", "D"].map((k) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${name}${k} ${name}@example`)
      const list = (keys: ReadonlyArray<string>) => keys.map((k) => `  - ${k}\n`).join("")
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf("#!/bin/sh\necho hi\n"), vendorData: bytesOf(`#cloud-config\nssh_authorized_keys:\n${list(many("Vendor"))}`) },
        env: { IMDS_MAX_KEYS: "3" },
        faults: { overrides: [{ path: "/1.0/config/user.meta-data", body: `public-keys:\n  - ${others}\n` }] }
      })
      const pastMax = (what: string) => `${what} left out: more than 3 keys (IMDS_MAX_KEYS)\n`
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${others}\n`, stderr: pastMax("keys of vendor-data") })
      expect((yield* instance.run(["early"])).code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(main.stderr).toContain(pastMax("keys of vendor-data"))
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${others}\n`)
      // the user-data's own keys, with user.meta-data's past the limit: the user-data's
      const metaPast = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(`#cloud-config\nssh_authorized_keys: ["${own}"]\n`) },
        env: { IMDS_MAX_KEYS: "3" },
        faults: { overrides: [{ path: "/1.0/config/user.meta-data", body: `public-keys:\n${list(many("Meta"))}` }] }
      })
      expect(yield* metaPast.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${own}\n`, stderr: pastMax("public-keys of user.meta-data") })
    })
  )
})

describe("incus's public-keys of user.meta-data", () => {
  const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAswVXqfxOkOM1h9osfsETZbgKXK7xQ5XoOozfIXPGGG k@example"
  it.scopedLive("@ssh-keys of a #cloud-config's (or #alpine-config's) users: the default user's (CLOUD_USER's, or the first named one standing in for it), never another user's", () =>
    Effect.gen(function* () {
      const [own, bobs, firsts] = ["Own", "Bob", "First"].map((k) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${k} ${k.toLowerCase()}@example`)
      const keysOf = (userData: string) =>
        Effect.flatMap(makeTestInstance({ cloud: "incus", instance: { hostname: "c1", userData: bytesOf(userData) } }), (instance) => instance.imds(["@ssh-keys"]))
      // bob's keys are bob's: user-data's users action installs them in bob's home
      const listed = `#cloud-config\nusers:\n  - default\n  - name: alpine\n    ssh_authorized_keys: ["${own}"]\n  - name: bob\n    ssh_authorized_keys: ["${bobs}"]\n`
      expect(yield* keysOf(listed)).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" })
      // without `default` or `user:`, the first named user is the default one
      const first = `#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys: ["${firsts}"]\n  - name: bob\n    ssh_authorized_keys: ["${bobs}"]\n`
      expect(yield* keysOf(first)).toEqual({ code: 0, stdout: `${firsts}\n`, stderr: "" })
      // #alpine-config's are read as #cloud-config's
      expect(yield* keysOf(`#alpine-config\nssh_authorized_keys: ["${own}"]\n`)).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" })
    })
  )

  it.scopedLive("a user.meta-data that cannot be read costs a warning, never the user-data's keys", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(`#cloud-config\nssh_authorized_keys: ["${KEY}"]\n`) },
        faults: { overrides: [{ path: "/1.0/config/user.meta-data", body: "public-keys: [\n" }] }
      })
      const got = yield* instance.imds(["@ssh-keys"])
      expect(got.code).toBe(0)
      expect(got.stdout).toBe(`${KEY}\n`)
      expect(got.stderr).toMatch(/^public-keys of user\.meta-data left out: incus: cannot read \S+: invalid YAML in meta-data: .*\n$/)
    })
  )

  it.scopedLive("a user-data that is no YAML costs its own keys and a warning, never user.meta-data's: set_ssh_keys installs those and the phase goes on (BEHAVIOUR.md 4.4)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(`#cloud-config\npackages: [a\nssh_authorized_keys: ["${KEY}"]\n`) },
        faults: { overrides: [{ path: "/1.0/config/user.meta-data", body: `public-keys:\n  - ${KEY}\n` }] }
      })
      const got = yield* instance.imds(["@ssh-keys"])
      expect(got.stdout).toBe(`${KEY}\n`)
      expect(got.stderr).toMatch(/^keys of user-data left out: incus: cannot read \S+cloud-init\.user-data: invalid YAML in user-data: Flow sequence in block collection must be sufficiently indented and end with a \] at line 3, column 1\n$/)
      expect(got.code).toBe(0)
      expect((yield* instance.run(["early"])).code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(main.stderr).toContain("   ++ ssh_authorized_keys: failed\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("public-keys given as a map (name: key, or name: {openssh-key: key}), as NoCloud's meta-data and cloud-init take them, are read too", () =>
    Effect.gen(function* () {
      const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN+S11p5N2LLlXwICD53nT1bDzYYNT+EdmCd5I7oVIxk ops@example"
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1" },
        faults: { overrides: [{ path: "/1.0/config/user.meta-data", body: `public-keys:\n  ops: ${other}\n  k:\n    openssh-key: ${KEY}\n` }] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY}\n${other}\n`, stderr: "" })
    })
  )

  it.scopedLive("public-keys that hold themselves (an alias inside its own anchor) give their keys once: set_ssh_keys installs them and the user-data's", () =>
    Effect.gen(function* () {
      const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN+S11p5N2LLlXwICD53nT1bDzYYNT+EdmCd5I7oVIxk ops@example"
      const instance = yield* makeTestInstance({
        cloud: "incus",
        instance: { hostname: "c1", userData: bytesOf(`#cloud-config\nssh_authorized_keys: ["${other}"]\n`) },
        faults: { overrides: [{ path: "/1.0/config/user.meta-data", body: `public-keys: &keys [${KEY}, {ops: *keys}, *keys]\n` }] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({ code: 0, stdout: `${KEY}\n${other}\n`, stderr: "" })
      expect((yield* instance.run(["early"])).code).toBe(0)
      const main = yield* instance.run(["main"])
      expect(main.stderr).toContain("   ++ set_ssh_keys: done\n")
      expect(main.code).toBe(0)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n${other}\n`)
    })
  )
})

describe("scaleway", () => {
  it.scopedLive("vendor-data, like user-data, is asked for from a source port below 1024, as the metadata service serves it only to one", () =>
    Effect.gen(function* () {
      const vendorData = "#cloud-config\npackages: [htop]\n"
      // the bundled program, as the in-process instance of a user other than root asks from any port (and its simulator allows it)
      const instance = yield* Effect.acquireRelease(
        Effect.promise(() => makeInstance({ cloud: "scaleway", instance: { hostname: "scw-1", vendorData: bytesOf(vendorData) } })),
        (i) => Effect.promise(() => i.close())
      )
      const got = yield* Effect.promise(() => instance.imds(["/vendor_data/cloud-init"]))
      // only root may bind such a port; anyone else is told so, never the service's 403
      expect(got).toEqual(
        process.getuid?.() === 0
          ? { code: 0, stdout: vendorData, stderr: "" }
          : { code: 1, stdout: "", stderr: `imds: scaleway: cannot read http://${instance.sim!.endpoint}/vendor_data/cloud-init: it is served only to a source port below 1024, which only root may use\n` }
      )
    })
  )

  it.scopedLive("a key /conf writes with an empty value (PUBLIC_IP= on an instance without one) is read as empty, exit 0; a key it does not write is not found", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "scaleway", instance: { hostname: "web-1" } })
      expect(yield* instance.imds(["PUBLIC_IP", "+n"])).toEqual({ code: 0, stdout: "\n", stderr: "" })
      expect(yield* instance.imds(["NO_SUCH_KEY"])).toMatchObject({ code: 1, stdout: "" })
    })
  )

  it.scopedLive("a HOSTNAME /conf writes with blanks around it is the name without them, as every cloud's text datum", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "scaleway", instance: { hostname: "  web-1  " } })
      expect(yield* instance.imds(["@hostname"])).toMatchObject({ code: 0, stdout: "web-1" })
    })
  )
})

describe("openstack", () => {
  const driveOf = (dir: string, hostname: string) => {
    const files = openstackFiles({
      instance: { hostname, sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrive drive@example"], userData: bytesOf("#!/bin/sh\necho from the drive\n") },
      instanceId: "6a1c8f3e-2b7d-4c59-9e04-7d2f5b8a1c36",
      tokenTtlEnforced: false,
      privilegedPortEnforced: false,
      now: Date.now,
      report: () => {}
    })
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(join(dir, "openstack/latest"), { recursive: true })
      writeFileSync(join(dir, "openstack/latest", name), data)
    }
    return dir
  }

  it.scopedLive("a config drive comes first: detected from it, read from it, mounted read-only and unmounted, the metadata service never asked", () =>
    Effect.gen(function* () {
      const drive = driveOf(yield* tempDir, "from-drive.novalocal")
      const instance = yield* makeTestInstance({ cloud: "openstack", configDrive: drive, instance: { hostname: "from-service.novalocal" }, env: { CLOUD: "" } })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("openstack\n")
      expect(instance.read("/etc/hostname")).toBe("from-drive\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrive drive@example\n")
      expect(instance.read("/var/log/user-data.log")).toBe("from the drive\n")
      expect(instance.sim!.requests).toEqual([])
      const mounts = instance.commands().filter((c) => c.startsWith("mount "))
      expect(mounts.length).toBeGreaterThan(0)
      for (const m of mounts) expect(m).toMatch(new RegExp(`^mount -o ro -t vfat LABEL=config-2 ${instance.root}/run/tiny-cloud/config-2-\\S+$`))
      expect(instance.commands().filter((c) => c.startsWith("umount ")).map((c) => c.split(" ")[1])).toEqual(mounts.map((m) => m.split(" ").pop()))
      expect(readdirSync(join(instance.root, "run/tiny-cloud")).filter((d) => d.startsWith("config-2-"))).toEqual([])
    })
  )

  it.scopedLive("a config-2 volume without meta_data.json is no config drive (cloud-init's read_v2 requires it): said in one line, and the metadata service read", () =>
    Effect.gen(function* () {
      const volume = yield* tempDir
      mkdirSync(join(volume, "ec2/latest"), { recursive: true })
      writeFileSync(join(volume, "ec2/latest/meta-data.json"), JSON.stringify({ hostname: "stale.novalocal" }))
      const instance = yield* makeTestInstance({ cloud: "openstack", configDrive: volume, instance: { hostname: "from-service.novalocal" } })
      const said = "openstack: the config-2 volume holds no openstack/latest/meta_data.json (nor a dated version's): it is no config drive, the metadata service is read\n"
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "from-service.novalocal", stderr: said })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("from-service\n")
      expect(results[2]!.stderr).toContain(said)
    })
  )

  it.scopedLive("a config-2 volume whose meta_data.json is no JSON object (empty, cut short, a list) is no config drive either (cloud-init's read_v2: BrokenMetadata): said in one line, and the metadata service read", () =>
    Effect.gen(function* () {
      for (const [document, why] of [
        ["", "invalid JSON: Unexpected end of JSON input"],
        ['{"hostname": "stale.novalocal", "admin_pass": Secret', "invalid JSON"],
        ['["stale.novalocal"]', "not a JSON object"]
      ] as const) {
        const volume = driveOf(yield* tempDir, "stale.novalocal")
        writeFileSync(join(volume, "openstack/latest/meta_data.json"), document)
        const instance = yield* makeTestInstance({ cloud: "openstack", configDrive: volume, instance: { hostname: "from-service.novalocal" } })
        const said = `openstack: the config-2 volume's openstack/latest/meta_data.json is unusable (${why}): it is no config drive, the metadata service is read\n`
        expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "from-service.novalocal", stderr: said })
        const results = yield* instance.boot()
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        expect(instance.read("/etc/hostname")).toBe("from-service\n")
        expect(results[2]!.stderr).toContain(said)
        expect((yield* instance.run(["status"])).stdout).toMatch(/^done\n/)
      }
      // nor one that cannot be read at all: a directory in its place (before: the drive's read failed, the service never asked)
      const volume = driveOf(yield* tempDir, "stale.novalocal")
      rmSync(join(volume, "openstack/latest/meta_data.json"))
      mkdirSync(join(volume, "openstack/latest/meta_data.json"))
      const instance = yield* makeTestInstance({ cloud: "openstack", configDrive: volume, instance: { hostname: "from-service.novalocal" } })
      const said = "openstack: the config-2 volume's openstack/latest/meta_data.json is unusable (not a regular file; refused): it is no config drive, the metadata service is read\n"
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "from-service.novalocal", stderr: said })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("from-service\n")
    })
  )

  it.scopedLive("a drive's file over its limit fails only its own reads, naming the drive and the limit; the hostname and keys are set", () =>
    Effect.gen(function* () {
      const drive = driveOf(yield* tempDir, "from-drive.novalocal")
      writeFileSync(join(drive, "openstack/latest/user_data"), `#!/bin/sh\n${"x".repeat(5000)}\n`)
      const instance = yield* makeTestInstance({ cloud: "openstack", configDrive: drive, env: { USERDATA_MAX_BYTES: "1000" } })
      const early = yield* instance.run(["early"])
      expect(early.stderr).toContain("save_userdata: openstack: cannot read config-2:openstack/latest/user_data: larger than 1000 bytes (USERDATA_MAX_BYTES)\n")
      expect((yield* instance.run(["main"])).code).toBe(0)
      expect(instance.read("/etc/hostname")).toBe("from-drive\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrive drive@example\n")
      // a meta_data.json over IMDS_MAX_BYTES is refused the same way
      const big = yield* makeTestInstance({ cloud: "openstack", configDrive: drive, env: { IMDS_MAX_BYTES: "100" } })
      expect(yield* big.imds(["@hostname"])).toEqual({
        code: 1,
        stdout: "",
        stderr: "imds: openstack: cannot read config-2:openstack/latest/meta_data.json: larger than 100 bytes (IMDS_MAX_BYTES)\n"
      })
    })
  )

  it.scopedLive("a drive's other file that cannot be read (a directory in user_data's or network_data.json's place) fails only its own reads, named; the hostname and keys are set from the drive", () =>
    Effect.gen(function* () {
      for (const name of ["user_data", "vendor_data.json", "network_data.json"]) {
        const drive = driveOf(yield* tempDir, "from-drive.novalocal")
        rmSync(join(drive, "openstack/latest", name), { force: true })
        mkdirSync(join(drive, "openstack/latest", name))
        const instance = yield* makeTestInstance({ cloud: "openstack", configDrive: drive, instance: { hostname: "from-service.novalocal" } })
        expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "from-drive.novalocal", stderr: "" })
        const results = yield* instance.boot()
        expect(instance.read("/etc/hostname"), name).toBe("from-drive\n")
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrive drive@example\n")
        if (name === "user_data") {
          expect(results[1]!.stderr).toContain("save_userdata: openstack: cannot read config-2:openstack/latest/user_data: not a regular file; refused\n")
        }
      }
    })
  )

  it.scopedLive("a meta_data.json that is not JSON fails naming the cloud and the URL, never quoting the document (it may hold admin_pass)", () =>
    Effect.gen(function* () {
      const document = '{"hostname": "os-1", "admin_pass": Sup3rSecretPass}'
      const instance = yield* makeTestInstance({
        cloud: "openstack",
        instance: { hostname: "os-1" },
        faults: { overrides: [{ path: "/openstack/latest/meta_data.json", status: 200, body: document }] },
        env: { INIT_ACTIONS_MAIN: "set_hostname" }
      })
      const main = yield* instance.run(["main"])
      const url = `http://${instance.env.IMDS_ENDPOINT}/openstack/latest/meta_data.json`
      expect(main.code).toBe(1)
      expect(main.stderr).toContain(`\nset_hostname: openstack: cannot read ${url}: invalid JSON\n`)
      const status = yield* instance.run(["status"])
      for (const text of [main.stderr, instance.read("/var/lib/cloud/status.json")!, status.stdout]) expect(text).not.toContain("Secret")
      // a message that quotes nothing is kept
      const cut = yield* makeTestInstance({
        cloud: "openstack",
        faults: { overrides: [{ path: "/openstack/latest/meta_data.json", status: 200, body: '{"hostname": "os-1"' }] }
      })
      expect((yield* cut.imds(["@hostname"])).stderr).toMatch(/^imds: openstack: cannot read \S+: invalid JSON: Expected ',' or '}' after property value in JSON at position 19\b/)
    })
  )

  it.scopedLive("hetzner: a public-keys item that is no string is left out in one line naming its place, the strings are the instance's", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHzKey hz@example"
      const instance = yield* makeTestInstance({
        cloud: "hetzner",
        faults: { overrides: [{ path: "/hetzner/v1/metadata/public-keys", status: 200, body: JSON.stringify([key, 5]) }] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({
        code: 0,
        stdout: `${key}\n`,
        stderr: `hetzner: http://${instance.sim!.endpoint}/hetzner/v1/metadata/public-keys: item 1 is not a string; it is left out\n`
      })
    })
  )

  it.scopedLive("hetzner: a public-keys of null, {} or an empty body is no keys, as cloud-init reads it: set_ssh_keys says no key found, main ends well; a string is still refused in one line", () =>
    Effect.gen(function* () {
      for (const body of ["null", "{}", ""]) {
        const instance = yield* makeTestInstance({
          cloud: "hetzner",
          faults: { overrides: [{ path: "/hetzner/v1/metadata/public-keys", status: 200, body }] }
        })
        expect(yield* instance.imds(["@ssh-keys"]), body).toEqual({ code: 0, stdout: "", stderr: "" })
        const early = yield* instance.run(["early"])
        expect(early.code, body).toBe(0)
        const main = yield* instance.run(["main"])
        expect(main.stderr, body).not.toContain("expected a JSON list")
        expect(main.stderr, body).toContain("\nset_ssh_keys: no ssh key found\n")
        expect(main.code, body).toBe(0)
      }
      const text = yield* makeTestInstance({
        cloud: "hetzner",
        faults: { overrides: [{ path: "/hetzner/v1/metadata/public-keys", status: 200, body: '"ssh-rsa X"' }] }
      })
      expect(yield* text.imds(["@ssh-keys"])).toEqual({
        code: 1,
        stdout: "",
        stderr: `imds: hetzner: cannot read http://${text.sim!.endpoint}/hetzner/v1/metadata/public-keys: expected a JSON list of strings\n`
      })
    })
  )

  it.scopedLive("a public-keys list of thousands of items that are no string (hetzner), or public_keys entries (openstack), is said in at most 101 lines, not in a line per item", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHzKey many@example"
      const hz = yield* makeTestInstance({
        cloud: "hetzner",
        faults: { overrides: [{ path: "/hetzner/v1/metadata/public-keys", status: 200, body: JSON.stringify([key, ...Array<number>(5000).fill(1)]) }] }
      })
      const url = `http://${hz.sim!.endpoint}/hetzner/v1/metadata/public-keys`
      const fromHetzner = yield* hz.imds(["@ssh-keys"])
      expect([fromHetzner.code, fromHetzner.stdout]).toEqual([0, `${key}\n`])
      expect(fromHetzner.stderr.split("\n")).toEqual([
        ...Array.from({ length: 100 }, (_, i) => `hetzner: ${url}: item ${i + 1} is not a string; it is left out`),
        `hetzner: ${url}: 4900 more items that are not strings are left out, not listed`,
        ""
      ])
      const entries = Object.fromEntries([["good", key], ...Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])])
      const os = yield* makeTestInstance({
        cloud: "openstack",
        faults: { overrides: [{ path: "/openstack/latest/meta_data.json", status: 200, body: JSON.stringify({ hostname: "os-1", public_keys: entries }) }] }
      })
      const fromOpenstack = yield* os.imds(["@ssh-keys"])
      expect([fromOpenstack.code, fromOpenstack.stdout]).toEqual([0, `${key}\n`])
      expect(fromOpenstack.stderr.split("\n")).toEqual([
        ...Array.from({ length: 100 }, (_, i) => `openstack: meta_data.json: public_keys 'k${i}' is not a string; it is left out`),
        "openstack: meta_data.json: 4900 more public_keys entries that are not strings are left out, not listed",
        ""
      ])
    })
  )

  it.scopedLive("a public_keys entry that is no string is left out in one line naming it (escaped), the others are the instance's", () =>
    Effect.gen(function* () {
      const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOsKey os@example"
      const document = JSON.stringify({ hostname: "os-1", public_keys: { good: key, "bad\r\nname": 5, obj: { k: key } } })
      const instance = yield* makeTestInstance({
        cloud: "openstack",
        faults: { overrides: [{ path: "/openstack/latest/meta_data.json", status: 200, body: document }] }
      })
      expect(yield* instance.imds(["@ssh-keys"])).toEqual({
        code: 0,
        stdout: `${key}\n`,
        stderr:
          "openstack: meta_data.json: public_keys 'bad\\x0d\\x0aname' is not a string; it is left out\n" +
          "openstack: meta_data.json: public_keys 'obj' is not a string; it is left out\n"
      })
    })
  )

  it.scopedLive("a hostname that is no string (a number, a list, an object) is left out in one line saying so, never as 'not found' alone", () =>
    Effect.gen(function* () {
      for (const hostname of [12, true, ["os-1"], { name: "os-1" }]) {
        const instance = yield* makeTestInstance({
          cloud: "openstack",
          faults: { overrides: [{ path: "/openstack/latest/meta_data.json", status: 200, body: JSON.stringify({ hostname, name: "os-1" }) }] },
          env: { INIT_ACTIONS_MAIN: "set_hostname" }
        })
        expect(yield* instance.imds(["@hostname"])).toEqual({
          code: 1,
          stdout: "",
          stderr: "openstack: meta_data.json: hostname is not a string; it is left out\nimds: @hostname: not found\n"
        })
        const main = yield* instance.run(["main"])
        expect(main.code).toBe(0)
        expect(main.stderr).toContain("openstack: meta_data.json: hostname is not a string; it is left out\n")
        expect(main.stderr).toContain("set_hostname: no hostname set\n")
      }
    })
  )

  it.scopedLive("without a drive, the metadata service", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "openstack", instance: { hostname: "from-service.novalocal" } })
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "from-service.novalocal", stderr: "" })
      expect(instance.sim!.requests.map((r) => r.path)).toEqual(["/openstack/latest/meta_data.json"])
    })
  )
})

describe("detection between clouds that share signs", () => {
  it.scopedLive.each([
    { what: "a droplet, which carries a config drive too, is digitalocean", files: { "/sys/class/dmi/id/sys_vendor": "DigitalOcean\n" }, drive: true, cloud: "digitalocean" },
    { what: "OpenStack Compute in the DMI product name is openstack", files: { "/sys/class/dmi/id/product_name": "OpenStack Compute\n" }, drive: false, cloud: "openstack" },
    { what: "OpenTelekomCloud in the DMI chassis asset tag is openstack", files: { "/sys/class/dmi/id/chassis_asset_tag": "OpenTelekomCloud\n" }, drive: false, cloud: "openstack" },
    { what: "HUAWEICLOUD in the DMI chassis asset tag is openstack", files: { "/sys/class/dmi/id/chassis_asset_tag": "HUAWEICLOUD\n" }, drive: false, cloud: "openstack" },
    { what: "SAP CCloud VM in the DMI chassis asset tag is openstack", files: { "/sys/class/dmi/id/chassis_asset_tag": "SAP CCloud VM\n" }, drive: false, cloud: "openstack" },
    { what: "OpenStack Nova in the DMI chassis asset tag is openstack", files: { "/sys/class/dmi/id/chassis_asset_tag": "OpenStack Nova\n" }, drive: false, cloud: "openstack" },
    { what: "a config-2 volume alone is openstack", files: {}, drive: true, cloud: "openstack" },
    { what: "a GoogleCloud- serial alone is gcp, whatever the product is named", files: { "/sys/class/dmi/id/product_serial": "GoogleCloud-3F1C0A9E7B2D46E58A1B9C0D2E4F6A17\n" }, drive: false, cloud: "gcp" }
  ])("$what", ({ files, drive, cloud }) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true, ...(drive ? { configDrive: yield* tempDir } : {}) })
      for (const [path, content] of Object.entries(files)) instance.write(path, content)
      yield* instance.imds(["-e", "-E", "@hostname"])
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe(`${cloud}\n`)
    })
  )
})
