/** The man pages: built from their sources, complete, and rendered by man(1) without a warning. */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CLOUD_NAMES, PROVIDERS } from "../../src/clouds/registry.js"
import { CONFIG_KEYS, ENVIRONMENT_ONLY, settingsFromLeniently } from "../../src/domain/settings.js"
import { configReport } from "../../src/programs/config-cli.js"
import { USERDATA_CHANGES } from "../../src/domain/userdata/type.js"
import { COMMANDS } from "../../src/programs/commands.js"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { IMDS_USAGE, TINY_CLOUD_USAGE } from "../../src/programs/usage.js"
import { PHASES } from "../../src/domain/phases.js"
import { manSources } from "../../scripts/docs.js"
import { buildPages, inline, ManSourceError, renderPage } from "../../scripts/man.js"
import { describeSystem } from "../support/system.js"

const OPTIONS = { version: "1.2.3", date: "2025-01-01" }
const PAGES = ["alpine-config.5", "cloud-config.5", "imds.1", "tiny-cloud.8", "tiny-cloud.conf.5"]

describe("man page sources", () => {
  it("build to the five pages", () => {
    expect(buildPages(manSources(), OPTIONS).map((p) => p.file)).toEqual(PAGES)
  })

  it("tiny-cloud(8) has every command of the table, its short names, its synopsis and its options", () => {
    const roff = buildPages(manSources(), OPTIONS).find((p) => p.file === "tiny-cloud.8")!.roff
    const escaped = (name: string) => name.replace(/-/g, "\\-")
    for (const c of COMMANDS) expect(roff).toContain(`\\fBtiny\\-cloud ${[...(c.aliases ?? []), c.name].map(escaped).join("|")}\\fR`)
    expect(roff).toContain("\\fBtiny\\-cloud \\-b|\\-\\-bootstrap\\fR")
    expect(roff).toContain("\\fB\\-\\-timeout\\fR \\fISECONDS\\fR")
    expect(roff.split("\n")[0]).toBe('.TH TINY\\-CLOUD 8 "2025-01-01" "tiny\\-cloud 1.2.3" "System Manager\'s Manual"')
  })

  it("refuses a source that leaves a command, a configuration key or a user-data key undocumented", () => {
    const sources = manSources()
    const without = (file: string, pattern: RegExp) => ({ [file]: sources[file]!.replace(pattern, "") })
    expect(() => buildPages(without("tiny-cloud.8.md", /\{\{command analyze\}\}\n: [^\n]*\n(  [^\n]*\n)*/), OPTIONS)).toThrow(
      new ManSourceError("tiny-cloud.8.md: not documented: analyze")
    )
    expect(() => buildPages(without("tiny-cloud.conf.5.md", /`IMDS_DEADLINE`\n: [^\n]*\n/), OPTIONS)).toThrow("tiny-cloud.conf.5.md: not documented: IMDS_DEADLINE")
    expect(() => buildPages(without("cloud-config.5.md", /`timezone`\n: [^\n]*\n/), OPTIONS)).toThrow("cloud-config.5.md: not documented: timezone")
    expect(() => buildPages(without("alpine-config.5.md", /`autoinstall`\n: [^\n]*\n/), OPTIONS)).toThrow("alpine-config.5.md: not documented: autoinstall")
    expect(CONFIG_KEYS.length).toBeGreaterThan(20)
  })

  it("tiny-cloud(8) names, in a phase's entry, every action a cloud adds to that phase (azure's report_ready, nocloud's set_network_interfaces)", () => {
    const page = manSources()["tiny-cloud.8.md"]!
    const entryOf = (phase: string) => page.slice(page.indexOf(`{{command ${phase}}}`)).split(/\n\{\{command /)[0]!
    const added = PROVIDERS.flatMap((p) => (p.changes ?? []).flatMap((c) => c.actions.map((action) => ({ cloud: p.name, phase: c.phase, action }))))
    expect(added.length).toBeGreaterThan(0)
    expect(added.filter(({ cloud, phase, action }) => !entryOf(phase).includes(`On ${cloud} \`${action}\``))).toEqual([])
  })

  it("each user-data page names, in its ACTIONS, every action its type adds to the phases (the names SKIP_INIT_ACTIONS takes)", () => {
    const actionsOf = (page: string) => manSources()[page]!.split(/^## ACTIONS\n/m)[1]?.split(/^## /m)[0] ?? ""
    const added = (...types: ReadonlyArray<keyof typeof USERDATA_CHANGES>) => [...new Set(types.flatMap((t) => USERDATA_CHANGES[t].flatMap((c) => c.actions)))]
    const missing = (page: string, actions: ReadonlyArray<string>) => actions.filter((a) => !actionsOf(page).includes(`\`${a}\``))
    expect(added("cloud-config").length).toBeGreaterThan(10)
    expect(missing("alpine-config.5.md", added("alpine-config"))).toEqual([])
    expect(missing("cloud-config.5.md", added("cloud-config", "multipart"))).toEqual([])
  })

  it("tiny-cloud(8)'s --help entry names every command that answers COMMAND --help with its usage", () => {
    const page = manSources()["tiny-cloud.8.md"]!
    const entry = page.slice(page.indexOf("{{command --help}}")).split(/\n\{\{command |\n## /)[0]!
    const answers = (name: string) => {
      const route = routeTinyCloud([name, "--help"])
      // simulate answers its own, as it runs
      return (route._tag === "Print" && route.code === 0 && route.stdout?.startsWith("Usage: ") === true) || (route._tag === "Standalone" && name === "simulate")
    }
    const answering = COMMANDS.map((c) => c.name).filter((name) => name !== "--help" && answers(name))
    expect(answering).toContain("net-sync")
    const named = (name: string) => ((PHASES as ReadonlyArray<string>).includes(name) ? entry.includes("the phases") : entry.includes(`\`${name}\``))
    expect(answering.filter((name) => !named(name))).toEqual([])
  })

  it("README's Commands block names every command with its synopsis, as the usage prints it", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
    const block = /^## Commands\n\n```\n([^]*?)```/m.exec(readme)![1]!
    // each line without its comment (a parenthesis that ends it) and its blanks
    const lines = block.split("\n").map((l) => l.replace(/\s+\([^()]*\)$/, "").replace(/\s+/g, ""))
    const usage = TINY_CLOUD_USAGE.replace(/^Usage: /, "").split("\n").map((l) => l.replace(/\s+/g, ""))
    // the shell edition's block as the usage has it, then a line per command of this edition; imds's own line, as imds(1)'s
    expect(lines.slice(0, 3)).toEqual(usage.slice(0, 3))
    const expected = COMMANDS.filter((c) => !c.shellEdition && c.name !== "--help").map((c) =>
      c.name === "imds" ? "tiny-cloudimds..." : `tiny-cloud${c.name}${c.synopsis}`.replace(/\s+/g, "")
    )
    expect(expected.filter((line) => !lines.includes(line))).toEqual([])
    expect(lines).toContain(IMDS_USAGE.split("\n")[0]!.replace(/^Usage: /, "").replace(/\s+/g, ""))
  })

  it("tiny-cloud.conf(5) names every cloud of the registry as a value of CLOUD", () => {
    const entry = /`CLOUD`\n: ([^\n]*)\n/.exec(manSources()["tiny-cloud.conf.5.md"]!)![1]!
    expect(CLOUD_NAMES.filter((name) => !entry.includes(`\`${name}\``))).toEqual([])
  })

  it("the stock configuration names every cloud of the registry as a value of CLOUD", () => {
    const conf = readFileSync(new URL("../../conf/tiny-cloud.conf", import.meta.url), "utf8")
    const comment = /^# Cloud provider: ([^]*?)\n#CLOUD=/m.exec(conf)![1]!.replace(/\n# ?/g, " ")
    expect(CLOUD_NAMES.filter((name) => !comment.split(/[\s;,]+/).includes(name))).toEqual([])
  })

  it("the stock configuration holds every key once, commented out with its default: uncommented, it changes no value", () => {
    const conf = readFileSync(new URL("../../conf/tiny-cloud.conf", import.meta.url), "utf8")
    const written = [...conf.matchAll(/^#([A-Z_]+)=(.*)$/gm)].map(([, key, value]) => ({ key: key!, value: value! }))
    expect(written.map((w) => w.key).sort()).toEqual([...CONFIG_KEYS].sort())
    const report = (text: string) => configReport(settingsFromLeniently({}, text), true)
    const uncommented = report(conf.replace(/^#([A-Z_]+=)/gm, "$1"))
    expect(uncommented.problems).toEqual([])
    expect(uncommented.keys.map((k) => [k.key, k.value])).toEqual(report("").keys.map((k) => [k.key, k.value]))
    // the keys read from the environment alone, whose lines in the file are not read: each shows the default as written
    const defaults = Object.fromEntries(report("").keys.map((k) => [k.key, k.value]))
    for (const key of ENVIRONMENT_ONLY) expect([key, settingsFromLeniently({}, `${key}=${written.find((w) => w.key === key)!.value}`).values[key]]).toEqual([key, defaults[key]])
  })

  it("escapes what roff would take for its own", () => {
    expect(inline("a `--json` b **x-y** *FILE* \\n")).toBe("a \\fB\\-\\-json\\fR b \\fBx\\-y\\fR \\fIFILE\\fR \\en")
    expect(inline("tiny-cloud* links")).toBe("tiny-cloud* links")
    const page = renderPage("x.1", "# x(1) -- y\n\n.starts with a dot\n\n```\n'quoted\n```\n", OPTIONS)
    expect(page.roff).toContain("\n\\&.starts with a dot\n")
    expect(page.roff).toContain("\n\\&'quoted\n")
    expect(() => renderPage("x.1", "x(1)\n", OPTIONS)).toThrow(ManSourceError)
  })
})

describeSystem("man pages rendered by man(1)", { tools: { man: "man-db", groff: "groff-base" } }, () => {
  // made before the tests, not as they are collected: a skipped group's are collected too, and its afterAll never runs
  let dir = ""
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tiny-cloud-man-"))
    for (const page of buildPages(manSources(), OPTIONS)) writeFileSync(join(dir, page.file), page.roff)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.each(PAGES)("man -l %s renders it without a warning", (file) => {
    const r = spawnSync("man", ["--warnings=all", "-l", join(dir, file)], { encoding: "utf8", env: { ...process.env, MANWIDTH: "80", LC_ALL: "C.UTF-8", MAN_KEEP_FORMATTING: "" } })
    expect([r.status, r.stderr]).toEqual([0, ""])
    const name = file.replace(/\.\d$/, "")
    expect(r.stdout).toContain(`${name.toUpperCase()}(${file.slice(-1)})`)
    expect(r.stdout).toMatch(/^NAME$/m)
  })

  it("the text reads as written: options, keys and literal blocks", () => {
    const text = execFileSync("man", ["-l", join(dir, "tiny-cloud.conf.5")], { encoding: "utf8", env: { ...process.env, MANWIDTH: "80", LC_ALL: "C.UTF-8" } })
    expect(text).toContain("       CLOUD_USER\n              The account that receives the SSH keys. Default alpine. A name\n")
    expect(text).toContain("           HOTPLUG_MODULES=\"vnic_eth_hotplug nvme_ebs_links\"\n")
  })
})
