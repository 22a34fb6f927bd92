/**
 * How a command line names its command, before anything is loaded: the name
 * the program is called by (imds, a network helper, else tiny-cloud) and the
 * shell edition's spellings of tiny-cloud's options. cli.ts routes by it; the
 * loader's small program (src/entry/quick.ts) asks it alone whether a run is
 * `tiny-cloud --bootstrap status`.
 */
import { ownEntry } from "../domain/own.js"

export const isImds = (name: string) => name === "imds" || name.startsWith("imds.")

/** the network helpers, by the names the shell edition installs them as */
export const HELPERS: ReadonlyArray<string> = ["assemble-interfaces", "vnic-eth-hotplug", "nvme-ebs-links", "imds-net-sync"]

/** the shell edition's short forms of its options */
const SHORT: Readonly<Record<string, string>> = { "-b": "--bootstrap", "-E": "--enable", "-D": "--disable" }

/** `--bootstrap=status` and `-bstatus`, as the shell edition's getopt takes them, spelled apart */
const withOptionArgument = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [first, ...rest] = args
  const joined = first === undefined ? null : /^(?:--bootstrap=|-b(?=.))(.*)$/s.exec(first)
  return joined === null ? args : ["--bootstrap", joined[1]!, ...rest]
}

/** tiny-cloud's command (its long name) and the words after it */
export const commandWords = (args: ReadonlyArray<string>): { readonly first: string | undefined; readonly rest: ReadonlyArray<string> } => {
  const [given, ...rest] = withOptionArgument(args)
  return { first: given !== undefined ? (ownEntry(SHORT, given) ?? given) : undefined, rest }
}

/** `--bootstrap status`, however spelled */
export const asksBootstrapStatus = (first: string | undefined, rest: ReadonlyArray<string>): boolean =>
  first === "--bootstrap" && rest.length === 1 && rest[0] === "status"

/** the command line of a program called INVOKEDAS is imds's: `imds ...` or `tiny-cloud imds ...` (cli.ts's routeImds) */
export const isImdsCommand = (invokedAs: string, args: ReadonlyArray<string>): boolean =>
  isImds(invokedAs) || (!HELPERS.includes(invokedAs) && commandWords(args).first === "imds")

/** the command line of a program called INVOKEDAS is `tiny-cloud --bootstrap status` (cli.ts's BootstrapStatus route) */
export const isBootstrapStatus = (invokedAs: string, args: ReadonlyArray<string>): boolean => {
  if (isImds(invokedAs) || HELPERS.includes(invokedAs)) return false
  const { first, rest } = commandWords(args)
  return asksBootstrapStatus(first, rest)
}
