import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { readRegularFile, scanRegularFileLines } from "../../src/layers/regular-file.js"

const dirs: Array<string> = []
afterEach(() => {
  vi.restoreAllMocks()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const fileOf = (data: string | Buffer) => {
  const dir = mkdtempSync(join(tmpdir(), "regular-file-"))
  dirs.push(dir)
  writeFileSync(join(dir, "f"), data)
  return join(dir, "f")
}

const linesOf = (path: string, max = 1024 * 1024) => {
  const lines: Array<string> = []
  scanRegularFileLines(path, (l) => void lines.push(l), max)
  return lines
}

describe("scanRegularFileLines", () => {
  it("reads a small file (an image's /etc/passwd) in a block of its size, not of 1 MiB made for each lookup", () => {
    const path = fileOf("root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000::/home/alpine:/bin/sh\n")
    const alloc = vi.spyOn(Buffer, "alloc")
    expect(linesOf(path)).toEqual(["root:x:0:0:root:/root:/bin/sh", "alpine:x:1000:1000::/home/alpine:/bin/sh"])
    expect(Math.max(0, ...alloc.mock.calls.map(([size]) => size))).toBeLessThan(1024)
  })

  it("reads lines across blocks, without a final newline, CR LF and NUL kept; a line past the limit passed over, one at it kept", () => {
    expect(linesOf(fileOf("a:x\r\nb\0c\nlast"))).toEqual(["a:x\r", "b\0c", "last"])
    expect(linesOf(fileOf(`${"y".repeat(10)}\n${"z".repeat(11)}\nafter`), 10)).toEqual(["y".repeat(10), "after"])
    const big = 1024 * 1024
    // the 1 MiB block ends inside an é of the second line
    expect(linesOf(fileOf(`ab\n${"é".repeat(big / 2 - 1)}x\nafter\n`)).map((l) => [l.length, l.includes("\ufffd")])).toEqual([[2, false], [big / 2, false], [5, false]])
    expect(linesOf(fileOf(""))).toEqual([])
  })

  it("keeps a byte-order mark at a line's start, as the system's getpwnam reads the line: '\\ufeffalpine' is no account alpine", () => {
    const bom = "\ufeff"
    expect(linesOf(fileOf(`${bom}root:x:0:0:root:/root:/bin/sh\n${bom}alpine:x:1000:1000::/home/alpine:/bin/sh\n`))).toEqual([
      `${bom}root:x:0:0:root:/root:/bin/sh`,
      `${bom}alpine:x:1000:1000::/home/alpine:/bin/sh`
    ])
  })
})

describe("readRegularFile", () => {
  it("reads a file of exactly maxBytes whole; one byte more is refused, naming the limit and the size", () => {
    expect(Buffer.from(readRegularFile(fileOf("x".repeat(16)), 16) as Uint8Array).toString()).toBe("x".repeat(16))
    expect(readRegularFile(fileOf("x".repeat(17)), 16)).toEqual({ refused: "larger than 16 bytes", exceeded: 16, size: 17 })
  })
})
