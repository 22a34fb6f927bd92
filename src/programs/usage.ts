import { COMMANDS } from "./commands.js"

/** the shell edition's block as it was (with its later short options), then one line per command of this edition */
export const TINY_CLOUD_USAGE = `Usage: tiny-cloud [-h|--help] { boot | early | main | final
                       | -b|--bootstrap {complete|incomplete|status}
                       | -E|--enable | -D|--disable }
${COMMANDS.filter((c) => !c.shellEdition && c.name !== "--help")
  .map((c) => `       tiny-cloud ${c.name}${c.synopsis === "" ? "" : ` ${c.synopsis}`}\n`)
  .join("")}`

/** `Usage: tiny-cloud status [--json] ...`, for a command line its command does not accept */
export const commandUsage = (name: string): string => {
  const c = COMMANDS.find((c) => c.name === name)
  return `Usage: tiny-cloud ${name}${c === undefined || c.synopsis === "" ? "" : ` ${c.synopsis}`}\n`
}

export const IMDS_USAGE = `Usage: imds [-h] { -e | +e | -E | +E | +n | +s | +t | @ALIAS | IMDS-PATH } ...
  -h           : help
  -e / +e      : ignore / stop at errors of the following keys
  -E / +E      : hide / show stderr of the following keys
  +n / +s / +t : insert newline / space / tab
  ALIAS :-
    @hostname       : instance hostname
    @local-hostname : instance local hostname
    @ssh-keys       : instance SSH keys, one a line
    @userdata       : instance user data
    @nics           : instance NICs
    @nic:IFACE[,NIC-KEY ...] : a NIC, found by the MAC address of IFACE
      NIC-KEY :- { -e | +e | +n | +s | +t | @mac | @ipv4 | @ipv6 | @ipv4-net
                 | @ipv6-net | @ipv4-prefix | @ipv6-prefix | NIC-PATH }
`
