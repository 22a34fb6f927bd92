import fc from "fast-check"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { describe, expect, it } from "vitest"
import { ActionFailed, ImdsError, unusableAnswer } from "../../src/domain/errors.js"
import type { Action } from "../../src/programs/action.js"
import { runActions } from "../../src/programs/engine.js"
import { capturingLog, capturingOutput } from "../support/layers.js"

type Kind = "ok" | "fail" | "unknown"
/** core actions, and user-data actions (whose failure does not stop the phase) */
const pool = ["a", "b", "c", "d", "userdata_ntp", "run_userdata"] as const
const isUserData = (a: string) => a === "userdata_ntp" || a === "run_userdata"

describe("runActions", () => {
  it("runs in order after an empty line, honours skips, passes over unknown actions, stops at the first failed core action and goes on after a failed user-data action", async () => {
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
              const { layer: output, captured } = yield* capturingOutput
              const outcome = yield* runActions(plan, new Set(skipped), registry).pipe(Effect.provide(Layer.merge(log.layer, output)))
              return { outcome, ran: yield* Ref.get(ran), lines: (yield* Ref.get(log.lines)).map((l) => l.line), stderr: captured.stderr() }
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
              if (isUserData(a)) continue
              break
            }
            expectedLines.push(`   ++ ${a}: done`)
          }
          expect(result.lines).toEqual(expectedLines)
          expect(result.stderr).toBe(plan.length > 0 ? "\n" : "")
          expect(result.outcome.actions.map((o) => o.name)).toEqual(plan.slice(0, result.outcome.actions.length))
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
      runActions(["boom", "after"], new Set(), { boom: Effect.die(new Error("kaput")), after: Effect.void }).pipe(
        Effect.provide(Layer.merge(log.layer, Effect.runSync(capturingOutput).layer))
      )
    )
    expect(outcome.exitCode).toBe(1)
    expect(outcome.actions.map((a) => [a.name, a.result, a.message])).toEqual([["boom", "failed", "internal error: kaput"]])
    expect((await Effect.runPromise(Ref.get(log.lines))).map((l) => l.line)).toEqual(["   ++ boom: starting", "boom: internal error: kaput", "   ++ boom: failed"])
  })

  it("marks a core action failed by a metadata service that could not be read, not one failed by an answer it cannot use, nor a user-data action", async () => {
    const unread = new ImdsError({ cloud: "aws", url: "http://169.254.169.254/latest/meta-data/hostname", reason: "HTTP 500" })
    const invalid = new ImdsError({ cloud: "aws", url: "http://169.254.169.254/latest/meta-data/hostname", reason: "not JSON", unusable: true })
    const registry: Record<string, Action> = {
      set_hostname: Effect.fail(unusableAnswer(invalid)),
      userdata_ntp: Effect.fail(unread),
      set_ssh_keys: Effect.fail(unread)
    }
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const log = yield* capturingLog
        const { layer: output } = yield* capturingOutput
        return yield* runActions(["set_hostname", "userdata_ntp", "set_ssh_keys"], new Set(), registry).pipe(Effect.provide(Layer.merge(log.layer, output)))
      })
    )
    expect(outcome.actions.map((a) => [a.name, a.result, a.metadataUnread])).toEqual([
      ["set_hostname", "failed", undefined],
      ["userdata_ntp", "failed", undefined],
      ["set_ssh_keys", "failed", true]
    ])
  })
})
