import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"

const runnable = new Map<string, boolean>()

/**
 * A program written in DIR can be run there: not so on a file system mounted
 * noexec (/dev/shm often is, on hardened hosts), where the harness's stand-in
 * commands would fail with EACCES. Asked once per DIR; the reason is printed.
 */
const runsPrograms = (dir: string): boolean => {
  const known = runnable.get(dir)
  if (known !== undefined) return known
  let probe: string | undefined
  let runs = true
  try {
    probe = mkdtempSync(join(dir, "tiny-cloud-probe-"))
    writeFileSync(join(probe, "x"), "#!/bin/sh\n", { mode: 0o755 })
    accessSync(join(probe, "x"), constants.X_OK)
  } catch (e) {
    runs = false
    process.stderr.write(`test scratch: ${dir}: no programs run there (${(e as NodeJS.ErrnoException).code ?? e}: mounted noexec?); ${tmpdir()} instead\n`)
  } finally {
    if (probe !== undefined) rmSync(probe, { recursive: true, force: true })
  }
  runnable.set(dir, runs)
  return runs
}

/**
 * A new temporary directory for a test, on a tmpfs where there is one and
 * programs run there: the program's fsyncs and the clean-up's rmdirs wait on
 * no disk there (on a loaded machine, a disk's rmdirs alone held the cloud
 * tests about a second).
 */
export const scratchDir = (prefix: string, tmpfs = "/dev/shm") =>
  mkdtempSync(join(existsSync(tmpfs) && runsPrograms(tmpfs) ? tmpfs : tmpdir(), prefix))

/** a temporary directory of the test's own, removed with its scope: scratchDir's, or a new one in `parent` where given */
export const scopedDir = (prefix: string, parent?: string) =>
  Effect.acquireRelease(
    Effect.sync(() => (parent === undefined ? scratchDir(prefix) : mkdtempSync(join(parent, prefix)))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
