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

// What Effect's modules ask at load that costs every start milliseconds, and
// the answer the bundle holds instead. An Effect whose module asks otherwise
// fails the build here.
const ANSWERED = [
  {
    // Utils asks whether a function's name shows in a stack trace, by
    // formatting one (`new Error().stack`); the first stack a process formats
    // has V8 find every line of the scripts on it, here the whole bundle: 2 to
    // 9 ms of every start. V8 always shows the name.
    module: /[\\/]effect[\\/]dist[\\/]esm[\\/]Utils\.js$/,
    asks: 'standard.effect_internal_function(() => new Error().stack)?.includes("effect_internal_function") === true',
    answer: "true"
  },
  {
    // the clock looks for the global `performance` only to set its
    // process.hrtime clock to the epoch, once, with Date.now() and
    // performance.now() read together; Node makes that global on first use,
    // loading perf_hooks (0.7 ms of every start). Date.now() alone sets it
    // as well (both to the millisecond): the clock keeps process.hrtime.
    module: /[\\/]effect[\\/]dist[\\/]esm[\\/]internal[\\/]clock\.js$/,
    asks: 'typeof performance === "undefined" || typeof performance.now !== "function"',
    answer: "true"
  }
]
const answeredAtLoad = {
  name: "answered-at-load",
  setup(b) {
    for (const { module, asks, answer } of ANSWERED) {
      b.onLoad({ filter: module }, ({ path }) => {
        const text = readFileSync(path, "utf8")
        if (!text.includes(asks)) throw new Error(`${path}: Effect no longer asks ${JSON.stringify(asks)}, which scripts/build.mjs answers; see there`)
        return { contents: text.replace(asks, answer), loader: "js" }
      })
    }
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
  plugins: [answeredAtLoad],
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
