import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { textOf } from "../domain/text.js"
import { Commands } from "../services/Commands.js"
import { warn } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"

export interface Account {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
  readonly gecos: string
  readonly shell: string
}

const accountOf = (line: string, name: string): Option.Option<Account> => {
  const f = line.split(":")
  return f[0] === name && f.length >= 7 ? Option.some({ name, uid: Number(f[2]), gid: Number(f[3]), gecos: f[4]!, home: f[5]!, shell: f[6]! }) : Option.none()
}

const parsePasswd = (text: string, name: string): Option.Option<Account> => {
  for (const line of text.split("\n")) {
    const account = accountOf(line, name)
    if (Option.isSome(account)) return account
  }
  return Option.none()
}

/**
 * The first line of the image's file `path` (/etc/passwd, /etc/shadow) that `pick` takes, read a line at a time: an
 * image's file of many accounts, past what a whole read takes (READ_MAX_BYTES), still has the cloud user's; None
 * when there is none, or the file cannot be read
 */
const findLine = <A>(path: string, pick: (line: string) => Option.Option<A>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    let found = Option.none<A>()
    yield* fs
      .scanLines(fs.at(path), (line) => {
        found = pick(line)
        return Option.isSome(found)
      })
      .pipe(Effect.orElseSucceed(() => false))
    return found
  })

/** the account from `$ROOT/etc/passwd`, else, when the instance is this machine (no ROOT), from `getent passwd` (NSS) */
export const lookupAccount = (name: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const local = yield* findLine("/etc/passwd", (line) => accountOf(line, name))
    // under a ROOT, getent would answer with this machine's accounts, not the instance's
    if (Option.isSome(local) || fs.root !== "") return local
    const commands = yield* Commands
    if (!(yield* commands.has("getent"))) return Option.none<Account>()
    const r = yield* commands.run("getent", ["passwd", name], { allowFailure: true }).pipe(Effect.option)
    return Option.flatMap(
      Option.filter(r, (x) => x.exitCode === 0),
      (x) => parsePasswd(textOf(x.stdout), name)
    )
  })

/** sets ownership; without root rights (a simulation) it is left as is */
export const ownBy = (path: string, account: Account) =>
  Effect.flatMap(RootFs, (fs) =>
    fs.chown(path, account.uid, account.gid).pipe(
      Effect.catchAll((e) => (process.getuid?.() !== 0 ? Effect.void : Effect.fail(e)))
    )
  )

/** `$ROOT/etc/group`: each group's members, by name */
export const groups = Effect.gen(function* () {
  const fs = yield* RootFs
  const table = new Map<string, Array<string>>()
  // a line at a time, as the accounts are read
  yield* fs
    .scanLines(fs.at("/etc/group"), (line) => {
      const f = line.split(":")
      if (f.length >= 3 && f[0] !== "") table.set(f[0]!, (f[3] ?? "").split(",").filter((m) => m !== ""))
    })
    .pipe(Effect.orElseSucceed(() => false))
  return table
})

/** the groups `account` is in, from `$ROOT/etc/group`: those that list it, and its primary group (its gid), which none need list */
export const groupsOf = (account: Account) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const found = new Set<string>()
    yield* fs
      .scanLines(fs.at("/etc/group"), (line) => {
        const f = line.split(":")
        if (f.length < 3 || f[0] === "") return
        if ((f[2] !== "" && Number(f[2]) === account.gid) || (f[3] ?? "").split(",").includes(account.name)) found.add(f[0]!)
      })
      .pipe(Effect.orElseSucceed(() => false))
    return found
  })

/** the user's password field in `$ROOT/etc/shadow`; None without a shadow file or entry */
export const shadowPassword = (name: string) =>
  findLine("/etc/shadow", (line) => {
    const f = line.split(":")
    return f[0] === name && f.length >= 2 ? Option.some(f[1]!) : Option.none()
  })

/** the files busybox's adduser, addgroup and chpasswd write an account file's new version to, beside it, before renaming it into place */
const BUSYBOX_NEW_VERSIONS = ["/etc/passwd+", "/etc/group+", "/etc/shadow+", "/etc/gshadow+"] as const

/**
 * A new version that busybox left when it was killed part-way through an
 * edit (a power cut, a killed first boot) is removed: while it is there,
 * every adduser, addgroup and chpasswd waits 3 s for it and fails (`can't
 * create '/etc/passwd+': File exists`), and the default user would never be
 * made. An edit holds it for a moment only, and the first boot's own account
 * steps, one at a time, are the only ones that run before sshd: one found
 * before they start is no edit's in progress.
 */
export const removeStaleAccountEdits = (action: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    for (const path of BUSYBOX_NEW_VERSIONS) {
      const at = fs.at(path)
      if (!(yield* fs.exists(at)) && !(yield* fs.isSymlink(at))) continue
      yield* fs.remove(at).pipe(
        Effect.zipRight(warn(`${action}: removed ${path}, left by an account edit that was killed part-way (busybox's adduser, addgroup and chpasswd refuse to run while it is there)`)),
        Effect.catchAll((e) => warn(`${action}: ${path}, left by an account edit that was killed part-way, cannot be removed (${e.message}): adduser, addgroup and chpasswd will fail`))
      )
    }
  })
