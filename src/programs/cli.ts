/**
 * What a command line asks for, decided without loading any Effect code:
 * usage and version are printed at once; everything else names a program to
 * load and run. Type-only imports here.
 */
import type * as Effect from "effect/Effect"
import { PHASES, type Phase } from "../domain/phases.js"
import type { AppServices } from "../services/all.js"
import type { LogOptions } from "../services/Log.js"
import { COMMANDS } from "./commands.js"
import { commandUsage, IMDS_USAGE, TINY_CLOUD_USAGE } from "./usage.js"
import { ownEntry } from "../domain/own.js"
import { asksBootstrapStatus, commandWords, isImds } from "./command-words.js"

declare const __VERSION__: string

export type Program = Effect.Effect<number, { readonly message: string }, AppServices>

export interface ProgramRoute {
  readonly _tag: "Program"
  readonly logTag: string
  readonly errorPrefix: string
  readonly load: () => Promise<Program>
  readonly lenientConfig?: boolean
  readonly log?: LogOptions
  /** stdout is only the echo of the user's programs' output (a phase): its failure does not end the command (entry/exit.ts) */
  readonly echoOnly?: boolean
}

export type Route =
  /** print and exit */
  | { readonly _tag: "Print"; readonly code: number; readonly stdout?: string; readonly stderr?: string }
  /**
   * run a program over the services; failures become one line after
   * `errorPrefix`. `lenientConfig`: the configuration is given with its
   * problems instead of failing (for `tiny-cloud config`); `log`: where its
   * lines go besides syslog
   */
  | ProgramRoute
  /** the resident process of a first boot (`serve`), which the entry runs */
  | { readonly _tag: "Resident" }
  /** a command that runs on its own (simulate, completion) */
  | { readonly _tag: "Standalone"; readonly run: () => Promise<number> }
  /** `--bootstrap status`, which the entry answers without the Effect runtime */
  | { readonly _tag: "BootstrapStatus" }

const usage = (text: string, code: 0 | 1): Route => (code === 0 ? { _tag: "Print", code, stdout: text } : { _tag: "Print", code, stderr: text })

const program = (logTag: string, errorPrefix: string, load: () => Promise<Program>, lenientConfig = false): ProgramRoute => ({
  _tag: "Program",
  logTag,
  errorPrefix,
  load,
  ...(lenientConfig ? { lenientConfig } : {})
})

/** a network helper (BEHAVIOUR.md §8): syslog under its own name, only errors on stderr; the configuration's problems are its own to report, as a phase's */
const helper = (name: string, load: () => Promise<Program>): Route => ({
  _tag: "Program",
  logTag: name,
  errorPrefix: name,
  load,
  lenientConfig: true,
  log: { stderr: "errors" }
})

const helperUsage = (text: string, args: ReadonlyArray<string>): Route | undefined =>
  args[0] === "-h" || args[0] === "--help" ? usage(`Usage: ${text}\n`, 0) : undefined

const assembleInterfaces = (args: ReadonlyArray<string>): Route =>
  helperUsage("assemble-interfaces", args) ??
  (args.length === 0 ? helper("assemble-interfaces", () => import("./network/assemble.js").then((m) => m.assembleCommand)) : usage("Usage: assemble-interfaces\n", 1))

/** a helper mdev runs with its environment and no arguments: `-h` is its usage, any argument a mistake its usage names */
const mdevHelper = (text: string, args: ReadonlyArray<string>): Route | undefined =>
  helperUsage(text, args) ?? (args.length > 0 ? usage(`Usage: ${text}\n`, 1) : undefined)

const HOTPLUGS: Readonly<Record<string, string>> = { "vnic-eth": "vnic-eth-hotplug", "nvme-ebs": "nvme-ebs-links" }

/** the usage of each mdev helper, by its name: the same whether it is called by that name or as `tiny-cloud hotplug KIND` */
const HOTPLUG_USAGE: Readonly<Record<string, string>> = {
  "vnic-eth-hotplug": "vnic-eth-hotplug (MDEV=ethN ACTION=add|remove)",
  "nvme-ebs-links": "nvme-ebs-links (MDEV=nvmeXnY[pZ] ACTION=add|remove)"
}

/** MDEV and ACTION come from mdev's environment; nvme-ebs-links makes its links in `cwd` (mdev runs it in /dev) */
const hotplug = (kind: string, args: ReadonlyArray<string>, cwd?: string): Route => {
  const name = ownEntry(HOTPLUGS, kind)
  // `tiny-cloud hotplug vnic-eth -h` is the helper's `-h`, as `tiny-cloud net-sync -h` is imds-net-sync's
  const help = name === undefined || args.length !== 1 ? undefined : helperUsage(HOTPLUG_USAGE[name]!, args)
  if (help !== undefined) return help
  if (name === undefined || args.length > 0) return usage(`Usage: tiny-cloud hotplug { ${Object.keys(HOTPLUGS).join(" | ")} }\n`, 1)
  return kind === "vnic-eth"
    ? helper(name, () => import("./network/vnic-hotplug.js").then((m) => m.vnicEthHotplug))
    : helper(name, () => import("./network/nvme-ebs.js").then((m) => m.nvmeEbsLinks(cwd ?? process.cwd())))
}

/** `-k` (the shell edition's pre-down) does nothing, as PHASE=pre-down does */
const netSync = (args: ReadonlyArray<string>): Route => {
  const help = helperUsage("imds-net-sync [IFACE]", args)
  if (help !== undefined) return help
  if (args[0] === "-k" && args.length === 1) return { _tag: "Print", code: 0 }
  if (args.length > 1 || args[0]?.startsWith("-")) return usage("Usage: imds-net-sync [IFACE]\n", 1)
  return helper("imds-net-sync", () => import("./network/net-sync.js").then((m) => m.netSync(args[0])))
}

/** the network helpers by the names the shell edition installs them as; undefined for any other name */
export const routeHelper = (invokedAs: string, args: ReadonlyArray<string>, cwd?: string): Route | undefined => {
  switch (invokedAs) {
    case "assemble-interfaces":
      return assembleInterfaces(args)
    case "vnic-eth-hotplug":
      return mdevHelper(HOTPLUG_USAGE[invokedAs]!, args) ?? hotplug("vnic-eth", args, cwd)
    case "nvme-ebs-links":
      return mdevHelper(HOTPLUG_USAGE[invokedAs]!, args) ?? hotplug("nvme-ebs", args, cwd)
    case "imds-net-sync":
      return netSync(args)
  }
  return undefined
}

export const routeImds = (args: ReadonlyArray<string>): Route => {
  if (args[0] === "-h" || args[0] === "--help") return usage(IMDS_USAGE, 0)
  if (args.length === 0) return usage(IMDS_USAGE, 1)
  // an unknown option (`-x`, `--json`) is a usage error before any key is read, as for tiny-cloud (BEHAVIOUR.md §1)
  if (args.some((a) => a.startsWith("-") && a !== "-e" && a !== "-E")) return usage(IMDS_USAGE, 1)
  return program("imds", "imds", () => import("./imds-cli.js").then((m) => m.imds(args)))
}

/** the options of a command line as its spec declares them (`--timeout 5`, `--timeout=5`), each once; undefined for anything else */
const parseOptions = (name: string, args: ReadonlyArray<string>): Readonly<Record<string, string | true>> | undefined => {
  const options = COMMANDS.find((c) => c.name === name)?.options ?? []
  const parsed: Record<string, string | true> = {}
  for (let i = 0; i < args.length; i++) {
    const [word = "", inline] = args[i]!.startsWith("--") && args[i]!.includes("=") ? args[i]!.split(/=(.*)/s) : [args[i]]
    const option = options.find((o) => o.names.includes(word))
    if (option === undefined) return undefined
    const key = option.names.find((n) => n.startsWith("--")) ?? option.names[0]!
    if (key in parsed) return undefined
    if (option.arg === undefined) {
      if (inline !== undefined) return undefined
      parsed[key] = true
    } else {
      const value = inline ?? args[++i]
      if (value === undefined) return undefined
      parsed[key] = value
    }
  }
  return parsed
}

// `\d+(\.\d*)?`, not `\d+\.?\d*`: two runs of digits side by side backtrack quadratically over a long one that does not end well
const SECONDS = /^(\d+(\.\d*)?|\.\d+)$/

/** `status`, `analyze`, `autodetect`, `config`: the operator's commands, over the services */
const operatorCommand = (name: string, rest: ReadonlyArray<string>): Route | undefined => {
  if (!["status", "analyze", "autodetect", "config"].includes(name)) return undefined
  const o = parseOptions(name, rest)
  const bad: Route = { _tag: "Print", code: 1, stderr: commandUsage(name) }
  if (o === undefined) return bad
  const json = o["--json"] === true
  switch (name) {
    case "status": {
      const timeout = o["--timeout"]
      if (timeout !== undefined && (o["--wait"] !== true || typeof timeout !== "string" || !SECONDS.test(timeout) || Number(timeout) <= 0)) return bad
      const options = { json, wait: o["--wait"] === true, ...(typeof timeout === "string" ? { timeoutSeconds: Number(timeout) } : {}) }
      // the state is told whatever else tiny-cloud.conf gets wrong (a phase says that itself)
      return program("tiny-cloud", "tiny-cloud status", () => import("./status.js").then((m) => m.statusCommand(options)), true)
    }
    case "analyze":
      return program("tiny-cloud", "tiny-cloud analyze", () => import("./analyze.js").then((m) => m.analyzeCommand({ json })), true)
    case "autodetect":
      // detection reads no key of tiny-cloud.conf: the cloud is told, and what -v says the phases use is what they take, whatever else the file gets wrong
      return program("tiny-cloud", "tiny-cloud autodetect", () => import("./autodetect.js").then((m) => m.autodetectCommand({ verbose: o["--verbose"] === true })), true)
    case "config":
      return program("tiny-cloud", "tiny-cloud config", () => import("./config-cli.js").then((m) => m.configCommand({ json })), true)
  }
  return undefined
}

/** the commands whose `-h` is left to this router: the others (imds, simulate, the helpers) answer their own */
const OWN_HELP: ReadonlySet<string> = new Set([...PHASES, "status", "analyze", "autodetect", "config", "schema", "completion", "serve", "hotplug"])

export const routeTinyCloud = (args: ReadonlyArray<string>): Route => {
  const { first, rest } = commandWords(args)
  if (first === "-h" || first === "--help") return usage(TINY_CLOUD_USAGE, 0)
  if (first === "--version") return rest.length === 0 ? { _tag: "Print", code: 0, stdout: `tiny-cloud ${typeof __VERSION__ === "string" ? __VERSION__ : "dev"}\n` } : usage(TINY_CLOUD_USAGE, 1)
  if (first === "imds") return routeImds(rest)
  if (first !== undefined && OWN_HELP.has(first) && rest.length === 1 && (rest[0] === "-h" || rest[0] === "--help")) return usage(commandUsage(first), 0)
  if (first === "assemble-interfaces") return assembleInterfaces(rest)
  if (first === "hotplug") return hotplug(rest[0] ?? "", rest.slice(1))
  if (first === "net-sync") return netSync(rest)
  if (first === "serve") return rest.length === 0 ? { _tag: "Resident" } : usage(commandUsage("serve"), 1)
  if (first === "simulate") return { _tag: "Standalone", run: () => import("./simulate.js").then((m) => m.main(rest)) }
  if (first === "completion") {
    if (rest.length !== 1) return { _tag: "Print", code: 1, stderr: commandUsage("completion") }
    return { _tag: "Standalone", run: () => import("./completion.js").then((m) => m.main(rest[0]!)) }
  }
  if (first === "schema") {
    if (rest.length !== 1 || rest[0]!.startsWith("-")) return { _tag: "Print", code: 1, stderr: commandUsage("schema") }
    // the configuration as the early phase reads it: a bad value of tiny-cloud.conf is named and its default used, the file still checked
    return program("tiny-cloud", "tiny-cloud schema", () => import("./schema-cli.js").then((m) => m.schemaCommand(rest[0]!)), true)
  }
  if (asksBootstrapStatus(first, rest)) return { _tag: "BootstrapStatus" }
  if (first === "--bootstrap" && rest.length === 1 && (rest[0] === "complete" || rest[0] === "incomplete")) {
    return program("tiny-cloud", "tiny-cloud", () => import("./admin.js").then((m) => m.bootstrapCommand(rest[0] as "complete" | "incomplete")), true)
  }
  if ((first === "--enable" || first === "--disable") && rest.length === 0) {
    // the runlevel links need nothing tiny-cloud.conf says (only ROOT): a line or value this edition cannot read keeps no image from being enabled
    return program("tiny-cloud", "tiny-cloud", () => import("./admin.js").then((m) => m.setEnabled(first === "--enable")), true)
  }
  if (first !== undefined && (PHASES as ReadonlyArray<string>).includes(first) && rest.length === 0) {
    // the configuration's problems are the phase's to report: they never stop a first boot
    return { ...program(`tiny-cloud/${first}`, `tiny-cloud/${first}`, () => import("./phase.js").then((m) => m.runPhase(first as Phase)), true), echoOnly: true }
  }
  return (first !== undefined ? operatorCommand(first, rest) : undefined) ?? usage(TINY_CLOUD_USAGE, 1)
}

/** what a command line asks for, by the name the program is called by */
export const routeCommandLine = (invokedAs: string, args: ReadonlyArray<string>): Route =>
  isImds(invokedAs) ? routeImds(args) : (routeHelper(invokedAs, args) ?? routeTinyCloud(args))
