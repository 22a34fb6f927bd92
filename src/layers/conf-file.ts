/**
 * `$ROOT/etc/tiny-cloud.conf` as text, read as every file of the instance
 * is: links resolved inside ROOT, nothing but a regular file (a FIFO would
 * hang every phase), within a size that no configuration needs to pass.
 */
import { confPath } from "../domain/settings.js"
import { resolveInRoot } from "./in-root.js"
import { readRegularFile, reasonOf } from "./regular-file.js"
import { textOf } from "../domain/text.js"

export const CONF_MAX_BYTES = 1024 * 1024

/** the file's text, "" when there is none; a problem as a one-line message naming the file */
export const readConfText = (env: Readonly<Record<string, string | undefined>>): { readonly text: string } | { readonly problem: string } => {
  const path = confPath(env)
  try {
    const read = readRegularFile(resolveInRoot((env.ROOT ?? "").replace(/\/+$/, ""), path, "follow"), CONF_MAX_BYTES)
    return read instanceof Uint8Array ? { text: textOf(read) } : { problem: `cannot read ${path}: ${read.refused}` }
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? { text: "" } : { problem: `cannot read ${path}: ${e instanceof Error && !("code" in e) ? e.message : reasonOf(e)}` }
  }
}
