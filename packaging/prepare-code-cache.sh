#!/bin/sh
# packaging/prepare-code-cache.sh PROGRAM DIR
#
# Prepares V8 code caches for the first runs of a boot, when /run/tiny-cloud
# has none yet: runs PROGRAM (the installed bundle) once per kind of run -
# a simulated first boot (the phases; then one through the resident
# process, when client.sh is beside PROGRAM), imds, --bootstrap,
# status, the network helpers - on throw-away instances, each writing into DIR what
# it compiled. The loader reads DIR (`code-cache/` beside the program) and
# V8 refuses a cache made by another Node, so a Node upgrade costs speed,
# never correctness. Best effort: exits 1 when node is missing or a run
# leaves no cache.
set -u
program=$1
dir=$2
case $dir in */code-cache) ;; *) echo "prepare-code-cache: $dir: the directory must be named code-cache" >&2; exit 1 ;; esac
command -v node >/dev/null 2>&1 || { echo "prepare-code-cache: node is not installed" >&2; exit 1; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
rm -rf "$dir"
mkdir -p "$dir" && chmod 700 "$dir" || exit 1
# absolute, as the loader takes TINY_CLOUD_CODE_CACHE (make install DESTDIR=image gives a relative one)
dir=$(cd "$dir" && pwd) || exit 1

# ROOT keeps the runs' files apart, not the commands they run: the system
# commands they may call are silent stand-ins, first on PATH, so that making
# the caches (in a post-install on a running instance, or make install on a
# build host) never acts on this system: no `ifup eth0` from the hotplug run
# when networking is started, no lines in its syslog. rc-service answers as
# for a stopped service.
mkdir -p "$work/bin" || exit 1
printf '#!/bin/sh\ncase ${0##*/} in rc-service) exit 3 ;; esac\ncat >/dev/null 2>&1\nexit 0\n' > "$work/bin/stand-in" && chmod 755 "$work/bin/stand-in" || exit 1
for c in logger rc-service rc-update ifup ifdown ip udhcpc kill nvme hostname addgroup adduser chpasswd chown getent \
	sfdisk partx resize2fs apk setup-apkrepos lbu setup-disk reboot findfs mount umount assemble-interfaces; do
	ln -s stand-in "$work/bin/$c" || exit 1
done
# a stand-in that cannot be run ($work on a file system mounted noexec, as a hardened /tmp is) is passed over
# by the PATH search, and the system's own command runs in its place (sfdisk, adduser, ifup): then no run at all
"$work/bin/rc-service" </dev/null >/dev/null 2>&1
[ $? -eq 3 ] || { echo "prepare-code-cache: $work: its stand-in commands cannot be run there (mounted noexec?); no caches made" >&2; exit 1; }

# each run rewrites its kind's cache, so that it holds what all of them compiled; of the
# caller's environment only PATH: an exported TINY_CLOUD_VAR or TINY_CLOUD_LOGS (taken as
# given, not under ROOT) would have the simulated first boot write into the instance's own
# state, and wait for its lock, held by a phase whose `apk --preserve-env upgrade` runs this
train() {
	env -i PATH="$work/bin:$PATH" TINY_CLOUD_CODE_CACHE="$dir" TINY_CLOUD_CODE_CACHE_GROW=1 ROOT="$work/root" "$@" >/dev/null 2>&1 </dev/null
}

mkdir -p "$work/root/var/lib/cloud" "$work/root/etc/network/interfaces.d" "$work/root/sys/class/net/lo" "$work/root/sys/class/net/eth0"
printf 'auto lo\niface lo\n  use link\n  use loopback\n' > "$work/root/etc/network/interfaces.d/lo"
printf 'auto %%%%\niface %%%%\n  use dhcp\n  use imds\n' > "$work/root/etc/network/interfaces.d/DEFAULT"

# the phases of a first boot on a simulated aws: each phase a process of its own
train node "$program" simulate --root "$work/sim"
rm -f "$dir"/code-cache-*-other
# the same first boot as a real one runs it, through the resident process (client.sh, beside the program):
# the phase cache then also holds what serves the phases (the clients' requests and environments, the
# replies, reading ahead), which a boot's first phase compiled before it began. Nothing answers the
# metadata reads, as for imds below: the phases' own paths are in it from the simulated boot. The server
# is started as the boot service starts it, and exits after final (or soon after, should a phase not reach it)
client=${program%/*}/client.sh
if [ -r "$client" ]; then
	printf '#!/bin/sh\nexec node "%s" "$@"\n' "$(cd "${program%/*}" && pwd)/${program##*/}" > "$work/bin/tiny-cloud" &&
		chmod 755 "$work/bin/tiny-cloud" && mkdir -p "$work/resident/var/lib/cloud" || exit 1
	train env ROOT="$work/resident" CLOUD=aws IMDS_ENDPOINT=127.0.0.1:9 IMDS_DEADLINE=0.2 TINY_CLOUD_RESIDENT_IDLE=5 sh -c '. "$1"
		tiny-cloud serve </dev/null >/dev/null 2>&1 &
		_serve=$!
		(umask 077 && mkdir -p "$ROOT/run/tiny-cloud" && echo "$_serve" > "$ROOT/run/tiny-cloud/server.starting" && mkfifo -m 600 "$ROOT/run/tiny-cloud/requests")
		for phase in boot early main final; do _tiny_cloud_phase "$phase"; done
		wait "$_serve"' sh "$client"
fi
# imds with nothing answering: its whole path but the answer
train env CLOUD=aws IMDS_ENDPOINT=127.0.0.1:9 IMDS_DEADLINE=0.2 node "$program" imds @hostname
# --bootstrap status compiles no program (the loader's small one answers it): --bootstrap incomplete, on the throw-away ROOT
train node "$program" --bootstrap incomplete
train node "$program" status
train node "$program" assemble-interfaces
train env MDEV=eth0 ACTION=add node "$program" hotplug vnic-eth

chmod 755 "$dir"
set -- "$dir"/code-cache-*
[ -e "$1" ] || { echo "prepare-code-cache: no run left a cache" >&2; exit 1; }
chmod 644 "$@"
echo "prepared code caches in $dir: $(for f in "$@"; do printf '%s ' "${f##*-}"; done)"
