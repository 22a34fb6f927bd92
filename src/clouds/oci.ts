import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { lines, sortedUnique, textOf } from "../domain/text.js"
import { base64Value, dmiIs, jsonNicLookup, jsonValue, nonEmpty, textValue } from "./common.js"
import { makeHttpMetadataClient, USER_DATA } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

const NICS = "vnics/"

export const oci: CloudProvider = {
  name: "oci",
  detect: dmiIs("chassis_asset_tag", (tag) => tag === "OracleCloud.com"),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "oci",
      endpoint: "169.254.169.254",
      root: "/opc/v2/",
      headers: { Authorization: "Bearer Oracle" }
    })
    return {
      get: client.get,
      hostname: textValue(client, "instance/hostname"),
      sshKeys: Effect.map(client.text("instance/metadata/ssh_authorized_keys"), (k) => sortedUnique(Option.isSome(k) ? lines(k.value) : [])),
      userData: Effect.map(client.get("instance/metadata/user_data", USER_DATA), Option.flatMap(base64Value)),
      // a JSON list; an empty one is no NICs
      nics: Effect.map(
        client.get(NICS),
        Option.filter((b) => !/^\s*(\[\s*\])?\s*$/.test(textOf(b)))
      ),
      nic: jsonNicLookup({
        cloud: "oci",
        list: jsonValue(client, NICS),
        // OCI writes MACs upper-case
        macOf: (vnic) => vnic["macAddr"],
        aliases: {
          "@mac": (vnic) => vnic["macAddr"],
          "@ipv4": (vnic) => vnic["privateIp"],
          "@ipv6": (vnic) => vnic["ipv6Addresses"],
          "@ipv4-net": (vnic) => vnic["subnetCidrBlock"],
          "@ipv6-net": (vnic) => vnic["ipv6SubnetCidrBlock"]
        },
        subPath: (index, sub) => Effect.map(client.get(sub === "" ? `vnics/${index}` : `vnics/${index}/${sub}`), nonEmpty)
      })
    }
  })
}
