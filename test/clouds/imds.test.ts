/**
 * `imds` and a first boot on every cloud with a metadata service, in-process
 * against the real simulator (BEHAVIOUR.md §1 imds, §4 metadata reads, §5).
 * The clouds come from the registry; what must differ between them is in
 * `PER_CLOUD`, whose completeness the first test checks.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { bytesOf } from "../../src/domain/text.js"
import { appLayer } from "../../src/layers/live.js"
import { imds } from "../../src/programs/imds-cli.js"
import { Http } from "../../src/services/Http.js"
import { makeFakeSystem } from "../../src/sim/fake-system.js"
import { simulatedCloud, type SimInstance } from "../../src/sim/simulator.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { scratchDir, scopedDir } from "../support/scratch.js"
import { makeTestInstance, type InstanceOptions, type RunResult } from "../support/instance.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"

/** every cloud of the registry served by a metadata service (HTTP or a socket): all but the NoCloud seed */
const HTTP_CLOUDS: ReadonlyArray<string> = (
  await Promise.all(CLOUD_NAMES.map(async (cloud) => ((await simulatedCloud(cloud)).seedPath === undefined ? [cloud] : [])))
).flat()

const HOST = "web-1.example.internal"
const AWS_LOCAL = "ip-10-0-0-5.ec2.internal"
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB it's b:\"quoted\" $HOME"
const SORTED_KEYS = `${[KEY_A, KEY_B].sort().join("\n")}\n`
const SCRIPT = "#!/bin/sh\necho hello from user-data\n"
/** a cloud that has its keys in the user-data gets them as #cloud-config YAML */
const KEYS_CONFIG = `#cloud-config\nssh_authorized_keys:\n  - ${JSON.stringify(KEY_B)}\nusers:\n  - default\n  - name: alpine\n    ssh_authorized_keys: [${JSON.stringify(KEY_A)}, ${JSON.stringify(KEY_B)}]\n`
/** eth0 of the pretend instance: hex letters, so that each cloud's MAC spelling shows */
const MAC = "0a:1b:2c:3d:4e:5f"
const INTERFACES = [{ name: "eth0", mac: MAC, up: true }]

/** what a `@nic:eth0,KEY` gives: its output, or the message of its error line */
type Datum = { readonly out: string } | { readonly error: string }

interface CloudCase {
  /** the cloud publishes no keys of its own: they come from #cloud-config user-data */
  readonly keysInUserData: boolean
  /** `@local-hostname` when it is not the hostname */
  readonly localHostname?: string
  /** a key this cloud has no datum for, and the message `imds` prints for it */
  readonly unavailable: { readonly key: string; readonly error: string }
  /** a verbatim path under the metadata root and what the cloud serves for it */
  readonly verbatim: { readonly args: ReadonlyArray<string>; readonly stdout: string }
  /** how the cloud is recognised offline: a DMI file, or `socket` (the simulator's socket under ROOT) */
  readonly detection: { readonly file: string; readonly content: string } | "socket"
  /** `@nic:eth0,...`; a cloud that publishes no NICs: the one error every NIC key gives */
  readonly nic:
    | {
        /** `@nic:eth0`: the NIC's own datum */
        readonly self: string
        /** MAC as the cloud writes it */
        readonly mac: string
        readonly ipv4: string
        readonly ipv4Net: string
        /** the NIC has no IPv6 prefix */
        readonly ipv6Prefix: Datum
      }
    | { readonly error: string }
}

const notAvailable = (what: string, cloud: string) => `${what} is not available on this cloud (${cloud})`

const PER_CLOUD: Readonly<Record<string, CloudCase>> = {
  aws: {
    keysInUserData: false,
    localHostname: AWS_LOCAL,
    unavailable: { key: "meta-data/nothing-here", error: "meta-data/nothing-here: not found" },
    verbatim: { args: ["meta-data/instance-id"], stdout: "i-0123456789abcdef0" },
    detection: { file: "/sys/class/dmi/id/sys_vendor", content: "Amazon EC2\n" },
    nic: {
      self: "device-number\nmac\nlocal-ipv4s\nipv6s\nsubnet-ipv4-cidr-block\nsubnet-ipv6-cidr-blocks",
      mac: MAC,
      ipv4: "10.0.0.5",
      ipv4Net: "10.0.0.0/24",
      ipv6Prefix: { error: "@nic:eth0,@ipv6-prefix: not found" }
    }
  },
  azure: {
    keysInUserData: false,
    unavailable: { key: "@nic:eth0,@ipv4-prefix", error: notAvailable("@ipv4-prefix", "azure") },
    verbatim: { args: ["compute/vmId"], stdout: "d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21" },
    detection: { file: "/sys/class/dmi/id/chassis_asset_tag", content: "7783-7084-3265-9085-8269-3286-77\n" },
    nic: {
      self: "macAddress\nipv4/\nipv6/",
      mac: "0A1B2C3D4E5F",
      ipv4: "10.0.0.5",
      ipv4Net: "10.0.0.0/24",
      ipv6Prefix: { error: notAvailable("@ipv6-prefix", "azure") }
    }
  },
  gcp: {
    keysInUserData: false,
    unavailable: { key: "@nic:eth0,@ipv6-net", error: notAvailable("@ipv6-net", "gcp") },
    // a directory without its `/` is redirected, and followed
    verbatim: { args: ["instance/id", "+n", "instance/attributes"], stdout: "4611686018427387904\nssh-keys\nuser-data\n" },
    detection: { file: "/sys/class/dmi/id/product_name", content: "Google Compute Engine\n" },
    nic: {
      self: "mac\nip\nipv6s\nsubnetmask\ngateway\nnetwork\nip-aliases/\nforwarded-ips/\nforwarded-ipv6s/\n",
      mac: MAC,
      ipv4: "10.0.0.5",
      ipv4Net: "10.0.0.0/24",
      ipv6Prefix: { error: "@nic:eth0,@ipv6-prefix: not found" }
    }
  },
  oci: {
    keysInUserData: false,
    unavailable: { key: "@nic:eth0,@ipv6-prefix", error: notAvailable("@ipv6-prefix", "oci") },
    verbatim: { args: ["instance/id"], stdout: "ocid1.instance.oc1.sim.aaaaaaaasimulatedinstance" },
    detection: { file: "/sys/class/dmi/id/chassis_asset_tag", content: "OracleCloud.com\n" },
    nic: {
      self: JSON.stringify(
        {
          vnicId: "ocid1.vnic.oc1.sim.vnic0",
          privateIp: "10.0.0.5",
          vlanTag: 0,
          macAddr: "0A:1B:2C:3D:4E:5F",
          virtualRouterIp: "10.0.0.1",
          subnetCidrBlock: "10.0.0.0/24",
          ipv6Addresses: ["fd00::5"],
          ipv6SubnetCidrBlock: "fd00::/64",
          ipv6VirtualRouterIp: "fd00::1"
        },
        null,
        2
      ),
      mac: "0A:1B:2C:3D:4E:5F",
      ipv4: "10.0.0.5",
      ipv4Net: "10.0.0.0/24",
      ipv6Prefix: { error: notAvailable("@ipv6-prefix", "oci") }
    }
  },
  hetzner: {
    keysInUserData: false,
    unavailable: { key: "@nics", error: notAvailable("@nics", "hetzner") },
    verbatim: { args: ["instance-id"], stdout: "1000001" },
    detection: { file: "/sys/class/dmi/id/sys_vendor", content: "Hetzner\n" },
    nic: { error: notAvailable("@nic", "hetzner") }
  },
  scaleway: {
    keysInUserData: false,
    unavailable: { key: "@nics", error: notAvailable("@nics", "scaleway") },
    verbatim: { args: ["ID"], stdout: "7c8e4f2a-5b1d-4e3c-9a6f-0d2b1c3e4f5a" },
    detection: { file: "/sys/class/dmi/id/sys_vendor", content: "Scaleway\n" },
    nic: { error: notAvailable("@nic", "scaleway") }
  },
  incus: {
    keysInUserData: true,
    unavailable: { key: "@nics", error: notAvailable("@nics", "incus") },
    verbatim: { args: ["instance-id"], stdout: "sim-incus-instance" },
    detection: "socket",
    nic: { error: notAvailable("@nic", "incus") }
  },
  digitalocean: {
    keysInUserData: false,
    unavailable: { key: "@nic:eth0,@ipv4-prefix", error: notAvailable("@ipv4-prefix", "digitalocean") },
    // an index without its `/` is redirected (301, as DigitalOcean documents), and followed
    verbatim: { args: ["id", "+n", "interfaces"], stdout: "22532410\npublic/" },
    detection: { file: "/sys/class/dmi/id/sys_vendor", content: "DigitalOcean\n" },
    nic: {
      self: "mac\ntype\nipv4/\nipv6/\nanchor_ipv4/",
      mac: MAC,
      ipv4: "10.0.0.5",
      ipv4Net: "10.0.0.0/24",
      ipv6Prefix: { error: notAvailable("@ipv6-prefix", "digitalocean") }
    }
  },
  openstack: {
    keysInUserData: false,
    unavailable: { key: "@nic:eth0,@ipv4-prefix", error: notAvailable("@ipv4-prefix", "openstack") },
    verbatim: { args: ["vendor_data2.json"], stdout: "{}" },
    detection: { file: "/sys/class/dmi/id/product_name", content: "OpenStack Nova\n" },
    nic: {
      self: "ethernet_mac_address\nid\nmtu\ntype\nvif_id",
      mac: MAC,
      ipv4: "10.0.0.5",
      ipv4Net: "10.0.0.0/24",
      ipv6Prefix: { error: notAvailable("@ipv6-prefix", "openstack") }
    }
  }
}

/**
 * A pretend instance whose metadata service is always there: these tests are
 * about what it answers, not when (PATIENT_METADATA); the file's many
 * concurrent tests share the simulators' thread.
 */
const patientInstance = (options: InstanceOptions) => makeTestInstance({ ...options, env: { ...PATIENT_METADATA, ...options.env } })

const caseOf = (cloud: string): CloudCase => {
  const c = PER_CLOUD[cloud]
  if (c === undefined) throw new Error(`no entry for ${cloud} in PER_CLOUD`)
  return c
}

const userDataOf = (cloud: string) => (caseOf(cloud).keysInUserData ? KEYS_CONFIG : SCRIPT)

const instanceFor = (cloud: string): SimInstance => ({
  hostname: HOST,
  ...(caseOf(cloud).localHostname !== undefined ? { localHostname: caseOf(cloud).localHostname! } : {}),
  sshKeys: [KEY_B, KEY_A, KEY_B],
  userData: bytesOf(userDataOf(cloud)),
  nics: [{ mac: MAC, ipv4: ["10.0.0.5"], ipv4Net: ["10.0.0.0/24"], ipv6: ["fd00::5"], ipv6Net: ["fd00::/64"] }]
})

const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: "" })
const failed = (stdout: string, ...errors: ReadonlyArray<string>): RunResult => ({ code: 1, stdout, stderr: errors.map((e) => `imds: ${e}\n`).join("") })
const wentOn = (stdout: string, ...errors: ReadonlyArray<string>): RunResult => ({ ...failed(stdout, ...errors), code: 0 })

describe("the clouds", () => {
  it("every cloud of the registry with a metadata service has its expectations, and only those", () => {
    expect(HTTP_CLOUDS.length).toBeGreaterThan(0)
    expect(Object.keys(PER_CLOUD).sort()).toEqual([...HTTP_CLOUDS].sort())
  })
})

describe.concurrent.each(HTTP_CLOUDS)("%s", (cloud) => {
  it.scopedLive("first boot: hostname, keys and user-data", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: instanceFor(cloud) })
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/etc/hosts")).toBe(`127.0.0.1\tlocalhost\n127.0.1.1\t${HOST} web-1\n`)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(SORTED_KEYS)
      expect(instance.mode("/home/alpine/.ssh/authorized_keys")).toBe(0o600)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(userDataOf(cloud))
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      // scaleway serves user-data only to a privileged source port, which only root can bind
      if (cloud === "scaleway" && process.getuid?.() === 0) {
        const ud = instance.sim!.requests.filter((r) => r.path.startsWith("/user_data/"))
        expect(ud.length).toBeGreaterThan(0)
        expect(ud.every((r) => r.remotePort !== undefined && r.remotePort < 1024 && r.status === 200)).toBe(true)
      }
    })
  )

  it.scopedLive("main as a process of its own asks each of its data once (issue 13: no repeated request)", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: instanceFor(cloud) })
      for (const phase of ["boot", "early"]) expect((yield* instance.run([phase])).code).toBe(0)
      const before = instance.sim!.requests.length
      expect((yield* instance.run(["main"])).code).toBe(0)
      const asked = instance.sim!.requests.slice(before).map((r) => `${r.method} ${r.path}`)
      expect(asked.filter((r, i) => asked.indexOf(r) !== i)).toEqual([])
    })
  )

  it.scopedLive("imds aliases, separators and error switches", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: instanceFor(cloud) })
      const c = caseOf(cloud)
      const bad = c.unavailable
      const [all, stops, goesOn, hidden, spelled, verbatim] = yield* Effect.all(
        [
          instance.imds(["@hostname", "+n", "@local-hostname", "+s", "@hostname", "+t", "@ssh-keys", "@userdata"]),
          // +e (the default): stop at the first error, with its status and one line
          instance.imds(["@hostname", "+n", bad.key, "@hostname"]),
          // -e: report and go on; -E: not even report; +E: report again
          instance.imds(["-e", bad.key, "-E", bad.key, "+E", "@hostname", "+n"]),
          instance.imds(["-E", bad.key, "@hostname"]),
          // `tiny-cloud imds` is the same command
          instance.run(["imds", "@hostname", "+n"]),
          instance.imds(c.verbatim.args)
        ],
        { concurrency: "unbounded" }
      )
      expect(all).toEqual(ok(`${HOST}\n${c.localHostname ?? HOST} ${HOST}\t${SORTED_KEYS}${userDataOf(cloud)}`))
      expect(stops).toEqual(failed(`${HOST}\n`, bad.error))
      expect(goesOn).toEqual(wentOn(`${HOST}\n`, bad.error))
      expect(hidden).toEqual({ code: 1, stdout: "", stderr: "" })
      expect(spelled).toEqual(ok(`${HOST}\n`))
      expect(verbatim).toEqual(ok(c.verbatim.stdout))
    })
  )

  it.scopedLive("@nic:eth0 keys, the NIC's own datum, and -e/+e inside the list, which end with it", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: instanceFor(cloud) })
      const nic = caseOf(cloud).nic
      const [aliases, self, goesOn, stops, scoped, outerIgnores] = yield* Effect.all(
        [
          // an empty key (`,,`, a trailing `,`) is none
          instance.imds(["@nic:eth0,@mac,,+n,@ipv4,+n,@ipv4-net,"]),
          instance.imds(["@nic:eth0"]),
          instance.imds(["@nic:eth0,-e,@ipv6-prefix,+n,@mac"]),
          instance.imds(["@nic:eth0,-e,@ipv6-prefix,+e,@ipv6-prefix,+n,@mac"]),
          // the list's -e does not reach the keys after it
          instance.imds(["@nic:eth0,-e,@ipv6-prefix", "+n", "meta-data/nothere", "@hostname"]),
          // nor does the outer -e reach into the list, which stops at its error; the outer run goes on
          instance.imds(["-e", "@nic:eth0,@ipv6-prefix,@mac", "+n", "@hostname"])
        ],
        { concurrency: "unbounded" }
      )
      if ("error" in nic) {
        expect(aliases).toEqual(failed("", nic.error))
        expect(self).toEqual(failed("", nic.error))
        expect(goesOn).toEqual(wentOn("\n", nic.error, nic.error))
        expect(stops).toEqual(failed("", nic.error, nic.error))
        return
      }
      expect(aliases).toEqual(ok(`${nic.mac}\n${nic.ipv4}\n${nic.ipv4Net}`))
      expect(self).toEqual(ok(nic.self))
      const prefix = nic.ipv6Prefix
      if ("out" in prefix) throw new Error("the NIC has no IPv6 prefix: @ipv6-prefix is an error")
      expect(goesOn).toEqual(wentOn(`\n${nic.mac}`, prefix.error))
      expect(stops).toEqual(failed("", prefix.error, prefix.error))
      const missing = yield* instance.imds(["meta-data/nothere"])
      expect(scoped.code).toBe(1)
      expect(scoped.stdout).toBe("\n")
      expect(scoped.stderr).toBe(`imds: ${prefix.error}\n${missing.stderr}`)
      expect(outerIgnores).toEqual(wentOn(`\n${HOST}`, prefix.error))
    })
  )

  it.scopedLive("-E and +E inside a @nic: list are verbatim sub-paths, as the contract lists only -e, +e, +n, +s, +t there (the list stops at them)", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: instanceFor(cloud) })
      const [hide, show] = yield* Effect.all([instance.imds(["@nic:eth0,-E,@mac"]), instance.imds(["@nic:eth0,+E,@mac"])], { concurrency: "unbounded" })
      for (const [r, key] of [[hide, "-E"], [show, "+E"]] as const) {
        expect(r.code).toBe(1)
        expect(r.stdout).toBe("")
        // (a cloud without NICs names the list's first key)
        expect(r.stderr).toContain("error" in caseOf(cloud).nic ? "@nic" : `@nic:eth0,${key}`)
      }
    })
  )

  it.scopedLive("@nic:IFACE whose address file spells the MAC in upper case is the same NIC", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: [{ name: "eth0", mac: MAC.toUpperCase(), up: true }], instance: instanceFor(cloud) })
      const nic = caseOf(cloud).nic
      const r = yield* instance.imds(["@nic:eth0,@mac,+n,@ipv4"])
      expect(r).toEqual("error" in nic ? failed("", nic.error) : ok(`${nic.mac}\n${nic.ipv4}`))
    })
  )

  it.scopedLive("an interface that does not exist, or a name that leaves /sys/class/net, is no such interface", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: instanceFor(cloud) })
      // where the hostile names lead: an `address` holding the NIC's MAC, inside ROOT and outside it
      for (const dir of [join(instance.root, "sys/etc"), join(instance.dir, "outside")]) {
        mkdirSync(dir, { recursive: true })
        writeFileSync(join(dir, "address"), `${MAC}\n`)
      }
      const [missing, hostile, outside, goesOn] = yield* Effect.all(
        [
          instance.imds(["@nic:eth9"]),
          instance.imds(["@nic:../../etc,@mac"]),
          instance.imds(["@nic:../../../../outside,@mac"]),
          instance.imds(["-e", "@nic:eth9,@mac", "@hostname"])
        ],
        { concurrency: "unbounded" }
      )
      expect(missing).toEqual(failed("", "@nic:eth9: no such interface"))
      expect(hostile).toEqual(failed("", "@nic:../../etc: no such interface"))
      expect(outside).toEqual(failed("", "@nic:../../../../outside: no such interface"))
      expect(goesOn).toEqual(wentOn(HOST, "@nic:eth9: no such interface"))
    })
  )

  it.scopedLive("absent data is empty, not an error", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: {} })
      const r = yield* instance.imds(["-e", "@hostname", "@local-hostname", "@ssh-keys", "@userdata"])
      expect(r).toEqual(wentOn("", "@hostname: not found", "@local-hostname: not found"))
    })
  )

  it.scopedLive("a 204 answer is absent data, as a 404 is", () =>
    Effect.gen(function* () {
      const { layer, seen } = yield* answering204
      const r = yield* imdsOver(layer, cloud, ["-e", "@hostname", "@local-hostname", "@ssh-keys", "@userdata"])
      expect(r).toEqual(wentOn("", "@hostname: not found", "@local-hostname: not found"))
      const answers = yield* Ref.get(seen)
      expect(answers.filter((a) => a.status === 204).length).toBeGreaterThan(0)
      expect(answers.every((a) => a.status === 204 || a.method === "PUT")).toBe(true)
    })
  )

  it.scopedLive("is detected offline and the detection is used by imds", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud, interfaces: INTERFACES, instance: { hostname: HOST }, env: { CLOUD: "" } })
      const sign = caseOf(cloud).detection
      if (sign !== "socket") instance.write(sign.file, sign.content)
      expect(yield* instance.imds(["@hostname", "+n"])).toEqual(ok(`${HOST}\n`))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe(`${cloud}\n`)
    })
  )
})

describe("azure: a path with a query of its own", () => {
  it.scopedLive("keeps its parameters, and gets the cloud's others after them (format=json, not a second '?')", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "azure", interfaces: INTERFACES, instance: instanceFor("azure") })
      const [json, other] = yield* Effect.all([instance.imds(["compute/vmId?format=json"]), instance.imds(["compute/vmId?x=1"])], { concurrency: "unbounded" })
      expect(json).toEqual(ok('"d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21"'))
      expect(other).toEqual(ok("d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21"))
      expect(instance.sim!.requests.map((r) => r.path).filter((p) => p.startsWith("/metadata/instance/compute/vmId")).sort()).toEqual([
        "/metadata/instance/compute/vmId?format=json&api-version=2021-05-01",
        "/metadata/instance/compute/vmId?x=1&format=text&api-version=2021-05-01"
      ])
    })
  )
})

describe("openstack @nic:IFACE,SUB-PATH", () => {
  it.scopedLive("reads the link's own data: what a JSON object merely inherits (constructor, toString, __proto__) is not found, and no such name is an imds separator", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "openstack", interfaces: INTERFACES, instance: instanceFor("openstack") })
      const [type, inherited, method, proto, topLevel] = yield* Effect.all(
        [
          instance.imds(["@nic:eth0,type"]),
          instance.imds(["@nic:eth0,constructor"]),
          instance.imds(["@nic:eth0,toString"]),
          instance.imds(["@nic:eth0,__proto__"]),
          // nor is it a separator (`+n` is)
          instance.imds(["-e", "constructor", "+n", "toString"])
        ],
        { concurrency: "unbounded" }
      )
      expect(type).toEqual(ok("ovs"))
      expect(inherited).toEqual(failed("", "@nic:eth0,constructor: not found"))
      expect(method).toEqual(failed("", "@nic:eth0,toString: not found"))
      expect(proto).toEqual(failed("", "@nic:eth0,__proto__: not found"))
      expect(topLevel).toEqual(wentOn("\n", "constructor: not found", "toString: not found"))
    })
  )
})

describe("@nic:IFACE,SUB-PATH naming a directory without its trailing /", () => {
  // GCP's and DigitalOcean's services redirect such a request (301) to the directory, as a verbatim path's is followed
  it.scopedLive("gcp: the directory's listing, and what is under it", () =>
    Effect.gen(function* () {
      const nics = [{ mac: MAC, ipv4: ["10.0.0.5"], ipv4Net: ["10.0.0.0/24"], ipv4Prefix: ["10.8.0.0/24"] }]
      const instance = yield* patientInstance({ cloud: "gcp", interfaces: INTERFACES, instance: { ...instanceFor("gcp"), nics } })
      expect(yield* instance.imds(["@nic:eth0,ip-aliases,+n,ip-aliases/0"])).toEqual(ok("0\n\n10.8.0.0/24"))
    })
  )
  it.scopedLive("digitalocean: the directory's listing, and what is under it", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "digitalocean", interfaces: INTERFACES, instance: instanceFor("digitalocean") })
      expect(yield* instance.imds(["@nic:eth0,ipv4,+n,ipv4/address"])).toEqual(ok("address\nnetmask\ngateway\n10.0.0.5"))
    })
  )
})

describe("detection", () => {
  it.scopedLive("nothing recognisable: unknown, and metadata actions say so", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      expect(yield* instance.imds(["@hostname"])).toEqual(failed("", "no cloud detected: set CLOUD in /etc/tiny-cloud.conf"))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
    })
  )

  it.scopedLive("nocloud named on the command line (priority 10) wins over another cloud's SMBIOS string (priority 50), as cloud-init's ds= does", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      instance.write("/sys/class/dmi/id/sys_vendor", "Hetzner\n")
      instance.write("/proc/cmdline", "console=ttyS0 ds=nocloud;h=seeded-1\n")
      instance.write("/var/lib/cloud/seed/nocloud/meta-data", "instance-id: i-1\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok("seeded-1"))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
    })
  )

  it.scopedLive("a ds=nocloud that names the host and instance itself is a seed of its own, with no seed files anywhere", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      instance.write("/proc/cmdline", "console=ttyS0 ds=nocloud;h=only-1;i=iid-1\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok("only-1"))
      expect(yield* instance.imds(["meta-data/instance-id"])).toEqual(ok("iid-1"))
    })
  )

  // the lowest number wins (BEHAVIOUR.md §5, §7): a VM with Incus's socket whose image names another cloud
  it.scopedLive.each([
    ["a SMBIOS string (priority 50)", "/sys/class/dmi/id/sys_vendor", "Hetzner\n"],
    ["ds=nocloud on the command line (priority 10)", "/proc/cmdline", "console=ttyS0 ds=nocloud;h=seeded-1\n"]
  ])("incus (priority 5) wins over %s", ([, file, content]) =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "incus", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write(file, content)
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("incus\n")
    })
  )

  it.scopedLive("in a container, whose sysfs shows the host's SMBIOS strings, a container on an EC2 host is no aws instance: the host's metadata service is never asked", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "aws", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write("/sys/class/dmi/id/sys_vendor", "Amazon EC2\n")
      instance.write("/sys/class/dmi/id/product_uuid", "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n")
      instance.write("/sys/hypervisor/uuid", "ec2c6e2f-5fac-4fc7-9c82-74127ec14bbb\n")
      instance.write("/proc/1/environ", "container=lxc\0PATH=/sbin:/bin\0")
      expect(yield* instance.imds(["@hostname"])).toEqual(failed("", "no cloud detected: set CLOUD in /etc/tiny-cloud.conf"))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
      expect(instance.sim!.requests).toEqual([])
    })
  )

  it.scopedLive("in a container, /proc/cmdline is the host kernel's: its ds=nocloud (the host's own seed) is not the container's, init's arguments are read in its place", () =>
    Effect.gen(function* () {
      const host = yield* makeTestInstance({ noSimulator: true })
      host.write("/proc/cmdline", "console=ttyS0 ds=nocloud;s=http://10.0.0.1/host-seed/;h=host-1\n")
      host.write("/sys/class/dmi/id/product_serial", "ds=nocloud;h=host-2\n")
      host.write("/proc/1/environ", "container=lxc\0")
      expect(yield* host.imds(["@hostname"])).toEqual(failed("", "no cloud detected: set CLOUD in /etc/tiny-cloud.conf"))
      expect(host.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
      const own = yield* makeTestInstance({ noSimulator: true })
      own.write("/proc/cmdline", "console=ttyS0 ds=nocloud;h=host-1\n")
      own.write("/proc/1/environ", "container=lxc\0")
      own.write("/proc/1/cmdline", "/sbin/init\0ds=nocloud;h=ct-1\0")
      expect(yield* own.imds(["@hostname"])).toEqual(ok("ct-1"))
      expect(own.read("/var/lib/cloud/.autodetect")).toBe("nocloud\n")
    })
  )

  it.scopedLive("in a container, the block devices are the host's: its cidata or config-2 volume (its own seed or config drive) makes the container neither nocloud nor openstack", () =>
    Effect.gen(function* () {
      const seed = scratchDir("tiny-cloud-cidata-")
      const drive = scratchDir("tiny-cloud-config-2-")
      writeFileSync(join(seed, "meta-data"), "instance-id: host-1\nlocal-hostname: host-1\n")
      try {
        for (const volume of [{ cidata: seed }, { configDrive: drive }]) {
          const instance = yield* makeTestInstance({ noSimulator: true, ...volume })
          instance.write("/proc/1/environ", "container=lxc\0")
          expect(yield* instance.imds(["@hostname"])).toEqual(failed("", "no cloud detected: set CLOUD in /etc/tiny-cloud.conf"))
          expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
          expect(instance.commands().filter((c) => c.startsWith("findfs ") || c.startsWith("mount "))).toEqual([])
        }
      } finally {
        rmSync(seed, { recursive: true, force: true })
        rmSync(drive, { recursive: true, force: true })
      }
    })
  )

  it.scopedLive("in a container with CLOUD set, the host's cidata or config-2 volume is still not mounted: the container's own seed directory or metadata service is read", () =>
    Effect.gen(function* () {
      const hostSeed = scratchDir("tiny-cloud-cidata-")
      const drive = scratchDir("tiny-cloud-config-2-")
      writeFileSync(join(hostSeed, "meta-data"), "instance-id: host-1\nlocal-hostname: host-1\n")
      mkdirSync(join(drive, "openstack/latest"), { recursive: true })
      writeFileSync(join(drive, "openstack/latest/meta_data.json"), JSON.stringify({ uuid: "host-1", hostname: "host-1.novalocal" }))
      try {
        const seeded = yield* makeTestInstance({ noSimulator: true, cidata: hostSeed, env: { CLOUD: "nocloud" } })
        seeded.write("/proc/1/environ", "container=lxc\0")
        seeded.write("/var/lib/cloud/seed/nocloud/meta-data", "instance-id: ct-1\nlocal-hostname: ct-1\n")
        expect(yield* seeded.imds(["@hostname"])).toEqual(ok("ct-1"))
        const served = yield* patientInstance({ cloud: "openstack", configDrive: drive, instance: { hostname: HOST } })
        served.write("/proc/1/environ", "container=lxc\0")
        expect(yield* served.imds(["@hostname"])).toEqual(ok(HOST))
        for (const instance of [seeded, served]) expect(instance.commands().filter((c) => c.startsWith("mount "))).toEqual([])
      } finally {
        rmSync(hostSeed, { recursive: true, force: true })
        rmSync(drive, { recursive: true, force: true })
      }
    })
  )

  it.scopedLive("an Incus container is incus, whatever the host's SMBIOS strings", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "incus", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write("/sys/class/dmi/id/sys_vendor", "Amazon EC2\n")
      instance.write("/proc/1/environ", "container=lxc\0")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("incus\n")
    })
  )

  it.scopedLive("an Incus VM whose agent has not made the socket yet (the boot phase): incus by the agent's serial port in sysfs, read once the agent made it; never in a container, whose sysfs is the host's", () =>
    Effect.gen(function* () {
      const vm = yield* patientInstance({ cloud: "incus", instance: { hostname: HOST }, env: { CLOUD: "" } })
      const [socket, later] = [join(vm.root, "dev/incus/sock"), join(vm.root, "dev/agent.sock")]
      renameSync(socket, later)
      vm.write("/sys/class/virtio-ports/vport2p1/name", "com.redhat.spice.0\n")
      vm.write("/sys/class/virtio-ports/vport2p2/name", "org.linuxcontainers.incus\n")
      expect((yield* vm.run(["boot"])).code).toBe(0)
      expect(vm.read("/var/lib/cloud/.autodetect")).toBe("incus\n")
      renameSync(later, socket)
      expect(yield* vm.imds(["@hostname"])).toEqual(ok(HOST))

      const container = yield* patientInstance({ cloud: "incus", instance: { hostname: HOST }, env: { CLOUD: "" } })
      rmSync(join(container.root, "dev/incus"), { recursive: true })
      container.write("/sys/class/virtio-ports/vport2p2/name", "org.linuxcontainers.lxd\n")
      container.write("/proc/1/environ", "container=lxc\0")
      expect((yield* container.run(["autodetect"])).stdout).toBe("unknown\n")
    })
  )

  it.scopedLive("LXD's guest API socket, /dev/lxd/sock (the same API as Incus's): detected as incus and read there", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "incus", instance: { hostname: HOST }, env: { CLOUD: "" } })
      mkdirSync(join(instance.root, "dev/lxd"), { recursive: true })
      renameSync(join(instance.root, "dev/incus/sock"), join(instance.root, "dev/lxd/sock"))
      rmSync(join(instance.root, "dev/incus"), { recursive: true })
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("incus\n")
    })
  )

  it.scopedLive.each([
    ["product_uuid", "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n"],
    ["board_asset_tag", "i-0123456789abcdef0\n"],
    ["product_uuid", "i-0123456789abcdef0\n"],
    ["board_asset_tag", "ec2e1916-9099-7caf-fd21-012345abcdef\n"]
  ])("aws from the DMI %s alone", ([file, content]) =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "aws", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write(`/sys/class/dmi/id/${file}`, content)
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("aws\n")
    })
  )

  it.scopedLive("aws from a Xen instance's UUID as its SMBIOS stores it, little-endian (45E12AEC-... for ec2ae145-...)", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "aws", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write("/sys/class/dmi/id/sys_vendor", "Xen\n")
      instance.write("/sys/class/dmi/id/product_uuid", "45E12AEC-DCD1-B213-94ED-012345ABCDEF\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("aws\n")
    })
  )

  it.scopedLive("aws from Xen's /sys/hypervisor/uuid alone (a PV instance has no SMBIOS), as cloud-init's ds-identify reads it first", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write("/sys/hypervisor/uuid", "ec2c6e2f-5fac-4fc7-9c82-74127ec14bbb\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("aws\n")
    })
  )

  it.scopedLive("a plain QEMU VM whose random UUID reads ec2 little-endian is no aws: only a Xen instance's UUID is read so", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      instance.write("/sys/class/dmi/id/sys_vendor", "QEMU\n")
      instance.write("/sys/class/dmi/id/product_uuid", "45E12AEC-DCD1-B213-94ED-012345ABCDEF\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(failed("", "no cloud detected: set CLOUD in /etc/tiny-cloud.conf"))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
    })
  )

  it.scopedLive("an Azure VM whose random UUID reads ec2 little-endian stays azure: only a Xen instance's UUID is read so", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "azure", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n")
      instance.write("/sys/class/dmi/id/chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n")
      instance.write("/sys/class/dmi/id/product_uuid", "45E12AEC-DCD1-B213-94ED-012345ABCDEF\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("azure\n")
    })
  )

  it.scopedLive("an Azure VM whose random UUID starts ec2 stays azure: a UUID alone yields to another cloud's own sign", () =>
    Effect.gen(function* () {
      const instance = yield* patientInstance({ cloud: "azure", instance: { hostname: HOST }, env: { CLOUD: "" } })
      instance.write("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n")
      instance.write("/sys/class/dmi/id/chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n")
      instance.write("/sys/class/dmi/id/product_uuid", "EC2B7C3A-5E1D-4F6A-9B0C-2D3E4F5A6B7C\n")
      expect(yield* instance.imds(["@hostname"])).toEqual(ok(HOST))
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("azure\n")
    })
  )
})

/** an Http layer answering every request 204 with no body (a PUT, aws's token request, gets a token) */
const answering204 = Effect.gen(function* () {
  const seen = yield* Ref.make<ReadonlyArray<{ readonly method: string; readonly path: string; readonly status: number }>>([])
  const layer = Layer.succeed(Http, {
    request: (r) => {
      const status = r.method === "PUT" ? 200 : 204
      return Ref.update(seen, (s) => [...s, { method: r.method, path: r.path, status }]).pipe(
        Effect.as({ status, body: status === 200 ? bytesOf("AQAEAK-token") : new Uint8Array() })
      )
    }
  })
  return { layer, seen }
})

/** `imds ARGS` over the program's own layers with `http` as the network, on a fresh pretend instance */
const imdsOver = (http: Layer.Layer<Http>, cloud: string, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-test-")
    const { root } = makeFakeSystem(dir, { interfaces: INTERFACES })
    const recorder = yield* recordingCommands({ root })
    const { layer: output, captured } = yield* capturingOutput
    const env = { ROOT: root, CLOUD: cloud, IMDS_ENDPOINT: "169.254.169.254", ...PATIENT_METADATA }
    const code = yield* Effect.scoped(Effect.provide(imds(args), appLayer(env, "imds", { commands: recorder.layer, http, output })))
    return { code, stdout: captured.stdout(), stderr: captured.stderr() }
  })
