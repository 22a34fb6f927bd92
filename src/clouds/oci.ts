import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { memoizeSuccess } from "../domain/memo.js"
import { lines, sortedUnique, textOf } from "../domain/text.js"
import { base64Datum, dmiIs, jsonNicLookup, jsonValue, nonEmpty, textValue } from "./common.js"
import { AS_BASE64_USER_DATA, type GetOptions, makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const NICS = "vnics/"
const USER_DATA = "instance/metadata/user_data"
/**
 * the service answers 404 for a few milliseconds while it is updated, as Oracle told cloud-init (DataSourceOracle asks
 * again twice): a datum is absent only when it is still 404 when asked twice more, never for want of the keys
 */
const UPDATING: GetOptions = { notFoundAskedAgain: 2 }

/** a VNIC's field; OCI writes one it has no value for as the string `<null>` (an IPv6-only subnet's `subnetCidrBlock`) */
const vnicField = (vnic: Readonly<Record<string, unknown>>, name: string): unknown => (vnic[name] === "<null>" ? undefined : vnic[name])

export const oci: CloudProvider = {
  name: "oci",
  detect: dmiIs("chassis_asset_tag", (tag) => tag === "OracleCloud.com"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "oci",
      endpoint: "169.254.169.254",
      // an instance in an IPv6-only subnet reaches only this one
      ipv6Endpoint: "[fd00:c1::a9fe:a9fe]",
      root: "/opc/v2/",
      headers: { Authorization: "Bearer Oracle" }
    })
    const vnics = yield* memoizeSuccess(jsonValue(client, NICS, UPDATING))
    return {
      get: client.get,
      hostname: textValue(client, "instance/hostname", UPDATING),
      sshKeys: Effect.map(client.text("instance/metadata/ssh_authorized_keys", UPDATING), (k) => sortedUnique(Option.isSome(k) ? lines(k.value) : [])),
      userData: Effect.flatMap(client.get(USER_DATA, { ...AS_BASE64_USER_DATA, ...UPDATING }), (body) => base64Datum(client, USER_DATA, body)),
      // a JSON list; an empty one is no NICs (trimmed first: \s* beside \s* backtracks quadratically on a long blank answer)
      nics: Effect.map(
        client.get(NICS, UPDATING),
        Option.filter((b) => !/^(\[\s*\])?$/.test(textOf(b).trim()))
      ),
      nic: jsonNicLookup({
        cloud: "oci",
        // read once for all of a VNIC's keys: net-sync's @mac, @ipv4 and @ipv6 from one answer, never @mac from one before an
        // update and its addresses from a 404 during it (which would take them for gone)
        list: vnics,
        // OCI writes MACs upper-case
        macOf: (vnic) => vnic["macAddr"],
        aliases: {
          "@mac": (vnic) => vnicField(vnic, "macAddr"),
          "@ipv4": (vnic) => vnicField(vnic, "privateIp"),
          "@ipv6": (vnic) => vnicField(vnic, "ipv6Addresses"),
          "@ipv4-net": (vnic) => vnicField(vnic, "subnetCidrBlock"),
          "@ipv6-net": (vnic) => vnicField(vnic, "ipv6SubnetCidrBlock")
        },
        subPath: (index, sub) => Effect.map(client.get(sub === "" ? `vnics/${index}` : `vnics/${index}/${sub}`), nonEmpty)
      })
    }
  })
}
