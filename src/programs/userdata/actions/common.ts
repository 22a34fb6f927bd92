/**
 * What the actions of `#alpine-config`, `#cloud-config` and MIME multipart
 * user-data share (BEHAVIOUR.md §6). Each action reads the parsed
 * `UserConfig` (../load.ts) and carries out one key; none looks at YAML.
 *
 * Messages name what failed by its place (`runcmd[2]`, `part 1`) or by a
 * path, never by a command's text, a key or file content.
 */
import { posix } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Commands, type RunOptions } from "../../../services/Commands.js"
import { Config } from "../../../services/Config.js"
import { info, warn } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { UserData } from "../../../services/UserData.js"
import { ActionFailed, type FsError } from "../../../domain/errors.js"
import { digestOf, JOURNAL_MAX_BYTES, RAN_JOURNAL } from "../../../domain/append-journal.js"
import { RUN_DIR } from "../../../domain/resident.js"
import { textOf } from "../../../domain/text.js"
import { envProgram, SHEBANG_CR, shebangHoldsCr, shebangProgram } from "../../../domain/userdata/runnable.js"

export const fail = (reason: string) => Effect.fail(new ActionFailed({ reason }))

/** a system program; a failure names the program and its status, not its arguments or output */
export const system = (command: string, args: ReadonlyArray<string>, what: string, options: RunOptions = {}) =>
  Effect.gen(function* () {
    const c = yield* Commands
    const r = yield* c.run(command, args, { ...options, allowFailure: true })
    if (r.exitCode !== 0) return yield* fail(`${what} exited with status ${r.exitCode}`)
  })

export const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** an instance path made absolute, `..` resolved, so it stays under ROOT */
export const instancePath = (path: string) => posix.normalize(`/${path}`)

const ranJournal = Effect.map(Config, (s) => `${s.varDir}/${RAN_JOURNAL}`)

/** a journal's text (../../../domain/append-journal.ts); one that cannot be read (larger than its bound, not a regular file) counts as empty */
export const readJournal = (journal: string) =>
  Effect.flatMap(RootFs, (fs) => fs.readFileIfExists(journal, { maxBytes: JOURNAL_MAX_BYTES })).pipe(
    Effect.map(Option.match({ onNone: () => "", onSome: textOf })),
    Effect.orElseSucceed(() => "")
  )

/** a journal's text as readJournal reads it; none, or one too damaged to read, is removed: a line is not added to the damage */
export const readJournalAfresh = (journal: string) =>
  Effect.tap(readJournal(journal), (text) => (text === "" ? Effect.ignore(Effect.flatMap(RootFs, (fs) => fs.remove(journal))) : Effect.void))

/** the digest of the saved user-data (of none: of nothing), which a journal's line names: an image whose builder left its journals has other user-data */
const userDataDigest = Effect.map(Effect.flatMap(UserData, (u) => u.bytes), (bytes) => digestOf(Option.getOrElse(bytes, () => new Uint8Array())))

/** `NAME DIGEST`: a journal's line of an account this user-data's first boot makes (an image may keep its builder's journal: domain/append-journal.ts) */
export const journalLine = (name: string) => Effect.map(userDataDigest, (digest) => `${name} ${digest}`)

/** the names of a journal's text whose lines are this user-data's (`journalLine`) */
export const journalledNames = (text: string) =>
  Effect.map(userDataDigest, (digest) => new Set(text.split("\n").filter((l) => l.endsWith(` ${digest}`)).map((l) => l.slice(0, -digest.length - 1))))

/**
 * What the programs of `action` leave beside them, their output in the log and their exit status: they have run,
 * so what cannot be kept (a full /var/log) is said in one line, and neither the action nor the programs after them fail
 */
export const keepOrSay = <R>(action: string, what: string, write: Effect.Effect<void, FsError, R>) =>
  write.pipe(Effect.catchAll((e) => warn(`${action}: cannot keep ${what}: ${e.message}`)))

/**
 * Where the programs of `action` write their output when `log` cannot be made, `refused` saying why (a read-only
 * /var/log, one with no inode left): a file of this process in the run directory, echoed and then removed. That is
 * said in one line naming the log, and the programs still run, as the shell edition's `tee` runs them with a log it
 * cannot open: the log is not what they are there for
 */
export const spareOutput = (action: string, what: string, log: string, refused: FsError) =>
  Effect.gen(function* () {
    yield* warn(`${action}: cannot keep ${what}: write ${log}: ${refused.reason}`)
    const fs = yield* RootFs
    yield* fs.makeDirectory(fs.at(RUN_DIR), { mode: 0o700 })
    const spare = fs.at(`${RUN_DIR}/user-data.log`)
    // (what a run killed while its programs ran left there goes)
    yield* fs.removeStaleTemporaries(spare)
    return yield* fs.temporaryOf(spare)
  })

/**
 * The user's programs of `action` once per first boot: `run` (which
 * returns once they have ended, with their failure if any) is passed over,
 * in one line, when they ran to their end already (see RAN_JOURNAL). The
 * record names the user-data they came from (its digest): user-data
 * changed since, or an image whose builder left the record, runs its own.
 * The action fails with the programs' failure, the recorded one when they
 * are passed over: a rerun does not turn a failed runcmd into a done one.
 * Passed over, the files they ran from are made again (`again`), as their run
 * leaves them: save_userdata removes them with user-data it could not tell
 * was the same (a save a crash or a full disk cut short, other user-data saved
 * between), and the first boot ends as an undisturbed one.
 */
export const oncePerFirstBoot = <E, R, R2 = never>(action: string, run: Effect.Effect<string | undefined, E, R>, again: Effect.Effect<void, FsError, R2> = Effect.void) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const journal = yield* ranJournal
    const key = `${action} ${yield* userDataDigest}`
    const earlier = (yield* readJournal(journal)).split("\n").find((l) => l === key || l.startsWith(`${key} `))
    if (earlier !== undefined) {
      yield* info(`${action}: its programs ran to their end in this first boot already; not run again`)
      yield* keepOrSay(action, "what its programs ran from", again)
      const failure = earlier.slice(key.length + 1)
      return failure === "" ? undefined : yield* fail(failure)
    }
    const failure = yield* run
    // `ACTION DIGEST`, then the failure on one line
    const line = failure === undefined ? key : `${key} ${failure.replace(/\s+/g, " ")}`
    // a record that could not be read is replaced; one that cannot be written costs a rerun of the programs, as before there was one, not the action
    const ran = yield* readJournal(journal)
    yield* fs
      .writeAtomic(journal, `${ran}${ran === "" || ran.endsWith("\n") ? "" : "\n"}${line}\n`, { mode: 0o600, noFollow: true })
      .pipe(Effect.catchAll((e) => warn(`${action}: cannot record that its programs ran: ${e.message}`)))
    if (failure !== undefined) return yield* fail(failure)
  })

/**
 * Why a script that ended with 126 or 127 did not start, where sh's own line
 * names only the script ("exec: /var/lib/cloud/user-data: not found"), as
 * what follows "its" or "part N's": a carriage return in its `#!` line (a
 * file saved with CR line ends, which the kernel does not end a line at: it
 * looks for the program `/bin/sh\recho`; a first line ending in CR LF was made
 * LF before, see runnableScript), or the program its `#!` names that the
 * image lacks (`#!/bin/bash` without bash). Undefined otherwise.
 */
export const whyNotStarted = (script: Uint8Array, status: number) =>
  Effect.gen(function* () {
    if (status !== 126 && status !== 127) return undefined
    if (shebangHoldsCr(script)) return `${SHEBANG_CR}: save the script with LF line ends`
    const program = shebangProgram(script)
    if (program === undefined || !program.startsWith("/")) return undefined
    const fs = yield* RootFs
    if (!(yield* fs.exists(program))) return `interpreter ${program} is not installed`
    // `#!/usr/bin/env bash` without bash: env is there, the program it looks up on PATH is not
    const looked = envProgram(script)
    return looked === undefined || (yield* Effect.flatMap(Commands, (c) => c.has(looked))) ? undefined : `interpreter ${looked} is not installed`
  })
