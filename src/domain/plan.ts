import type { ActionName } from "./actions.js"
import type { Phase } from "./phases.js"

/** An edit of a phase's action list, as clouds and user-data types declare them; applied in order, last one wins. */
export type ActionChange =
  | { readonly phase: Phase; readonly op: "before" | "after" | "replace"; readonly anchor: ActionName; readonly actions: ReadonlyArray<ActionName> }
  | { readonly phase: Phase; readonly op: "prepend" | "append"; readonly actions: ReadonlyArray<ActionName> }

export const DEFAULT_ACTIONS: Readonly<Record<Phase, ReadonlyArray<ActionName>>> = {
  boot: ["expand_root", "install_hotplugs", "set_ephemeral_network", "set_default_interfaces", "enable_sshd"],
  early: ["save_userdata"],
  main: ["create_default_user", "set_hostname", "set_ssh_keys"],
  final: []
}

export const FINAL_ACTION: ActionName = "bootstrap_complete"

const applyChange = (from: ReadonlyArray<string>, change: ActionChange): ReadonlyArray<string> => {
  const anchor = "anchor" in change ? change.anchor : undefined
  if (anchor !== undefined && !from.includes(anchor)) return from
  // an action the list already holds (INIT_ACTIONS_FINAL naming run_userdata, which the script type appends) moves to
  // its new place, the last one winning: it does not run twice in a phase for being named twice (an anchor named twice is another matter)
  const list = from.filter((a) => a === anchor || !(change.actions as ReadonlyArray<string>).includes(a))
  switch (change.op) {
    case "prepend":
      return [...change.actions, ...list]
    case "append":
      return [...list, ...change.actions]
    case "replace":
      return list.flatMap((a): ReadonlyArray<string> => (a === change.anchor ? change.actions : [a]))
    case "before":
      return list.flatMap((a) => (a === change.anchor ? [...change.actions, a] : [a]))
    case "after":
      return list.flatMap((a) => (a === change.anchor ? [a, ...change.actions] : [a]))
  }
}

/**
 * A phase's action list: the defaults (or INIT_ACTIONS_*, which may name
 * anything), then the cloud's changes, then the user-data type's; the final
 * phase ends with bootstrap_complete. A change whose anchor is not in the
 * list changes nothing; an action a change adds that the list already
 * held moves to the change's place (inserted at each place its anchor has).
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

/**
 * The actions `changes` would add to a phase that its plan does not hold: those of a change whose anchor the list
 * lacks (INIT_ACTIONS_MAIN without set_hostname), which adds nothing, as in the shell edition. By anchor, so that the
 * phase can say which actions are not run and why: user-data the user wrote is never dropped without a word.
 */
export const unplacedActions = (
  phase: Phase,
  plan: ReadonlyArray<string>,
  changes: ReadonlyArray<ActionChange>
): ReadonlyArray<{ readonly op: "before" | "after" | "replace"; readonly anchor: ActionName; readonly actions: ReadonlyArray<ActionName> }> =>
  changes.flatMap((c) => {
    if (c.phase !== phase || !("anchor" in c)) return []
    const actions = c.actions.filter((a) => !plan.includes(a))
    return actions.length === 0 ? [] : [{ op: c.op, anchor: c.anchor, actions }]
  })
