import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Output } from "../services/Output.js"

export const OutputLive = Layer.succeed(Output, {
  stdout: (data) => Effect.sync(() => void process.stdout.write(data)),
  stderr: (text) => Effect.sync(() => void process.stderr.write(text)),
  isTerminal: process.stdout.isTTY === true
})
