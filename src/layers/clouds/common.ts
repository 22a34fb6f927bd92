import { Effect, Option } from "effect"
import { textOf, type HttpMetadataClient } from "../imds-http.js"
import { MetadataUnsupported, type CloudMetadata, type MetadataError } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"
import { Commands } from "../../services/Commands.js"

/** non-empty trimmed lines */
export const lines = (text: string): Array<string> =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")

export const sortedUnique = (keys: Iterable<string>): ReadonlyArray<string> =>
  [...new Set([...keys].map((k) => k.trim()).filter((k) => k !== ""))].sort()

/** the AWS-style NIC sub-paths the `@nic:` aliases stand for */
export const AWS_NIC_PATHS: Readonly<Record<string, string>> = {
  "@mac": "mac",
  "@ipv4": "local-ipv4s",
  "@ipv6": "ipv6s",
  "@ipv4-net": "subnet-ipv4-cidr-block",
  "@ipv6-net": "subnet-ipv6-cidr-blocks",
  "@ipv4-prefix": "ipv4-prefix",
  "@ipv6-prefix": "ipv6-prefix"
}

export const unsupported = (cloud: string, what: string) => Effect.fail(new MetadataUnsupported({ cloud, what }))

/** `@local-hostname` where the cloud has none of its own: the hostname */
export const orHostname = (
  own: Effect.Effect<Option.Option<string>, MetadataError>,
  hostname: Effect.Effect<Option.Option<string>, MetadataError>
) => Effect.flatMap(own, (o) => (Option.isSome(o) ? Effect.succeed(o) : hostname))

/** a CloudMetadata with no NIC support, for clouds that do not publish NICs */
export const withoutNics = (cloud: string): Pick<CloudMetadata, "nics" | "nic"> => ({
  nics: unsupported(cloud, "@nics"),
  nic: () => unsupported(cloud, "@nic")
})

export const textValue = (client: HttpMetadataClient, path: string) =>
  Effect.map(client.get(path), Option.flatMap((b) => {
    const t = textOf(b).trim()
    return t === "" ? Option.none() : Option.some(t)
  }))

export const base64Value = (bytes: Uint8Array): Option.Option<Uint8Array> => {
  const decoded = Buffer.from(textOf(bytes).trim(), "base64")
  return decoded.length === 0 ? Option.none() : Option.some(new Uint8Array(decoded))
}

/** reads `$ROOT/sys/class/dmi/id/NAME`, trimmed; empty when missing */
export const dmi = (name: string) =>
  Effect.flatMap(RootFs, (fs) =>
    fs.readTextIfExists(fs.at(`/sys/class/dmi/id/${name}`)).pipe(
      Effect.map((o) => Option.getOrElse(o, () => "").trim()),
      Effect.orElseSucceed(() => "")
    )
  )

/** detection priority for clouds recognised by their hypervisor's SMBIOS strings */
export const DMI_PRIORITY = 50

export const whenTrue = (priority: number) => (found: boolean) => (found ? Option.some(priority) : Option.none<number>())

export const commandSucceeds = (command: string, args: ReadonlyArray<string>) =>
  Effect.flatMap(Commands, (c) =>
    c.run(command, args, { allowFailure: true }).pipe(
      Effect.map((r) => r.exitCode === 0),
      Effect.orElseSucceed(() => false)
    )
  )
