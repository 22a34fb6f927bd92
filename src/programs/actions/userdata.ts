import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ActionFailed } from "../../domain/errors.js"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { err, info, notice, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"
import { UserData } from "../../services/UserData.js"
import { PhaseContext } from "../action.js"
import { decompress } from "../decompress.js"
import { readRecord } from "../status-record.js"
import { keepOrSay, whyNotStarted, oncePerFirstBoot, spareOutput } from "../userdata/actions/common.js"
import { userDataUnsaved, USERDATA_UNSAVED } from "../../domain/run-record.js"
import { RUN_DIR } from "../../domain/resident.js"
import { textOf } from "../../domain/text.js"
import { programFile, runnableScript } from "../../domain/userdata/runnable.js"
import { CHECKED_WORDS, userDataTypeOf, whyNotRead } from "../../domain/userdata/type.js"

/**
 * fetch, decompress, store byte-exact for root only; absent or empty user-data leaves no file. An earlier
 * bootstrap's copy goes first: user-data that cannot be read now leaves none for main and final to run.
 * The files its programs ran from go with it, unless the same user-data is saved again: a first boot
 * run again after a crash (a reboot) passes over the programs that ran to their end, which write them
 * no more, and keeps them as an undisturbed first boot leaves them
 */
const save = Effect.gen(function* () {
  const userData = yield* UserData
  const earlier = yield* userData.bytes
  yield* userData.removeSaved
  const metadata = yield* Metadata
  const fetched = yield* metadata.userData
  yield* metadata.keepWithUserData
  const raw = Option.filter(fetched, (d) => d.length > 0)
  if (Option.isNone(raw)) return yield* userData.remove
  const { userDataMaxBytes } = yield* Config
  if (raw.value.length > userDataMaxBytes) {
    return yield* Effect.fail(new ActionFailed({ reason: `user-data exceeds ${userDataMaxBytes} bytes` }))
  }
  const data = yield* decompress(raw.value, userDataMaxBytes)
  if (data.length === 0) return yield* userData.remove
  if (Option.isNone(earlier) || Buffer.compare(earlier.value, data) !== 0) yield* userData.remove
  yield* userData.save(data)
  yield* reportProblems
})

/**
 * save_userdata: what early could not save (a state directory that takes neither the new user-data nor the
 * earlier one's removal) is marked in the run directory, which main and final read, not in the state directory
 */
export const saveUserdata = Effect.gen(function* () {
  const fs = yield* RootFs
  const unsaved = fs.at(USERDATA_UNSAVED)
  yield* fs.remove(unsaved).pipe(Effect.ignore)
  // failed, said so: main and final take the user-data as none, even where an earlier one stays (see USERDATA_UNSAVED)
  yield* save.pipe(
    // nor do the files of the earlier user-data's programs stay
    Effect.tapError(() => Effect.flatMap(UserData, (u) => u.remove).pipe(Effect.ignore)),
    Effect.tapError(() =>
      fs.makeDirectory(fs.at(RUN_DIR), { mode: 0o700 }).pipe(Effect.zipRight(fs.writeAtomic(unsaved, "", { mode: 0o600, noFollow: true })), Effect.ignore)
    )
  )
})

/**
 * What is wrong or odd in configuration user-data is reported now, once, in
 * the words of `tiny-cloud schema`: a skipped key or entry as a warning (the
 * rest is applied), user-data nothing can be used of as an error (the
 * actions that need it fail later), and so is what BEHAVIOUR.md calls an
 * error (a `user` map without a name) whatever else is applied.
 */
const reportProblems = Effect.gen(function* () {
  const userData = yield* UserData
  if (!CHECKED_WORDS.has(yield* userData.word)) return
  const analysis = yield* userData.analysis
  const { checkAnalysis, formatProblem } = yield* Effect.promise(() => import("../../domain/userdata/validate.js"))
  const { problems, warnings, usable } = checkAnalysis(analysis)
  const level = usable ? warn : err
  yield* Effect.forEach(problems, (p) => (p.error === true ? err : level)(`save_userdata: invalid user-data: ${formatProblem(p)}`), { discard: true })
  yield* Effect.forEach(warnings, (w) => warn(`save_userdata: ${w}`), { discard: true })
})

/**
 * a saved user-data that cannot be read (grown past USERDATA_MAX_BYTES, a directory in its place) is none, and said;
 * so is one early failed to save (its reason is early's line): the cloud may well have given some
 */
export const missingUserdata = Effect.gen(function* () {
  const why = yield* Effect.flatMap(UserData, (u) => u.unreadable)
  if (Option.isSome(why)) return yield* err(`missing_userdata: ${why.value}; taken as no user-data`)
  // the contract's line and level for no user-data, and why there is none
  const unsaved = userDataUnsaved((yield* readRecord).runs) || (yield* Effect.flatMap(RootFs, (fs) => fs.exists(fs.at(USERDATA_UNSAVED))))
  yield* notice(`missing_userdata: no user-data found${unsaved ? " (save_userdata failed in early: what the cloud gave, if anything, was not saved)" : ""}`)
})

/** the shell edition's line; a jinja template (before anything but cloud-config), or UTF-16 text, also gets the reason `schema` gives */
export const unknownUserdata = Effect.flatMap(PhaseContext, (ctx) => {
  const why = whyNotRead(ctx.userDataWord)
  return warn(`unknown_userdata: unable to process '${ctx.userDataWord}' user-data${why === undefined ? "" : `: ${why}`}`)
})

/**
 * How to run a script whose `#!` comes after blank lines (cloud-init reads
 * past them; the kernel does not): its interpreter, and the one argument the
 * line may give, as the kernel would pass them. Empty when `#!` is first.
 */
const interpreterOf = (bytes: Uint8Array): ReadonlyArray<string> => {
  if (bytes[0] === 0x23 && bytes[1] === 0x21) return []
  const line = /^\s*#!([^\n]*)/.exec(textOf(bytes.subarray(0, 4096)))?.[1]?.trim() ?? ""
  const space = line.search(/\s/)
  if (line === "") return []
  return space < 0 ? [line] : [line.slice(0, space), line.slice(space).trim()]
}

/**
 * runs the user-data script; its output goes to user-data.log and stdout, its status to user-data.exit.
 * Named in INIT_ACTIONS_FINAL for an instance whose user-data is no script, it runs nothing: a
 * #cloud-config run as a program would have sh carry out its lines (a write_files content among them).
 * That is said, not failed: the user-data's own actions apply it, and the shell edition, which has
 * run_userdata for scripts only, went on with exit 0 ("unknown") there too
 */
export const runUserdata = Effect.gen(function* () {
  const { userDataWord } = yield* PhaseContext
  if (userDataWord === "missing") return yield* info("run_userdata: no user-data found")
  if (userDataTypeOf(userDataWord) !== "script") {
    return yield* warn(`run_userdata: '${userDataWord}' user-data is not a script; nothing to run`)
  }
  const fs = yield* RootFs
  const { logDir } = yield* Config
  const userData = yield* UserData
  const saved = Option.getOrElse(yield* userData.bytes, () => new Uint8Array())
  const script = runnableScript(saved)
  // the saved user-data stays as it came: a script that cannot run as it is runs from a copy made runnable
  const path = script === saved ? userData.path : programFile(userData.path, "script")
  // what it runs from (made again when it is passed over, as its run leaves it)
  const place = Effect.zipRight(script !== saved ? fs.writeAtomic(path, script, { mode: 0o700, noFollow: true }) : Effect.void, fs.chmod(path, 0o700))
  yield* oncePerFirstBoot(
    "run_userdata",
    Effect.gen(function* () {
      yield* place
      yield* fs.makeDirectory(logDir)
      // the script as written, which a link leads to inside ROOT, never a file of the host's where it leads out of it
      const [command, ...args] = [...interpreterOf(script), yield* fs.resolve(path)]
      // the log's directory as it is inside ROOT, whatever links lead to it
      const logFile = `${yield* fs.realPath(logDir)}/user-data.log`
      // a file beside it, as the log is made: where none can be (read-only, no inode left), a spare that is not kept;
      // but a log there already takes the output without a new inode (none left): it is written, if its mode can be set
      // (set to what it is: a hard link in its place, which the write refuses, is another file's name, not made 0600 here)
      const probe = yield* fs.temporaryOf(logFile)
      // and a log there already takes it only where its mode can be set again (a link in its place is the run's to refuse):
      // one made immutable or append-only refuses that, as it would refuse the program's writes, and the program runs with
      // a spare, as where the directory takes no file
      const takesOutput = Effect.flatMap(fs.isSymlink(logFile), (link) =>
        link
          ? Effect.void
          : Effect.flatMap(fs.ownership(logFile), Option.match({ onNone: () => Effect.void, onSome: ({ mode }) => fs.chmod(logFile, mode) }))
      )
      const output = yield* fs.createFile(probe).pipe(
        Effect.zipRight(fs.remove(probe)),
        Effect.zipRight(takesOutput),
        Effect.catchAll((e) =>
          Effect.flatMap(Effect.orElseSucceed(fs.ownership(logFile), () => Option.none()), (there) =>
            Option.match(there, { onNone: () => Effect.fail(e), onSome: ({ mode }) => Effect.mapError(fs.chmod(logFile, mode), () => e) })
          )
        ),
        Effect.as(logFile),
        Effect.catchAll((e) => spareOutput("run_userdata", "its program's output", logFile, e))
      )
      const status = yield* Effect.flatMap(Commands, (c) => c.runLogged(command!, args, { logFile: output, echo: true })).pipe(
        Effect.ensuring(output === logFile ? Effect.void : fs.remove(output).pipe(Effect.ignore))
      )
      yield* keepOrSay("run_userdata", "its program's exit status", fs.writeAtomic(`${logDir}/user-data.exit`, `${status}\n`, { noFollow: true }))
      if (status === 0) return undefined
      const notStarted = yield* whyNotStarted(script, status)
      return `user-data script exited with status ${status}${notStarted === undefined ? "" : `: its ${notStarted}`}`
    }),
    place
  )
})
