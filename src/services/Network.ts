import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"

/** Network interfaces as sysfs (under ROOT) shows them. */
export interface NetworkShape {
  /** `eth*` interfaces ordered by ifindex */
  readonly ethernets: Effect.Effect<ReadonlyArray<string>>
  readonly operstate: (iface: string) => Effect.Effect<string>
  /** None when there is no such interface (or its name is not one) */
  readonly macAddress: (iface: string) => Effect.Effect<Option.Option<string>>
  /** the interface this one is a port of (sysfs `master`: a bond, a bridge, Azure's synthetic NIC for its VF); None for none */
  readonly master: (iface: string) => Effect.Effect<Option.Option<string>>
  /** whether the interface already has an IPv4 route (from `$ROOT/proc/net/route`) */
  readonly hasIpv4Route: (iface: string) => Effect.Effect<boolean>
}

export class Network extends Context.Tag("tiny-cloud/Network")<Network, NetworkShape>() {}
