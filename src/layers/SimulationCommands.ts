/**
 * The command runner of a simulated instance (`tiny-cloud simulate`): the
 * system's commands are the simulation's stand-ins (its PATH), and the user's
 * own programs (user-data scripts, runcmd, bootcmd) never run on the machine
 * running the simulation. By default they are only recorded, with their text;
 * with `--exec` they run in a private mount namespace with the simulated ROOT
 * as `/` (the host's programs bound read-only into it).
 */
import { appendFileSync, createWriteStream, readFileSync, statSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { confinedCommand, type UserCommands } from "../domain/confine.js"
import { CommandError } from "../domain/errors.js"
import { Commands, type CommandsShape } from "../services/Commands.js"
import { childProcess } from "./builtins.js"
import { exitStatus } from "./CommandsLive.js"

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

const confined = (root: string, command: string, args: ReadonlyArray<string>) => confinedCommand(root, command, args, process.getuid?.() === 0)

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
        : Effect.flatMap(childProcess, ({ spawn }) =>
            Effect.async<number, CommandError>((resume) => {
              appendFileSync(record, `${describe(command, args)}\n`)
              const [program, argv] = confined(root, command, args)
              const log = createWriteStream(options.logFile, { mode: 0o600 })
              const child = spawn(program, [...argv], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" } })
              const out = (chunk: Buffer) => {
                log.write(chunk)
                if (options.echo) process.stdout.write(chunk)
              }
              child.stdout.on("data", out)
              child.stderr.on("data", out)
              child.on("error", (e) => resume(Effect.fail(new CommandError({ command, reason: e.message }))))
              // killed by a signal: 128 + its number, as on a real boot
              child.on("close", (code, signal) => log.end(() => resume(Effect.succeed(exitStatus(code, signal)))))
            })
          )
  } satisfies CommandsShape)
