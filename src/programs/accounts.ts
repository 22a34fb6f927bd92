import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { textOf } from "../domain/text.js"
import { Commands } from "../services/Commands.js"
import { RootFs } from "../services/RootFs.js"

export interface Account {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
  readonly gecos: string
  readonly shell: string
}

const parsePasswd = (text: string, name: string): Option.Option<Account> => {
  for (const line of text.split("\n")) {
    const f = line.split(":")
    if (f[0] === name && f.length >= 7) return Option.some({ name, uid: Number(f[2]), gid: Number(f[3]), gecos: f[4]!, home: f[5]!, shell: f[6]! })
  }
  return Option.none()
}

/** the account from `$ROOT/etc/passwd`, else, when the instance is this machine (no ROOT), from `getent passwd` (NSS) */
export const lookupAccount = (name: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const passwd = yield* fs.readTextIfExists(fs.at("/etc/passwd")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    const local = Option.flatMap(passwd, (t) => parsePasswd(t, name))
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
  const text = Option.getOrElse(yield* fs.readTextIfExists(fs.at("/etc/group")).pipe(Effect.orElseSucceed(() => Option.none<string>())), () => "")
  return new Map(
    text
      .split("\n")
      .map((l) => l.split(":"))
      .filter((f) => f.length >= 3 && f[0] !== "")
      .map((f) => [f[0]!, (f[3] ?? "").split(",").filter((m) => m !== "")] as const)
  )
})

/** the user's password field in `$ROOT/etc/shadow`; None without a shadow file or entry */
export const shadowPassword = (name: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const text = yield* fs.readTextIfExists(fs.at("/etc/shadow")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    return Option.flatMap(text, (t) => Option.fromNullable(t.split("\n").map((l) => l.split(":")).find((f) => f[0] === name && f.length >= 2)?.[1]))
  })
