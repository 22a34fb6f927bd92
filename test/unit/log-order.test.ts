/**
 * Syslog gets a program's lines in the order they happened, whatever their
 * levels, as the shell edition's one `logger` a line gives them: a `logger`
 * (here a slow stand-in that records what it sends) has one priority, so a
 * line of another level must wait until the previous one has sent all it
 * was given.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { settingsFromLeniently } from "../../src/domain/settings.js"
import { makeLiveCommands } from "../../src/layers/CommandsLive.js"
import { makeLog } from "../../src/layers/LogLive.js"
import { Commands } from "../../src/services/Commands.js"
import { Config } from "../../src/services/Config.js"
import { capturingOutput } from "../support/layers.js"
import { alive, until } from "../support/openrc.js"
import { scopedDir } from "../support/scratch.js"

/**
 * the lines a stand-in has appended to `file`, each once its line break is there: `echo ... >> file` creates the file before it
 * writes, and the empty file read as one line ("") let a test go on before the stand-in had written (on a loaded machine, the
 * prepared logger then stopped before its line, and the warning's logger, its line the only one, was never the second)
 */
const appendedLines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(0, -1) : [])

/**
 * a `logger` stand-in that takes `delay` seconds to send each line (-p PRIORITY -t TAG), or with "at its end"
 * sends them all once its input has ended; the services a Log needs, and what it has sent
 */
const slowLogger = (delay: number | "at its end") => Effect.gen(function* () {
  const dir = yield* scopedDir("tc-log-order-", tmpdir())
  const sent = join(dir, "sent")
  writeFileSync(
    join(dir, "logger"),
    delay === "at its end"
      ? `#!/bin/sh\nheld=\nwhile IFS= read -r line; do held="$held$2 $line\n"; done\nprintf %s "$held" >> "${sent}"\n`
      : `#!/bin/sh\nwhile IFS= read -r line; do ${delay > 0 ? `sleep ${delay}; ` : ""}echo "$2 $line" >> "${sent}"; done\n`
  )
  chmodSync(join(dir, "logger"), 0o755)
  const { layer: output } = yield* capturingOutput
  const layers = Layer.mergeAll(
    Layer.succeed(Commands, makeLiveCommands(() => {}, { PATH: `${dir}:${process.env.PATH}` })),
    Layer.succeed(Config, settingsFromLeniently({}, "")),
    output
  )
  return { layers, sentLines: () => appendedLines(sent) }
})

/**
 * a `logger` stand-in that takes its lines and then never exits (as one blocked on a syslogd that does not read), killed with
 * the test's scope; the services a Log needs, and the loggers started, in order
 */
const neverEndingLogger = Effect.gen(function* () {
  const dir = yield* scopedDir("tc-log-stuck-", tmpdir())
  const started = join(dir, "started")
  writeFileSync(join(dir, "logger"), `#!/bin/sh\necho "$$ $2" >> "${started}"\ncat > /dev/null\nexec sleep 120\n`)
  chmodSync(join(dir, "logger"), 0o755)
  const loggers = () =>
    appendedLines(started).map((l) => ({ pid: Number(l.split(" ")[0]), priority: l.split(" ")[1] }))
  yield* Effect.addFinalizer(() => Effect.sync(() => loggers().forEach(({ pid }) => alive(pid) && process.kill(pid, "SIGKILL"))))
  const { layer: output } = yield* capturingOutput
  const layers = Layer.mergeAll(
    Layer.succeed(Commands, makeLiveCommands(() => {}, { PATH: `${dir}:${process.env.PATH}` })),
    Layer.succeed(Config, settingsFromLeniently({}, "")),
    output
  )
  return { layers, loggers }
})

describe("syslog lines", () => {
  it.scopedLive("reach syslog in the order they were logged, across levels", () =>
    Effect.gen(function* () {
      const { layers, sentLines } = yield* slowLogger(0.03)
      const log = yield* Effect.provide(makeLog("tiny-cloud/main"), layers)
      const lines: ReadonlyArray<readonly ["info" | "notice" | "warn" | "err", string]> = [
        ["info", "a: starting"],
        ["info", "a: done"],
        ["notice", "b: no user-data found"],
        ["warn", "c: warning"],
        ["info", "d: starting"],
        ["err", "d: failed"],
        ["info", "e: starting"]
      ]
      for (const [level, message] of lines) yield* log.log(level, message)
      // the last logger sends what it holds
      yield* Effect.promise(() => until(() => sentLines().length >= lines.length, "every line is sent"))
      const priority = { info: "local7.info", notice: "local7.notice", warn: "local7.warning", err: "local7.err" }
      expect(sentLines()).toEqual(lines.map(([level, message]) => `${priority[level]} ${message}`))
    })
  )

  it.scopedLive("are one line each, in syslog as on stderr, whatever a message holds: a line break or a control character from outside is escaped", () =>
    Effect.gen(function* () {
      const { layers, sentLines } = yield* slowLogger(0)
      const log = yield* Effect.provide(makeLog("tiny-cloud/main"), layers)
      yield* log.log("err", "userdata_apk_cache: mkdir /etc/hosts/x\ninjected: line\0\x1b[2J: not a directory")
      yield* log.log("info", "userdata_apk_cache: failed")
      yield* Effect.promise(() => until(() => sentLines().length >= 2, "every line is sent"))
      expect(sentLines()).toEqual([
        "local7.err userdata_apk_cache: mkdir /etc/hosts/x\\x0ainjected: line\\x00\\x1b[2J: not a directory",
        "local7.info userdata_apk_cache: failed"
      ])
    })
  )

  it.scopedLive("are all in syslog once the program's scope has ended (a phase's exit, a resident phase's answer), as with one logger a line", () =>
    Effect.gen(function* () {
      // a logger that sends its lines only once its input has ended: they are there only where the scope's end
      // ended its input and waited for it, with no sleep of its own (a sleep's fork on a loaded machine, two
      // lines of 20 ms, took 100 to 150 ms there, near the bound of the wait, 250 ms)
      const { layers, sentLines } = yield* slowLogger("at its end")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const log = yield* Effect.provide(makeLog("tiny-cloud/final"), layers)
          yield* log.log("info", "bootstrap_complete: starting")
          yield* log.log("info", "bootstrap_complete: done")
        })
      )
      // no waiting: the scope's end waited for the logger
      expect(sentLines()).toEqual(["local7.info bootstrap_complete: starting", "local7.info bootstrap_complete: done"])
    })
  )

  it.scopedLive("do not keep the program's scope from ending (a phase's exit, a resident phase's answer) when the logger never ends: it is left after its bound", () =>
    Effect.gen(function* () {
      const { layers, loggers } = yield* neverEndingLogger
      yield* Effect.scoped(
        Effect.gen(function* () {
          const log = yield* Effect.provide(makeLog("tiny-cloud/final"), layers)
          yield* log.log("info", "bootstrap_complete: done")
          yield* Effect.promise(() => until(() => loggers().length === 1, "the logger started"))
        })
      )
      // the scope ended while the logger still lives: it was not waited for to its end (that took the logger's 120 s)
      expect(alive(loggers()[0]!.pid)).toBe(true)
    })
  )

  it.scopedLive("a logger made ready for a level (a phase's, while its lock is taken) and given no line is stopped when a line of another level comes, not waited for as one that holds lines", () =>
    Effect.gen(function* () {
      const { layers, loggers } = yield* neverEndingLogger
      yield* Effect.scoped(
        Effect.gen(function* () {
          const log = yield* Effect.provide(makeLog("tiny-cloud/early"), layers)
          yield* log.prepare!("info")
          yield* Effect.promise(() => until(() => loggers().length === 1, "the info logger started"))
          // a configuration warning first: the info logger goes unused
          yield* log.log("warn", "/etc/tiny-cloud.conf line 1: unknown key FOO")
          yield* Effect.promise(() => until(() => loggers().length === 2, "the warning's logger started"))
        })
      )
      const [prepared, warned] = loggers()
      expect([prepared!.priority, warned!.priority]).toEqual(["local7.info", "local7.warning"])
      // the one given no line is stopped (waited for, each costs the bound, 250 ms, and it lives on); the one given a line is left after its bound
      yield* Effect.promise(() => until(() => !alive(prepared!.pid), "the unused logger is stopped"))
      expect(alive(warned!.pid)).toBe(true)
    })
  )
})

describe("stderr lines", () => {
  it.scopedLive("with stderr: 'errors' (a helper run by ifupdown-ng, imds), only errors reach stderr, each named by the program's tag; syslog still gets every line", () =>
    Effect.gen(function* () {
      const { layers, sentLines } = yield* slowLogger(0)
      const { layer: output, captured } = yield* capturingOutput
      const log = yield* Effect.provide(makeLog("tiny-cloud/net-sync", { stderr: "errors" }), Layer.merge(layers, output))
      yield* log.log("info", "eth1: up")
      yield* log.log("notice", "eth1: no address")
      yield* log.log("warn", "eth1: slow")
      yield* log.log("err", "eth1: failed")
      yield* Effect.promise(() => until(() => sentLines().length >= 4, "every line is sent"))
      expect(captured.stderr()).toBe("tiny-cloud/net-sync: eth1: failed\n")
      expect(sentLines()).toEqual(["local7.info eth1: up", "local7.notice eth1: no address", "local7.warning eth1: slow", "local7.err eth1: failed"])
    })
  )
})
