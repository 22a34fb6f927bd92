import { join } from "node:path"
import { readFileSync, statSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { makeTestInstance } from "../support/instance.js"

interface GenFile {
  readonly path: string
  readonly content: string
  readonly mode: number
}

const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/)

/** files under /srv/gen/ (directories never end in .txt, files always do, so none is another's parent) */
const file: fc.Arbitrary<GenFile> = fc.record({
  path: fc.tuple(fc.array(segment, { maxLength: 2 }), segment).map(([dirs, name]) => ["/srv/gen", ...dirs, `${name}.txt`].join("/")),
  content: fc.oneof(fc.string({ maxLength: 200 }), fc.unicodeString({ maxLength: 50 }), fc.constant("")),
  // the test reads the files back, so the owner can always read
  mode: fc.integer({ min: 0, max: 0o777 }).map((m) => m | 0o400)
})

interface GenDoc {
  readonly files: ReadonlyArray<GenFile>
  readonly packages: ReadonlyArray<string>
}

const doc: fc.Arbitrary<GenDoc> = fc.record({
  files: fc.uniqueArray(file, { selector: (f) => f.path, maxLength: 6 }),
  packages: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9+._-]{0,15}$/), { maxLength: 5 })
})

/** JSON is YAML; non-ASCII as \u escapes so no YAML 1.1 line-break rules apply to it */
const render = (d: GenDoc) =>
  `#alpine-config\n${JSON.stringify({
    write_files: d.files.map((f) => ({ path: f.path, content: f.content, permissions: `0${f.mode.toString(8).padStart(3, "0")}` })),
    ...(d.packages.length > 0 ? { packages: d.packages } : {})
  }).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`

describe("#alpine-config, generated", () => {
  it.scopedLive.prop(
    "after early and main the files are as written and apk add got exactly the packages",
    [doc],
    ([d]) =>
      Effect.gen(function* () {
        const instance = yield* makeTestInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode(render(d)) } })
        for (const phase of ["early", "main"]) {
          const r = yield* instance.run([phase])
          expect({ phase, code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ phase, code: 0, stderr: "" })
        }
        for (const f of d.files) {
          const host = join(instance.root, f.path)
          expect(readFileSync(host, "utf8")).toBe(f.content)
          expect(statSync(host).mode & 0o7777).toBe(f.mode)
        }
        const commands = instance.commands()
        expect(commands.filter((c) => c.startsWith("chown "))).toEqual(d.files.map((f) => `chown root:root ${join(instance.root, f.path)}`))
        expect(commands.filter((c) => c.startsWith("apk add"))).toEqual(d.packages.length > 0 ? [`apk add ${d.packages.join(" ")}`] : [])
      }),
    { fastCheck: { numRuns: 10 } }
  )
})
