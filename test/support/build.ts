import { execFileSync } from "node:child_process"

/** vitest global setup: the tests drive the bundled program, so build it first */
export default function setup() {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" })
}
