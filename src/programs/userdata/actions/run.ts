/** User programs: `bootcmd` and `runcmd`, and the shell-script parts of multipart user-data. */
import * as Effect from "effect/Effect"
import { Commands } from "../../../services/Commands.js"
import { Config } from "../../../services/Config.js"
import { RootFs } from "../../../services/RootFs.js"
import { UserData } from "../../../services/UserData.js"
import { loadUserConfig, loadUserData } from "../load.js"
import type { Command, UserConfig } from "../../../domain/userdata/model.js"
import { programFile, runnableScript } from "../../../domain/userdata/runnable.js"
import { commandScript } from "../../../domain/userdata/script.js"
import { fail, keepOrSay, whyNotStarted, oncePerFirstBoot, spareOutput } from "./common.js"

/**
 * Runs a user program with its combined output appended to `user-data.log`
 * (and copied to stdout, as run_userdata does); returns its exit status.
 */
const runUserProgram = (action: string, command: string, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { logDir } = yield* Config
    yield* fs.makeDirectory(logDir)
    // the log as it is inside ROOT, whatever links lead to it; what a run killed half-way left beside it goes
    const log = `${yield* fs.realPath(logDir)}/user-data.log`
    yield* fs.removeStaleTemporaries(log)
    const temp = yield* fs.temporaryOf(log)
    // beside the log, or, where none can be made there, a spare that is not kept
    const output = yield* fs.createFile(temp).pipe(
      Effect.as(temp),
      Effect.catchAll((e) => spareOutput(action, "its programs' output", log, e))
    )
    return yield* Effect.gen(function* () {
      const status = yield* Effect.flatMap(Commands, (c) => c.runLogged(command, args, { logFile: output, echo: true }))
      // appended, not rewritten: 10 000 programs cost their output's size, not 10 000 copies of the log
      if (output === temp && (yield* fs.exists(temp))) yield* keepOrSay(action, "its programs' output", fs.appendFrom(log, temp, { mode: 0o600 }))
      return status
    }).pipe(Effect.ensuring(fs.remove(output).pipe(Effect.ignore)))
  })

/**
 * cloud-config: the entries as one shell script, as cloud-init writes it,
 * saved as `$TINY_CLOUD_VAR/user-data.KEY` (0700) and run once; its status
 * is the last command's. Its failure, once it has ended.
 */
const writeScript = (key: "bootcmd" | "runcmd", commands: ReadonlyArray<Command>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const path = programFile((yield* UserData).path, key)
    yield* fs.writeAtomic(path, commandScript(commands), { mode: 0o700, noFollow: true })
    return path
  })

const runScript = (key: "bootcmd" | "runcmd", commands: ReadonlyArray<Command>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const path = yield* writeScript(key, commands)
    // the script as written, which a link leads to inside ROOT, never a file of the host's where it leads out of it
    const status = yield* runUserProgram(`userdata_${key}`, yield* fs.resolve(path), [])
    return status === 0 ? undefined : `${key} exited with status ${status}`
  })

/** #alpine-config, as the shell edition: each entry on its own (`sh -c` for a string); every entry runs; the failures, named, once all have ended */
const runEach = (key: "bootcmd" | "runcmd", commands: ReadonlyArray<Command>) =>
  Effect.gen(function* () {
    const failed: Array<string> = []
    for (const command of commands) {
      const [program, ...args] = command.kind === "shell" ? ["sh", "-c", command.script] : command.argv
      // an entry that cannot be started is reported as one that failed, and the next ones still run
      const failure = yield* runUserProgram(`userdata_${key}`, program!, args).pipe(
        Effect.map((status) => (status === 0 ? undefined : `exited with status ${status}`)),
        Effect.catchTag("CommandError", (e) => Effect.succeed(e.reason))
      )
      if (failure !== undefined) failed.push(`${key}[${command.index}] ${failure}`)
    }
    return failed.length > 0 ? failed.join("; ") : undefined
  })

const runCommands = (key: "bootcmd" | "runcmd", config: UserConfig) =>
  config.commandStyle === "script" ? runScript(key, config[key]) : runEach(key, config[key])

/** the action fails with the programs' failure, if any */
const failedWith = (failure: string | undefined) => (failure === undefined ? Effect.void : fail(failure))

/** every boot that runs main, as cloud-init runs bootcmd on every boot */
export const userdataBootcmd = Effect.flatMap(loadUserConfig("userdata_bootcmd"), (c) =>
  c.bootcmd.length === 0 ? Effect.void : Effect.flatMap(runCommands("bootcmd", c), failedWith)
)

export const userdataRuncmd = Effect.flatMap(loadUserConfig("userdata_runcmd"), (c) =>
  c.runcmd.length === 0
    ? Effect.void
    : oncePerFirstBoot("userdata_runcmd", runCommands("runcmd", c), c.commandStyle === "script" ? Effect.asVoid(writeScript("runcmd", c.runcmd)) : Effect.void)
)

/** the directory the parts run from, made afresh: what an earlier run left there goes */
const freshParts = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    yield* fs.remove(dir, { recursive: true })
    yield* fs.makeDirectory(dir, { mode: 0o700 })
    yield* fs.chmod(dir, 0o700)
  })

/** part i of `count`, numbered to the width of the last one: a directory listing (`ls`, run-parts) shows them in the order they run, 100 after 99 */
const partPath = (dir: string, i: number, count: number) => `${dir}/${String(i + 1).padStart(Math.max(2, String(count).length), "0")}`

/**
 * Multipart `text/x-shellscript` parts, in order: each saved as
 * `$TINY_CLOUD_VAR/user-data.parts/NN` (0700; `NNN` from 100 parts on), made runnable as run_userdata
 * makes a script (a part sent with CR LF line ends, as MIME has them, or a
 * byte-order mark, runs as written), and run; output appended to
 * `user-data.log`, the last non-zero status (else 0) to `user-data.exit`.
 * Every part runs; the action fails when one did.
 */
export const userdataScripts = Effect.gen(function* () {
  const parsed = yield* loadUserData("userdata_scripts")
  if (parsed.kind !== "multipart" || parsed.scripts.length === 0) return
  const fs = yield* RootFs
  const { logDir } = yield* Config
  const dir = programFile((yield* UserData).path, "parts")
  yield* oncePerFirstBoot(
    "userdata_scripts",
    Effect.gen(function* () {
      yield* freshParts(dir)
      const failed: Array<number> = []
      const why: Array<string> = []
      let status = 0
      for (const [i, part] of parsed.scripts.entries()) {
        const path = partPath(dir, i, parsed.scripts.length)
        const script = runnableScript(part.content)
        yield* fs.writeAtomic(path, script, { mode: 0o700, noFollow: true })
        const code = yield* runUserProgram("userdata_scripts", yield* fs.resolve(path), [])
        if (code !== 0) {
          failed.push(i + 1)
          status = code
          const notStarted = yield* whyNotStarted(script, code)
          if (notStarted !== undefined) why.push(`part ${i + 1}'s ${notStarted}`)
        }
      }
      yield* keepOrSay("userdata_scripts", "its programs' exit status", fs.writeAtomic(`${logDir}/user-data.exit`, `${status}\n`, { noFollow: true }))
      return failed.length > 0 ? `script part ${failed.join(", ")} exited with a non-zero status (last: ${status})${why.map((w) => `; ${w}`).join("")}` : undefined
    }),
    Effect.zipRight(
      freshParts(dir),
      Effect.forEach(parsed.scripts, (part, i) => fs.writeAtomic(partPath(dir, i, parsed.scripts.length), runnableScript(part.content), { mode: 0o700, noFollow: true }), { discard: true })
    )
  )
})
