import { posix } from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { DEFAULT_USER_JOURNAL } from "../../domain/append-journal.js"
import { ActionFailed, UnusableValue, unusableAnswer } from "../../domain/errors.js"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { authorizedKeys, grantedKeys } from "../../domain/ssh-keys.js"
import { dropInsRead, firstValue, readsHomeKeys, SSHD_CONFIG, SSHD_DROP_INS, sshdWords } from "../../domain/sshd-config.js"
import { printable, sortedUnique, textOf } from "../../domain/text.js"
import { err, info, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"
import type { AccountOptions } from "../../domain/userdata/model.js"
import { type Account, groups, lookupAccount, ownBy, removeStaleAccountEdits, shadowPassword } from "../accounts.js"
import { PhaseContext } from "../action.js"
import { journalledNames, journalLine, readJournal, readJournalAfresh } from "../userdata/actions/common.js"

export const currentUser = Effect.flatMap(PhaseContext, (ctx) => Ref.get(ctx.cloudUser))

/**
 * `addgroup` and `adduser` for a new account: its own group, or the primary
 * group asked for (either created when missing); home, shell, and what
 * user-data asks for the account (uid, comment, system account, no home).
 * A system account gets only what is asked for, as cloud-init makes it on
 * Alpine: adduser's own defaults (no login shell, the nogroup group).
 */
export const addAccount = (user: string, options: AccountOptions = {}) =>
  Effect.gen(function* () {
    const c = yield* Commands
    const system = options.system === true
    const group = options.primaryGroup ?? (system ? undefined : user)
    if (group !== undefined && !(yield* groups).has(group)) yield* c.run("addgroup", [group])
    const home = options.homedir ?? (system ? undefined : `/home/${user}`)
    const shell = options.shell ?? (system ? undefined : "/bin/sh")
    yield* c.run("adduser", [
      ...(home !== undefined ? ["-h", home] : []),
      ...(shell !== undefined ? ["-s", shell] : []),
      ...(group !== undefined ? ["-G", group] : []),
      "-D",
      ...(options.uid !== undefined ? ["-u", String(options.uid)] : []),
      ...(options.gecos !== undefined ? ["-g", options.gecos] : []),
      ...(options.system === true ? ["-S"] : []),
      ...(options.system === true || options.noCreateHome === true ? ["-H"] : []),
      user
    ])
  })

/**
 * The user in `wheel`, and passwordless sudo/doas for wheel where installed.
 * An `addgroup USER wheel` that fails (busybox's on an image without a
 * `wheel` group) is a warning: the keys and hostname after it are set all the
 * same, and the commands stay the contract's.
 */
const grantWheel = (user: string, action: string) =>
  Effect.gen(function* () {
    const c = yield* Commands
    if (!((yield* groups).get("wheel") ?? []).includes(user)) {
      const problem = yield* c.run("addgroup", [user, "wheel"], { allowFailure: true }).pipe(
        Effect.map((r) => {
          const detail = textOf(r.stderr).trim().split("\n").pop()
          return r.exitCode === 0 ? undefined : `exited with status ${r.exitCode}${detail ? `: ${detail}` : ""}`
        }),
        Effect.catchAll((e) => Effect.succeed(e.reason))
      )
      if (problem !== undefined) yield* warn(`${action}: ${user} not added to wheel: addgroup ${user} wheel: ${problem}`)
    }
    const fs = yield* RootFs
    // each where it can be written: sudo's that cannot be still leaves doas' (and the other way round)
    const sudo = yield* Effect.either(
      Effect.gen(function* () {
        if (yield* fs.isDirectory(fs.at("/etc/sudoers.d"))) {
          yield* fs.writeAtomic(fs.at("/etc/sudoers.d/wheel"), "%wheel ALL=(ALL) NOPASSWD: ALL\n", { mode: 0o440 })
        }
      })
    )
    yield* Effect.gen(function* () {
      if (yield* fs.isDirectory(fs.at("/etc/doas.d"))) {
        yield* fs.writeAtomic(fs.at("/etc/doas.d/wheel.conf"), "permit nopass :wheel\n", { mode: 0o600 })
      } else if (yield* fs.exists(fs.at("/etc/doas.conf"))) {
        yield* fs.addLinesOnce(fs.at("/etc/doas.conf"), ["permit nopass :wheel"], { mode: 0o600 })
      }
      // both failed: sudo's is its own line, doas' the action's reason
    }).pipe(Effect.tapError(() => (Either.isLeft(sudo) ? err(`${action}: ${sudo.left.message}`) : Effect.void)))
    if (Either.isLeft(sudo)) return yield* Effect.fail(sudo.left)
  })

const defaultUserJournal = Effect.map(Config, (c) => `${c.varDir}/${DEFAULT_USER_JOURNAL}`)

/** create_default_user made `user`'s account in this first boot (an account that is there may be the image's) */
export const madeThisBoot = (user: string) =>
  Effect.map(Effect.flatMap(Effect.flatMap(defaultUserJournal, readJournal), journalledNames), (made) => made.has(user))

/** the shells of accounts no one logs in to: each ends the session it is given */
const NO_LOGIN_SHELLS: ReadonlySet<string> = new Set(["nologin", "false"])

/** said of the cloud user whose shell (`how`: it exists already with it, or is made with it) logs no one in: sshd takes its keys, the shell ends the session */
const sayNoLogin = (action: string, user: string, shell: string | undefined, how: string) =>
  shell !== undefined && NO_LOGIN_SHELLS.has(posix.basename(shell))
    ? warn(`${action}: ${user} ${how} the shell ${printable(shell)}, which logs no one in: the cloud's keys get no shell as ${user}`)
    : Effect.void

/** one directory however written (`/home/alpine/`, `/home//alpine`) */
const directoryName = (path: string) => posix.normalize(path).replace(/(.)\/$/, "$1")

/** the account options user-data asks that an account that is there does not have, as cloud-config names them */
export const unapplied = (account: Account, options: AccountOptions): ReadonlyArray<string> => [
  ...(options.homedir !== undefined && directoryName(options.homedir) !== directoryName(account.home) ? [`homedir ${options.homedir}`] : []),
  ...(options.shell !== undefined && options.shell !== account.shell ? [`shell ${options.shell}`] : []),
  ...(options.uid !== undefined && options.uid !== account.uid ? [`uid ${options.uid}`] : []),
  ...(options.gecos !== undefined && options.gecos !== account.gecos ? ["gecos"] : [])
]

/**
 * Group, user, wheel (unless `options.wheel` is false), a password that
 * keys can log in with (`*`). Each step checks its own effect, so a run
 * killed half-way converges when run again; an account that was there
 * before keeps its password, and its own home, shell, uid and comment
 * (as cloud-init keeps them), which is said when user-data asks others.
 */
const createUser = (user: string, options: AccountOptions) =>
  Effect.gen(function* () {
    const action = "create_default_user"
    const c = yield* Commands
    const account = yield* lookupAccount(user)
    const existed = Option.isSome(account)
    if (existed) {
      yield* info(`${action}: already exists`)
      const kept = unapplied(account.value, options)
      if (kept.length > 0) yield* warn(`${action}: ${user} exists already and keeps its own account: user-data's ${kept.join(", ")} not applied`)
      // a system account named as the cloud user (`user: daemon`)
      yield* sayNoLogin(action, user, account.value.shell, "exists already with")
    } else {
      // recorded for a rerun, which compares the account (user-data asks options of it), and for userdata_users, which sets
      // user-data's `passwd` on an account this boot made alone; one that cannot be written (a full or read-only state
      // directory, a directory in its place) is said, as userdata_users says its own: it costs a rerun only a false line,
      // and the account is made all the same
      const fs = yield* RootFs
      const journal = yield* defaultUserJournal
      yield* readJournalAfresh(journal)
      yield* fs
        .addLinesOnce(journal, [yield* journalLine(user)], { mode: 0o600, noFollow: true })
        .pipe(Effect.catchAll((e) => warn(`${action}: ${user}: cannot record that this first boot made it: ${e.message}`)))
      yield* addAccount(user, options)
      // user-data's default user asked with such a shell (`users: [{name: svc, system: true, shell: /sbin/nologin}, ...]`, whose
      // first entry takes CLOUD_USER's place): made as asked, and said as for an image's account
      yield* sayNoLogin(action, user, options.shell, "is made with")
    }
    // the grant's files are the image's: one that cannot be written (a directory in its place, a full /etc) fails this action
    // alone, once the password that lets the keys in is set: the hostname and the keys after it are still set
    const granted = options.wheel === false ? Either.right(undefined) : yield* Effect.either(grantWheel(user, action))
    // `adduser -D` leaves `!` (locked: sshd refuses even keys); `*` lets keys in. A password already set is kept, but not
    // a locked one: sshd without PAM (Alpine's) refuses the keys of any account whose password starts with `!` (`!!`,
    // or `passwd -l`'s `!HASH`), which no password logs in to either, as with `*`
    const password = yield* shadowPassword(user)
    if (Option.match(password, { onNone: () => !existed, onSome: (p) => p.startsWith("!") || p === "" })) {
      yield* c.run("chpasswd", ["-e"], { stdin: `${user}:*\n` })
    }
    if (Either.isLeft(granted)) return yield* Effect.fail(new UnusableValue({ reason: granted.left.message }))
  })

/**
 * CLOUD_USER (or the user user-data names instead), with the account options
 * user-data gives it. Options that `adduser` refuses (a uid in use...) never
 * keep the user from existing: it is then made with the defaults, and still
 * without wheel when user-data gives it its own rights; userdata_users, the
 * user-data's action for its users, fails for it.
 */
export const createDefaultUser = Effect.gen(function* () {
  yield* removeStaleAccountEdits("create_default_user")
  const ctx = yield* PhaseContext
  const user = yield* Ref.get(ctx.cloudUser)
  const { wheel, ...account } = yield* Ref.get(ctx.cloudUserAccount)
  const rights: AccountOptions = wheel === false ? { wheel } : {}
  const withDefaults = createUser(user, rights)
  if (Object.keys(account).length === 0) return yield* withDefaults
  const madeWithout = (reason: string) =>
    Effect.all([warn(`create_default_user: ${reason}; made without the account options user-data asks`), Ref.set(ctx.cloudUserAccountRefused, reason), withDefaults], { discard: true })
  // an account this boot made without them (refused, in a run killed after) is no image's own: the refusal stands
  const found = yield* lookupAccount(user)
  const missed = Option.isSome(found) && (yield* madeThisBoot(user)) ? unapplied(found.value, account) : []
  if (missed.length > 0) return yield* madeWithout(`user-data's ${missed.join(", ")} not applied`)
  // (the account made, a grant that could not be written fails the action alone: the options were applied)
  yield* createUser(user, { ...account, ...rights }).pipe(
    Effect.catchAll((e) => (e._tag === "UnusableValue" ? Effect.fail(e) : madeWithout(e.message)))
  )
})

/** the value sshd takes for a keyword of the image's sshd_config (or a drop-in it includes); undefined where none sets it, or it cannot be read */
const sshdSetting = Effect.gen(function* () {
  const fs = yield* RootFs
  const main = yield* fs.readTextIfExists(fs.at(SSHD_CONFIG))
  const dir = fs.at(SSHD_DROP_INS)
  const names = Option.isSome(main) && (yield* fs.isDirectory(dir)) ? dropInsRead(yield* fs.readDirectory(dir)) : []
  const dropIns = yield* Effect.forEach(names, (name) =>
    fs.readTextIfExists(`${dir}/${name}`).pipe(
      Effect.map(Option.getOrElse(() => "")),
      Effect.orElseSucceed(() => "")
    )
  )
  return (keyword: string) => (Option.isSome(main) ? firstValue(main.value, dropIns, keyword) : undefined)
}).pipe(Effect.orElseSucceed(() => (_: string): string | undefined => undefined))

/**
 * Said when sshd would refuse the keys just written: it reads its keys
 * elsewhere (`AuthorizedKeysFile`, as the image's sshd_config or a drop-in it
 * includes sets it), takes none (`PubkeyAuthentication no`; root's with
 * `PermitRootLogin no`), or, with `StrictModes` (sshd's default), the home is one
 * group or others may write, or is owned by neither the user nor root (the
 * home is the image's or user-data's: it is left as it is).
 */
const sayKeysRefused = (account: Account, action: string) =>
  Effect.gen(function* () {
    const setting = yield* sshdSetting
    // a yes/no or a choice: its first word, as sshd reads it (`"no"`, `no # lax`), in any case
    const choice = (keyword: string) => sshdWords(setting(keyword) ?? "")[0]?.toLowerCase()
    const value = setting("AuthorizedKeysFile")
    if (value !== undefined && !readsHomeKeys(value, account)) {
      yield* warn(`${action}: sshd reads the keys of AuthorizedKeysFile ${printable(value)}, not ${printable(account.home)}/.ssh/authorized_keys: the keys written there log no one in as ${account.name}`)
    }
    if (choice("PubkeyAuthentication") === "no") yield* warn(`${action}: sshd's PubkeyAuthentication is no: the keys written log no one in as ${account.name}`)
    // root's keys: refused with `no`, and but for those with a command= option with `forced-commands-only`
    const rootLogin = choice("PermitRootLogin")
    if (account.uid === 0 && (rootLogin === "no" || rootLogin === "forced-commands-only")) {
      yield* warn(`${action}: sshd's PermitRootLogin is ${rootLogin}: the keys written log no one in as ${account.name}${rootLogin === "no" ? "" : " but those with a command= option"}`)
    }
    if (choice("StrictModes") === "no") return
    const fs = yield* RootFs
    const home = yield* fs.ownership(fs.at(account.home))
    if (Option.isNone(home)) return
    // without root rights (a simulation) nothing is owned by the account
    const owner = process.getuid?.() === 0 && home.value.uid !== 0 && home.value.uid !== account.uid ? `is owned by uid ${home.value.uid}, neither ${account.name} nor root` : undefined
    const why = (home.value.mode & 0o022) !== 0 ? `may be written by group or others (mode ${(home.value.mode & 0o7777).toString(8).padStart(4, "0")})` : owner
    if (why !== undefined) yield* warn(`${action}: the home ${printable(account.home)} ${why}: sshd (StrictModes) refuses ${account.name}'s keys`)
  }).pipe(Effect.catchAll(() => Effect.void))

export interface KeyOptions {
  /** keep what is there */
  readonly append: boolean
  /** the keys come from the user's own user-data, so options in front of a key are kept (and a line that is no key was named when it was read) */
  readonly fromUserData: boolean
  /** names the action in the warning about dropped lines */
  readonly action: string
}

/**
 * Writes keys to the user's `~/.ssh/authorized_keys` (700/600, owned by the
 * user). Only OpenSSH public keys go in, one a line; anything else is
 * dropped with a warning that never quotes it (user-data's, by the reading of
 * it). A link in place of `~/.ssh` or of the file is refused.
 */
export const installKeys = (user: string, entries: ReadonlyArray<string>, options: KeyOptions) =>
  Effect.gen(function* () {
    const account = yield* lookupAccount(user)
    if (Option.isNone(account)) return yield* Effect.fail(new ActionFailed({ reason: `failed to find user ${user}` }))
    const read = authorizedKeys(entries, { allowOptions: options.fromUserData })
    // the cloud's keys sorted as written, as `imds @ssh-keys` prints them (a key's blanks made one may sort elsewhere); the user's in their order
    const keys = options.fromUserData ? read.keys : sortedUnique(read.keys)
    const dropped = read.dropped
    // user-data's own lines that are no key were each named, with their place, when it was read (save_userdata, as
    // `tiny-cloud schema` names them): not said again here
    if (dropped > 0 && !options.fromUserData) {
      const what = dropped === 1 ? "line that is not an OpenSSH public key, or has options in front of it" : "lines that are not OpenSSH public keys, or have options in front of them"
      yield* warn(`${options.action}: ${dropped} ${what} dropped`)
    }
    // nothing left to install: the keys there are kept, as when the cloud has none
    if (keys.length === 0 && !options.append) {
      yield* info(`${options.action}: no ssh key found`)
      return
    }
    const fs = yield* RootFs
    const home = fs.at(account.value.home)
    const dir = fs.at(`${account.value.home}/.ssh`)
    const file = `${dir}/authorized_keys`
    // a home the account lacks is made as adduser makes it: the user's, others may enter (and so may they its parents)
    if (!(yield* fs.exists(home))) {
      yield* fs.makeDirectory(home, { mode: 0o755, noFollow: true })
      yield* ownBy(home, account.value)
    }
    // a directory, or the file below, already as it would be made (an operator's, made immutable with the keys: nothing
    // to refuse) is left as it is: its owner is checked only where this process can set one (root); a file with other names
    // (a hard link left in an image: root's authorized_keys another name of it) is replaced, as before, so that no edit of
    // the user's reaches the other
    const owner = process.getuid?.() === 0 ? { uid: account.value.uid, gid: account.value.gid } : undefined
    const made = (path: string, mode: number, oneName = false) =>
      Effect.map(
        fs.ownership(path),
        Option.exists((o) => o.mode === mode && (owner === undefined || (o.uid === owner.uid && o.gid === owner.gid)) && (!oneName || o.links === 1))
      ).pipe(Effect.orElseSucceed(() => false))
    yield* fs.makeDirectory(dir, { mode: 0o700, noFollow: true })
    if (!(yield* made(dir, 0o700))) {
      yield* fs.chmod(dir, 0o700)
      yield* ownBy(dir, account.value)
    }
    // the file's own bytes are kept as they are (a comment not in UTF-8, a byte-order mark), the keys added after them; but
    // not those of a file with other names that is not the user's: a hard link the user made to /etc/shadow (where
    // fs.protected_hardlinks is 0) would give them its lines, in the file made theirs
    const foreign = options.append && Option.exists(yield* Effect.orElseSucceed(fs.ownership(file), () => Option.none()), (o) => (o.links ?? 1) > 1 && o.uid !== account.value.uid)
    if (foreign) yield* warn(`${options.action}: ${account.value.home}/.ssh/authorized_keys has other names and is not ${user}'s: its lines are not kept`)
    const existing = options.append && !foreign ? Option.getOrElse(yield* fs.readFileIfExists(file), () => new Uint8Array(0)) : new Uint8Array(0)
    // the keys there as sshd reads them: a line with a CR (a file made on Windows) or other blanks is the same key, not one to add
    // again; a key after a CR alone, or after a no-break space or a byte-order mark, is none sshd grants, and is added
    const present = new Set(grantedKeys(new TextDecoder("utf-8", { ignoreBOM: true }).decode(existing)))
    const added = keys.filter((k) => !present.has(k))
    const sep = existing.length === 0 || existing[existing.length - 1] === 0x0a ? "" : "\n"
    const wanted = Buffer.concat([existing, Buffer.from(`${sep}${added.map((k) => `${k}\n`).join("")}`)])
    // (the file as read above where the keys are appended to it: not read twice)
    const there = options.append ? Option.some(existing) : yield* Effect.orElseSucceed(fs.readFileIfExists(file), () => Option.none())
    const same = Option.exists(there, (bytes) => wanted.equals(bytes)) && !(yield* fs.isSymlink(file)) && (yield* made(file, 0o600, true))
    if (!same) yield* fs.writeAtomic(file, wanted, { mode: 0o600, noFollow: true, ...(owner ?? {}) })
    yield* sayKeysRefused(account.value, options.action)
  })

export const setSshKeys = Effect.gen(function* () {
  // the cloud user of this run: user-data may have named another than CLOUD_USER
  const user = yield* currentUser
  // a key list that cannot be used (past IMDS_MAX_KEYS or its size limit) fails this action alone: user-data's own keys and report_ready still come
  // what the cloud offers for logging in that is not set up here is said beside (read at the same time: no wait of its own)
  const [keys] = yield* Effect.all([Effect.flatMap(Metadata, (m) => m.sshKeysFor(user)).pipe(Effect.mapError(unusableAnswer)), Effect.flatMap(Metadata, (m) => m.sayLoginsNotSetUp(user))], {
    concurrency: 2
  })
  if (keys.length === 0) {
    yield* info("set_ssh_keys: no ssh key found")
    return
  }
  // a home, ~/.ssh or authorized_keys that refuses them (made immutable to pin the keys, a read-only /home) fails this
  // action alone too: what comes after touches none of them (user-data's ssh_pwauth, report_ready) and still comes
  yield* installKeys(user, keys, { append: false, fromUserData: false, action: "set_ssh_keys" }).pipe(
    Effect.catchTag("FsError", (e) => Effect.fail(new UnusableValue({ reason: e.message })))
  )
})
