/** Prints `faults: N passed, M failed` and `crash points: N passed, M failed` after the run. */
import type { Reporter, TestModule } from "vitest/node"

const KINDS = [
  ["fault: ", "faults"],
  ["crash point: ", "crash points"]
] as const

export default class Summary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const counts = new Map<string, { passed: number; failed: number }>(KINDS.map(([, label]) => [label, { passed: 0, failed: 0 }]))
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const kind = KINDS.find(([prefix]) => test.name.startsWith(prefix))
        if (kind === undefined) continue
        const state = test.result().state
        if (state === "passed") counts.get(kind[1])!.passed++
        else if (state === "failed") counts.get(kind[1])!.failed++
      }
    }
    for (const [label, c] of counts) process.stdout.write(`${label}: ${c.passed} passed, ${c.failed} failed\n`)
  }
}
