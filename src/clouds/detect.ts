import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { PROVIDERS } from "./registry.js"

export interface Verdict {
  readonly name: string
  /** the detector's priority when it recognised its cloud */
  readonly priority: Option.Option<number>
}

/** every detector's verdict, without network */
export const detectors = Effect.forEach(PROVIDERS, (p) =>
  Effect.map(p.detect ?? Effect.succeed(Option.none<number>()), (priority): Verdict => ({ name: p.name, priority }))
)

/** the recognising detector with the lowest priority; `unknown` when none */
export const chosenBy = (verdicts: ReadonlyArray<Verdict>): string => {
  const found = Arr.getSomes(verdicts.map((v) => Option.map(v.priority, (priority) => ({ name: v.name, priority }))))
  return found.sort((a, b) => a.priority - b.priority)[0]?.name ?? "unknown"
}

/** offline detection */
export const detectCloud = Effect.map(detectors, chosenBy)
