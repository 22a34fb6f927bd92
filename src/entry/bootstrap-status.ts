/**
 * `tiny-cloud --bootstrap status`, answered without the Effect runtime: it
 * runs in scripts, from login shells and on every boot, and its whole answer
 * is whether one file exists (the Bootstrap service's `isComplete`, read the
 * same way: the configuration taken leniently, links resolved inside ROOT).
 */
import { existsSync } from "node:fs"
import { bootstrapMarker } from "../domain/bootstrap.js"
import { settingsFromLeniently } from "../domain/settings.js"
import { readConfText } from "../layers/conf-file.js"
import { resolveInRoot } from "../layers/in-root.js"

/** the file's text; one that cannot be read is no file, as the lenient configuration takes it */
const readConf = (env: Readonly<Record<string, string | undefined>>): string => {
  const read = readConfText(env)
  return "text" in read ? read.text : ""
}

/** the line `--bootstrap status` prints */
export const bootstrapStatus = (env: Readonly<Record<string, string | undefined>>): string => {
  const settings = settingsFromLeniently(env, readConf(env))
  try {
    return existsSync(resolveInRoot(settings.root, bootstrapMarker(settings.varDir), "follow")) ? "complete\n" : "incomplete\n"
  } catch {
    return "incomplete\n"
  }
}
