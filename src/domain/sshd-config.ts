/**
 * sshd_config as sshd reads it: for each keyword the first value it reads,
 * `KEYWORD VALUE` or `KEYWORD=VALUE`, keywords in any case, and an
 * `Include` read where it stands, its files in their name's order.
 */

import { posix } from "node:path"

export const SSHD_CONFIG = "/etc/ssh/sshd_config"
export const SSHD_DROP_INS = "/etc/ssh/sshd_config.d"
/** before the `60-...` an image or a package ships, as cloud-init's `50-cloud-init.conf` */
export const PWAUTH_DROP_IN = "50-tiny-cloud.conf"

const lines = (config: string) => config.split("\n")
const isMatch = (line: string) => /^\s*Match\s/i.test(line)
const isPasswordAuthentication = (line: string) => /^\s*PasswordAuthentication\s*[\s=]/i.test(line)
/** `Include /etc/ssh/sshd_config.d/*.conf`, the stock file's, among its arguments (a relative path is under /etc/ssh) */
const includesDropIns = (line: string) => {
  // the whole rest of the line, a CR at its end (a file made on Windows) too, which sshd takes off with the other blanks there
  const value = /^\s*Include(?:\s*=|\s)\s*(.*)$/is.exec(line)?.[1]?.trimEnd()
  // an argument may be in quotes
  return sshdWords(value ?? "").some((w) => w === `${SSHD_DROP_INS}/*.conf` || w === "sshd_config.d/*.conf")
}

/** the global part: the lines before the first `Match` */
const globalLines = (config: string) => {
  const all = lines(config)
  const match = all.findIndex(isMatch)
  return match < 0 ? all : all.slice(0, match)
}

/** whether the global part sets PasswordAuthentication */
export const setsPasswordAuthentication = (config: string): boolean => globalLines(config).some(isPasswordAuthentication)

/**
 * Where sshd reads PasswordAuthentication first: `drop-ins` when the global
 * part includes sshd_config.d before it sets PasswordAuthentication itself
 * (a drop-in's value then wins over a line lower down), else `main`.
 */
export const pwauthPlace = (config: string): "main" | "drop-ins" => {
  for (const line of globalLines(config)) {
    if (isPasswordAuthentication(line)) return "main"
    if (includesDropIns(line)) return "drop-ins"
  }
  return "main"
}

/** `PasswordAuthentication` set once, before any `Match` block (sshd takes the first value; it reads `KEYWORD=VALUE` too) */
export const withPasswordAuthentication = (config: string, allow: boolean): string => {
  const line = `PasswordAuthentication ${allow ? "yes" : "no"}`
  const all = lines(config)
  const trailing = all.length > 0 && all[all.length - 1] === ""
  if (trailing) all.pop()
  const match = all.findIndex(isMatch)
  const end = match < 0 ? all.length : match
  const at = all.findIndex((l, i) => i < end && isPasswordAuthentication(l))
  if (at >= 0) all[at] = line
  else all.splice(end, 0, line)
  return `${all.join("\n")}\n`
}

/** the drop-ins sshd reads before `name`: what `*.conf` matches (not a dot file), in the byte order of their names */
export const dropInsBefore = (entries: ReadonlyArray<string>, name: string): ReadonlyArray<string> =>
  entries.filter((e) => e.endsWith(".conf") && !e.startsWith(".") && e < name).sort()

/** the drop-ins sshd reads where sshd_config includes them: what `*.conf` matches (not a dot file), in the byte order of their names */
export const dropInsRead = (entries: ReadonlyArray<string>): ReadonlyArray<string> => entries.filter((e) => e.endsWith(".conf") && !e.startsWith(".")).sort()

/**
 * The value sshd takes for `keyword` (outside `Match` blocks): the first, in
 * sshd_config with the drop-ins' texts (in the order sshd reads them) read
 * where its `Include` of sshd_config.d stands; undefined when none sets it.
 */
export const firstValue = (config: string, dropIns: ReadonlyArray<string>, keyword: string): string | undefined => {
  // the value's blanks taken off its end by trimEnd: a lazy `(.*?)\s*$` costs the square of a run of blanks (a 1 MiB line, hours)
  const setting = new RegExp(`^\\s*${keyword}(?:\\s*=|\\s)\\s*(.*)$`, "is")
  const valueOf = (line: string) => setting.exec(line)?.[1]?.trimEnd()
  for (const line of globalLines(config)) {
    const value = valueOf(line)
    if (value !== undefined) return value
    if (!includesDropIns(line)) continue
    for (const text of dropIns) {
      const found = globalLines(text).map(valueOf).find((v) => v !== undefined)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/**
 * A value's words as sshd splits them: at blanks (spaces, tabs), but not
 * inside `"..."` or `'...'`, which it takes off; a `#` that starts a word
 * starts a comment, the rest of the line (`StrictModes no # lax` is `no`).
 */
export const sshdWords = (value: string): ReadonlyArray<string> => {
  const words: Array<string> = []
  let i = 0
  while (i < value.length) {
    if (value[i] === " " || value[i] === "\t") {
      i++
      continue
    }
    if (value[i] === "#") break
    let word = ""
    let quote = ""
    for (; i < value.length && (quote !== "" || (value[i] !== " " && value[i] !== "\t")); i++) {
      const c = value[i]!
      if (quote === "" && (c === '"' || c === "'")) quote = c
      else if (c === quote) quote = ""
      else word += c
    }
    words.push(word)
  }
  return words
}

/**
 * Whether an `AuthorizedKeysFile` value (sshd's default when undefined)
 * names `~/.ssh/authorized_keys` of this account: each path with `%h`, `%u`,
 * `%U` and `%%` expanded, a relative one under the home; `none` names none.
 */
export const readsHomeKeys = (value: string | undefined, account: { readonly name: string; readonly uid: number; readonly home: string }): boolean => {
  if (value === undefined) return true
  const home = posix.normalize(`${account.home}/`)
  const wanted = posix.normalize(`${home}.ssh/authorized_keys`)
  return sshdWords(value)
    .filter((w) => w !== "" && w !== "none")
    .map((w) => w.replace(/%([%hUu])/g, (_, c: string) => (c === "%" ? "%" : c === "h" ? account.home : c === "u" ? account.name : String(account.uid))))
    .some((path) => posix.normalize(path.startsWith("/") ? path : `${home}${path}`) === wanted)
}
