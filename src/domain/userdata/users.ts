/**
 * cloud-config `user`, `users` and `groups`, in every form cloud-init
 * accepts: `users` as a list (of names, comma-separated names, lists of
 * names, maps), a comma-separated string, or a map by name; `default` for
 * the image's user; a user map without a name (or named `default`) configures the default user;
 * `-` in a user map's keys read as `_`.
 *
 * The default user: `user` (or a `default` entry) keeps or names it; without
 * either, the first named entry replaces CLOUD_USER, as Tiny Cloud always
 * did. An entry that cannot be read is skipped with its reason and never
 * makes another one the default user: CLOUD_USER is kept. A default user
 * whose entry gives its own `doas` rules, or `sudo` as none (null, false, "",
 * rules all skipped), has the rights it says, not wheel's.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { GroupMembers, UserMap, USER_KEYS } from "../../schema/cloud-config.js"
import { GroupName, Text, UserName } from "../../schema/fields.js"
import { truthOf } from "../truth.js"
import { keyEntries, type ReadContext } from "./common.js"
import { doasRuleNamesUser, doasUnreadable } from "./doas.js"
import { sudoRuleUnreadable } from "./sudoers.js"
import { defaultSettings, type DefaultUser, type GroupSpec, type Password, type UserSettings, type UserSpec } from "./model.js"
import { asMap, decodeEach, decodeOr, formatPath, issuesOf, type Key, type Notes, show } from "./notes.js"

type Entry =
  | { readonly kind: "default"; readonly path: ReadonlyArray<Key> }
  | { readonly kind: "name"; readonly name: string; readonly path: ReadonlyArray<Key> }
  /** a name that cannot be one: skipped, yet where it stands first, no later entry takes the default user's place */
  | { readonly kind: "badName"; readonly path: ReadonlyArray<Key> }
  | {
      readonly kind: "map"
      readonly map: Record<string, unknown>
      readonly path: ReadonlyArray<Key>
      /** a repeated user's entries merged into one: the entry each key (as written) came from, where it is not `path` */
      readonly from?: ReadonlyMap<string, ReadonlyArray<Key>>
    }

/**
 * a user map read: its name (none for the default user), what it asks, whether it gives its own rights (`sudo`, `doas`),
 * and the keys it gives (`lock_passwd`, `ssh_authorized_keys`...), which its settings otherwise hold at their defaults
 */
type UserRead = { readonly name?: string; readonly settings: UserSettings; readonly ownRights: boolean; readonly given?: ReadonlySet<string> }

/** what a read gives the default user: no wheel when the entry gives the user its own rights, even none */
const asDefaultUser = (read: UserRead): UserSettings =>
  read.ownRights ? { ...read.settings, account: { ...read.settings.account, wheel: false } } : read.settings

/** "bob, alice" → names; `default` is the image's user */
const namesIn = (text: string, path: ReadonlyArray<Key>, notes: Notes): Array<Entry> =>
  text
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "")
    .flatMap((name): Array<Entry> => {
      if (name === "default") return [{ kind: "default", path }]
      return decodeOr(UserName, name, path, notes) === undefined ? [{ kind: "badName", path }] : [{ kind: "name", name, path }]
    })

/** a user map; one named `default` is the default user's, as cloud-init reads it (as a map without a name is) */
const mapEntry = (map: Record<string, unknown>, path: ReadonlyArray<Key>): Entry => {
  if (map["name"] !== "default") return { kind: "map", map, path }
  const { name: _default, ...rest } = map
  return { kind: "map", map: rest, path }
}

const entriesOf = (value: unknown, path: ReadonlyArray<Key>, notes: Notes): Array<Entry> => {
  if (typeof value === "string") return namesIn(value, path, notes)
  if (Array.isArray(value)) {
    return value.flatMap((item: unknown, i): Array<Entry> => {
      const at = [...path, i]
      if (typeof item === "string") return namesIn(item, at, notes)
      if (Array.isArray(item)) return item.flatMap((name: unknown, j) => (typeof name === "string" ? namesIn(name, [...at, j], notes) : skipEntry([...at, j], name, notes)))
      const map = asMap(item)
      return map !== undefined ? [mapEntry(map, at)] : skipEntry(at, item, notes)
    })
  }
  const byName = asMap(value)
  if (byName !== undefined) {
    return Object.entries(byName).flatMap(([name, v]): Array<Entry> => {
      const at = [...path, name]
      const map = asMap(v)
      if (map !== undefined) return [mapEntry({ ...map, name }, at)]
      const wanted = truthOf(v)
      if (wanted === undefined) return skipEntry(at, v, notes)
      return wanted ? namesIn(name, at, notes) : []
    })
  }
  notes.skip({ path, message: `expected a list of users, got ${show(value)}` }, path)
  return []
}

const skipEntry = (path: ReadonlyArray<Key>, value: unknown, notes: Notes): Array<Entry> => {
  notes.skip({ path, message: `expected a user name or a user map, got ${show(value)}` }, path)
  return []
}

/**
 * The user map with `-` in its keys read as `_`, and where each key as read
 * was written: `place` takes a path inside the map to the key as written, in
 * the entry it came from (`from`, for a repeated user's merged entries).
 */
const normalised = (map: Record<string, unknown>, path: ReadonlyArray<Key>, from: ReadonlyMap<string, ReadonlyArray<Key>> = new Map()) => {
  const written = new Map<string, ReadonlyArray<Key>>()
  // a key `__proto__` is one like any other (named as not carried out), not the map's prototype
  const value: Record<string, unknown> = Object.create(null)
  for (const [k, v] of Object.entries(map)) {
    const key = k.replace(/-/g, "_").trim()
    written.set(key, [...(from.get(k) ?? path), k])
    value[key] = v
  }
  const place = (at: ReadonlyArray<Key>): ReadonlyArray<Key> => {
    const key = at[path.length]
    const to = typeof key === "string" ? written.get(key) : undefined
    return to === undefined ? at : [...to, ...at.slice(path.length + 1)]
  }
  return { value, place }
}

/** keys that make a user's home, which cloud-init refuses (the user not made) beside a key that says it has none */
const NEED_HOME = ["ssh_authorized_keys", "ssh_import_id", "ssh_redirect_user"] as const
const NO_HOME = ["no_create_home", "system"] as const

/** given as Python reads a condition: not null, false, 0, "", [] or {} */
const given = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== false && value !== 0 && value !== "" && (typeof value !== "object" || Object.keys(value).length > 0)

const FULL_SUDO = "ALL=(ALL) NOPASSWD:ALL"

/**
 * the rules (at `path`), trimmed, when sudoers reads each; otherwise none: a line it cannot parse stops sudo for every
 * user, and the user's other rules without it may give more than asked (a rule that takes a command back, `!/bin/su`)
 */
const sudoRulesOf = (rules: ReadonlyArray<string>, path: ReadonlyArray<Key>, notes: Notes): ReadonlyArray<string> => {
  const trimmed = rules.map((r) => r.trim())
  const unreadable = trimmed.findIndex((rule) => sudoRuleUnreadable(rule) !== undefined)
  if (unreadable < 0) return trimmed
  const why = sudoRuleUnreadable(trimmed[unreadable]!)
  notes.warn(path, `rule ${unreadable + 1}: ${why}; a line sudoers cannot parse breaks sudo for every user: none of this user's sudo rules are written`)
  return []
}

/**
 * A user's groups (at `path`) with each name that cannot be a group's
 * skipped on its own: the others are still joined, as cloud-init joins them
 * one by one. A value of another kind is left to the schema.
 */
const validGroups = (groups: unknown, path: ReadonlyArray<Key>, notes: Notes): unknown => {
  const valid = (name: unknown, at: ReadonlyArray<Key>, unit: ReadonlyArray<Key> = at) => decodeOr(GroupName, name, at, notes, unit) !== undefined
  if (typeof groups === "string") {
    // the names of "a, b" have no path of their own: the one skipped is named by its place in the list
    const names = groups.split(",").map((g) => g.trim()).filter((g) => g !== "")
    return names.filter((name, i) => valid(name, path, [...path, i]))
  }
  // each name stripped, as cloud-init strips them (`[docker, " adm"]`, a map's keys) before it joins them
  const trimmed = (name: unknown) => (typeof name === "string" ? name.trim() : name)
  if (Array.isArray(groups)) return groups.map(trimmed).filter((name: unknown, i) => valid(name, [...path, i]))
  const map = asMap(groups)
  return map === undefined ? groups : Object.keys(map).filter((name) => valid(name.trim(), [...path, name])).map(trimmed)
}

/** the rules (at `path`) when each names the user; otherwise none, as cloud-init writes none then */
const doasRulesOf = (name: string, rules: ReadonlyArray<string>, path: ReadonlyArray<Key>, notes: Notes): ReadonlyArray<string> => {
  const unreadable = rules.findIndex((rule) => doasUnreadable(rule) !== undefined)
  if (unreadable >= 0) {
    notes.warn([...path, unreadable], `${doasUnreadable(rules[unreadable]!)}, which doas cannot read and which would stop doas for every user; none of its doas rules are written`)
    return []
  }
  const other = rules.findIndex((rule) => !doasRuleNamesUser(rule, name))
  if (other < 0) return rules
  notes.warn([...path, other], "not a doas rule for this user (permit or deny, options, then the user's name); none of its doas rules are written, as cloud-init does")
  return []
}

const groupsOf = (groups: UserMap["groups"]): ReadonlyArray<string> => {
  if (groups === undefined) return []
  if (typeof groups === "string") return groups.split(",").map((g) => g.trim()).filter((g) => g !== "")
  return Array.isArray(groups) ? groups : Object.keys(groups)
}

/** an empty password sets none, as cloud-init skips one (`chpasswd -e` would leave the account without a password) */
const passwordOf = (user: UserMap): Password | undefined => {
  if (user.hashed_passwd) return { kind: "hash", value: user.hashed_passwd, onlyNewUser: false }
  if (user.plain_text_passwd) return { kind: "plain", value: user.plain_text_passwd, onlyNewUser: false }
  if (user.passwd) return { kind: "hash", value: user.passwd, onlyNewUser: true }
  return undefined
}

const PASSWORD_LOCKED = "a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work"

/** the flags cloud-init reads as a Python condition (UserMap), and what a quoted "false" in one does to cloud-init, and so here */
const QUOTED_FALSE: ReadonlyArray<readonly [keyof UserMap, string]> = [
  ["lock_passwd", "the password stays locked (write false without quotes to unlock it)"],
  ["system", "a system account is made, without a home (write false without quotes for an account of its own)"],
  ["no_create_home", "no home is made (write false without quotes to make one)"],
  ["create_groups", "its groups that are missing are created (write false without quotes to leave them out)"]
]

/**
 * what a user map asks for, with warnings where the input is odd (at `place` of a key's path, where it was written); a
 * password locked is said where `lockNote`, else once the default user's entries are merged (another may unlock it)
 */
const settingsOf = (user: UserMap, path: ReadonlyArray<Key>, notes: Notes, place: (at: ReadonlyArray<Key>) => ReadonlyArray<Key>, lockNote = true): UserSettings => {
  // an empty shell is left out, as cloud-init does on Alpine
  let shell = user.shell === "" ? undefined : user.shell
  if (shell !== undefined && !shell.startsWith("/")) {
    notes.warn(place([...path, "shell"]), "not a path; the shell of that name in /bin is used")
    shell = `/bin/${shell}`
  }
  let sudo: ReadonlyArray<string> = []
  if (user.sudo === true) {
    notes.warn(place([...path, "sudo"]), `true is not a sudo rule; ${FULL_SUDO} is used`)
    sudo = [FULL_SUDO]
  } else if (typeof user.sudo === "string") sudo = user.sudo === "" ? [] : [user.sudo]
  else if (Array.isArray(user.sudo)) sudo = user.sudo.filter((r): r is string => r !== null)
  // a line without '=' (a quoted "false"), or one that names the user again ('bob ALL=(ALL) ALL' is written 'bob bob ALL=...'),
  // a relative command, a `\` at its end (sudoers continues it with the next line, another user's rule): none of the user's
  sudo = sudoRulesOf(sudo, place([...path, "sudo"]), notes)
  const password = passwordOf(user)
  const lockPasswd = user.lock_passwd === undefined ? true : given(user.lock_passwd)
  for (const [key, what] of QUOTED_FALSE) {
    const flag = user[key]
    if (typeof flag === "string" && truthOf(flag) === false) notes.warn(place([...path, key]), `a string, which cloud-init takes as true whatever it says: ${what}`)
  }
  if (lockNote && password !== undefined && lockPasswd) notes.warn(path, PASSWORD_LOCKED)
  return {
    account: {
      ...(user.homedir !== undefined ? { homedir: user.homedir } : {}),
      ...(shell !== undefined ? { shell } : {}),
      ...(user.uid !== undefined ? { uid: Number(user.uid) } : {}),
      ...(user.primary_group !== undefined ? { primaryGroup: user.primary_group } : {}),
      ...(user.gecos !== undefined ? { gecos: user.gecos } : {}),
      ...(given(user.system) ? { system: true } : {}),
      ...(given(user.no_create_home) ? { noCreateHome: true } : {})
    },
    groups: groupsOf(user.groups),
    createGroups: user.create_groups === undefined ? true : given(user.create_groups),
    sudo,
    // a map without a name is the default user, whose name is known when the rules are written
    doas: user.name === undefined ? (user.doas ?? []) : doasRulesOf(user.name, user.doas ?? [], place([...path, "doas"]), notes),
    lockPasswd,
    ...(password !== undefined ? { password } : {}),
    sshAuthorizedKeys: user.ssh_authorized_keys ?? []
  }
}

/**
 * A user map read: keys that are not carried out are named. A value that
 * does not fit skips its key, as cloud-init creates the user whatever else
 * is wrong; only a name that cannot be one skips the entry.
 */
const readMap = (map: Record<string, unknown>, path: ReadonlyArray<Key>, notes: Notes, from?: ReadonlyMap<string, ReadonlyArray<Key>>, lockNote = true): UserRead | undefined => {
  const { value, place } = normalised(map, path, from)
  const needHome = NEED_HOME.filter((k) => given(value[k]))
  // `lock_passwd:` with no value (a template's unset variable) is no default to cloud-init: `if kwargs.get("lock_passwd", True)`
  // finds None, and the password is not locked
  if (value["lock_passwd"] === null) value["lock_passwd"] = false
  // `uid:` with no value: cloud-init's Alpine add_user writes str(None), `adduser -u None`, which fails, and its users module stops
  if (value["uid"] === null) notes.warn(place([...path, "uid"]), "no value: cloud-init runs adduser -u None, which fails, and makes neither this user nor those after it; here the user is made with the uid adduser picks")
  // `create_groups:` with no value: cloud-init's Alpine add_user pops None, creates none of the groups, and `addgroup USER GROUP` then fails on a missing one
  if (value["create_groups"] === null) notes.warn(place([...path, "create_groups"]), "no value, which cloud-init reads as false: it creates none of the user's missing groups, and adding the user to one fails and stops its users module; here the missing groups are created")
  // each key on its own, as the top-level keys are: an empty entry (a template's unset variable) costs no other key
  const keys = value["ssh_authorized_keys"]
  if (keys !== undefined && keys !== null) value["ssh_authorized_keys"] = keyEntries(keys, place([...path, "ssh_authorized_keys"]), notes).map((e) => e.value)
  if (Object.hasOwn(value, "groups")) value["groups"] = validGroups(value["groups"], place([...path, "groups"]), notes)
  // each sudo rule on its own: one that is no string (a number) is skipped alone, as a rule sudoers cannot parse is
  const sudo = value["sudo"]
  if (Array.isArray(sudo)) value["sudo"] = decodeEach(Schema.NullOr(Text), sudo, place([...path, "sudo"]), notes).map((e) => e.value)
  for (const key of Object.keys(value)) if (!USER_KEYS.has(key)) notes.ignore(place([...path, key]))
  // doas rules of its own, or sudo given as none (null, false, "") or as nothing we can read (a value that does not fit,
  // or rules all skipped: a template's quoted "False"): no wheel; a sudo rule still comes with wheel, which is what
  // gives root where only doas is installed (Alpine's default)
  const gaveRights = (dropped: ReadonlySet<string>, settings: UserSettings) =>
    Object.hasOwn(value, "doas") || (Object.hasOwn(value, "sudo") && (!value["sudo"] || dropped.has("sudo") || settings.sudo.length === 0))
  let dropped: ReadonlySet<string> = new Set()
  let decoded = Schema.decodeUnknownEither(UserMap, { errors: "all", onExcessProperty: "ignore" })(value)
  if (Either.isLeft(decoded)) {
    const issues = issuesOf(decoded.left.issue, path)
    const badKeys = new Set(issues.map((i) => i.path[path.length]).filter((k): k is string => typeof k === "string"))
    if (badKeys.size === 0 || badKeys.has("name")) {
      const first = issues.find((i) => i.path[path.length] === "name") ?? issues[0]
      notes.skip({ path: place(first?.path ?? path), message: first?.message ?? "cannot be read" }, path)
      return undefined
    }
    for (const key of badKeys) {
      const first = issues.find((i) => i.path[path.length] === key)!
      notes.skip({ path: place(first.path), message: first.message }, place([...path, key]))
    }
    dropped = badKeys
    decoded = Schema.decodeUnknownEither(UserMap, { errors: "first", onExcessProperty: "ignore" })(Object.fromEntries(Object.entries(value).filter(([k]) => !badKeys.has(k))))
    if (Either.isLeft(decoded)) {
      notes.skip({ path, message: "cannot be read" }, path)
      return undefined
    }
  }
  const noHome = NO_HOME.filter((k) => given(decoded.right[k]))
  if (noHome.length > 0 && needHome.length > 0) {
    notes.skip({ path, message: `${needHome.join(", ")} cannot be given with ${noHome.join(", ")}: the user would have no home for its keys, and cloud-init makes no such user` }, path)
    return undefined
  }
  const settings = settingsOf(decoded.right, path, notes, place, lockNote)
  return {
    ...(decoded.right.name !== undefined ? { name: decoded.right.name } : {}),
    settings,
    ownRights: gaveRights(dropped, settings),
    given: new Set(Object.keys(decoded.right))
  }
}

/**
 * The key a password was given by: cloud-init sets `passwd` as it makes the account, then `plain_text_passwd`, then
 * `hashed_passwd`, so that of two keys given the later one wins (passwordOf reads one map so)
 */
const passwordKey = (p: Password): string => (p.kind === "plain" ? "plain_text_passwd" : p.onlyNewUser ? "passwd" : "hashed_passwd")
const PASSWORD_ORDER = ["passwd", "plain_text_passwd", "hashed_passwd"]

/**
 * The default user's settings as `user` (or `system_info.default_user`) gives them (`base`, with the keys it gives), and a
 * map for the default user in `users` (`read`), as cloud-init merges them: a key `base` gives wins, a list too (not joined),
 * and the map gives what `base` does not; but the map's `groups` replace base's, as cloud-init takes the default user's
 * groups out of `user` before it merges the two. `unused`: the keys both give (for `groups`, base's are the ones not used).
 */
const merged = (base: UserSettings, baseGiven: ReadonlySet<string>, read: UserSettings, readGiven: ReadonlySet<string>) => {
  const first = <T>(keys: ReadonlyArray<string>, a: T, b: T) => (keys.some((k) => baseGiven.has(k)) ? a : b)
  const { wheel: baseWheel, ...baseAccount } = base.account
  const { wheel: readWheel, ...readAccount } = read.account
  const wheel = first(["sudo", "doas"], baseWheel, readWheel)
  // each password key as any other (base's wins); of those left, the one cloud-init sets last: user's plain_text_passwd and
  // the map's hashed_passwd are both set, the hash last
  const rank = (p: Password | undefined) => (p === undefined ? -1 : PASSWORD_ORDER.indexOf(passwordKey(p)))
  const password = rank(read.password) > rank(base.password) && !baseGiven.has(passwordKey(read.password!)) ? read.password : base.password
  const settings: UserSettings = {
    account: { ...readAccount, ...baseAccount, ...(wheel !== undefined ? { wheel } : {}) },
    groups: readGiven.has("groups") ? read.groups : base.groups,
    createGroups: first(["create_groups"], base.createGroups, read.createGroups),
    sudo: first(["sudo"], base.sudo, read.sudo),
    doas: first(["doas"], base.doas, read.doas),
    lockPasswd: first(["lock_passwd"], base.lockPasswd, read.lockPasswd),
    ...(password !== undefined ? { password } : {}),
    sshAuthorizedKeys: first(["ssh_authorized_keys"], base.sshAuthorizedKeys, read.sshAuthorizedKeys)
  }
  const unused = [...readGiven].filter((k) => k !== "name" && baseGiven.has(k)).sort()
  return { settings, unused }
}

/**
 * A `users` entry naming the default user (that `user` or `system_info.default_user` names, else CLOUD_USER), as cloud-init merges it: last,
 * after `user` and the maps without a name, so a key those give wins (a list too: not joined) and the entry gives the rest;
 * its groups are joined to user's, but a map without a name that gives groups has the last word. `own`: where each key the
 * default user's own entries give was given (`user`'s groups left out: they are joined). The entry keeps what is its alone
 * (and makes the account with the default user's account options when create_default_user made none); the password and
 * lock_passwd, set as one, go to the default user when its own entries give either. `unused`: the entry's keys not used,
 * each with where the one used was given.
 */
const listedDefault = (user: UserSpec, given: ReadonlySet<string>, own: ReadonlyMap<string, string>, defaultUser: DefaultUser) => {
  const has = (keys: ReadonlyArray<string>) => keys.some((k) => own.has(k))
  const { wheel: _rights, ...account } = defaultUser.account
  const createGroups = has(["create_groups"]) || !given.has("create_groups") ? defaultUser.createGroups : user.createGroups
  const ownPassword = has([...PASSWORD_ORDER, "lock_passwd"])
  // each password key as any other (the default user's wins); of those left, the one cloud-init sets last, as merged() does
  const rank = (p: Password | undefined) => (p === undefined ? -1 : PASSWORD_ORDER.indexOf(passwordKey(p)))
  const password = rank(user.password) > rank(defaultUser.password) && !own.has(passwordKey(user.password!)) ? user.password : defaultUser.password
  const spec: UserSpec = {
    name: user.name,
    account: { ...user.account, ...account },
    groups: has(["groups"]) ? [] : user.groups,
    createGroups,
    sudo: has(["sudo"]) ? [] : user.sudo,
    doas: has(["doas"]) ? [] : user.doas,
    lockPasswd: ownPassword ? true : user.lockPasswd,
    ...(!ownPassword && user.password !== undefined ? { password: user.password } : {}),
    sshAuthorizedKeys: has(["ssh_authorized_keys"]) ? [] : user.sshAuthorizedKeys
  }
  const { password: _password, ...rest } = defaultUser
  const settings: DefaultUser = ownPassword
    ? { ...rest, createGroups, lockPasswd: has(["lock_passwd"]) ? defaultUser.lockPasswd : user.lockPasswd, ...(password !== undefined ? { password } : {}) }
    : { ...defaultUser, createGroups }
  const unused = new Map([...given].sort().flatMap((k) => (own.has(k) ? [[k, own.get(k)!] as const] : [])))
  return { spec, defaultUser: settings, unused }
}

/** cloud-config `user` (or `system_info.default_user`): the default user's name, or its map */
const readUserKey = (user: unknown, at: ReadonlyArray<Key>, notes: Notes): UserRead | undefined => {
  if (typeof user === "string") return decodeOr(UserName, user, at, notes) === undefined ? undefined : { name: user, settings: defaultSettings, ownRights: false }
  const map = asMap(user)
  if (map !== undefined) return readMap(map, at, notes, undefined, false)
  notes.skip({ path: at, message: `expected a user name or a user map, got ${show(user)}` }, at)
  return undefined
}

const entryName = (e: Entry): string | undefined => (e.kind === "name" ? e.name : e.kind === "map" && typeof e.map["name"] === "string" ? e.map["name"] : undefined)

/** the entries of one user: its name, or, for a map without one (the default user's, as cloud-init names it `default`), none that a name can be */
const sameUserKey = (e: Entry): string | undefined => (e.kind === "map" && e.map["name"] === undefined ? "\0default" : entryName(e))

/**
 * A user listed again is merged into its first entry as cloud-init merges
 * them: the first entry's keys win, the keys only the later one has are
 * added. So are two maps without a name (or named `default`), both the
 * default user's.
 */
const combineRepeated = (entries: ReadonlyArray<Entry>, notes: Notes): ReadonlyArray<Entry> => {
  const firstOf = new Map<string, number>()
  const combined: Array<Entry> = []
  for (const entry of entries) {
    const name = sameUserKey(entry)
    const at = name === undefined ? undefined : firstOf.get(name)
    if (name === undefined || at === undefined) {
      if (name !== undefined) firstOf.set(name, combined.length)
      combined.push(entry)
      continue
    }
    notes.warn(entry.path, "the same user as an earlier entry; what that entry does not say is taken from this one, as cloud-init merges them")
    const first = combined[at]!
    if (entry.kind !== "map") continue
    const firstMap = first.kind === "map" ? first.map : { name }
    // the keys only this entry gives are named where it gives them
    const from = new Map(Object.keys(entry.map).filter((k) => !Object.hasOwn(firstMap, k)).map((k) => [k, entry.path] as const))
    if (first.kind === "map") for (const [k, p] of first.from ?? []) from.set(k, p)
    combined[at] = { kind: "map", map: { ...entry.map, ...firstMap }, path: first.path, from }
  }
  return combined
}

/** where a key (as read: `-` as `_`) of an entry was written: the repeated entry merged into it that gave it (`from`), else its own */
const givenAt = (entry: Entry, key: string): ReadonlyArray<Key> =>
  (entry.kind === "map" ? [...(entry.from ?? [])].find(([written]) => written.replace(/-/g, "_").trim() === key)?.[1] : undefined) ?? entry.path

export interface UsersRead {
  readonly defaultUser?: DefaultUser
  readonly users: ReadonlyArray<UserSpec>
  /** `user` and `users` gave something */
  readonly applied: boolean
}

/** names as cloud-init splits them (at `,`, the empty ones left out), or a list of such, in which it finds no name: `""`, `[""]`, `[[]]`, `","` */
const namesNobody = (value: unknown): boolean =>
  typeof value === "string" ? value.split(",").every((n) => n.trim() === "") : Array.isArray(value) && value.every(namesNobody)

/**
 * `users: []`, `""`, `{}`, a list of names that names none (`[""]`), a map by name that wants none (`{default: false}`) or no value: cloud-init's way to ask for no default user (`users:` with no value is
 * no list to its normalization, which warns and makes no user: the system's `users: [default]` does not replace it)
 */
const namesNoUser = (users: unknown): boolean => {
  if (users === null) return true
  if (Array.isArray(users) || typeof users === "string") return namesNobody(users)
  // a map by name adds the names whose value is true: `{default: false}` adds none
  const map = asMap(users)
  return map !== undefined && Object.values(map).every((v) => asMap(v) === undefined && truthOf(v) === false)
}

/**
 * `user` names or describes the default user; without it, the image's
 * description of it in `system_info.default_user`, as cloud-init reads that.
 */
export const readUsers = (user: unknown, users: unknown, { notes, cloudUser }: ReadContext, systemDefault?: unknown): UsersRead => {
  let applied = false
  let defaultUser: DefaultUser | undefined
  /** the keys `user` (or system_info's default_user) gives the default user, which win over a map for it in `users` */
  let defaultGiven: ReadonlySet<string> = new Set()
  /** where each key the default user's own entries (`user`, maps without a name) give was given: they win over an entry naming it */
  const own = new Map<string, string>()
  /** where the default user's password was given, by `user` or a `users` entry merged into it: said there if it stays locked */
  let passwordAt: ReadonlyArray<Key> | undefined
  let hasDefault = false
  // an empty name (a template's unset variable, `user: "${user}"`) is no user to cloud-init, which passes over a false `user`
  const blank = user === ""
  if (blank) notes.warn(["user"], "empty; passed over, as cloud-init passes over it")
  const [given, at] = user !== undefined && user !== null && !blank ? [user, ["user"]] : [systemDefault, ["system_info", "default_user"]]
  // `user` wins: the image's description of the default user is then not used, and so named
  if (given === user && systemDefault !== undefined && systemDefault !== null) notes.ignore(["system_info", "default_user"])
  if (given !== undefined && given !== null) {
    hasDefault = true
    const read = readUserKey(given, at, notes)
    if (read !== undefined) {
      defaultUser = { ...asDefaultUser(read), ...(read.name !== undefined ? { name: read.name } : {}) }
      defaultGiven = read.given ?? new Set(["name"])
      for (const k of defaultGiven) if (k !== "name" && k !== "groups") own.set(k, formatPath(at))
      if (PASSWORD_ORDER.some((k) => defaultGiven.has(k))) passwordAt = at
      applied = true
    }
  }
  // only `user` makes cloud-init add the default user to `users`: system_info's default_user describes it, and does not; to a map
  // by name `user` adds `default` only where the map does not say already (`{default: false}` stays false); an empty `user: {}`, false
  // to cloud-init, adds nothing
  const userAdds = hasDefault && given === user && Object.keys(asMap(user) ?? { name: user }).length > 0 && !Object.hasOwn(asMap(users) ?? {}, "default")
  if (!userAdds && namesNoUser(users)) {
    notes.warn(["users"], "empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable")
  }
  const entries = users === undefined || users === null ? [] : combineRepeated(entriesOf(users, ["users"], notes), notes)
  if (entries.some((e) => e.kind === "default" || (e.kind === "map" && e.map["name"] === undefined))) hasDefault = true
  const firstNamed = hasDefault ? undefined : entries.find((e) => e.kind === "name" || e.kind === "badName" || (e.kind === "map" && e.map["name"] !== undefined))
  const further: Array<UserSpec> = []
  // the entries naming the default user (the one `user` names, else CLOUD_USER beside `user` or `default`): merged last, once every
  // map without a name is
  const namingDefault: Array<{ readonly at: number; readonly given: ReadonlySet<string>; readonly path: ReadonlyArray<Key> }> = []
  const defaultName = defaultUser?.name ?? (hasDefault ? cloudUser : undefined)
  const namedBy = defaultUser?.name !== undefined ? `${at.join(".")} names it` : "CLOUD_USER names it"
  for (const entry of entries) {
    if (entry.kind === "badName") continue
    if (entry.kind === "default") {
      applied = true
      continue
    }
    // the default user's entries (a map without a name, one naming it) say a locked password once merged
    const read =
      entry.kind === "name"
        ? { name: entry.name, settings: defaultSettings, ownRights: false }
        : readMap(entry.map, entry.path, notes, entry.from, entry === firstNamed || (entry.map["name"] !== undefined && entry.map["name"] !== defaultName))
    if (read === undefined) continue
    applied = true
    if (read.name === undefined || entry === firstNamed) {
      const base: DefaultUser = defaultUser ?? defaultSettings
      const { settings, unused } = merged(base, defaultGiven, asDefaultUser(read), read.given ?? new Set())
      if (unused.length > 0) {
        const from = at.join(".")
        const own = unused.filter((k) => k !== "groups")
        const said = [
          ...(own.length > 0 ? [`its ${own.join(", ")} not used, as cloud-init takes ${from}'s`] : []),
          ...(unused.includes("groups") ? [`${from}'s groups replaced by its own, as cloud-init merges them`] : [])
        ]
        notes.warn(entry.path, `the default user, as ${from} is: ${said.join("; ")}`)
      }
      defaultUser = { ...settings, ...(read.name !== undefined ? { name: read.name } : base.name !== undefined ? { name: base.name } : {}) }
      if (read.name === undefined) for (const k of read.given ?? []) if (!own.has(k)) own.set(k, formatPath(givenAt(entry, k)))
      // whether its password stays locked is said of the merged default user, where its password was given
      if (read.name === undefined && settings.password !== undefined && settings.password === read.settings.password) passwordAt = entry.path
      continue
    }
    if (read.name === defaultName) namingDefault.push({ at: further.length, given: read.given ?? new Set(), path: entry.path })
    further.push({ name: read.name, ...read.settings })
  }
  for (const { at: i, given: keys, path } of namingDefault) {
    if (defaultUser === undefined || own.size === 0) {
      if (further[i]!.password !== undefined && further[i]!.lockPasswd) notes.warn(path, PASSWORD_LOCKED)
      continue
    }
    const { spec, defaultUser: settings, unused } = listedDefault(further[i]!, keys, own, defaultUser)
    if (settings.password !== undefined && settings.password === further[i]!.password) passwordAt = path
    further[i] = spec
    defaultUser = settings
    if (spec.password !== undefined && spec.lockPasswd) notes.warn(path, PASSWORD_LOCKED)
    if (unused.size === 0) continue
    const bySource = new Map<string, Array<string>>()
    for (const [k, from] of unused) bySource.set(from, [...(bySource.get(from) ?? []), k])
    const said = [...bySource].map(([from, ks]) => `its ${ks.join(", ")} not used, as cloud-init takes ${from}'s`)
    notes.warn(path, `the default user, as ${namedBy}: ${said.join("; ")}`)
  }
  if (passwordAt !== undefined && defaultUser?.password !== undefined && defaultUser.lockPasswd) notes.warn(passwordAt, PASSWORD_LOCKED)
  return { ...(defaultUser !== undefined ? { defaultUser } : {}), users: further, applied }
}

const NULL_MEMBERS =
  "no members (null), which cloud-init cannot read (a name, names separated by commas, or a list; [] for none): it makes none of the groups and users, nor installs any key; the group is made here without members"

/** cloud-config top-level `groups`: "a, b", a list of names and `{group: members}` maps, or one such map */
export const readGroups = (value: unknown, path: ReadonlyArray<Key>, { notes }: ReadContext): ReadonlyArray<GroupSpec> | undefined => {
  const groups: Array<GroupSpec> = []
  const add = (name: string, members: unknown, at: ReadonlyArray<Key>) => {
    if (decodeOr(GroupName, name, at, notes) === undefined) return
    // `docker:` with no value: cloud-init's _normalize_groups cannot read it (TypeError), which fails its users and groups
    // module and cc_ssh's keys; the group is made here all the same, said
    if (members === null) notes.warn(at, NULL_MEMBERS)
    // "alice, bob": cloud-init splits a group's member string at its commas
    const given = typeof members === "string" ? members.split(",").map((m) => m.trim()).filter((m) => m !== "") : members
    // a member that cannot be a user's name is skipped alone: cloud-init makes the group, and leaves out a member that is no
    // user (the names of "a, b" have no path of their own: the one skipped is named by its place in the list)
    const list =
      given === null || given === undefined
        ? []
        : Array.isArray(given)
          ? given.filter((m: unknown, j): m is string => decodeOr(UserName, m, typeof members === "string" ? at : [...at, j], notes, [...at, j]) !== undefined)
          : decodeOr(GroupMembers, given, at, notes)
    if (list === undefined) return
    groups.push({ name, members: list })
  }
  const fromMap = (map: Record<string, unknown>, at: ReadonlyArray<Key>) => {
    for (const [name, members] of Object.entries(map)) add(name, members, [...at, name])
  }
  if (typeof value === "string") {
    for (const name of value.split(",").map((g) => g.trim()).filter((g) => g !== "")) add(name, [], path)
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      const map = asMap(item)
      if (typeof item === "string") add(item.trim(), [], [...path, i])
      else if (map !== undefined) fromMap(map, [...path, i])
      else notes.skip({ path: [...path, i], message: `expected a group name or a map of members, got ${show(item)}` }, [...path, i])
    })
  } else if (asMap(value) !== undefined) fromMap(asMap(value)!, path)
  else {
    notes.skip({ path, message: `expected a list of groups, got ${show(value)}` }, path)
    return undefined
  }
  return groups.length > 0 ? groups : undefined
}
