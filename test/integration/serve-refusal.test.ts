/**
 * `tiny-cloud serve`'s refusal reaches syslog: the boot service sends its
 * stderr to /dev/null, and the reason was lost. A server that starts sends
 * nothing there of its own (no `logger` on a first boot's path).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { runProgram, useInstances } from "../support/harness.js"

const newInstance = useInstances()

describe("tiny-cloud serve's refusal", () => {
  it("a file in /run/tiny-cloud's place: one line to stderr and the same to syslog (local7.warning, tiny-cloud/serve[PID]); exit 1", async () => {
    const instance = await newInstance({ cloud: "aws" })
    mkdirSync(join(instance.root, "run"), { recursive: true })
    writeFileSync(join(instance.root, "run/tiny-cloud"), "")
    const r = await runProgram(["serve"], instance.env)
    const line = `${instance.root}/run/tiny-cloud: not a directory; not serving`
    expect(r).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud serve: ${line}\n` })
    const logged = readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger "))
    expect(logged).toHaveLength(1)
    expect(logged[0]!.line).toMatch(/^logger -p local7\.warning -t tiny-cloud\/serve\[\d+\]$/)
    expect(logged[0]!.stdin).toEqual([line])
  })

  it("a server that starts, and ends after its idle time, starts no logger", async () => {
    const instance = await newInstance({ cloud: "aws" })
    const r = await runProgram(["serve"], { ...instance.env, TINY_CLOUD_RESIDENT_IDLE: "0.2" })
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger "))).toEqual([])
  })
})
