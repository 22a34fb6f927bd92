import { readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** the code cache of the test runs: out of the machine's /run, and shared by them all (a plain /run has none) */
export const TEST_CODE_CACHE = join(tmpdir(), `tiny-cloud-test-code-cache-${process.getuid?.() ?? 0}`)

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Every build's program gets caches of its own (their names carry its hash),
 * so the shared directory gains a set per build and would grow without end
 * (1.3 GB, 1636 files, on a machine after two weeks). A cache untouched for a
 * day is removed: a run that still wants it compiles and keeps it again.
 */
export const pruneTestCodeCache = (now = Date.now()) => {
  let names: Array<string>
  try {
    names = readdirSync(TEST_CODE_CACHE)
  } catch {
    return
  }
  for (const name of names) {
    const path = join(TEST_CODE_CACHE, name)
    try {
      if (now - statSync(path).mtimeMs > DAY_MS) rmSync(path, { force: true })
    } catch {
      // another run removed or replaced it meanwhile
    }
  }
}
