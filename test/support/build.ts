import { execFileSync } from "node:child_process"
import { pruneTestCodeCache } from "./code-cache.js"

/**
 * vitest global setup: the tests drive the bundled program, and the packaging
 * tests install it with `make install` and `make dist`, which take the man
 * pages and completions too: build all that `npm run build` builds, first;
 * and drop the shared code caches of builds long gone
 */
export default function setup() {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" })
  execFileSync(process.execPath, ["scripts/build-docs.mjs", "--quiet"], { stdio: "inherit" })
  pruneTestCodeCache()
}
