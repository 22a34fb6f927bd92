/**
 * Every action a phase can run, by name. A plan edit or a registry entry with
 * a name not listed here fails the typecheck; a name from the configuration
 * (INIT_ACTIONS_*) that is not listed is logged as `ACTION: unknown` at boot.
 */

/** the program's own actions: a failure stops the phase, unless it is confined to the action (programs/engine.ts) */
const CORE_ACTIONS = [
  "expand_root",
  "install_hotplugs",
  "set_ephemeral_network",
  "set_default_interfaces",
  "set_network_interfaces",
  "enable_sshd",
  "save_userdata",
  "create_default_user",
  "set_hostname",
  "set_ssh_keys",
  "report_ready",
  "missing_userdata",
  "unknown_userdata",
  "bootstrap_complete"
] as const

/** actions that carry out the user's own user-data */
const USERDATA_ACTIONS = [
  "run_userdata",
  "userdata_user",
  "userdata_users",
  "userdata_hostname",
  "userdata_bootcmd",
  "userdata_write_files",
  "userdata_ntp",
  "userdata_apk_cache",
  "userdata_apk_repositories",
  "userdata_package_update",
  "userdata_package_upgrade",
  "userdata_packages",
  "userdata_timezone",
  "ssh_authorized_keys",
  "userdata_ssh_pwauth",
  "userdata_write_deferred_files",
  "userdata_runcmd",
  "userdata_scripts",
  "userdata_autoinstall"
] as const

export type CoreAction = (typeof CORE_ACTIONS)[number]
export type UserDataAction = (typeof USERDATA_ACTIONS)[number]
export type ActionName = CoreAction | UserDataAction

const ALL: ReadonlySet<string> = new Set<string>([...CORE_ACTIONS, ...USERDATA_ACTIONS])
const USERDATA: ReadonlySet<string> = new Set<string>(USERDATA_ACTIONS)

export const isActionName = (name: string): name is ActionName => ALL.has(name)
export const isUserDataAction = (name: string): name is UserDataAction => USERDATA.has(name)
