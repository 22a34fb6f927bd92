import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Option from "effect/Option"
import type { MetadataError } from "../domain/errors.js"

const NIC_ALIASES = ["@mac", "@ipv4", "@ipv6", "@ipv4-net", "@ipv6-net", "@ipv4-prefix", "@ipv6-prefix"] as const
export type NicAlias = (typeof NIC_ALIASES)[number]

export const isNicAlias = (key: string): key is NicAlias => (NIC_ALIASES as ReadonlyArray<string>).includes(key)

/** What `imds` and the actions read from the cloud. Absent data is `None`, never an error. */
export interface CloudMetadata {
  /** a path under the cloud's metadata root, used verbatim */
  readonly get: (path: string) => Effect.Effect<Option.Option<Uint8Array>, MetadataError>
  readonly hostname: Effect.Effect<Option.Option<string>, MetadataError>
  readonly localHostname: Effect.Effect<Option.Option<string>, MetadataError>
  /** every key, sorted and unique: the keys of CLOUD_USER */
  readonly sshKeys: Effect.Effect<ReadonlyArray<string>, MetadataError>
  /**
   * the keys of the cloud user of this run, which user-data may have made
   * another than CLOUD_USER: where the cloud names keys by login (gcp), that
   * user's; elsewhere `sshKeys`
   */
  readonly sshKeysFor: (user: string) => Effect.Effect<ReadonlyArray<string>, MetadataError>
  /** raw bytes, decoded where the cloud encodes them (base64) */
  readonly userData: Effect.Effect<Option.Option<Uint8Array>, MetadataError>
  /**
   * what the cloud keeps beside the saved user-data, as the instance has it now (incus: its vendor-data and
   * network-config; a problem is a warning), and what it serves beside it that is not run (gcp's startup scripts),
   * named: done by save_userdata, never by a reader such as imds
   */
  readonly keepWithUserData: Effect.Effect<void>
  /**
   * says, one line each, the ways in the cloud offers that are not set up here for the cloud user of this run (azure's
   * password and admin user, gcp's OS Login), so that an instance without keys says why: done by set_ssh_keys; a read
   * that fails says nothing
   */
  readonly sayLoginsNotSetUp: (user: string) => Effect.Effect<void>
  readonly nics: Effect.Effect<Option.Option<Uint8Array>, MetadataError>
  /**
   * meta-data `network-interfaces`, the text of an interfaces file (NoCloud's); a value that is no text (a mapping,
   * a list: `get` renders them as their keys or items) fails, unusable
   */
  readonly networkInterfaces: Effect.Effect<Option.Option<string>, MetadataError>
  /** a NIC's datum by its MAC address: an alias, a verbatim sub-path, or "" for the NIC itself */
  readonly nic: (mac: string, key: string) => Effect.Effect<Option.Option<Uint8Array>, MetadataError>
}

/**
 * While true in a fiber, it reads ahead for a phase (the resident process, as
 * early starts): a cloud reads its metadata service alone, whose answers the
 * phases share, and mounts no medium (azure's provisioning media), which the
 * phase that needs it mounts and reads itself
 */
export const readingAhead = FiberRef.unsafeMake(false)

export class Metadata extends Context.Tag("tiny-cloud/Metadata")<Metadata, CloudMetadata>() {}
