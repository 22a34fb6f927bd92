import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { PROGRAM, runProgram } from "../support/harness.js"
import { itSystem } from "../support/system.js"

let dir = ""
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const setup = () => {
  dir = mkdtempSync(join(tmpdir(), "tiny-cloud-cache-"))
  const root = join(dir, "root")
  mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
  return { root, cache: join(dir, "cache") }
}

// `--version` runs the whole program (`--bootstrap status` is answered without it: see quick-path.test.ts)
const VERSION = /^tiny-cloud \S+\n$/
const status = (root: string, cache: string) => runProgram(["--version"], { PATH: process.env.PATH!, ROOT: root, TINY_CLOUD_CODE_CACHE: cache })

describe("the start-up code cache", () => {
  it("is written once, root-only, and used by later runs of the same kind", async () => {
    const { root, cache } = setup()
    expect(await status(root, cache)).toMatchObject({ code: 0, stdout: expect.stringMatching(VERSION) })
    const [name, ...others] = readdirSync(cache)
    expect(others).toEqual([])
    expect(name).toMatch(/^code-cache-[0-9a-f]{16}-other$/)
    expect(statSync(cache).mode & 0o777).toBe(0o700)
    expect(statSync(join(cache, name!)).mode & 0o777).toBe(0o600)
    const written = statSync(join(cache, name!)).mtimeMs
    expect(await status(root, cache)).toMatchObject({ code: 0, stdout: expect.stringMatching(VERSION) })
    expect(statSync(join(cache, name!)).mtimeMs).toBe(written)
  })

  it("a corrupt cache is rejected by V8 and replaced; the program runs as usual", async () => {
    const { root, cache } = setup()
    await status(root, cache)
    const name = readdirSync(cache)[0]!
    writeFileSync(join(cache, name), "garbage", { mode: 0o600 })
    expect(await status(root, cache)).toMatchObject({ code: 0, stdout: expect.stringMatching(VERSION) })
    expect(readFileSync(join(cache, name)).length).toBeGreaterThan(1000)
  })

  itSystem("a cache anybody may write is neither read nor written", { tools: { strace: "strace" } }, async () => {
    const { root, cache } = setup()
    await status(root, cache)
    const name = readdirSync(cache)[0]!
    chmodSync(cache, 0o777)
    writeFileSync(join(cache, name), "planted")
    // not read: V8 would refuse this one as it refuses any it did not make, so only the opens tell
    const log = join(dir, "strace.log")
    const traced = spawnSync("strace", ["-f", "-e", "trace=open,openat", "-o", log, process.execPath, PROGRAM, "--version"], { encoding: "utf8", env: { PATH: process.env.PATH!, ROOT: root, TINY_CLOUD_CODE_CACHE: cache } })
    expect(traced.stdout).toMatch(VERSION)
    expect(readFileSync(log, "utf8")).not.toContain(`${join(cache, name)}"`)
    expect(readFileSync(join(cache, name), "utf8")).toBe("planted")
  })

  it("TINY_CLOUD_CODE_CACHE=no (not an absolute path) keeps none, and makes no directory where the program is run", () => {
    const { root } = setup()
    const work = join(dir, "work")
    mkdirSync(work)
    const r = spawnSync(process.execPath, [PROGRAM, "--version"], { cwd: work, env: { PATH: process.env.PATH!, ROOT: root, TINY_CLOUD_CODE_CACHE: "no" }, encoding: "utf8" })
    expect(r.stdout).toMatch(VERSION)
    expect(readdirSync(work)).toEqual([])
  })

  describe("prepared beside the program (code-cache/, as make install and the package's post-install make it)", () => {
    /** a copy of the program with a code-cache/ made by one run of `--version` */
    const installed = () => {
      const { root, cache } = setup()
      const lib = join(dir, "lib")
      mkdirSync(join(lib, "code-cache"), { recursive: true })
      // before the run that fills it: made with a user's umask 002 (Debian 13's), it is group-writable, and no cache is kept there
      chmodSync(join(lib, "code-cache"), 0o755)
      copyFileSync(PROGRAM, join(lib, "tiny-cloud.cjs"))
      const run = (cacheDir: string) =>
        spawnSync(process.execPath, [join(lib, "tiny-cloud.cjs"), "--version"], { encoding: "utf8", env: { PATH: process.env.PATH!, ROOT: root, TINY_CLOUD_CODE_CACHE: cacheDir } })
      run(join(lib, "code-cache"))
      const name = readdirSync(join(lib, "code-cache"))[0]!
      chmodSync(join(lib, "code-cache", name), 0o644)
      return { lib, name, cache, run }
    }

    it("serves a boot's first run, which keeps no cache of its own", () => {
      const { cache, run } = installed()
      expect(run(cache).stdout).toMatch(VERSION)
      expect(existsSync(cache)).toBe(false)
    })

    it("refused by V8 (made by another Node): the run compiles and keeps its own cache", () => {
      const { lib, name, cache, run } = installed()
      writeFileSync(join(lib, "code-cache", name), "made by another node")
      expect(run(cache).stdout).toMatch(VERSION)
      expect(readdirSync(cache)).toEqual([name])
    })

    itSystem("is not read when TINY_CLOUD_CODE_CACHE turns caches off ('off', or a value that names no directory); is read otherwise", { tools: { strace: "strace" } }, () => {
      const { lib, name, cache, run } = installed()
      const opened = (setting: string) => {
        const log = join(dir, "strace.log")
        spawnSync("strace", ["-f", "-e", "trace=open,openat", "-o", log, process.execPath, join(lib, "tiny-cloud.cjs"), "--version"], { env: { PATH: process.env.PATH!, ROOT: join(dir, "root"), TINY_CLOUD_CODE_CACHE: setting } })
        return readFileSync(log, "utf8").includes(`code-cache/${name}"`)
      }
      expect(run(cache).stdout).toMatch(VERSION)
      expect({ off: opened("off"), no: opened("no"), dir: opened(cache) }).toEqual({ off: false, no: false, dir: true })
    })

    it("one anybody may write is not read", () => {
      const { lib, name, cache, run } = installed()
      chmodSync(join(lib, "code-cache", name), 0o666)
      expect(run(cache).stdout).toMatch(VERSION)
      expect(readdirSync(cache)).toEqual([name])
    })
  })
})
