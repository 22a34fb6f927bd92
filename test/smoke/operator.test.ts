/**
 * The operator's commands as processes: `status --wait` following a first
 * boot whose phases are processes of their own, and the completion scripts
 * the bundle prints.
 */
import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { completionScript } from "../../src/programs/completion.js"
import { SIM_CLOUDS } from "../../src/sim/simulator.js"
import { runProgram, useInstances } from "../support/harness.js"

const makeInstance = useInstances()

describe("tiny-cloud status --wait across processes", () => {
  it("started after boot, it returns once final has ended, saying done", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: ["ssh-ed25519 AAAA k@example"] } })
    expect((await instance.run(["boot"])).code).toBe(0)
    let finished = false
    const waiting = instance.run(["status", "--wait", "--timeout", "60"]).then((r) => {
      finished = true
      return r
    })
    for (const phase of ["early", "main"]) {
      expect((await instance.run([phase])).code).toBe(0)
      expect(finished).toBe(false)
    }
    expect((await instance.run(["final"])).code).toBe(0)
    const r = await waiting
    expect([r.code, r.stdout.split("\n")[0], r.stderr]).toEqual([0, "done", ""])
    expect((await instance.run(["status"])).stdout).toMatch(/^done\ncloud: aws \(configured\)\nuser-data: missing\nboot: .*\nearly: .*\nmain: .*\nfinal: .*\n$/)
  })
})

describe("tiny-cloud completion", () => {
  it("prints the scripts for bash, zsh and fish; bash -n accepts the bash one", async () => {
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const r = await runProgram(["completion", shell], { PATH: process.env.PATH ?? "" })
      expect([r.code, r.stdout === completionScript(shell, SIM_CLOUDS), r.stderr]).toEqual([0, true, ""])
      if (shell === "bash") execFileSync("bash", ["-n"], { input: r.stdout })
    }
    expect(await runProgram(["completion", "tcsh"], {})).toEqual({ code: 1, stdout: "", stderr: "Usage: tiny-cloud completion {bash|zsh|fish}\n" })
  })
})
