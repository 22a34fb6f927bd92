// Bundles the program into one CommonJS file with no runtime node_modules.
import { build } from "esbuild"
import { chmodSync, readFileSync } from "node:fs"

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/tiny-cloud.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  banner: { js: "#!/usr/bin/env node" },
  define: { __VERSION__: JSON.stringify(version) },
  logLevel: "warning"
})
chmodSync("dist/tiny-cloud.cjs", 0o755)
