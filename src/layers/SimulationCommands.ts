/**
 * The command runner of a simulated instance (`tiny-cloud simulate`): the
 * system's commands are the simulation's stand-ins (its PATH), and the user's
 * own programs (user-data scripts, runcmd, bootcmd) never run on the machine
 * running the simulation. By default they are only recorded, with their text;
 * with `--exec` they run in a private mount namespace with the simulated ROOT
 * as `/` (the host's programs bound read-only into it).
 */
import { appendFileSync, readFileSync, statSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CONFINED_ENV, confinedCommand, type UserCommands } from "../domain/confine.js"
import { CommandError } from "../domain/errors.js"
import { CONFIG_KEYS } from "../domain/settings.js"
import { Commands, type CommandsShape } from "../services/Commands.js"
import { makeLiveCommands, streamEcho } from "./CommandsLive.js"

/** what a user program is, for the record: its command line, and its text when it is a script of the instance */
const describe = (command: string, args: ReadonlyArray<string>): string => {
  const line = [command, ...args].join(" ")
  try {
    if (statSync(command).size <= 64 * 1024) return `${line}\n${readFileSync(command, "utf8").trimEnd().replace(/^/gm, "  | ")}`
  } catch {
    // not a file of the instance
  }
  return line
}

/** settings that name the simulating machine's paths (the instance's ROOT is `/` to its programs), not the instance's */
const HOST_PATHS: ReadonlyArray<string> = ["ROOT", "TINY_CLOUD_VAR", "TINY_CLOUD_LOGS", "TINY_CLOUD_CODE_CACHE"]

/**
 * the environment of the user's programs: the confinement's, and the instance's own settings the phases run with (its
 * cloud, its metadata service's address at the simulator), which `imds` reads on an instance from /etc/tiny-cloud.conf
 * (the simulated image has none); nothing else of the phase's environment, which is the simulating user's
 */
const confinedEnv = (env: NodeJS.ProcessEnv): Record<string, string> => ({
  ...Object.fromEntries(CONFIG_KEYS.flatMap((key) => (HOST_PATHS.includes(key) || env[key] === undefined ? [] : [[key, env[key]]]))),
  ...CONFINED_ENV
})

export const SimulationCommands = (base: CommandsShape, mode: UserCommands, root: string, record: string) =>
  Layer.succeed(Commands, {
    ...base,
    runLogged: (command, args, options) =>
      mode === "record"
        ? Effect.sync(() => {
            appendFileSync(record, `${describe(command, args)}\n`)
            appendFileSync(options.logFile, "(simulation: the user's program was not run; `simulate --exec` runs it confined to ROOT)\n", { mode: 0o600 })
            return 0
          })
        : Effect.suspend(() => {
            appendFileSync(record, `${describe(command, args)}\n`)
            const [program, argv] = confinedCommand(root, command, args, process.execPath)
            // as on a real boot: the program writes into the log itself, and is done when it exits, whatever it left in the background ('daemon &')
            return makeLiveCommands(streamEcho(process.stdout), confinedEnv(process.env), true).runLogged(program, argv, options).pipe(
              Effect.mapError((e) => new CommandError({ command, reason: e.reason }))
            )
          })
  } satisfies CommandsShape)
