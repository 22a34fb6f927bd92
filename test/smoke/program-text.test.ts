/**
 * The loader holds the whole program's text in the comment that ends the
 * built file (scripts/loader.cjs, scripts/held-in-comment.cjs) and reads it
 * back at every start. Its code caches are keyed by that text and named by
 * its hash: what it reads back must be, byte for byte, the program built.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
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
})
