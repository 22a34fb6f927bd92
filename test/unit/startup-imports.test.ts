import { build } from "esbuild"
import { describe, expect, it } from "vitest"

/** every module a command's entry loads before it does anything (static imports only) */
const staticClosure = async (entry: string) => {
  const result = await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "silent", splitting: true, outdir: "/tmp/tiny-cloud-closure" })
  const outputs = result.metafile.outputs
  const entryOutput = Object.entries(outputs).find(([, o]) => o.entryPoint === entry)!
  const seen = new Set<string>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    seen.add(name)
    for (const i of outputs[name]!.imports) if (i.kind === "import-statement" && outputs[i.path]) visit(i.path)
  }
  visit(entryOutput[0])
  return [...seen].flatMap((o) => Object.keys(outputs[o]!.inputs))
}

describe("start-up path", () => {
  it.each([
    ["imds", "src/programs/imds-cli.ts"],
    ["--bootstrap status", "src/programs/admin.ts"],
    ["the command runner", "src/programs/run.ts"]
  ])("%s loads neither the phase engine nor the YAML parser", async (_name, entry) => {
    const inputs = await staticClosure(entry)
    expect(inputs.some((i) => i.includes("src/programs/imds-cli") || i.includes("src/programs/admin") || i.includes("src/programs/run"))).toBe(true)
    expect(inputs.filter((i) => /src\/programs\/(engine|plan|phase|actions\/index)\.ts$/.test(i))).toEqual([])
    expect(inputs.filter((i) => i.includes("node_modules/yaml/"))).toEqual([])
  })

  it("the tiny-cloud entry loads no Effect code before it knows what to do", async () => {
    const inputs = await staticClosure("src/programs/tiny-cloud-cli.ts")
    expect(inputs.filter((i) => i.includes("node_modules/"))).toEqual([])
  })
})
