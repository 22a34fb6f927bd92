import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { warn } from "../services/Log.js"
import { readingAhead } from "../services/Metadata.js"
import { base64Datum, dmiIs, field, firstPresent, jsonNicLookup, jsonValue, listedIndexes, listedKeys, nonEmpty, textValue, type JsonObject } from "./common.js"
import { AS_BASE64_USER_DATA, makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider, MetadataDeps } from "./provider.js"

const API_VERSION = "2021-05-01"
const ROOT = "/metadata/instance/"
const NICS = "network/interface"
const USER_DATA = "compute/userData"
/** "false" for a VM made for password login (`az vm create --authentication-type password`, or `all`) */
const PASSWORD_LOGIN_OFF = "compute/osProfile/disablePasswordAuthentication"

/** the SMBIOS asset tag every Azure VM carries */
export const AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"

const list = (o: unknown): ReadonlyArray<unknown> => (Array.isArray(o) ? o : [])

/** `ipv4.ipAddress[].privateIpAddress` */
const addresses = (family: "ipv4" | "ipv6") => (nic: JsonObject) => list(field(field(nic, family), "ipAddress")).map((a) => field(a, "privateIpAddress"))

/** `ipv4.subnet[]` as `ADDRESS/PREFIX` */
const subnets = (family: "ipv4" | "ipv6") => (nic: JsonObject) =>
  list(field(field(nic, family), "subnet")).flatMap((s) => {
    const address = field(s, "address")
    const prefix = field(s, "prefix")
    return typeof address === "string" && address !== "" ? [prefix === undefined || prefix === "" ? address : `${address}/${String(prefix)}`] : []
  })

/**
 * The key type a public key's base64 blob names, when the blob is whole: SSH
 * wire format, length-prefixed fields (the type's name first) that end where
 * it ends; undefined for anything else (a blob with a line's text run into it)
 */
const typeInBlob = (blob: string): string | undefined => {
  const bytes = Buffer.from(blob, "base64")
  let at = 0
  let fields = 0
  while (at + 4 <= bytes.length) {
    at += 4 + bytes.readUInt32BE(at)
    fields++
  }
  if (at !== bytes.length || fields < 2) return undefined
  return bytes.subarray(4, 4 + bytes.readUInt32BE(0)).toString("latin1")
}

/**
 * A `keyData` is one key: the keys Azure generates for a VM are served
 * wrapped at 64 characters with CRLF line breaks, which are no part of the
 * key (cloud-init and afterburn remove them too). Only such a wrapping is
 * joined: a first line `TYPE BASE64` without a comment, lines of base64
 * alone, then the comment's lines, and a blob that names TYPE. Other lines
 * stay lines, each checked as a key of its own (an option line smuggled after
 * a key is no key).
 */
export const oneKey = (keyData: string): ReadonlyArray<string> => {
  const lines = keyData.split(/\r?\n|\r/).filter((l) => l.trim() !== "")
  if (lines.length <= 1) return lines.map((l) => l.trim())
  const [first, ...rest] = lines
  const commentAt = rest.findIndex((line) => !/^[A-Za-z0-9+/=]+$/.test(line))
  const joined = lines.join("").trim()
  const key = /^(\S+)\s+(\S+)/.exec(joined)
  const wrapped =
    /^\S+\s+\S+$/.test(first!.trim()) &&
    (commentAt < 0 || /^[A-Za-z0-9+/=]*\s/.test(rest[commentAt]!)) &&
    key !== null &&
    typeInBlob(key[2]!) === key[1]
  return wrapped ? [joined] : lines.map((l) => l.trim())
}

export const azure: CloudProvider = {
  name: "azure",
  detect: dmiIs("chassis_asset_tag", (tag) => tag === AZURE_ASSET_TAG),
  metadata: Effect.gen(function* () {
    const env = yield* Effect.context<MetadataDeps>()
    const client = yield* makeHttpMetadataClient({
      cloud: "azure",
      endpoint: "169.254.169.254",
      root: ROOT,
      headers: { Metadata: "true" },
      query: `?format=text&api-version=${API_VERSION}`
    })
    const fromImds = Effect.flatMap(client.get(USER_DATA, AS_BASE64_USER_DATA), (body) => base64Datum(client, USER_DATA, body))
    const customData = Effect.flatMap(Effect.promise(() => import("./azure-ovf.js")), (m) => m.customData).pipe(Effect.provide(env))
    return {
      get: client.get,
      // the guest's computer name; the VM's resource name differs for scale sets (vmss_0 / vmss000000) and custom names
      hostname: firstPresent(textValue(client, "compute/osProfile/computerName"), textValue(client, "compute/name")),
      sshKeys: Effect.gen(function* () {
        // `format=text` lists a list's entries as `N/`
        const indexes = yield* listedIndexes(client, "compute/publicKeys", (l) => l.replace(/\/$/, ""))
        return yield* listedKeys(client, indexes, (n) => `compute/publicKeys/${n}/keyData`, oneKey)
      }),
      // the password is on the provisioning media (ovf-env.xml's UserPassword), which cloud-init sets for the admin user:
      // not set here, so a VM made with a password alone has no way in but user-data's keys; said, not left to be guessed.
      // The admin user itself (adminUsername, which every VM has) is not named: the keys are the cloud user's, as the
      // shell edition gives them, and a line on every first boot would be noise
      sayLoginsNotSetUp: () =>
        Effect.gen(function* () {
          const off = yield* Effect.orElseSucceed(textValue(client, PASSWORD_LOGIN_OFF), () => Option.none<string>())
          if (Option.exists(off, (v) => v.toLowerCase() === "false")) {
            yield* warn(`azure: the VM was made with a password (${PASSWORD_LOGIN_OFF} is false), which is not set here: its user logs in with SSH keys only`)
          }
        }).pipe(Effect.provide(env)),
      // the provisioning media's custom data (`--custom-data`) when it has some, else IMDS's (`--user-data`): cloud-init takes
      // IMDS's only where the media gave none, so a VM given both runs the custom data; the read-ahead mounts nothing and reads IMDS's
      userData: Effect.flatMap(FiberRef.get(readingAhead), (ahead) =>
        ahead ? fromImds : Effect.flatMap(customData, Option.match({ onNone: () => fromImds, onSome: (custom) => Effect.succeedSome(custom) }))
      ),
      nics: Effect.map(client.get(NICS), nonEmpty),
      nic: jsonNicLookup({
        cloud: "azure",
        // the whole list as JSON: an absolute path, so the text query is not added
        list: jsonValue(client, `${ROOT}${NICS}?format=json&api-version=${API_VERSION}`),
        macOf: (nic) => nic["macAddress"],
        aliases: {
          "@mac": (nic) => nic["macAddress"],
          "@ipv4": addresses("ipv4"),
          "@ipv6": addresses("ipv6"),
          "@ipv4-net": subnets("ipv4"),
          "@ipv6-net": subnets("ipv6")
        },
        subPath: (index, sub) => Effect.map(client.get(sub === "" ? `${NICS}/${index}` : `${NICS}/${index}/${sub}`), nonEmpty)
      })
    }
  }),
  // Azure counts the provisioning as failed until the instance reports Ready
  changes: [{ phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["report_ready"] }],
  reportReady: Effect.flatMap(
    Effect.promise(() => import("./azure-wireserver.js")),
    (m) => m.reportReady
  )
}
