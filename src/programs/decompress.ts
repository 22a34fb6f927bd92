import { kMaxLength } from "node:buffer"
import { gunzip } from "node:zlib"
import * as Effect from "effect/Effect"
import { DecompressError } from "../domain/errors.js"
import { Commands } from "../services/Commands.js"

interface Format {
  readonly name: string
  readonly magic: ReadonlyArray<number>
  /** external decompressor reading stdin, writing stdout */
  readonly command?: readonly [string, ...Array<string>]
}

const FORMATS: ReadonlyArray<Format> = [
  { name: "gzip", magic: [0x1f, 0x8b, 0x08] },
  { name: "bzip2", magic: [0x42, 0x5a, 0x68], command: ["bzip2", "-dc"] },
  { name: "xz", magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], command: ["unxz", "-c"] },
  { name: "lzma", magic: [0x5d, 0x00, 0x00], command: ["lzma", "-dc"] },
  { name: "lzop", magic: [0x89, 0x4c, 0x5a], command: ["lzop", "-dc"] },
  { name: "lz4", magic: [0x04, 0x22, 0x4d, 0x18], command: ["lz4", "-dc"] },
  { name: "zstd", magic: [0x28, 0xb5, 0x2f, 0xfd], command: ["zstd", "-dc"] }
]

const compressionOf = (data: Uint8Array): Format | undefined =>
  FORMATS.find((f) => f.magic.every((byte, i) => data[i] === byte))

const gunzipLimited = (data: Uint8Array, maxBytes: number) =>
  Effect.async<Uint8Array, DecompressError>((resume) => {
    // zlib refuses a limit past the largest buffer (USERDATA_MAX_BYTES may be larger) with an exception: no output can pass that one anyway
    gunzip(data, { maxOutputLength: Math.min(maxBytes, kMaxLength) }, (error, result) =>
      resume(
        error
          ? Effect.fail(
              new DecompressError({
                format: "gzip",
                reason: (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" ? `output exceeds ${maxBytes} bytes` : error.message
              })
            )
          : Effect.succeed(new Uint8Array(result))
      )
    )
  })

/** Decompresses by magic bytes (gzip natively, the rest with the usual tools); other data is returned as is. */
export const decompress = (data: Uint8Array, maxBytes: number) =>
  Effect.gen(function* () {
    const format = compressionOf(data)
    if (format === undefined) return data
    if (format.command === undefined) return yield* gunzipLimited(data, maxBytes)
    const commands = yield* Commands
    const [command, ...args] = format.command
    const result = yield* commands
      .run(command, args, { stdin: data, maxOutputBytes: maxBytes })
      .pipe(Effect.mapError((e) => new DecompressError({ format: format.name, reason: e.reason })))
    return result.stdout
  })
