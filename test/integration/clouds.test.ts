/**
 * Every HTTP cloud, end to end: the bundled CLI as its own processes against
 * the simulator, over a temporary ROOT with recording stand-ins for commands.
 */
import { describe, it } from "vitest"
import type { SimCloud, SimInstance } from "../../src/sim/simulator.js"
import { makeInstance, type TestInstance } from "../support/harness.js"

type Cloud = Exclude<SimCloud, "nocloud">
const CLOUDS: ReadonlyArray<Cloud> = ["aws", "azure", "gcp", "oci", "hetzner", "scaleway", "incus"]

const HOST = "web-1.example.internal"
const AWS_LOCAL = "ip-10-0-0-5.ec2.internal"
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB it's b:\"quoted\" $HOME"
const SORTED_KEYS = `${[KEY_A, KEY_B].sort().join("\n")}\n`
const SCRIPT = "#!/bin/sh\necho hello from user-data\n"
/** incus has its keys in the user-data, #cloud-config YAML */
const INCUS_CONFIG = `#cloud-config\nssh_authorized_keys:\n  - ${JSON.stringify(KEY_B)}\nusers:\n  - default\n  - name: alpine\n    ssh_authorized_keys: [${JSON.stringify(KEY_A)}, ${JSON.stringify(KEY_B)}]\n`
const MAC = "02:00:00:00:00:01" // eth0 of the fake system

const userDataOf = (cloud: Cloud) => (cloud === "incus" ? INCUS_CONFIG : SCRIPT)

const instanceFor = (cloud: Cloud): SimInstance => ({
  hostname: HOST,
  ...(cloud === "aws" ? { localHostname: AWS_LOCAL } : {}),
  sshKeys: [KEY_B, KEY_A, KEY_B],
  userData: new TextEncoder().encode(userDataOf(cloud)),
  nics: [{ mac: MAC, ipv4: ["10.0.0.5"], ipv4Net: ["10.0.0.0/24"], ipv6: ["fd00::5"], ipv6Net: ["fd00::/64"] }]
})

/** an alias or path this cloud has no datum for: MetadataUnsupported where the cloud lacks it, else a missing path */
const UNAVAILABLE: Record<Cloud, { key: string; line: RegExp }> = {
  aws: { key: "meta-data/nothing-here", line: /^imds: meta-data\/nothing-here: not found$/ },
  azure: { key: "@nic:eth0,@ipv4-prefix", line: /^imds: @ipv4-prefix is not available on this cloud \(azure\)$/ },
  gcp: { key: "@nic:eth0,@ipv6-net", line: /^imds: @ipv6-net is not available on this cloud \(gcp\)$/ },
  oci: { key: "@nic:eth0,@ipv6-prefix", line: /^imds: @ipv6-prefix is not available on this cloud \(oci\)$/ },
  hetzner: { key: "@nics", line: /^imds: @nics is not available on this cloud \(hetzner\)$/ },
  scaleway: { key: "@nics", line: /^imds: @nics is not available on this cloud \(scaleway\)$/ },
  incus: { key: "@nics", line: /^imds: @nics is not available on this cloud \(incus\)$/ }
}

/** `@nic:eth0,@mac,+n,@ipv4,+n,@ipv4-net` where the cloud publishes NICs (MACs as the cloud writes them) */
const NIC_OUTPUT: Partial<Record<Cloud, string>> = {
  aws: `${MAC}\n10.0.0.5\n10.0.0.0/24`,
  azure: "020000000001\n10.0.0.5\n10.0.0.0/24",
  gcp: `${MAC}\n10.0.0.5\n10.0.0.0/24`,
  oci: `${MAC.toUpperCase()}\n10.0.0.5\n10.0.0.0/24`
}

/** verbatim paths under the metadata root (gcp: a directory without its `/` is redirected, and followed) */
const VERBATIM: Record<Cloud, { args: ReadonlyArray<string>; stdout: string }> = {
  aws: { args: ["meta-data/instance-id"], stdout: "i-0123456789abcdef0" },
  azure: { args: ["compute/vmId"], stdout: "d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21" },
  gcp: { args: ["instance/id", "+n", "instance/attributes"], stdout: "4611686018427387904\nssh-keys\nuser-data\n" },
  oci: { args: ["instance/id"], stdout: "ocid1.instance.oc1.sim.aaaaaaaasimulatedinstance" },
  hetzner: { args: ["instance-id"], stdout: "1000001" },
  scaleway: { args: ["ID"], stdout: "7c8e4f2a-5b1d-4e3c-9a6f-0d2b1c3e4f5a" },
  incus: { args: ["instance-id"], stdout: "sim-incus-instance" }
}

/** how each cloud is recognised offline */
const DETECTION: Record<Cloud, { file: string; content: string }> = {
  aws: { file: "/sys/class/dmi/id/sys_vendor", content: "Amazon EC2\n" },
  azure: { file: "/sys/class/dmi/id/chassis_asset_tag", content: "7783-7084-3265-9085-8269-3286-77\n" },
  gcp: { file: "/sys/class/dmi/id/product_name", content: "Google Compute Engine\n" },
  oci: { file: "/sys/class/dmi/id/chassis_asset_tag", content: "OracleCloud.com\n" },
  hetzner: { file: "/sys/class/dmi/id/sys_vendor", content: "Hetzner\n" },
  scaleway: { file: "/sys/class/dmi/id/sys_vendor", content: "Scaleway\n" },
  incus: { file: "", content: "" } // the simulator's socket at $ROOT/dev/incus/sock is the sign
}

const withInstance = async (options: Parameters<typeof makeInstance>[0], body: (i: TestInstance) => Promise<void>) => {
  const instance = await makeInstance(options)
  try {
    await body(instance)
  } finally {
    await instance.close()
  }
}

describe.concurrent.each(CLOUDS)("%s", (cloud) => {
  it("first boot: hostname, keys and user-data", ({ expect }) =>
    withInstance({ cloud, instance: instanceFor(cloud) }, async (instance) => {
      const results = await instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/etc/hosts")).toContain(`127.0.1.1\t${HOST} web-1\n`)
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(SORTED_KEYS)
      expect(instance.mode("/home/alpine/.ssh/authorized_keys")).toBe(0o600)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(userDataOf(cloud))
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      if (cloud === "scaleway") {
        const ud = instance.sim!.requests.filter((r) => r.path.startsWith("/user_data/"))
        expect(ud.length).toBeGreaterThan(0)
        expect(ud.every((r) => r.remotePort !== undefined && r.remotePort < 1024 && r.status === 200)).toBe(true)
      }
    }))

  it("imds aliases, separators and error switches", ({ expect }) =>
    withInstance({ cloud, instance: instanceFor(cloud) }, async (instance) => {
      const local = cloud === "aws" ? AWS_LOCAL : HOST
      const bad = UNAVAILABLE[cloud]
      const [all, stops, goesOn, hidden, spelled, verbatim, nic] = await Promise.all([
        instance.imds(["@hostname", "+n", "@local-hostname", "+s", "@hostname", "+t", "@ssh-keys", "@userdata"]),
        // +e (the default): stop at the first error, with its status and one line
        instance.imds(["@hostname", "+n", bad.key, "@hostname"]),
        // -e: report and go on; -E: not even report; +E: report again
        instance.imds(["-e", bad.key, "-E", bad.key, "+E", "@hostname", "+n"]),
        instance.imds(["-E", bad.key, "@hostname"]),
        // `tiny-cloud imds` is the same command
        instance.run(["imds", "@hostname", "+n"]),
        instance.imds(VERBATIM[cloud].args),
        NIC_OUTPUT[cloud] === undefined ? undefined : instance.imds(["@nic:eth0,@mac,+n,@ipv4,+n,@ipv4-net"])
      ])
      expect(all).toEqual({ code: 0, stdout: `${HOST}\n${local} ${HOST}\t${SORTED_KEYS}${userDataOf(cloud)}`, stderr: "" })
      expect(stops.code).toBe(1)
      expect(stops.stdout).toBe(`${HOST}\n`)
      expect(stops.stderr.split("\n")).toHaveLength(2)
      expect(stops.stderr.trimEnd()).toMatch(bad.line)
      expect(goesOn.code).toBe(0)
      expect(goesOn.stdout).toBe(`${HOST}\n`)
      expect(goesOn.stderr.split("\n")).toHaveLength(2)
      expect(goesOn.stderr.trimEnd()).toMatch(bad.line)
      expect(hidden).toEqual({ code: 1, stdout: "", stderr: "" })
      expect(spelled).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
      expect(verbatim).toEqual({ code: 0, stdout: VERBATIM[cloud].stdout, stderr: "" })
      if (nic !== undefined) expect(nic).toEqual({ code: 0, stdout: NIC_OUTPUT[cloud], stderr: "" })
    }))

  it("absent data is empty, not an error", ({ expect }) =>
    withInstance({ cloud, instance: {} }, async (instance) => {
      const r = await instance.imds(["-e", "@hostname", "@local-hostname", "@ssh-keys", "@userdata"])
      expect(r).toEqual({ code: 0, stdout: "", stderr: "imds: @hostname: not found\nimds: @local-hostname: not found\n" })
    }))

  it("is detected offline and the detection is used by imds", ({ expect }) =>
    withInstance({ cloud, instance: { hostname: HOST }, env: { CLOUD: "" } }, async (instance) => {
      const sign = DETECTION[cloud]
      if (sign.file !== "") instance.write(sign.file, sign.content)
      const r = await instance.imds(["@hostname", "+n"])
      expect(r).toEqual({ code: 0, stdout: `${HOST}\n`, stderr: "" })
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe(`${cloud}\n`)
    }))
})

describe("detection", () => {
  it("nothing recognisable: unknown, and metadata actions say so", async ({ expect }) =>
    withInstance({ noSimulator: true }, async (instance) => {
      const r = await instance.imds(["@hostname"])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe("imds: no cloud detected: set CLOUD in /etc/tiny-cloud.conf\n")
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("unknown\n")
    }))

  it("incus (priority 5) wins over a SMBIOS string (priority 50)", async ({ expect }) =>
    withInstance({ cloud: "incus", instance: { hostname: HOST }, env: { CLOUD: "" } }, async (instance) => {
      instance.write("/sys/class/dmi/id/sys_vendor", "Hetzner\n")
      expect((await instance.imds(["@hostname"])).stdout).toBe(HOST)
      expect(instance.read("/var/lib/cloud/.autodetect")).toBe("incus\n")
    }))
})
