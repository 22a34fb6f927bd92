/**
 * Every failure the program names, as tagged errors matched by tag. Each
 * message is one line that names the problem; none holds user-data, keys or
 * tokens, because messages are logged.
 */
import * as Data from "effect/Data"
import { printable } from "./text.js"

/** An action's own reason for failing. */
export class ActionFailed extends Data.TaggedError("ActionFailed")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/**
 * A value from the cloud or the user-data that cannot be used (a host name
 * that is not one, an answer past its limit): the action fails, and its phase goes on, so that what
 * the value does not touch (the user's keys) is still done.
 */
export class UnusableValue extends Data.TaggedError("UnusableValue")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export class FsError extends Data.TaggedError("FsError")<{
  readonly op: string
  readonly path: string
  readonly reason: string
  /** the system's code where the system refused (`EACCES`...): what a program matches, never the reason's words */
  readonly code?: string
  /** the file was larger than this many bytes, the limit it was read with */
  readonly exceeded?: number
  /** the size of the file refused for it */
  readonly size?: number
}> {
  override get message() {
    return `${this.op} ${this.path}: ${this.reason}`
  }
}

export class CommandError extends Data.TaggedError("CommandError")<{
  readonly command: string
  readonly reason: string
  readonly exitCode?: number
}> {
  override get message() {
    return `${this.command}: ${this.reason}`
  }
}

/**
 * The request never got an HTTP answer it could use: refused, reset, timed out (`timedOut`); `final` when asking again
 * cannot change it (it could not even be sent from here, or the answer came in a content coding not read here);
 * `noNetwork` when this host has no route to the address's network at all (ENETUNREACH: an IPv4 address from an
 * instance that has none; EADDRNOTAVAIL on connect: an IPv6 address from one with IPv6 disabled); `unconnected`
 * when it timed out before a connection was made (nothing at the address answered, not an answer that was lost).
 */
export class HttpTransportError extends Data.TaggedError("HttpTransportError")<{
  readonly reason: string
  readonly final?: boolean
  readonly timedOut?: boolean
  readonly unconnected?: boolean
  readonly noNetwork?: boolean
}> {
  override get message() {
    return this.reason
  }
}

/** The answer grew past the limit it was read with; the connection was dropped there. */
export class HttpAnswerTooLarge extends Data.TaggedError("HttpAnswerTooLarge")<{ readonly limit: number }> {
  override get message() {
    return `answer exceeds ${this.limit} bytes`
  }
}

/** The metadata service could not be read within the deadline, or answered nonsense. */
export class ImdsError extends Data.TaggedError("ImdsError")<{
  readonly cloud: string
  readonly url: string
  readonly reason: string
  /** the HTTP status of the answer that failed the read (its reason names it too): what a program matches */
  readonly status?: number
  /** the answer was larger than this many bytes, the limit of its kind */
  readonly exceeded?: number
  /**
   * the answer came and cannot be used (a key list past IMDS_MAX_KEYS, not the JSON or YAML document it should be,
   * an error status not retried: 403), or asking again, at this boot or the next, cannot change it (a local seed
   * file that is not a regular file, a redirect loop, a socket path that is no socket)
   */
  readonly unusable?: true
  /** the answer was a redirect (301, 302, 303, 307, 308) to this `Location`, as sent: never part of the message (NoCloud seed reads follow it) */
  readonly redirect?: string
  /** the answer said what was posted is out of date (PostOptions.staleOn): made anew, it may be taken */
  readonly stale?: true
}> {
  override get message() {
    return `${this.cloud}: cannot read ${this.url}: ${this.reason}`
  }
}

/**
 * An answer that came and cannot be used (past its size limit, a key list
 * past IMDS_MAX_KEYS, invalid JSON or YAML) as an UnusableValue, which fails
 * its action alone; any other failure (a service that cannot be read) as it is.
 */
export const unusableAnswer = <E extends { readonly _tag: string }>(e: E): E | UnusableValue =>
  e instanceof ImdsError && (e.exceeded !== undefined || e.unusable === true) ? new UnusableValue({ reason: e.message }) : e

/**
 * The metadata service could not be read (refused, reset, timed out, an error
 * status after the retries and the deadline): not an answer that came and
 * cannot be used, nor a datum the cloud does not have (which is no failure).
 */
export const isMetadataUnread = (e: { readonly _tag: string }): boolean => e instanceof ImdsError && e.exceeded === undefined && e.unusable !== true

/** The cloud has no such thing (e.g. `@nics` on hetzner). */
export class MetadataUnsupported extends Data.TaggedError("MetadataUnsupported")<{
  readonly cloud: string
  readonly what: string
}> {
  override get message() {
    return `${this.what} is not available on this cloud (${this.cloud})`
  }
}

/** CLOUD is `unknown` (nothing detected) or names no cloud we know. */
export class NoCloud extends Data.TaggedError("NoCloud")<{ readonly cloud: string }> {
  override get message() {
    return this.cloud === "unknown"
      ? "no cloud detected: set CLOUD in /etc/tiny-cloud.conf"
      : `unknown cloud '${printable(this.cloud)}': set CLOUD in /etc/tiny-cloud.conf`
  }
}

/** A local metadata source (a NoCloud seed) could not be loaded. */
export class SeedError extends Data.TaggedError("SeedError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export type MetadataError = ImdsError | MetadataUnsupported | NoCloud | SeedError

export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export class DecompressError extends Data.TaggedError("DecompressError")<{ readonly format: string; readonly reason: string }> {
  override get message() {
    return `cannot decompress ${this.format} data: ${this.reason}`
  }
}

/** An exclusive lock on a file could not be taken. */
export class LockError extends Data.TaggedError("LockError")<{ readonly path: string; readonly reason: string }> {
  override get message() {
    return `cannot lock ${this.path}: ${this.reason}`
  }
}

/**
 * A phase run by a program of the phase that holds the state directory's lock (a user-data script, runcmd): waiting
 * for that phase's end, which waits for this program, neither would ever end.
 */
export class LockHeldByCaller extends Data.TaggedError("LockHeldByCaller")<{}> {
  override get message() {
    return `another phase is running: the one this command runs under (a program of it, a user-data script or runcmd), which would wait for it while it waits for that phase's end; not run`
  }
}
