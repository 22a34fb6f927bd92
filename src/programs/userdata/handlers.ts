import type { ActionPlugin } from "../action.js"

/** how each user-data type changes the phases; a type not listed is handled as `unknown` */
export const USERDATA_HANDLERS: Readonly<Record<string, ActionPlugin>> = {
  missing: { changes: [{ phase: "main", op: "prepend", actions: ["missing_userdata"] }] },
  unknown: { changes: [{ phase: "main", op: "prepend", actions: ["unknown_userdata"] }] },
  script: { changes: [{ phase: "final", op: "append", actions: ["run_userdata"] }] }
}

export const handlerFor = (type: string): ActionPlugin => USERDATA_HANDLERS[type] ?? USERDATA_HANDLERS.unknown!
