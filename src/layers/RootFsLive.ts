import * as nodeFs from "node:fs"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { digestOf } from "../domain/append-journal.js"
import { FsError } from "../domain/errors.js"
import { bytesOf, messageOf, textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { LINE_MAX_BYTES, READ_MAX_BYTES, type Ownership, type RootFsShape, type WriteOptions } from "../services/RootFs.js"
import { resolveInRoot, type FinalLink } from "./in-root.js"
import { programAlive } from "./alive.js"
import { claimLog, readRegularFile, reasonOf, scanRegularFileLines } from "./regular-file.js"
import { dirname, mkdirs, onItself } from "./directories.js"


const isNotFound = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT"

/** a system call's failure, named as the program names it, with the system's code */
const failure = (op: string, path: string, e: unknown): FsError => {
  const code = (e as NodeJS.ErrnoException).code
  return new FsError({ op, path, reason: reasonOf(e), ...(typeof code === "string" ? { code } : {}) })
}

/** one system call, its failure named as the program names it */
const sys = <A>(op: string, path: string, f: () => A) => Effect.try({ try: f, catch: (e) => failure(op, path, e) })

/** `mkdirs`, `path` naming it in a message */
const makeDirectories = (path: string, hostPath: string, mode: number) =>
  Effect.try({
    try: () => mkdirs(hostPath, mode),
    catch: (e) => new FsError({ op: "mkdir", path, reason: (e as NodeJS.ErrnoException).code === "EEXIST" ? "not a directory" : reasonOf(e) })
  })

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1)


/**
 * A directory made for a file (and its missing parents) is others' to enter,
 * not to write in, whatever the umask (mdev and some supervisors give 0):
 * `$TINY_CLOUD_VAR` world-writable would let anyone replace the user-data root runs
 */
const DIRECTORY_MODE = 0o755

/** the operations that write, make, remove or give a mode or owner (realpath and resolve: for a chown, a program to run) */
const CHANGES: ReadonlySet<string> = new Set(["write", "mkdir", "remove", "symlink", "chmod", "chown", "append", "mktemp", "realpath", "resolve"])

/** the temporary files of writes: `.NAME.tmp-PID-N` beside the file */
const TEMP = /^\.(.+)\.tmp-(\d+)-\d+$/

/** the longest name of a file, in bytes */
const NAME_MAX = 255
/** what a temporary's name adds to its file's: `.`, `.tmp-`, a pid and a counter (10 digits each at most) */
const TEMP_EXTRA = 1 + 5 + 10 + 1 + 10

/**
 * The file's name as its temporaries carry it: whole where theirs still fits in NAME_MAX bytes; else its start (cut
 * between characters) and a digest of it, so that a file whose name is near the limit (a 250-character user's doas
 * rules, a write_files path) is still written, and a crashed run's temporaries are still known as its own.
 */
const tempStem = (name: string) => {
  const bytes = Buffer.from(name)
  if (bytes.length + TEMP_EXTRA <= NAME_MAX) return name
  let keep = NAME_MAX - TEMP_EXTRA - 17
  while (keep > 0 && (bytes[keep]! & 0xc0) === 0x80) keep--
  return `${bytes.subarray(0, keep).toString("utf8")}~${digestOf(bytes)}`
}

/** the `n`th temporary of this process for the file `name` in `dir` */
const temporaryIn = (dir: string, name: string, n: number) => `${dir}/.${tempStem(name)}.tmp-${process.pid}-${n}`

/**
 * The `temporaryOf` files this process has in use. Another temporary named
 * with this process's pid is a crashed run's: after a reboot a phase may well
 * get the pid it had before (a boot starts the same programs in the same
 * order), and its writes the same names, which `wx` would refuse.
 */
const ownTemporaries = new Set<string>()

/** a directory's temporaries (`TEMP` names) by the stem they carry, as one reading of it found them */
type TemporariesSeen = Map<string, Array<string>>

const readTemporaries = (dir: string): TemporariesSeen | undefined => {
  let entries: Array<string>
  try {
    entries = nodeFs.readdirSync(dir)
  } catch {
    return undefined
  }
  const seen: TemporariesSeen = new Map()
  for (const entry of entries) {
    const m = TEMP.exec(entry)
    if (m === null) continue
    seen.set(m[1]!, [...(seen.get(m[1]!) ?? []), entry])
  }
  return seen
}

/**
 * temporaries of this file left by a writer that is gone (a crash; after a reboot, its pid may be another program's),
 * among those `seen` in its directory; those of a writer still at work stay there, to be asked about again
 */
const removeStaleTemporaries = (dir: string, name: string, seen: TemporariesSeen) => {
  const stem = tempStem(name)
  const left: Array<string> = []
  for (const entry of seen.get(stem) ?? []) {
    const pid = Number(TEMP.exec(entry)![2])
    if (pid === process.pid ? !ownTemporaries.has(`${dir}/${entry}`) : !programAlive(pid)) discard(`${dir}/${entry}`)
    else left.push(entry)
  }
  if (left.length > 0) seen.set(stem, left)
  else seen.delete(stem)
}

/**
 * All of `bytes` at `at`: a write may take only part of them (a filling disk
 * takes what fits and fails only the next write, ENOSPC), so one call is no
 * proof that the file holds them. A write that takes none (a FUSE file
 * system may answer so) would be asked again without end: it fails
 */
const writeAll = (fd: number, bytes: Uint8Array, at: number) => {
  let written = 0
  while (written < bytes.length) {
    const n = nodeFs.writeSync(fd, bytes, written, bytes.length - written, at + written)
    if (n === 0) throw new Error("the file system took none of its bytes")
    written += n
  }
}

/**
 * `from`'s bytes written into `fd` from `at` on, a chunk at a time: a user program's output of gigabytes costs no more memory than a chunk.
 * As many as it holds as it is opened: a background process of the user's still writing into it faster than they are copied
 * (`yes &` in a runcmd) would otherwise keep the copy, and the phase, going until the disk is full
 */
const copyAll = (fd: number, from: string, at: number) => {
  const source = nodeFs.openSync(from, "r")
  try {
    const size = nodeFs.fstatSync(source).size
    const chunk = Buffer.alloc(1024 * 1024)
    for (let offset = 0; offset < size; ) {
      const n = nodeFs.readSync(source, chunk, 0, Math.min(chunk.length, size - offset), offset)
      if (n === 0) return
      writeAll(fd, chunk.subarray(0, n), at + offset)
      offset += n
    }
  } finally {
    nodeFs.closeSync(source)
  }
}

/** an append under way: `.NAME.append-LENGTH` beside the file, the bytes to append, LENGTH the file's length before it */
const PENDING = /^\.(.+)\.append-(\d+)$/

/** appends `pending`'s bytes to `target`, which had `length` bytes before (more is a half-done append of them: cut), then drops `pending` */
const completeAppend = (target: string, pending: string, length: number, mode: number) => {
  // what is no regular file is refused before it is opened: a FIFO's open for writing would wait for a reader for ever (and,
  // non-blocking, one put there since fails with ENXIO), a directory's says EISDIR's words
  if (nodeFs.lstatSync(target, { throwIfNoEntry: false })?.isFile() === false) throw new Error("not a regular file; refused")
  const fd = nodeFs.openSync(target, nodeFs.constants.O_WRONLY | nodeFs.constants.O_CREAT | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK, mode)
  try {
    // the program's own file (a hard link, user-data.log another name of /etc/passwd, refused): its mode and owner whatever it had
    claimLog(fd, mode)
    const size = nodeFs.fstatSync(fd).size
    if (size > length) nodeFs.ftruncateSync(fd, length)
    // a log made shorter since (rotated, emptied) is appended to at its end, not padded out to LENGTH with zeros
    const at = Math.min(size, length)
    try {
      copyAll(fd, pending, at)
      nodeFs.fsyncSync(fd)
    } catch (e) {
      // a failure, not a crash (a full disk): what the write took is cut off, never left as a half-written append
      try {
        nodeFs.ftruncateSync(fd, at)
      } catch {
        // the failure named is the write's
      }
      throw e
    }
  } finally {
    nodeFs.closeSync(fd)
  }
  nodeFs.unlinkSync(pending)
}

/** the appends to `name` that a killed process left under way, completed */
const completePendingAppends = (dir: string, name: string, mode: number) => {
  const pending = nodeFs
    .readdirSync(dir)
    .map((entry) => ({ entry, m: PENDING.exec(entry) }))
    .filter(({ m }) => m !== null && m[1] === name)
    .map(({ entry, m }) => ({ path: `${dir}/${entry}`, length: Number(m![2]) }))
    // in the order they were made (by length, not by name: '-12' sorts before '-4'); only this program's own files: a link or a directory of that name is never read
    .filter(({ path }) => nodeFs.lstatSync(path, { throwIfNoEntry: false })?.isFile() === true)
    .sort((a, b) => a.length - b.length)
  for (const { path, length } of pending) completeAppend(`${dir}/${name}`, path, length, mode)
}

/**
 * A temporary removed where it can be (a failed write's own, the write's failure still the one named; a dead writer's): in an append-only
 * directory (`chattr +a`) nothing is unlinked, and rmSync takes a file it may not unlink for a directory, naming its
 * scandir's 'not a directory' in place of the refusal (the temporary stays there then, as everything does)
 */
const discard = (temp: string) => {
  try {
    nodeFs.unlinkSync(temp)
  } catch {
    // gone already, or kept by its directory
  }
}

const SLASH = Buffer.from("/")

/**
 * `hostPath`, and all a directory there holds, one unlink or rmdir each, so that a failure is the kernel's own and names the entry
 * it was for: rmSync takes a file it may not unlink (immutable) for a directory, and names its scandir's 'not a directory'. What is
 * not there is passed over (a read-only file system answers unlink of a missing file with EROFS, never met by an lstat first); every
 * entry is tried, the first failure returned. Names are bytes: one that is no UTF-8 goes too.
 */
const removeTree = (hostPath: Buffer): { readonly at: Buffer; readonly error: unknown } | undefined => {
  try {
    const stat = nodeFs.lstatSync(hostPath, { throwIfNoEntry: false })
    if (stat === undefined) return undefined
    if (!stat.isDirectory()) {
      nodeFs.unlinkSync(hostPath)
      return undefined
    }
    const failed = nodeFs
      .readdirSync(hostPath, { encoding: "buffer" })
      .map((name) => removeTree(Buffer.concat([hostPath, SLASH, name])))
      .find((f) => f !== undefined)
    if (failed !== undefined) return failed
    nodeFs.rmdirSync(hostPath)
    return undefined
  } catch (error) {
    return isNotFound(error) ? undefined : { at: hostPath, error }
  }
}

export const makeRootFs = (root: string) =>
  Effect.sync(() => {
    let tempCounter = 0
    /**
     * each directory's temporaries, read at its first write: a crash leaves them before this run, which makes none that
     * outlive it but its own (reading the directory at every write made thousands of write_files into one directory,
     * or a MIME document's thousands of parts, quadratic: minutes before set_ssh_keys)
     */
    const temporariesSeen = new Map<string, TemporariesSeen>()
    const removeStaleBeside = (dir: string, name: string, fresh = false) => {
      const seen = (fresh ? undefined : temporariesSeen.get(dir)) ?? readTemporaries(dir)
      if (seen === undefined) return
      temporariesSeen.set(dir, seen)
      removeStaleTemporaries(dir, name, seen)
    }

    /** the host path an operation works on: under ROOT, links resolved inside it; another user's refused on what it changes */
    const inRoot = (op: string, path: string, final: FinalLink) =>
      Effect.try({
        try: () => resolveInRoot(root, path, final, CHANGES.has(op) ? "refuse" : "follow"),
        catch: (e) => new FsError({ op, path, reason: messageOf(e) })
      })

    const exists = (path: string) =>
      inRoot("stat", path, "follow").pipe(
        Effect.map((p) => nodeFs.existsSync(p)),
        Effect.orElseSucceed(() => false)
      )

    const makeDirectory: RootFsShape["makeDirectory"] = (path, options) =>
      Effect.flatMap(inRoot("mkdir", path, options?.noFollow ? "refuse" : "follow"), (p) => makeDirectories(path, p, options?.mode ?? DIRECTORY_MODE))

    /**
     * A regular file's bytes; anything else (a FIFO, a device: a read that
     * would wait or never end) is refused, without waiting to open it
     */
    const readRegular = (p: string, path: string, maxBytes: number): Uint8Array => {
      const read = readRegularFile(p, maxBytes)
      if (read instanceof Uint8Array) return read
      throw new FsError({ op: "read", path, reason: read.refused, ...(read.exceeded !== undefined ? { exceeded: read.exceeded, size: read.size } : {}) })
    }

    const readFileIfExists: RootFsShape["readFileIfExists"] = (path, options) =>
      Effect.flatMap(inRoot("read", path, "follow"), (p) =>
        Effect.suspend(() => {
          try {
            return Effect.succeed(Option.some<Uint8Array>(readRegular(p, path, options?.maxBytes ?? READ_MAX_BYTES)))
          } catch (e) {
            if (e instanceof FsError) return Effect.fail(e)
            return isNotFound(e) ? Effect.succeed(Option.none<Uint8Array>()) : Effect.fail(failure("read", path, e))
          }
        })
      )

    const writeAtomic: RootFsShape["writeAtomic"] = (path, data, options?: WriteOptions) =>
      Effect.gen(function* () {
        const target = yield* inRoot("write", path, options?.noFollow ? "refuse" : "follow")
        const present = (() => {
          try {
            return nodeFs.lstatSync(target)
          } catch {
            return undefined
          }
        })()
        if (present !== undefined && !present.isFile()) return yield* Effect.fail(new FsError({ op: "write", path, reason: "not a regular file; refused" }))
        const bytes = typeof data === "string" ? bytesOf(data) : data
        const kept = options?.keep === true && present !== undefined ? { mode: present.mode & 0o7777, uid: present.uid, gid: present.gid } : undefined
        if (kept !== undefined && present!.size === bytes.length && (yield* sys("write", path, () => nodeFs.readFileSync(target).equals(bytes)))) return
        const mode = kept?.mode ?? options?.mode ?? 0o644
        const owner = kept ?? (options?.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : undefined)
        const dir = dirname(target)
        yield* makeDirectories(dirname(path), dir, DIRECTORY_MODE)
        removeStaleBeside(dir, basename(target))
        const temp = temporaryIn(dir, basename(target), tempCounter++)
        yield* sys("write", path, () => {
          try {
            const fd = nodeFs.openSync(temp, "wx", mode)
            try {
              writeAll(fd, bytes, 0)
              nodeFs.fsyncSync(fd)
              // on the file opened, never by its name: in a directory its user may write (~/.ssh) the temporary may have been
              // swapped meanwhile for a link to /etc/shadow, which a chown by name would give them. The owner first: chown
              // clears the setuid and setgid bits of a file, even root's chown; then the mode, which the umask may have narrowed
              if (owner !== undefined) nodeFs.fchownSync(fd, owner.uid, owner.gid)
              nodeFs.fchmodSync(fd, mode)
            } finally {
              nodeFs.closeSync(fd)
            }
            nodeFs.renameSync(temp, target)
          } catch (e) {
            discard(temp)
            throw e
          }
        })
      })

    const service: RootFsShape = {
      root,
      at: (p) => `${root}${p.startsWith("/") ? p : `/${p}`}`,
      readFile: (path, options) =>
        Effect.flatMap(readFileIfExists(path, options), Option.match({ onNone: () => Effect.fail(new FsError({ op: "read", path, reason: "not found" })), onSome: Effect.succeed })),
      readText: (path) =>
        Effect.flatMap(readFileIfExists(path), Option.match({ onNone: () => Effect.fail(new FsError({ op: "read", path, reason: "not found" })), onSome: (b) => Effect.succeed(textOf(b)) })),
      readFileIfExists,
      readTextIfExists: (path) => readFileIfExists(path).pipe(Effect.map(Option.map(textOf))),
      scanLines: (path, visit) =>
        Effect.flatMap(inRoot("read", path, "follow"), (p) =>
          Effect.suspend(() => {
            try {
              const refusal = scanRegularFileLines(p, visit, LINE_MAX_BYTES)
              return refusal === undefined ? Effect.succeed(true) : Effect.fail(new FsError({ op: "read", path, reason: refusal.refused }))
            } catch (e) {
              return isNotFound(e) ? Effect.succeed(false) : Effect.fail(failure("read", path, e))
            }
          })
        ),
      exists,
      isDirectory: (path) =>
        inRoot("stat", path, "follow").pipe(
          Effect.flatMap((p) => sys("stat", path, () => nodeFs.statSync(p).isDirectory())),
          Effect.orElseSucceed(() => false)
        ),
      isFile: (path) =>
        inRoot("stat", path, "follow").pipe(
          Effect.flatMap((p) => sys("stat", path, () => nodeFs.statSync(p).isFile())),
          Effect.orElseSucceed(() => false)
        ),
      isSymlink: (path) =>
        inRoot("stat", path, "keep").pipe(
          Effect.flatMap((p) => sys("stat", path, () => nodeFs.lstatSync(p).isSymbolicLink())),
          Effect.orElseSucceed(() => false)
        ),
      ownership: (path) =>
        Effect.flatMap(inRoot("stat", path, "follow"), (p) =>
          sys("stat", path, () => {
            const s = nodeFs.statSync(p, { throwIfNoEntry: false })
            return s === undefined ? Option.none<Ownership>() : Option.some({ mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, links: s.nlink })
          })
        ),
      writeAtomic,
      addLinesOnce: (path, lines, options) =>
        Effect.gen(function* () {
          const current = Option.getOrElse(yield* readFileIfExists(path), () => new Uint8Array())
          const text = textOf(current)
          const present = new Set(text.split("\n"))
          const missing = lines.filter((l) => {
            if (present.has(l)) return false
            present.add(l)
            return true
          })
          if (missing.length === 0) return
          const sep = text === "" || text.endsWith("\n") ? "" : "\n"
          // a file that is there keeps its mode and owner, as when appended to
          yield* writeAtomic(path, `${text}${sep}${missing.join("\n")}\n`, { ...options, keep: true })
        }),
      makeDirectory,
      readDirectory: (path) =>
        Effect.flatMap(inRoot("list", path, "follow"), (p) =>
          Effect.suspend(() => {
            try {
              return Effect.succeed(nodeFs.readdirSync(p).sort())
            } catch (e) {
              return isNotFound(e) ? Effect.succeed([]) : Effect.fail(failure("list", path, e))
            }
          })
        ),
      remove: (path, options) =>
        Effect.flatMap(inRoot("remove", path, "keep"), (p) =>
          Effect.flatMap(
            sys("remove", path, () => {
              // a directory only when asked (rmSync refuses it: 'is a directory')
              if (options?.recursive !== true && nodeFs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory() === true) nodeFs.rmSync(p)
              return removeTree(Buffer.from(p))
            }),
            (failed) => {
              if (failed !== undefined) {
                return Effect.fail(failure("remove", `${path}${failed.at.subarray(Buffer.byteLength(p)).toString()}`, failed.error))
              }
              ownTemporaries.delete(p)
              ownTemporaries.delete(path)
              return Effect.void
            }
          )
        ),
      symlink: (target, path) =>
        Effect.gen(function* () {
          const p = yield* inRoot("symlink", path, "keep")
          yield* makeDirectories(dirname(path), dirname(p), DIRECTORY_MODE)
          // made beside it and renamed over what is there, in one step: a program doing the same at the same time (two mdev
          // events for one volume) never finds the path empty, nor fails for the other's link (unlinked, then made: EEXIST)
          removeStaleBeside(dirname(p), basename(p))
          const temp = temporaryIn(dirname(p), basename(p), tempCounter++)
          yield* sys("symlink", path, () => {
            nodeFs.symlinkSync(target, temp)
            try {
              nodeFs.renameSync(temp, p)
            } catch (e) {
              discard(temp)
              throw e
            }
          })
        }),
      readLink: (path) => Effect.flatMap(inRoot("readlink", path, "keep"), (p) => sys("readlink", path, () => nodeFs.readlinkSync(p))),
      realPath: (path) =>
        Effect.flatMap(inRoot("realpath", path, "follow"), (p) =>
          sys("realpath", path, () => (root === "" ? nodeFs.realpathSync(p) : (nodeFs.statSync(p), p)))
        ),
      resolve: (path) => inRoot("resolve", path, "follow"),
      chmod: (path, mode) => Effect.flatMap(inRoot("chmod", path, "refuse"), (p) => sys("chmod", path, () => onItself(p, (fd) => nodeFs.fchmodSync(fd, mode)))),
      chown: (path, uid, gid) => Effect.flatMap(inRoot("chown", path, "refuse"), (p) => sys("chown", path, () => onItself(p, (fd) => nodeFs.fchownSync(fd, uid, gid)))),
      makeTempDirectory: (prefix) =>
        Effect.gen(function* () {
          const dir = yield* inRoot("mktemp", dirname(prefix), "follow")
          return yield* sys("mktemp", prefix, () => {
            // root's alone, as the resident process keeps /run/tiny-cloud: a volume mounted here shows its own modes
            // (vfat's: readable by all), and a seed's user-data is no one else's to read while it is copied
            mkdirs(dir, 0o700)
            return nodeFs.mkdtempSync(`${dir}/${basename(prefix)}${process.pid}-`)
          })
        }),
      // beside the path itself, as without ROOT: a link in its place (a log's, planted) is the append's to refuse, and never
      // takes the temporary, the program's own output, to where it leads (a directory there or not)
      temporaryOf: (path) =>
        Effect.map(inRoot("write", path, "keep"), (target) => {
          const temp = temporaryIn(dirname(target), basename(target), tempCounter++)
          ownTemporaries.add(temp)
          return temp
        }),
      createFile: (path) => Effect.flatMap(inRoot("write", path, "refuse"), (p) => sys("write", path, () => nodeFs.closeSync(nodeFs.openSync(p, "wx", 0o600)))),
      appendFrom: (path, from, options) =>
        Effect.flatMap(inRoot("append", path, "refuse"), (target) =>
          sys("append", path, () => {
            const dir = dirname(target)
            const name = basename(target)
            const mode = options?.mode ?? 0o644
            completePendingAppends(dir, name, mode)
            if (nodeFs.statSync(from).size === 0) {
              ownTemporaries.delete(from)
              return nodeFs.unlinkSync(from)
            }
            const length = (() => {
              try {
                const s = nodeFs.lstatSync(target)
                if (!s.isFile()) throw new Error("not a regular file; refused")
                return s.size
              } catch (e) {
                if (isNotFound(e)) return 0
                throw e
              }
            })()
            // named with the length before it, so a crash from here on is completed, not doubled, by the next append
            const pending = `${dir}/.${name}.append-${length}`
            nodeFs.renameSync(from, pending)
            ownTemporaries.delete(from)
            try {
              completeAppend(target, pending, length, mode)
            } catch (e) {
              // its bytes given back, not kept to fill the disk that refused them (a crash's are the next append's to complete)
              discard(pending)
              throw e
            }
          })
        ),
      removeStaleTemporaries: (path) =>
        inRoot("write", path, "keep").pipe(
          Effect.map((target) => removeStaleBeside(dirname(target), basename(target), true)),
          Effect.ignore
        ),
      staleTempDirectories: (prefix) =>
        inRoot("list", dirname(prefix), "follow").pipe(
          Effect.map((dir) => {
            const base = basename(prefix)
            let entries: Array<string> = []
            try {
              entries = nodeFs.readdirSync(dir)
            } catch {
              // no directory, no leftovers
            }
            return entries
              .filter((e) => {
                const pid = e.startsWith(base) ? /^(\d+)-[^/]{6}$/.exec(e.slice(base.length))?.[1] : undefined
                return pid !== undefined && !programAlive(Number(pid))
              })
              .map((e) => `${dir}/${e}`)
              // a directory itself, as mkdtemp made it: a link of the name (planted) is none, and umount would follow it out of ROOT;
              // and ours (this user's): in a directory all may write to ($ROOT/tmp) another user's of the name is theirs, which
              // they could turn into a link between this look and umount or the removal
              .filter((p) => {
                const st = nodeFs.lstatSync(p, { throwIfNoEntry: false })
                return st?.isDirectory() === true && (process.getuid === undefined || st.uid === process.getuid())
              })
          }),
          Effect.orElseSucceed(() => [])
        )
    }
    return service
  })

/** RootFs over the real filesystem, rooted at the configured `ROOT`. */
export const liveRootFs = Effect.flatMap(Config, (settings) => makeRootFs(settings.root))
