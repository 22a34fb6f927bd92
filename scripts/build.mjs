// Bundles the program into one CommonJS file with no runtime node_modules:
// the bundle, as a comment that ends a small loader that keeps V8's code cache,
// beside a small program bundled from the same sources that answers
// `--bootstrap status` without compiling the whole one.
import { build } from "esbuild"
import { createHash } from "node:crypto"
import { createRequire } from "node:module"
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"

const { heldInComment } = createRequire(import.meta.url)("./held-in-comment.cjs")

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))

// Effect's Utils asks at load whether a function's name shows in a stack
// trace, by formatting one (`new Error().stack`); the first stack a process
// formats has V8 find every line of the scripts on it, here the whole bundle:
// 2 to 9 ms of every start. V8 always shows the name, so the bundle holds the
// answer. An Effect whose Utils asks otherwise fails the build here.
const STACK_PROBE = 'standard.effect_internal_function(() => new Error().stack)?.includes("effect_internal_function") === true'
const answeredStackProbe = {
  name: "answered-stack-probe",
  setup(b) {
    b.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]esm[\\/]Utils\.js$/ }, ({ path }) => {
      const text = readFileSync(path, "utf8")
      if (!text.includes(STACK_PROBE)) throw new Error(`${path}: Effect's stack probe is not the one scripts/build.mjs answers; see there`)
      return { contents: text.replace(STACK_PROBE, "true"), loader: "js" }
    })
  }
}

const options = {
  bundle: true,
  write: false,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  define: { __VERSION__: JSON.stringify(version) },
  plugins: [answeredStackProbe],
  logLevel: "warning"
}
const bundle = async (entry) => (await build({ ...options, entryPoints: [entry] })).outputFiles[0].text

const program = await bundle("src/entry/main.ts")
// `--bootstrap status`, answered before the whole program is compiled (src/entry/quick.ts)
const quick = await bundle("src/entry/quick.ts")
const held = heldInComment(program)
const hash = createHash("sha256").update(program).digest("hex").slice(0, 16)
// the loader's one decision, kept in its own module so that tests can call it
const codeCacheDir = readFileSync(new URL("./code-cache-dir.cjs", import.meta.url), "utf8")
  .replace(/^"use strict"\n/, "")
  .replace(/^module\.exports = .*\n?/m, "")
  .trim()
// one pass over the loader's own text: a name inside the text put in is never replaced
const values = {
  CODE_CACHE_DIR_FUNCTION: codeCacheDir,
  QUICK_SOURCE: quick,
  PROGRAM_TEXT: held.text,
  PROGRAM_BREAKS: JSON.stringify(held.breaks),
  PROGRAM_HELD_LENGTH: String(held.text.length),
  PROGRAM_HASH: hash
}
const loader = readFileSync(new URL("./loader.cjs", import.meta.url), "utf8")
  .replace(new RegExp(Object.keys(values).join("|"), "g"), (name) => values[name])

// one byte outside ASCII and Node holds the whole file as two-byte text: ~15 ms more at every start
const nonAscii = /[^\x00-\x7f]/.exec(loader)
if (nonAscii !== null) throw new Error(`the bundle must be ASCII; found ${JSON.stringify(nonAscii[0])} near ${JSON.stringify(loader.slice(Math.max(0, nonAscii.index - 40), nonAscii.index))}`)
mkdirSync("dist", { recursive: true })
writeFileSync("dist/tiny-cloud.cjs", `#!/usr/bin/env node\n${loader}`)
chmodSync("dist/tiny-cloud.cjs", 0o755)
