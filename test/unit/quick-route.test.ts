/**
 * The loader's small program answers `--bootstrap status` for exactly the
 * command lines the router sends to BootstrapStatus: isBootstrapStatus
 * against routeCommandLine, for every name the program knows and words
 * near every spelling.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { routeCommandLine } from "../../src/programs/cli.js"
import { HELPERS, isBootstrapStatus } from "../../src/programs/command-words.js"

const NAMES = ["tiny-cloud", "tiny-cloud.cjs", "imds", "imds.sh", "metadata", ...HELPERS]
const WORDS = ["--bootstrap", "-b", "--bootstrap=status", "-bstatus", "-b=status", "--bootstrap=", "-b ", "status", "Status", "status ", "complete", "imds", "-h", "--help", "-E", "--", ""]

const routed = (name: string, args: ReadonlyArray<string>) => routeCommandLine(name, args)._tag === "BootstrapStatus"

describe("the command lines the loader's small program answers", () => {
  it("are the four spellings, by any name but imds's and the network helpers'", () => {
    const spellings = [["--bootstrap", "status"], ["-b", "status"], ["--bootstrap=status"], ["-bstatus"]]
    for (const name of NAMES) for (const args of spellings) expect([name, args, isBootstrapStatus(name, args)]).toEqual([name, args, !/^imds/.test(name) && !HELPERS.includes(name)])
    for (const args of [["--bootstrap", "status", "x"], ["--bootstrap=status", "status"], ["-b"], ["status"], ["imds", "--bootstrap", "status"], ["--bootstrap", "complete"], ["-b=status"], ["--bootstrap", "Status"]]) {
      expect([args, isBootstrapStatus("tiny-cloud", args)]).toEqual([args, false])
    }
  })

  it("are those the router sends to BootstrapStatus, and no other", () => {
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), fc.array(fc.oneof(fc.constantFrom(...WORDS), fc.string()), { maxLength: 4 }), (name, args) => {
        expect(isBootstrapStatus(name, args)).toBe(routed(name, args))
      }),
      { numRuns: 3000 }
    )
  })
})
