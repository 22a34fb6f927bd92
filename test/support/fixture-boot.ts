/**
 * A recorded case (test/fixtures/clouds/CLOUD/*.json) as an instance: its
 * files under a temporary ROOT, its volumes as the stand-in `mount` presents
 * them, and its routes as the network; the phases run in-process over the
 * program's real layers.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Effect from "effect/Effect"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { makeFakeSystem } from "../../src/sim/fake-system.js"
import { FIXTURES, fixtureHttp, type Fixture, type FixtureRoute } from "./fixture-http.js"
import { runInProcess } from "./instance.js"
import { recordingCommands } from "./layers.js"
import { scopedDir } from "./scratch.js"

/** a case by its path under the fixture directory (`azure/single-vm.json`) */
export const recorded = (path: string): Fixture => JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Fixture

/** files written under `dir`, their directories made */
export const writeFiles = (dir: string, files: Readonly<Record<string, string>>): string => {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/** the case's volumes written under `dir`, as recordingCommands takes them */
export const fixtureVolumes = (dir: string, fixture: Fixture) => {
  const volume = (label: "cidata" | "config-2" | "sr0") => {
    const files = fixture.volumes?.[label]
    const option = { cidata: "cidata", "config-2": "configDrive", sr0: "azureMedia" }[label]
    return files === undefined ? {} : { [option]: writeFiles(join(dir, label), files) }
  }
  return { ...volume("cidata"), ...volume("config-2"), ...volume("sr0") }
}

/** the wireserver as it answers a Ready report (see azure-ready.test.ts for the protocol itself) */
export const WIRESERVER: ReadonlyArray<FixtureRoute> = [
  {
    path: "/machine/",
    query: { comp: "goalstate" },
    headers: { "x-ms-version": "2012-11-30" },
    body: "<GoalState><Incarnation>1</Incarnation><Container><ContainerId>c1</ContainerId><RoleInstanceList><RoleInstance><InstanceId>r1</InstanceId></RoleInstance></RoleInstanceList></Container></GoalState>"
  },
  { method: "POST", path: "/machine/", query: { comp: "health" }, headers: { "x-ms-version": "2012-11-30" }, body: "" }
]

/** the phases over a pretend instance whose network is the recorded routes (by default the case's own) */
export const phasesOver = (cloud: string, fixture: Fixture, routes: ReadonlyArray<FixtureRoute>, phases: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const dir = yield* scopedDir("tiny-cloud-reads-")
    const { root } = makeFakeSystem(dir)
    writeFiles(root, fixture.files ?? {})
    const { layer: http } = yield* fixtureHttp(routes)
    const recorder = yield* recordingCommands({ root, missing: ["logger", "getent"], ...fixtureVolumes(join(dir, "volumes"), fixture) })
    const env = { ROOT: root, CLOUD: cloud, IMDS_ENDPOINT: "169.254.169.254", IMDS_DEADLINE: "1", ...fixture.env }
    const results = yield* Effect.forEach(phases, (phase) => runInProcess([phase], routeTinyCloud([phase]), env, () => recorder.layer, http))
    const read = (p: string): string | undefined => {
      try {
        return readFileSync(join(root, p), "utf8")
      } catch {
        return undefined
      }
    }
    return { results, read }
  })
