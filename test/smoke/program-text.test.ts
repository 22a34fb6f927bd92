/**
 * The loader holds the whole program's text in the comment that ends the
 * built file (scripts/loader.cjs, scripts/held-in-comment.cjs) and reads it
 * back at every start. Its code caches are keyed by that text and named by
 * its hash: what it reads back must be, byte for byte, the program built.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { PROGRAM } from "../support/harness.js"
import { heldProgram } from "../support/held-program.js"

const { heldInComment } = createRequire(import.meta.url)("../../scripts/held-in-comment.cjs") as {
  heldInComment: (program: string) => { text: string; breaks: ReadonlyArray<number> }
}

describe("the program's text in the loader's comment", () => {
  it("is read back byte for byte as the program whose hash names its code caches", () => {
    const program = heldProgram()
    // the built program holds "*/" (in regular expressions and strings): the escape is exercised
    expect(program.includes("*/")).toBe(true)
    const named = /code-cache-([0-9a-f]{16})-/.exec(readFileSync(PROGRAM, "latin1"))?.[1]
    expect(createHash("sha256").update(program).digest("hex").slice(0, 16)).toBe(named)
  })

  it("holds no end of comment, and every one of the program's is given back", () => {
    for (const program of ["", "*/", "**/", "*//*/", "a*~/b*/", "*~~/", "/*x*/y*/", "*", "/"]) {
      const { text, breaks } = heldInComment(program)
      expect(text).not.toContain("*/")
      let back = ""
      let from = 0
      for (const at of breaks) {
        back += text.slice(from, at)
        from = at + 1
      }
      expect(back + text.slice(from)).toBe(program)
    }
  })

  it("an installed copy edited since (CRLF line ends, comments stripped) fails in one line, never compiled", () => {
    const built = readFileSync(PROGRAM, "latin1")
    const edits = {
      crlf: built.replace(/\n/g, "\r\n"),
      stripped: built.replace(/\{\/\*[^]*?\*\/\}\.toString\(\)/, "{}.toString()")
    }
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-edited-"))
    try {
      mkdirSync(join(dir, "root/var/lib/cloud"), { recursive: true })
      for (const [name, text] of Object.entries(edits)) {
        expect(text).not.toBe(built)
        const file = join(dir, `${name}.cjs`)
        writeFileSync(file, text)
        const run = spawnSync(process.execPath, [file, "--version"], {
          env: { PATH: process.env.PATH!, ROOT: join(dir, "root"), TINY_CLOUD_CODE_CACHE: "off" },
          encoding: "utf8"
        })
        expect({ name, status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
          name,
          status: 1,
          stdout: "",
          stderr: `tiny-cloud: ${file}: the program held in this file is not the one installed (edited since?): reinstall it\n`
        })
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
