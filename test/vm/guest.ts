/**
 * The VM test's machinery: the cached base guest, images with tiny-cloud
 * installed, qemu boots with a timestamped serial console, and reading the
 * image afterwards without mounting it (debugfs, dumpe2fs, e2fsck, sfdisk).
 */
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { promisify } from "node:util"

export const REPO = resolve(new URL("../..", import.meta.url).pathname)
const HERE = join(REPO, "test/vm")
const RECIPE = join(HERE, "build-base.sh")

export const DISK_BYTES = 1024 * 1024 * 1024
export const PART_START_SECTOR = 2048
export const PART_MIB = 700
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ------------------------------------------------------------------ requirements

/** tool → the Debian package that has it */
const TOOLS: Record<string, string> = {
  "qemu-system-x86_64": "qemu-system-x86",
  debootstrap: "debootstrap",
  "apt-get": "apt",
  "dpkg-deb": "dpkg",
  "mkfs.ext4": "e2fsprogs",
  debugfs: "e2fsprogs",
  dumpe2fs: "e2fsprogs",
  e2fsck: "e2fsprogs",
  sfdisk: "fdisk",
  "mkfs.vfat": "dosfstools",
  mcopy: "mtools",
  genisoimage: "genisoimage",
  make: "make",
  gzip: "gzip",
  chroot: "coreutils"
}

const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`], { env: { PATH: `${process.env.PATH ?? ""}:${SYSTEM_PATH}` } }).status === 0

/** why the VM test cannot run here, or undefined when it can */
export const unmetRequirements = (): string | undefined => {
  if (process.platform !== "linux" || process.arch !== "x64") return `needs an x86_64 Linux machine, this is ${process.platform}/${process.arch}`
  if (process.getuid?.() !== 0) return "needs root (debootstrap, chroot, file ownership in the image)"
  const missing = Object.keys(TOOLS).filter((t) => !has(t))
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => TOOLS[t]!))].join(" ")
    return `missing ${missing.join(", ")}; install with: apt-get install --no-install-recommends ${packages}`
  }
  return undefined
}

export const run = (command: string, args: ReadonlyArray<string>, options: { cwd?: string; env?: Record<string, string>; input?: string } = {}) =>
  execFileSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ""}` },
    input: options.input,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024
  })

/** the same, without blocking the test worker (long steps: vitest's worker must keep answering) */
export const runAsync = async (command: string, args: ReadonlyArray<string>, options: { cwd?: string; env?: Record<string, string> } = {}) =>
  (await promisify(execFile)(command, [...args], {
    cwd: options.cwd,
    env: options.env ?? { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ""}` },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })).stdout

// ------------------------------------------------------------------ the base guest

export interface Base {
  readonly dir: string
  readonly rootfs: string
  readonly kernel: string
  readonly initramfs: string
  readonly kernelVersion: string
  /** true when it was built by this run, false when it came from the cache */
  readonly built: boolean
  readonly seconds: number
}

export const cacheRoot = () => process.env.TINY_CLOUD_VM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tiny-cloud-vm")

/** the base guest for the current recipe: from the cache, else built (a minute or two) */
export const ensureBase = async (log: (line: string) => void): Promise<Base> => {
  const started = Date.now()
  const key = createHash("sha256").update(readFileSync(RECIPE)).digest("hex").slice(0, 16)
  const dir = join(cacheRoot(), `base-${key}`)
  const paths = (built: boolean): Base => ({
    dir,
    rootfs: join(dir, "rootfs"),
    kernel: join(dir, "vmlinuz"),
    initramfs: join(dir, "initramfs.gz"),
    kernelVersion: readFileSync(join(dir, "kernel-version"), "utf8").trim(),
    built,
    seconds: (Date.now() - started) / 1000
  })
  if (existsSync(join(dir, "complete"))) return paths(false)
  mkdirSync(cacheRoot(), { recursive: true })
  const temp = `${dir}.tmp-${process.pid}`
  log(`building the base guest into ${dir} (recipe ${key}; cached for later runs)`)
  try {
    const out = await runAsync("sh", [RECIPE, temp])
    for (const line of out.trim().split("\n")) log(line)
  } catch (e) {
    rmSync(temp, { recursive: true, force: true })
    const err = e as { stdout?: string; stderr?: string }
    throw new Error(`building the base guest failed:\n${err.stdout ?? ""}${err.stderr ?? String(e)}`)
  }
  writeFileSync(join(temp, "complete"), `${new Date().toISOString()}\n`)
  rmSync(dir, { recursive: true, force: true })
  renameSync(temp, dir)
  // bases of older recipes are of no more use
  for (const name of readdirSync(cacheRoot())) {
    if (/^base-[0-9a-f]{16}$/.test(name) && join(cacheRoot(), name) !== dir) rmSync(join(cacheRoot(), name), { recursive: true, force: true })
  }
  return paths(true)
}

// ------------------------------------------------------------------ images

export interface Image {
  readonly disk: string
  /** what `tiny-cloud --enable` printed in the image builder's chroot */
  readonly enableOutput: string
  /** whether --enable in the chroot left a code cache in the image's /run */
  readonly cacheLeftInImage: boolean
  readonly seconds: number
}

/**
 * A 1 GiB disk with one 700 MiB ext4 partition holding the base guest, this
 * machine's node, tiny-cloud from `make install DESTDIR=...` and its services
 * enabled by `tiny-cloud --enable` run in a chroot, like an image builder does.
 */
export const buildImage = async (
  base: Base,
  work: string,
  options: { conf?: string; files?: Record<string, string>; symlinks?: Record<string, string> } = {}
): Promise<Image> => {
  const started = Date.now()
  mkdirSync(work, { recursive: true })
  const rootfs = join(work, "rootfs")
  rmSync(rootfs, { recursive: true, force: true })
  await runAsync("cp", ["-a", base.rootfs, rootfs])
  // Debian bookworm's nodejs is 18: the guest runs this machine's node (same glibc)
  cpSync(process.execPath, join(rootfs, "usr/bin/node"))
  await runAsync("make", ["-s", "install", `DESTDIR=${rootfs}`], { cwd: REPO })
  if (options.conf !== undefined) writeFileSync(join(rootfs, "etc/tiny-cloud.conf"), options.conf)
  for (const [path, content] of Object.entries(options.files ?? {})) {
    mkdirSync(join(rootfs, dirname(path)), { recursive: true })
    writeFileSync(join(rootfs, path), content)
  }
  for (const [path, target] of Object.entries(options.symlinks ?? {})) {
    rmSync(join(rootfs, path), { force: true })
    symlinkSync(target, join(rootfs, path))
  }
  const enableOutput = await runAsync("chroot", [rootfs, "/usr/sbin/tiny-cloud", "--enable"], { env: { PATH: SYSTEM_PATH } })
  const cacheLeftInImage = existsSync(join(rootfs, "run/tiny-cloud"))
  const part = join(work, "root.ext4")
  const disk = join(work, "disk.img")
  rmSync(part, { force: true })
  rmSync(disk, { force: true })
  await runAsync("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", rootfs, part, `${PART_MIB}M`])
  run("truncate", ["-s", String(DISK_BYTES), disk])
  run("sfdisk", ["-q", disk], { input: `label: dos\nstart=${PART_START_SECTOR}, size=${PART_MIB * 2048}, type=83\n` })
  await runAsync("dd", [`if=${part}`, `of=${disk}`, "bs=1M", `seek=${(PART_START_SECTOR * 512) / (1024 * 1024)}`, "conv=notrunc,sparse", "status=none"])
  rmSync(part, { force: true })
  await runAsync("rm", ["-rf", rootfs])
  return { disk, enableOutput, cacheLeftInImage, seconds: (Date.now() - started) / 1000 }
}

/** a NoCloud seed volume labelled cidata: vfat (mkfs.vfat + mcopy) or iso9660 (genisoimage) */
export const buildSeed = (work: string, format: "vfat" | "iso9660", files: Record<string, string>): string => {
  const dir = join(work, `seed-${format}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  const names = Object.keys(files).map((n) => join(dir, n))
  if (format === "vfat") {
    const image = join(work, "seed.vfat")
    rmSync(image, { force: true })
    run("mkfs.vfat", ["-C", "-n", "cidata", image, "1024"])
    run("mcopy", ["-i", image, ...names, "::"])
    return image
  }
  const image = join(work, "seed.iso")
  run("genisoimage", ["-quiet", "-output", image, "-volid", "cidata", "-joliet", "-rock", ...names])
  return image
}

/** a CD-ROM image of `files`, UDF (with genisoimage's iso9660 bridge beside it), as Azure's provisioning media is */
export const buildCdrom = (work: string, label: string, files: Record<string, string>): string => {
  const dir = join(work, "cdrom")
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  const image = join(work, "cdrom.iso")
  run("genisoimage", ["-quiet", "-output", image, "-volid", label, "-udf", "-joliet", "-rock", dir])
  return image
}

/** an OpenStack config drive as Nova makes it: iso9660 labelled config-2 (genisoimage -J -r), `files` by their paths in it */
export const buildConfigDrive = (work: string, files: Record<string, string>): string => {
  const dir = join(work, "config-drive")
  rmSync(dir, { recursive: true, force: true })
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(name)), { recursive: true })
    writeFileSync(join(dir, name), content)
  }
  const image = join(work, "config-drive.iso")
  run("genisoimage", ["-quiet", "-output", image, "-volid", "config-2", "-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-J", "-r", dir])
  return image
}

// ------------------------------------------------------------------ boots

export interface ConsoleLine {
  /** seconds since qemu started, when the line reached the host */
  readonly t: number
  readonly text: string
}

export interface Boot {
  readonly code: number | null
  readonly timedOut: boolean
  readonly seconds: number
  readonly lines: ReadonlyArray<ConsoleLine>
  readonly console: string
  readonly accel: string
}

export interface BootOptions {
  readonly base: Base
  readonly disk: string
  readonly seed?: string
  /** an image in the CD-ROM drive (IDE: the guest's /dev/sr0) */
  readonly cdrom?: string
  /** SMBIOS system manufacturer (DMI sys_vendor) */
  readonly manufacturer?: string
  /** SMBIOS system product name and serial number (DMI product_name, product_serial) */
  readonly product?: string
  readonly serial?: string
  /** SMBIOS BIOS vendor (DMI bios_vendor) */
  readonly biosVendor?: string
  /** SMBIOS chassis asset tag (DMI chassis_asset_tag) */
  readonly assetTag?: string
  /** forward the guest's metadataAddress:80 to this port on 127.0.0.1 */
  readonly metadataPort?: number
  /** the metadata service's address in the guest's link-local network; default 169.254.169.254 */
  readonly metadataAddress?: string
  /** the guest's network traffic is written here (qemu's filter-dump, pcap): what the guest sent, its source ports too */
  readonly pcap?: string
  /** forward the guest's 168.63.129.16:80 (Azure's wireserver) to this port on 127.0.0.1 (with metadataPort) */
  readonly wireserverPort?: number
  readonly timeoutSeconds?: number
  /** the timestamped console is written here */
  readonly log: string
}

/**
 * KVM when it runs a guest, else TCG. A `/dev/kvm` that opens is not enough:
 * a sandbox may offer one whose guests never run (seen: qemu warns the host
 * lacks SSE3 and the kernel prints nothing, for ever), and every boot would
 * then wait out its timeout. The kernel alone, without a disk, prints its
 * first line within a second under KVM; it is given 20 s once per run.
 */
let chosenAccel: Promise<string> | undefined
const accelFor = (kernel: string): Promise<string> =>
  (chosenAccel ??= !existsSync("/dev/kvm")
    ? Promise.resolve("tcg")
    : new Promise<string>((done) => {
        const probe = spawn("qemu-system-x86_64", [
          "-accel", "kvm", "-m", "256", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
          "-kernel", kernel, "-append", "console=ttyS0 panic=-1"
        ], { stdio: ["ignore", "pipe", "pipe"] })
        let seen = ""
        let decided = false
        const decide = (accel: string) => {
          if (decided) return
          decided = true
          clearTimeout(timer)
          probe.kill("SIGKILL")
          if (accel === "tcg") console.log("vm: /dev/kvm is there but its guest printed nothing in 20 s: booting under TCG")
          done(accel)
        }
        const timer = setTimeout(() => decide("tcg"), 20_000)
        probe.stdout.on("data", (chunk: Buffer) => {
          seen += chunk.toString("utf8")
          if (seen.includes("Linux version")) decide("kvm")
        })
        probe.on("error", () => decide("tcg"))
        probe.stderr.resume()
        probe.on("close", () => decide(seen.includes("Linux version") ? "kvm" : "tcg"))
      }))

/** a value in qemu's option syntax: a comma doubled */
const smbios = (value: string) => value.replace(/,/g, ",,")

/** boots the image until it powers itself off (or the timeout) */
export const boot = async (options: BootOptions): Promise<Boot> => {
  const accel = await accelFor(options.base.kernel)
  // user networking, restricted: the guest reaches nothing but what is forwarded
  // (qemu forwards only addresses of its network: with the wireserver's, one that holds 168.63.0.0/16 too)
  const forward = (address: string, port: number) => `,guestfwd=tcp:${address}:80-cmd:${process.execPath} ${join(HERE, "relay.cjs")} ${port}`
  const netdev = options.metadataPort === undefined
    ? "user,id=n0,restrict=on"
    : `user,id=n0,restrict=on,net=${options.wireserverPort === undefined ? "169.254.0.0/16" : "168.0.0.0/7"},host=169.254.0.2,dhcpstart=169.254.0.15` +
      forward(options.metadataAddress ?? "169.254.169.254", options.metadataPort) +
      (options.wireserverPort === undefined ? "" : forward("168.63.129.16", options.wireserverPort))
  const args = [
    "-accel", accel, "-smp", "2", "-m", "1024",
    "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
    "-kernel", options.base.kernel, "-initrd", options.base.initramfs,
    "-append", "console=ttyS0 root=/dev/vda1 quiet panic=-1",
    "-drive", `file=${options.disk},format=raw,if=virtio`,
    ...(options.seed ? ["-drive", `file=${options.seed},format=raw,if=virtio,readonly=on`] : []),
    ...(options.cdrom ? ["-cdrom", options.cdrom] : []),
    "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0",
    "-device", "virtio-rng-pci",
    ...(options.pcap ? ["-object", `filter-dump,id=dump0,netdev=n0,file=${options.pcap}`] : []),
    ...(options.biosVendor ? ["-smbios", `type=0,vendor=${smbios(options.biosVendor)}`] : []),
    ...(options.manufacturer || options.product || options.serial
      ? ["-smbios", ["type=1", ...(Object.entries({ manufacturer: options.manufacturer, product: options.product, serial: options.serial })
          .flatMap(([k, v]) => (v ? [`${k}=${smbios(v)}`] : [])))].join(",")]
      : []),
    ...(options.assetTag ? ["-smbios", `type=3,asset=${options.assetTag}`] : [])
  ]
  const started = Date.now()
  const lines: Array<ConsoleLine> = []
  let partial = ""
  let raw = ""
  const seconds = () => (Date.now() - started) / 1000
  return new Promise((done) => {
    const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] })
    const take = (chunk: Buffer) => {
      const text = chunk.toString("utf8").replace(/\r/g, "")
      raw += text
      partial += text
      const parts = partial.split("\n")
      partial = parts.pop()!
      for (const part of parts) lines.push({ t: seconds(), text: part })
    }
    qemu.stdout.on("data", take)
    qemu.stderr.on("data", take)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      qemu.kill("SIGKILL")
    }, (options.timeoutSeconds ?? 420) * 1000)
    qemu.on("close", (code) => {
      clearTimeout(timer)
      if (partial !== "") lines.push({ t: seconds(), text: partial })
      writeFileSync(options.log, lines.map((l) => `[${l.t.toFixed(2).padStart(7)}] ${l.text}`).join("\n") + "\n")
      done({ code, timedOut, seconds: seconds(), lines, console: raw, accel })
    })
  })
}

const PHASES = ["boot", "early", "main", "final"] as const

/** each phase's seconds on the console, from its banner to OpenRC's [ ok ] / [ !! ] after it */
export const phaseTimings = (b: Boot): Record<string, number | undefined> => {
  const out: Record<string, number | undefined> = {}
  for (const phase of PHASES) {
    const start = b.lines.findIndex((l) => l.text.includes(`Tiny Cloud - ${phase} phase`))
    if (start < 0) continue
    const end = b.lines.findIndex((l, i) => i >= start && /\[ (ok|!!) \]/.test(l.text))
    out[phase] = end < 0 ? undefined : b.lines[end]!.t - b.lines[start]!.t
  }
  return out
}

export const describeBoot = (name: string, b: Boot) => {
  const t = phaseTimings(b)
  const openrc = b.lines.find((l) => l.text.includes("OpenRC"))?.t
  const finish = b.lines.find((l) => l.text.startsWith("vm-finish:"))
  const phases = PHASES.map((p) => `${p} ${t[p] === undefined ? "-" : `${t[p]!.toFixed(1)}s`}`).join(", ")
  return `${name}: ${b.seconds.toFixed(1)}s in qemu (${b.accel}); OpenRC at ${openrc?.toFixed(1) ?? "-"}s; phases: ${phases}; ` +
    `powered off at ${finish?.t.toFixed(1) ?? "-"}s (${finish?.text.replace(/^vm-finish: /, "") ?? "no vm-finish line"})`
}

// ------------------------------------------------------------------ reading the image

/** the disk's partition table, as sfdisk --json tells it */
export const partitionTable = (disk: string) =>
  JSON.parse(run("sfdisk", ["--json", disk])).partitiontable as { partitions: Array<{ node: string; start: number; size: number }> }

const fsSpec = (disk: string) => `${disk}?offset=${partitionTable(disk).partitions[0]!.start * 512}`

const debugfs = (disk: string, request: string) =>
  spawnSync("debugfs", ["-R", request, fsSpec(disk)], { encoding: "utf8", env: { PATH: SYSTEM_PATH } })

/** a file of the image, or undefined when it is not there */
export const readGuestFile = (disk: string, path: string): string | undefined => {
  const r = debugfs(disk, `cat ${path}`)
  return /not found|File not found/.test(r.stderr) ? undefined : r.stdout
}

/** the names in a directory of the image (`debugfs ls -p`), without . and .. */
export const listGuestDirectory = (disk: string, path: string): ReadonlyArray<string> =>
  debugfs(disk, `ls -p ${path}`)
    .stdout.split("\n")
    .map((line) => line.split("/")[5] ?? "")
    .filter((name) => name !== "" && name !== "." && name !== "..")

export interface GuestStat {
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly type: string
}

export const statGuestFile = (disk: string, path: string): GuestStat | undefined => {
  const r = debugfs(disk, `stat ${path}`)
  const mode = /Mode:\s+(\d+)/.exec(r.stdout)
  const owner = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(r.stdout)
  const type = /Type:\s+(\S+)/.exec(r.stdout)
  if (!mode || !owner || !type) return undefined
  return { mode: parseInt(mode[1]!, 8), uid: Number(owner[1]), gid: Number(owner[2]), type: type[1]! }
}

/** dumpe2fs -h: block count × block size, and the state */
export const fileSystem = (disk: string) => {
  const out = run("dumpe2fs", ["-h", fsSpec(disk)])
  const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(out)?.[1]?.trim() ?? ""
  return { bytes: Number(field("Block count")) * Number(field("Block size")), state: field("Filesystem state") }
}

/** e2fsck -fn: exit status and output */
export const checkFileSystem = (disk: string) => {
  const r = spawnSync("e2fsck", ["-fn", fsSpec(disk)], { encoding: "utf8", env: { PATH: SYSTEM_PATH } })
  return { code: r.status, output: `${r.stdout}${r.stderr}` }
}

// ------------------------------------------------------------------ the guest's traffic

export interface GuestRequest {
  /** the guest's source address and port, as it sent them */
  readonly source: string
  readonly sourcePort: number
  readonly destination: string
  readonly destinationPort: number
  /** the HTTP request's first line (`GET /path HTTP/1.1`) */
  readonly line: string
}

/**
 * The HTTP requests the guest sent over IPv4, from qemu's filter-dump (a pcap of Ethernet frames): each TCP segment
 * whose data begins with a method, with the source port the guest's kernel gave it. The relay behind qemu's guestfwd
 * sees only its own connection, whose port is its own: this is where the guest's port shows.
 */
export const guestRequests = (pcap: string): ReadonlyArray<GuestRequest> => {
  const bytes = readFileSync(pcap)
  const little = bytes.readUInt32LE(0) === 0xa1b2c3d4
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at))
  const out: Array<GuestRequest> = []
  for (let at = 24; at + 16 <= bytes.length; ) {
    const length = u32(at + 8)
    const frame = bytes.subarray(at + 16, at + 16 + length)
    at += 16 + length
    if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800) continue
    const ip = frame.subarray(14)
    if (ip[9] !== 6) continue
    const tcp = ip.subarray((ip[0]! & 0x0f) * 4, ip.readUInt16BE(2))
    if (tcp.length < 20) continue
    const data = tcp.subarray((tcp[12]! >> 4) * 4).toString("latin1")
    const line = /^(?:GET|PUT|POST|HEAD) [^\r\n]*/.exec(data)?.[0]
    if (line === undefined) continue
    out.push({
      source: [...ip.subarray(12, 16)].join("."),
      sourcePort: tcp.readUInt16BE(0),
      destination: [...ip.subarray(16, 20)].join("."),
      destinationPort: tcp.readUInt16BE(2),
      line
    })
  }
  return out
}
