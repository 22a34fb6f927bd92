import type { Phase } from "../schema/config.js"
import type { ActionChange } from "./action.js"

export const DEFAULT_ACTIONS: Readonly<Record<Phase, ReadonlyArray<string>>> = {
  boot: ["expand_root", "install_hotplugs", "set_ephemeral_network", "set_default_interfaces", "enable_sshd"],
  early: ["save_userdata"],
  main: ["create_default_user", "set_hostname", "set_ssh_keys"],
  final: []
}

export const FINAL_ACTION = "bootstrap_complete"

const applyChange = (list: ReadonlyArray<string>, change: ActionChange): ReadonlyArray<string> => {
  switch (change.op) {
    case "prepend":
      return [...change.actions, ...list]
    case "append":
      return [...list, ...change.actions]
    case "replace":
      return list.flatMap((a) => (a === change.anchor ? change.actions : [a]))
    case "before":
      return list.flatMap((a) => (a === change.anchor ? [...change.actions, a] : [a]))
    case "after":
      return list.flatMap((a) => (a === change.anchor ? [a, ...change.actions] : [a]))
  }
}

/**
 * A phase's action list: the defaults (or INIT_ACTIONS_*), then the cloud's
 * changes, then the user-data type's; the final phase ends with bootstrap_complete.
 * A change whose anchor is not in the list changes nothing.
 */
export const planPhase = (
  phase: Phase,
  base: ReadonlyArray<string> | undefined,
  ...changeSets: ReadonlyArray<ReadonlyArray<ActionChange> | undefined>
): ReadonlyArray<string> => {
  let list = base ?? DEFAULT_ACTIONS[phase]
  for (const changes of changeSets) for (const c of changes ?? []) if (c.phase === phase) list = applyChange(list, c)
  return phase === "final" ? [...list.filter((a) => a !== FINAL_ACTION), FINAL_ACTION] : list
}
