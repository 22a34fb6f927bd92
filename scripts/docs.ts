/**
 * `npm run docs`: the man pages from `man/*.md` (roff, in `dist/man/`) and
 * the shell completions (in `dist/completions/`), for packagers. Offline.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { completionScript, SHELLS, type Shell } from "../src/programs/completion.js"
import { SIM_CLOUDS } from "../src/sim/simulator.js"
import { buildPages } from "./man.js"

const ROOT = new URL("../", import.meta.url).pathname

/** the man sources, file name → text */
export const manSources = (dir = join(ROOT, "man")): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith(".md"))
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), "utf8")])
  )

const version = (): string => (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version

/** the day the pages say they are of: SOURCE_DATE_EPOCH for reproducible builds, else today */
const date = (): string => {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH)
  return new Date(Number.isFinite(epoch) && process.env.SOURCE_DATE_EPOCH ? epoch * 1000 : Date.now()).toISOString().slice(0, 10)
}

/** where each shell looks for its completion file, by the name it gives it */
const COMPLETION_FILES: Readonly<Record<Shell, string>> = { bash: "tiny-cloud.bash", zsh: "_tiny-cloud", fish: "tiny-cloud.fish" }

export const buildDocs = (outDir = join(ROOT, "dist")): ReadonlyArray<string> => {
  const written: Array<string> = []
  mkdirSync(join(outDir, "man"), { recursive: true })
  for (const page of buildPages(manSources(), { version: version(), date: date() })) {
    writeFileSync(join(outDir, "man", page.file), page.roff)
    written.push(join("man", page.file))
  }
  mkdirSync(join(outDir, "completions"), { recursive: true })
  for (const shell of SHELLS) {
    writeFileSync(join(outDir, "completions", COMPLETION_FILES[shell]), completionScript(shell, SIM_CLOUDS))
    written.push(join("completions", COMPLETION_FILES[shell]))
  }
  return written
}
