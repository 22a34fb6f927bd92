/**
 * `tiny-cloud --bootstrap status`, answered without the Effect runtime: it
 * runs in scripts, from login shells and on every boot, and its whole answer
 * is whether one file exists, a regular one (the Bootstrap service's `isComplete`, read the
 * same way: the configuration taken leniently, links resolved inside ROOT).
 * The resident process asks it too, at its start and while it waits.
 */
import { existsSync, statSync } from "node:fs"
import { bootstrapMarker } from "../domain/bootstrap.js"
import { settingsFromLeniently } from "../domain/settings.js"
import { readConfText } from "../layers/conf-file.js"
import { resolveInRoot } from "../layers/in-root.js"
import { exitAfterOutput } from "./exit.js"

/** the file's text; one that cannot be read is no file, as the lenient configuration takes it */
const readConf = (env: Readonly<Record<string, string | undefined>>): string => {
  const read = readConfText(env)
  return "text" in read ? read.text : ""
}

/** the file is there, links resolved inside ROOT (the Bootstrap service's `exists`) */
const present = (root: string, path: string): boolean => {
  try {
    return existsSync(resolveInRoot(root, path, "follow"))
  } catch {
    return false
  }
}

/** the file is there and a regular file, links resolved inside ROOT (the Bootstrap service's `isFile`, sh's `test -f`) */
const regularFile = (root: string, path: string): boolean => {
  try {
    return statSync(resolveInRoot(root, path, "follow"), { throwIfNoEntry: false })?.isFile() === true
  } catch {
    return false
  }
}

/** the Bootstrap service's isComplete and isDisabled, and the settings they were read with */
export const bootstrapState = (env: Readonly<Record<string, string | undefined>>) => {
  const settings = settingsFromLeniently(env, readConf(env))
  return {
    settings,
    complete: regularFile(settings.root, bootstrapMarker(settings.varDir)),
    disabled: present(settings.root, `${settings.root}/etc/tiny-cloud.disabled`)
  }
}

/** the line `--bootstrap status` prints */
export const bootstrapStatus = (env: Readonly<Record<string, string | undefined>>): string => (bootstrapState(env).complete ? "complete\n" : "incomplete\n")

/** prints the line and exits 0 once it is taken (async: a failure to read is the caller's internal error) */
export const answerBootstrapStatus = async (): Promise<never> => {
  process.stdout.write(bootstrapStatus(process.env))
  return exitAfterOutput(0)
}
