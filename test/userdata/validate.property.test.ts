import { gzipSync } from "node:zlib"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { stringify } from "yaml"
import type { UserConfig } from "../../src/domain/userdata/model.js"
import { formatPath } from "../../src/domain/userdata/notes.js"
import { analyseUserData, type Analysis } from "../../src/domain/userdata/parse.js"
import { checkAnalysis, formatProblem, validateUserData } from "../../src/domain/userdata/validate.js"

const OPTIONS = { maxBytes: 1024 * 1024 }
const encode = (text: string) => new TextEncoder().encode(text)

/** Rendered the way an operator's YAML 1.1 tools would write it. */
const render = (doc: object) => `#alpine-config\n${stringify(doc, { version: "1.1" })}`

// ---- valid documents, each with what the model must hold ---------------------------------

const name = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,12}$/)
const absPath = fc.array(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join("/")}`)
const url = fc.stringMatching(/^[a-z]{1,8}$/).map((host) => `https://${host}.example/alpine`)
const pkg = fc.stringMatching(/^[a-z0-9][a-z0-9+._-]{0,15}$/)
const command = fc.oneof(fc.string({ minLength: 1 }), fc.array(fc.string(), { minLength: 1, maxLength: 4 }))

interface Content {
  readonly yaml: Record<string, unknown>
  readonly bytes: Uint8Array
}
const content: fc.Arbitrary<Content> = fc.oneof(
  fc.string().map((s) => ({ yaml: { content: s }, bytes: encode(s) })),
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ yaml: { content: Buffer.from(b).toString("base64"), encoding: "b64" }, bytes: b })),
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ yaml: { content: Buffer.from(b) }, bytes: b })),
  fc.uint8Array({ maxLength: 64 }).map((b) => ({
    yaml: { content: gzipSync(b).toString("base64"), encoding: "gzip+base64" },
    bytes: b
  }))
)

/** a mode and how a document writes it: "0640", "640" or 640 all mean 0o640 */
const mode = fc.integer({ min: 0, max: 0o7777 }).chain((m) =>
  fc.constantFrom<string | number>(`0${m.toString(8)}`, m.toString(8), Number(m.toString(8))).map((written) => ({ m, written }))
)

const writeFile = fc.record(
  {
    path: absPath,
    content,
    mode,
    owner: fc.tuple(name, name).map(([u, g]) => `${u}:${g}`),
    append: fc.boolean()
  },
  { requiredKeys: ["path", "content"] }
)

const repository = fc.record(
  { base_url: url, version: fc.constantFrom("v3.20", "edge", "latest-stable"), repos: fc.array(fc.constantFrom("main", "community", "testing")) },
  { requiredKeys: ["base_url", "repos"] }
)

const spec = fc.record(
  {
    user: fc.oneof(name, name.map((n) => ({ name: n }))),
    ssh_authorized_keys: fc.array(fc.string({ minLength: 1 }).map((s) => `ssh-ed25519 ${s}`), { maxLength: 3 }),
    bootcmd: fc.array(command, { maxLength: 3 }),
    runcmd: fc.array(command, { maxLength: 3 }),
    write_files: fc.array(writeFile, { maxLength: 4 }),
    ntp: fc.record({ enabled: fc.boolean(), ntp_client: fc.constantFrom("chrony", "busybox", "openntpd") }, { requiredKeys: [] }),
    apk: fc.record({ cache: absPath, repositories: fc.array(repository, { maxLength: 3 }) }, { requiredKeys: [] }),
    package_update: fc.boolean(),
    package_upgrade: fc.boolean(),
    packages: fc.array(pkg, { maxLength: 5 }),
    autoinstall: fc.boolean()
  },
  { requiredKeys: [] }
)
type Spec = typeof spec extends fc.Arbitrary<infer A> ? A : never

/** The YAML document a spec stands for. */
const documentOf = (s: Spec): Record<string, unknown> => {
  const { write_files, ...rest } = s
  return {
    ...rest,
    ...(write_files === undefined
      ? {}
      : {
          write_files: write_files.map(({ content: c, mode: m, ...file }) => ({
            ...file,
            ...c.yaml,
            ...(m === undefined ? {} : { permissions: m.written })
          }))
        })
  }
}

/** the model of an analysis that read a document */
const configOf = (analysis: Analysis): UserConfig => {
  const parsed = analysis.parsed
  if (parsed === undefined) throw new Error(analysis.problems.map(formatProblem).join("\n"))
  if (parsed.kind !== "config") throw new Error(parsed.kind)
  return parsed.config
}

const modelOf = (source: string): UserConfig => configOf(analyseUserData(encode(source), OPTIONS))

describe("valid #alpine-config documents", () => {
  it("have no problems, and the model holds what they say", () => {
    fc.assert(
      fc.property(spec, (s) => {
        const source = render(documentOf(s))
        // one reading for both: what validateUserData reports of it, and its model
        const analysis = analyseUserData(encode(source), OPTIONS)
        expect(checkAnalysis(analysis).problems.map(formatProblem)).toEqual([])
        const c = configOf(analysis)
        expect(c.defaultUser?.name).toBe(typeof s.user === "string" ? s.user : s.user?.name)
        expect(c.sshAuthorizedKeys).toEqual(s.ssh_authorized_keys ?? [])
        const commands = (list: Spec["bootcmd"]) =>
          (list ?? []).map((cmd, index) => (typeof cmd === "string" ? { kind: "shell", script: cmd, index } : { kind: "argv", argv: cmd, index }))
        expect(c.bootcmd).toEqual(commands(s.bootcmd))
        expect(c.runcmd).toEqual(commands(s.runcmd))
        expect(c.writeFiles).toEqual(
          (s.write_files ?? []).map((f, index) => ({
            path: f.path,
            content: expect.toSatisfy((b: Uint8Array) => Buffer.from(b).equals(Buffer.from(f.content.bytes))),
            mode: f.mode?.m ?? 0o644,
            owner: f.owner ?? "root:root",
            append: f.append ?? false,
            defer: false,
            index
          }))
        )
        expect(c.ntp).toEqual(s.ntp?.enabled ? { client: s.ntp.ntp_client ?? "chrony", servers: [], pools: [], peers: [], allow: [], install: "apk add" } : undefined)
        expect(c.apk.configured).toBe(s.apk !== undefined)
        expect(c.apk.cache).toBe(s.apk?.cache)
        expect(c.apk.repositories).toEqual((s.apk?.repositories ?? []).map((r) => ({ baseUrl: r.base_url, version: r.version, repos: r.repos })))
        expect([c.packageUpdate, c.packageUpgrade, c.autoinstall]).toEqual([
          s.package_update ?? false,
          s.package_upgrade ?? false,
          s.autoinstall ?? false
        ])
        expect(c.packages).toEqual(s.packages ?? [])
      }),
      { numRuns: 200 }
    )
  })
})

// ---- one field made wrong ------------------------------------------------------------------

type Key = string | number
const MARK = 7777777

/** Every key path in a document that names a field (map entries, at any depth). */
const fieldPaths = (value: unknown, path: ReadonlyArray<Key> = []): Array<ReadonlyArray<Key>> => {
  if (Array.isArray(value)) return value.flatMap((item, i) => fieldPaths(item, [...path, i]).filter((p) => p.length > path.length + 1))
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return []
  return Object.entries(value).flatMap(([k, v]) => [[...path, k], ...fieldPaths(v, [...path, k])])
}

const replaced = (value: unknown, path: ReadonlyArray<Key>, wrong: unknown): unknown => {
  if (path.length === 0) return wrong
  const [head, ...rest] = path
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaced(item, rest, wrong) : item))
  const record = value as Record<string, unknown>
  return { ...record, [head!]: replaced(record[head!], rest, wrong) }
}

/** A value of the wrong type for any field: a number, except where numbers are fine (owner: a uid). */
const wrongFor = (path: ReadonlyArray<Key>): unknown => (path[path.length - 1] === "owner" ? [MARK] : MARK)

/** The line of the key that holds the marker: the nearest `KEY:` at or above the marker's line. */
const keyLine = (source: string, key: string): number => {
  const lines = source.split("\n")
  const marked = lines.findIndex((l) => l.includes(String(MARK)))
  const pattern = new RegExp(`^\\s*(?:- )?"?${key}"?:`)
  for (let i = marked; i >= 0; i--) if (pattern.test(lines[i]!)) return i + 1
  throw new Error(`no ${key} above line ${marked + 1}`)
}

/** list keys whose entries are read one by one */
const LIST_KEYS = new Set(["write_files", "packages", "bootcmd", "runcmd", "ssh_authorized_keys"])

/**
 * the document without the part a broken field makes the reader skip: its
 * list entry, an `apk` field (an `apk` that cannot be read at all is still
 * there, as an empty one), or its top-level key
 */
const withoutUnit = (doc: Record<string, unknown>, path: ReadonlyArray<Key>): Record<string, unknown> => {
  const [key, second, third] = path
  const rest = { ...doc }
  if (LIST_KEYS.has(String(key)) && typeof second === "number") {
    rest[String(key)] = (doc[String(key)] as Array<unknown>).filter((_, i) => i !== second)
  } else if (key === "apk" && second === "repositories" && typeof third === "number") {
    const apk = doc["apk"] as { repositories: Array<unknown> }
    rest["apk"] = { ...apk, repositories: apk.repositories.filter((_, i) => i !== third) }
  } else if (key === "apk" && (second === "cache" || second === "repositories") && third === undefined) {
    const { [second]: _, ...apk } = doc["apk"] as Record<string, unknown>
    rest["apk"] = apk
  } else if (key === "apk" && second === undefined) rest["apk"] = {}
  else delete rest[String(key)]
  return rest
}

/** a model without the entries' places in the document (removing an entry moves the ones after it) */
const placeless = (c: UserConfig) => ({
  ...c,
  bootcmd: c.bootcmd.map(({ index: _, ...cmd }) => cmd),
  runcmd: c.runcmd.map(({ index: _, ...cmd }) => cmd),
  writeFiles: c.writeFiles.map(({ index: _, ...f }) => f)
})

describe("#alpine-config documents with one wrong field", () => {
  const broken = spec
    .map(documentOf)
    .filter((doc) => fieldPaths(doc).length > 0)
    .chain((doc) => fc.constantFrom(...fieldPaths(doc)).map((path) => ({ doc, path })))

  it("report exactly that field, on its key's line, and apply everything else", () => {
    fc.assert(
      fc.property(broken, ({ doc, path }) => {
        const source = render(replaced(doc, path, wrongFor(path)) as object)
        const analysis = analyseUserData(encode(source), OPTIONS)
        const { problems } = analysis
        expect(problems.map((p) => [p.path, p.line])).toEqual([[formatPath(path), keyLine(source, String(path[path.length - 1]))]])
        expect(problems[0]!.message).toMatch(/skipped$/)
        const rest = withoutUnit(doc, path)
        if (Object.keys(rest).length === 0) return
        expect(placeless(configOf(analysis))).toEqual(placeless(modelOf(render(rest))))
      }),
      { numRuns: 300 }
    )
  })
})

describe("validateUserData", () => {
  const check = (source: string) => validateUserData(encode(source), OPTIONS).map(formatProblem)

  it("formats a problem as LINE: PATH: MESSAGE", () => {
    expect(formatProblem({ line: 7, path: "write_files[0].permissions", message: 'expected an octal mode such as 0644, got a string of 3 characters' })).toBe(
      'line 7: write_files[0].permissions: expected an octal mode such as 0644, got a string of 3 characters'
    )
    expect(formatProblem({ line: 2, path: "", message: "expected a map of #alpine-config keys, got a list" })).toBe(
      "line 2: expected a map of #alpine-config keys, got a list"
    )
  })

  it("names a jinja template whose lines end in a CR alone by its line ends, which cloud-init cannot read (it splits the template line at a line feed); LF and CR LF are read", () => {
    expect(check("## template: jinja\r#cloud-config\rhostname: x\r")).toEqual([
      "line 1: a jinja template whose lines end in a CR alone, which cloud-init cannot read: it ends the template's first line at a line feed, takes the whole text for it, and applies none of it; save it with LF line ends"
    ])
    expect([check("## template: jinja\n#cloud-config\nhostname: x\n"), check("## template: jinja\r\n#cloud-config\r\nhostname: x\r\n")]).toEqual([[], []])
  })

  it("reports every skipped key or entry, in line order", () => {
    expect(check("#alpine-config\nautoinstall: maybe\nntp:\n  enabled: true\n  ntp_client: [ntpd]\npackages: [vim, -rf]\n")).toEqual([
      'line 2: autoinstall: expected true or false, got a string of 5 characters; skipped',
      "line 5: ntp.ntp_client: expected a string, got a list; ntp skipped",
      'line 6: packages[1]: expected a package name (no spaces, not starting with -), got a string of 3 characters; skipped'
    ])
  })

  it("places the model's problems on their lines too", () => {
    expect(check("#alpine-config\npackages: [a]\nuser:\n  shell: /bin/sh\nwrite_files:\n  - path: /x\n    encoding: b64\n    content: 'aGVsb'\n")).toEqual([
      "line 3: user: a user map needs a name; the default user is kept",
      "line 8: write_files[0].content: content is not valid base64; write_files[0] skipped"
    ])
  })

  it("does not quote long or spaced values from the document", () => {
    const [problem] = check("#alpine-config\npackages: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIsecret user@host\n")
    expect(problem).toBe("line 2: packages: expected a list, got a string of 53 characters; skipped")
  })

  it("names the line of the first byte that is no UTF-8 (a Latin-1 é in one value), not the document's first", () => {
    // a byte that is no UTF-8 (a Latin-1 é) is named on its own line, past a U+FFFD the text spells itself and CR LF line ends
    const latin1 = Buffer.concat([Buffer.from("#cloud-config\r\nhostname: x\r\nruncmd:\r\n  - echo \ufffd ok\r\n  - echo caf"), Buffer.from([0xe9]), Buffer.from("\r\n")])
    expect(validateUserData(latin1, OPTIONS).map(formatProblem)).toEqual(["line 5: user-data is not valid UTF-8 text"])
    expect(validateUserData(Buffer.concat([Buffer.from("#alpine-config\nruncmd:\n  - echo "), Buffer.from([0xc3, 0x28])]), OPTIONS).map(formatProblem)).toEqual(["line 3: user-data is not valid UTF-8 text"])
  })

  it("names that line in a file that starts with a byte-order mark (saved on Windows as UTF-8 with BOM, then given a Latin-1 é): the mark is counted as the bytes it is", () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    expect(validateUserData(Buffer.concat([bom, Buffer.from("#cloud-config\nx: 1\n"), Buffer.from([0xe9]), Buffer.from(": 2\n")]), OPTIONS).map(formatProblem)).toEqual([
      "line 3: user-data is not valid UTF-8 text"
    ])
    expect(validateUserData(Buffer.concat([bom, Buffer.from('#cloud-config\na: "\ufffd"\nb: 1\n'), Buffer.from([0xe9]), Buffer.from("\n")]), OPTIONS).map(formatProblem)).toEqual([
      "line 4: user-data is not valid UTF-8 text"
    ])
  })

  it("says when there is nothing it can check or run", () => {
    expect(check("#!/bin/sh\necho hi\n")).toEqual([])
    expect(check("just text\n")).toEqual([
      "line 1: user-data type is unknown; expected #alpine-config, #cloud-config, #cloud-config-archive, a #! script or MIME multipart"
    ])
    expect(check("#cloud-boothook\n")).toEqual([
      "line 1: user-data type #cloud-boothook is not supported; expected #alpine-config, #cloud-config, #cloud-config-archive, a #! script or MIME multipart"
    ])
    expect(check(Buffer.from("#cloud-config\nhostname: x\n").toString("base64"))).toEqual([
      "line 1: base64 text is not decoded, as cloud-init does not decode it either: give the cloud the user-data itself (on gcp, or set user-data-encoding to base64; on hetzner, which keeps user-data as text, binary user-data as one base64 word without line breaks, as base64 -w0 writes it)"
    ])
    // saved as UTF-16: its #cloud-config is no type until it is saved as UTF-8, which the problem says
    expect(validateUserData(Buffer.from("\ufeff#cloud-config\r\nhostname: x\r\n", "utf16le"), OPTIONS).map(formatProblem)).toEqual([
      "line 1: UTF-16 text is not read, as cloud-init does not read it either: save the user-data as UTF-8"
    ])
  })
})
