/**
 * The network helpers as `make install` puts them in an image: links to the
 * bundled program under the shell edition's names, the ifupdown-ng
 * executor (a shell wrapper around `tiny-cloud net-sync`) and the stanzas.
 * The image is the instance's ROOT. Each run is a process.
 */
import { execFileSync, spawn } from "node:child_process"
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import type { RunResult } from "../support/harness.js"
import { describeSystem, itSystem, which } from "../support/system.js"

const REPO = new URL("../../", import.meta.url).pathname
let image = ""

/** the instance's environment: the image is its ROOT, its helpers first on the PATH */
const env = () => ({
  PATH: `${join(image, "usr/sbin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
  ROOT: image,
  CLOUD: "aws",
  TINY_CLOUD_CODE_CACHE: "off"
})

const run = (command: string, args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
  new Promise<RunResult>((done) => {
    const child = spawn(command, [...args], { env: { ...env(), ...extra }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }))
  })

/** the program by the name of the link it is called through */
const helper = (path: string, extra: Record<string, string> = {}, args: ReadonlyArray<string> = []) => run(process.execPath, [join(image, path), ...args], extra)

// make install puts the helpers in place
describeSystem("the network helpers by their installed names", { tools: { make: "make" } }, () => {
  beforeAll(() => {
    image = mkdtempSync(join(tmpdir(), "tiny-cloud-helpers-"))
    // no code caches: these runs compile, as TINY_CLOUD_CODE_CACHE=off says
    execFileSync("make", ["-s", "install", `DESTDIR=${image}`, "PREPARE_CODE_CACHE=no"], { cwd: REPO, stdio: "ignore" })
    for (const nic of ["lo", "eth0"]) {
      mkdirSync(join(image, "sys/class/net", nic), { recursive: true })
      writeFileSync(join(image, "sys/class/net", nic, "address"), "02:00:00:00:00:01\n")
    }
  })
  afterAll(() => rmSync(image, { recursive: true, force: true }))

  it("/sbin/assemble-interfaces writes the interfaces file from the shipped stanzas", async () => {
    expect(await helper("sbin/assemble-interfaces")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(readlinkSync(join(image, "sbin/assemble-interfaces"))).toBe("../usr/lib/tiny-cloud/tiny-cloud.cjs")
    expect(readFileSync(join(image, "etc/network/interfaces"), "utf8")).toBe(
      "# NOTE: /sbin/assemble-interfaces rewrites this file.  Edit files in\n#      /etc/network/interfaces.d/ to persist any customizations.\n\n" +
        "auto lo\niface lo\n  use link\n  use loopback\n\nauto eth0\niface eth0\n  use dhcp\n  use imds\n\n"
    )
  })

  it("a link of the operator's own name to an installed name runs that name's program, through a chain of links, as a link to the shell edition's script does", async () => {
    mkdirSync(join(image, "usr/local/bin"), { recursive: true })
    symlinkSync("../../bin/imds", join(image, "usr/local/bin/metadata"))
    symlinkSync("metadata", join(image, "usr/local/bin/md"))
    symlinkSync(join(image, "sbin/assemble-interfaces"), join(image, "usr/local/bin/rebuild"))
    expect((await helper("usr/local/bin/md", {}, ["-h"])).stdout).toBe((await helper("usr/bin/imds", {}, ["-h"])).stdout)
    expect((await helper("usr/local/bin/md", {}, ["-h"])).stdout).toMatch(/^Usage: imds /)
    expect((await helper("usr/local/bin/rebuild", {}, ["-h"])).stdout).toBe("Usage: assemble-interfaces\n")
    // a name the program does not know, whose link leads nowhere here: the program's own commands
    expect((await helper("usr/lib/tiny-cloud/tiny-cloud.cjs", {}, ["-h"])).stdout).toMatch(/^Usage: tiny-cloud /)
  })

  it("/lib/mdev/vnic-eth-hotplug and /sbin/imds-net-sync without their environment: one error line, exit 1", async () => {
    expect(await helper("lib/mdev/vnic-eth-hotplug")).toEqual({ code: 1, stdout: "", stderr: "vnic-eth-hotplug: MDEV or ACTION undefined, aborting\n" })
    expect(await helper("sbin/imds-net-sync")).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: IFACE not set, aborting\n" })
    expect((await helper("lib/mdev/nvme-ebs-links", {}, ["-h"])).stdout).toBe("Usage: nvme-ebs-links (MDEV=nvmeXnY[pZ] ACTION=add|remove)\n")
  })

  itSystem("a helper's usage that cannot be written is one line under the helper's own name, as its other lines are, and exit 1", { files: ["/dev/full"] }, async () => {
    for (const path of ["sbin/assemble-interfaces", "sbin/imds-net-sync", "lib/mdev/vnic-eth-hotplug", "lib/mdev/nvme-ebs-links"]) {
      const name = path.split("/").pop()!
      const fd = openSync("/dev/full", "w")
      const child = spawn(process.execPath, [join(image, path), "-h"], { env: env(), stdio: ["ignore", fd, "pipe"] })
      closeSync(fd)
      let stderr = ""
      child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()))
      const code = await new Promise((done) => child.on("close", done))
      expect([path, code, stderr]).toEqual([path, 1, `${name}: cannot write to standard output: no space left on device\n`])
    }
  })

  it("/lib/mdev/vnic-eth-hotplug run as mdev runs it (umask 0) brings the NIC up with umask 022, as the shell edition does", async () => {
    // networking started; ifup tells the umask it was started with
    const bin = mkdtempSync(join(tmpdir(), "tiny-cloud-helpers-bin-"))
    try {
      writeFileSync(join(bin, "rc-service"), "#!/bin/sh\nexit 0\n", { mode: 0o755 })
      writeFileSync(join(bin, "ifup"), `#!/bin/sh\necho "$* $(umask)" >> "${bin}/ifup.log"\n`, { mode: 0o755 })
      const mdev = `umask 0; exec "${process.execPath}" "${join(image, "lib/mdev/vnic-eth-hotplug")}"`
      const r = await run("/bin/sh", ["-c", mdev], { PATH: `${bin}:${env().PATH}`, MDEV: "eth0", ACTION: "add" })
      expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(readFileSync(join(bin, "ifup.log"), "utf8")).toBe("eth0 0022\n")
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it("the ifupdown-ng executor runs tiny-cloud net-sync: nothing on pre-down, a sync on post-up", async () => {
    const executor = join(image, "usr/libexec/ifupdown-ng/imds")
    expect(await run("/bin/sh", [executor], { IFACE: "eth0", PHASE: "pre-down" })).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(await run("/bin/sh", [executor], { PHASE: "post-up" })).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: IFACE not set, aborting\n" })
  })

  itSystem(
    "the ifupdown-ng executor run as ifupdown-ng runs it, with a PATH of ifupdown-ng's (or none, before 2023: busybox sh's own) that has no tiny-cloud PREFIX=/usr/local installed: it runs /sbin/imds-net-sync",
    { root: true, tools: { unshare: "util-linux", busybox: "busybox" } },
    async () => {
      const sbin = mkdtempSync(join(tmpdir(), "tiny-cloud-helpers-sbin-"))
      try {
        // /sbin/imds-net-sync as make install puts it, whatever PREFIX: the program by that name (run with this node, wherever it is)
        writeFileSync(join(sbin, "imds-net-sync"), `#!/bin/sh\nexec "${process.execPath}" "${join(image, "sbin/imds-net-sync")}" "$@"\n`, { mode: 0o755 })
        // a private mount namespace whose /sbin (and /usr/sbin, where /sbin is a link to it) holds only that: no tiny-cloud on the shell's PATH
        // ifupdown-ng's executors' PATH, then none (as before 2023)
        const script =
          'mount --make-rprivate / && mount --bind "$1" /sbin || exit 9; for p in /usr/bin:/bin:/usr/sbin:/sbin ""; do env -i ${p:+PATH=$p} PHASE=post-up TINY_CLOUD_CODE_CACHE=off "$2" sh "$3"; echo "exit $?"; done'
        const executor = join(image, "usr/libexec/ifupdown-ng/imds")
        const r = await run(which("unshare")!, ["-m", "sh", "-c", script, "sh", sbin, which("busybox")!, executor])
        expect(r).toEqual({ code: 0, stdout: "exit 1\nexit 1\n", stderr: "imds-net-sync: IFACE not set, aborting\n".repeat(2) })
      } finally {
        rmSync(sbin, { recursive: true, force: true })
      }
    }
  )

  it("the ifupdown-ng executor starts no program in the phases other than post-up (ifupdown-ng runs it in each of every ifup and ifdown)", async () => {
    const executor = join(image, "usr/libexec/ifupdown-ng/imds")
    // tiny-cloud is not on this PATH: a phase that started it would fail
    for (const phase of ["depend", "create", "pre-up", "up", "pre-down", "down", "post-down", "destroy"]) {
      expect(await run("/bin/sh", [executor], { IFACE: "eth0", PHASE: phase, PATH: "/usr/bin:/bin" })).toEqual({ code: 0, stdout: "", stderr: "" })
    }
    expect((await run("/bin/sh", [executor], { IFACE: "eth0", PHASE: "post-up", PATH: "/usr/bin:/bin" })).code).not.toBe(0)
  })
})
