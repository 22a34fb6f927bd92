import { Context, type Effect, type Option } from "effect"

/** Network interfaces as sysfs (under ROOT) shows them. */
export interface NetworkShape {
  /** `eth*` interfaces ordered by ifindex */
  readonly ethernets: Effect.Effect<ReadonlyArray<string>>
  readonly operstate: (iface: string) => Effect.Effect<string>
  readonly macAddress: (iface: string) => Effect.Effect<Option.Option<string>>
  /** whether the interface already has an IPv4 route (from `$ROOT/proc/net/route`) */
  readonly hasIpv4: (iface: string) => Effect.Effect<boolean>
}

export class Network extends Context.Tag("tiny-cloud/Network")<Network, NetworkShape>() {}
