import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { LOOPBACK_STANZA } from "../domain/interfaces.js"
import { singleQuoted } from "../domain/shell-words.js"

/**
 * A pretend instance for simulations and tests: a ROOT tree shaped like a
 * fresh Alpine image, and a directory of recording stand-ins for the system
 * commands tiny-cloud runs. Every invocation is appended to `commands.log`.
 */
export interface FakeSystem {
  readonly root: string
  readonly bin: string
  readonly commandLog: string
  /** PATH with the stand-ins first */
  readonly path: string
}

export const FAKE_COMMANDS = [
  "sfdisk", "partx", "resize2fs", "ip", "udhcpc", "rc-update", "rc-service", "addgroup", "adduser", "chpasswd",
  "hostname", "apk", "setup-apkrepos", "lbu", "setup-disk", "reboot", "findfs", "mount", "umount", "logger", "chown",
  // autoinstall's look at a candidate disk: as busybox's answers for a blank one, nothing (never this machine's blkid on its own /dev)
  "blkid"
] as const

// A stand-in logs its name, arguments and stdin; a few also act on ROOT so later steps see the effect.
const STAND_IN = `#!/bin/sh
name=\${0##*/}
line=$name
case "$name" in
  # a long-lived logger: each line it is given is an entry of its own, written in one piece (its tag as it is: only counted);
  # a message on its command line (logger -p P -t T MSG, as the services log 'already bootstrapped') is one entry, stdin unread
  logger)
    while [ $# -gt 0 ]; do
      case "$1" in --) shift; break ;; -[ptnPuf]) line="$line $1 $2"; shift; [ $# -eq 0 ] || shift ;; -?*) line="$line $1"; shift ;; *) break ;; esac
    done
    if [ $# -gt 0 ]; then printf '%s\\n< %s\\n' "$line" "$*" >> "$FAKE_COMMAND_LOG"; exit 0; fi
    while IFS= read -r l; do printf '%s\\n< %s\\n' "$line" "$l" >> "$FAKE_COMMAND_LOG"; done; exit 0 ;;
esac
# each argument as sh would need it written, so that the line is one unambiguous command line (a gecos
# "Ivy -G wheel" is one argument, not an option): one that is empty or holds anything but letters, digits
# and _ @ % + = : , . / - in single quotes, a ' in it as '\\''
sq="'"
for a in "$@"; do
  case "$a" in
    '' | *[!A-Za-z0-9_@%+=:,./-]*)
      q= r=$a
      while :; do case "$r" in *"$sq"*) q="$q\${r%%$sq*}$sq\\\\$sq$sq"; r=\${r#*$sq} ;; *) break ;; esac; done
      line="$line $sq$q$r$sq" ;;
    *) line="$line $a" ;;
  esac
done
# an entry with its stdin is written in one piece: a long-lived logger's entries never come between them
case "$name" in
  # a clear-text password (chpasswd without -e) is never recorded
  chpasswd) stdin=$(if [ "$1" = -e ]; then sed 's/^/< /'; else while IFS=: read -r u _; do printf '< %s:(password not shown)\\n' "$u"; done; fi) ;;
  sfdisk) stdin=$(sed 's/^/< /') ;;
  # (its stdin drained with a builtin, not a cat process per call: the stand-ins are called thousands of times in a test run)
  *) printf '%s\\n' "$line" >> "$FAKE_COMMAND_LOG"; while IFS= read -r drained 2>/dev/null; do :; done; stdin=- ;;
esac
case "$stdin" in
  -) ;;
  '') printf '%s\\n' "$line" >> "$FAKE_COMMAND_LOG" ;;
  *) printf '%s\\n%s\\n' "$line" "$stdin" >> "$FAKE_COMMAND_LOG" ;;
esac
# busybox's account commands write FILE+ beside the file they edit first, and wait 3 s for one left by an edit killed part-way, then fail
case "$name" in adduser) edited=/etc/passwd ;; addgroup) edited=/etc/group ;; chpasswd) edited=/etc/shadow ;; *) edited= ;; esac
if [ -n "$edited" ] && { [ -e "$ROOT$edited+" ] || [ -L "$ROOT$edited+" ]; }; then echo "$name: can't create '$edited+': File exists" >&2; exit 1; fi
case "$name" in
  adduser)
    # as busybox's reads them: -h HOME, -s SHELL, -u UID, -g GECOS, -G GROUP as given; -H makes no home; -S a system
    # account, whose shell is /sbin/nologin unless -s gives one (Alpine patches busybox's /bin/false so)
    home= shell= uid= gecos='Linux User,,,' group= nohome= system=
    while [ $# -gt 1 ]; do
      case "$1" in
        -h) home=$2; shift ;; -s) shell=$2; shift ;; -u) uid=$2; shift ;; -g) gecos=$2; shift ;; -G) group=$2; shift ;;
        -H) nohome=1 ;; -S) system=1 ;; -k) shift ;;
      esac
      shift
    done
    user=$1
    [ -n "$shell" ] || { [ -n "$system" ] && shell=/sbin/nologin || shell=/bin/sh; }
    # the first uid free from 1000, or for a system account from 100 (busybox's FIRST_SYSTEM_ID), whose group is nogroup
    # unless -G gives one (the image's, else Alpine's 65533)
    first=1000; [ -z "$system" ] || first=100
    id=\${uid:-$(awk -F: -v f=$first '{ u[$3] = 1 } END { for (i = f; i in u; i++); print i }' "$ROOT/etc/passwd" 2>/dev/null)}
    gid=$(awk -F: -v g="\${group:-$user}" '$1 == g { print $3 }' "$ROOT/etc/group" 2>/dev/null)
    [ -n "$group" ] || [ -z "$system" ] || gid=$(awk -F: '$1 == "nogroup" { print $3; exit }' "$ROOT/etc/group" 2>/dev/null)
    [ -n "$group" ] || [ -z "$system" ] || [ -n "$gid" ] || gid=65533
    echo "$user:x:$id:\${gid:-$id}:$gecos:\${home:-/home/$user}:$shell" >> "$ROOT/etc/passwd"
    echo "$user:!:20000:0:99999:7:::" >> "$ROOT/etc/shadow"
    # busybox's makes the home alone, not its parents (without them there is none, which it says, and the account is made
    # all the same), 0755 whatever the umask, with /etc/skel's files; then the home, new or there already, becomes the
    # user's (where the simulating user may give it) and 2755. (chown as the system's: the stand-in one would be recorded)
    h=$ROOT\${home:-/home/$user}
    if [ -z "$nohome" ]; then
      if (umask 022 && mkdir "$h" 2>/dev/null); then
        [ ! -d "$ROOT/etc/skel" ] || cp -R "$ROOT/etc/skel/." "$h/"
        command -p chown -R "$id:\${gid:-$id}" "$h" 2>/dev/null
      elif [ ! -d "$h" ]; then
        echo "adduser: \${home:-/home/$user}: No such file or directory" >&2
      fi
      [ ! -d "$h" ] || { command -p chown "$id:\${gid:-$id}" "$h" 2>/dev/null; chmod 2755 "$h"; }
    fi ;;
  addgroup)
    if [ $# -eq 1 ]; then
      # busybox: a group that is there already is refused
      awk -F: -v g="$1" '$1 == g { found = 1 } END { exit !found }' "$ROOT/etc/group" 2>/dev/null && { echo "addgroup: group '$1' in use" >&2; exit 1; }
      n=$(grep -c ':x:1[0-9][0-9][0-9]:' "$ROOT/etc/group" 2>/dev/null); id=$(( 1000 + \${n:-0} ))
      echo "$1:x:$id:" >> "$ROOT/etc/group"
    elif [ $# -eq 2 ]; then
      # busybox: no such group, no change
      grep -q "^$2:" "$ROOT/etc/group" 2>/dev/null || { echo "addgroup: unknown group $2" >&2; exit 1; }
      # the user into the group's member list, once; the file keeps its mode, as busybox's keeps it (a new one had the umask's)
      awk -F: -v OFS=: -v u="$1" -v g="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) { print; next } $4 = ($4 == "" ? u : $4 "," u) } { print }' "$ROOT/etc/group" > "$ROOT/etc/group.new" && cat "$ROOT/etc/group.new" > "$ROOT/etc/group" && rm "$ROOT/etc/group.new"
    fi ;;
  chpasswd)
    # each USER:HASH (-e; without it a clear-text password, which busybox's hashes) becomes the account's password in
    # /etc/shadow, as busybox's sets it: sshd reads the account there (adduser's ! locks its keys out, * lets them in).
    # A hash is not shown there, as the report does not show it (the file is the simulated image's, 0644), but a locked
    # one stays locked
    if [ -f "$ROOT/etc/shadow" ]; then
      printf '%s\n' "$stdin" | sed 's/^< //' | awk -F: -v OFS=: '
        NR == FNR { i = index($0, ":"); if (i > 1) h[substr($0, 1, i - 1)] = substr($0, i + 1); next }
        ($1 in h) { v = h[$1]; if (v != "*" && v != "!") v = (substr(v, 1, 1) == "!" ? "!" : "") "(hash not shown)"; $2 = v }
        { print }' - "$ROOT/etc/shadow" > "$ROOT/etc/shadow.new" && cat "$ROOT/etc/shadow.new" > "$ROOT/etc/shadow" && rm "$ROOT/etc/shadow.new"
    fi ;;
  findfs) [ -n "$FAKE_CIDATA" ] || exit 1 ;;
  mount)
    # a medium attached by its device (azure's provisioning media), else the cidata volume
    media=$FAKE_CIDATA
    for a; do [ -n "$FAKE_MEDIA_DEVICE" ] && [ "$a" = "$FAKE_MEDIA_DEVICE" ] && media=$FAKE_MEDIA; done
    [ -n "$media" ] || exit 32
    for dir; do :; done
    cp "$media"/* "$dir"/ ;;
esac
exit 0
`

/**
 * The image's directories 0755 and files 0644, as an Alpine image has them,
 * whatever the umask of the user making it: with Debian 13's 002 (pam_umask's
 * usergroups) /etc, /etc/passwd or /var/lib/cloud were group-writable, and
 * the phases, which keep a file's mode, kept that
 */
const makeDir = (path: string) => {
  const first = mkdirSync(path, { recursive: true })
  if (first === undefined) return
  for (let d = path; ; d = dirname(d)) {
    chmodSync(d, 0o755)
    if (d === first) return
  }
}

const write = (path: string, text: string) => {
  makeDir(dirname(path))
  writeFileSync(path, text)
  chmodSync(path, 0o644)
}

export interface FakeSystemOptions {
  /** eth* interfaces: name → whether its link comes up */
  readonly interfaces?: ReadonlyArray<{ readonly name: string; readonly mac: string; readonly up: boolean }>
  /**
   * the bundled program (its host path), installed in the image as `make install` lays it out (INSTALLED): an image
   * with tiny-cloud installed, as `simulate` boots; without it the image has none of its files
   */
  readonly program?: string
}

/** where `make install` puts the program in an image (PREFIX=/usr) */
const INSTALLED_PROGRAM = "/usr/lib/tiny-cloud/tiny-cloud.cjs"

/**
 * What `make install` (and the Alpine package) puts in an image that the phases and the network helpers look for
 * (README "Install on an image"): the program's names (the network helpers at the shell edition's paths, as an image
 * before Alpine 3.23, not /usr-merged, has them), and the stanza files `assemble-interfaces` starts from
 * (etc/network/interfaces.d/ of this tree)
 */
export const INSTALLED = {
  links: ["/usr/sbin/tiny-cloud", "/usr/bin/imds", "/sbin/assemble-interfaces", "/sbin/imds-net-sync", "/lib/mdev/vnic-eth-hotplug", "/lib/mdev/nvme-ebs-links"],
  files: {
    "/etc/network/interfaces.d/lo": LOOPBACK_STANZA,
    "/etc/network/interfaces.d/DEFAULT": "auto %%\niface %%\n  use dhcp\n  use imds\n"
  } as Readonly<Record<string, string>>
} as const


/**
 * tiny-cloud installed in the image: the program, its names as relative links (as `make install` makes them), the
 * stanza files; and on the phases' PATH, as /sbin is on an instance's, `assemble-interfaces` (which install_hotplugs
 * runs for vnic_eth_hotplug), this program on the image's ROOT
 */
const install = (root: string, bin: string, program: string) => {
  makeDir(dirname(join(root, INSTALLED_PROGRAM)))
  copyFileSync(program, join(root, INSTALLED_PROGRAM))
  chmodSync(join(root, INSTALLED_PROGRAM), 0o755)
  for (const link of INSTALLED.links) {
    makeDir(dirname(join(root, link)))
    symlinkSync(relative(dirname(link), INSTALLED_PROGRAM), join(root, link))
  }
  for (const [path, text] of Object.entries(INSTALLED.files)) write(join(root, path), text)
  writeFileSync(join(bin, "assemble-interfaces"), `#!/bin/sh\nexec ${singleQuoted(process.execPath)} ${singleQuoted(program)} assemble-interfaces "$@"\n`)
  chmodSync(join(bin, "assemble-interfaces"), 0o755)
}

export const makeFakeSystem = (dir: string, options: FakeSystemOptions = {}): FakeSystem => {
  const root = join(dir, "root")
  const bin = join(dir, "bin")
  const commandLog = join(dir, "commands.log")
  mkdirSync(bin, { recursive: true })
  // root's alone, as /etc/shadow: it records the hashes chpasswd -e gets (simulate's report hides them)
  writeFileSync(commandLog, "", { mode: 0o600 })
  const standIn = join(bin, ".stand-in")
  writeFileSync(standIn, STAND_IN)
  chmodSync(standIn, 0o755)
  for (const c of FAKE_COMMANDS) if (!existsSync(join(bin, c))) symlinkSync(".stand-in", join(bin, c))
  // a stand-in that cannot be run (DIR on a file system mounted noexec) is passed over by the PATH search: the phases would run this system's own
  try {
    accessSync(standIn, constants.X_OK)
  } catch (e) {
    throw new Error(`${dir}: its stand-in commands cannot be run there (${(e as NodeJS.ErrnoException).code ?? e}: a file system mounted noexec?), and the phases would run this system's own sfdisk, adduser, ifup; nothing simulated`)
  }

  write(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
  write(join(root, "etc/group"), "root:x:0:root\nwheel:x:10:root\n")
  write(join(root, "etc/shadow"), "root:*:20000:0:99999:7:::\n")
  write(join(root, "etc/os-release"), 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.21.2\n')
  write(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n")
  // openssh-server's stock file, which tiny-cloud's package depends on (its settings; its comments left out): ssh_pwauth edits it
  write(join(root, "etc/ssh/sshd_config"), "Include /etc/ssh/sshd_config.d/*.conf\n\n#PasswordAuthentication yes\nAuthorizedKeysFile\t.ssh/authorized_keys\nAllowTcpForwarding no\nGatewayPorts no\nX11Forwarding no\nSubsystem\tsftp\tinternal-sftp\n")
  // root's home, root's alone, as an Alpine image has it: user-data writes there (cloud-init's own runcmd example lists it)
  makeDir(join(root, "root"))
  // where adduser makes the homes: busybox's makes no parent of one
  makeDir(join(root, "home"))
  chmodSync(join(root, "root"), 0o700)
  makeDir(join(root, "etc/sudoers.d"))
  makeDir(join(root, "etc/doas.d"))
  write(join(root, "etc/mdev.conf"), "# fallback\n(.*)\troot:root 0660 */lib/mdev/fallback\n")
  write(join(root, "proc/mounts"), "/dev/vda2 / ext4 rw,relatime 0 0\n/dev/vda1 /boot ext4 rw 0 0\n")
  write(join(root, "proc/cmdline"), "BOOT_IMAGE=/boot/vmlinuz-virt root=/dev/vda2 quiet\n")
  makeDir(join(root, "sys/devices/virtual/block/vda/vda2"))
  write(join(root, "sys/devices/virtual/block/vda/vda2/partition"), "2\n")
  makeDir(join(root, "sys/class/block"))
  symlinkSync("../../devices/virtual/block/vda/vda2", join(root, "sys/class/block/vda2"))
  const ifaces = options.interfaces ?? [{ name: "eth0", mac: "02:00:00:00:00:01", up: true }]
  ifaces.forEach((iface, i) => {
    const d = join(root, "sys/class/net", iface.name)
    write(join(d, "ifindex"), `${i + 2}\n`)
    write(join(d, "address"), `${iface.mac}\n`)
    write(join(d, "operstate"), iface.up ? "up\n" : "down\n")
  })
  // as an Alpine image has them, world-writable and sticky (mkdir's mode would lose those bits to the umask)
  for (const d of ["tmp", "var/tmp"]) {
    makeDir(join(root, d))
    chmodSync(join(root, d), 0o1777)
  }
  makeDir(join(root, "var/lib/cloud"))
  makeDir(join(root, "var/log"))
  if (options.program !== undefined) install(root, bin, options.program)
  return { root, bin, commandLog, path: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` }
}

/** every recorded invocation: the command line and its stdin lines */
export const readCommandLog = (fake: FakeSystem): Array<{ line: string; stdin: Array<string> }> => {
  const entries: Array<{ line: string; stdin: Array<string> }> = []
  for (const l of readFileSync(fake.commandLog, "utf8").split("\n")) {
    if (l === "") continue
    if (l.startsWith("< ") && entries.length > 0) entries[entries.length - 1]!.stdin.push(l.slice(2))
    else entries.push({ line: l, stdin: [] })
  }
  return entries
}
