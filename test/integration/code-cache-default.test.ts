import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { PROGRAM } from "../support/harness.js"
import { describeSystem } from "../support/system.js"

// the loader's decision, from the module scripts/build.mjs inlines into it
const { codeCacheDir } = createRequire(import.meta.url)("../../scripts/code-cache-dir.cjs") as {
  codeCacheDir: (setting: string | undefined, readMountinfo: () => string) => string | undefined
}

const line = (id: number, mountPoint: string, fsType: string, optional = "shared:1") =>
  `${id} 1 0:${id} / ${mountPoint} rw,nosuid,nodev ${optional} - ${fsType} ${fsType} rw`
const mountinfo = (...lines: Array<string>) => () => lines.join("\n") + "\n"
const root = line(20, "/", "ext4")

describe("where the code cache is kept", () => {
  it("by default in /run/tiny-cloud when /run is a tmpfs mount point", () => {
    expect(codeCacheDir(undefined, mountinfo(root, line(21, "/proc", "proc"), line(22, "/run", "tmpfs")))).toBe("/run/tiny-cloud")
    expect(codeCacheDir("", mountinfo(root, line(22, "/run", "tmpfs", "")))).toBe("/run/tiny-cloud")
  })

  it("nowhere by default when /run is a plain directory (an image builder's chroot)", () => {
    expect(codeCacheDir(undefined, mountinfo(root, line(21, "/proc", "proc"), line(23, "/run/lock", "tmpfs")))).toBeUndefined()
  })

  it("nowhere by default when /run is mounted but not a tmpfs, or a tmpfs is covered by another mount", () => {
    expect(codeCacheDir(undefined, mountinfo(root, line(22, "/run", "ext4")))).toBeUndefined()
    expect(codeCacheDir(undefined, mountinfo(root, line(22, "/run", "tmpfs"), line(30, "/run", "ext4")))).toBeUndefined()
    expect(codeCacheDir(undefined, mountinfo(root, line(22, "/run", "ext4"), line(30, "/run", "tmpfs")))).toBe("/run/tiny-cloud")
  })

  it("nowhere by default without /proc", () => {
    expect(codeCacheDir(undefined, () => { throw new Error("ENOENT") })).toBeUndefined()
  })

  it("TINY_CLOUD_CODE_CACHE=DIR is used as given, without looking at mounts; off turns it off", () => {
    const never = () => { throw new Error("not read") }
    expect(codeCacheDir("/var/cache/tc/", never)).toBe("/var/cache/tc")
    expect(codeCacheDir("/", never)).toBe("/")
    expect(codeCacheDir("off", mountinfo(root, line(22, "/run", "tmpfs")))).toBeUndefined()
  })

  it("TINY_CLOUD_CODE_CACHE that is not an absolute path ('no', 'OFF', a relative one) turns it off: no directory of that name in the working directory", () => {
    for (const setting of ["no", "OFF", "0", "cache", "./cache", " /run/tiny-cloud"]) expect(codeCacheDir(setting, mountinfo(root, line(22, "/run", "tmpfs")))).toBeUndefined()
  })
})

// The real default of the built program, in a private mount namespace where
// /run is made a tmpfs or not.
let dir = ""
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** runs `tiny-cloud --version` (the whole program: `--bootstrap status` compiles none) with no TINY_CLOUD_CODE_CACHE after the shell command mount(dir) in a new mount namespace; lists /run/tiny-cloud */
const runIn = (mount: (dir: string) => string) => {
  dir = mkdtempSync(join(tmpdir(), "tiny-cloud-cache-default-"))
  mkdirSync(join(dir, "root/var/lib/cloud"), { recursive: true })
  mkdirSync(join(dir, "plain"))
  const script = `set -e; ${mount(dir)}; "${process.execPath}" "${PROGRAM}" --version; ls -A /run/tiny-cloud 2>/dev/null || echo none`
  return execFileSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script], {
    env: { PATH: process.env.PATH!, ROOT: join(dir, "root") },
    encoding: "utf8"
  })
}

describeSystem("the built program's default code cache", { tools: { unshare: "util-linux" }, root: true }, () => {
  it("is written to /run/tiny-cloud when /run is a tmpfs", () => {
    expect(runIn(() => "mount -t tmpfs -o mode=0755 tmpfs /run")).toMatch(/^tiny-cloud \S+\ncode-cache-[0-9a-f]{16}-other\n$/)
  })

  it("is not kept in part when /run is full, and nothing is left there: the run's answer is as ever", () => {
    // two pages, one taken: the cache (far larger) is written in part, then refused
    expect(runIn(() => "mount -t tmpfs -o size=8k,mode=0755 tmpfs /run && head -c 4096 /dev/zero > /run/fill")).toMatch(/^tiny-cloud \S+\n$/)
  })

  it("is neither written nor read when /run is not a tmpfs", () => {
    // /run replaced by a plain directory of an ext4/overlay/... file system
    const fsType = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === "/")?.split(" - ")[1]?.split(" ")[0]
    if (fsType === "tmpfs") return console.log("code-cache-default: / is a tmpfs here; the not-a-tmpfs check has nothing to bind")
    expect(runIn((d) => `mount --bind "${join(d, "plain")}" /run`)).toMatch(/^tiny-cloud \S+\nnone\n$/)
  })
})
