/**
 * One folder, one rule (the developers' guide, "Architecture"): domain is
 * pure data, services are contracts, clouds know services and domain,
 * layers implement services, programs ask for services and never pick a
 * layer; only the entry does.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { importGraph, type Edge } from "../support/imports.js"

/** which of the program's folders each folder may import */
const MAY_IMPORT: Readonly<Record<string, ReadonlyArray<string>>> = {
  domain: ["domain", "schema"],
  schema: ["schema", "domain"],
  services: ["services", "domain"],
  clouds: ["clouds", "services", "domain"],
  layers: ["layers", "services", "domain", "clouds"],
  programs: ["programs", "services", "domain", "schema", "sim"],
  sim: ["sim", "domain", "clouds"],
  entry: ["entry", "programs", "layers", "services", "domain"]
}

/** node modules that reach the world: only implementations (layers), the simulator and the entry use them */
const WORLD = /^node:(fs|fs\/promises|child_process|http|https|net|dgram)$/
const PURE = new Set(["domain", "schema", "services", "clouds"])

const folderOf = (module: string) => /^src\/([^/]+)\//.exec(module)?.[1]

let graph: ReadonlyMap<string, ReadonlyArray<Edge>>
beforeAll(async () => {
  graph = await importGraph()
})

describe("folder rules", () => {
  it("every module is in a folder with a rule", () => {
    const modules = [...graph.keys()].filter((m) => m.startsWith("src/"))
    expect(modules.length).toBeGreaterThan(50)
    expect(modules.filter((m) => !(folderOf(m)! in MAY_IMPORT))).toEqual([])
  })

  it("no module imports a folder its own may not import", () => {
    const broken = [...graph.entries()].flatMap(([module, edges]) => {
      const from = folderOf(module)
      if (from === undefined) return []
      return edges.flatMap((e) => {
        const to = folderOf(e.to)
        return to !== undefined && !MAY_IMPORT[from]!.includes(to) ? [`${module} imports ${e.to}`] : []
      })
    })
    expect(broken).toEqual([])
  })

  it("domain, schema, services and clouds touch the world only through services", () => {
    const broken = [...graph.entries()].flatMap(([module, edges]) =>
      PURE.has(folderOf(module) ?? "") ? edges.filter((e) => WORLD.test(e.to)).map((e) => `${module} imports ${e.to}`) : []
    )
    expect(broken).toEqual([])
  })
})
