import { readFileSync } from "node:fs"
import { join } from "node:path"

/** the repository's etc/network/interfaces.d/: the stanzas `make install` ships */
export const SHIPPED_STANZAS = new URL("../../etc/network/interfaces.d/", import.meta.url).pathname

/** a shipped stanza's text (`lo`, `DEFAULT`) */
export const shippedStanza = (name: string) => readFileSync(join(SHIPPED_STANZAS, name), "utf8")
