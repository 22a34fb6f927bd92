import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ActionFailed, UnusableValue } from "../../domain/errors.js"
import { Commands } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { Log } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"
import { PhaseContext } from "../action.js"
import { ownEntry } from "../../domain/own.js"
import { printable } from "../../domain/text.js"

interface HotplugModule {
  /** a program the rule calls; the module fails when it is missing */
  readonly helper: string
  /** an existing rule this one goes before */
  readonly before: RegExp
  readonly rule: string
  /** the shell edition's rule's pattern: a rule of it that runs the helper is this one's where it is (both would run the helper twice) */
  readonly replaces?: string
  /** the clouds it is for (the shell edition defines it in their files only); on any other it is `unknown` */
  readonly clouds?: ReadonlyArray<string>
  /**
   * a program the helper runs, from a package the image may lack: the shell edition failed the module without it; here
   * the rule is installed all the same (it works once the package is, user-data's `packages` included, and a failed
   * core action would stop the boot phase before the network and sshd), and a warning says what is missing
   */
  readonly uses?: { readonly command: string; readonly pkg: string }
}

export const HOTPLUG_MODULES: Readonly<Record<string, HotplugModule>> = {
  // mdev matches a rule's pattern against the whole name: the shell edition's `eth[0-9]` never ran the helper for eth10 and on
  vnic_eth_hotplug: {
    helper: "/lib/mdev/vnic-eth-hotplug",
    before: /^eth/,
    rule: "eth[0-9]+\troot:root 0644 */lib/mdev/vnic-eth-hotplug",
    replaces: "eth[0-9]"
  },
  nvme_ebs_links: {
    helper: "/lib/mdev/nvme-ebs-links",
    before: /^nvme\.\*/,
    rule: "nvme[0-9]+n.*\troot:disk 0660 */lib/mdev/nvme-ebs-links",
    clouds: ["aws"],
    uses: { command: "nvme", pkg: "nvme-cli" }
  }
}

/**
 * A line of mdev.conf that is a rule of `pattern` running `helper`, by its
 * fields as mdev reads them (`-` before the pattern, any whitespace between
 * fields, `@`, `$` or `*` before the command), whatever its owner and mode.
 */
const runsHelper = (line: string, pattern: string, helper: string): boolean => {
  const fields = line.trim().split(/\s+/)
  const command = fields.at(-1) ?? ""
  return fields.length > 1 && fields[0]!.replace(/^-/, "") === pattern && /^[@$*]/.test(command) && command.slice(1) === helper
}

/**
 * The rule before a matching rule, else before the `# fallback` line, else at
 * the end; once. A rule of the pattern it replaces becomes this one's where it
 * is, each as the operator wrote it but for the pattern; beside this one, it goes.
 */
export const withRule = (conf: string, module: HotplugModule): string => {
  const lines = conf.split("\n")
  const pattern = module.rule.split("\t")[0]!
  const { replaces } = module
  const old = (l: string) => replaces !== undefined && runsHelper(l, replaces, module.helper)
  if (lines.some((l) => runsHelper(l, pattern, module.helper))) {
    return lines.some(old) ? lines.filter((l) => !old(l)).join("\n") : conf
  }
  if (replaces !== undefined && lines.some(old)) return lines.map((l) => (old(l) ? l.replace(replaces, pattern) : l)).join("\n")
  let at = lines.findIndex((l) => module.before.test(l))
  if (at < 0) {
    at = lines.findIndex((l) => /^# fallback/.test(l))
    if (at >= 0) return [...lines.slice(0, at), module.rule, "", ...lines.slice(at)].join("\n")
    return `${conf}${conf === "" || conf.endsWith("\n") ? "" : "\n"}${module.rule}\n`
  }
  return [...lines.slice(0, at), `-${module.rule}`, ...lines.slice(at)].join("\n")
}

/**
 * Each module of HOTPLUG_MODULES: its rule installed (`installed`), its
 * helper missing (`failed`, which fails the action), or no such module for
 * this HOTPLUG_TYPE (`unknown`, an error line that fails nothing: as with the
 * shell edition, a name the image does not know never keeps the boot phase
 * from setting up the network and sshd).
 */
export const installHotplugs = Effect.gen(function* () {
  const { hotplugModules, hotplugType } = yield* Config
  if (hotplugModules.length === 0) return
  const fs = yield* RootFs
  const log = yield* Log
  const commands = yield* Commands
  const { cloud } = yield* PhaseContext
  const supported = hotplugType === "mdev"
  if (!supported) yield* log.log("err", `install_hotplugs: unsupported HOTPLUG_TYPE '${printable(hotplugType)}'`)
  const confPath = fs.at("/etc/mdev.conf")
  // why each module failed, for the action's one line
  const failures: Array<string> = []
  // a module whose helper is missing fails the action as the contract says; one whose rule /etc/mdev.conf refused alone
  // (made immutable, a read-only /etc) fails it alone, as set_hostname's /etc/hostname does: the boot phase still goes on
  // to the network and sshd, which need no rule
  let helperMissing = false
  for (const name of hotplugModules) {
    // the operator's word as written, on one line: a known module's name is unchanged
    const shown = printable(name)
    yield* log.log("info", `${shown}: installing`, "\t  >> ")
    const known = supported ? ownEntry(HOTPLUG_MODULES, name) : undefined
    // EBS names in NVMe vendor data are aws's: elsewhere each NVMe event would wait 3 s for a name that never comes
    const module = known?.clouds === undefined || known.clouds.includes(cloud.name) ? known : undefined
    if (module === undefined) {
      yield* log.log("err", `${shown}: unknown`, "\t  >> ")
      continue
    }
    const missing = !(yield* fs.exists(fs.at(module.helper)))
    helperMissing ||= missing
    const failure = missing
      ? `${name}: ${module.helper} is missing`
      : yield* Effect.gen(function* () {
          const conf = Option.getOrElse(yield* fs.readTextIfExists(confPath), () => "")
          const updated = withRule(conf, module)
          if (updated !== conf) yield* fs.writeAtomic(confPath, updated, { keep: true })
          // NICs attached at launch get no hotplug event. The rule is in place: an assembly that fails (an image without
          // interfaces.d or its DEFAULT) is its error line, and the boot goes on to set_default_interfaces and sshd
          if (name === "vnic_eth_hotplug" && (yield* commands.has("assemble-interfaces"))) {
            yield* commands.run("assemble-interfaces", []).pipe(Effect.catchAll((e) => log.log("err", `install_hotplugs: ${name}: ${e.message}`)))
          }
          return undefined
        }).pipe(Effect.catchAll((e) => Effect.succeed(`${name}: ${e.message}`)))
    yield* log.log(failure === undefined ? "info" : "err", `${name}: ${failure === undefined ? "installed" : "failed"}`, "\t  >> ")
    if (failure !== undefined) failures.push(failure)
    else if (module.uses !== undefined && !(yield* commands.has(module.uses.command))) {
      const { command, pkg } = module.uses
      yield* log.log("warn", `install_hotplugs: ${name}: ${command} is not installed (${pkg}): ${module.helper} does nothing until it is`)
    }
  }
  if (failures.length > 0) {
    const reason = failures.join("; ")
    return yield* Effect.fail(helperMissing ? new ActionFailed({ reason }) : new UnusableValue({ reason }))
  }
})
