/**
 * The program's import graph as esbuild sees it (the bundler's own
 * resolution): every module under src/ with the modules it imports, static
 * or dynamic. Type-only imports are not there: they do not exist at run time.
 */
import { readdirSync } from "node:fs"
import { join, relative } from "node:path"
import { build } from "esbuild"

export interface Edge {
  /** `src/...` for the program's own modules, the package specifier (`effect/Effect`, `yaml`, `node:fs`) otherwise */
  readonly to: string
  readonly dynamic: boolean
}

const ROOT = new URL("../../", import.meta.url).pathname

const sources = (dir: string): Array<string> =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : []
  )

/** module → its imports, for every module under src/ */
export const importGraph = async (): Promise<ReadonlyMap<string, ReadonlyArray<Edge>>> => {
  const result = await build({
    entryPoints: sources("src").map((f) => join(ROOT, f)),
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    packages: "external",
    platform: "node",
    format: "esm",
    splitting: true,
    outdir: "/tmp/tiny-cloud-import-graph",
    logLevel: "silent"
  })
  const graph = new Map<string, Array<Edge>>()
  for (const [path, input] of Object.entries(result.metafile.inputs)) {
    graph.set(
      relative(ROOT, join(ROOT, path)),
      input.imports.map((i) => ({ to: i.external ? i.path : relative(ROOT, join(ROOT, i.path)), dynamic: i.kind === "dynamic-import" || i.kind === "require-call" }))
    )
  }
  return graph
}

/** every module loaded before anything runs, from these entries on (static imports only) */
export const staticClosure = (graph: ReadonlyMap<string, ReadonlyArray<Edge>>, entries: ReadonlyArray<string>): ReadonlySet<string> => {
  const seen = new Set<string>()
  const visit = (module: string) => {
    if (seen.has(module)) return
    const edges = graph.get(module)
    if (edges === undefined && module.startsWith("src/")) throw new Error(`${module} is not a module of the program`)
    seen.add(module)
    for (const e of edges ?? []) if (!e.dynamic) visit(e.to)
  }
  entries.forEach(visit)
  return seen
}
