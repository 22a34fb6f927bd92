/**
 * The live clock's monotonic time is the kernel's (CLOCK_MONOTONIC, from its
 * boot): the same in every process of a boot, so that the phases' starts the
 * run record marks on it, in the resident process and in processes of their
 * own, give the time between them whatever NTP did to the wall clock.
 */
import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { liveClock } from "../../src/layers/ClockLive.js"

describe("the live clock", () => {
  it("its monotonic time is another process's, read in between: one clock for every process of the boot, not one set from each process's date", () => {
    const before = liveClock.unsafeCurrentTimeNanos()
    const other = BigInt(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.hrtime.bigint()))"], { encoding: "utf8" }))
    const after = liveClock.unsafeCurrentTimeNanos()
    // before: this process's start on the wall clock's date plus its hrtime, which NTP's step at that moment decided
    expect(before <= other && other <= after).toBe(true)
  })
})
