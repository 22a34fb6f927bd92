/**
 * User-data types (BEHAVIOUR.md §6): how the type is read from the data, and
 * how each type changes the phases' action lists. The one list of types.
 */
import type { ActionChange } from "../plan.js"

export const USERDATA_TYPES = ["missing", "unknown", "script", "alpine-config", "cloud-config", "multipart"] as const
export type UserDataType = (typeof USERDATA_TYPES)[number]

const MIME_START = /^(?:content-type|mime-version)\s*:/i

const firstLine = (bytes: Uint8Array): string => {
  const end = bytes.indexOf(0x0a)
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? Math.min(bytes.length, 4096) : Math.min(end, 4096)))
}

/**
 * The word that names the user-data's type, from its first line: `#!`
 * `script`, `#WORD` WORD, MIME headers `multipart`, nothing `missing`,
 * anything else `unknown`. A WORD this program has no handler for
 * (`cloud-boothook`...) is kept, so messages can name it.
 */
export const userDataWord = (bytes: Uint8Array): string => {
  if (bytes.length === 0) return "missing"
  const line = firstLine(bytes)
  if (line.startsWith("#!")) return "script"
  if (line.startsWith("#")) return line.slice(1).split(/\s/)[0] || "unknown"
  return MIME_START.test(line) ? "multipart" : "unknown"
}

/** the handled type a word stands for; words without a handler are `unknown` */
export const userDataTypeOf = (word: string): UserDataType =>
  (USERDATA_TYPES as ReadonlyArray<string>).includes(word) ? (word as UserDataType) : "unknown"

/** after set_hostname, in this order (BEHAVIOUR.md §6) */
const AFTER_HOSTNAME = [
  "userdata_bootcmd",
  "userdata_write_files",
  "userdata_ntp",
  "userdata_apk_cache",
  "userdata_apk_repositories",
  "userdata_package_update",
  "userdata_package_upgrade",
  "userdata_packages"
] as const

const ALPINE_CONFIG: ReadonlyArray<ActionChange> = [
  { phase: "main", op: "before", anchor: "create_default_user", actions: ["userdata_user"] },
  { phase: "main", op: "after", anchor: "set_hostname", actions: AFTER_HOSTNAME },
  { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys"] },
  { phase: "final", op: "append", actions: ["userdata_runcmd", "userdata_autoinstall"] }
]

/**
 * #cloud-config: the #alpine-config actions in the same places, plus
 * `users` after the default user exists, `hostname`/`fqdn` over the cloud's
 * name, `timezone` once packages are in, `ssh_pwauth` after the keys, and
 * `defer: true` files before runcmd in the final phase.
 */
const CLOUD_CONFIG: ReadonlyArray<ActionChange> = [
  { phase: "main", op: "before", anchor: "create_default_user", actions: ["userdata_user"] },
  { phase: "main", op: "after", anchor: "create_default_user", actions: ["userdata_users"] },
  { phase: "main", op: "after", anchor: "set_hostname", actions: ["userdata_hostname", ...AFTER_HOSTNAME, "userdata_timezone"] },
  { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys", "userdata_ssh_pwauth"] },
  { phase: "final", op: "append", actions: ["userdata_write_deferred_files", "userdata_runcmd", "userdata_autoinstall"] }
]

/** how each user-data type changes the phases */
export const USERDATA_CHANGES: Readonly<Record<UserDataType, ReadonlyArray<ActionChange>>> = {
  missing: [{ phase: "main", op: "prepend", actions: ["missing_userdata"] }],
  unknown: [{ phase: "main", op: "prepend", actions: ["unknown_userdata"] }],
  script: [{ phase: "final", op: "append", actions: ["run_userdata"] }],
  "alpine-config": ALPINE_CONFIG,
  "cloud-config": CLOUD_CONFIG,
  /** the merged cloud-config parts as #cloud-config; script parts after runcmd */
  multipart: [
    ...CLOUD_CONFIG.filter((c) => c.phase !== "final"),
    { phase: "final", op: "append", actions: ["userdata_write_deferred_files", "userdata_runcmd", "userdata_scripts", "userdata_autoinstall"] }
  ]
}
