import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { bootstrapStatus } from "../../src/entry/bootstrap-status.js"
import { CONF_MAX_BYTES, readConfText } from "../../src/layers/conf-file.js"

const roots: Array<string> = []
const makeRoot = () => {
  const root = mkdtempSync(join(tmpdir(), "tiny-cloud-conf-"))
  roots.push(root)
  mkdirSync(join(root, "etc"))
  return root
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

describe("tiny-cloud.conf as read", () => {
  it("is no text when there is no file, and the file's text otherwise", () => {
    const root = makeRoot()
    expect(readConfText({ ROOT: root })).toEqual({ text: "" })
    writeFileSync(join(root, "etc/tiny-cloud.conf"), "CLOUD=aws\n")
    expect(readConfText({ ROOT: root })).toEqual({ text: "CLOUD=aws\n" })
  })

  it("refuses a FIFO without waiting for a writer, in one line naming the file; --bootstrap status still answers", () => {
    const root = makeRoot()
    execFileSync("mkfifo", [join(root, "etc/tiny-cloud.conf")])
    expect(readConfText({ ROOT: root })).toEqual({ problem: `cannot read ${root}/etc/tiny-cloud.conf: not a regular file; refused` })
    expect(bootstrapStatus({ ROOT: root })).toBe("incomplete\n")
  })

  it("refuses a file larger than any configuration needs", () => {
    const root = makeRoot()
    writeFileSync(join(root, "etc/tiny-cloud.conf"), "#".repeat(CONF_MAX_BYTES + 1))
    expect(readConfText({ ROOT: root })).toEqual({ problem: `cannot read ${root}/etc/tiny-cloud.conf: larger than ${CONF_MAX_BYTES} bytes` })
  })

  it("follows a link inside ROOT, never to the host's file of that name", () => {
    const root = makeRoot()
    const host = makeRoot()
    writeFileSync(join(host, "etc/tiny-cloud.conf"), "CLOUD=host\n")
    mkdirSync(join(root, host, "etc"), { recursive: true })
    writeFileSync(join(root, host, "etc/tiny-cloud.conf"), "CLOUD=instance\n")
    symlinkSync(join(host, "etc/tiny-cloud.conf"), join(root, "etc/tiny-cloud.conf"))
    expect(readConfText({ ROOT: root })).toEqual({ text: "CLOUD=instance\n" })
  })
})
