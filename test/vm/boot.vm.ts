/**
 * A real first boot under OpenRC: a Debian-built guest shaped like an Alpine
 * cloud image (busybox init, OpenRC, ifupdown-ng, busybox udhcpc/logger),
 * tiny-cloud installed by `make install` and enabled by `tiny-cloud --enable`
 * in a chroot, booted in qemu (KVM when there is /dev/kvm, else TCG) until
 * it powers itself off, then read without mounting. `npm run test:vm`.
 */
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AZURE_ASSET_TAG } from "../../src/clouds/azure.js"
import { startSimulator, type RunningSim } from "../../src/sim/simulator.js"
import {
  boot, buildCdrom, buildConfigDrive, buildImage, buildSeed, cacheRoot, checkFileSystem, DISK_BYTES, describeBoot, ensureBase, fileSystem,
  guestRequests, listGuestDirectory, partitionTable, readGuestFile, statGuestFile, unmetRequirements, type Base, type Boot, type Image
} from "./guest.js"

const unmet = unmetRequirements()
const required = process.env.TINY_CLOUD_REQUIRE_SYSTEM_TESTS === "1"
const PHASES = ["boot", "early", "main", "final"]
/** the actions of every first boot, whatever its user-data */
const ACTIONS = ["expand_root", "install_hotplugs", "enable_sshd", "save_userdata", "create_default_user", "set_hostname", "set_ssh_keys", "bootstrap_complete"]
const KEYS = [
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZtLXRlc3Qta2V5LW9uZS0wMTIzNDU2Nzg5YWJjZGVm first@vm-test",
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC2dm0tdGVzdC1rZXktdHdvLTAxMjM0NTY3ODlhYmNkZWY= second@vm-test"
]
// the user-data script: output for user-data.log, and one line per run in a file of its own
const userData = (tag: string) =>
  `#!/bin/sh\necho "user-data ${tag}: ran as $(id -un) on $(hostname)"\ndate +%s >> /var/lib/user-data-runs\nexit 0\n`

const timings: Array<string> = []
const log = (line: string) => console.log(`vm: ${line}`)

if (unmet !== undefined) {
  describe("VM test", () => {
    it.runIf(required)("has what it needs (TINY_CLOUD_REQUIRE_SYSTEM_TESTS=1)", () => {
      expect.fail(unmet)
    })
    it.skip(`skipped: ${unmet}`, () => {})
  })
} else {
  const work = join(cacheRoot(), "runs", String(process.pid))
  let base: Base

  beforeAll(async () => {
    rmSync(join(cacheRoot(), "runs"), { recursive: true, force: true })
    mkdirSync(work, { recursive: true })
    base = await ensureBase(log)
    const line = `base guest ${base.built ? "built" : "from cache"} in ${base.seconds.toFixed(1)}s (kernel ${base.kernelVersion}, ${base.dir})`
    timings.push(line)
    log(line)
  })

  afterAll(() => {
    console.log(["vm timings:", ...timings.map((t) => `  ${t}`)].join("\n"))
    if (process.env.TINY_CLOUD_VM_KEEP !== "1") rmSync(work, { recursive: true, force: true })
  })

  /** the checks every first boot shares */
  const firstBootChecks = (
    get: () => { image: Image; boot: Boot },
    expected: { cloud: string; hostname: string; fqdn: string; tag?: string; actions?: ReadonlyArray<string> }
  ) => {
    it("the image builder's --enable linked the services and left no code cache in the image", () => {
      const { image } = get()
      expect(image.cacheLeftInImage).toBe(false)
      expect(image.enableOutput).not.toMatch(/error/i)
      expect(statGuestFile(image.disk, "/etc/runlevels/boot/tiny-cloud-boot")?.type).toBe("symlink")
      for (const phase of ["early", "main", "final"]) expect(statGuestFile(image.disk, `/etc/runlevels/default/tiny-cloud-${phase}`)?.type).toBe("symlink")
    })

    it("boots under OpenRC and powers itself off", () => {
      const { boot } = get()
      expect(boot.timedOut).toBe(false)
      expect(boot.console).toContain("OpenRC")
      expect(boot.console).toMatch(/^vm-finish: /m)
      expect(boot.console).toContain("vm-unmount: / read-only")
    })

    it("prints each phase's banner and its action lines on the console, with nothing failed", () => {
      const text = get().boot.console
      for (const phase of PHASES) expect(text).toContain(`Tiny Cloud - ${phase} phase`)
      for (const action of expected.actions ?? [...ACTIONS, "run_userdata"]) {
        expect(text).toContain(`++ ${action}: starting`)
        expect(text).toContain(`++ ${action}: done`)
      }
      expect(text).not.toMatch(/\+\+ \w+: failed/)
      expect(text).not.toContain("[ !! ]")
    })

    it("grew the root partition and its file system to the end of the disk", () => {
      const { image } = get()
      const [part] = partitionTable(image.disk).partitions
      expect((part!.start + part!.size) * 512).toBe(DISK_BYTES)
      const fs = fileSystem(image.disk)
      expect(fs.bytes).toBe(part!.size * 512)
      expect(fs.state).toBe("clean")
      const fsck = checkFileSystem(image.disk)
      expect(fsck.code, fsck.output).toBe(0)
    })

    it(`detected ${expected.cloud} and set the hostname`, () => {
      const { image } = get()
      expect(readGuestFile(image.disk, "/var/lib/cloud/.autodetect")?.trim()).toBe(expected.cloud)
      expect(readGuestFile(image.disk, "/etc/hostname")).toBe(`${expected.hostname}\n`)
      expect(readGuestFile(image.disk, "/etc/hosts")).toContain(`127.0.1.1\t${expected.fqdn} ${expected.hostname}\n`)
      expect(readGuestFile(image.disk, "/var/log/vm-finish.log")).toContain(`hostname: ${expected.hostname}\n`)
    })

    it("created the user alpine, in wheel, with a locked password", () => {
      const { image } = get()
      const passwd = readGuestFile(image.disk, "/etc/passwd")!
      expect(passwd).toMatch(/^alpine:x:\d+:\d+:[^:]*:\/home\/alpine:\/bin\/sh$/m)
      expect(readGuestFile(image.disk, "/etc/group")).toMatch(/^wheel:x:\d+:(.*,)?alpine(,.*)?$/m)
      expect(readGuestFile(image.disk, "/etc/shadow")).toMatch(/^alpine:\*:/m)
    })

    it("installed both SSH keys, mode 0600 and 0700, owned by the user", () => {
      const { image } = get()
      const uid = Number(/^alpine:x:(\d+):/m.exec(readGuestFile(image.disk, "/etc/passwd")!)![1])
      const keys = readGuestFile(image.disk, "/home/alpine/.ssh/authorized_keys")!
      for (const key of KEYS) expect(keys).toContain(`${key}\n`)
      const file = statGuestFile(image.disk, "/home/alpine/.ssh/authorized_keys")!
      expect({ mode: file.mode & 0o7777, uid: file.uid }).toEqual({ mode: 0o600, uid })
      const dir = statGuestFile(image.disk, "/home/alpine/.ssh")!
      expect({ mode: dir.mode & 0o7777, uid: dir.uid }).toEqual({ mode: 0o700, uid })
    })

    // (a boot whose user-data is no script has checks of its own)
    if (expected.tag !== undefined) it("ran the user-data script once, in the final phase, and kept its output and exit code", () => {
      const { image, boot } = get()
      expect(readGuestFile(image.disk, "/var/log/user-data.log")).toBe(`user-data ${expected.tag}: ran as root on ${expected.hostname}\n`)
      expect(readGuestFile(image.disk, "/var/log/user-data.exit")?.trim()).toBe("0")
      expect(readGuestFile(image.disk, "/var/lib/user-data-runs")?.trim().split("\n")).toHaveLength(1)
      expect(boot.console).toContain(`user-data ${expected.tag}: ran as root`)
      const saved = statGuestFile(image.disk, "/var/lib/cloud/user-data")!
      expect({ mode: saved.mode & 0o077, uid: saved.uid }).toEqual({ mode: 0, uid: 0 })
    })

    it("marked the bootstrap complete", () => {
      expect(statGuestFile(get().image.disk, "/var/lib/cloud/.bootstrap-complete")).toBeDefined()
    })

    it("wrote the network configuration, brought eth0 up by DHCP, enabled and started sshd", () => {
      const { image } = get()
      expect(readGuestFile(image.disk, "/etc/network/interfaces")).toMatch(/iface eth0\n\s+use dhcp/)
      const finish = readGuestFile(image.disk, "/var/log/vm-finish.log")!
      expect(finish).toMatch(/^ipv4: \d+\.\d+\.\d+\.\d+\/\d+$/m)
      expect(statGuestFile(image.disk, "/etc/runlevels/default/sshd")?.type).toBe("symlink")
      expect(finish).toMatch(/^started: .*\bsshd\b/m)
      for (const phase of PHASES) expect(finish).toMatch(new RegExp(`^started: .*\\btiny-cloud-${phase}\\b`, "m"))
    })

    it("logged to syslog (local7, tag tiny-cloud/PHASE), every phase from the one resident process, on the code cache prepared at install", () => {
      const { image } = get()
      const messages = readGuestFile(image.disk, "/var/log/messages") ?? ""
      const pids = PHASES.map((phase) => new RegExp(`local7\\.\\w+ tiny-cloud/${phase}\\[(\\d+)\\]: `).exec(messages)?.[1])
      for (const pid of pids) expect(pid).toMatch(/^\d+$/)
      expect(new Set(pids).size).toBe(1)
      // the guest runs the node the image was prepared with: the prepared cache is taken, none compiled into /run
      expect(listGuestDirectory(image.disk, "/usr/lib/tiny-cloud/code-cache")).toContainEqual(expect.stringMatching(/^code-cache-[0-9a-f]{16}-phase$/))
      const finish = readGuestFile(image.disk, "/var/log/vm-finish.log")!
      expect(finish).toContain("run-is: tmpfs\n")
      expect(finish).toContain("code-cache: \n")
    })
  }

  const recordTimings = (name: string, b: Boot) => {
    const line = describeBoot(name, b)
    timings.push(line)
    log(line)
  }

  describe("NoCloud, cidata seed on vfat", () => {
    let image: Image
    let first: Boot
    let second: Boot

    beforeAll(async () => {
      image = await buildImage(base, join(work, "nocloud-vfat"))
      timings.push(`image (make install, --enable in chroot, mkfs.ext4 -d, sfdisk, dd) in ${image.seconds.toFixed(1)}s`)
      const seed = buildSeed(join(work, "nocloud-vfat"), "vfat", {
        "meta-data": `instance-id: iid-vm-vfat\nhostname: vm-vfat.example.com\npublic-keys:\n${KEYS.map((k) => `  - ${k}\n`).join("")}`,
        "user-data": userData("vfat")
      })
      first = await boot({ base, disk: image.disk, seed, log: join(work, "nocloud-vfat/console-1.log") })
      recordTimings("nocloud vfat, first boot", first)
    }, 600_000)

    describe("first boot", () => {
      firstBootChecks(() => ({ image, boot: first }), { cloud: "nocloud", hostname: "vm-vfat", fqdn: "vm-vfat.example.com", tag: "vfat" })

      it("kept the seed's copies root-only", () => {
        const meta = statGuestFile(image.disk, "/var/lib/cloud/nocloud/meta-data")!
        expect(meta.mode & 0o777).toBe(0o600)
      })
    })

    describe("second boot of the same image", () => {
      beforeAll(async () => {
        second = await boot({ base, disk: image.disk, log: join(work, "nocloud-vfat/console-2.log") })
        recordTimings("nocloud vfat, second boot", second)
      }, 600_000)

      it("boots and powers off", () => {
        expect(second.timedOut).toBe(false)
        expect(second.console).toMatch(/^vm-finish: /m)
      })

      it("runs no phase: each service prints its banner and `already bootstrapped`, logs it to syslog, and runs no action", () => {
        for (const phase of PHASES) expect(second.console).toContain(`Tiny Cloud - ${phase} phase`)
        expect(second.console.split("already bootstrapped").length - 1).toBe(PHASES.length)
        expect(second.console).not.toMatch(/\+\+ \w+: starting/)
        const messages = readGuestFile(image.disk, "/var/log/messages") ?? ""
        for (const phase of PHASES) expect(messages).toMatch(new RegExp(`local7\\.info tiny-cloud/${phase}\\[\\d+\\]: already bootstrapped$`, "m"))
      })

      it("never started node: no node process, no code cache in /run", () => {
        const finish = readGuestFile(image.disk, "/var/log/vm-finish.log")!
        expect(finish).toContain("node-pids: \n")
        expect(finish).toContain("code-cache: \n")
        expect(finish).not.toMatch(/^\s+\d+ node$/m)
        expect(second.console).toMatch(/node pids: \[\]/)
      })

      it("did not run the user-data again", () => {
        expect(readGuestFile(image.disk, "/var/lib/user-data-runs")?.trim().split("\n")).toHaveLength(1)
      })
    })
  })

  /**
   * A NoCloud first boot of an Alpine-like image of its own (its /etc/apk/repositories: a #cloud-config without an apk
   * key leaves it, and the guest has no setup-apkrepos) with `options`' files and links: the seed's hostname vm-NAME,
   * KEYS, and this #cloud-config
   */
  const cloudConfigBoot = async (name: string, cloudConfig: string, options: { files?: Record<string, string>; symlinks?: Record<string, string> }) => {
    const image = await buildImage(base, join(work, name), {
      ...options,
      files: { "etc/apk/repositories": "https://dl-cdn.alpinelinux.org/alpine/v3.22/main\n", ...options.files }
    })
    const seed = buildSeed(join(work, name), "vfat", {
      "meta-data": `instance-id: iid-vm-${name}\nhostname: vm-${name}\npublic-keys:\n${KEYS.map((k) => `  - ${k}\n`).join("")}`,
      "user-data": `#cloud-config\n${cloudConfig}`
    })
    return { image, first: await boot({ base, disk: image.disk, seed, log: join(work, `${name}/console-1.log`) }) }
  }

  describe('rc_parallel="YES" and a main phase longer than OpenRC\'s 60 s wait (a bootcmd that sleeps 65 s)', () => {
    let image: Image
    let first: Boot
    const lineOf = (text: string) => first.lines.findIndex((l) => l.text.includes(text))

    beforeAll(async () => {
      const booted = await cloudConfigBoot("parallel", "bootcmd:\n  - sleep 65\nruncmd:\n  - date +%s >> /var/lib/user-data-runs\n", {
        files: { "etc/rc.conf": 'rc_parallel="YES"\n' }
      })
      image = booted.image
      first = booted.first
      recordTimings("rc_parallel, first boot", first)
    }, 600_000)

    firstBootChecks(() => ({ image, boot: first }), {
      cloud: "nocloud",
      hostname: "vm-parallel",
      fqdn: "vm-parallel",
      actions: [...ACTIONS, "userdata_bootcmd", "userdata_runcmd"]
    })

    it("OpenRC waited for main to its end (keyword -timeout): no service timed out waiting, and sshd started after main's last action", () => {
      expect(first.console).not.toMatch(/timed out waiting for|waiting for tiny-cloud/)
      const mainDone = lineOf("++ userdata_ssh_pwauth: done")
      expect(mainDone).toBeGreaterThan(lineOf("++ userdata_bootcmd: done"))
      expect(lineOf("Starting sshd")).toBeGreaterThan(mainDone)
    })

    it("ran the runcmd once, in final, after main", () => {
      expect(readGuestFile(image.disk, "/var/lib/user-data-runs")?.trim().split("\n")).toHaveLength(1)
      expect(lineOf("++ userdata_runcmd: starting")).toBeGreaterThan(lineOf("++ userdata_ssh_pwauth: done"))
    })
  })

  describe("a runcmd that reboots (busybox reboot, as on Alpine)", () => {
    let image: Image
    let first: Boot

    beforeAll(async () => {
      const booted = await cloudConfigBoot("reboot", "runcmd:\n  - echo before >> /var/lib/user-data-runs\n  - reboot\n  - echo after >> /var/lib/user-data-runs\n", {
        symlinks: { "usr/sbin/reboot": "/bin/busybox" }
      })
      image = booted.image
      first = booted.first
      recordTimings("runcmd reboot, first boot", first)
    }, 600_000)

    firstBootChecks(() => ({ image, boot: first }), { cloud: "nocloud", hostname: "vm-reboot", fqdn: "vm-reboot", actions: [...ACTIONS, "userdata_runcmd"] })

    it("busybox init held the reboot until OpenRC's default runlevel had ended: final ran every runcmd entry once and marked the bootstrap complete", () => {
      expect(readGuestFile(image.disk, "/var/lib/user-data-runs")).toBe("before\nafter\n")
      const done = first.lines.findIndex((l) => l.text.includes("++ bootstrap_complete: done"))
      expect(done).toBeGreaterThan(-1)
      expect(first.lines.findIndex((l) => /going down|Stopping /.test(l.text))).toBe(-1)
    })
  })

  describe("AWS, the metadata simulator at 169.254.169.254, DMI sys_vendor Amazon EC2", () => {
    let image: Image
    let first: Boot
    let sim: RunningSim

    beforeAll(async () => {
      image = await buildImage(base, join(work, "aws"))
      sim = await startSimulator({
        cloud: "aws",
        instance: {
          hostname: "ip-10-0-0-7.ec2.internal",
          sshKeys: KEYS,
          userData: new TextEncoder().encode(userData("aws")),
          instanceId: "i-0123456789abcdef0"
        }
      })
      const port = Number(sim.endpoint.split(":").pop())
      first = await boot({ base, disk: image.disk, manufacturer: "Amazon EC2", metadataPort: port, log: join(work, "aws/console-1.log") })
      recordTimings("aws, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), { cloud: "aws", hostname: "ip-10-0-0-7", fqdn: "ip-10-0-0-7.ec2.internal", tag: "aws" })

    it("used IMDSv2: a token first, then reads carrying it", () => {
      expect(sim.requests.some((r) => r.method === "PUT" && r.path.startsWith("/latest/api/token") && r.status === 200)).toBe(true)
      expect(sim.requests.some((r) => r.path.startsWith("/latest/meta-data/hostname") && r.headers["x-aws-ec2-metadata-token"] !== undefined && r.status === 200)).toBe(true)
    })
  })

  describe("NoCloud, cidata seed on iso9660", () => {
    let image: Image
    let first: Boot

    beforeAll(async () => {
      image = await buildImage(base, join(work, "nocloud-iso"))
      const seed = buildSeed(join(work, "nocloud-iso"), "iso9660", {
        "meta-data": `instance-id: iid-vm-iso\nlocal-hostname: vm-iso\npublic-keys:\n${KEYS.map((k) => `  - ${k}\n`).join("")}`,
        "user-data": userData("iso")
      })
      first = await boot({ base, disk: image.disk, seed, log: join(work, "nocloud-iso/console-1.log") })
      recordTimings("nocloud iso9660, first boot", first)
    }, 600_000)

    firstBootChecks(() => ({ image, boot: first }), { cloud: "nocloud", hostname: "vm-iso", fqdn: "vm-iso", tag: "iso" })
  })

  describe("Azure, custom data on a UDF CD-ROM at /dev/sr0, IMDS and the wireserver from the simulator, DMI asset tag", () => {
    const DEPLOY_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGN1c3RvbS1kYXRhLWRlcGxveS1rZXktMDEyMzQ1Njc4OWFi deploy@custom-data"
    const customData = [
      "#cloud-config",
      "users:",
      "  - default",
      "  - name: deploy",
      "    groups: wheel",
      "    ssh_authorized_keys:",
      `      - ${DEPLOY_KEY}`,
      "write_files:",
      "  - path: /etc/custom-data/written.conf",
      "    permissions: '0640'",
      "    content: |",
      "      written from custom data",
      "runcmd:",
      "  - echo \"runcmd ran as $(id -un) on $(hostname)\" >> /var/lib/custom-data-runcmd",
      ""
    ].join("\n")
    // the provisioning media's ovf-env.xml in the shape of WALinuxAgent's test data: Azure's namespace as the
    // provisioning set's default one, the custom data one line of base64
    const ovfEnv = `<?xml version="1.0" encoding="utf-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <wa:ProvisioningSection>
      <wa:Version>1.0</wa:Version>
      <LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>
        <HostName>vm-azure</HostName>
        <UserName>azureuser</UserName>
        <DisableSshPasswordAuthentication>true</DisableSshPasswordAuthentication>
        <SSH>
          <PublicKeys>
            <PublicKey>
              <Fingerprint>EB0C0AB4B2D5FC35F2F0658D19F44C8283E2DD62</Fingerprint>
              <Path>/home/azureuser/.ssh/authorized_keys</Path>
              <Value>${KEYS[0]}</Value>
            </PublicKey>
          </PublicKeys>
        </SSH>
        <CustomData>${Buffer.from(customData).toString("base64")}</CustomData>
      </LinuxProvisioningConfigurationSet>
    </wa:ProvisioningSection>
    <wa:PlatformSettingsSection>
      <wa:Version>1.0</wa:Version>
      <PlatformSettings xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <ProvisionGuestAgent>false</ProvisionGuestAgent>
      </PlatformSettings>
    </wa:PlatformSettingsSection>
</Environment>
`
    let image: Image
    let first: Boot
    let sim: RunningSim

    beforeAll(async () => {
      // an Alpine image's busybox mount and umount (the base's are util-linux's), and its apk repositories
      // (without them a cloud-config runs setup-apkrepos, which this Debian guest has not)
      const busybox = Object.fromEntries(["/usr/bin/mount", "/usr/bin/umount"].map((path) => [path, "busybox"]))
      image = await buildImage(base, join(work, "azure"), {
        files: { "/etc/apk/repositories": "https://dl-cdn.alpinelinux.org/alpine/v3.21/main\n" },
        symlinks: busybox
      })
      sim = await startSimulator({ cloud: "azure", instance: { hostname: "vm-azure", sshKeys: KEYS } })
      const port = Number(sim.endpoint.split(":").pop())
      // (tiny-cloud reads the device, /dev/sr0, whatever the media's label)
      const cdrom = buildCdrom(join(work, "azure"), "rd_rdfe_stable", { "ovf-env.xml": ovfEnv })
      first = await boot({
        base,
        disk: image.disk,
        cdrom,
        manufacturer: "Microsoft Corporation",
        assetTag: AZURE_ASSET_TAG,
        metadataPort: port,
        wireserverPort: port,
        log: join(work, "azure/console-1.log")
      })
      recordTimings("azure, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), {
      cloud: "azure",
      hostname: "vm-azure",
      fqdn: "vm-azure",
      actions: [...ACTIONS, "userdata_users", "userdata_write_files", "ssh_authorized_keys", "report_ready", "userdata_runcmd"]
    })

    it("saved the custom data as the user-data, root-only, and unmounted the media: no mount and no mount point left", () => {
      const saved = readGuestFile(image.disk, "/var/lib/cloud/user-data")
      expect(saved).toBe(customData)
      const file = statGuestFile(image.disk, "/var/lib/cloud/user-data")!
      expect({ mode: file.mode & 0o077, uid: file.uid }).toEqual({ mode: 0, uid: 0 })
      const finish = readGuestFile(image.disk, "/var/log/vm-finish.log")!
      expect(finish).toContain("media: \n")
      expect(finish).toContain("code-cache: \n")
      expect(first.console).not.toMatch(/save_userdata: .*(sr0|ovf-env)/)
    })

    it("created the custom data's user, in wheel, with its key; the image's user has IMDS's keys alone", () => {
      const passwd = readGuestFile(image.disk, "/etc/passwd")!
      const uid = Number(/^deploy:x:(\d+):/m.exec(passwd)?.[1])
      expect(uid).toBeGreaterThan(0)
      expect(readGuestFile(image.disk, "/etc/group")).toMatch(/^wheel:x:\d+:(.*,)?deploy(,.*)?$/m)
      expect(readGuestFile(image.disk, "/home/deploy/.ssh/authorized_keys")).toBe(`${DEPLOY_KEY}\n`)
      const keys = statGuestFile(image.disk, "/home/deploy/.ssh/authorized_keys")!
      expect({ mode: keys.mode & 0o7777, uid: keys.uid }).toEqual({ mode: 0o600, uid })
      expect(readGuestFile(image.disk, "/home/alpine/.ssh/authorized_keys")).not.toContain(DEPLOY_KEY)
    })

    it("wrote the custom data's file and ran its runcmd once, in the final phase", () => {
      expect(readGuestFile(image.disk, "/etc/custom-data/written.conf")).toBe("written from custom data\n")
      const written = statGuestFile(image.disk, "/etc/custom-data/written.conf")!
      expect({ mode: written.mode & 0o7777, uid: written.uid }).toEqual({ mode: 0o640, uid: 0 })
      expect(readGuestFile(image.disk, "/var/lib/custom-data-runcmd")).toBe("runcmd ran as root on vm-azure\n")
    })

    it("asked IMDS with Metadata: true, and reported Ready to the wireserver at 168.63.129.16", () => {
      const imds = sim.requests.filter((r) => r.path.startsWith("/metadata/"))
      expect(imds.length).toBeGreaterThan(0)
      for (const r of imds) expect(r.headers["metadata"]).toBe("true")
      expect(sim.requests.some((r) => r.path.startsWith("/metadata/instance/compute/userData") && r.status === 200)).toBe(true)
      expect(sim.reports).toContainEqual(expect.objectContaining({ kind: "health", state: "Ready" }))
      expect(first.console).toContain("report_ready: Ready reported to the Azure wireserver at 168.63.129.16")
    })
  })

  describe("GCP, the metadata simulator at 169.254.169.254 asked with Metadata-Flavor, DMI product_name and bios_vendor Google", () => {
    let image: Image
    let first: Boot
    let sim: RunningSim

    beforeAll(async () => {
      image = await buildImage(base, join(work, "gcp"))
      sim = await startSimulator({
        cloud: "gcp",
        instance: { hostname: "vm-gcp.c.tiny-cloud-test.internal", sshKeys: KEYS, userData: new TextEncoder().encode(userData("gcp")) }
      })
      const port = Number(sim.endpoint.split(":").pop())
      // as a GCE instance's SMBIOS has them
      first = await boot({
        base,
        disk: image.disk,
        manufacturer: "Google",
        product: "Google Compute Engine",
        serial: "GoogleCloud-0123456789ABCDEF0123456789ABCDEF",
        biosVendor: "Google",
        metadataPort: port,
        log: join(work, "gcp/console-1.log")
      })
      recordTimings("gcp, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), { cloud: "gcp", hostname: "vm-gcp", fqdn: "vm-gcp.c.tiny-cloud-test.internal", tag: "gcp" })

    it("asked with Metadata-Flavor: Google, read the instance's ssh-keys and user-data, and installed no other user's key nor an expired one", () => {
      const asked = sim.requests.filter((r) => r.path.startsWith("/computeMetadata/"))
      expect(asked.length).toBeGreaterThan(0)
      for (const r of asked) expect(r.headers["metadata-flavor"]).toBe("Google")
      expect(sim.requests.some((r) => r.path.startsWith("/computeMetadata/v1/instance/attributes/ssh-keys") && r.status === 200)).toBe(true)
      expect(sim.requests.some((r) => r.path.startsWith("/computeMetadata/v1/instance/attributes/user-data") && r.status === 200)).toBe(true)
      const keys = readGuestFile(image.disk, "/home/alpine/.ssh/authorized_keys")!
      expect(keys).not.toContain("someone-else")
      expect(keys).not.toContain("google-ssh")
    })
  })

  describe("Scaleway, the metadata simulator at 169.254.42.42, user-data asked from a source port below 1024, DMI sys_vendor Scaleway", () => {
    let image: Image
    let first: Boot
    let sim: RunningSim
    let pcap: string

    beforeAll(async () => {
      image = await buildImage(base, join(work, "scaleway"))
      // the relay behind qemu's guestfwd connects from a port of its own: the simulator cannot see the guest's, which
      // the guest's traffic (filter-dump) shows instead
      sim = await startSimulator({
        cloud: "scaleway",
        instance: { hostname: "vm-scw", sshKeys: KEYS, userData: new TextEncoder().encode(userData("scaleway")) },
        privilegedPortEnforced: false
      })
      const port = Number(sim.endpoint.split(":").pop())
      pcap = join(work, "scaleway/guest.pcap")
      first = await boot({
        base,
        disk: image.disk,
        manufacturer: "Scaleway",
        product: "SCW-DEV1-S",
        metadataAddress: "169.254.42.42",
        metadataPort: port,
        pcap,
        log: join(work, "scaleway/console-1.log")
      })
      recordTimings("scaleway, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), { cloud: "scaleway", hostname: "vm-scw", fqdn: "vm-scw", tag: "scaleway" })

    it("read /conf, and asked 169.254.42.42:80 for the user-data from a source port below 1024, as the real service wants", () => {
      expect(sim.requests.some((r) => r.path.startsWith("/conf") && r.status === 200)).toBe(true)
      expect(sim.requests.some((r) => r.path.startsWith("/user_data/cloud-init") && r.status === 200)).toBe(true)
      const sent = guestRequests(pcap).filter((r) => r.destination === "169.254.42.42" && r.destinationPort === 80)
      expect(sent.some((r) => r.line.startsWith("GET /conf"))).toBe(true)
      const userDataRequests = sent.filter((r) => /^GET \/(?:user|vendor)_data/.test(r.line))
      expect(userDataRequests.map((r) => r.line)).toContainEqual(expect.stringMatching(/^GET \/user_data\/cloud-init /))
      for (const r of userDataRequests) expect(r.sourcePort, r.line).toBeLessThan(1024)
    })
  })

  describe("Hetzner, the metadata simulator at 169.254.169.254, DMI sys_vendor Hetzner", () => {
    let image: Image
    let first: Boot
    let sim: RunningSim

    beforeAll(async () => {
      image = await buildImage(base, join(work, "hetzner"))
      sim = await startSimulator({ cloud: "hetzner", instance: { hostname: "vm-hetzner", sshKeys: KEYS, userData: new TextEncoder().encode(userData("hetzner")) } })
      const port = Number(sim.endpoint.split(":").pop())
      // as a Hetzner Cloud server's SMBIOS has them
      first = await boot({ base, disk: image.disk, manufacturer: "Hetzner", product: "vServer", metadataPort: port, log: join(work, "hetzner/console-1.log") })
      recordTimings("hetzner, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), { cloud: "hetzner", hostname: "vm-hetzner", fqdn: "vm-hetzner", tag: "hetzner" })

    it("read the keys and the user-data from /hetzner/v1/", () => {
      expect(sim.requests.some((r) => r.path.startsWith("/hetzner/v1/metadata/public-keys") && r.status === 200)).toBe(true)
      expect(sim.requests.some((r) => r.path.startsWith("/hetzner/v1/userdata") && r.status === 200)).toBe(true)
    })
  })

  describe("OCI, the metadata simulator at 169.254.169.254 asked with Authorization: Bearer Oracle, DMI chassis_asset_tag OracleCloud.com", () => {
    let image: Image
    let first: Boot
    let sim: RunningSim

    beforeAll(async () => {
      image = await buildImage(base, join(work, "oci"))
      sim = await startSimulator({ cloud: "oci", instance: { hostname: "vm-oci", sshKeys: KEYS, userData: new TextEncoder().encode(userData("oci")) } })
      const port = Number(sim.endpoint.split(":").pop())
      // an OCI VM's SMBIOS: qemu's own strings, and Oracle's asset tag
      first = await boot({ base, disk: image.disk, assetTag: "OracleCloud.com", metadataPort: port, log: join(work, "oci/console-1.log") })
      recordTimings("oci, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), { cloud: "oci", hostname: "vm-oci", fqdn: "vm-oci", tag: "oci" })

    it("asked /opc/v2/ with Authorization: Bearer Oracle, and read the keys and the user-data", () => {
      const asked = sim.requests.filter((r) => r.path.startsWith("/opc/"))
      expect(asked.length).toBeGreaterThan(0)
      for (const r of asked) expect(r.headers["authorization"]).toBe("Bearer Oracle")
      expect(sim.requests.some((r) => r.path.startsWith("/opc/v2/instance/metadata/ssh_authorized_keys") && r.status === 200)).toBe(true)
      expect(sim.requests.some((r) => r.path.startsWith("/opc/v2/instance/metadata/user_data") && r.status === 200)).toBe(true)
    })
  })

  describe("OpenStack, a config drive (iso9660 config-2 on a CD-ROM) and no metadata service, DMI product_name OpenStack Nova", () => {
    let image: Image
    let first: Boot

    beforeAll(async () => {
      image = await buildImage(base, join(work, "openstack"))
      // Nova's files (in the shape of its config drive's), under openstack/latest/ and a dated version
      const metaData = JSON.stringify({
        uuid: "3f5e1b2a-9c4d-4e8f-a1b2-c3d4e5f60718",
        public_keys: { "key-0": KEYS[0], "key-1": KEYS[1] },
        keys: KEYS.map((data, i) => ({ name: `key-${i}`, type: "ssh", data })),
        hostname: "vm-openstack.novalocal",
        name: "vm-openstack",
        launch_index: 0,
        availability_zone: "nova",
        meta: {},
        project_id: "6d1e3f0b2a9c4e7d8f1a2b3c4d5e6f70",
        devices: []
      })
      const networkData = JSON.stringify({
        links: [{ id: "tap0c1d2e3f-4a", vif_id: "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f", type: "ovs", mtu: 1450, ethernet_mac_address: "52:54:00:12:34:56" }],
        networks: [{ id: "network0", type: "ipv4_dhcp", link: "tap0c1d2e3f-4a", network_id: "9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4" }],
        services: []
      })
      const files: Record<string, string> = {}
      for (const version of ["2012-08-10", "latest"]) {
        files[`openstack/${version}/meta_data.json`] = metaData
        files[`openstack/${version}/user_data`] = userData("openstack")
        files[`openstack/${version}/network_data.json`] = networkData
        files[`openstack/${version}/vendor_data.json`] = "{}"
      }
      // (Nova's libvirt driver attaches an iso9660 config drive as a CD-ROM: the guest's /dev/sr0)
      const cdrom = buildConfigDrive(join(work, "openstack"), files)
      first = await boot({
        base,
        disk: image.disk,
        cdrom,
        manufacturer: "OpenStack Foundation",
        product: "OpenStack Nova",
        log: join(work, "openstack/console-1.log")
      })
      recordTimings("openstack, first boot", first)
    }, 600_000)

    firstBootChecks(() => ({ image, boot: first }), { cloud: "openstack", hostname: "vm-openstack", fqdn: "vm-openstack.novalocal", tag: "openstack" })

    it("read the config drive (no metadata service is there to read) and left no mount point", () => {
      expect(readGuestFile(image.disk, "/var/lib/cloud/user-data")).toBe(userData("openstack"))
      expect(first.console).not.toMatch(/config-2|metadata service/)
      expect(listGuestDirectory(image.disk, "/tmp")).not.toContainEqual(expect.stringMatching(/^tiny-cloud-/))
      expect(readGuestFile(image.disk, "/var/log/vm-finish.log")).toContain("media: \n")
    })
  })

  describe("DigitalOcean, the metadata simulator at 169.254.169.254 and a config-2 drive beside it, DMI sys_vendor DigitalOcean", () => {
    let image: Image
    let first: Boot
    let sim: RunningSim

    beforeAll(async () => {
      image = await buildImage(base, join(work, "digitalocean"))
      sim = await startSimulator({ cloud: "digitalocean", instance: { hostname: "vm-droplet", sshKeys: KEYS, userData: new TextEncoder().encode(userData("digitalocean")) } })
      const port = Number(sim.endpoint.split(":").pop())
      // a droplet carries a config drive too: the DMI sign must win over it, and the metadata service be read
      const seed = buildConfigDrive(join(work, "digitalocean"), {
        "openstack/latest/meta_data.json": JSON.stringify({ uuid: "0", hostname: "not-the-droplet", public_keys: {} })
      })
      first = await boot({ base, disk: image.disk, seed, manufacturer: "DigitalOcean", product: "Droplet", metadataPort: port, log: join(work, "digitalocean/console-1.log") })
      recordTimings("digitalocean, first boot", first)
    }, 600_000)

    afterAll(async () => {
      await sim?.close()
    })

    firstBootChecks(() => ({ image, boot: first }), { cloud: "digitalocean", hostname: "vm-droplet", fqdn: "vm-droplet", tag: "digitalocean" })

    it("read the keys and the user-data from /metadata/v1/", () => {
      expect(sim.requests.some((r) => r.path.startsWith("/metadata/v1/public-keys") && r.status === 200)).toBe(true)
      expect(sim.requests.some((r) => r.path.startsWith("/metadata/v1/user-data") && r.status === 200)).toBe(true)
    })
  })
}
