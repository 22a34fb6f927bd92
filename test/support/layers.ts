/**
 * Test stand-ins for the parts of the platform a test must see or steer:
 * a command runner that records what would run (and acts out the few
 * effects later steps look at), captured output, and metadata from memory.
 */
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { CommandError } from "../../src/domain/errors.js"
import { bytesOf, textOf } from "../../src/domain/text.js"
import { makeLiveCommands } from "../../src/layers/CommandsLive.js"
import { Commands, type CommandResult, type CommandsShape, type RunOptions } from "../../src/services/Commands.js"
import { Log, type Level } from "../../src/services/Log.js"
import { Metadata, type CloudMetadata } from "../../src/services/Metadata.js"
import { Output } from "../../src/services/Output.js"

export interface Invocation {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly stdin: string | undefined
  /** the environment variables the program was given on top of the program's own */
  readonly env?: Readonly<Record<string, string>>
}

/** the command line as the process-level stand-ins log it */
export const lineOf = (i: Invocation) => [i.command, ...i.args].join(" ")

export interface SystemOptions {
  /** the instance's ROOT: `adduser`/`addgroup` act on its passwd and group files */
  readonly root?: string
  /** a directory that `mount LABEL=cidata` presents (NoCloud volume) */
  readonly cidata?: string
  /** a directory that `mount LABEL=config-2` presents (OpenStack config drive) */
  readonly configDrive?: string
  /** a directory that `mount /dev/sr0` presents (Azure's provisioning media) */
  readonly azureMedia?: string
  /** commands `has` says are missing */
  readonly missing?: ReadonlyArray<string>
  /** an answer of its own for an invocation (exit status, output) */
  readonly answer?: (i: Invocation) => Partial<CommandResult> | undefined
  /** where the output of programs run with `echo` goes (the captured stdout) */
  readonly echo?: (chunk: Uint8Array) => void
  /** the environment programs that really run get (the instance's: ROOT...) on top of this process's */
  readonly env?: () => Readonly<Record<string, string>>
  /** each recorded command takes this long (real clock) before it answers, as a real program would: concurrent callers interleave */
  readonly delayMs?: number
}

const count = (file: string, pattern: RegExp) =>
  existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => pattern.test(l)).length : 0

/** the directory a volume label or device stands for: the NoCloud seed, the OpenStack config drive or Azure's provisioning media */
const volumeOf = (source: string, options: SystemOptions): string | undefined =>
  /^LABEL=(cidata|CIDATA)$/.test(source)
    ? options.cidata
    : /^LABEL=(config-2|CONFIG-2)$/.test(source)
      ? options.configDrive
      : source === "/dev/sr0"
        ? options.azureMedia
        : undefined

/** the file busybox's account commands write first: its new version (FILE+) is made beside it, and one that is there already fails the command */
const FIRST_EDITED: Readonly<Record<string, string>> = { adduser: "/etc/passwd", addgroup: "/etc/group", chpasswd: "/etc/shadow" }

/** what the few commands later steps depend on do to the instance's files */
const actOut = (i: Invocation, options: SystemOptions): Partial<CommandResult> => {
  const root = options.root
  const [first, second] = i.args
  const edited = FIRST_EDITED[i.command]
  // busybox waits 3 s for a FILE+ left by an edit killed part-way, then gives up
  if (root !== undefined && edited !== undefined && existsSync(`${root}${edited}+`)) {
    return { exitCode: 1, stderr: new TextEncoder().encode(`${i.command}: can't create '${edited}+': File exists\n`) }
  }
  switch (i.command) {
    case "adduser": {
      if (root === undefined) return {}
      const user = i.args[i.args.length - 1]!
      // busybox's: -h HOME, -s SHELL, -u UID, -g GECOS as given; a system account's shell /sbin/nologin unless -s gives one (Alpine's adduser)
      const given = (flag: string) => (i.args.indexOf(flag) >= 0 ? i.args[i.args.indexOf(flag) + 1] : undefined)
      // a system account's uid the first free from 100 (busybox's FIRST_SYSTEM_ID), its group nogroup (Alpine's 65533) unless -G gives one
      const system = i.args.includes("-S")
      const used = new Set(readFileSync(`${root}/etc/passwd`, "utf8").split("\n").map((l) => l.split(":")[2]))
      let free = system ? 100 : 1000
      while (used.has(String(free))) free++
      const id = given("-u") ?? free
      const group = readFileSync(`${root}/etc/group`, "utf8").split("\n").find((l) => l.startsWith(`${given("-G") ?? user}:`))
      const fields = [user, "x", id, group?.split(":")[2] ?? (system ? 65533 : id), given("-g") ?? "Linux User,,,", given("-h") ?? `/home/${user}`, given("-s") ?? (system ? "/sbin/nologin" : "/bin/sh")]
      appendFileSync(`${root}/etc/passwd`, `${fields.join(":")}\n`)
      // `-D`: no password, the account locked
      appendFileSync(`${root}/etc/shadow`, `${user}:!:20000:0:99999:7:::\n`)
      // busybox's makes the home alone, where -h says (-H: none), not its parents, and then, new or there already, 2755
      const home = `${root}${given("-h") ?? `/home/${user}`}`
      if (i.args.includes("-H")) return {}
      if (!existsSync(dirname(home))) return { stderr: new TextEncoder().encode(`adduser: ${given("-h") ?? `/home/${user}`}: No such file or directory\n`) }
      mkdirSync(home, { recursive: true })
      chmodSync(home, 0o2755)
      return {}
    }
    case "chpasswd": {
      if (root === undefined || !existsSync(`${root}/etc/shadow`)) return {}
      const given = new Map((i.stdin ?? "").split("\n").filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)] as const))
      const lines = readFileSync(`${root}/etc/shadow`, "utf8").split("\n")
      writeFileSync(`${root}/etc/shadow`, lines.map((l) => (given.has(l.split(":")[0]!) ? [l.split(":")[0], given.get(l.split(":")[0]!), ...l.split(":").slice(2)].join(":") : l)).join("\n"))
      return {}
    }
    case "addgroup": {
      if (root === undefined || first === undefined) return {}
      const file = `${root}/etc/group`
      const text = readFileSync(file, "utf8")
      if (second === undefined) {
        // busybox: `addgroup GROUP` with a group of that name there already dies
        if (text.split("\n").some((l) => l.startsWith(`${first}:`))) return { exitCode: 1, stderr: new TextEncoder().encode(`addgroup: group '${first}' in use\n`) }
        appendFileSync(file, `${first}:x:${1000 + count(file, /:x:1\d{3}:/)}:\n`)
        return {}
      }
      // busybox: `addgroup USER GROUP` with no such group dies
      if (!text.split("\n").some((l) => l.startsWith(`${second}:`))) return { exitCode: 1, stderr: new TextEncoder().encode(`addgroup: unknown group ${second}\n`) }
      const updated = text
        .split("\n")
        .map((l) => {
          const f = l.split(":")
          if (f[0] !== second || f.length < 4) return l
          const members = f[3]!.split(",").filter((m) => m !== "")
          return members.includes(first) ? l : `${f.slice(0, 3).join(":")}:${[...members, first].join(",")}`
        })
      writeFileSync(file, updated.join("\n"))
      return {}
    }
    case "findfs":
      return { exitCode: volumeOf(first ?? "", options) !== undefined ? 0 : 1 }
    case "mount": {
      const dir = i.args[i.args.length - 1]!
      const volume = volumeOf(i.args.find((a) => a.startsWith("LABEL=") || a.startsWith("/dev/")) ?? "", options)
      if (volume === undefined) return { exitCode: 32 }
      for (const name of readdirSync(volume)) cpSync(join(volume, name), join(dir, name), { recursive: true })
      return {}
    }
    default:
      return {}
  }
}

/** runs a program for real, as the live runner does: its combined output in a log file and, when asked, echoed (user-data scripts) */
const runLoggedForReal = (echo: ((chunk: Uint8Array) => void) | undefined, env: Readonly<Record<string, string>>): CommandsShape["runLogged"] =>
  makeLiveCommands((chunk) => echo?.(chunk), { ...process.env, ...env }).runLogged

/**
 * A command runner that records every invocation instead of running it,
 * answering exit 0 with no output; `adduser`, `addgroup`, `findfs` and
 * `mount` act out their effect on the instance. Programs run with their
 * output logged (user-data scripts) really run.
 */
export const recordingCommands = (options: SystemOptions = {}) =>
  Effect.gen(function* () {
    const calls = yield* Ref.make<ReadonlyArray<Invocation>>([])
    const service: CommandsShape = {
      run: (command, args, runOptions?: RunOptions) =>
        Effect.suspend(() => {
          const stdin = runOptions?.stdin === undefined ? undefined : typeof runOptions.stdin === "string" ? runOptions.stdin : textOf(runOptions.stdin)
          const invocation = { command, args: [...args], stdin, ...(runOptions?.env !== undefined ? { env: runOptions.env } : {}) }
          // a command the test's own answer fails did nothing (an adduser refused leaves no account)
          const own = options.answer?.(invocation)
          const answer = { exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array(), ...((own?.exitCode ?? 0) === 0 ? actOut(invocation, options) : {}), ...own }
          return Ref.update(calls, (c) => [...c, invocation]).pipe(
            Effect.zipRight(options.delayMs === undefined ? Effect.void : Effect.sleep(options.delayMs)),
            Effect.zipRight(
              answer.exitCode !== 0 && !runOptions?.allowFailure
                ? Effect.fail(new CommandError({ command, exitCode: answer.exitCode, reason: `exited with status ${answer.exitCode}` }))
                : Effect.succeed(answer)
            )
          )
        }),
      runLogged: (command, args, logOptions) =>
        Ref.update(calls, (c) => [...c, { command, args: [...args], stdin: undefined }]).pipe(Effect.zipRight(runLoggedForReal(options.echo, options.env?.() ?? {})(command, args, logOptions))),
      has: (command) => Effect.succeed(!(options.missing ?? []).includes(command)),
      // each line written is recorded as it is sent, with the program's arguments
      stream: (command, args) =>
        Effect.succeed({ write: (line: string) => Ref.update(calls, (c) => [...c, { command, args: [...args], stdin: `${line}\n` }]), close: Effect.void, discard: Effect.void })
    }
    return { layer: Layer.succeed(Commands, service), calls }
  })

export interface Captured {
  readonly stdout: () => string
  readonly stdoutBytes: () => Uint8Array
  readonly stderr: () => string
}

/** Output kept in memory */
export const capturingOutput = Effect.sync(() => {
  const out: Array<Uint8Array> = []
  let err = ""
  const layer = Layer.succeed(Output, {
    stdout: (data) => Effect.sync(() => void out.push(typeof data === "string" ? bytesOf(data) : data)),
    stderr: (text) => Effect.sync(() => void (err += text))
  })
  const stdoutBytes = () => Buffer.concat(out)
  const captured: Captured = { stdoutBytes, stdout: () => Buffer.from(stdoutBytes()).toString("latin1"), stderr: () => err }
  return { layer, captured, echo: (chunk: Uint8Array) => void out.push(chunk) }
})

export interface LogLine {
  readonly level: Level
  readonly line: string
}

/** A logger that keeps the stderr lines it would have written. */
export const capturingLog = Effect.gen(function* () {
  const lines = yield* Ref.make<ReadonlyArray<LogLine>>([])
  const layer = Layer.succeed(Log, {
    log: (level, message, prefix = "") => Ref.update(lines, (l) => [...l, { level, line: `${prefix}${message}` }])
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
    get: (path) => opt(data.paths?.[path] === undefined ? undefined : bytesOf(data.paths[path])),
    hostname: opt(data.hostname),
    localHostname: opt(data.hostname),
    sshKeys: Effect.succeed([...(data.sshKeys ?? [])].sort()),
    sshKeysFor: () => Effect.succeed([...(data.sshKeys ?? [])].sort()),
    userData: opt(data.userData),
    keepWithUserData: Effect.void,
    sayLoginsNotSetUp: () => Effect.void,
    nics: opt(undefined),
    nic: () => opt(undefined),
    networkInterfaces: opt(data.paths?.["meta-data/network-interfaces"])
  }
  return Layer.succeed(Metadata, md)
}
