/**
 * sshd_config as sshd reads it: for each keyword the first value it reads,
 * `KEYWORD VALUE` or `KEYWORD=VALUE`, keywords in any case, and an
 * `Include` read where it stands, its files in their name's order.
 */

export const SSHD_CONFIG = "/etc/ssh/sshd_config"
export const SSHD_DROP_INS = "/etc/ssh/sshd_config.d"
/** before the `60-...` an image or a package ships, as cloud-init's `50-cloud-init.conf` */
export const PWAUTH_DROP_IN = "50-tiny-cloud.conf"

const lines = (config: string) => config.split("\n")
const isMatch = (line: string) => /^\s*Match\s/i.test(line)
const isPasswordAuthentication = (line: string) => /^\s*PasswordAuthentication\s*[\s=]/i.test(line)
/** `Include /etc/ssh/sshd_config.d/*.conf`, the stock file's, among its arguments (a relative path is under /etc/ssh) */
const includesDropIns = (line: string) => {
  const words = /^\s*Include\s*[\s=]\s*(.*)$/i.exec(line)?.[1]?.split(/\s+/) ?? []
  // an argument may be in double quotes
  return words.map((w) => w.replace(/^"(.*)"$/, "$1")).some((w) => w === `${SSHD_DROP_INS}/*.conf` || w === "sshd_config.d/*.conf")
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
