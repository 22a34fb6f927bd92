import { Effect, Layer, Option, Ref } from "effect"
import { textOf, type CommandResult, type CommandsShape, type RunOptions } from "../services/Commands.js"
import { Log, type Level } from "../services/Log.js"
import { Metadata, type CloudMetadata } from "../services/Metadata.js"

export interface Invocation {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly stdin: string | undefined
}

/** A command runner that records every invocation and answers from `answer` (exit 0, no output by default). */
export const recordingCommands = (answer: (i: Invocation) => Partial<CommandResult> = () => ({})) =>
  Effect.gen(function* () {
    const calls = yield* Ref.make<ReadonlyArray<Invocation>>([])
    const service: CommandsShape = {
      run: (command, args, options?: RunOptions) => {
        const stdin = options?.stdin === undefined ? undefined : typeof options.stdin === "string" ? options.stdin : textOf(options.stdin)
        const invocation = { command, args, stdin }
        return Ref.update(calls, (c) => [...c, invocation]).pipe(
          Effect.as({ exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array(), ...answer(invocation) })
        )
      },
      runLogged: (command, args) => Ref.update(calls, (c) => [...c, { command, args, stdin: undefined }]).pipe(Effect.as(0)),
      has: () => Effect.succeed(true)
    }
    return { service, calls }
  })

export interface LogLine {
  readonly level: Level
  readonly line: string
}

/** A logger that keeps the stderr lines it would have written. */
export const capturingLog = Effect.gen(function* () {
  const lines = yield* Ref.make<ReadonlyArray<LogLine>>([])
  const layer = Layer.succeed(Log, {
    log: (level, message, prefix = "") => Ref.update(lines, (l) => [...l, { level, line: `${prefix}${message}` }]),
    flush: Effect.void
  })
  return { layer, lines }
})

/** A cloud answering from memory. */
export const staticMetadata = (data: {
  readonly hostname?: string
  readonly sshKeys?: ReadonlyArray<string>
  readonly userData?: Uint8Array
  readonly paths?: Readonly<Record<string, string>>
}) => {
  const opt = <A>(a: A | undefined) => Effect.succeed(Option.fromNullable(a))
  const md: CloudMetadata = {
    cloud: "test",
    get: (path) => opt(data.paths?.[path] === undefined ? undefined : new TextEncoder().encode(data.paths[path])),
    hostname: opt(data.hostname),
    localHostname: opt(data.hostname),
    sshKeys: Effect.succeed([...(data.sshKeys ?? [])].sort()),
    userData: opt(data.userData),
    nics: opt(undefined),
    nic: () => opt(undefined)
  }
  return Layer.succeed(Metadata, md)
}

