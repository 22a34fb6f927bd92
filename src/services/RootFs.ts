import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { containerOf, INIT_ENVIRON } from "../domain/container.js"
import type { FsError } from "../domain/errors.js"

/** a file's permission bits and owner */
export interface Ownership {
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** how many names the file has (a hard link: more than one), where it was looked at */
  readonly links?: number
}

export interface WriteOptions {
  /** final permission bits, applied before the file becomes visible */
  readonly mode?: number
  /** owner applied before the file becomes visible (-1: the writer's, as chown(2) leaves it) */
  readonly uid?: number
  readonly gid?: number
  /** the program's own files (keys, state): a link in the file's place is refused, not followed */
  readonly noFollow?: boolean
  /**
   * a file that is there keeps its mode and owner (an edit of the image's file); these options are for a new one. One
   * that holds these bytes already is left as it is: an edit that changes nothing (an operator's file, made immutable
   * with what the action writes, is nothing to refuse)
   */
  readonly keep?: boolean
}

/**
 * The most a read takes without a `maxBytes` of its own: the image's and the
 * program's files (passwd, hosts, mounts, state) are far smaller, and one
 * grown huge (a full disk, a local user) must fail its action in one line,
 * not take the phase's memory or pass the longest string Node makes
 */
export const READ_MAX_BYTES = 16 * 1024 * 1024

/** the longest line `scanLines` reads: an account's line in /etc/passwd, /etc/group or /etc/shadow is far shorter */
export const LINE_MAX_BYTES = 1024 * 1024

/**
 * The instance's filesystem. Every path is a host path; `at` maps an
 * instance path ("/etc/hostname") under `ROOT`. A path under ROOT is
 * resolved as a chroot would: links never lead outside ROOT. Only a regular
 * file (or nothing) is ever replaced by a write.
 */
export interface RootFsShape {
  readonly root: string
  readonly at: (instancePath: string) => string
  /** `maxBytes` (default READ_MAX_BYTES): a larger file is an error, and is not read */
  readonly readFile: (path: string, options?: { readonly maxBytes?: number }) => Effect.Effect<Uint8Array, FsError>
  readonly readText: (path: string) => Effect.Effect<string, FsError>
  /** None when the file does not exist */
  readonly readTextIfExists: (path: string) => Effect.Effect<Option.Option<string>, FsError>
  readonly readFileIfExists: (path: string, options?: { readonly maxBytes?: number }) => Effect.Effect<Option.Option<Uint8Array>, FsError>
  /**
   * Each line of the file, in order, read a block at a time (whatever its size: no READ_MAX_BYTES), a line longer
   * than LINE_MAX_BYTES passed over; `visit` returning true ends the read. False when the
   * file does not exist; anything but a regular file is refused as `readFile` refuses it
   */
  readonly scanLines: (path: string, visit: (line: string) => boolean | void) => Effect.Effect<boolean, FsError>
  readonly exists: (path: string) => Effect.Effect<boolean>
  readonly isDirectory: (path: string) => Effect.Effect<boolean>
  /** a regular file, links followed (sh's `test -f`) */
  readonly isFile: (path: string) => Effect.Effect<boolean>
  readonly isSymlink: (path: string) => Effect.Effect<boolean>
  /** the mode and owner of the file `path` leads to; None when nothing is there */
  readonly ownership: (path: string) => Effect.Effect<Option.Option<Ownership>, FsError>
  /** temporary file in the same directory, fsync, rename: never half-written */
  readonly writeAtomic: (path: string, data: Uint8Array | string, options?: WriteOptions) => Effect.Effect<void, FsError>
  /** appends each line not already present (whole-line match), atomically */
  readonly addLinesOnce: (path: string, lines: ReadonlyArray<string>, options?: WriteOptions) => Effect.Effect<void, FsError>
  /** with its parents; `noFollow`: a link in the directory's place is refused */
  readonly makeDirectory: (path: string, options?: { readonly mode?: number; readonly noFollow?: boolean }) => Effect.Effect<void, FsError>
  /** entry names, empty when the directory does not exist */
  readonly readDirectory: (path: string) => Effect.Effect<ReadonlyArray<string>, FsError>
  readonly remove: (path: string, options?: { readonly recursive?: boolean }) => Effect.Effect<void, FsError>
  /** a link replacing an existing link */
  readonly symlink: (target: string, path: string) => Effect.Effect<void, FsError>
  readonly readLink: (path: string) => Effect.Effect<string, FsError>
  readonly realPath: (path: string) => Effect.Effect<string, FsError>
  /** the host path `path` leads to, its links followed inside ROOT as a chroot would, whether or not anything is there */
  readonly resolve: (path: string) => Effect.Effect<string, FsError>
  /** on the file or directory itself: a link in its place is refused, never followed */
  readonly chmod: (path: string, mode: number) => Effect.Effect<void, FsError>
  /** on the file or directory itself: a link in its place is refused, never followed */
  readonly chown: (path: string, uid: number, gid: number) => Effect.Effect<void, FsError>
  /** a new directory `PREFIX<pid>-XXXXXX`, this process's */
  readonly makeTempDirectory: (prefix: string) => Effect.Effect<string, FsError>
  /** the directories `makeTempDirectory(prefix)` made for processes that are gone (a crash's leftovers); a link of such a name is none */
  readonly staleTempDirectories: (prefix: string) => Effect.Effect<ReadonlyArray<string>>
  /** `.NAME.tmp-PID-N` beside `path`, a temporary of its own for this process (what a crash leaves of it is removed by the next write, the directory being read for them at this run's first write into it, or by `removeStaleTemporaries`, which reads it again) */
  readonly temporaryOf: (path: string) => Effect.Effect<string, FsError>
  /** an empty file made where nothing is (a link or anything else there is refused, not followed) */
  readonly createFile: (path: string) => Effect.Effect<void, FsError>
  /** the temporaries of `path` that processes now gone left (a crash's) */
  readonly removeStaleTemporaries: (path: string) => Effect.Effect<void>
  /**
   * Moves the whole of `from` (a `temporaryOf(path)`) onto the end of
   * `path` (which gets `mode`, as a write would give it), without reading or rewriting what
   * `path` holds: the cost is `from`'s size; an empty `from` is dropped and
   * changes nothing. Exactly once across a crash:
   * an append a killed process left half done is undone and done whole by
   * the next `appendFrom` to `path`, never doubled or left half-written;
   * one that fails (a full disk) leaves `path` as it was and keeps nothing of `from`.
   */
  readonly appendFrom: (path: string, from: string, options?: { readonly mode?: number }) => Effect.Effect<void, FsError>
}

export class RootFs extends Context.Tag("tiny-cloud/RootFs")<RootFs, RootFsShape>() {}

/**
 * The kind of container the system runs in (`lxc`, `podman`...), from its init's environment; undefined outside one,
 * or where that cannot be read. There the disks, the kernel's command line and the firmware's strings are the host's.
 */
export const containerKind: Effect.Effect<string | undefined, never, RootFs> = Effect.flatMap(RootFs, (fs) =>
  fs.readTextIfExists(fs.at(INIT_ENVIRON)).pipe(
    Effect.map((environ) => containerOf(Option.getOrElse(environ, () => ""))),
    Effect.orElseSucceed(() => undefined)
  )
)
