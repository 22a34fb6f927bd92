/** Users and how they log in: the default user, `users`, `ssh_authorized_keys` and `ssh_pwauth`. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { err, warn } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { lookupAccount } from "../../accounts.js"
import { PhaseContext } from "../../action.js"
import { currentUser, installKeys } from "../../actions/user.js"
import { loadUserConfig } from "../load.js"
import type { UserSpec } from "../../../domain/userdata/model.js"
import { system } from "./common.js"

const groupsFile = Effect.gen(function* () {
  const fs = yield* RootFs
  const text = Option.getOrElse(yield* fs.readTextIfExists(fs.at("/etc/group")), () => "")
  return new Map(
    text
      .split("\n")
      .map((l) => l.split(":"))
      .filter((f) => f.length >= 3 && f[0] !== "")
      .map((f) => [f[0]!, (f[3] ?? "").split(",").filter((m) => m !== "")] as const)
  )
})

/** a further user: own group, home, shell, `*` password (no password login, keys work) */
const createUser = (user: UserSpec) =>
  Effect.gen(function* () {
    if (Option.isSome(yield* lookupAccount(user.name))) return
    yield* system("addgroup", [user.name], "addgroup")
    yield* system("adduser", ["-h", `/home/${user.name}`, "-s", user.shell ?? "/bin/sh", "-G", user.name, "-D", user.name], "adduser")
    yield* system("chpasswd", ["-e"], "chpasswd", { stdin: `${user.name}:*\n` })
  })

/** extra groups (created when missing) and sudo rules */
const userGroupsAndSudo = (user: UserSpec) =>
  Effect.gen(function* () {
    const groups = yield* groupsFile
    for (const group of user.groups) {
      if (!groups.has(group)) yield* system("addgroup", [group], "addgroup")
      if (!(groups.get(group) ?? []).includes(user.name)) yield* system("addgroup", [user.name, group], "addgroup")
    }
    if (user.sudo === undefined || user.sudo === false || user.sudo.length === 0) return
    const rules = user.sudo.filter((r) => !/[\r\n]/.test(r) && r.trim() !== "")
    if (rules.length < user.sudo.length) yield* err("userdata_users: a sudo rule spanning lines was skipped")
    const fs = yield* RootFs
    yield* fs.addLinesOnce(fs.at("/etc/sudoers.d/90-tiny-cloud-users"), rules.map((r) => `${user.name} ${r.trim()}`), { mode: 0o440 })
  })

/** `PasswordAuthentication` set once, before any `Match` block (sshd takes the first value) */
export const withPasswordAuthentication = (config: string, allow: boolean): string => {
  const line = `PasswordAuthentication ${allow ? "yes" : "no"}`
  const lines = config.split("\n")
  const trailing = lines.length > 0 && lines[lines.length - 1] === ""
  if (trailing) lines.pop()
  const match = lines.findIndex((l) => /^\s*Match\s/i.test(l))
  const end = match < 0 ? lines.length : match
  const at = lines.findIndex((l, i) => i < end && /^\s*PasswordAuthentication\s/i.test(l))
  if (at >= 0) lines[at] = line
  else lines.splice(end, 0, line)
  return `${lines.join("\n")}\n`
}

export const userdataUser = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_user")
  if (config.defaultUser === undefined) return
  const ctx = yield* PhaseContext
  yield* Ref.set(ctx.cloudUser, config.defaultUser.name)
})

/** cloud-config `users`: the default user's groups and sudo rules; further users created with theirs and their keys */
export const userdataUsers = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_users")
  if (config.defaultUser !== undefined && (yield* Effect.map(currentUser, (u) => u === config.defaultUser!.name))) {
    yield* userGroupsAndSudo(config.defaultUser)
  }
  for (const user of config.users) {
    yield* createUser(user)
    yield* userGroupsAndSudo(user)
    if (user.sshAuthorizedKeys.length > 0) yield* installKeys(user.name, user.sshAuthorizedKeys, { append: true, fromUserData: true, action: "userdata_users" })
  }
})

export const sshAuthorizedKeys = Effect.gen(function* () {
  const config = yield* loadUserConfig("ssh_authorized_keys")
  const keys = [...config.sshAuthorizedKeys, ...(config.defaultUser?.sshAuthorizedKeys ?? [])]
  if (keys.length === 0) return
  yield* installKeys(yield* currentUser, keys, { append: true, fromUserData: true, action: "ssh_authorized_keys" })
})

/** cloud-config `ssh_pwauth`: `PasswordAuthentication yes|no` in sshd_config */
export const userdataSshPwauth = Effect.gen(function* () {
  const { sshPwauth } = yield* loadUserConfig("userdata_ssh_pwauth")
  if (sshPwauth === undefined) return
  const fs = yield* RootFs
  const file = fs.at("/etc/ssh/sshd_config")
  const text = yield* fs.readTextIfExists(file)
  if (Option.isNone(text)) {
    yield* warn("userdata_ssh_pwauth: no /etc/ssh/sshd_config; left alone")
    return
  }
  const updated = withPasswordAuthentication(text.value, sshPwauth)
  if (updated !== text.value) yield* fs.writeAtomic(file, updated, { mode: 0o644 })
})
