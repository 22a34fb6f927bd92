import fc from "fast-check"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { describe, expect, it } from "vitest"
import { ActionFailed } from "../../src/domain/errors.js"
import type { Action } from "../../src/programs/action.js"
import { runActions } from "../../src/programs/engine.js"
import { capturingLog } from "../support/layers.js"

type Kind = "ok" | "fail" | "unknown"
const pool = ["a", "b", "c", "d", "e", "f"] as const

describe("runActions", () => {
  it("runs in order, honours skips, passes over unknown actions and stops at the first failure", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...pool), { maxLength: 10 }),
        fc.subarray([...pool]),
        fc.dictionary(fc.constantFrom(...pool), fc.constantFrom<Kind>("ok", "fail", "unknown")),
        async (plan, skipped, kinds) => {
          const kindOf = (a: string): Kind => kinds[a] ?? "ok"
          const result = await Effect.runPromise(
            Effect.gen(function* () {
              const ran = yield* Ref.make<ReadonlyArray<string>>([])
              const registry: Record<string, Action> = {}
              for (const a of pool) {
                if (kindOf(a) === "unknown") continue
                registry[a] = Ref.update(ran, (r) => [...r, a]).pipe(
                  Effect.zipRight(kindOf(a) === "fail" ? Effect.fail(new ActionFailed({ reason: `${a} broke` })) : Effect.void)
                )
              }
              const log = yield* capturingLog
              const outcome = yield* runActions(plan, new Set(skipped), registry).pipe(Effect.provide(log.layer))
              return { outcome, ran: yield* Ref.get(ran), lines: (yield* Ref.get(log.lines)).map((l) => l.line) }
            })
          )
          const expectedLines: Array<string> = []
          const expectedRan: Array<string> = []
          let exitCode = 0
          for (const a of plan) {
            if (skipped.includes(a)) {
              expectedLines.push(`   -- ${a}: skipped`)
              continue
            }
            expectedLines.push(`   ++ ${a}: starting`)
            const k = kindOf(a)
            if (k === "unknown") {
              expectedLines.push(`   ++ ${a}: unknown`)
              continue
            }
            expectedRan.push(a)
            if (k === "fail") {
              expectedLines.push(`${a}: ${a} broke`, `   ++ ${a}: failed`)
              exitCode = 1
              break
            }
            expectedLines.push(`   ++ ${a}: done`)
          }
          expect(result.lines).toEqual(expectedLines)
          expect(result.ran).toEqual(expectedRan)
          expect(result.outcome.exitCode).toBe(exitCode)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("a defect in an action is a failed action with one line, not a crash", async () => {
    const log = await Effect.runPromise(capturingLog)
    const outcome = await Effect.runPromise(
      runActions(["boom", "after"], new Set(), { boom: Effect.die(new Error("kaput")), after: Effect.void }).pipe(Effect.provide(log.layer))
    )
    expect(outcome.exitCode).toBe(1)
    expect((await Effect.runPromise(Ref.get(log.lines))).map((l) => l.line)).toEqual(["   ++ boom: starting", "boom: internal error: kaput", "   ++ boom: failed"])
  })
})
