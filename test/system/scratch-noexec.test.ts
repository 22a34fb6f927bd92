/**
 * The tests' temporary directories (test/support/scratch.ts) on a host whose
 * /dev/shm is mounted noexec, as hardened hosts mount it: the harness's
 * stand-in commands live in the instance's directory, and must run there.
 * The noexec tmpfs is mounted in a mount namespace of its own, seen through
 * its holder's /proc/PID/root; the host's mounts are not touched.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect } from "vitest"
import { makeFakeSystem } from "../../src/sim/fake-system.js"
import { scratchDir } from "../support/scratch.js"
import { itSystem, which } from "../support/system.js"

/** a noexec tmpfs on `dir` in a namespace of its own, held until `release`; `seen`: the tmpfs as this process sees it */
const noexecTmpfs = async () => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-noexec-"))
  const holder = spawn(which("unshare")!, ["-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs -o noexec,mode=1777 tmpfs "$1" && echo ready && exec sleep 3600', "sh", dir], { stdio: ["ignore", "pipe", "inherit"] })
  const ready = await new Promise<boolean>((resolve) => {
    holder.stdout.once("data", () => resolve(true))
    holder.once("exit", () => resolve(false))
  })
  const release = async () => {
    if (holder.exitCode === null) await new Promise((ended) => (holder.once("exit", ended), holder.kill()))
    rmdirSync(dir)
  }
  if (!ready) {
    await release()
    throw new Error("could not mount a noexec tmpfs in a mount namespace of its own")
  }
  return { seen: `/proc/${holder.pid}/root${dir}`, release }
}

itSystem("a tmpfs mounted noexec: the test's directory is made elsewhere, and its stand-ins run", { tools: { unshare: "util-linux", mount: "mount" }, root: true }, async () => {
  const tmpfs = await noexecTmpfs()
  try {
    const dir = scratchDir("tiny-cloud-test-", tmpfs.seen)
    try {
      expect(dir.startsWith(`${tmpfs.seen}/`)).toBe(false)
      // it refuses a directory whose stand-ins cannot run (the phases would run this system's own commands)
      expect(() => makeFakeSystem(dir)).not.toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  } finally {
    await tmpfs.release()
  }
})
