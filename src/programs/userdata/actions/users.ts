/**
 * Users and how they log in: the default user, `groups`, `users`,
 * `ssh_authorized_keys` and `ssh_pwauth`. Passwords go to `chpasswd` on its
 * standard input only: never on a command line, never in a log.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { USERS_JOURNAL } from "../../../domain/append-journal.js"
import { dropInsBefore, PWAUTH_DROP_IN, pwauthPlace, setsPasswordAuthentication, SSHD_CONFIG, SSHD_DROP_INS, withPasswordAuthentication } from "../../../domain/sshd-config.js"
import { Config } from "../../../services/Config.js"
import { err, type Log, warn } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { groupsOf, groups as readGroups, lookupAccount, removeStaleAccountEdits, shadowPassword } from "../../accounts.js"
import { PhaseContext } from "../../action.js"
import { addAccount, currentUser, installKeys, madeThisBoot, unapplied } from "../../actions/user.js"
import { loadUserConfig } from "../load.js"
import type { AccountOptions, GroupSpec, UserSettings, UserSpec } from "../../../domain/userdata/model.js"
import { doasRuleNamesUser, doasUnreadable } from "../../../domain/userdata/doas.js"
import { sudoersUser } from "../../../domain/userdata/sudoers.js"
import { fail, journalledNames, journalLine, readJournalAfresh, system } from "./common.js"

/** what is set on a password: `passwd` only on an account made now; an account made now gets `*` unless it gets a password */
interface PasswordRule {
  readonly passwdApplies: boolean
  readonly created: boolean
}

/**
 * With `lock_passwd: false`, the password: a hash to `chpasswd -e`, clear
 * text to `chpasswd`, which hashes it. Otherwise `*` (locked, cloud-init's
 * default, and any new account): no password login, and keys still work
 * (`adduser -D`'s `!`, or `passwd -l`, would lock sshd's key logins out too,
 * without PAM), so a locked password given in user-data is not set.
 */
const setPassword = (name: string, settings: UserSettings, rule: PasswordRule) =>
  Effect.gen(function* () {
    const password = settings.password
    const applies = password !== undefined && (rule.passwdApplies || !password.onlyNewUser)
    if (applies && !settings.lockPasswd) {
      yield* system("chpasswd", password.kind === "hash" ? ["-e"] : [], "chpasswd", { stdin: `${name}:${password.value}\n` })
      // a hash that is a locked one (`!`, a shadow file's `!$6$...`): sshd without PAM refuses the account's keys too
      if (password.kind === "hash" && password.value.startsWith("!")) {
        yield* warn(`userdata_users: ${name}: its password is set to a locked one (!), with which sshd without PAM (Alpine's) refuses its keys too`)
      }
      return
    }
    // lock_passwd: false and no password for an account made now: nothing to unlock, which cloud-init warns of too ('Not
    // unlocking password for user NAME'), leaving the account locked; an empty password is none, as the reading takes it
    if (password === undefined && !settings.lockPasswd && rule.passwdApplies) {
      yield* warn(`userdata_users: ${name}: lock_passwd is false but no password is given (passwd, hashed_passwd or plain_text_passwd, not empty): there is none to unlock; the password stays locked (*), keys work`)
    }
    if (rule.created || applies) yield* system("chpasswd", ["-e"], "chpasswd", { stdin: `${name}:*\n` })
  })

/**
 * `/etc/doas.d/USER.conf`, when every rule names the user, as cloud-init
 * checks them. The reading checked the rules of a user named in user-data;
 * this checks the default user's too, whose name may be known only now.
 */
const writeDoasRules = (name: string, rules: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const unreadable = rules.map(doasUnreadable).find((why) => why !== undefined)
    if (unreadable !== undefined) {
      yield* warn(`userdata_users: a doas rule of the default user ${unreadable}, which doas cannot read and which would stop doas for every user; none of its doas rules written`)
      return
    }
    if (!rules.every((rule) => doasRuleNamesUser(rule, name))) {
      yield* warn("userdata_users: a doas rule of the default user does not name that user; none of its doas rules written, as cloud-init does")
      return
    }
    const fs = yield* RootFs
    yield* fs.makeDirectory(fs.at("/etc/doas.d"))
    yield* fs.writeAtomic(fs.at(`/etc/doas.d/${name}.conf`), rules.map((r) => `${r}\n`).join(""), { mode: 0o600 })
  })

/**
 * /etc/group's groups and their members, as read and then as this step
 * changes them: a group named twice (`[adm, adm]`, two `docker:` entries, a
 * list merged from two parts) is made once, as busybox's `addgroup GROUP`
 * refuses a group that is there already.
 */
const groupTable = Effect.map(readGroups, (read) => new Map(Array.from(read, ([group, members]) => [group, new Set(members)] as const)))
type GroupTable = Effect.Effect.Success<typeof groupTable>

const makeGroup = (table: GroupTable, group: string) =>
  table.has(group) ? Effect.void : Effect.tap(system("addgroup", [group], "addgroup"), () => void table.set(group, new Set()))

const addMember = (table: GroupTable, user: string, group: string) =>
  table.get(group)?.has(user) ? Effect.void : Effect.tap(system("addgroup", [user, group], "addgroup"), () => void table.get(group)?.add(user))

/** a step of userdata_users: its failure is named with the user (or `groups`) it was for and keeps no other step from its work; true when it was done */
type Confine = <R>(name: string, step: Effect.Effect<void, { readonly message: string }, R>) => Effect.Effect<boolean, never, R | Log>

/**
 * groups (created when missing unless `create_groups: false`), password, sudo
 * and doas rules, each whatever the others do: a group that cannot be had
 * still leaves the account's `*` password, without which sshd refuses its keys
 */
const applySettings = (name: string, settings: UserSettings, rule: PasswordRule, confine: Confine) =>
  Effect.gen(function* () {
    yield* confine(name, addToGroups(name, settings))
    yield* confine(name, setPassword(name, settings, rule))
    yield* confine(name, writeRules(name, settings))
  })

const addToGroups = (name: string, settings: UserSettings) =>
  Effect.gen(function* () {
    const groups = yield* groupTable
    for (const group of settings.groups) {
      if (!groups.has(group) && !settings.createGroups) {
        yield* warn(`userdata_users: group ${group} does not exist and create_groups is false; ${name} not added to it`)
        continue
      }
      yield* makeGroup(groups, group)
      yield* addMember(groups, name, group)
    }
  })

const writeRules = (name: string, settings: UserSettings) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    if (settings.sudo.length > 0) {
      yield* fs.addLinesOnce(fs.at("/etc/sudoers.d/90-tiny-cloud-users"), settings.sudo.map((r) => `${sudoersUser(name)} ${r}`), { mode: 0o440 })
    }
    if (settings.doas.length > 0) yield* writeDoasRules(name, settings.doas)
  })

/**
 * cloud-config top-level `groups`: each created when missing, with the members
 * that exist. `users` comes after it, so a member that this first boot makes
 * there (`made`, the journal's) did not exist yet: a run killed after making
 * it and run again leaves it out too, as an undisturbed run does.
 */
const createGroups = (specs: ReadonlyArray<GroupSpec>, made: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const groups = yield* groupTable
    for (const group of specs) {
      yield* makeGroup(groups, group.name)
      for (const member of group.members) {
        if (groups.get(group.name)?.has(member)) continue
        if (made.has(member) || Option.isNone(yield* lookupAccount(member))) {
          yield* warn(`userdata_users: ${member} does not exist; not added to group ${group.name}`)
          continue
        }
        yield* addMember(groups, member, group.name)
      }
    }
  })

/** `packages` installs `name` (`bash`, `bash=5.2.37-r0`) */
const installs = (packages: ReadonlyArray<string>, name: string) => packages.some((p) => p.split(/[=<>~]/)[0] === name)

/** the login shells an image may lack, which a user-data written for other systems asks for (`shell: /bin/bash`) */
const LOGIN_SHELLS: ReadonlySet<string> = new Set(["bash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "dash"])

/**
 * The account as asked, but with /bin/sh for a login shell that is not
 * installed and that `packages` does not install: sshd refuses a user whose
 * shell does not exist, keys or not. (cloud-init makes the account as asked.)
 */
const withLoginShell = (action: string, user: string, account: AccountOptions, packages: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    if (!(yield* lacksLoginShell(account, packages))) return account
    yield* warn(`${action}: ${user}: shell ${account.shell} is not installed and not in packages; /bin/sh is used, so that ${user} can log in`)
    return { ...account, shell: "/bin/sh" }
  })

/** the account asks for a login shell that is not installed and that `packages` does not install */
const lacksLoginShell = (account: AccountOptions, packages: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const shell = account.shell
    const name = shell?.slice(shell.lastIndexOf("/") + 1)
    if (shell === undefined || name === undefined || account.system === true || !LOGIN_SHELLS.has(name)) return false
    const fs = yield* RootFs
    return !((yield* fs.exists(fs.at(shell))) || installs(packages, name))
  })

/**
 * The default user is the one the cloud's keys log in as: made as a system
 * account (`users: [{name: svc, system: true}]`, whose first entry takes
 * CLOUD_USER's place) without a shell asked for, it gets /bin/sh, where
 * Alpine's adduser gives it /sbin/nologin (upstream busybox's, /bin/false),
 * which would end every login at once.
 */
const withDefaultUserLogin = (user: string, account: AccountOptions) =>
  Effect.gen(function* () {
    if (account.system !== true || account.shell !== undefined || Option.isSome(yield* lookupAccount(user))) return account
    yield* warn(`userdata_user: ${user}: a system account gets /sbin/nologin from Alpine's adduser; /bin/sh is used, so that ${user}, the default user, can log in with the cloud's keys`)
    return { ...account, shell: "/bin/sh" }
  })

/**
 * The default user user-data names replaces CLOUD_USER for this run; its
 * account options are for create_default_user. So are those of a `users`
 * entry that names it (`users: [default, {name: alpine, shell: ...}]`), where
 * the default user's own entry does not say them: cloud-init merges the two
 * before it makes the account, and the account is made here, before
 * userdata_users would find it there.
 */
export const userdataUser = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_user")
  const ctx = yield* PhaseContext
  if (config.defaultUser?.name !== undefined) yield* Ref.set(ctx.cloudUser, config.defaultUser.name)
  const user = yield* Ref.get(ctx.cloudUser)
  const { wheel: _rights, ...listed } = config.users.find((u) => u.name === user)?.account ?? {}
  if (config.defaultUser === undefined && Object.keys(listed).length === 0) return
  const asked = { ...listed, ...config.defaultUser?.account }
  // an account that is there keeps its shell (create_default_user names what it does not take); one this boot made
  // before a kill, with the /bin/sh given here for a shell not installed, has nothing to name (an image's /bin/sh has)
  const found = yield* lookupAccount(user)
  const account = Option.isNone(found)
    ? yield* withLoginShell("userdata_user", user, asked, config.packages)
    : found.value.shell === "/bin/sh" && (yield* lacksLoginShell(asked, config.packages)) && (yield* madeThisBoot(user))
      ? { ...asked, shell: found.value.shell }
      : asked
  yield* Ref.set(ctx.cloudUserAccount, yield* withDefaultUserLogin(user, account))
})

/**
 * A further user's sudo rules where sudo is not installed nor in `packages`
 * (Alpine's cloud images have doas): they are written, as cloud-init writes
 * them, but give the user nothing, which is said. A user with doas rules
 * of its own, or in `wheel`, has root through doas, as the default user has.
 */
const sudoWithoutSudo = (user: UserSpec, packages: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    if (user.sudo.length === 0 || user.doas.length > 0 || user.groups.includes("wheel") || installs(packages, "sudo")) return
    const fs = yield* RootFs
    if (yield* fs.exists(fs.at("/usr/bin/sudo"))) return
    yield* warn(`userdata_users: ${user.name}: sudo is not installed and not in packages; its sudo rules give it nothing (a doas rule or the group wheel would)`)
  })

/**
 * What is set on the default user's password: `passwd` only when the account
 * is this first boot's (create_default_user's, or userdata_users' own), as
 * cloud-init sets it only on an account it creates; an image's account keeps
 * its own, which is said. (One that is missing is left to the steps that fail for it.)
 */
const defaultUserPassword = (name: string, settings: UserSettings, made: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const applies = made.has(name) || Option.isNone(yield* lookupAccount(name)) || (yield* madeThisBoot(name))
    if (!applies && settings.password?.onlyNewUser === true && !settings.lockPasswd) {
      yield* warn(`userdata_users: ${name} exists already and keeps its own account: user-data's passwd not applied`)
    }
    // lock_passwd (true by default), with a passwd or none, which cloud-init applies to the account it keeps (`passwd -l`):
    // the password that still logs in is said, as of a further user (the reading said a passwd stays locked)
    if (!applies && settings.lockPasswd && (settings.password === undefined || settings.password.onlyNewUser === true)) {
      const usable = Option.exists(yield* shadowPassword(name), (p) => p !== "" && !p.startsWith("!") && !p.startsWith("*"))
      if (usable) yield* warn(`userdata_users: ${name} exists already and keeps its own account: user-data's lock_passwd not applied`)
    }
    return { passwdApplies: applies, created: false }
  })

/** one user of `users`: made when missing (journalled), then its settings and keys, each whatever the others do */
const makeUser = (user: UserSpec, cloudUser: string, packages: ReadonlyArray<string>, made: ReadonlySet<string>, journal: string, confine: Confine) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const found = yield* lookupAccount(user.name)
    const missing = Option.isNone(found)
    // the default user listed by its name too (`default` or `user` beside it): more settings of the default user, as cloud-init
    // merges the two; its keys are added after the cloud's by ssh_authorized_keys, as set_ssh_keys replaces the file. When
    // create_default_user made no account (skipped), this entry makes it, as for any user, and (journalled) finishes it as
    // any user's when a run killed after adduser is run again
    if (user.name === cloudUser && !missing && !made.has(user.name)) {
      yield* applySettings(user.name, user, yield* defaultUserPassword(user.name, user, made), confine)
      return
    }
    // an account that was there before this boot (root, an image's) keeps its home, shell, uid, comment, groups and password (`passwd`
    // sets only a new account's; a locked one is said at reading), as cloud-init keeps them: said, as create_default_user says it of the default user
    // and a password it has that lock_passwd (true unless given false) would lock, where cloud-init locks it (`passwd -l`)
    const image = Option.filter(found, () => !made.has(user.name))
    // (cloud-init adds only an account it creates to its groups, by useradd --groups: an image's keeps those it is in)
    const isIn = Option.isSome(image) ? yield* groupsOf(image.value) : new Set<string>()
    const notJoined = Option.isSome(image) ? user.groups.filter((g) => !isIn.has(g)) : []
    if (Option.isSome(image)) {
      const usable = Option.exists(yield* shadowPassword(user.name), (p) => p !== "" && !p.startsWith("!") && !p.startsWith("*"))
      const kept = [
        ...unapplied(image.value, user.account),
        ...(notJoined.length > 0 ? [`groups [${notJoined.join(", ")}]`] : []),
        ...(user.password?.onlyNewUser === true && !user.lockPasswd ? ["passwd"] : []),
        // (a `passwd` is not set on it either: only hashed_passwd and plain_text_passwd replace, and so lock, its password)
        ...(user.lockPasswd && (user.password === undefined || user.password.onlyNewUser) && usable ? ["lock_passwd"] : [])
      ]
      if (kept.length > 0) yield* warn(`userdata_users: ${user.name} exists already and keeps its own account: user-data's ${kept.join(", ")} not applied`)
    }
    if (missing) {
      // the record only tells a rerun after a crash that this boot made it: one that cannot be kept (a full or read-only
      // state directory, a directory in its place) is said, and the user is made with its keys all the same
      yield* fs
        .addLinesOnce(journal, [yield* journalLine(user.name)], { mode: 0o600, noFollow: true })
        .pipe(Effect.catchAll((e) => warn(`userdata_users: ${user.name}: cannot record that this first boot made it: ${e.message}`)))
      if (!(yield* confine(user.name, Effect.flatMap(withLoginShell("userdata_users", user.name, user.account, packages), (account) => addAccount(user.name, account))))) return
    }
    // an account this boot made whose password was never set (adduser's `!`) is still new: a run
    // killed between adduser and chpasswd sets the password when it runs again
    const created = missing || (made.has(user.name) && Option.match(yield* shadowPassword(user.name), { onNone: () => true, onSome: (p) => p === "!" || p === "" }))
    // (an image's account joins no group; its rights by group are those of the groups it is in)
    yield* applySettings(user.name, Option.isSome(image) ? { ...user, groups: [] } : user, { passwdApplies: created, created }, confine)
    yield* sudoWithoutSudo({ ...user, groups: user.groups.filter((g) => !notJoined.includes(g)) }, packages)
    if (user.sshAuthorizedKeys.length > 0) {
      yield* confine(user.name, installKeys(user.name, user.sshAuthorizedKeys, { append: true, fromUserData: true, action: "userdata_users" }))
      if (Option.isSome(image)) yield* sayLocked(user.name)
    }
  })

/**
 * An image's account given keys whose password is locked (`!`, `!!`,
 * `passwd -l`'s `!HASH`) keeps it, as an image's account keeps its password;
 * but sshd without PAM (Alpine's) refuses a locked account's keys too, which
 * is said: the keys written log no one in.
 */
const sayLocked = (name: string) =>
  Effect.gen(function* () {
    if (!Option.exists(yield* shadowPassword(name), (p) => p.startsWith("!"))) return
    yield* warn(`userdata_users: ${name} exists already with a locked password (!), which it keeps: sshd without PAM (Alpine's) refuses its keys`)
  })

/**
 * cloud-config `groups` and `users`: the default user's settings; further
 * users created with theirs and their keys. What fails (an adduser that
 * refuses a uid in use, the default user's account options that
 * create_default_user could not apply) is named with the user (or `groups`)
 * it was for, and the users after it are still made; the action fails at the end.
 */
export const userdataUsers = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_users")
  yield* removeStaleAccountEdits("userdata_users")
  const failed = new Set<string>()
  const confine: Confine = (name, step) =>
    step.pipe(
      Effect.as(true),
      Effect.catchAll((e) => {
        failed.add(name)
        return Effect.as(err(`userdata_users: ${name}: ${e.message}`), false)
      })
    )
  const journal = `${(yield* Config).varDir}/${USERS_JOURNAL}`
  // nothing recorded, or a journal too damaged to read: it starts again
  const made = yield* Effect.flatMap(readJournalAfresh(journal), journalledNames)
  yield* confine("groups", createGroups(config.groups, made))
  const cloudUser = yield* currentUser
  const refused = yield* Ref.get((yield* PhaseContext).cloudUserAccountRefused)
  if (refused !== undefined) yield* confine(cloudUser, fail(`${refused}; made without the account options user-data asks`))
  if (config.defaultUser !== undefined) yield* applySettings(cloudUser, config.defaultUser, yield* defaultUserPassword(cloudUser, config.defaultUser, made), confine)
  for (const user of config.users) yield* confine(user.name, makeUser(user, cloudUser, config.packages, made, journal, confine))
  if (failed.size > 0) return yield* fail(`${[...failed].join(", ")} not made as asked`)
})

export const sshAuthorizedKeys = Effect.gen(function* () {
  const config = yield* loadUserConfig("ssh_authorized_keys")
  const user = yield* currentUser
  const listed = config.users.filter((u) => u.name === user).flatMap((u) => u.sshAuthorizedKeys)
  const keys = [...config.sshAuthorizedKeys, ...(config.defaultUser?.sshAuthorizedKeys ?? []), ...listed]
  if (keys.length === 0) return
  yield* installKeys(user, keys, { append: true, fromUserData: true, action: "ssh_authorized_keys" })
})

/**
 * cloud-config `ssh_pwauth`: `PasswordAuthentication yes|no` where sshd reads
 * it first: in sshd_config, or, when sshd_config includes sshd_config.d
 * before it sets one (OpenSSH's and Alpine's stock file) and sshd_config.d is
 * no file, in a drop-in of its own, which comes before an image's `60-...` one. A drop-in read before it
 * that sets one still wins, and is named.
 */
export const userdataSshPwauth = Effect.gen(function* () {
  const { sshPwauth } = yield* loadUserConfig("userdata_ssh_pwauth")
  if (sshPwauth === undefined) return
  const fs = yield* RootFs
  const main = yield* fs.readTextIfExists(fs.at(SSHD_CONFIG))
  if (Option.isNone(main)) {
    yield* warn(`userdata_ssh_pwauth: no ${SSHD_CONFIG}; left alone`)
    return
  }
  // a sshd_config.d that is there but no directory (a file) gives the Include nothing to read: sshd_config's line is the one sshd takes
  const noDropIns = (yield* fs.exists(fs.at(SSHD_DROP_INS))) && !(yield* fs.isDirectory(fs.at(SSHD_DROP_INS)))
  if (noDropIns || pwauthPlace(main.value) === "main") return yield* setPasswordAuthentication(SSHD_CONFIG, main.value, sshPwauth)
  const dropIn = `${SSHD_DROP_INS}/${PWAUTH_DROP_IN}`
  yield* fs.makeDirectory(fs.at(SSHD_DROP_INS), { mode: 0o755 })
  const text = yield* fs.readTextIfExists(fs.at(dropIn))
  yield* setPasswordAuthentication(dropIn, Option.getOrElse(text, () => ""), sshPwauth)
  const earlier = yield* Effect.findFirst(dropInsBefore(yield* fs.readDirectory(fs.at(SSHD_DROP_INS)), PWAUTH_DROP_IN), (name) =>
    fs.readTextIfExists(fs.at(`${SSHD_DROP_INS}/${name}`)).pipe(
      Effect.map(Option.exists(setsPasswordAuthentication)),
      // one that cannot be read (a directory named *.conf) is sshd's to refuse; ours is written
      Effect.orElseSucceed(() => false)
    )
  )
  if (Option.isSome(earlier)) yield* warn(`userdata_ssh_pwauth: ${SSHD_DROP_INS}/${earlier.value} sets PasswordAuthentication before ${dropIn}; sshd takes its value`)
})

/** the file keeps its mode (a hardened image's 0600) and owner; a new drop-in is root's alone, as sshd_config may be */
const setPasswordAuthentication = (path: string, text: string, allow: boolean) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const updated = withPasswordAuthentication(text, allow)
    if (updated !== text) yield* fs.writeAtomic(fs.at(path), updated, { keep: true, mode: 0o600 })
  })
