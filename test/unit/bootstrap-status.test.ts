/**
 * `--bootstrap status` is answered without the Effect runtime; it must read
 * the marker where the Bootstrap service keeps it: the configuration's
 * TINY_CLOUD_VAR, links resolved inside ROOT, whatever else is wrong with
 * the configuration.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { bootstrapStatus } from "../../src/entry/bootstrap-status.js"

const dirs: Array<string> = []
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "tc-bootstrap-status-"))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const touch = (path: string) => {
  mkdirSync(join(path, ".."), { recursive: true })
  writeFileSync(path, "")
}

describe("--bootstrap status", () => {
  it("is complete only once the marker exists under ROOT", () => {
    const root = temp()
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
    touch(join(root, "var/lib/cloud/.bootstrap-complete"))
    expect(bootstrapStatus({ ROOT: `${root}/` })).toBe("complete\n")
  })

  it("looks in the TINY_CLOUD_VAR the configuration names, even when another line of it is invalid", () => {
    const root = temp()
    touch(join(root, "var/lib/cloud/.bootstrap-complete"))
    touch(join(root, "etc/tiny-cloud.conf"))
    writeFileSync(join(root, "etc/tiny-cloud.conf"), `IMDS_TIMEOUT=0\nTINY_CLOUD_VAR=${root}/state\nnot a line\n`)
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
    touch(join(root, "state/.bootstrap-complete"))
    expect(bootstrapStatus({ ROOT: root })).toBe("complete\n")
    // the environment wins over the file
    expect(bootstrapStatus({ ROOT: root, TINY_CLOUD_VAR: `${root}/var/lib/cloud` })).toBe("complete\n")
    expect(bootstrapStatus({ ROOT: root, TINY_CLOUD_VAR: `${root}/elsewhere` })).toBe("incomplete\n")
  })

  it("resolves an absolute link inside ROOT, never on the host", () => {
    const root = temp()
    const host = temp()
    touch(join(host, ".bootstrap-complete"))
    mkdirSync(join(root, "var/lib"), { recursive: true })
    // on the instance, /var/lib/cloud -> HOST names a directory that does not exist
    symlinkSync(host, join(root, "var/lib/cloud"))
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
    touch(join(root, host, ".bootstrap-complete"))
    expect(bootstrapStatus({ ROOT: root })).toBe("complete\n")
  })
})
