import { join } from "node:path"
import { mkdirSync, readFileSync, statSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { makeTestInstance, type TestInstance } from "../support/instance.js"

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
        expect(commands.filter((c) => c.startsWith("chown "))).toEqual(d.files.map((f) => `chown -h root:root ${join(instance.root, f.path)}`))
        expect(commands.filter((c) => c.startsWith("apk add"))).toEqual(d.packages.length > 0 ? [`apk add ${d.packages.join(" ")}`] : [])
      }),
    { fastCheck: { numRuns: 6 } }
  )
})

// ---- #cloud-config: one broken key among valid ones ---------------------------------------

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGenerated gen@example"
const CLOUD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICloud cloud@example"

interface Part {
  readonly yaml: string
  /** the key's effect is on the instance (or, with `false`, is not) */
  readonly effect: (i: TestInstance, present: boolean) => void
}

/** a plain word; never one YAML 1.1 reads as something else (`yes`, `off`, `null`, `nan`...): keys use it behind a prefix */
const word = fc.stringMatching(/^[a-z][a-z0-9]{2,8}$/)

/** each supported key: a valid value with its effect, and a broken value */
const KEYS: Readonly<Record<string, { readonly valid: fc.Arbitrary<Part>; readonly broken: string }>> = {
  hostname: {
    valid: word.map((h) => ({ yaml: `hostname: gen-${h}`, effect: (i, on) => expect(i.read("/etc/hostname") === `gen-${h}\n`).toBe(on) })),
    broken: "hostname: [not, a, name]"
  },
  packages: {
    valid: fc.uniqueArray(word.map((w) => `pkg${w}`), { minLength: 1, maxLength: 3 }).map((p) => ({
      yaml: `packages: [${p.join(", ")}]`,
      effect: (i, on) => expect(i.commands().includes(`apk add ${p.join(" ")}`)).toBe(on)
    })),
    broken: "packages: 7777777"
  },
  write_files: {
    valid: fc.tuple(word, fc.string({ maxLength: 30 })).map(([name, content]) => ({
      yaml: `write_files:\n  - path: /srv/gen/${name}\n    content: ${JSON.stringify(content)}`,
      effect: (i, on) => expect(i.read(`/srv/gen/${name}`) === content).toBe(on)
    })),
    broken: "write_files: {path: /srv/x}"
  },
  runcmd: {
    valid: word.map((w) => ({ yaml: `runcmd:\n  - echo ${w} >> "$ROOT/tmp/ran"`, effect: (i, on) => expect(i.read("/tmp/ran") === `${w}\n`).toBe(on) })),
    broken: "runcmd: 7777777"
  },
  ssh_authorized_keys: {
    valid: fc.constant({ yaml: `ssh_authorized_keys: ["${KEY}"]`, effect: (i: TestInstance, on: boolean) => expect(i.read("/home/alpine/.ssh/authorized_keys")?.includes(KEY) ?? false).toBe(on) }),
    broken: "ssh_authorized_keys: 7777777"
  },
  users: {
    valid: word.map((u) => ({
      yaml: `users:\n  - default\n  - name: u${u}`,
      effect: (i, on) => expect(i.commands().includes(`adduser -h /home/u${u} -s /bin/sh -G u${u} -D u${u}`)).toBe(on)
    })),
    broken: "users: 7777777"
  },
  // (`apk update` also comes with `packages`, as cloud-init refreshes the sources before it installs: `apk upgrade` is the key's own)
  package_upgrade: {
    valid: fc.constant({ yaml: "package_upgrade: true", effect: (i: TestInstance, on: boolean) => expect(i.commands().includes("apk upgrade")).toBe(on) }),
    broken: "package_upgrade: maybe"
  }
}

const brokenAmongValid = fc
  .shuffledSubarray(Object.keys(KEYS), { minLength: 2 })
  .chain((keys) =>
    fc.tuple(fc.constant(keys), fc.constantFrom(...keys), fc.tuple(...keys.map((k) => KEYS[k]!.valid)))
  )
  .map(([keys, broken, parts]) => ({ keys, broken, parts: Object.fromEntries(keys.map((k, n) => [k, parts[n]!])) }))

describe("#cloud-config with one broken key among valid ones, generated", () => {
  it.scopedLive.prop(
    "every valid key's effect is there, exactly the broken key is reported, and the instance is reachable",
    [brokenAmongValid],
    ([{ keys, broken, parts }]) =>
      Effect.gen(function* () {
        const doc = `#cloud-config\n${keys.map((k) => (k === broken ? KEYS[k]!.broken : parts[k]!.yaml)).join("\n")}\n`
        const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "ip-10-0-0-9.ec2.internal", sshKeys: [CLOUD_KEY], userData: new TextEncoder().encode(doc) } })
        mkdirSync(join(instance.root, "tmp"), { recursive: true })
        const results = yield* instance.boot()
        expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
        const reported = results[1]!.stderr.split("\n").filter((l) => l.startsWith("save_userdata: invalid user-data: "))
        expect(reported).toHaveLength(1)
        expect(reported[0]).toMatch(new RegExp(`^save_userdata: invalid user-data: line \\d+: ${broken}\\b.*skipped$`))
        for (const k of keys) parts[k]!.effect(instance, k !== broken)
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toContain(CLOUD_KEY)
        if (broken === "hostname" || !keys.includes("hostname")) expect(instance.read("/etc/hostname")).toBe("ip-10-0-0-9\n")
        expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      }),
    { fastCheck: { numRuns: 6 } }
  )
})
