/** `write_files`: the files written in the main phase, and the cloud-config `defer: true` ones in the final phase. */
import { posix } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Commands } from "../../../services/Commands.js"
import { lookupAccount } from "../../accounts.js"
import { currentUser, installKeys } from "../../actions/user.js"
import { FsError } from "../../../domain/errors.js"
import { Config } from "../../../services/Config.js"
import { err, warn } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { fetchSource } from "../fetch.js"
import { loadUserConfig } from "../load.js"
import type { FileToWrite, UserSpec } from "../../../domain/userdata/model.js"
import { APPEND_JOURNAL, appendDone, DIRECTORIES_JOURNAL, directoriesOf, formatJournal, isDone, parseDirectoriesJournal, parseJournal, withAppend, withDirectories } from "../../../domain/append-journal.js"
import { authorizedKeys } from "../../../domain/ssh-keys.js"
import { printable } from "../../../domain/text.js"
import { concat, fail, instancePath, readJournal } from "./common.js"

/**
 * The bytes to write: the `source` fetched when there is one, else (or when
 * the fetch fails, as cloud-init falls back) the content; none when neither.
 */
const contentOf = (action: string, file: FileToWrite) =>
  Effect.gen(function* () {
    if (file.source === undefined) return file.content
    const { userDataMaxBytes } = yield* Config
    const fetched = yield* Effect.either(fetchSource(file.source, userDataMaxBytes))
    if (fetched._tag === "Right") return fetched.right
    const where = `${action}: write_files[${file.index}]: cannot fetch its source (${fetched.left.reason})`
    if (file.content === undefined) {
      yield* err(`${where}; nothing to write`)
      return undefined
    }
    yield* warn(`${where}; its content is written instead`)
    return file.content
  })

/**
 * the journal first, then the file: a crash between the two leaves a record the file does not match, and the rerun appends.
 * An append whose record cannot be written is not made (no rerun makes it twice), and the line names the record, not the file
 */
const appendOnce = (index: number, path: string, target: string, content: Uint8Array, mode: number | undefined) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { varDir } = yield* Config
    const journalPath = `${varDir}/${APPEND_JOURNAL}`
    const journal = parseJournal(yield* readJournal(journalPath))
    // the user's file, whatever its size, as cloud-init appends to any
    const before = Option.getOrElse(yield* fs.readFileIfExists(target, { maxBytes: Number.POSITIVE_INFINITY }), () => new Uint8Array())
    if (isDone(journal, index, path, before)) return
    const after = concat(before, content)
    yield* fs
      .writeAtomic(journalPath, formatJournal(withAppend(journal, appendDone(index, path, after))), { mode: 0o600, noFollow: true })
      .pipe(Effect.mapError((e) => new FsError({ op: e.op, path: e.path, reason: `the append's record: ${e.message}` })))
    yield* fs.writeAtomic(target, after, { mode })
  })

/**
 * The directories above `path` (an instance path) that this first boot makes
 * for the entry, outermost first: those not there yet, recorded in the
 * journal before they are made, and those a run killed before their `chown`
 * recorded (they are there now). A record that cannot be kept is said: it costs a rerun after a crash their owner, not the
 * file, nor the files after it
 */
const newDirectories = (action: string, index: number, path: string, settled: ReadonlySet<number>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { varDir } = yield* Config
    const missing: Array<string> = []
    for (let dir = posix.dirname(path); dir !== "/" && !(yield* fs.exists(fs.at(dir))); dir = posix.dirname(dir)) missing.unshift(dir)
    const journalPath = `${varDir}/${DIRECTORIES_JOURNAL}`
    // the records of entries this run has given their owner are done with: kept, each write would rewrite them all (2000 entries, 2 million records written)
    const journal = parseDirectoriesJournal(yield* readJournal(journalPath)).filter((e) => !settled.has(e.index))
    const directories = directoriesOf(journal, index, path, missing)
    if (directories.length > directoriesOf(journal, index, path, []).length) {
      yield* fs
        .writeAtomic(journalPath, formatJournal(withDirectories(journal, { index, path, directories })), { mode: 0o600, noFollow: true })
        .pipe(Effect.catchAll((e) => warn(`${action}: write_files[${index}]: cannot record the directories this first boot makes for it: ${e.message}`)))
    }
    return directories
  })

/**
 * Each file atomically with its final mode, parent directories created;
 * `append` adds to what is there, once per first boot (a rerun after a crash
 * finds it done in the journal); then `chown -h OWNER PATH` (none when the owner is empty). A file that
 * cannot be written does not stop the others; the action fails at the end.
 */
const writeFiles = (action: string, files: ReadonlyArray<FileToWrite>) =>
  Effect.gen(function* () {
    if (files.length === 0) return
    const fs = yield* RootFs
    const commands = yield* Commands
    const failed: Array<string> = []
    // the entries written and given their owner in this run: their directories' records are needed no more
    const settled = new Set<number>()
    for (const file of files) {
      const path = instancePath(file.path)
      const target = fs.at(path)
      const content = yield* contentOf(action, file)
      if (content === undefined) {
        failed.push(path)
        continue
      }
      // cloud-init gives the directories it makes for a file the file's owner (root's own need no chown)
      const madeDirectories = file.ownsNewDirectories === true && file.owner !== "" && file.owner !== "root:root" ? yield* newDirectories(action, file.index, path, settled) : []
      const written = yield* Effect.gen(function* () {
        if (file.append) yield* appendOnce(file.index, path, target, content, file.mode)
        else yield* fs.writeAtomic(target, content, { mode: file.mode })
        return true
      }).pipe(Effect.catchAll((e) => Effect.as(err(`write_files: cannot write ${printable(path, 4096)}: ${e.reason}`), false)))
      if (!written) {
        failed.push(path)
        continue
      }
      if (file.owner === "") continue
      // the file as it is inside ROOT: chown never follows a link out of it; nor one its new owner puts in its place as chown
      // starts (-h: the link itself), in a directory of theirs (their home), where they may rename what root made
      const chown = (at: string) =>
        Effect.flatMap(fs.realPath(fs.at(at)), (resolved) => commands.run("chown", ["-h", file.owner, resolved], { allowFailure: true })).pipe(
          Effect.map((r) => r.exitCode),
          Effect.catchAll(() => Effect.succeed(127))
        )
      let owned = true
      for (const at of [...madeDirectories, path]) {
        const status = yield* chown(at)
        if (status !== 0) {
          yield* err(`write_files: chown of ${printable(at, 4096)} exited with status ${status}`)
          failed.push(path)
          owned = false
          break
        }
      }
      // Linux clears a file's set-user-ID (and set-group-ID) bit at a chown, root's and to the same owner too: set again, so
      // that `permissions: '4755'` ends 4755, not 0755, as cloud-init keeps them since its fix of canonical/cloud-init#6225
      if (owned && (file.mode & 0o6000) !== 0) {
        const kept = yield* fs.resolve(target).pipe(
          Effect.flatMap((resolved) => fs.chmod(resolved, file.mode)),
          Effect.as(true),
          Effect.catchAll((e) => Effect.as(err(`write_files: cannot set the mode of ${printable(path, 4096)} again after chown: ${e.reason}`), false))
        )
        if (!kept) failed.push(path)
      }
      if (owned) settled.add(file.index)
    }
    if (failed.length > 0) return yield* fail(`${failed.length} of ${files.length} files not written as asked`)
  })

/**
 * A file written (or appended to) where set_ssh_keys, later in the phase,
 * puts the cloud's keys in place of what is there (cloud-init adds them to
 * it instead): named, so that its keys do not go without a word.
 */
const warnCloudKeysFile = (files: ReadonlyArray<FileToWrite>) =>
  Effect.gen(function* () {
    const user = yield* currentUser
    const account = yield* lookupAccount(user).pipe(Effect.orElseSucceed(() => Option.none()))
    if (Option.isNone(account)) return
    const keysFile = instancePath(`${account.value.home}/.ssh/authorized_keys`)
    for (const file of files) {
      if (instancePath(file.path) !== keysFile) continue
      yield* warn(`userdata_write_files: write_files[${file.index}]: ${printable(keysFile, 4096)} is replaced by set_ssh_keys with the cloud's keys, when the cloud has some; ssh_authorized_keys adds keys to them`)
    }
  })

/**
 * A further user's `~/.ssh/authorized_keys` written here gets that user's
 * `ssh_authorized_keys` again, after what was written: cloud-init writes
 * files before it makes the users, and adds their keys to the file.
 * (The default user's are added by ssh_authorized_keys, after set_ssh_keys.)
 */
const keepUsersKeys = (files: ReadonlyArray<FileToWrite>, users: ReadonlyArray<UserSpec>) =>
  Effect.gen(function* () {
    const cloudUser = yield* currentUser
    let kept = true
    for (const user of users) {
      if (user.name === cloudUser || user.sshAuthorizedKeys.length === 0) continue
      const account = yield* lookupAccount(user.name).pipe(Effect.orElseSucceed(() => Option.none()))
      if (Option.isNone(account)) continue
      const keysFile = instancePath(`${account.value.home}/.ssh/authorized_keys`)
      if (!files.some((f) => instancePath(f.path) === keysFile)) continue
      // its keys alone: the lines that are none save_userdata named when it read them
      const keys = authorizedKeys(user.sshAuthorizedKeys, { allowOptions: true }).keys
      if (keys.length === 0) continue
      yield* installKeys(user.name, keys, { append: true, fromUserData: true, action: "userdata_write_files" }).pipe(
        Effect.catchAll((e) => {
          kept = false
          return err(`userdata_write_files: ${user.name}: its ssh_authorized_keys not added to ${printable(keysFile, 4096)}: ${e.message}`)
        })
      )
    }
    return kept
  })

export const userdataWriteFiles = Effect.flatMap(loadUserConfig("userdata_write_files"), (c) => {
  const files = c.writeFiles.filter((f) => !f.defer)
  return Effect.gen(function* () {
    yield* warnCloudKeysFile(files)
    const written = yield* Effect.either(writeFiles("userdata_write_files", files))
    const kept = yield* keepUsersKeys(files, c.users)
    if (written._tag === "Left") return yield* Effect.fail(written.left)
    if (!kept) return yield* fail("a user's ssh_authorized_keys not added to the file written over them")
  })
})

/**
 * A deferred file written over the default user's `~/.ssh/authorized_keys`
 * (`user`, known here from user-data: this phase did not run userdata_user)
 * replaces, in the final phase, the keys set_ssh_keys and ssh_authorized_keys
 * put there, as cloud-init's does: named, as its own keys are then the only
 * ones that log in. One that group or others may write (an append too) is
 * refused by sshd, whose StrictModes is on by default: named as well.
 */
const warnDeferredKeysFile = (files: ReadonlyArray<FileToWrite>, user: string) =>
  Effect.gen(function* () {
    const account = yield* lookupAccount(user).pipe(Effect.orElseSucceed(() => Option.none()))
    if (Option.isNone(account)) return
    const keysFile = instancePath(`${account.value.home}/.ssh/authorized_keys`)
    for (const file of files) {
      if (instancePath(file.path) !== keysFile) continue
      const where = `userdata_write_deferred_files: write_files[${file.index}]: ${printable(keysFile, 4096)}`
      if (!file.append) {
        yield* warn(`${where} replaces the cloud's keys and ssh_authorized_keys' there, as cloud-init does: only its own keys log in as ${user} (append: true adds to them)`)
      }
      if ((file.mode & 0o022) !== 0) {
        yield* warn(`${where} gets mode ${file.mode.toString(8).padStart(4, "0")}, which group or others may write: sshd (StrictModes) refuses every key in it`)
      }
    }
  })

/** cloud-config `defer: true` files, in the final phase, once packages and users exist */
export const userdataWriteDeferredFiles = Effect.flatMap(loadUserConfig("userdata_write_deferred_files"), (c) =>
  Effect.gen(function* () {
    const files = c.writeFiles.filter((f) => f.defer)
    yield* warnDeferredKeysFile(files, c.defaultUser?.name ?? (yield* currentUser))
    yield* writeFiles("userdata_write_deferred_files", files)
  })
)
