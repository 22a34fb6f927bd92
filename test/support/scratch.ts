import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * A new temporary directory for a test, on a tmpfs where there is one: the
 * program's fsyncs and the clean-up's rmdirs wait on no disk there (on a
 * loaded machine, a disk's rmdirs alone held the cloud tests about a second).
 */
export const scratchDir = (prefix: string) => mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), prefix))
