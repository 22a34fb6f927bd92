/**
 * The `write_files` appends done in the current first boot, so that a phase
 * rerun after a crash does not append twice. Before an append the journal
 * records the length and digest the file will have after it; a rerun that
 * finds the file starting with those bytes (later appends only add to its
 * end) knows the append happened. The completed first boot and
 * `--bootstrap incomplete` remove the journal (FIRST_BOOT_JOURNALS): a first
 * boot asked for again appends again.
 */
import { posix } from "node:path"

/** in `$TINY_CLOUD_VAR` */
export const APPEND_JOURNAL = ".write_files-appended"

/**
 * In `$TINY_CLOUD_VAR` too: the users user-data asked for that this first
 * boot is making, one a line (`USER DIGEST`, the digest of the saved
 * user-data), each written before its `adduser`. A rerun after a crash
 * between `adduser` and `chpasswd` knows the account is its own, not one the
 * image had, and sets its password. An image that keeps the journal all
 * the same (its builder's first boot killed between the marker and the
 * journals' removal, the marker then removed by hand): its instances' other
 * user-data finds the accounts the image's.
 */
export const USERS_JOURNAL = ".users-created"

/**
 * In `$TINY_CLOUD_VAR` too: the default user whose account create_default_user
 * makes in this first boot, written before its `adduser` (`USER DIGEST`, the
 * digest of the saved user-data). userdata_users sets user-data's `passwd` on
 * such an account alone, as cloud-init sets it only on an account it makes. A
 * rerun after a crash knows the account is its own, not one the image had: the
 * /bin/sh it gave for a login shell not installed is not named as not applied,
 * and options adduser refused are a refusal still. An image that keeps the
 * journal all the same (its builder's first boot killed between the marker
 * and the journals' removal, the marker then removed by hand): its
 * instances' other user-data finds the account the image's.
 */
export const DEFAULT_USER_JOURNAL = ".default-user-created"

/**
 * In `$TINY_CLOUD_VAR` too: the actions of the user's own programs (a
 * user-data script, `runcmd`, multipart scripts) whose programs ran to
 * their end in this first boot, one a line (`ACTION DIGEST`, the digest of
 * the saved user-data they came from, then their failure if they failed),
 * each written once they have ended. A phase run again after a crash (or after a phase killed before
 * it, which leaves the bootstrap incomplete) does not run them a second
 * time, as cloud-init runs its per-instance modules once; programs killed
 * before their end run again.
 */
export const RAN_JOURNAL = ".userdata-ran"

/**
 * The most of a journal of this file that is read: a few lines make one (a
 * line per user, per append, per user-data program the first boot saw); a
 * larger one is damaged, and counts as empty, as one read whole would cost
 * the phase its memory (or, past 512 MiB, the action: no string holds it)
 */
export const JOURNAL_MAX_BYTES = 1024 * 1024

export interface AppendDone {
  /** the entry's place in `write_files`: two entries may append the same text to one file */
  readonly index: number
  readonly path: string
  /** the file's length right after the append, and the digest of those bytes */
  readonly length: number
  readonly digest: string
}

/** a digest of content, not a secret's guard: two FNV-1a variants */
export const digestOf = (bytes: Uint8Array): string => {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193)
    b = Math.imul(b ^ bytes[i]!, 0x01000193)
    b ^= b >>> 15
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`
}

/** a journal's entries (formatJournal's JSON list) of the kind `isEntry` takes; an unreadable journal counts as empty */
const entriesOf = <A>(text: string, isEntry: (e: any) => e is A): ReadonlyArray<A> => {
  try {
    const parsed: unknown = JSON.parse(text)
    return Array.isArray(parsed) ? parsed.filter(isEntry) : []
  } catch {
    return []
  }
}

/** an unreadable journal counts as empty: the append happens again */
export const parseJournal = (text: string): ReadonlyArray<AppendDone> =>
  entriesOf(
    text,
    (e): e is AppendDone => typeof e === "object" && e !== null && typeof e.index === "number" && typeof e.path === "string" && typeof e.length === "number" && typeof e.digest === "string"
  )

export const withAppend = (journal: ReadonlyArray<AppendDone>, done: AppendDone): ReadonlyArray<AppendDone> => [
  ...journal.filter((e) => e.index !== done.index || e.path !== done.path),
  done
]

export const formatJournal = (journal: ReadonlyArray<AppendDone | DirectoriesMade>): string => `${JSON.stringify(journal)}\n`

export const appendDone = (index: number, path: string, after: Uint8Array): AppendDone => ({ index, path, length: after.length, digest: digestOf(after) })

export const isDone = (journal: ReadonlyArray<AppendDone>, index: number, path: string, current: Uint8Array): boolean =>
  journal.some((e) => e.index === index && e.path === path && current.length >= e.length && e.digest === digestOf(current.subarray(0, e.length)))

/**
 * In `$TINY_CLOUD_VAR` too: the directories this first boot is making for
 * cloud-config `write_files` entries with an owner, recorded before they are
 * made, so that a rerun after a crash between making them and `chown` still
 * gives them the file's owner (they are there by then, so no longer new).
 */
export const DIRECTORIES_JOURNAL = ".write_files-directories"

export interface DirectoriesMade {
  /** the entry's place in `write_files`, and its path */
  readonly index: number
  readonly path: string
  /** instance paths, outermost first */
  readonly directories: ReadonlyArray<string>
}

/** an unreadable journal counts as empty */
export const parseDirectoriesJournal = (text: string): ReadonlyArray<DirectoriesMade> =>
  entriesOf(
    text,
    (e): e is DirectoriesMade =>
      typeof e === "object" && e !== null && typeof e.index === "number" && typeof e.path === "string" && Array.isArray(e.directories) && e.directories.every((d: unknown) => typeof d === "string")
  )

/** a directory a record can hold for `path`: one of the directories above it, as a normalized instance path */
const isAbove = (directory: string, path: string) => directory !== "/" && posix.normalize(directory) === directory && path.startsWith(`${directory}/`)

/**
 * the directories recorded for the entry, then those missing now that are not among them; a recorded
 * one that is not above the entry's path (a corrupt record: `/etc`) is never given the file's owner
 */
export const directoriesOf = (journal: ReadonlyArray<DirectoriesMade>, index: number, path: string, missing: ReadonlyArray<string>): ReadonlyArray<string> => {
  const recorded = (journal.find((e) => e.index === index && e.path === path)?.directories ?? []).filter((d) => isAbove(d, path))
  return [...recorded, ...missing.filter((d) => !recorded.includes(d))]
}

export const withDirectories = (journal: ReadonlyArray<DirectoriesMade>, made: DirectoriesMade): ReadonlyArray<DirectoriesMade> => [
  ...journal.filter((e) => e.index !== made.index || e.path !== made.path),
  made
]

/**
 * The journals of this file: each is of one first boot, which a phase run again
 * after a crash reads. A completed first boot leaves none (the marker
 * written, they are removed), nor does `--bootstrap incomplete`: the next
 * first boot, asked for by removing the marker in either way, does its work
 * again, whatever user-data it has.
 */
export const FIRST_BOOT_JOURNALS: ReadonlyArray<string> = [APPEND_JOURNAL, USERS_JOURNAL, DEFAULT_USER_JOURNAL, RAN_JOURNAL, DIRECTORIES_JOURNAL]
