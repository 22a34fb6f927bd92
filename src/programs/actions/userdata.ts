import { Effect, Option } from "effect"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { err, notice, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"
import { ActionFailed, PhaseContext, type Action } from "../action.js"
import { decompress } from "../decompress.js"
import { userDataType } from "../userdata/type.js"

export const userDataPath = Effect.map(Config, (s) => `${s.varDir}/user-data`)

const isScript = (data: Uint8Array) => data[0] === 0x23 && data[1] === 0x21

/** fetch, decompress, store byte-exact for root only; absent or empty user-data leaves no file */
export const saveUserdata: Action = Effect.gen(function* () {
  const fs = yield* RootFs
  const path = yield* userDataPath
  const fetched = yield* Effect.flatMap(Metadata, (m) => m.userData)
  const raw = Option.filter(fetched, (d) => d.length > 0)
  if (Option.isNone(raw)) {
    yield* fs.remove(path)
    return
  }
  const { userDataMaxBytes } = yield* Config
  if (raw.value.length > userDataMaxBytes) {
    return yield* Effect.fail(new ActionFailed({ reason: `user-data exceeds ${userDataMaxBytes} bytes` }))
  }
  const data = yield* decompress(raw.value, userDataMaxBytes)
  if (data.length === 0) {
    yield* fs.remove(path)
    return
  }
  yield* fs.writeAtomic(path, data, { mode: isScript(data) ? 0o700 : 0o600 })
  yield* reportProblems(data, userDataMaxBytes)
})

const CHECKED_TYPES = new Set(["alpine-config", "cloud-config", "multipart"])

/** invalid configuration user-data is reported now, as `tiny-cloud schema` would; the actions that need it fail later */
const reportProblems = (data: Uint8Array, maxBytes: number) =>
  Effect.gen(function* () {
    if (!CHECKED_TYPES.has(userDataType(data))) return
    const { checkUserData, formatProblem } = yield* Effect.promise(() => import("../userdata/validate.js"))
    const { problems, warnings } = checkUserData(data, { maxBytes, maxDecompressedBytes: maxBytes })
    yield* Effect.forEach(warnings, (w) => warn(`save_userdata: ${w}`), { discard: true })
    yield* Effect.forEach(problems, (p) => err(`save_userdata: invalid user-data: ${formatProblem(p)}`), { discard: true })
  })

export const missingUserdata: Action = notice("missing_userdata: no user-data found")

export const unknownUserdata: Action = Effect.flatMap(PhaseContext, (ctx) =>
  warn(`unknown_userdata: unable to process '${ctx.userDataType}' user-data`)
)

/** runs the user-data script; its output goes to user-data.log and stdout, its status to user-data.exit */
export const runUserdata: Action = Effect.gen(function* () {
  const fs = yield* RootFs
  const { logDir } = yield* Config
  const path = yield* userDataPath
  yield* fs.chmod(path, 0o700)
  yield* fs.makeDirectory(logDir)
  const status = yield* Effect.flatMap(Commands, (c) => c.runLogged(path, [], { logFile: `${logDir}/user-data.log`, echo: true }))
  yield* fs.writeAtomic(`${logDir}/user-data.exit`, `${status}\n`)
  if (status !== 0) return yield* Effect.fail(new ActionFailed({ reason: `user-data script exited with status ${status}` }))
})
