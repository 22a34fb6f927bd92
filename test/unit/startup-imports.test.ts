/**
 * What each command loads before it does anything: the entry, its route, the
 * program the route loads, and the runner. The phase engine and the YAML
 * parser stay off the paths of `imds`, `--bootstrap status` and `status`,
 * which run on every boot, in scripts and from login shells, and of the
 * network helpers, which hotplug events start in bursts.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { importGraph, staticClosure, type Edge } from "../support/imports.js"

let graph: ReadonlyMap<string, ReadonlyArray<Edge>>
beforeAll(async () => {
  graph = await importGraph()
})

const ENGINE = ["src/programs/engine.ts", "src/programs/phase.ts", "src/programs/actions/index.ts", "src/domain/plan.ts"]

describe("start-up path", () => {
  it.each([
    ["imds", "src/programs/imds-cli.ts"],
    // `status [--wait]` runs from login shells while the boot goes on
    ["status", "src/programs/status.ts"],
    ["vnic-eth-hotplug", "src/programs/network/vnic-hotplug.ts"],
    ["nvme-ebs-links", "src/programs/network/nvme-ebs.ts"],
    ["assemble-interfaces", "src/programs/network/assemble.ts"],
    ["imds-net-sync", "src/programs/network/net-sync.ts"]
  ])("%s loads neither the phase engine nor the YAML parser", (_name, program) => {
    const loaded = staticClosure(graph, ["src/entry/main.ts", program, "src/entry/run.ts"])
    expect(loaded.has(program)).toBe(true)
    expect(loaded.has("src/layers/live.ts")).toBe(true)
    expect(ENGINE.filter((m) => loaded.has(m))).toEqual([])
    expect([...loaded].filter((m) => m === "yaml" || m.startsWith("yaml/"))).toEqual([])
  })

  it("--bootstrap status loads neither the runner nor the live layers nor Effect's runtime", () => {
    const loaded = staticClosure(graph, ["src/entry/main.ts", "src/entry/bootstrap-status.ts"])
    expect(loaded.has("src/entry/bootstrap-status.ts")).toBe(true)
    expect(["src/entry/run.ts", "src/layers/live.ts", "effect/Effect", "effect/Layer"].filter((m) => loaded.has(m))).toEqual([])
    // nor the errors' Data classes, which bring Effect's core with them: the configuration's problems are plain data
    expect(["src/domain/errors.ts", "effect/Data"].filter((m) => loaded.has(m))).toEqual([])
  })

  it("the phases load YAML only when user-data needs it", () => {
    const loaded = staticClosure(graph, ["src/entry/main.ts", "src/programs/phase.ts", "src/entry/run.ts"])
    expect(loaded.has("src/programs/engine.ts")).toBe(true)
    expect([...loaded].filter((m) => m === "yaml" || m === "src/domain/userdata/parse.ts" || m.startsWith("@effect/cli"))).toEqual([])
  })

  it("the phases load Schema and the user-data schemas only when user-data needs them", () => {
    const loaded = staticClosure(graph, ["src/entry/main.ts", "src/programs/phase.ts", "src/entry/run.ts", "src/entry/serve.ts"])
    expect([...loaded].filter((m) => m === "effect/Schema" || m.startsWith("src/schema/"))).toEqual([])
  })

  it("the loader's small program evaluates only the test of the command line before it knows it answers (every other run pays for it)", () => {
    const loaded = staticClosure(graph, ["src/entry/quick.ts"])
    expect([...loaded].filter((m) => !m.startsWith("node:")).sort()).toEqual(["src/domain/own.ts", "src/entry/invoked-as.ts", "src/entry/quick.ts", "src/programs/command-words.ts"])
  })

  it("the entry loads no Effect code before it knows what to do", () => {
    const loaded = staticClosure(graph, ["src/entry/main.ts"])
    expect(loaded.has("src/programs/cli.ts")).toBe(true)
    expect([...loaded].filter((m) => !m.startsWith("src/") && !m.startsWith("node:"))).toEqual([])
  })
})
