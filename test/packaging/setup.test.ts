import { statSync } from "node:fs"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"

const REPO = resolve(new URL("../..", import.meta.url).pathname)

describe("the suite's setup", () => {
  // a fresh clone has no dist/: make install and make dist (network-helpers, apkbuild) refuse to run without the pages
  it("builds what make install takes, as npm run build does: the bundle, then the man pages and completions", () => {
    const bundle = statSync(resolve(REPO, "dist/tiny-cloud.cjs")).mtimeMs
    for (const file of ["dist/man/tiny-cloud.8", "dist/completions/tiny-cloud.bash"]) expect(statSync(resolve(REPO, file)).mtimeMs, file).toBeGreaterThanOrEqual(bundle)
  })
})
