/** save_userdata with each compression format as its usual tool writes it, and the real decompressors. */
import { execFile, execFileSync } from "node:child_process"
import { promisify } from "node:util"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeTestInstance } from "../support/instance.js"
import { describeSystem } from "../support/system.js"

const SCRIPT = "#!/bin/sh\necho decompressed fine\n"

const compress: Record<string, () => Buffer> = {
  gzip: () => execFileSync("gzip", ["-c"], { input: SCRIPT }),
  bzip2: () => execFileSync("bzip2", ["-c"], { input: SCRIPT }),
  xz: () => execFileSync("xz", ["-c"], { input: SCRIPT }),
  lzma: () => execFileSync("xz", ["--format=lzma", "-c"], { input: SCRIPT }),
  lzop: () => execFileSync("lzop", ["-c"], { input: SCRIPT }),
  lz4: () => execFileSync("lz4", ["-c"], { input: SCRIPT }),
  zstd: () => execFileSync("zstd", ["-c"], { input: SCRIPT })
}

/** a shell pipeline's output, awaited: the thread, where the concurrent tests' simulators answer, is not held up */
const shellOutput = (script: string) => Effect.promise(() => promisify(execFile)("sh", ["-c", script], { encoding: "buffer" }).then((r) => r.stdout))

const TOOLS = { gzip: "gzip", bzip2: "bzip2", xz: "xz-utils", unxz: "xz-utils", lzma: "xz-utils", lzop: "lzop", lz4: "lz4", zstd: "zstd" }

// every test has an instance of its own; the decompressors run at once
describeSystem("save_userdata decompression with the real tools", { tools: TOOLS }, () => {
  it.scopedLive.each(Object.keys(compress))("stores %s user-data decompressed and byte-exact", (format) =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: new Uint8Array(compress[format]!()) }, realCommands: true })
      const r = yield* instance.run(["early"])
      expect(r).toEqual({ code: 0, stdout: "", stderr: "\n   ++ save_userdata: starting\n   ++ save_userdata: done\n" })
      expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
    })
  )

  it.scopedLive("refuses a compressed payload that expands beyond USERDATA_MAX_BYTES", () =>
    Effect.gen(function* () {
      const bomb = yield* shellOutput("head -c 50000000 /dev/zero | gzip -c")
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: new Uint8Array(bomb) }, env: { USERDATA_MAX_BYTES: "1000000" }, realCommands: true })
      const r = yield* instance.run(["early"])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("save_userdata: cannot decompress gzip data: output exceeds 1000000 bytes\n")
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )

  it.scopedLive("refuses an oversized payload of an external format too", () =>
    Effect.gen(function* () {
      const bomb = yield* shellOutput("head -c 20000000 /dev/zero | zstd -c")
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: new Uint8Array(bomb) }, env: { USERDATA_MAX_BYTES: "1000000" }, realCommands: true })
      const r = yield* instance.run(["early"])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("save_userdata: cannot decompress zstd data: output exceeds 1000000 bytes\n")
      expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
    })
  )
}, { concurrent: true })
