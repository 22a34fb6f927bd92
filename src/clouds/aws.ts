import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Config } from "../services/Config.js"
import { AWS_NIC_PATHS, dmi, DMI_PRIORITY, listedIndexes, listedKeys, machineString, textValue, whenTrue } from "./common.js"
import { AS_USER_DATA, makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"
import { ownEntry } from "../domain/own.js"

const NICS = "meta-data/network/interfaces/macs/"

/**
 * A UUID as EC2 writes it, `ec2...`; some Xen instances' SMBIOS holds it
 * little-endian (`45e12aec-dcd1-b213-...` for `ec2ae145-d1dc-13b2-...`), as
 * cloud-init's identify_aws reads it too: its first field's bytes reversed.
 * That form is taken on a Xen instance (`sys_vendor` `Xen`) only: one random
 * UUID in 4096 reads `ec2` so, and any other VM (a plain QEMU one) would be
 * taken for aws.
 */
const isEc2Uuid = (uuid: string, vendor: string): boolean => {
  if (uuid.startsWith("ec2")) return true
  if (vendor !== "Xen") return false
  const m = /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(uuid)
  return m !== null && `${m[4]}${m[3]}${m[2]}${m[1]}`.startsWith("ec2")
}

/**
 * A UUID is random elsewhere: one in 4096 of another cloud's VMs has one
 * starting `ec2` too. Recognised by its UUID alone, aws yields to another
 * cloud's own DMI sign (Azure's asset tag...) instead of winning the tie by
 * being listed first; with no such sign (a Xen instance) it is still aws.
 */
const UUID_ONLY_PRIORITY = DMI_PRIORITY + 1

export const aws: CloudProvider = {
  name: "aws",
  detect: Effect.gen(function* () {
    const vendor = yield* dmi("sys_vendor")
    const uuid = (yield* dmi("product_uuid")).toLowerCase()
    const asset = (yield* dmi("board_asset_tag")).toLowerCase()
    // either string starting `ec2` or `i-` (BEHAVIOUR.md §7); a Xen instance's UUID also in its little-endian form
    if (vendor === "Amazon EC2" || uuid.startsWith("i-") || asset.startsWith("ec2") || asset.startsWith("i-")) return Option.some(DMI_PRIORITY)
    // Xen's own record of the domain's UUID, as EC2 writes it: a PV instance has no SMBIOS at all (cloud-init reads it first)
    const xenUuid = (yield* machineString("/sys/hypervisor/uuid")).toLowerCase()
    return whenTrue(UUID_ONLY_PRIORITY)(isEc2Uuid(uuid, vendor) || xenUuid.startsWith("ec2"))
  }),
  metadata: Effect.gen(function* () {
    const { imdsTokenTtl } = yield* Config
    const client = yield* makeHttpMetadataClient({
      cloud: "aws",
      endpoint: "169.254.169.254",
      // Nitro instances', where enabled (HttpProtocolIpv6): the only one an instance in an IPv6-only subnet reaches
      ipv6Endpoint: "[fd00:ec2::254]",
      root: "/latest/",
      token: {
        header: "X-aws-ec2-metadata-token",
        request: { method: "PUT", path: "/latest/api/token", headers: { "X-aws-ec2-metadata-token-ttl-seconds": String(imdsTokenTtl) } },
        // an IMDSv1-only service (EC2-compatible clouds, IMDS emulators) refuses the PUT, or its answer is lost (the PUT response hop limit):
        // read without a token, as the AWS SDKs and afterburn do
        absentOn: [403, 404, 405],
        // a service turned off (HttpEndpoint=disabled) refuses the PUT and every read with 403, as AWS documents; cloud-init says so
        refusedBoth: "the instance metadata service is turned off?"
      }
    })
    return {
      get: client.get,
      hostname: textValue(client, "meta-data/hostname"),
      localHostname: textValue(client, "meta-data/local-hostname"),
      sshKeys: Effect.gen(function* () {
        const indexes = yield* listedIndexes(client, "meta-data/public-keys/", (l) => l.split("=")[0]!)
        return yield* listedKeys(client, indexes, (n) => `meta-data/public-keys/${n}/openssh-key`)
      }),
      userData: client.get("user-data", AS_USER_DATA),
      nics: client.get(NICS),
      // EC2 lists its MACs in lower case; an address file may spell one in upper case
      nic: (mac, key) => client.get(`${NICS}${mac.toLowerCase()}/${ownEntry(AWS_NIC_PATHS, key) ?? key}`)
    }
  })
}
