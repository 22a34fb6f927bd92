import * as Effect from "effect/Effect"
import { info } from "../../services/Log.js"
import { PhaseContext } from "../action.js"

/** tells the cloud the instance is up, where the cloud waits for that (azure); what it takes is the cloud's */
export const reportReady = Effect.gen(function* () {
  const { cloud } = yield* PhaseContext
  const whom = yield* cloud.reportReady
  yield* info(`report_ready: Ready reported to ${whom}`)
})
