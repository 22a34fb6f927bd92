import { Context, Data, type Effect, type Option } from "effect"

/** The metadata service could not be read within the deadline, or answered nonsense. */
export class ImdsError extends Data.TaggedError("ImdsError")<{
  readonly cloud: string
  readonly url: string
  readonly reason: string
}> {
  override get message() {
    return `${this.cloud}: cannot read ${this.url}: ${this.reason}`
  }
}

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
      : `unknown cloud '${this.cloud}': set CLOUD in /etc/tiny-cloud.conf`
  }
}

export type MetadataError = ImdsError | MetadataUnsupported | NoCloud

export const NIC_ALIASES = ["@mac", "@ipv4", "@ipv6", "@ipv4-net", "@ipv6-net", "@ipv4-prefix", "@ipv6-prefix"] as const
export type NicAlias = (typeof NIC_ALIASES)[number]

/** What `imds` and the actions read from the cloud. Absent data is `None`, never an error. */
export interface CloudMetadata {
  readonly cloud: string
  /** a path under the cloud's metadata root, used verbatim */
  readonly get: (path: string) => Effect.Effect<Option.Option<Uint8Array>, MetadataError>
  readonly hostname: Effect.Effect<Option.Option<string>, MetadataError>
  readonly localHostname: Effect.Effect<Option.Option<string>, MetadataError>
  /** every key, sorted and unique */
  readonly sshKeys: Effect.Effect<ReadonlyArray<string>, MetadataError>
  /** raw bytes, decoded where the cloud encodes them (base64) */
  readonly userData: Effect.Effect<Option.Option<Uint8Array>, MetadataError>
  readonly nics: Effect.Effect<Option.Option<Uint8Array>, MetadataError>
  /** a NIC's datum by its MAC address: an alias or a verbatim sub-path */
  readonly nic: (mac: string, key: string) => Effect.Effect<Option.Option<Uint8Array>, MetadataError>
}

export class Metadata extends Context.Tag("tiny-cloud/Metadata")<Metadata, CloudMetadata>() {}
