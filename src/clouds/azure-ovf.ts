/**
 * Azure's custom data (`az vm create --custom-data`, Terraform's
 * `custom_data`), which IMDS does not serve: the base64 `CustomData` of
 * `ovf-env.xml` on the provisioning media, a UDF (or iso9660) CD-ROM at
 * `/dev/sr0` on the first boot, as cloud-init reads it. Media without
 * `ovf-env.xml` is not Azure's.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError } from "../domain/errors.js"
import { ovfCustomData } from "../domain/ovf-env.js"
import { bytesOf, textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { RootFs } from "../services/RootFs.js"
import { decodeBase64 } from "./common.js"
import { readMedia } from "./volume.js"

const DEVICE = "/dev/sr0"
const FILE = "ovf-env.xml"
const URL = `${DEVICE}:${FILE}`

/** the medium is attached and mounted: what cannot be read on it will not be read on a later boot either, unlike a metadata service's answer */
const refused = (reason: string, exceeded?: number) => new ImdsError({ cloud: "azure", url: URL, reason, unusable: true, ...(exceeded !== undefined ? { exceeded } : {}) })

/** the custom data of one mounted medium; None when it has no `ovf-env.xml` */
const fromMedium = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { userDataMaxBytes, imdsMaxBytes } = yield* Config
    const path = `${dir}/${FILE}`
    if (yield* fs.isSymlink(path)) return yield* Effect.fail(refused("is a symbolic link; refused"))
    // the custom data's base64 at its limit, and the rest of the document at a metadata answer's
    const limit = Math.ceil(userDataMaxBytes / 3) * 4 + imdsMaxBytes
    const document = yield* fs.readFileIfExists(path, { maxBytes: limit }).pipe(
      Effect.mapError((e) => (e.exceeded !== undefined ? refused(`larger than ${limit} bytes (USERDATA_MAX_BYTES in base64, and IMDS_MAX_BYTES)`, limit) : refused(e.reason)))
    )
    if (Option.isNone(document)) return Option.none<Option.Option<Uint8Array>>()
    const found = ovfCustomData(textOf(document.value))
    if ("invalid" in found) return yield* Effect.fail(refused(found.invalid))
    if (Option.isNone(found.base64)) return Option.some(Option.none<Uint8Array>())
    const decoded = decodeBase64(bytesOf(found.base64.value))
    if ("invalid" in decoded) return yield* Effect.fail(refused(`CustomData: ${decoded.invalid}`))
    if (Option.isSome(decoded.decoded) && decoded.decoded.value.length > userDataMaxBytes) {
      return yield* Effect.fail(refused(`CustomData is larger than ${userDataMaxBytes} bytes (USERDATA_MAX_BYTES)`, userDataMaxBytes))
    }
    return Option.some(decoded.decoded)
  })

/** the custom data of the provisioning media; None when there is no such media or it has none */
export const customData = Effect.map(
  readMedia(
    ["udf", "iso9660"].map((fstype) => ({ source: DEVICE, fstype })),
    "azure-media",
    fromMedium
  // (a mount point that cannot be made, as for a user other than root, is media that cannot be had here: none, as a media that does not mount)
  ).pipe(Effect.catchTag("FsError", () => Effect.succeed(Option.none<Option.Option<Uint8Array>>()))),
  Option.flatten
)
