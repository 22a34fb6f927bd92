/**
 * The loader's small program, run before the whole one is compiled: it
 * answers `tiny-cloud --bootstrap status` (in scripts, from login shells)
 * as main.ts answers it, for the command lines that
 * cli.ts routes to it (the same test, isBootstrapStatus, over the same name
 * and arguments), and declines every other one, which the whole program then
 * runs. Its answer is loaded only when asked for: a run it declines
 * evaluates only that test.
 */
import { isBootstrapStatus } from "../programs/command-words.js"
import { nameOf } from "./invoked-as.js"

/** true when this run is answered here (the process then ends on its own) */
export const answered = (): boolean => {
  if (!isBootstrapStatus(nameOf(process.argv[1] ?? ""), process.argv.slice(2))) return false
  void import("./quick-answer.js").then((m) => m.answer())
  return true
}
