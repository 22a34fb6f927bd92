// `npm run docs` (and `npm run build`, with --quiet): compiles scripts/docs.ts
// (it reads the program's own tables) and runs it.
import { build } from "esbuild"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"

const result = await build({
  entryPoints: ["scripts/docs.ts"],
  bundle: true,
  write: false,
  platform: "node",
  format: "esm",
  packages: "external",
  logLevel: "warning"
})
mkdirSync("dist", { recursive: true })
const script = new URL("../dist/.build-docs.mjs", import.meta.url)
writeFileSync(script, result.outputFiles[0].text)
try {
  const { buildDocs } = await import(script.href)
  const files = buildDocs()
  if (!process.argv.includes("--quiet")) for (const file of files) console.log(`dist/${file}`)
} finally {
  rmSync(script, { force: true })
}
