import { Context, Data, Effect } from "effect"

export class CommandError extends Data.TaggedError("CommandError")<{
  readonly command: string
  readonly reason: string
  readonly exitCode?: number
}> {
  override get message() {
    return `${this.command}: ${this.reason}`
  }
}

export interface RunOptions {
  readonly stdin?: string | Uint8Array
  /** extra environment variables */
  readonly env?: Record<string, string>
  /** a non-zero exit is returned instead of failing */
  readonly allowFailure?: boolean
  /** stdout beyond this many bytes fails the command (output limit) */
  readonly maxOutputBytes?: number
}

export interface CommandResult {
  readonly exitCode: number
  readonly stdout: Uint8Array
  readonly stderr: Uint8Array
}

export interface ScriptOptions {
  /** host path receiving stdout and stderr combined */
  readonly logFile: string
  /** also copy the output to our stdout */
  readonly echo: boolean
}

/** External programs, looked up on PATH. */
export interface CommandsShape {
  readonly run: (command: string, args: ReadonlyArray<string>, options?: RunOptions) => Effect.Effect<CommandResult, CommandError>
  /** runs a program with combined output streamed to a log file; returns its exit code */
  readonly runLogged: (command: string, args: ReadonlyArray<string>, options: ScriptOptions) => Effect.Effect<number, CommandError>
  readonly has: (command: string) => Effect.Effect<boolean>
}

export class Commands extends Context.Tag("tiny-cloud/Commands")<Commands, CommandsShape>() {}

export { textOf } from "./text.js"
