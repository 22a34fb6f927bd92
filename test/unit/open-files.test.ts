/**
 * The open-files limit a user's program is given (src/domain/open-files.ts): read from /proc/PID/limits, and set
 * by the shells /bin/sh may be, lowered below the soft limit in force or raised above the hard one.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { openFilesCommands, openFilesLimitOf } from "../../src/domain/open-files.js"
import { describeSystem } from "../support/system.js"

describe("the open-files limit", () => {
  it("is read from /proc/PID/limits, soft then hard", () => {
    const limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax processes             96362                96362                processes \nMax open files            1024                 4096                 files     \n"
    expect(openFilesLimitOf(limits)).toEqual({ soft: 1024, hard: 4096 })
    expect(openFilesLimitOf("Limit Soft Hard Units\n")).toBeUndefined()
  })
})

describeSystem("the open-files limit, set by the shells /bin/sh may be", { tools: { dash: "dash", busybox: "busybox" } }, () => {
  const given = (sh: string, before: string, soft: number, hard: number) => {
    const [shell, ...args] = sh.split(" ")
    return execFileSync(shell!, [...args, "-c", `${before} || exit 9; ${openFilesCommands({ soft, hard })}echo "$(ulimit -S -n) $(ulimit -H -n)"`], { encoding: "utf8" })
  }
  it.each(["dash", "busybox sh"])("%s: a hard limit lowered below the soft one in force", (sh) => {
    expect(given(sh, "ulimit -S -n 700 && ulimit -H -n 1000", 100, 600)).toBe("100 600\n")
  })
  it.each(["dash", "busybox sh"])("%s: a soft limit raised within the hard one", (sh) => {
    expect(given(sh, "ulimit -S -n 100 && ulimit -H -n 1000", 700, 1000)).toBe("700 1000\n")
  })
  // raising a hard limit takes CAP_SYS_RESOURCE (root's, on an instance; a container may hold root without it)
  const mayRaise = (BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`) >> 24n) & 1n
  // (not required under CI either: the machine's root may lack it, which the phases cannot change)
  if (mayRaise !== 1n) process.stderr.write("skipped: raising a hard limit: this process lacks CAP_SYS_RESOURCE\n")
  it.runIf(mayRaise === 1n).each(["dash", "busybox sh"])("%s: a hard limit raised, then the soft one", (sh) => {
    expect(given(sh, "ulimit -S -n 100 && ulimit -H -n 600", 700, 1000)).toBe("700 1000\n")
  })
})
