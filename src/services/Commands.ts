import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { CommandError } from "../domain/errors.js"

export interface RunOptions {
  readonly stdin?: string | Uint8Array
  /** extra environment variables */
  readonly env?: Record<string, string>
  /** a non-zero exit is returned instead of failing */
  readonly allowFailure?: boolean
  /** stdout beyond this many bytes fails the command (output limit); without it, stdout past 1 MiB (and stderr past 64 KiB, always) is read and dropped, the program left to run */
  readonly maxOutputBytes?: number
  /** the file mode creation mask the program starts with, instead of ours (mdev runs its helpers with 0) */
  readonly umask?: number
}

export interface CommandResult {
  readonly exitCode: number
  readonly stdout: Uint8Array
  readonly stderr: Uint8Array
}

export interface ScriptOptions {
  /** host path receiving stdout and stderr combined (resolved: a link in its place is refused) */
  readonly logFile: string
  /** also copy the output to our stdout */
  readonly echo: boolean
}

/** A long-lived program fed one line at a time on its stdin (syslog's `logger`). */
export interface LineSink {
  /** the line (without its newline) is handed over at once; a program that is gone drops it */
  readonly write: (line: string) => Effect.Effect<void>
  /** ends its input and waits (a quarter of a second at most: a hung syslog must not hold a boot up) for the program to have done with every line and exited */
  readonly close: Effect.Effect<void>
  /** ends a program given no line (started ahead of its first): it has nothing to send, so it is stopped, not waited for */
  readonly discard: Effect.Effect<void>
}

/** External programs, looked up on PATH. */
export interface CommandsShape {
  readonly run: (command: string, args: ReadonlyArray<string>, options?: RunOptions) => Effect.Effect<CommandResult, CommandError>
  /** runs a program with combined output streamed to a log file; returns its exit code */
  readonly runLogged: (command: string, args: ReadonlyArray<string>, options: ScriptOptions) => Effect.Effect<number, CommandError>
  readonly has: (command: string) => Effect.Effect<boolean>
  /** starts a program that reads lines on stdin and outlives nothing: it ends when this process does */
  readonly stream: (command: string, args: ReadonlyArray<string>) => Effect.Effect<LineSink, CommandError>
}

export class Commands extends Context.Tag("tiny-cloud/Commands")<Commands, CommandsShape>() {}
