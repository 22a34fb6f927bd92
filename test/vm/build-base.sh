#!/bin/sh
# Builds the VM test's base guest from Debian's packages: a small OpenRC
# system shaped like an Alpine cloud image, a Debian kernel and an initramfs
# of our own. The test caches the result under a hash of this file, so any
# change here rebuilds it.
#
#   build-base.sh OUT-DIR
#
# OUT-DIR gets rootfs/ (the guest tree, without tiny-cloud and node: the
# test adds those per run), vmlinuz, initramfs.gz and kernel-version.
# Needs root, debootstrap, and the Debian mirror of this machine's apt
# configuration; nothing is fetched from anywhere else.
set -eu

out=$1
suite=bookworm
# Modules the guest needs before and after switch_root (the guest itself has
# no kmod): disks, network, the root file system, the cidata seed volumes, and
# the CD-ROM drive (IDE, /dev/sr0) with Azure's UDF provisioning media.
modules="virtio_pci virtio_blk virtio_net virtio_rng crc32c_generic ext4 vfat isofs nls_cp437 nls_ascii nls_iso8859-1 nls_utf8 ata_piix sr_mod udf"
packages="openrc,busybox-static,udhcpc,openssh-server,e2fsprogs,fdisk,ifupdown-ng,iproute2,libstdc++6,libgcc-s1"

export DEBIAN_FRONTEND=noninteractive LC_ALL=C
PATH=/usr/sbin:/usr/bin:/sbin:/bin

# the mirror this machine's apt uses (deb lines and deb822 URIs), not the security one
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | sed -n -E 's#^[[:space:]]*(deb([[:space:]]+\[[^]]*\])?|URIs:)[[:space:]]+(https?://[^[:space:]]+/debian)/?([[:space:]].*)?$#\3#p' | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
echo "vm-base: mirror $mirror"

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d "${out%/}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$out/rootfs

echo "vm-base: debootstrap --variant=minbase $suite (+ $packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# ---------------------------------------------------------------- kernel
echo "vm-base: kernel"
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq
  kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
fi
(cd "$work" && apt-get download -qq "$kernel_pkg" 2>&1 | grep -v 'unsandboxed' || true)
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" > "$out/kernel-version"

# ---------------------------------------------------------------- initramfs
echo "vm-base: initramfs ($kver)"
bb=$root/bin/busybox
"$bb" depmod -b "$work/kernel" "$kver"
ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/newroot" "$ird/lib/modules/$kver"
cp "$bb" "$ird/bin/busybox"
# the modules and everything they depend on, from modules.dep
need=""
for m in $modules; do
  need="$need $(awk -v m="$m" '{ f = $1; sub(/:$/, "", f); n = f; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub(/-/, "_", n); mm = m; gsub(/-/, "_", mm) } n == mm { print f; for (i = 2; i <= NF; i++) print $i }' "$work/kernel/lib/modules/$kver/modules.dep")"
done
for f in $(echo "$need" | tr ' ' '\n' | sort -u); do
  mkdir -p "$ird/lib/modules/$kver/$(dirname "$f")"
  cp "$work/kernel/lib/modules/$kver/$f" "$ird/lib/modules/$kver/$f"
done
cp "$work/kernel/lib/modules/$kver/modules.builtin" "$work/kernel/lib/modules/$kver/modules.order" "$ird/lib/modules/$kver/"
"$bb" depmod -b "$ird" "$kver"
echo "$modules" > "$ird/modules"
cat > "$ird/init" <<'EOF'
#!/bin/busybox sh
# Minimal initramfs: load the modules, mount root= read-write, switch_root to /sbin/init.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules); do modprobe "$m" || echo "initramfs: modprobe $m failed"; done
root=
for arg in $(cat /proc/cmdline); do case $arg in root=*) root=${arg#root=} ;; esac; done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw "$root" /newroot; then
  echo "initramfs: cannot mount root '$root'"
  sleep 2
  poweroff -f
fi
mount --move /dev /newroot/dev
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$ird/init"
(cd "$ird" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -1 > "$out/initramfs.gz"

# ---------------------------------------------------------------- the guest
echo "vm-base: guest system"
# Alpine-like: busybox init runs OpenRC; tiny-cloud's own services are added per run
ln -sfn /bin/busybox "$root/usr/sbin/init"
cat > "$root/etc/inittab" <<'EOF'
# busybox init, as on Alpine: OpenRC's runlevels, then the test's finish
# script, which records what the test checks and powers off
::sysinit:/sbin/openrc sysinit
::sysinit:/sbin/openrc boot
::wait:/sbin/openrc default
::wait:/usr/local/sbin/vm-finish
::shutdown:/sbin/openrc shutdown
::shutdown:/usr/local/sbin/vm-unmount
EOF

# Debian's services the image does not want; its sysvinit ssh script is replaced by an OpenRC sshd
rm -f "$root"/etc/runlevels/*/* "$root/etc/init.d/ssh" "$root/etc/init.d/hwclock.sh" "$root/etc/init.d/procps"
mkdir -p "$root/usr/local/sbin"

cat > "$root/etc/init.d/syslog" <<'EOF'
#!/sbin/openrc-run
# test guest: busybox syslogd, the 'logger' tiny-cloud-boot starts after
description="busybox syslogd"
command=/bin/busybox
command_args="syslogd -n -O /var/log/messages"
command_background=yes
pidfile=/run/syslogd.pid
depend() {
	provide logger
}
EOF
cat > "$root/etc/init.d/networking" <<'EOF'
#!/sbin/openrc-run
# test guest: ifupdown-ng, as Alpine's networking service (provides net)
description="ifupdown-ng networking"
depend() {
	provide net
	after logger
}
start() {
	ebegin "Starting networking"
	ifup -a
	eend $?
}
stop() {
	ebegin "Stopping networking"
	ifdown -a
	eend $?
}
EOF
cat > "$root/etc/init.d/sshd" <<'EOF'
#!/sbin/openrc-run
# test guest: OpenSSH under the name Alpine uses (tiny-cloud runs rc-update add sshd default)
description="OpenSSH server"
command=/usr/sbin/sshd
pidfile=/run/sshd.pid
depend() {
	need net
	use logger
}
start_pre() {
	mkdir -p /run/sshd
	ssh-keygen -A
}
EOF
cat > "$root/etc/init.d/hostname" <<'EOF'
#!/sbin/openrc-run
# test guest: as Alpine's, the name from /etc/hostname (the DHCP client sends it)
description="Sets the hostname of the machine."
start() {
	ebegin "Setting hostname"
	hostname -F /etc/hostname
	eend $?
}
EOF
chmod 0755 "$root/etc/init.d/syslog" "$root/etc/init.d/networking" "$root/etc/init.d/sshd" "$root/etc/init.d/hostname"
ln -s /etc/init.d/hostname "$root/etc/runlevels/boot/hostname"
ln -s /etc/init.d/syslog "$root/etc/runlevels/boot/syslog"
ln -s /etc/init.d/networking "$root/etc/runlevels/boot/networking"

# busybox-style account tools (Debian's busybox has no adduser/addgroup
# applets): the same command lines, carried out by Debian's shadow tools
cat > "$root/usr/local/sbin/adduser" <<'EOF'
#!/bin/sh
# adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GROUP] [-S] [-D] [-H] [-u UID] [-k SKEL] USER  (busybox syntax)
home= gecos= shell= group= system= nohome= uid=
while getopts h:g:s:G:SDHu:k: opt; do
	case $opt in
	h) home=$OPTARG ;; g) gecos=$OPTARG ;; s) shell=$OPTARG ;; G) group=$OPTARG ;;
	S) system=1 ;; D) ;; H) nohome=1 ;; u) uid=$OPTARG ;; k) ;;
	*) echo "Usage: adduser [OPTIONS] USER [GROUP]" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
user=$1
[ -n "$user" ] || { echo "Usage: adduser [OPTIONS] USER [GROUP]" >&2; exit 1; }
# a system account's shell unless -s gives one: Alpine's adduser's /sbin/nologin (busybox's own is /bin/false)
[ -n "$shell" ] || { [ -n "$system" ] && shell=/sbin/nologin || shell=/bin/sh; }
if [ $# -eq 2 ]; then exec usermod -a -G "$2" "$user"; fi
set -- -s "$shell" -d "${home:-/home/$user}"
if [ -n "$nohome" ]; then set -- "$@" -M; else set -- "$@" -m; fi
if [ -n "$group" ]; then set -- "$@" -g "$group"; else set -- "$@" -U; fi
[ -z "$gecos" ] || set -- "$@" -c "$gecos"
[ -z "$uid" ] || set -- "$@" -u "$uid"
[ -z "$system" ] || set -- "$@" -r
useradd "$@" "$user" || exit
# busybox's: the home, new or there already (an image's, another's), becomes the user's and 2755
[ -n "$nohome" ] || [ ! -d "${home:-/home/$user}" ] || { chown "$user:$(id -gn "$user")" "${home:-/home/$user}" && chmod 2755 "${home:-/home/$user}"; }
EOF
cat > "$root/usr/local/sbin/addgroup" <<'EOF'
#!/bin/sh
# addgroup [-g GID] [-S] GROUP | addgroup USER GROUP  (busybox syntax)
gid= system=
while getopts g:S opt; do
	case $opt in
	g) gid=$OPTARG ;; S) system=1 ;;
	*) echo "Usage: addgroup [-g GID] [-S] [USER] GROUP" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
case $# in
1)
	opts=
	[ -z "$gid" ] || opts="-g $gid"
	[ -z "$system" ] || opts="$opts -r"
	exec groupadd $opts "$1" ;;
2) exec usermod -a -G "$2" "$1" ;;
*) echo "Usage: addgroup [-g GID] [-S] [USER] GROUP" >&2; exit 1 ;;
esac
EOF
chmod 0755 "$root/usr/local/sbin/adduser" "$root/usr/local/sbin/addgroup"
# Debian's own adduser/addgroup (perl, another syntax) must not be found first
for t in adduser addgroup; do ln -sfn "/usr/local/sbin/$t" "$root/usr/sbin/$t"; done
# logger from busybox, as on Alpine
ln -sfn /bin/busybox "$root/usr/bin/logger"
# Alpine has a wheel group; Debian has none
chroot "$root" groupadd -r wheel

cat > "$root/usr/local/sbin/vm-finish" <<'EOF'
#!/bin/sh
# test guest: after OpenRC's default runlevel, record what the test checks, then power off
{
	echo "uptime: $(cut -d' ' -f1 /proc/uptime)"
	echo "node-pids: $(pidof node)"
	echo "code-cache: $(ls -A /run/tiny-cloud 2>/dev/null | tr '\n' ' ')"
	echo "run-is: $(awk '$5 == "/run" { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo)"
	echo "media: $(awk '$1 == "/dev/sr0" || $2 ~ /^\/run\/tiny-cloud/ { print $1 " on " $2 }' /proc/mounts | tr '\n' ' ')"
	echo "hostname: $(hostname)"
	echo "ipv4: $(ip -4 -o addr show dev eth0 2>/dev/null | awk '{ print $4 }')"
	echo "started: $(rc-status -a 2>/dev/null | awk '/started/ { print $1 }' | sort | tr '\n' ' ')"
	echo "processes:"
	for p in /proc/[0-9]*; do [ -r "$p/comm" ] && echo "  ${p#/proc/} $(cat "$p/comm" 2>/dev/null)"; done
} > /var/log/vm-finish.log 2>&1
echo "vm-finish: uptime $(cut -d' ' -f1 /proc/uptime)s, node pids: [$(pidof node)]; powering off"
# stopping the services one by one under TCG takes longer than the whole first
# boot's phases; the test needs only a clean file system. Sourced: it kills
# every process but init and itself
. /usr/local/sbin/vm-unmount
/bin/busybox poweroff -f
EOF
cat > "$root/usr/local/sbin/vm-unmount" <<'EOF'
#!/bin/sh
# test guest: the last shutdown step, so that the image can be read without replaying its journal
kill -TERM -1 2>/dev/null
sleep 1
kill -KILL -1 2>/dev/null
sync
if mount -o remount,ro /; then echo "vm-unmount: / read-only"; else echo "vm-unmount: remount failed"; fi
EOF
chmod 0755 "$root/usr/local/sbin/vm-finish" "$root/usr/local/sbin/vm-unmount"

# a fresh image's identity, not this machine's
echo localhost > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
: > "$root/etc/fstab"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
echo "vm-base: done ($(du -sm "$root" | cut -f1) MiB)"
