import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/** What a command prints for its caller: stdout (data) and stderr (its own lines). */
export interface OutputShape {
  readonly stdout: (data: string | Uint8Array) => Effect.Effect<void>
  readonly stderr: (text: string) => Effect.Effect<void>
  /** stdout is a terminal: colour and drawing characters are welcome */
  readonly isTerminal?: boolean
}

export class Output extends Context.Tag("tiny-cloud/Output")<Output, OutputShape>() {}

export const print = (data: string | Uint8Array) => Effect.flatMap(Output, (o) => o.stdout(data))
