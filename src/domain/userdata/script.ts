/** cloud-config `bootcmd`/`runcmd` as the one shell script cloud-init writes for them. */
import type { Command } from "./model.js"
import { singleQuoted } from "../shell-words.js"


/**
 * `#!/bin/sh`, then each entry on its own line in order: a string as
 * written, a list as its quoted arguments. No `set -e`: every line runs, and
 * `cd` or `export` carry over to the lines after it.
 */
export const commandScript = (commands: ReadonlyArray<Command>): string =>
  ["#!/bin/sh", ...commands.map((c) => (c.kind === "shell" ? c.script : c.argv.map(singleQuoted).join(" ")))].map((line) => `${line}\n`).join("")
