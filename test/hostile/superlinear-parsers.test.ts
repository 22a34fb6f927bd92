/**
 * Metadata answers within IMDS_MAX_BYTES built to make a parser's time grow
 * faster than the answer (many bad lines, many open tags that never close)
 * or its recursion overflow the stack (JSON nested 300,000 deep). Each is
 * read, or refused with one line, promptly: before their fixes these inputs
 * took minutes, or ended in an internal error.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import fc from "fast-check"
import { Alias } from "yaml"
import { element, parseGoalState } from "../../src/clouds/azure-wireserver.js"
import { ovfCustomData } from "../../src/domain/ovf-env.js"
import { parseConf } from "../../src/clouds/scaleway.js"
import { KERNEL_CMDLINE, parseDs } from "../../src/clouds/nocloud-seed.js"
import { MAX_NESTING, nestsDeeperThan } from "../../src/domain/render.js"
import { splitArchive } from "../../src/domain/userdata/archive.js"
import { maskJinja } from "../../src/domain/userdata/jinja.js"
import { fromCloudConfig } from "../../src/domain/userdata/cloud.js"
import { newBudget } from "../../src/domain/userdata/common.js"
import { Notes } from "../../src/domain/userdata/notes.js"
import { analyseUserData } from "../../src/domain/userdata/parse.js"
import { formatProblem } from "../../src/domain/userdata/problem.js"
import { YAML_MAX_ALIASED_CHARACTERS, YAML_MAX_ALIASED_NODES, YAML_MAX_ALIASES } from "../../src/domain/userdata/yaml-aliases.js"
import { YAML_MAX_TOKENS } from "../../src/domain/yaml-depth.js"
import { INTERFACES_HEADER, INTERFACES_MAX_BYTES, interfacesText } from "../../src/domain/interfaces.js"
import { parseAssignments } from "../../src/domain/shell-words.js"
import { settingsFromLeniently } from "../../src/domain/settings.js"
import { withoutCredentials } from "../../src/domain/text.js"
import { makeRootFs } from "../../src/layers/RootFsLive.js"
import { installKeys } from "../../src/programs/actions/user.js"
import { RootFs } from "../../src/services/RootFs.js"
import { actionLines, makeTestInstance } from "../support/instance.js"
import { capturingLog, recordingCommands } from "../support/layers.js"
import { charactersScanned, elementsSearched } from "../support/scanned.js"
import { advancingClock } from "../support/test-clock.js"
import { scopedDir } from "../support/scratch.js"

// a few thousand: each bad line's search of the rest of the text (text.slice(i).split("\n"), 2aa75d3) scans millions of characters, counted
const LINES = 3000

describe("KEY=value documents (Scaleway's /conf, tiny-cloud.conf) with many bad lines", () => {
  const unquotedBlanks = "HOSTNAME=scw-host\n" + "X=a b c\n".repeat(LINES)

  it("each line with an unquoted blank is one problem naming its own line, found without a search of the rest of the text; the good assignment is kept", async () => {
    const { result: { values, problems }, searched } = await charactersScanned(() => parseAssignments(unquotedBlanks))
    expect(searched).toBeLessThan(2 * unquotedBlanks.length)
    expect(values).toEqual({ HOSTNAME: "scw-host" })
    expect(problems).toHaveLength(LINES)
    expect(problems[0]).toEqual({ line: 2, reason: "unexpected 'b c' after X=...; quote values with spaces" })
    expect(problems[LINES - 1]).toEqual({ line: LINES + 1, reason: "unexpected 'b c' after X=...; quote values with spaces" })
    // /conf reads such a line as written
    const conf = await charactersScanned(() => Object.fromEntries(parseConf(unquotedBlanks)))
    expect(conf.searched).toBeLessThan(2 * unquotedBlanks.length)
    expect(conf.result).toEqual({ HOSTNAME: "scw-host", X: "a b c" })
  })

  it("each line that is not an assignment is one problem naming its own line, found without a search of the rest of the text", async () => {
    const text = "not an assignment\n".repeat(LINES) + "CLOUD=aws\n"
    const { result: { values, problems }, searched } = await charactersScanned(() => parseAssignments(text))
    expect(searched).toBeLessThan(2 * text.length)
    expect(values).toEqual({ CLOUD: "aws" })
    expect(problems).toHaveLength(LINES)
    expect(problems[LINES - 1]).toEqual({ line: LINES, reason: "expected KEY=value, got 'not an assignment'" })
  })

  it("a problem quotes its own line only, cut short, up to the end of the text", () => {
    const long = "b".repeat(100)
    expect(parseAssignments(`X=a ${long}\nY=1\n`).problems).toEqual([{ line: 1, reason: `unexpected '${long.slice(0, 40)}' after X=...; quote values with spaces` }])
    expect(parseAssignments(`Y=1\n${long} tail`).problems).toEqual([{ line: 2, reason: `expected KEY=value, got '${long.slice(0, 60)}'` }])
    expect(parseAssignments("Y=1\nlast line").problems).toEqual([{ line: 2, reason: "expected KEY=value, got 'last line'" }])
  })

  it.scopedLive("imds @hostname on scaleway reads the host name from such a /conf", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "scaleway", instance: { hostname: "h" }, faults: { overrides: [{ path: "/conf", body: unquotedBlanks }] } })
      expect(yield* instance.imds(["@hostname"])).toEqual({ code: 0, stdout: "scw-host", stderr: "" })
    })
  )
})

describe("a user-data key list of many keys, written as one block", () => {
  it.scopedLive("is installed, each key once, with no search of the keys taken before each (as keys.includes did: 100,000 keys took minutes)", () =>
    Effect.gen(function* () {
      // a few thousand keys: the old search goes over millions of them, counted, where a linear reading searches none
      const n = 3000
      const cloudKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICloud c@example"
      const keys = Array.from({ length: n }, (_, i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${i} k${i}`)
      // one YAML scalar whatever its lines: within YAML_MAX_TOKENS, where a list of as many entries is not
      const userData = `#cloud-config\nssh_authorized_keys:\n  - |\n${[...keys, cloudKey, keys[0]].map((k) => `    ${k}\n`).join("")}`
      const read = analyseUserData(new TextEncoder().encode(userData), { maxBytes: 16 * 1024 * 1024 })
      expect(read.problems).toEqual([])
      const entries = read.parsed?.kind === "config" ? read.parsed.config.sshAuthorizedKeys : []
      // the file as set_ssh_keys left it, with the cloud's key, to which ssh_authorized_keys adds the user-data's
      const root = yield* scopedDir("tiny-cloud-keys-", tmpdir())
      mkdirSync(join(root, "etc"))
      writeFileSync(join(root, "etc/passwd"), "alpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n")
      mkdirSync(join(root, "home/alpine/.ssh"), { recursive: true })
      writeFileSync(join(root, "home/alpine/.ssh/authorized_keys"), `${cloudKey}\n`)
      const log = yield* capturingLog
      const commands = yield* recordingCommands()
      const install = installKeys("alpine", entries, { append: true, fromUserData: true, action: "ssh_authorized_keys" }).pipe(
        Effect.provide(Layer.mergeAll(log.layer, commands.layer, Layer.effect(RootFs, makeRootFs(root))))
      )
      const { searched } = yield* Effect.promise(() => elementsSearched(() => Effect.runPromise(install)))
      expect(searched).toBeLessThan(4 * n)
      expect(readFileSync(join(root, "home/alpine/.ssh/authorized_keys"), "utf8")).toBe([cloudKey, ...keys].map((k) => `${k}\n`).join(""))
      expect(yield* log.lines).toEqual([])
      expect(yield* Ref.get(commands.calls)).toEqual([])
    })
  )
})

describe("a #cloud-config of many bad entries beside many keys", () => {
  it("places each problem on its line without a search of the keys of its map (10,000 problems beside 10,000 keys took 5 s in every phase that read it)", async () => {
    // a few thousand of each: a search of the top-level keys per problem goes over millions of them, counted
    const n = 3000
    const text = `#cloud-config\nwrite_files:\n${"  - 1\n".repeat(n)}${Array.from({ length: n }, (_, i) => `k${i}: 1\n`).join("")}hostname: h\n`
    const { result: read, searched } = await elementsSearched(() => analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 }))
    expect(searched).toBeLessThan(100 * n)
    expect(read.problems.map(formatProblem).slice(0, 1)).toEqual(["line 3: write_files[0]: expected a file map with path and content, got a number; skipped"])
    expect(read.problems.map(formatProblem).slice(-2)).toEqual([
      "line 102: write_files[99]: expected a file map with path and content, got a number; skipped",
      `line 103: ${n - 100} more problems are not listed`
    ])
  })
})

describe("Azure's goal state with open tags that never close", () => {
  it("80,000 of them, bare, with attributes, or unfinished, are no goal state", () => {
    expect(parseGoalState("<Incarnation>".repeat(80_000))).toBeUndefined()
    expect(parseGoalState("<Incarnation a='1'>".repeat(60_000))).toBeUndefined()
    expect(parseGoalState("<Incarnation a='1'".repeat(60_000))).toBeUndefined()
    const container = `<Incarnation>3</Incarnation><Container><ContainerId>c1</ContainerId>${"<RoleInstance>".repeat(80_000)}</Container>`
    expect(parseGoalState(container)).toBeUndefined()
  })

  it("an element is found as the regex it replaced found it, on any mix of tags, blanks and brackets", () => {
    const regexElement = (xml: string, tag: string) => new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1]
    const fragments = ["<Tag", "<Tag>", "</Tag>", "</Tag", "<TagX>", "</TagX>", "<Tag a='1'>", " ", "\n", "\u00a0", ">", "<", "/", "x"]
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 24, size: "max" }), (parts) => {
        const xml = parts.join("")
        expect(element(xml, "Tag")).toBe(regexElement(xml, "Tag"))
      }),
      { numRuns: 5000 }
    )
  })

  // asked again as a goal state not whole yet is, until the deadline: on the TestClock, its second passes without being waited for
  it.scoped("the ready report fails with one line naming the goal state's URL", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        cloud: "azure",
        instance: { hostname: "vm-1" },
        env: { IMDS_DEADLINE: "1" },
        faults: { overrides: [{ method: "GET", path: "/machine/", body: "<Incarnation>".repeat(80_000) }] }
      })
      const { result: main } = yield* advancingClock(instance.run(["main"]))
      expect(main.code).toBe(1)
      expect(main.stderr).toContain(
        `report_ready: azure: cannot read http://${instance.sim!.endpoint}/machine/?comp=goalstate: no goal state with an incarnation, a container and a role instance\n`
      )
      expect(actionLines(main.stderr).slice(-1)).toEqual(["   ++ report_ready: failed"])
      expect(instance.sim!.reports).toEqual([])
    })
  )
})

describe("JSON metadata nested too deeply", () => {
  const nested = (depth: number, inner = "") => "[".repeat(depth) + inner + "]".repeat(depth)

  it(`is measured without recursion: ${MAX_NESTING} levels are allowed, one more is not, at any depth`, () => {
    expect(MAX_NESTING).toBe(64)
    expect(nestsDeeperThan(JSON.parse(nested(64)), MAX_NESTING)).toBe(false)
    expect(nestsDeeperThan(JSON.parse(nested(65)), MAX_NESTING)).toBe(true)
    // an object and an array each count: 1 + 62 + 1 levels, then 1 + 63 + 1
    expect(nestsDeeperThan(JSON.parse(`{"a":${nested(62, '{"b":1}')}}`), MAX_NESTING)).toBe(false)
    expect(nestsDeeperThan(JSON.parse(`{"a":${nested(63, '{"b":1}')}}`), MAX_NESTING)).toBe(true)
    expect(nestsDeeperThan(JSON.parse(nested(300_000)), MAX_NESTING)).toBe(true)
    // wide is not deep
    expect(nestsDeeperThan(Array.from({ length: 20_000 }, (_, i) => ({ i, l: [i] })), MAX_NESTING)).toBe(false)
    expect(nestsDeeperThan("[[[[", MAX_NESTING)).toBe(false)
    expect(nestsDeeperThan(null, 0)).toBe(false)
  })

  it.scopedLive("imds @nics on openstack: network_data.json nested 300,000 arrays deep is one line naming its URL", () =>
    Effect.gen(function* () {
      const body = `{"links":[{"ethernet_mac_address":${nested(300_000)}}]}`
      const instance = yield* makeTestInstance({ cloud: "openstack", instance: { hostname: "h" }, faults: { overrides: [{ path: "/openstack/latest/network_data.json", body }] } })
      expect(yield* instance.imds(["@nics"])).toEqual({
        code: 1,
        stdout: "",
        stderr: `imds: openstack: cannot read http://${instance.sim!.endpoint}/openstack/latest/network_data.json: JSON nested too deeply (more than ${MAX_NESTING} levels)\n`
      })
    })
  )
})

describe("answers of blanks that backtracking regexes read in quadratic time", () => {
  it.scopedLive("imds @nics on oci: a vnics/ answer of 1,000,000 blanks then a character is printed as served", () =>
    Effect.gen(function* () {
      const body = " ".repeat(1_000_000) + "x"
      const instance = yield* makeTestInstance({ cloud: "oci", instance: { hostname: "h" }, faults: { overrides: [{ path: "/opc/v2/vnics/", body }] } })
      expect(yield* instance.imds(["@nics"])).toEqual({ code: 0, stdout: body, stderr: "" })
    })
  )

  it.scopedLive("imds @nics on oci: an empty list, blanks around it, is no NICs", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "oci", instance: { hostname: "h" }, faults: { overrides: [{ path: "/opc/v2/vnics/", body: " \n[ \n ]\n" }] } })
      expect((yield* instance.imds(["@nics"])).stdout).toBe("")
    })
  )
})

describe("a #cloud-config-archive that names one big entry 99 times by a YAML alias", () => {
  it("makes the bytes of the parts it reads, up to the size limit, not of all 100 at once (an 8 MiB entry took a gigabyte)", () => {
    const line = `# ${"a".repeat(60)}\n`
    const text = `#cloud-config-archive\n- &big |\n  #cloud-config\n${`  ${line}`.repeat(16_000)}${"- *big\n".repeat(99)}`
    const from = vi.spyOn(Buffer, "from")
    try {
      const split = splitArchive(text, 2.5 * 1024 * 1024)
      // the first two fit, the third goes over the limit and ends the reading
      expect(Either.getOrThrow(split).warnings).toHaveLength(1)
      expect(from.mock.calls.filter((call) => { const [value, encoding] = call as ReadonlyArray<unknown>; return typeof value === "string" && value.length > 1_000_000 && encoding === "utf8" })).toHaveLength(3)
    } finally {
      from.mockRestore()
    }
  })
})

describe("a #cloud-config whose aliases repeat what they name (PyYAML reads any number of them)", () => {
  const problems = (text: string) => analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 }).problems.map(formatProblem)

  it(`an anchor named by ${YAML_MAX_ALIASES} aliases is read; one alias more is refused in one line, before the parser's scan of the anchors takes seconds`, () => {
    const aliases = (n: number) => `#cloud-config\nx-owner: &o root:root\nx-owners: [${Array(n).fill("*o").join(", ")}]\n`
    expect(problems(aliases(YAML_MAX_ALIASES))).toEqual([])
    expect(problems(aliases(YAML_MAX_ALIASES + 1))).toEqual([`line 1: YAML: too large to read: more than ${YAML_MAX_ALIASES} aliases in the user-data`])
  })

  it("aliases in runcmd, packages and keys are each resolved without a scan of the whole document (30,000 of them took minutes before their count was refused)", () => {
    const documents = (n: number) => [
      `#cloud-config\nx: &a [echo, 1.0]\nruncmd:\n${"  - *a\n".repeat(n)}`,
      `#cloud-config\nx: &a [py, 1.0]\npackages:\n${"  - *a\n".repeat(n)}`,
      `#cloud-config\nx: &k k\ny:\n${"  - *k : 1\n".repeat(n)}`
    ]
    // the library's Alias.resolve, asked without the context toJS gives it, visits the whole document each time: counted, a few aliases show it
    const scans = vi.spyOn(Alias.prototype, "resolve")
    try {
      for (const text of documents(3)) expect(problems(text)).toEqual([])
      expect(scans.mock.calls.filter(([, ctx]) => ctx === undefined)).toEqual([])
    } finally {
      scans.mockRestore()
    }
    // and one alias more than may be is refused in each, as anywhere
    const refused = [`line 1: YAML: too large to read: more than ${YAML_MAX_ALIASES} aliases in the user-data`]
    for (const text of documents(YAML_MAX_ALIASES + 1)) expect(problems(text)).toEqual(refused)
  })

  it("an alias bomb (lists of aliases of lists, 9^10 values from 100 aliases) is refused in one line by what its aliases add, unexpanded", () => {
    const levels = Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(", ")}]\n`).join("")
    expect(problems(`#cloud-config\na0: &a0 [x, x, x, x, x, x, x, x, x]\n${levels}runcmd: *a9\n`)).toEqual([
      `line 1: YAML: too large to read: its aliases repeat more than ${YAML_MAX_ALIASED_NODES} keys and values`
    ])
  })

  it(`text named again past ${YAML_MAX_ALIASED_CHARACTERS / 1024 / 1024} MiB is refused in one line; up to it, it is read`, () => {
    // 64 copies of 2 MiB are the limit, as 16 of 8 MiB: a quarter of the text to read twice
    const text = (n: number) => `#cloud-config\nx-motd: &m ${"m".repeat(2 * 1024 * 1024)}\nx-copies: [${Array(n).fill("*m").join(", ")}]\n`
    expect(problems(text(64))).toEqual([])
    expect(problems(text(65))).toEqual([`line 1: YAML: too large to read: its aliases repeat more than ${YAML_MAX_ALIASED_CHARACTERS} characters of text`])
  })
})

describe("a #cloud-config list whose lines go on at the start of the line", () => {
  it(`is counted as PyYAML reads it: 300,000 entries are more than ${YAML_MAX_TOKENS} tokens, though the parser, ending the list at the first line, saw 19`, () => {
    const text = `#cloud-config\nruncmd:\n  - [x,\n${"a,\n".repeat(300_000)}b]\n`
    expect(analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 }).problems.map(formatProblem)).toEqual([
      `line 1: YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data`
    ])
  })

  it(`is counted as PyYAML reads it on one line too: 300,000 entries on the one line that goes on are more than ${YAML_MAX_TOKENS} tokens, where the parser saw one plain scalar`, () => {
    const text = `#cloud-config\nruncmd:\n  - [x,\n${"a,".repeat(300_000)}b]\n`
    expect(analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 }).problems.map(formatProblem)).toEqual([
      `line 1: YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data`
    ])
  })
})

describe("a jinja template whose YAML names a value again by an alias", () => {
  it("restores the value once, shared as the YAML loaded it (99 aliases of an 8 MiB text took 2.2 GB), and one that holds itself does not overflow the stack", () => {
    const masked = Either.getOrThrow(maskJinja("#cloud-config\na: &a {x: '{{ v }}'}\nb: *a\n", 0))
    const shared = { x: masked.text.split("'")[1] }
    const restored = masked.restore({ a: shared, b: shared }) as Record<string, unknown>
    expect(restored).toEqual({ a: { x: "{{ v }}" }, b: { x: "{{ v }}" } })
    expect(restored["a"]).toBe(restored["b"])
    const source = '## template: jinja\n#cloud-config\nruncmd: &a [*a, "{{ x }}"]\n'
    const analysed = analyseUserData(new TextEncoder().encode(source), { maxBytes: 1024 * 1024 })
    expect(analysed.problems.map(formatProblem)).toEqual([])
    // the list inside itself is written `[...]` there, as Python's str() writes it (cloud-init's shellify runs that text)
    expect(analysed.parsed?.kind === "config" ? analysed.parsed.config.runcmd[0] : undefined).toEqual({ kind: "argv", argv: ["[[...], '{{ x }}']", "{{ x }}"], index: 0 })
  })
})

describe("a jinja template of millions of expressions", () => {
  it(`is refused before it is read when it holds more than ${YAML_MAX_TOKENS} expressions and comments (16 MiB of '{{x}}' on one line took 18 s and a gigabyte)`, () => {
    const most = maskJinja(`#cloud-config\nruncmd: ["${"{{x}}{# #}".repeat(YAML_MAX_TOKENS / 2)}"]\n`, 0)
    expect(Either.isRight(most)).toBe(true)
    const tooMany = maskJinja(`#cloud-config\nruncmd: ["${"{{x}}".repeat(YAML_MAX_TOKENS + 1)}"]\n`, 2)
    expect(tooMany).toEqual(Either.left([{ path: "", line: 3, message: `too large to read: more than ${YAML_MAX_TOKENS} jinja expressions and comments in the user-data` }]))
  })

  it("counts the expressions of all the parts of a MIME user-data together: two parts each under the limit, together over", () => {
    const template = `## template: jinja\n#cloud-config\nruncmd: ["${"{{x}}".repeat((YAML_MAX_TOKENS * 3) / 5)}"]\n`
    const part = ["--B", "Content-Type: text/cloud-config", "", template].join("\n")
    const mime = ["Content-Type: multipart/mixed; boundary=B", "", part, part, "--B--", ""].join("\n")
    const read = analyseUserData(new TextEncoder().encode(mime), { maxBytes: 16 * 1024 * 1024, maxDecompressedBytes: 16 * 1024 * 1024 })
    expect(read.problems.map(formatProblem)).toEqual([`line 13: too large to read: more than ${YAML_MAX_TOKENS} jinja expressions and comments in the user-data; part skipped`])
  })
})

describe("Azure's CustomData with CDATA sections that never close", () => {
  it("400,000 openings (3.6 MB, within USERDATA_MAX_BYTES; a lazy regular expression took minutes) are refused as markup in one line, and a closed section after many openings' worth of text is read", () => {
    const ovf = (content: string) =>
      `<ns0:Environment xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns1="http://schemas.microsoft.com/windowsazure"><ns1:ProvisioningSection><ns1:LinuxProvisioningConfigurationSet><ns1:CustomData>${content}</ns1:CustomData></ns1:LinuxProvisioningConfigurationSet></ns1:ProvisioningSection></ns0:Environment>`
    expect(ovfCustomData(ovf("<![CDATA[".repeat(400_000)))).toEqual({ invalid: "CustomData holds markup, not base64 text" })
    expect(ovfCustomData(ovf(`${"&#32;".repeat(200_000)}<![CDATA[QUJD]]>`))).toEqual({ base64: Option.some(`${" ".repeat(200_000)}QUJD`) })
  })
})

describe("a jinja template whose openings never close", () => {
  it("a line of 500,000 '{{' (1 MB) is read as written, and the expressions and comments of the next line are still found", () => {
    const unclosed = "{{".repeat(500_000)
    const masked = maskJinja(`#cloud-config\nhostname: ${unclosed}\nruncmd: [{# why #}'echo {{ v1.x }}']\n`, 0)
    expect(Either.isRight(masked)).toBe(true)
    if (Either.isLeft(masked)) return
    const lines = masked.right.text.split("\n")
    expect(lines[1]).toBe(`hostname: ${unclosed}`)
    expect(lines[2]).toBe("runcmd: ['echo \uE0000\uE001']")
    expect(masked.right.restore({ runcmd: ["echo \uE0000\uE001"] })).toEqual({ runcmd: ["echo {{ v1.x }}"] })
  })
})

describe("MIME user-data of many multipart parts whose boundary is not in them", () => {
  it("searches each part's body for its boundary, never the rest of the user-data after it (8000 such parts before 10 MB of text took 15 s)", () => {
    // a few hundred parts before 100 KB: each search that went on to the text's end is counted, no need of the seconds they took
    const parts = '--B\nContent-Type: multipart/mixed; boundary="Z"\n\nx\n'.repeat(300)
    const text = `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n${parts}--B--\n${`${"y".repeat(99)}\n`.repeat(1000)}`
    // how far each search for a delimiter line went: from where it started to the end of what it found, or of the text it searched
    let searched = 0
    const exec = RegExp.prototype.exec
    const spy = vi.spyOn(RegExp.prototype, "exec").mockImplementation(function (this: RegExp, input: string) {
      const from = this.lastIndex
      const found = exec.call(this, input)
      if (this.source.startsWith("^--")) searched += (found === null ? input.length : found.index + found[0].length) - from
      return found
    })
    try {
      const read = analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 })
      expect(read.warnings.at(-1)).toBe("200 more warnings about parts are not listed")
      expect(read.warnings[0]).toBe("part 1 (line 7): multipart part without parts; part ignored")
    } finally {
      spy.mockRestore()
    }
    expect(searched).toBeLessThan(2 * text.length)
  })
})

describe("a refused endpoint of 200 KB of slashes (IMDS_ENDPOINT, AZURE_WIRESERVER, a seedfrom)", () => {
  const slashes = "/".repeat(200_000)
  // the test's timeout is seen only once the thread is free again: each call is followed by a turn of the event loop
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

  it("is named without what comes before its last '@', before the test's timeout (as a regex, [\\s\\S]*@ after the slashes took 7 s for 100 KB, 30 s for 200 KB)", async () => {
    expect(withoutCredentials(slashes)).toBe(slashes)
    await turn()
    expect(withoutCredentials(`http:${slashes}x`)).toBe(`http:${slashes}x`)
    await turn()
    expect(withoutCredentials(`${slashes}user:SECRET@host`)).toBe(`${slashes}***@host`)
    const s = settingsFromLeniently({ IMDS_ENDPOINT: slashes }, "")
    await turn()
    expect(s.problems.map((p) => p.message)).toEqual([`IMDS_ENDPOINT: expected HOST or HOST:PORT, got '${"/".repeat(80)}...'`])
  })

  it("hides what the regex it replaced hid, on any mix of schemes, slashes and '@'", () => {
    const regexWithout = (text: string) =>
      text.replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:)?[/\\]+)?[\s\S]*@/, (_, scheme: string | undefined) => `${scheme ?? ""}***@`)
    const fragments = ["http:", "a", "1", "+", ":", "/", "\\", "@", "?", "#", " ", "\n", "x@y"]
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 16, size: "max" }), (parts) => {
        const text = parts.join("")
        expect(withoutCredentials(text)).toBe(regexWithout(text))
      }),
      { numRuns: 5000 }
    )
  })
})

describe("runcmd lines of half a MiB built to make cloud-init-per's detection backtrack", () => {
  // each shape repeated to 512 KiB on one line: blanks, assignments, quotes, a runner's options and values, a shell's words before -c, here-documents;
  // enough for the test's timeout: with SCRIPT_OPTION's {0,3}? made *? (quadratic) this entry's 'sh x x x -c ' lines take some 140 s (9 s at 128 KiB),
  // with RUNNER_ARG's {1,4} made + 'sudo -' takes minutes at 16 KiB
  const shapes = ["A=A= ", `"' `, "sudo -u a ", "sudo -iu a ", "sudo -", "sh x x x -c ", `sh -c "x `, `<<'<<" `, "<<A ", " #<< ", "$((<<x ", "$(( (<<x ", "$(( (a) ", "${<<x ", "${$<<x ", ";#<< ", `"\\"<<x `, `$'\\'<<x `, `"\\`, `$'\\`, "'<<x ", "\\<<x ", `<<$'\\' `, `<<x$'\\'<<$' `]
  it.each(shapes)("'%s' many times over is read promptly, and names nothing", (shape) => {
    const line = `x ${shape.repeat(Math.floor((512 * 1024) / shape.length))}`
    // one entry of two such lines: the first read as a line of its own, the second after it (a string the first leaves open goes on into it);
    // read as the YAML gives it (the subject is the detection, not the YAML reading of a 1 MiB string, which is linear)
    const notes = new Notes()
    fromCloudConfig({ runcmd: [`${line}\n${line}`] }, { notes, budget: newBudget() })
    expect(notes.problems).toEqual([])
    expect(notes.warnings).toEqual([])
  })
})

describe("a runcmd line of half a million here-documents, then their delimiters' lines", () => {
  it("is read promptly (as each line ended the first here-document with shift(), 67 s at 256 Ki of them, 112 s at 320,000), and the line after them is the script's", () => {
    // (3 MiB; a script of 16 MiB, USERDATA_MAX_BYTES's default, would take hours so)
    const many = 512 * 1024
    const script = `cat ${"<<A ".repeat(many)}\n${"A\n".repeat(many)}cloud-init-per once a touch /a\n`
    const notes = new Notes()
    const { config } = fromCloudConfig({ runcmd: [script] }, { notes, budget: newBudget() })
    expect(config.runcmd?.[0]).toEqual({ kind: "shell", script: `cat ${"<<A ".repeat(many)}\n${"A\n".repeat(many)}touch /a\n`, index: 0 })
    expect(notes.problems).toEqual([])
    expect(notes.warnings).toEqual([])
  })
})

describe("an interfaces.d stanza file of blank lines then a character", () => {
  it.scopedLive("assemble-interfaces reads one of a million lines promptly (as the regex it replaced, 80,000 lines took 13 s, 1 MiB half an hour, with the lock held)", () =>
    Effect.gen(function* () {
      // within the INTERFACES_MAX_BYTES the stanzas may hold together
      const stanza = "\n".repeat(1_000_000) + "x\n"
      expect(stanza.length).toBeLessThan(INTERFACES_MAX_BYTES - 100)
      const instance = yield* makeTestInstance({ noSimulator: true, interfaces: [] })
      instance.write("/etc/network/interfaces.d/lo", "auto lo\niface lo\n  use loopback\n")
      instance.write("/etc/network/interfaces.d/zz-blank", stanza)
      expect(yield* instance.run(["assemble-interfaces"])).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.read("/etc/network/interfaces")).toBe(`${INTERFACES_HEADER}auto lo\niface lo\n  use loopback\n\n${"\n".repeat(1_000_000)}x\n\n`)
    })
  )

  it("drops what the regex it replaced dropped, its blanks ASCII's, on any mix of line ends, blanks and bytes", () => {
    // a stanza is its file's bytes, one character each: 0xA0 ends a UTF-8 'à' (C3 A0), and is no blank
    const regexText = (stanza: string) => `${INTERFACES_HEADER}${stanza.replace(/\r\n?/g, "\n").replace(/\n[ \t\n\v\f\r]*$/, "")}\n\n`
    const fragments = ["\n", "\r\n", "\r", " ", "\t", "\v", "\f", "\u00a0", "\u00c3", "\u0085", "a", "iface x"]
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 16, size: "max" }), (parts) => {
        const stanza = parts.join("")
        expect(interfacesText([stanza])).toBe(regexText(stanza))
      }),
      { numRuns: 5000 }
    )
  })
})

describe("thousands of files written into one directory (write_files, a MIME document's parts)", () => {
  it.scoped("reads the directory for a crash's temporaries once, not at every write (2000 write_files entries into one directory took 22 s, before set_ssh_keys); a crash's are still removed", () =>
    Effect.gen(function* () {
      const root = yield* scopedDir("tiny-cloud-many-files-", tmpdir())
      mkdirSync(join(root, "srv"))
      // a crashed writer's temporary of the last file (pid 999999999: no such process)
      writeFileSync(join(root, "srv/.f399.tmp-999999999-0"), "half")
      const fs = yield* makeRootFs(root)
      // each directory entry looked at for a temporary's name is counted, no need of the seconds they took
      let looked = 0
      const exec = RegExp.prototype.exec
      const spy = vi.spyOn(RegExp.prototype, "exec").mockImplementation(function (this: RegExp, input: string) {
        if (this.source.includes("\\.tmp-")) looked++
        return exec.call(this, input)
      })
      const n = 400
      try {
        for (let i = 0; i < n; i++) yield* fs.writeAtomic(fs.at(`/srv/f${i}`), "a")
      } finally {
        spy.mockRestore()
      }
      expect(looked).toBeLessThan(4 * n)
      expect(readFileSync(join(root, "srv/f399"), "utf8")).toBe("a")
      expect(() => readFileSync(join(root, "srv/.f399.tmp-999999999-0"))).toThrow()
    })
  )
})

describe("a ds=nocloud word of thousands of unknown keys (a container's init arguments, words of up to 128 KiB)", () => {
  it("each key is named once, found without a search of those named before it", async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`)
    const text = `ds=nocloud;${keys.join(";")};h=host ds=nocloud;${keys.join(";")}`
    const { result, searched } = await elementsSearched(() => parseDs(text))
    expect(searched).toBeLessThan(20 * keys.length)
    const params = Option.getOrThrow(result)
    expect(params.localHostname).toBe("host")
    expect(params.unknownKeys).toEqual(keys.map((key) => ({ key, where: KERNEL_CMDLINE })))
  })
})
