import type { Action, ActionChange, ActionPlugin } from "../action.js"
import { userdataApkCache, userdataApkRepositories, userdataPackages, userdataPackageUpdate, userdataPackageUpgrade } from "./actions/apk.js"
import { userdataAutoinstall } from "./actions/autoinstall.js"
import { userdataWriteDeferredFiles, userdataWriteFiles } from "./actions/files.js"
import { userdataHostname, userdataTimezone } from "./actions/host.js"
import { userdataNtp } from "./actions/ntp.js"
import { userdataBootcmd, userdataRuncmd, userdataScripts } from "./actions/run.js"
import { sshAuthorizedKeys, userdataSshPwauth, userdataUser, userdataUsers } from "./actions/users.js"

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
]

const ALPINE_CHANGES: ReadonlyArray<ActionChange> = [
  { phase: "main", op: "before", anchor: "create_default_user", actions: ["userdata_user"] },
  { phase: "main", op: "after", anchor: "set_hostname", actions: AFTER_HOSTNAME },
  { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys"] },
  { phase: "final", op: "append", actions: ["userdata_runcmd", "userdata_autoinstall"] }
]

const ALPINE_ACTIONS: Readonly<Record<string, Action>> = {
  userdata_user: userdataUser,
  userdata_bootcmd: userdataBootcmd,
  userdata_write_files: userdataWriteFiles,
  userdata_ntp: userdataNtp,
  userdata_apk_cache: userdataApkCache,
  userdata_apk_repositories: userdataApkRepositories,
  userdata_package_update: userdataPackageUpdate,
  userdata_package_upgrade: userdataPackageUpgrade,
  userdata_packages: userdataPackages,
  ssh_authorized_keys: sshAuthorizedKeys,
  userdata_runcmd: userdataRuncmd,
  userdata_autoinstall: userdataAutoinstall
}

/**
 * #cloud-config: the #alpine-config actions in the same places, plus
 * `users` after the default user exists, `hostname`/`fqdn` over the cloud's
 * name, `timezone` once packages are in, `ssh_pwauth` after the keys, and
 * `defer: true` files before runcmd in the final phase.
 */
const CLOUD_CHANGES: ReadonlyArray<ActionChange> = [
  { phase: "main", op: "before", anchor: "create_default_user", actions: ["userdata_user"] },
  { phase: "main", op: "after", anchor: "create_default_user", actions: ["userdata_users"] },
  { phase: "main", op: "after", anchor: "set_hostname", actions: ["userdata_hostname", ...AFTER_HOSTNAME, "userdata_timezone"] },
  { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys", "userdata_ssh_pwauth"] },
  { phase: "final", op: "append", actions: ["userdata_write_deferred_files", "userdata_runcmd", "userdata_autoinstall"] }
]

const CLOUD_ACTIONS: Readonly<Record<string, Action>> = {
  ...ALPINE_ACTIONS,
  userdata_users: userdataUsers,
  userdata_hostname: userdataHostname,
  userdata_timezone: userdataTimezone,
  userdata_ssh_pwauth: userdataSshPwauth,
  userdata_write_deferred_files: userdataWriteDeferredFiles
}

/** how each user-data type changes the phases; a type not listed is handled as `unknown` */
export const USERDATA_HANDLERS: Readonly<Record<string, ActionPlugin>> = {
  missing: { changes: [{ phase: "main", op: "prepend", actions: ["missing_userdata"] }] },
  unknown: { changes: [{ phase: "main", op: "prepend", actions: ["unknown_userdata"] }] },
  script: { changes: [{ phase: "final", op: "append", actions: ["run_userdata"] }] },
  "alpine-config": { changes: ALPINE_CHANGES, actions: ALPINE_ACTIONS },
  "cloud-config": { changes: CLOUD_CHANGES, actions: CLOUD_ACTIONS },
  /** the merged cloud-config parts as #cloud-config; script parts after runcmd */
  multipart: {
    changes: [
      ...CLOUD_CHANGES.filter((c) => c.phase !== "final"),
      { phase: "final", op: "append", actions: ["userdata_write_deferred_files", "userdata_runcmd", "userdata_scripts", "userdata_autoinstall"] }
    ],
    actions: { ...CLOUD_ACTIONS, userdata_scripts: userdataScripts }
  }
}

export const handlerFor = (type: string): ActionPlugin => USERDATA_HANDLERS[type] ?? USERDATA_HANDLERS.unknown!
