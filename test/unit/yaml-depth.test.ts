import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parsedYaml } from "../../src/clouds/common.js"
import { Lexer } from "yaml"
import { SCALAR_LINES_PER_TOKEN, takeTokens, YAML_MAX_NESTING, YAML_MAX_TOKENS, yamlNestsDeeperThan } from "../../src/domain/yaml-depth.js"
import { analyseUserData } from "../../src/domain/userdata/parse.js"
import { formatProblem } from "../../src/domain/userdata/problem.js"

const FIXTURES = join(import.meta.dirname, "../fixtures/cloud-config")

describe("yamlNestsDeeperThan", () => {
  it("counts flow collections where a value starts and inside one another, and sequences opened on one line", () => {
    expect(yamlNestsDeeperThan(`a: ${"[".repeat(3)}x${"]".repeat(3)}\n`, 3)).toBe(false)
    expect(yamlNestsDeeperThan(`a: ${"[".repeat(4)}x${"]".repeat(4)}\n`, 3)).toBe(true)
    expect(yamlNestsDeeperThan(`a: {b: {c: {d: [e]}}}\n`, 3)).toBe(true)
    expect(yamlNestsDeeperThan(`${"- ".repeat(4)}x\n`, 3)).toBe(true)
    expect(yamlNestsDeeperThan(`a:\n  - [\n    [\n      [\n        [x]]]]\n`, 3)).toBe(true)
    expect(yamlNestsDeeperThan(`a: !!seq &x [[[[x]]]]\n`, 3)).toBe(true)
  })

  it("counts block collections nested by indentation, each line deeper than the lines it is under, with what it opens on its line", () => {
    expect(yamlNestsDeeperThan("a:\n b:\n  c:\n   d: x\n", 3)).toBe(false)
    expect(yamlNestsDeeperThan("a:\n b:\n  c:\n   d:\n    e: x\n", 3)).toBe(true)
    expect(yamlNestsDeeperThan("a:\n b:\n  - - x\n", 3)).toBe(true)
    expect(yamlNestsDeeperThan("a:\n b:\n  c: [[x]]\n", 3)).toBe(true)
    // siblings, lines back out, blank lines and comments are no level
    expect(yamlNestsDeeperThan("a:\n  b:\n    c: 1\n  d:\n    e: 1\nf:\n  g:\n\n        # x\n    h: 1\n", 2)).toBe(false)
  })

  it(`refuses a user-data nested by indentation past ${YAML_MAX_NESTING} levels in one line naming it, before the parser overflows its stack (1000 levels were 'YAML: unreadable' on line 969)`, () => {
    const staircase = (depth: number) => `#cloud-config\nruncmd:\n${Array.from({ length: depth }, (_, i) => `${" ".repeat(i + 1)}- \n`).join("")}`
    const problems = (text: string) => analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 }).problems.map(formatProblem)
    expect(problems(staircase(1000))).toEqual([`line 1: YAML: nested too deeply (more than ${YAML_MAX_NESTING} levels)`])
    expect(problems(staircase(YAML_MAX_NESTING + 1))).toEqual([`line 1: YAML: nested too deeply (more than ${YAML_MAX_NESTING} levels)`])
    // below the limit it is read: its one entry's argument is the nested lists' Python text, as cloud-init's shellify writes it
    expect(problems(staircase(YAML_MAX_NESTING - 1))).toEqual([])
  })

  it("never counts brackets in text: plain and quoted scalars, comments, block scalars", () => {
    const deep = "[".repeat(10)
    for (const doc of [
      `runcmd:\n  - echo ${deep}\n  - echo ${deep}\n`,
      `a: "${deep}"\nb: '${deep}'\nc: ["${deep}", '${deep}']\n`,
      `# ${deep}\na: b # ${deep}\n`,
      `write_files:\n  - content: |\n      ${deep}\n      [x\n    path: /x\n  - content: >\n      ${deep}\n`,
      // a blank line inside a block scalar, with CR LF line ends; a tag or an anchor before one
      `a: |\r\n  x\r\n\r\n  ${deep}\r\n  ${deep}\r\nb: c\r\n`,
      `a: &notes |\n  ${deep}\nb: !!str >-\n  ${deep}\n`
    ]) {
      expect([doc, yamlNestsDeeperThan(doc, 3)]).toEqual([doc, false])
    }
  })

  it("passes every cloud-config document of the fixtures at the real limit", () => {
    for (const name of readdirSync(FIXTURES)) expect([name, yamlNestsDeeperThan(readFileSync(join(FIXTURES, name), "utf8"))]).toEqual([name, false])
  })
})

describe("the lines of a scalar written over several", () => {
  const problems = (text: string) => analyseUserData(new TextEncoder().encode(text), { maxBytes: 16 * 1024 * 1024 }).problems.map(formatProblem)
  const tooLarge = `line 1: YAML: too large to read: more than ${YAML_MAX_TOKENS} tokens (keys, values, indicators, line breaks) in the user-data`

  it("count 4 a token: a block scalar of blank lines past that is refused in one line (16 MiB of them took 10 s and 2.5 GB), so are short lines and a plain scalar's", () => {
    // a line more than the limit allows, whatever the rest of the document
    const lines = 4 * YAML_MAX_TOKENS + 4
    expect(problems(`#cloud-config\nx-notes: |\n x\n${"\n".repeat(lines)} x\n`)).toEqual([tooLarge])
    expect(problems(`#cloud-config\nruncmd:\n  - |\n${"    x\n".repeat(lines)}`)).toEqual([tooLarge])
    expect(problems(`#cloud-config\nhostname: a\n${" b\n".repeat(lines)}`)).toEqual([tooLarge])
    expect(SCALAR_LINES_PER_TOKEN).toBe(4)
  })

  it("leave 16 MiB of content in lines of 76 characters well within the limit, ", () => {
    const budget = { tokens: YAML_MAX_TOKENS }
    expect(takeTokens(new Lexer().lex(`write_files:\n  - path: /x\n    content: |\n${`      ${"A".repeat(76)}\n`.repeat(200_000)}`), budget)).toBe(true)
    expect(budget.tokens).toBeGreaterThan(YAML_MAX_TOKENS / 2)
  })
})

describe("a cloud's YAML (a seed's meta-data, incus user-data)", () => {
  it(`of more than ${YAML_MAX_TOKENS} tokens is refused unparsed, in one line; a real one is read`, async () => {
    const read = (text: string) => Effect.runPromise(Effect.either(parsedYaml(text)))
    expect(await read(`hostname: h\nlist:\n${"- a\n".repeat(YAML_MAX_TOKENS / 4)}`)).toEqual(Either.left(`too large to read (more than ${YAML_MAX_TOKENS} YAML tokens)`))
    expect(await read("instance-id: i-1\nlocal-hostname: h\n")).toEqual(Either.right({ "instance-id": "i-1", "local-hostname": "h" }))
  })

  it(`nested deeper than ${YAML_MAX_NESTING} levels is refused unparsed, in one line, within the token limit too`, async () => {
    const read = (text: string) => Effect.runPromise(Effect.either(parsedYaml(text)))
    // 20000 levels: 40000 tokens, well within the limit, and far past any real document
    expect(await read(`instance-id: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`)).toEqual(Either.left(`nested too deeply (more than ${YAML_MAX_NESTING} levels)`))
    // and by indentation: 2000 maps, one a line
    expect(await read(`instance-id: i-1\nx:\n${Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i + 1)}a:\n`).join("")}`)).toEqual(Either.left(`nested too deeply (more than ${YAML_MAX_NESTING} levels)`))
  })

  it("with one anchor named more than a hundred times is read, as user-data is; an alias bomb is refused in one line", async () => {
    const read = (text: string) => Effect.runPromise(Effect.either(parsedYaml(text)))
    const shared = `#cloud-config\nwrite_files:\n  - {path: /etc/f, owner: &o root:root}\n${"  - {path: /etc/g, owner: *o}\n".repeat(120)}`
    const read120 = await read(shared)
    expect(Either.isRight(read120) && (read120.right as { write_files: Array<{ owner: string }> }).write_files.map((f) => f.owner)).toEqual(Array(121).fill("root:root"))
    let bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for (let i = 1; i < 12; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]\n`
    expect(await read(bomb)).toEqual(Either.left("too large to read (too many nodes)"))
  })
})
