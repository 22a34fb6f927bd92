/**
 * `tiny-cloud --bootstrap status` is answered by the loader's small program
 * (src/entry/quick.ts) without compiling the whole one. Its answer must be
 * the whole program's: the same command lines and environments through the
 * built file and through the whole program (its route and answer run in
 * this process for each instance and spelling; the whole program it holds,
 * taken out of it and run alone, where the process is the subject: a closed
 * or full stdout, the system's own state), compared by output and exit
 * status. Which command lines it answers shows in the code cache: a run of
 * the whole program keeps one, a run it answered compiles nothing.
 */
import { spawn } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import { CommandsLive } from "../../src/layers/CommandsLive.js"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { PROGRAM, type RunResult } from "../support/harness.js"
import { heldProgram } from "../support/held-program.js"
import { runInProcess, testHttp } from "../support/instance.js"

let dir = ""
/** the built file, and the whole program it holds, each as tiny-cloud.cjs (the same name) with an imds link beside it */
const built = { quick: "", whole: "" }
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tiny-cloud-quick-"))
  const program = heldProgram()
  for (const kind of ["quick", "whole"] as const) {
    const bin = join(dir, kind)
    mkdirSync(bin)
    built[kind] = join(bin, "tiny-cloud.cjs")
    if (kind === "quick") copyFileSync(PROGRAM, built[kind])
    else writeFileSync(built[kind], program)
    symlinkSync("tiny-cloud.cjs", join(bin, "imds"))
    symlinkSync("tiny-cloud.cjs", join(bin, "tiny-cloud"))
  }
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** the whole program's run of ARGS in this process (its route, then that route's answer), as `run` gives it */
const wholeHere = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<RunResult> => {
  const route = routeTinyCloud(args)
  // a route that runs a program is not run here, where its commands would be this machine's: it answers no --bootstrap status
  if (route._tag !== "BootstrapStatus" && route._tag !== "Print") return Promise.resolve({ code: -1, stdout: "", stderr: `(the ${route._tag} route, not run here)` })
  const runEnv = { PATH: process.env.PATH!, TINY_CLOUD_CODE_CACHE: "off", ...env }
  return Effect.runPromise(runInProcess(args, route, runEnv, () => CommandsLive, testHttp))
}

/** a run through sh, so that stdout can be closed or /dev/full: `>&-`, `>/dev/full` */
const run = (script: string, name: string, args: ReadonlyArray<string>, env: Record<string, string>, stdout = "") =>
  new Promise<RunResult>((done) => {
    const command = `exec "$0" "$@" ${stdout}`
    const child = spawn("sh", ["-c", command, process.execPath, join(script, "..", name), ...args], {
      env: { PATH: process.env.PATH!, TINY_CLOUD_CODE_CACHE: "off", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (c: Buffer) => (out += c.toString()))
    child.stderr.on("data", (c: Buffer) => (err += c.toString()))
    child.on("close", (code) => done({ code: code ?? -1, stdout: out, stderr: err }))
  })

const touch = (path: string, text = "") => {
  mkdirSync(join(path, ".."), { recursive: true })
  writeFileSync(path, text)
}

/** instances: ROOT and the environment beside it */
const instances = (): Array<readonly [string, Record<string, string>]> => {
  const at = (name: string) => mkdtempSync(join(dir, `${name}-`))
  const complete = at("complete")
  touch(join(complete, "var/lib/cloud/.bootstrap-complete"))
  const fresh = at("fresh")
  mkdirSync(join(fresh, "var/lib/cloud"), { recursive: true })
  // a tiny-cloud.conf with lines this edition refuses, naming another state directory
  const badConf = at("bad-conf")
  touch(join(badConf, "state/.bootstrap-complete"))
  touch(join(badConf, "etc/tiny-cloud.conf"), `IMDS_TIMEOUT=0\nnot a line\nTINY_CLOUD_VAR=${badConf}/state\nCLOUD=$(reboot)\n`)
  // the marker an absolute link, resolved inside ROOT (on the host it names nothing)
  const linked = at("linked")
  touch(join(linked, "elsewhere/.marker"))
  mkdirSync(join(linked, "var/lib/cloud"), { recursive: true })
  symlinkSync("/elsewhere/.marker", join(linked, "var/lib/cloud/.bootstrap-complete"))
  // a link that leaves ROOT: followed inside it, to nothing
  const escaping = at("escaping")
  mkdirSync(join(escaping, "var/lib/cloud"), { recursive: true })
  symlinkSync(join(complete, "var/lib/cloud/.bootstrap-complete"), join(escaping, "var/lib/cloud/.bootstrap-complete"))
  // tiny-cloud.conf that cannot be read as a file
  const confDir = at("conf-dir")
  mkdirSync(join(confDir, "etc/tiny-cloud.conf"), { recursive: true })
  touch(join(confDir, "var/lib/cloud/.bootstrap-complete"))
  const unreadable = at("unreadable")
  touch(join(unreadable, "etc/tiny-cloud.conf"), "TINY_CLOUD_VAR=/nowhere\n")
  chmodSync(join(unreadable, "etc/tiny-cloud.conf"), 0)
  return [
    [complete, {}],
    [`${complete}/`, {}],
    [fresh, {}],
    [badConf, {}],
    [badConf, { TINY_CLOUD_VAR: `${badConf}/var/lib/cloud` }],
    [complete, { TINY_CLOUD_VAR: `${complete}/nowhere` }],
    [complete, { TINY_CLOUD_VAR: "relative/dir" }],
    [linked, {}],
    [escaping, {}],
    [confDir, {}],
    [unreadable, {}],
    [complete, { CLOUD: "nonesuch", IMDS_TIMEOUT: "-1" }]
  ]
}

const SPELLINGS = [["--bootstrap", "status"], ["-b", "status"], ["--bootstrap=status"], ["-bstatus"]]

describe("tiny-cloud --bootstrap status, answered by the loader's small program", () => {
  it("answers as the whole program: every spelling, instance, environment and standard output", async () => {
    const cases: Array<readonly [ReadonlyArray<string>, Record<string, string>]> = []
    for (const [root, env] of instances()) cases.push([SPELLINGS[0]!, { ROOT: root, ...env }])
    for (const args of SPELLINGS) cases.push([args, { ROOT: instances()[0]![0] }])
    for (const [args, env] of cases) {
      const [quick, whole] = await Promise.all([run(built.quick, "tiny-cloud", args, env), wholeHere(args, env)])
      expect({ args, env, ...quick }).toEqual({ args, env, ...whole })
    }
    // stdout closed, a full disk: the whole program's process
    for (const redirect of [">&-", ">/dev/full"]) {
      const env = { ROOT: instances()[0]![0] }
      const [quick, whole] = await Promise.all([run(built.quick, "tiny-cloud", SPELLINGS[0]!, env, redirect), run(built.whole, "tiny-cloud", SPELLINGS[0]!, env, redirect)])
      expect({ redirect, ...quick }).toEqual({ redirect, ...whole })
    }
    // without ROOT: the system's own state, read only
    const [quick, whole] = await Promise.all([run(built.quick, "tiny-cloud", SPELLINGS[0]!, {}), run(built.whole, "tiny-cloud", SPELLINGS[0]!, {})])
    expect(quick).toEqual(whole)
    expect(quick.stdout).toMatch(/^(in)?complete\n$/)
  })

  it("a directory in the marker's place is no marker (the shell edition's test -f): incomplete, from the small program and the whole one", async () => {
    const root = mkdtempSync(join(dir, "marker-dir-"))
    mkdirSync(join(root, "var/lib/cloud/.bootstrap-complete"), { recursive: true })
    for (const script of [built.quick, built.whole]) {
      const r = await run(script, "tiny-cloud", SPELLINGS[0]!, { ROOT: root })
      expect({ script, code: r.code, stdout: r.stdout }).toEqual({ script, code: 0, stdout: "incomplete\n" })
    }
  })

  it("a reader that goes away (EPIPE) ends it with status 0, as the whole program", async () => {
    const ROOT = instances()[0]![0]
    for (const script of [built.quick, built.whole]) {
      const r = await run(script, "tiny-cloud", SPELLINGS[0]!, { ROOT }, "| true")
      expect({ script, code: r.code, stderr: r.stderr }).toEqual({ script, code: 0, stderr: "" })
    }
  })

  it("takes exactly the command lines routed to it; any other runs the whole program", async () => {
    const root = instances()[2]![0]
    /** whether a run compiled the whole program: it then keeps its code cache */
    const wholeRan = async (name: string, args: ReadonlyArray<string>) => {
      const cache = mkdtempSync(join(dir, "cache-"))
      rmSync(cache, { recursive: true })
      await run(built.quick, name, args, { ROOT: root, TINY_CLOUD_CODE_CACHE: cache })
      try {
        return readdirSync(cache).length > 0
      } catch {
        return false
      }
    }
    const answered: Array<string> = []
    const lines: Array<readonly [string, ReadonlyArray<string>]> = [
      ...SPELLINGS.map((args) => ["tiny-cloud", args] as const),
      ...SPELLINGS.map((args) => ["tiny-cloud.cjs", args] as const),
      ["tiny-cloud", ["--bootstrap", "status", "status"]],
      ["tiny-cloud", ["-b"]],
      ["tiny-cloud", ["-b=status"]],
      ["tiny-cloud", ["--bootstrap", "complete", "status"]],
      ["tiny-cloud", ["imds", "--bootstrap", "status"]],
      ["tiny-cloud", ["status"]],
      ["imds", ["--bootstrap", "status"]]
    ]
    for (const [name, args] of lines) if (!(await wholeRan(name, args))) answered.push([name, ...args].join(" "))
    expect(answered).toEqual(["tiny-cloud --bootstrap status", "tiny-cloud -b status", "tiny-cloud --bootstrap=status", "tiny-cloud -bstatus", "tiny-cloud.cjs --bootstrap status", "tiny-cloud.cjs -b status", "tiny-cloud.cjs --bootstrap=status", "tiny-cloud.cjs -bstatus"])
  })
})
