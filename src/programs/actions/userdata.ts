import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ActionFailed } from "../../domain/errors.js"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { err, notice, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"
import { UserData } from "../../services/UserData.js"
import { PhaseContext } from "../action.js"
import { decompress } from "../decompress.js"

/** fetch, decompress, store byte-exact for root only; absent or empty user-data leaves no file */
export const saveUserdata = Effect.gen(function* () {
  const userData = yield* UserData
  const fetched = yield* Effect.flatMap(Metadata, (m) => m.userData)
  const raw = Option.filter(fetched, (d) => d.length > 0)
  if (Option.isNone(raw)) return yield* userData.remove
  const { userDataMaxBytes } = yield* Config
  if (raw.value.length > userDataMaxBytes) {
    return yield* Effect.fail(new ActionFailed({ reason: `user-data exceeds ${userDataMaxBytes} bytes` }))
  }
  const data = yield* decompress(raw.value, userDataMaxBytes)
  if (data.length === 0) return yield* userData.remove
  yield* userData.save(data)
  yield* reportProblems
})

const CHECKED_TYPES = new Set(["alpine-config", "cloud-config", "multipart"])

/** invalid configuration user-data is reported now, as `tiny-cloud schema` would; the actions that need it fail later */
const reportProblems = Effect.gen(function* () {
  const userData = yield* UserData
  if (!CHECKED_TYPES.has(yield* userData.word)) return
  const analysis = yield* userData.analysis
  const { checkAnalysis, formatProblem } = yield* Effect.promise(() => import("../../domain/userdata/validate.js"))
  const { problems, warnings } = checkAnalysis(analysis)
  yield* Effect.forEach(warnings, (w) => warn(`save_userdata: ${w}`), { discard: true })
  yield* Effect.forEach(problems, (p) => err(`save_userdata: invalid user-data: ${formatProblem(p)}`), { discard: true })
})

export const missingUserdata = notice("missing_userdata: no user-data found")

export const unknownUserdata = Effect.flatMap(PhaseContext, (ctx) => warn(`unknown_userdata: unable to process '${ctx.userDataWord}' user-data`))

/** runs the user-data script; its output goes to user-data.log and stdout, its status to user-data.exit */
export const runUserdata = Effect.gen(function* () {
  const fs = yield* RootFs
  const { logDir } = yield* Config
  const { path } = yield* UserData
  yield* fs.chmod(path, 0o700)
  yield* fs.makeDirectory(logDir)
  const status = yield* Effect.flatMap(Commands, (c) => c.runLogged(path, [], { logFile: `${logDir}/user-data.log`, echo: true }))
  yield* fs.writeAtomic(`${logDir}/user-data.exit`, `${status}\n`, { noFollow: true })
  if (status !== 0) return yield* Effect.fail(new ActionFailed({ reason: `user-data script exited with status ${status}` }))
})
