/** The shell completions, checked and driven by the real shells. */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { COMMANDS, IMDS_ALIASES, IMDS_FLAGS, spellings } from "../../src/programs/commands.js"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { completionScript, SHELLS, type Shell } from "../../src/programs/completion.js"
import { SIM_CLOUDS } from "../../src/sim/simulator.js"
import { PROGRAM } from "../support/harness.js"
import { describeSystem } from "../support/system.js"

const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-completion-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const scriptFile = (shell: Shell) => {
  const file = join(dir, `completion.${shell}`)
  writeFileSync(file, completionScript(shell, SIM_CLOUDS))
  return file
}

describe("completion scripts", () => {
  it.each(SHELLS)("%s: every command, option and imds word is offered", (shell) => {
    const script = completionScript(shell, SIM_CLOUDS)
    const words = [
      ...COMMANDS.flatMap(spellings),
      ...COMMANDS.flatMap((c) => (c.options ?? []).flatMap((o) => o.names)),
      ...[...IMDS_FLAGS, ...IMDS_ALIASES].map(([w]) => w),
      ...SIM_CLOUDS
    ]
    const asWritten = (w: string) => (shell === "fish" && /^--?[\w-]+$/.test(w) && !COMMANDS.some((c) => spellings(c).includes(w)) ? w.replace(/^--?/, "") : w)
    expect(words.filter((w) => !script.includes(asWritten(w)))).toEqual([])
  })
})

describe("the -h and --help the completions offer after a command", () => {
  it("are what the command answers with its own usage, on stdout, exit 0; a command not marked so answers them with the usage on stderr, exit 1", () => {
    const answer = (args: ReadonlyArray<string>) => {
      const route = routeTinyCloud(args)
      if (route._tag === "Print") return { code: route.code, usage: (route.stdout ?? "").startsWith("Usage: ") }
      // (simulate answers its own, as a process)
      const r = spawnSync(process.execPath, [PROGRAM, ...args], { encoding: "utf8" })
      return { code: r.status, usage: r.stdout.startsWith("Usage: ") }
    }
    const marked = COMMANDS.filter((c) => c.ownHelp === true)
    expect(marked.length).toBeGreaterThan(10)
    const answers = (names: ReadonlyArray<string>) => names.flatMap((name) => ["-h", "--help"].map((flag) => ({ name, flag, ...answer([name, flag]) })))
    expect(answers(marked.flatMap(spellings)).filter((a) => a.code !== 0 || !a.usage)).toEqual([])
    // (the shell edition's commands take no -h of their own: an argument they do not know)
    expect(answers(["--bootstrap", "-b", "--enable", "--disable"]).filter((a) => a.code !== 1 || a.usage)).toEqual([])
    expect(COMMANDS.filter((c) => c.shellEdition === true && c.ownHelp !== true).map((c) => c.name)).toEqual(["--bootstrap", "--enable", "--disable"])
  })
})

describeSystem("bash completion", { tools: { bash: "bash" } }, () => {
  /** COMPREPLY for a command line, the cursor at its end */
  const complete = (line: string): ReadonlyArray<string> => {
    const out = execFileSync("bash", ["-c", `source "$1"; COMP_WORDBREAKS=$' \\t\\n"\\'><=;|&(:'; COMP_LINE=$2; COMP_POINT=\${#2}; _tiny_cloud; printf '%s\\n' "\${COMPREPLY[@]}"`, "_", scriptFile("bash"), line], { encoding: "utf8" })
    return out.split("\n").filter((l) => l !== "")
  }

  it("bash -n accepts it", () => {
    expect(execFileSync("bash", ["-n", scriptFile("bash")], { encoding: "utf8" })).toBe("")
  })

  it.each([
    ["tiny-cloud st", ["status"]],
    ["tiny-cloud -", ["--bootstrap", "-b", "--enable", "-E", "--disable", "-D", "--version", "--help", "-h"]],
    ["tiny-cloud -b ", ["complete", "incomplete", "status"]],
    ["tiny-cloud --bootstrap status ", []],
    // an option once, and --timeout only with --wait: anything else is a usage error
    ["tiny-cloud status --", ["--json", "--wait", "--help"]],
    ["tiny-cloud status --wait --", ["--json", "--timeout"]],
    ["tiny-cloud status --json --wait --timeout=5 --", []],
    ["tiny-cloud status --timeout ", []],
    ["tiny-cloud autodetect -", ["-v", "--verbose", "--help", "-h"]],
    ["tiny-cloud autodetect -v -", []],
    // a command's own usage, as its only argument
    ["tiny-cloud boot -", ["--help", "-h"]],
    ["tiny-cloud hotplug -", ["--help", "-h"]],
    ["tiny-cloud hotplug vnic-eth -", []],
    // nothing after it ('status --help --json': the usage on stderr, exit 1)
    ["tiny-cloud status --help -", []],
    ["tiny-cloud autodetect -h -", []],
    ["tiny-cloud simulate -h --", []],
    ["tiny-cloud -b -", []],
    ["tiny-cloud simulate --cloud a", ["aws", "azure"]],
    ["tiny-cloud completion ", ["bash", "zsh", "fish"]],
    ["imds @h", ["@hostname"]],
    ["imds +", ["+e", "+E", "+n", "+s", "+t"]],
    // -h as the first argument alone
    ["imds -", ["-h", "--help", "-e", "-E"]],
    ["imds @hostname -", ["-e", "-E"]],
    ["tiny-cloud imds -", ["-h", "--help", "-e", "-E"]],
    ["tiny-cloud imds --", ["--help"]],
    ["tiny-cloud imds +n -", ["-e", "-E"]],
    ["tiny-cloud imds @ssh", ["@ssh-keys"]],
    // bash took "@nic:" as a word of its own: the replies are what follows it
    ["imds @nic:lo,@ipv4", ["lo,@ipv4", "lo,@ipv4-net", "lo,@ipv4-prefix"]]
  ])("%j offers %j", (line, expected) => {
    expect(complete(line)).toEqual(expected)
  })

  it("@nic: offers this machine's interfaces", () => {
    expect(complete("imds @nic:l")).toEqual(["lo", "lo,"])
  })
})

describeSystem("zsh completion", { tools: { zsh: "zsh" } }, () => {
  /** what _tiny_cloud hands zsh's completion system, with its functions stubbed */
  const complete = (service: string, words: ReadonlyArray<string>): string =>
    execFileSync(
      "zsh",
      [
        "-f",
        "-c",
        `_describe() { print -r -- "describe \${(P)\${@[-1]}}" }; _arguments() { print -r -- "arguments $*" }; compadd() { print -r -- "compadd $*" }; compdef() { :; }
source "$1"; service=$2; shift 2; words=("$@"); CURRENT=$#words; PREFIX=\${words[-1]}; _tiny_cloud`,
        "_",
        scriptFile("zsh"),
        service,
        ...words
      ],
      { encoding: "utf8" }
    )

  it("installed in a directory of fpath as _tiny-cloud, as compinit autoloads it: the first completion already completes, and every one after it; sourced, it registers itself", () => {
    const fpath = mkdtempSync(join(dir, "fpath-"))
    writeFileSync(join(fpath, "_tiny-cloud"), completionScript("zsh", SIM_CLOUDS))
    const stubs = `_describe() { print -r -- "describe \${(P)\${@[-1]}[1]}" }; _arguments() { print -r -- "arguments $*" }; compadd() { print -r -- "compadd $*" }; compdef() { print -r -- "compdef $*" }`
    const autoloaded = execFileSync(
      "zsh",
      ["-f", "-c", `fpath=("$1" $fpath); autoload -Uz _tiny-cloud; ${stubs}; service=$2; words=($2 ""); CURRENT=2; PREFIX=""; _tiny-cloud; _tiny-cloud`, "_", fpath, "tiny-cloud"],
      { encoding: "utf8" }
    )
    expect(autoloaded).toBe("describe boot:run the boot phase (OpenRC tiny-cloud-boot)\n".repeat(2))
    const imds = execFileSync("zsh", ["-f", "-c", `fpath=("$1" $fpath); autoload -Uz _tiny-cloud; ${stubs}; service=imds; words=(imds @host); CURRENT=2; PREFIX=@host; _tiny-cloud`, "_", fpath], { encoding: "utf8" })
    expect(imds).toContain("compadd -- -h --help -e")
    expect(execFileSync("zsh", ["-f", "-c", `${stubs}; source "$1"; f() { source "$1" }; f "$1"`, "_", join(fpath, "_tiny-cloud")], { encoding: "utf8" })).toBe("compdef _tiny_cloud tiny-cloud imds\n".repeat(2))
  })

  it("zsh -n accepts it", () => {
    expect(execFileSync("zsh", ["-n", scriptFile("zsh")], { encoding: "utf8" })).toBe("")
  })

  it("offers the commands with their summaries, each command's options and operands, and the imds words", () => {
    expect(complete("tiny-cloud", ["tiny-cloud", ""])).toContain("status:whether the bootstrap is done, what failed, how long each phase took")
    const help = "(- : *)-h[print the usage of this command] (- : *)--help[print the usage of this command]"
    expect(complete("tiny-cloud", ["tiny-cloud", "status", ""])).toBe(`arguments -s --json[print JSON] --wait[wait until the final phase has run] ${help}\n`)
    expect(complete("tiny-cloud", ["tiny-cloud", "boot", ""])).toBe(`arguments -s ${help}\n`)
    expect(complete("tiny-cloud", ["tiny-cloud", "status", "--wait", ""])).toBe(
      "arguments -s --json[print JSON] --wait[wait until the final phase has run] --timeout[with --wait - give up after SECONDS (exit 3)]:SECONDS: \n"
    )
    expect(complete("tiny-cloud", ["tiny-cloud", "-b", ""])).toBe("arguments -s 1:--bootstrap argument:(complete incomplete status)\n")
    // nothing after a command's own -h or --help ('status --help --json': the usage on stderr, exit 1)
    for (const words of [["status", "--help", "-"], ["autodetect", "-h", "-"], ["simulate", "-h", "--"], ["hotplug", "--help", ""]]) {
      const offered = (() => {
        try {
          return complete("tiny-cloud", ["tiny-cloud", ...words])
        } catch (e) {
          // (no matches: the completion function returns 1)
          return (e as { stdout: string }).stdout
        }
      })()
      expect({ words, offered }).toEqual({ words, offered: "" })
    }
    expect(complete("imds", ["imds", "@nic:lo,@ip"])).toContain("compadd -S  -- @nic:lo,@mac @nic:lo,@ipv4")
    expect(complete("imds", ["imds", "-"])).toContain("compadd -- -h --help -e")
    expect(complete("imds", ["imds", "@hostname", "-"])).toContain("compadd -- -e +e")
    expect(complete("tiny-cloud", ["tiny-cloud", "imds", "+n", "-"])).toContain("compadd -- -e +e")
  })
})

describeSystem("fish completion", { tools: { fish: "fish" } }, () => {
  const complete = (line: string): ReadonlyArray<string> =>
    execFileSync("fish", ["--no-config", "-c", "source $argv[1]; complete -C $argv[2]", scriptFile("fish"), line], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t")[0]!)

  it("fish --no-execute accepts it", () => {
    expect(execFileSync("fish", ["--no-execute", scriptFile("fish")], { encoding: "utf8" })).toBe("")
  })

  it.each([
    ["tiny-cloud sta", ["status"]],
    ["tiny-cloud --boot", ["--bootstrap"]],
    ["tiny-cloud -b ", ["complete", "incomplete", "status"]],
    ["tiny-cloud status --", ["--help", "--json", "--wait"]],
    ["tiny-cloud status --wait --json --", ["--timeout"]],
    ["tiny-cloud autodetect -", ["-h", "-v", "--help", "--verbose"]],
    ["tiny-cloud boot -", ["-h", "--help"]],
    ["tiny-cloud status --help -", []],
    ["tiny-cloud autodetect -h -", []],
    ["tiny-cloud simulate -h --", []],
    ["tiny-cloud -b -", []],
    ["tiny-cloud autodetect -v -", []],
    ["tiny-cloud simulate --cloud a", ["aws", "azure"]],
    ["tiny-cloud simulate --cloud aws --e", ["--exec"]],
    ["imds @ni", ["@nic:", "@nics"]],
    ["imds -", ["-E", "-e", "-h", "--help"]],
    ["imds --", ["--help"]],
    ["imds @hostname -", ["-E", "-e"]],
    ["imds @nic:lo,@ipv6", ["@nic:lo,@ipv6", "@nic:lo,@ipv6-net", "@nic:lo,@ipv6-prefix"]],
    ["tiny-cloud imds @h", ["@hostname"]]
  ])("%j offers %j", (line, expected) => {
    expect(complete(line)).toEqual(expected)
  })
})
