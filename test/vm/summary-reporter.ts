import type { Reporter, RunnerTestFile, RunnerTask } from "vitest"
import { unmetRequirements } from "./guest.js"

/** the VM test's closing line: `vm: N passed, M failed`, or `vm: skipped (why)` */
export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<RunnerTestFile> = [], errors: ReadonlyArray<unknown> = []) {
    let passed = 0
    let failed = errors.length
    const visit = (task: RunnerTask) => {
      if (task.type === "test") {
        if (task.result?.state === "pass") passed++
        else if (task.result?.state === "fail") failed++
      } else {
        // a failed hook (building the base, a boot) fails its suite, not a test
        if (task.result?.state === "fail" && (task.result.errors?.length ?? 0) > 0) failed++
        for (const child of task.tasks) visit(child)
      }
    }
    for (const file of files) visit(file)
    const unmet = unmetRequirements()
    if (unmet !== undefined && passed === 0 && failed === 0) console.log(`vm: skipped (${unmet})`)
    else console.log(`vm: ${passed} passed, ${failed} failed`)
  }
}
