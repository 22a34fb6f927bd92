import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError, MetadataUnsupported, type MetadataError } from "../domain/errors.js"
import type { ActionChange } from "../domain/plan.js"
import { textOf } from "../domain/text.js"
import type { Commands } from "../services/Commands.js"
import type { Config } from "../services/Config.js"
import type { Http } from "../services/Http.js"
import type { Log } from "../services/Log.js"
import type { CloudMetadata } from "../services/Metadata.js"
import type { RootFs } from "../services/RootFs.js"
import { oneRead } from "./imds-http.js"

/** what reading a cloud's metadata may use */
export type MetadataDeps = Http | Config | RootFs | Commands | Log

/**
 * A cloud's metadata as its file declares it: what the cloud has. A cloud
 * with no local-hostname of its own leaves it out (the hostname is used); a
 * cloud that publishes no NICs leaves `nics`/`nic` out ("not available on
 * this cloud").
 */
export interface MetadataSource {
  readonly get: CloudMetadata["get"]
  readonly hostname: CloudMetadata["hostname"]
  readonly localHostname?: CloudMetadata["localHostname"]
  readonly sshKeys: CloudMetadata["sshKeys"]
  /** where the cloud names keys by login: the keys of that one */
  readonly sshKeysFor?: CloudMetadata["sshKeysFor"]
  readonly userData: CloudMetadata["userData"]
  readonly keepWithUserData?: CloudMetadata["keepWithUserData"]
  readonly sayLoginsNotSetUp?: CloudMetadata["sayLoginsNotSetUp"]
  readonly nics?: CloudMetadata["nics"]
  readonly nic?: CloudMetadata["nic"]
  /** where the cloud tells a value from its rendering; default: `meta-data/network-interfaces` as `get` renders it */
  readonly networkInterfaces?: CloudMetadata["networkInterfaces"]
}

/**
 * One cloud: how to recognise it offline, how to read its metadata, and how
 * it changes the phases' action lists. Adding a cloud takes a file like this
 * and six more places: README, "Adding a cloud".
 */
export interface CloudProvider {
  readonly name: string
  /** offline detection: a priority when this looks like the cloud (lowest wins) */
  readonly detect?: Effect.Effect<Option.Option<number>, never, RootFs | Commands>
  readonly metadata: Effect.Effect<MetadataSource, never, MetadataDeps>
  readonly changes?: ReadonlyArray<ActionChange>
  /** whether the boot phase must bring up a link with a one-shot DHCP client first; default: no */
  readonly ephemeralNetwork?: Effect.Effect<boolean, never, RootFs | Config>
  /**
   * false where reading the metadata does more than read (a NoCloud seed is
   * copied once, by the phase that reads it first, which says what is wrong
   * with it; OpenStack's config drive is looked for with `mount`, by each
   * phase that reads it): the resident process of a first boot then reads
   * nothing ahead of the phases; default: it does
   */
  readonly readAhead?: boolean
  /**
   * Tells the cloud the instance is up, where the cloud waits for that
   * (azure's wireserver); the result names whom it told. A cloud with this
   * also puts `report_ready` in its action lists.
   */
  readonly reportReady?: Effect.Effect<string, ReadyReportError, MetadataDeps>
}

export type ReadyReportError = ImdsError

export const unsupported = (cloud: string, what: string) => Effect.fail(new MetadataUnsupported({ cloud, what }))

/** `@local-hostname` where the cloud has none of its own: the hostname */
export const orElseHostname = (
  own: Effect.Effect<Option.Option<string>, MetadataError>,
  hostname: Effect.Effect<Option.Option<string>, MetadataError>
) => Effect.flatMap(own, (o) => (o._tag === "Some" ? Effect.succeed(o) : hostname))

/** a key list of any cloud has at most IMDS_MAX_KEYS keys */
const capped = (cloud: string, maxKeys: number, keys: CloudMetadata["sshKeys"]): CloudMetadata["sshKeys"] =>
  Effect.flatMap(keys, (k) =>
    k.length > maxKeys ? Effect.fail(new ImdsError({ cloud, url: "@ssh-keys", reason: `more than ${maxKeys} keys (IMDS_MAX_KEYS)`, unusable: true })) : Effect.succeed(k)
  )

/**
 * the full metadata contract from what the cloud declares, with the defaults filled in; each datum one read,
 * within one IMDS_DEADLINE whatever number of requests it takes
 */
export const completeMetadata = (cloud: string, source: MetadataSource, limits: { readonly maxKeys: number; readonly deadline: number }): CloudMetadata => {
  const read = oneRead(limits.deadline)
  return {
    get: (path) => read(source.get(path)),
    hostname: read(source.hostname),
    localHostname: read(source.localHostname === undefined ? source.hostname : orElseHostname(source.localHostname, source.hostname)),
    sshKeys: read(capped(cloud, limits.maxKeys, source.sshKeys)),
    sshKeysFor: (user) => read(capped(cloud, limits.maxKeys, source.sshKeysFor === undefined ? source.sshKeys : source.sshKeysFor(user))),
    userData: read(source.userData),
    keepWithUserData: read(source.keepWithUserData ?? Effect.void),
    sayLoginsNotSetUp: (user) => read(source.sayLoginsNotSetUp === undefined ? Effect.void : source.sayLoginsNotSetUp(user)),
    nics: read(source.nics ?? unsupported(cloud, "@nics")),
    nic: (mac, key) => read(source.nic === undefined ? unsupported(cloud, "@nic") : source.nic(mac, key)),
    networkInterfaces: read(source.networkInterfaces ?? Effect.map(source.get("meta-data/network-interfaces"), Option.map(textOf)))
  }
}
