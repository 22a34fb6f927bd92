/**
 * `tiny-cloud serve`: the resident process of a first boot. The OpenRC boot
 * script starts it in the background; it answers the boot, early, main and
 * final phases' clients (`openrc/client.sh`) through FIFOs
 * under `$ROOT/run/tiny-cloud/` (the protocol: `src/domain/resident.ts`), one
 * phase at a time, in the order asked, each with the environment its client
 * had, as if the phase ran in a process of its own. It keeps the cloud's
 * metadata between the phases (read once, ahead of need) and exits after the
 * final phase, or when nobody has asked for anything for
 * TINY_CLOUD_RESIDENT_IDLE seconds; correctness never depends on it: a
 * client that gets no answer runs its phase itself.
 */
import { spawn, spawnSync } from "node:child_process"
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { Socket } from "node:net"
import { dirname } from "node:path"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { parseClient, parseRequest, replyEnd, replyLines, requestLines, residentPaths, SERVER_TITLE, type Request } from "../domain/resident.js"
import { makeCachingHttp } from "../layers/CachingHttp.js"
import { liveClock } from "../layers/ClockLive.js"
import { endHelpers, makeLiveCommands, openFilesOfProcess, programEnvironment } from "../layers/CommandsLive.js"
import { liveHttp } from "../layers/HttpLive.js"
import { http as httpModule } from "../layers/builtins.js"
import { appLayer } from "../layers/live.js"
import { describeCause } from "../programs/failure.js"
import { Cloud } from "../services/Cloud.js"
import { Commands } from "../services/Commands.js"
import { Http } from "../services/Http.js"
import { Metadata, readingAhead } from "../services/Metadata.js"
import { Output } from "../services/Output.js"
import { processAlive } from "../layers/alive.js"
import { mkdirs } from "../layers/directories.js"
import { reasonOf } from "../layers/regular-file.js"
import { bootstrapState } from "./bootstrap-status.js"


/** a process's command name (`/proc/PID/comm`), undefined without /proc */
const commandName = (pid: number | "self") => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim()
  } catch {
    return undefined
  }
}

/** a symbolic link (an absent path is none) */
const isLink = (path: string) => {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/**
 * The text of server.pid or server.starting as this program and the boot script write them: a regular file of that one
 * name, never a link (planted in an image, it may lead out of ROOT; a hard link is another file's name too) nor a FIFO or a
 * device (a read would wait for a writer for ever, or never end), which name no process; undefined then, or where there is none
 */
const ownText = (path: string): string | undefined => {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return undefined
  }
  try {
    const stat = fstatSync(fd)
    return stat.isFile() && stat.nlink === 1 ? readFileSync(fd, "utf8") : undefined
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** what is at `path` removed, a link itself (never what it leads to); a directory stays, as it is no file of this program's */
const drop = (path: string) => {
  try {
    unlinkSync(path)
  } catch {
    // none there, or a directory
  }
}

/** the requests FIFO the boot script made (clients' requests may wait in it already): this user's, for this user alone */
const ownFifo = (path: string) => {
  try {
    const info = lstatSync(path)
    return info.isFIFO() && info.uid === process.getuid?.() && (info.mode & 0o077) === 0
  } catch {
    return false
  }
}

/** a client's umask and environment, from its `umask` and `export -p`; the environment undefined when it cannot be read as one */
const clientEnvironment = (file: string): ReturnType<typeof parseClient> => {
  try {
    return parseClient(readFileSync(file, "latin1"))
  } catch {
    return { umask: undefined, env: undefined }
  } finally {
    rmSync(file, { force: true })
  }
}

/** the reply a client has not read yet past which a logged program's output waits in its log (a slow client: its shell reads a byte at a time) */
const REPLY_HELD = 1024 * 1024

/**
 * The phase's output for the client, as reply lines. Bytes pass as they are
 * (one char each, latin1), as through a phase's own stdout: a program's
 * output that is not UTF-8, or a character that two chunks split, arrives
 * unchanged. Stdout says whether the client may take more now: a program's
 * output does not pile up in this process faster than its client reads it
 * (a process of its own waits on its stdout); a client gone takes anything.
 */
const replyWriter = (socket: Socket) => {
  const rest = { 1: "", 2: "" }
  const bytes = (data: string | Uint8Array) => (typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data)).toString("latin1")
  const write = (stream: 1 | 2, data: string | Uint8Array) => {
    const { lines, rest: left } = replyLines(stream, rest[stream], bytes(data))
    rest[stream] = left
    if (lines !== "") socket.write(lines, "latin1")
    return socket.destroyed || socket.writableLength < REPLY_HELD
  }
  return {
    stdout: (data: string | Uint8Array) => write(1, data),
    stderr: (text: string) => write(2, text),
    end: (status: number) => new Promise<void>((done) => socket.end(replyEnd(rest[1], rest[2], status), "latin1", () => done()))
  }
}

/** what the phases of this process share: answers of the metadata service (one token, one request per datum) */
const shared = makeCachingHttp(liveHttp)
const http = Layer.succeed(Http, shared)

const discard = Layer.succeed(Output, { stdout: () => Effect.void, stderr: () => Effect.void })

/**
 * Two turns of the event loop: a request begun before has been sent. Node
 * connects on the next tick and writes once connected, which a fiber that
 * goes on without such a turn (status.json, the logger's start) would put off.
 */
const sent = Effect.promise(() => new Promise<void>((done) => setImmediate(() => setImmediate(done))))

/**
 * What early and main will read, asked for at once as early starts: with
 * aws, the token, then user-data, hostname and the key list together, then
 * the keys. The phases wait for the answers on their way; a failed read is
 * read again by the phase that needs it. Its lines are the phases' to say
 * (a cloud's warning about the hostname is main's), so it says none; and
 * it reads nothing of a cloud whose reading does more than read (a NoCloud
 * seed copied once, by the phase that loads it and says what is wrong with it),
 * nor azure's provisioning media (`readingAhead`), whose mount it would only repeat.
 * Its services are made at once; it reads only once early has decided to run
 * (`go`, after its checks and lock: a phase that finds the bootstrap complete asks nothing, as a process of its own),
 * and is ended with the phase when it never did. Early goes on once the first
 * request is sent (`asked`, then `sent`), or the read-ahead has ended without one: the
 * answer comes back while the phase sets up, rather than after.
 */
const prefetch = (env: Readonly<Record<string, string>>) => {
  const go = Effect.runSync(Deferred.make<boolean>())
  const asked = Effect.runSync(Deferred.make<void>())
  const asking = Layer.succeed(Http, { ...shared, request: (r) => Effect.zipRight(Deferred.succeed(asked, undefined), shared.request(r)) })
  Effect.runFork(
    Effect.flatMap(Deferred.await(go), (decided) =>
      decided
        ? Effect.flatMap(Effect.flatMap(Cloud, (c) => c.choice), (choice) =>
            choice.readAhead
              ? Effect.flatMap(Metadata, (md) => Effect.all([md.userData, md.hostname, md.sshKeys], { concurrency: "unbounded", mode: "either" })).pipe(Effect.locally(readingAhead, true))
              : Effect.void
          )
        : Effect.void
    ).pipe(
      Effect.scoped,
      // its programs (an OpenStack config drive's mount) get the client's environment, as the phase's do
      Effect.provide(
        appLayer(env, "tiny-cloud/early", { commands: Layer.succeed(Commands, makeLiveCommands(() => {}, env)), http: asking, output: discard }, { lenientConfig: true, log: { syslog: false } })
      ),
      Effect.ignore,
      Effect.ensuring(Deferred.succeed(asked, undefined)),
      Effect.withClock(liveClock)
    )
  )
  return { decided: Deferred.succeed(go, true).pipe(Effect.zipRight(Deferred.await(asked)), Effect.zipRight(sent)), ended: () => Effect.runSync(Deferred.succeed(go, false)) }
}

/** one phase for one client */
const serveOne = async (request: Request, paths: ReturnType<typeof residentPaths>) => {
  let fd: number
  try {
    fd = openSync(paths.reply(request.client), constants.O_WRONLY | constants.O_NONBLOCK)
  } catch {
    // the client is gone (killed while it waited, or after it withdrew the request): what it left for this request goes with it
    for (const left of [paths.env(request.client), `${paths.env(request.client)}.withdrawn`, paths.reply(request.client)]) rmSync(left, { force: true })
    return
  }
  // the request is taken by taking its environment: a client whose watchdog gave up on it withdraws it the same way
  // (mv), and only one of the two can; it runs the phase itself, with this server's answer unread
  const taken = `${paths.env(request.client)}.taken`
  try {
    renameSync(paths.env(request.client), taken)
  } catch {
    closeSync(fd)
    rmSync(paths.reply(request.client), { force: true })
    return
  }
  const socket = new Socket({ fd, readable: false, writable: true })
  socket.on("error", () => {})
  // a phase never runs with an environment other than its client's: without it, the client runs the phase itself
  const { umask, env } = clientEnvironment(taken)
  if (env === undefined) return new Promise<void>((done) => socket.end("N\n", () => done()))
  socket.write("A\n")
  const reply = replyWriter(socket)
  const output = Layer.succeed(Output, {
    stdout: (data) => Effect.sync(() => reply.stdout(data)),
    stderr: (text) => Effect.sync(() => reply.stderr(text))
  })
  // the programs a phase runs get its client's environment, as when the phase runs on its own, and the user's its
  // open-files limit (the service's), read while it waits
  const openFiles = openFilesOfProcess(request.client)
  const platform = { commands: Layer.succeed(Commands, makeLiveCommands(reply.stdout, env, false, () => openFiles)), http, output }
  const { runPhase } = await import("../programs/phase.js")
  // and its files and programs the client's umask, which a process of its own would inherit
  const ours = umask === undefined ? undefined : process.umask(umask)
  // and its client's working directory, where a process of its own would start (a user-data script's `pwd`, a relative
  // path in the environment); a client gone already leaves the server's. The read-ahead is set up there too: its
  // configuration is the phase's, read from a relative ROOT as the phase reads it
  const home = ownDirectory()
  const moved = enterDirectoryOf(request.client)
  const ahead = request.phase === "early" ? prefetch(env) : undefined
  const program = runPhase(request.phase, ahead?.decided)
  const status = await Effect.runPromise(
    Effect.scoped(Effect.provide(program, appLayer(env, `tiny-cloud/${request.phase}`, platform, { lenientConfig: true }))).pipe(
      Effect.catchAllCause((cause) => Effect.as(Effect.sync(() => reply.stderr(`tiny-cloud/${request.phase}: ${describeCause(cause)}\n`)), 1)),
      Effect.withClock(liveClock)
    )
  ).finally(() => {
    ahead?.ended()
    if (ours !== undefined) process.umask(ours)
    if (moved) leaveFor(home)
  })
  await reply.end(status)
}

/** the working directory of process `pid` (a client: the service's shell) made this process's; false when it cannot be */
const enterDirectoryOf = (pid: number) => {
  try {
    process.chdir(`/proc/${pid}/cwd`)
    return true
  } catch {
    return false
  }
}

/** this process's working directory (`/` when it is gone, removed while it waited) */
const ownDirectory = () => {
  try {
    return process.cwd()
  } catch {
    return "/"
  }
}

/** back to the server's own working directory after a phase (`/` should it be gone meanwhile) */
const leaveFor = (dir: string) => {
  try {
    process.chdir(dir)
  } catch {
    process.chdir("/")
  }
}

/**
 * One line to syslog as the phases send theirs (facility local7, `logger`
 * fed on stdin), tagged `tiny-cloud/serve[PID]`: the resident process is no
 * phase, and its refusal comes before any. Sent, not waited for: a client
 * that read server.starting before it was gone waits while this process lives,
 * so it ends once the line is in logger's pipe; a missing or hung `logger`
 * costs the line alone.
 */
const toSyslog = (line: string) =>
  new Promise<void>((sent) => {
    const logger = spawn("logger", ["-p", "local7.warning", "-t", `tiny-cloud/serve[${process.pid}]`], { stdio: ["pipe", "ignore", "ignore"], detached: true, env: programEnvironment(process.env) })
    logger.on("error", () => sent())
    // (no descriptor left for its pipe, EMFILE: Node gives it no stdin, and says so in the error event)
    if (!logger.stdin) return
    logger.stdin.on("error", () => sent())
    logger.stdin.end(`${line}\n`, () => sent())
    logger.unref()
  })

/** the reply FIFOs and environments (taken, withdrawn) of clients that are gone (the environment may hold a secret), and the server.pid a gone server was writing */
const forgetDeadClients = (dir: string) => {
  let entries: Array<string>
  try {
    entries = readdirSync(dir)
  } catch {
    // gone (removed by hand): nothing of theirs is left
    return
  }
  for (const entry of entries) {
    // (and the name a server killed while it wrote it left beside server.pid)
    const client = /^(?:(?:reply|env)\.(\d+)(?:\.taken|\.withdrawn)?|server\.pid\.(\d+)\.new)$/.exec(entry)?.slice(1).find((n) => n !== undefined)
    if (client !== undefined && !processAlive(Number(client))) drop(`${dir}/${entry}`)
  }
}

/** how long to wait for a phase; undefined when there is no first boot to serve (asked every 2 s while waiting: without the Effect runtime) */
const idleSeconds = (env: Readonly<Record<string, string | undefined>>): number | undefined => {
  const { settings, complete, disabled } = bootstrapState(env)
  return disabled || complete ? undefined : settings.residentIdle
}

const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const

/**
 * A relative ROOT made absolute from this process's working directory, as the kernel resolves it, never normalised
 * (`link/../root` is the link target's parent's `root`, where the boot service and the clients find it, not `./root`);
 * as given where that directory is gone (removed: then it names nothing, and making the run directory says so)
 */
const fromHere = (root: string) => {
  if (root === "" || root.startsWith("/")) return root
  try {
    return `${process.cwd().replace(/\/$/, "")}/${root}`
  } catch {
    return root
  }
}

export const serve = async (): Promise<number> => {
  const root = (process.env.ROOT ?? "").replace(/\/+$/, "")
  // (a relative ROOT from where it started: a phase runs in its client's working directory)
  const paths = residentPaths(fromHere(root))
  const idle = idleSeconds(process.env)
  // a symbolic link for /run or /run/tiny-cloud may lead out of ROOT (planted in an image): nothing is made or removed through it
  const linked = [dirname(paths.dir), paths.dir].some(isLink)
  if (idle === undefined) {
    if (!linked) drop(paths.starting)
    return 0
  }
  // a server that does not serve leaves no name behind: server.starting naming it would send the clients past a server that does
  // (`orGone`: nor one naming a process that has ended, which no server starts under)
  const leave = (code: number, orGone = false) => {
    const named = ownText(paths.starting)?.trim()
    if (named !== undefined && (named === String(process.pid) || (orGone && /^\d+$/.test(named) && !processAlive(Number(named))))) drop(paths.starting)
    return code
  }
  // not serving is never an error of the boot's (each phase then runs in a process of its own), but it is said why:
  // the boot service sends stderr to /dev/null, so to syslog too, once the clients no longer wait for this process
  // (`inside`: its server.starting may be looked at, the run directory is ROOT's own)
  const refuse = async (reason: string, inside = true) => {
    const line = `${paths.dir}: ${reason}; not serving`
    process.stderr.write(`tiny-cloud serve: ${line}\n`)
    const code = inside ? leave(1) : 1
    await toSyslog(line)
    return code
  }
  if (linked) return refuse("reached through a symbolic link", false)
  try {
    mkdirs(paths.dir, 0o700)
  } catch (e) {
    return refuse((e as NodeJS.ErrnoException).code === "EEXIST" ? "not a directory" : reasonOf(e))
  }
  const info = lstatSync(paths.dir)
  if (!info.isDirectory()) return refuse("not a directory")
  if (info.uid !== process.getuid?.() || (info.mode & 0o077) !== 0) return refuse("not this user's alone")
  // the name ps shows, and what tells a server from a process that got a dead server's pid
  process.title = SERVER_TITLE
  // one server per ROOT: a live one keeps its place
  const named = ownText(paths.pid)
  if (named !== undefined) {
    const other = Number(named)
    if (other !== process.pid && processAlive(other) && commandName(other) === commandName("self")) return leave(0)
  }
  if (!ownFifo(paths.requests)) {
    drop(paths.requests)
    // the boot script may make it at the same moment
    if (spawnSync("mkfifo", ["-m", "600", paths.requests], { env: programEnvironment(process.env) }).status !== 0 && !ownFifo(paths.requests)) return refuse("cannot make its request FIFO")
  }
  // from the moment server.pid names it, a signal is an end with its clean-up, never the default death that leaves
  // server.pid and the FIFO behind: held until the handlers below are in place (Node delivers it on a later turn)
  const held = () => {}
  for (const signal of STOP_SIGNALS) process.on(signal, held)
  try {
    // what is there names no live server (above). Written beside and renamed over it: a client or a second server reading
    // it meanwhile finds the old text or this one, never an empty file (which named no live server: both would serve); and
    // the rename replaces the name alone, whatever it is (planted in an image: a link out of ROOT, a FIFO a write would
    // wait on for ever, a hard link to an image's /etc/passwd where /run is no tmpfs), never writing through it. A directory
    // in its place refuses it
    // (a name of this process's own: a second server started at the same moment writes its own, never this one's)
    const beside = `${paths.pid}.${process.pid}.new`
    drop(beside)
    const fd = openSync(beside, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600)
    try {
      writeFileSync(fd, `${process.pid}\n`)
    } finally {
      closeSync(fd)
    }
    renameSync(beside, paths.pid)
  } catch (e) {
    // a full or read-only /run: no name half-written, the clients run their phases themselves
    drop(`${paths.pid}.${process.pid}.new`)
    for (const signal of STOP_SIGNALS) process.off(signal, held)
    return refuse(`cannot write server.pid: ${reasonOf(e)}`)
  }
  drop(paths.starting)
  // what the clients of an earlier boot left, killed while they waited (a crash): their reply FIFOs and environments (taken, withdrawn)
  forgetDeadClients(paths.dir)

  const cleanup = () => {
    // and, at the end, those killed while their request waited behind the last phase served, which no one takes now
    forgetDeadClients(paths.dir)
    // the boot script may have named it after it listened (it writes server.starting once it has started it), or named a
    // second server (the boot service started again, slower than that server) that stepped aside for this one and ended
    leave(0, true)
    if (ownText(paths.pid)?.trim() === String(process.pid)) {
      drop(paths.pid)
      drop(paths.requests)
    }
  }
  return new Promise<number>((finish) => {
    // read-write: the FIFO always has a writer, so no client leaving ends the stream
    const fd = openSync(paths.requests, constants.O_RDWR | constants.O_NONBLOCK)
    const requests = new Socket({ fd, readable: true, writable: false })
    let timer: NodeJS.Timeout
    let stopped = false
    let serving = false
    const stop = (code: number) => {
      stopped = true
      clearTimeout(timer)
      clearInterval(watch)
      cleanup()
      requests.destroy()
      try {
        closeSync(fd)
      } catch {
        // closed with the socket
      }
      finish(code)
    }
    const waitIdle = () => {
      clearTimeout(timer)
      // setTimeout takes at most 2^31-1 ms (about 24 days); more would fire at once. Decided a turn later, once the
      // requests that came meanwhile have been read: a process stopped or starved of the CPU past its idle time finds the
      // timer due before a request its client made in time (Node runs timers before it polls), which it then serves
      timer = setTimeout(() => setImmediate(() => serving || stopped || stop(0)), Math.min(idle * 1000, 2 ** 31 - 1))
    }
    waitIdle()
    // the first boot may end without it (final run by hand, or by a client that could not wait for it): then it goes too
    const watch = setInterval(() => {
      if (!serving && idleSeconds(process.env) === undefined) stop(0)
    }, 2000)
    for (const signal of STOP_SIGNALS) {
      // (a flock waiting for the lock on a phase's behalf would take it once it is free, with nobody to hand it to)
      process.once(signal, () => {
        endHelpers()
        stop(0)
      })
      process.off(signal, held)
    }
    let queue = Promise.resolve()
    const take = (line: string) => {
      const request = parseRequest(line)
      if (request === undefined) return
      queue = queue.then(async () => {
        // a request that came after the end is left to its client, which runs the phase itself once this process is gone
        if (stopped) return
        clearTimeout(timer)
        serving = true
        await serveOne(request, paths).catch(() => {})
        serving = false
        if (request.phase === "final") stop(0)
        else waitIdle()
        // while the next service starts: node:http, which early's first request would load (about 2 ms)
        if (request.phase === "boot") Effect.runFork(httpModule)
      })
    }
    // the requests' lines, split here: node's readline took about 1.2 ms to load and set up before the first phase
    let unfinished: string | undefined = ""
    requests.setEncoding("latin1")
    requests.on("data", (chunk: string) => {
      const read = requestLines(unfinished, chunk)
      unfinished = read.unfinished
      for (const line of read.lines) take(line)
    })
  })
}
