/**
 * Every command line `tiny-cloud` and `imds` accept, as data: the usage's
 * lines, the shell completions and the man pages' synopses are made from
 * it. Adding a command is one entry here (and its route in `cli.ts`; its
 * prose in `man/tiny-cloud.8.md`, which the man build asks for).
 * Plain data: the entry loads it before anything else.
 */

/** what an argument is, for completion */
export type Completes = "file" | "directory" | "number" | "cloud" | "nothing" | { readonly words: ReadonlyArray<string> }

export interface OptionSpec {
  /** `--json`; a short form too where there is one (`-v`) */
  readonly names: ReadonlyArray<string>
  readonly arg?: { readonly name: string; readonly completes: Completes }
  readonly help: string
  /** an option taken only with this one (`--timeout` with `--wait`): completion offers it once that one is on the line */
  readonly needs?: string
}

export interface CommandSpec {
  /** the first word after `tiny-cloud`: `status`, `--bootstrap`, `boot` */
  readonly name: string
  /** other spellings of the first word (`-b`) */
  readonly aliases?: ReadonlyArray<string>
  /** the rest of the synopsis line */
  readonly synopsis: string
  /** one line, lower case, for completion menus and the man page */
  readonly summary: string
  readonly options?: ReadonlyArray<OptionSpec>
  /** what the words after the options are */
  readonly operands?: Completes
  /** part of the shell edition's usage block, which the usage prints as it was */
  readonly shellEdition?: true
  /** `tiny-cloud NAME -h` (or `--help`), as its only argument, prints the usage of the command alone */
  readonly ownHelp?: true
}

const json: OptionSpec = { names: ["--json"], help: "print JSON" }

export const COMMANDS: ReadonlyArray<CommandSpec> = [
  { name: "boot", synopsis: "", ownHelp: true, summary: "run the boot phase (OpenRC tiny-cloud-boot)", shellEdition: true },
  { name: "early", synopsis: "", ownHelp: true, summary: "run the early phase: save user-data (OpenRC tiny-cloud-early)", shellEdition: true },
  { name: "main", synopsis: "", ownHelp: true, summary: "run the main phase: user, hostname, SSH keys (OpenRC tiny-cloud-main)", shellEdition: true },
  { name: "final", synopsis: "", ownHelp: true, summary: "run the final phase and mark the bootstrap complete (OpenRC tiny-cloud-final)", shellEdition: true },
  {
    name: "--bootstrap",
    aliases: ["-b"],
    synopsis: "{complete|incomplete|status}",
    summary: "mark the bootstrap complete or incomplete, or print which it is",
    operands: { words: ["complete", "incomplete", "status"] },
    shellEdition: true
  },
  { name: "--enable", aliases: ["-E"], synopsis: "", summary: "add the four services to their runlevels", shellEdition: true },
  { name: "--disable", aliases: ["-D"], synopsis: "", summary: "remove the services from every runlevel", shellEdition: true },
  {
    name: "status",
    ownHelp: true,
    synopsis: "[--json] [--wait [--timeout SECONDS]]",
    summary: "whether the bootstrap is done, what failed, how long each phase took",
    options: [
      json,
      { names: ["--wait"], help: "wait until the final phase has run" },
      { names: ["--timeout"], arg: { name: "SECONDS", completes: "number" }, help: "with --wait: give up after SECONDS (exit 3)", needs: "--wait" }
    ]
  },
  { name: "analyze", ownHelp: true, synopsis: "[--json]", summary: "the actions of the last first boot, slowest first", options: [json] },
  {
    name: "autodetect",
    ownHelp: true,
    synopsis: "[-v]",
    summary: "the cloud offline detection finds",
    options: [{ names: ["-v", "--verbose"], help: "list every detector's verdict" }]
  },
  { name: "config", ownHelp: true, synopsis: "[--json]", summary: "every configuration key, its value and where it came from", options: [json] },
  { name: "imds", synopsis: "[-h] { -e | +e | -E | +E | +n | +s | +t | @ALIAS | IMDS-PATH } ...", summary: "read instance metadata (as imds)", operands: "nothing" },
  { name: "schema", ownHelp: true, synopsis: "FILE", summary: "check a user-data file as the boot would", operands: "file" },
  {
    name: "simulate",
    ownHelp: true,
    synopsis: "[--cloud CLOUD] [--user-data FILE] [--custom-data FILE] [--root DIR] [--exec]",
    summary: "boot a simulated instance on this machine",
    options: [
      { names: ["--cloud"], arg: { name: "CLOUD", completes: "cloud" }, help: "the simulated cloud (default aws)" },
      { names: ["--user-data"], arg: { name: "FILE", completes: "file" }, help: "boot with this user-data" },
      { names: ["--custom-data"], arg: { name: "FILE", completes: "file" }, help: "azure: boot with this custom data on the provisioning media" },
      { names: ["--root"], arg: { name: "DIR", completes: "directory" }, help: "keep the simulated instance in DIR" },
      { names: ["--exec"], help: "run the user-data's own programs, confined to the simulated root" }
    ]
  },
  { name: "assemble-interfaces", ownHelp: true, synopsis: "", summary: "rebuild /etc/network/interfaces from interfaces.d (as /sbin/assemble-interfaces)" },
  {
    name: "hotplug",
    ownHelp: true,
    synopsis: "{vnic-eth|nvme-ebs}",
    summary: "a NIC or NVMe volume hotplug event, MDEV and ACTION from mdev (as /lib/mdev/vnic-eth-hotplug, nvme-ebs-links)",
    operands: { words: ["vnic-eth", "nvme-ebs"] }
  },
  { name: "net-sync", ownHelp: true, synopsis: "[IFACE]", summary: "make an interface's secondary addresses match the metadata (as /sbin/imds-net-sync)", operands: "nothing" },
  { name: "serve", ownHelp: true, synopsis: "", summary: "the resident process of a first boot (the OpenRC boot service starts it)" },
  { name: "completion", ownHelp: true, synopsis: "{bash|zsh|fish}", summary: "print a shell completion script", operands: { words: ["bash", "zsh", "fish"] } },
  { name: "--version", synopsis: "", summary: "print the version" },
  { name: "--help", aliases: ["-h"], synopsis: "", summary: "print the usage" }
]

/** `imds` arguments other than metadata paths */
export const IMDS_FLAGS: ReadonlyArray<readonly [word: string, help: string]> = [
  ["-h", "help"],
  ["-e", "ignore errors of the following keys"],
  ["+e", "stop at the first error"],
  ["-E", "hide stderr of the following keys"],
  ["+E", "show stderr"],
  ["+n", "print a newline"],
  ["+s", "print a space"],
  ["+t", "print a tab"]
]

export const IMDS_ALIASES: ReadonlyArray<readonly [word: string, help: string]> = [
  ["@hostname", "instance hostname"],
  ["@local-hostname", "instance local hostname"],
  ["@ssh-keys", "instance SSH keys, one a line"],
  ["@userdata", "instance user-data"],
  ["@nics", "instance NICs"],
  ["@nic:", "a NIC, by the MAC address of an interface: @nic:IFACE[,NIC-KEY...]"]
]

/** what may follow `@nic:IFACE,` */
export const IMDS_NIC_KEYS: ReadonlyArray<string> = ["@mac", "@ipv4", "@ipv6", "@ipv4-net", "@ipv6-net", "@ipv4-prefix", "@ipv6-prefix", "-e", "+e", "+n", "+s", "+t"]

/** the command and its spellings */
export const spellings = (c: CommandSpec): ReadonlyArray<string> => [c.name, ...(c.aliases ?? [])]
