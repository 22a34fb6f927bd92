/**
 * What the built program does at every start that it need not. The first
 * stack trace a process formats has V8 find every line of the scripts on
 * it: the whole bundle, 2 to 9 ms of a start. Nothing the program prints
 * is a stack trace, so a run that goes well formats none (Effect's own
 * probe of stack traces is answered when the bundle is built). Nor does it
 * load a module of Node's that it does not need: Effect's clock looked at
 * the global `performance`, which Node makes by loading perf_hooks; the
 * resident process read its requests' lines with readline.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeInstance, type TestInstance } from "../support/harness.js"

let instance: TestInstance
let hook = ""
let modules = ""
beforeAll(async () => {
  instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example.internal" } })
  hook = join(instance.dir, "stack-hook.cjs")
  // preloaded: says on stderr each stack the process formats
  writeFileSync(hook, `Error.prepareStackTrace = (error) => { require("node:fs").writeSync(2, "stack formatted\\n"); return String(error) }\n`)
  modules = join(instance.dir, "modules-hook.cjs")
  // preloaded: says on stderr, as the process ends, which of these modules it loaded
  writeFileSync(modules, `process.on("exit", () => { for (const m of ["perf_hooks", "readline"]) if (process.moduleLoadList.includes("NativeModule " + m)) require("node:fs").writeSync(2, "loaded: " + m + "\\n") })\n`)
})
afterAll(() => instance.close())

describe("a start of the built program", () => {
  it("formats no stack trace: imds, status, --bootstrap status (the loader's small program), a phase", async () => {
    const env = { NODE_OPTIONS: `--require ${hook}` }
    expect(await instance.run(["--bootstrap", "status"], env)).toEqual({ code: 0, stdout: "incomplete\n", stderr: "" })
    const imds = await instance.imds(["@hostname"], env)
    expect(imds).toEqual({ code: 0, stdout: "web-1.example.internal", stderr: "" })
    const status = await instance.run(["status"], env)
    expect([status.code, status.stderr]).toEqual([0, ""])
    const boot = await instance.run(["boot"], env)
    expect(boot.code).toBe(0)
    expect(boot.stderr).not.toContain("stack formatted")
  })

  it("loads no perf_hooks or readline: imds, status, a phase, the resident process waiting for its first request", async () => {
    const env = { NODE_OPTIONS: `--require ${modules}` }
    expect(await instance.imds(["@hostname"], env)).toEqual({ code: 0, stdout: "web-1.example.internal", stderr: "" })
    expect(await instance.run(["status"], env)).toMatchObject({ code: 0, stderr: "" })
    const boot = await instance.run(["boot"], env)
    expect(boot.code).toBe(0)
    expect(boot.stderr).not.toContain("loaded: ")
    // it waits half a second for a request that does not come, then exits
    expect(await instance.run(["serve"], { ...env, TINY_CLOUD_RESIDENT_IDLE: "0.5" })).toEqual({ code: 0, stdout: "", stderr: "" })
  })

  it("loads no child_process where it starts no program: imds, status", async () => {
    const childHook = join(instance.dir, "child-process-hook.cjs")
    writeFileSync(childHook, `process.on("exit", () => { if (process.moduleLoadList.includes("NativeModule child_process")) require("node:fs").writeSync(2, "loaded: child_process\\n") })\n`)
    const env = { NODE_OPTIONS: `--require ${childHook}` }
    expect(await instance.imds(["@hostname"], env)).toEqual({ code: 0, stdout: "web-1.example.internal", stderr: "" })
    expect(await instance.run(["status"], env)).toMatchObject({ code: 0, stderr: "" })
  })
})
