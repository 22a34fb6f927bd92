import { describe, expect, it } from "vitest"
import { gzipSync } from "node:zlib"
import { actionLines, useInstances } from "../support/harness.js"

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB b@example"

const makeInstance = useInstances()

describe("first boot on aws", () => {
  it("sets hostname, keys, user-data and the marker; a second boot does nothing", async () => {
    const instance = await makeInstance({
      cloud: "aws",
      instance: { hostname: "web-1.eu-west-1.compute.internal", sshKeys: [KEY_B, KEY_A], userData: new TextEncoder().encode("#!/bin/sh\necho out\necho err >&2\nexit 0\n") }
    })
    const results = await instance.boot()
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(actionLines(results[2]!.stderr)).toEqual([
      "   ++ create_default_user: starting",
      "   ++ create_default_user: done",
      "   ++ set_hostname: starting",
      "   ++ set_hostname: done",
      "   ++ set_ssh_keys: starting",
      "   ++ set_ssh_keys: done"
    ])
    expect(instance.read("/etc/hostname")).toBe("web-1\n")
    expect(instance.read("/etc/hosts")).toContain("127.0.1.1\tweb-1.eu-west-1.compute.internal web-1\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY_B}\n${KEY_A}\n`.split("\n").filter(Boolean).sort().map((k) => `${k}\n`).join(""))
    expect(instance.mode("/home/alpine/.ssh")).toBe(0o700)
    expect(instance.mode("/home/alpine/.ssh/authorized_keys")).toBe(0o600)
    expect(instance.read("/var/lib/cloud/user-data")).toBe("#!/bin/sh\necho out\necho err >&2\nexit 0\n")
    expect((instance.mode("/var/lib/cloud/user-data")! & 0o077)).toBe(0)
    expect(instance.read("/var/log/user-data.log")).toBe("out\nerr\n")
    expect(instance.read("/var/log/user-data.exit")).toBe("0\n")
    expect(results[3]!.stdout).toBe("out\nerr\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    expect(instance.commands()).toEqual([
      "sfdisk -q --no-reread -N 2 /dev/vda",
      "partx -u /dev/vda",
      "resize2fs /dev/vda2",
      "ip link set dev eth0 up",
      "rc-update add sshd default",
      "rc-update --update",
      "addgroup alpine",
      "adduser -h /home/alpine -s /bin/sh -G alpine -D alpine",
      "addgroup alpine wheel",
      "chpasswd -e",
      `hostname -F ${instance.root}/etc/hostname`
    ])
    expect(instance.commandsWithStdin().find((c) => c.line === "chpasswd -e")?.stdin).toEqual(["alpine:*"])
    expect(instance.read("/etc/sudoers.d/wheel")).toBe("%wheel ALL=(ALL) NOPASSWD: ALL\n")
    expect(instance.read("/etc/doas.d/wheel.conf")).toBe("permit nopass :wheel\n")
    expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")

    const before = instance.commands().length
    const again = await instance.boot()
    for (const r of again) {
      expect(r.code).toBe(0)
      expect(r.stderr).toBe("already bootstrapped\n")
    }
    expect(instance.commands().length).toBe(before)
  })

  it("uses IMDSv2: a token is fetched once per process and sent with every read", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "a.b", sshKeys: [KEY_A] } })
    await instance.run(["main"])
    const requests = instance.sim!.requests
    expect(requests.filter((r) => r.method === "PUT").length).toBe(1)
    expect(requests.filter((r) => r.method === "GET").every((r) => typeof r.headers["x-aws-ec2-metadata-token"] === "string")).toBe(true)
    expect(requests.find((r) => r.method === "PUT")!.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("5")
  })

  it("stores gzip-compressed user-data decompressed, byte-exact", async () => {
    const script = "#!/bin/sh\nprintf 'compressed ok'\n"
    const instance = await makeInstance({ cloud: "aws", instance: { userData: gzipSync(script) } })
    expect((await instance.run(["early"])).code).toBe(0)
    expect(instance.read("/var/lib/cloud/user-data")).toBe(script)
  })

  it("missing user-data: no file, main starts with missing_userdata", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h" } })
    instance.write("/var/lib/cloud/user-data", "#!/bin/sh\nold\n")
    expect((await instance.run(["early"])).code).toBe(0)
    expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    const main = await instance.run(["main"])
    expect(actionLines(main.stderr).slice(0, 2)).toEqual(["   ++ missing_userdata: starting", "   ++ missing_userdata: done"])
    expect(main.stderr).toContain("missing_userdata: no user-data found\n")
  })

  it("unknown user-data type warns in main", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode("just some text\n") } })
    await instance.run(["early"])
    const main = await instance.run(["main"])
    expect(main.stderr).toContain("   ++ unknown_userdata: starting\n")
    expect(main.stderr).toContain("unknown_userdata: unable to process 'unknown' user-data\n")
  })

  it("a failing user-data script fails run_userdata and records its status", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode("#!/bin/sh\necho bad\nexit 3\n") } })
    await instance.run(["early"])
    const final = await instance.run(["final"])
    expect(final.code).toBe(1)
    expect(instance.read("/var/log/user-data.exit")).toBe("3\n")
    expect(final.stderr).toContain("   ++ run_userdata: failed\n")
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
  })
})

describe("early phase on invalid configuration user-data", () => {
  it("saves it and reports each problem with its line and path, as tiny-cloud schema does", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode("#alpine-config\npackages:\n  - ok\n  - [nested]\n") } })
    const early = await instance.run(["early"])
    expect(early.code).toBe(0)
    expect(early.stderr).toMatch(/save_userdata: invalid user-data: line 4: packages\[1\]: .+\n/)
    expect(instance.read("/var/lib/cloud/user-data")).toBe("#alpine-config\npackages:\n  - ok\n  - [nested]\n")
  })
})
