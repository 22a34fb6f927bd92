import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { useInstances } from "../support/harness.js"

const SCRIPT = "#!/bin/sh\necho decompressed fine\n"

/** each format as its usual tool writes it (the tools are installed by .ci/run) */
const compress: Record<string, () => Buffer> = {
  gzip: () => execFileSync("gzip", ["-c"], { input: SCRIPT }),
  bzip2: () => execFileSync("bzip2", ["-c"], { input: SCRIPT }),
  xz: () => execFileSync("xz", ["-c"], { input: SCRIPT }),
  lzma: () => execFileSync("xz", ["--format=lzma", "-c"], { input: SCRIPT }),
  lzop: () => execFileSync("lzop", ["-c"], { input: SCRIPT }),
  lz4: () => execFileSync("lz4", ["-c"], { input: SCRIPT }),
  zstd: () => execFileSync("zstd", ["-c"], { input: SCRIPT })
}

const makeInstance = useInstances()

describe("save_userdata decompression", () => {
  it.each(Object.keys(compress))("stores %s user-data decompressed and byte-exact", async (format) => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new Uint8Array(compress[format]!()) } })
    const r = await instance.run(["early"])
    expect(r.stderr).not.toContain("failed")
    expect(instance.read("/var/lib/cloud/user-data")).toBe(SCRIPT)
  })

  it("refuses a compressed payload that expands beyond USERDATA_MAX_BYTES", async () => {
    const bomb = execFileSync("sh", ["-c", "head -c 50000000 /dev/zero | gzip -c"])
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new Uint8Array(bomb) }, env: { USERDATA_MAX_BYTES: "1000000" } })
    const r = await instance.run(["early"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("save_userdata: cannot decompress gzip data: output exceeds 1000000 bytes\n")
    expect(instance.read("/var/lib/cloud/user-data")).toBeUndefined()
  })

  it("refuses an oversized payload of an external format too", async () => {
    const bomb = execFileSync("sh", ["-c", "head -c 20000000 /dev/zero | zstd -c"])
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new Uint8Array(bomb) }, env: { USERDATA_MAX_BYTES: "1000000" } })
    const r = await instance.run(["early"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("save_userdata: cannot decompress zstd data: output exceeds 1000000 bytes\n")
  })
})
