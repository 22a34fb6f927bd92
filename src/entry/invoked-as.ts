/**
 * The name the program is called by, which picks its commands (`imds`, the
 * network helpers, `tiny-cloud`): main.ts and the loader's small program
 * (quick.ts) read it the same way.
 */
import { readlinkSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { HELPERS, isImds } from "../programs/command-words.js"

const KNOWN = ["tiny-cloud", ...HELPERS]

/**
 * the name called by; a name the program does not know (a link of the operator's own,
 * `/usr/local/bin/metadata -> /usr/bin/imds`) is followed, link by link, to the first
 * known name on its way to the program, as a link to the shell edition's script runs that script
 */
export const nameOf = (called: string): string => {
  let path = called
  for (let hops = 0; hops < 40; hops++) {
    const name = path.split("/").pop() ?? ""
    if (isImds(name) || KNOWN.includes(name)) return name
    try {
      path = resolve(dirname(path), readlinkSync(path))
    } catch {
      break
    }
  }
  return called.split("/").pop() ?? ""
}
