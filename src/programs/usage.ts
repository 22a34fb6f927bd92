export const TINY_CLOUD_USAGE = `Usage: tiny-cloud [-h|--help] { boot | early | main | final
                       | --bootstrap {complete|incomplete|status}
                       | --enable | --disable }
       tiny-cloud imds [-h] { -e | +e | -E | +E | +n | +s | +t | @ALIAS | IMDS-PATH } ...
       tiny-cloud simulate [--cloud CLOUD] [--user-data FILE] [--root DIR] [--exec]
       tiny-cloud schema FILE
       tiny-cloud --version
`

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
