/** The memory a phase needs against a flood: the answer is cut at its limit, never held whole. */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { makeInstance, PROGRAM, type TestInstance } from "../support/harness.js"

const MiB = 1024 * 1024
const open: Array<TestInstance> = []
afterAll(() => Promise.all(open.map((i) => i.close())))

/** the phase as its own process; its peak RSS in MB */
const peakRss = (instance: TestInstance, phase: string) =>
  new Promise<number>((done) => {
    const report = join(instance.dir, "rss")
    const child = spawn(process.execPath, ["--require", new URL("./rss.cjs", import.meta.url).pathname, PROGRAM, phase], { env: { ...instance.env, RSS_REPORT: report }, stdio: "ignore" })
    child.on("close", () => done(Math.round(Number(readFileSync(report, "utf8")) / 1024)))
  })

const FLOODED = {
  early: ["/latest/user-data"],
  main: ["/latest/meta-data/hostname", "/latest/meta-data/public-keys/"]
}

it.each(["early", "main"] as const)("fault: the %s phase against 100 MiB answers stays under 100 MB of memory", async (phase) => {
  const overrides = FLOODED[phase].map((path) => ({ path, fill: 100 * MiB }))
  const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h" }, faults: { overrides } })
  open.push(instance)
  const mb = await peakRss(instance, phase)
  process.stdout.write(`memory: ${phase} against 100 MiB answers: peak RSS ${mb} MB\n`)
  expect(mb).toBeLessThan(100)
})
