/**
 * The state directory (`TINY_CLOUD_VAR`) keeps what root runs and applies in
 * a later phase (the saved user-data, its runcmd script, the journals). One an
 * image left to another user, or that group or others may write (0777), lets
 * that user replace those between phases: it is made this user's (root's),
 * writable by it alone, and said. A directory above it that lets others
 * replace it is said (an image's `/var/lib`, not the program's to change).
 */
import { posix } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Config } from "../services/Config.js"
import { warn } from "../services/Log.js"
import { type Ownership, RootFs } from "../services/RootFs.js"

const GROUP_OR_OTHERS_WRITE = 0o022
const STICKY = 0o1000

const me = () => process.getuid?.() ?? 0

/** owned by someone other than root and this process's user */
const othersOwn = (o: Ownership) => o.uid !== 0 && o.uid !== me()

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0")

/** someone else may rename or replace what this directory holds (a sticky one of root's or ours lets them replace only their own) */
const othersReplaceIn = (o: Ownership) => othersOwn(o) || ((o.mode & GROUP_OR_OTHERS_WRITE) !== 0 && (o.mode & STICKY) === 0)

/** `path`: the state directory as the phase resolved it for its lock */
export const guardStateDirectory = (path: string) => Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  const own = yield* fs.ownership(path)
  if (Option.isNone(own)) return
  const { uid, mode } = own.value
  if (othersOwn(own.value) || (mode & GROUP_OR_OTHERS_WRITE) !== 0) {
    // the owner first: chown clears no bit of a directory's that matters here, and the mode is then ours to set
    if (othersOwn(own.value)) yield* fs.chown(path, me(), own.value.gid)
    yield* fs.chmod(path, mode & 0o7777 & ~GROUP_OR_OTHERS_WRITE)
    yield* warn(`${varDir} could be written by others (uid ${uid}, mode ${octal(mode)}), who could replace the user-data it keeps: made ${me() === 0 ? "root's" : "this user's"}, mode ${octal(mode & ~GROUP_OR_OTHERS_WRITE)}`)
  }
  // up to the instance's `/` (ROOT): the host's directories above ROOT are not the instance's
  const inInstance = (dir: string) => fs.root === "" || dir === fs.root || dir.startsWith(`${fs.root}/`)
  for (let dir = posix.dirname(path), last = path; dir !== last && inInstance(dir); last = dir, dir = posix.dirname(dir)) {
    const above = yield* fs.ownership(dir)
    if (Option.isSome(above) && othersReplaceIn(above.value)) {
      yield* warn(`${dir} may be written by others (uid ${above.value.uid}, mode ${octal(above.value.mode)}), who could put a directory of their own in place of ${varDir}`)
    }
  }
}).pipe(Effect.catchAll((e) => warn(`cannot make ${e.path} this user's alone: ${e.reason}`)))
