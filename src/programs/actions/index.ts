import { Effect } from "effect"
import { Bootstrap } from "../../services/Bootstrap.js"
import type { Action } from "../action.js"
import { expandRoot } from "./disk.js"
import { installHotplugs } from "./hotplug.js"
import { setHostname } from "./hostname.js"
import { enableSshd, setDefaultInterfaces, setEphemeralNetwork } from "./network.js"
import { createDefaultUser, setSshKeys } from "./user.js"
import { missingUserdata, runUserdata, saveUserdata, unknownUserdata } from "./userdata.js"

/** actions every cloud has; clouds and user-data handlers add their own */
export const CORE_ACTIONS: Readonly<Record<string, Action>> = {
  expand_root: expandRoot,
  install_hotplugs: installHotplugs,
  set_ephemeral_network: setEphemeralNetwork,
  set_default_interfaces: setDefaultInterfaces,
  enable_sshd: enableSshd,
  save_userdata: saveUserdata,
  create_default_user: createDefaultUser,
  set_hostname: setHostname,
  set_ssh_keys: setSshKeys,
  missing_userdata: missingUserdata,
  unknown_userdata: unknownUserdata,
  run_userdata: runUserdata,
  bootstrap_complete: Effect.flatMap(Bootstrap, (b) => b.markComplete)
}
