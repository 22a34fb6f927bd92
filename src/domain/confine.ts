/**
 * How a simulation runs the user's programs with `--exec`: a new private
 * mount namespace, owned by a user namespace of its own in which the
 * simulating user is root (whoever runs it, root too: with the machine's root
 * and its capabilities, a program could mount /proc and reach the machine's
 * files through /proc/PID/root, set its hostname, reboot it), the host's programs bound
 * read-only into the simulated ROOT, then ROOT made the namespace's root
 * (`pivot_root`, the host's root unmounted): no path, not even a nested
 * chroot's `..`, leads out of it. Writes can only land in ROOT. In a process
 * namespace of its own, a program sees and signals only the programs of the
 * same command (`kill -9 -1` ends them alone), which end with it: a program
 * left in the background does not outlive its command, as it would on an instance.
 */

/** host directories the user's programs need */
const BOUND = ["bin", "sbin", "usr", "lib", "lib32", "lib64", "libx32"]

/** the few devices scripts expect */
const DEVICES = ["null", "zero", "random", "urandom"]

/**
 * where, in the confinement, `imds` is (ROOT's installed program, and the node that runs it): the host's /usr,
 * bound over ROOT's, hides ROOT's /usr/bin/imds; this directory is first on the programs' PATH
 */
const CONFINED_PROGRAMS = "/run/.tiny-cloud-simulation"

/** where `simulate` installs the program in the simulated image (make install's PREFIX=/usr) */
const INSTALLED_PROGRAM = "/usr/lib/tiny-cloud/tiny-cloud.cjs"

const CONFINE = `set -e
root=$1 node=$2; shift 2
# a mount point of its own, for pivot_root; the mounts below go onto it
mount --bind "$root" "$root"
# /run, a tmpfs as on an instance (of this command's own, emptied with it), made where the image has none
if [ ! -L "$root/run" ]; then
  [ -d "$root/run" ] || mkdir -m 0755 "$root/run"
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
fi
# imds as on an instance: ROOT's own program (reached through no link: none may lead out of ROOT) and the node that
# runs it, bound read-only before the host's /usr hides ROOT's; their directory first on the programs' PATH
programs=
if [ -d "$root/run" ] && [ ! -L "$root/run" ] && [ "$(realpath "$root${INSTALLED_PROGRAM}")" = "$(realpath "$root")${INSTALLED_PROGRAM}" ] && [ -f "$root${INSTALLED_PROGRAM}" ] && [ -f "$node" ]; then
  programs=${CONFINED_PROGRAMS}
  mkdir -p "$root$programs"
  for f in tiny-cloud.cjs node; do
    : > "$root$programs/$f"
    if [ $f = node ]; then mount --bind "$node" "$root$programs/$f"; else mount --bind "$root${INSTALLED_PROGRAM}" "$root$programs/$f"; fi
    mount -o remount,bind,ro "$root$programs/$f"
  done
  ln -s tiny-cloud.cjs "$root$programs/imds"
fi
for d in ${BOUND.join(" ")}; do
  # a directory of ROOT's own (the image's /lib, which holds /lib/mdev) gets the host's bound over it, as where /$d is a directory
  if [ -L "/$d" ] && { [ -L "$root/$d" ] || [ ! -d "$root/$d" ]; }; then
    [ -e "$root/$d" ] || [ -L "$root/$d" ] || ln -s "$(readlink "/$d")" "$root/$d"
    continue
  fi
  [ -d "/$d" ] || continue
  mkdir -p "$root/$d"
  mount --bind "/$d" "$root/$d"
  mount -o remount,bind,ro "$root/$d"
done
mkdir -p "$root/dev"
for d in ${DEVICES.join(" ")}; do
  [ -e "$root/dev/$d" ] || : > "$root/dev/$d"
  mount --bind "/dev/$d" "$root/dev/$d"
done
cd "$root"
old=.tiny-cloud-host-root
mkdir -p "$old"
pivot_root . "$old"
umount -l "/$old"
rmdir "/$old"
# not exec'd: this shell is the namespace's first process, to which a signal without a handler never comes (a
# program that kills itself with SIGTERM would go on); the program is its child, its status this shell's (a signal's
# 128 + N), and this shell's own stderr, where it would say so ("Terminated"), goes nowhere; the program's is the caller's
exec 3>&2 2>/dev/null
PATH=\${programs:+$programs:}$PATH chroot / /bin/sh -c 'exec 2>&3 3>&-; cd / && exec "$@"' sh "$@"`

/**
 * the environment the confinement and the programs in it start with, whatever
 * the simulating user's is: pivot_root and chroot are in sbin, which the PATH
 * of a user other than root often lacks (Debian's)
 */
export const CONFINED_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" } as const

/**
 * the command line that runs `command` (a host path under `root`, or a
 * program on the instance's PATH) confined to `root`; arguments that are
 * host paths under `root` (a script run by its interpreter) are given as
 * the instance sees them; `node`, the Node.js that runs ROOT's program as `imds` inside
 */
export const confinedCommand = (root: string, command: string, args: ReadonlyArray<string>, node: string): readonly [string, ReadonlyArray<string>] => {
  const inside = (path: string) => (path.startsWith(`${root}/`) ? path.slice(root.length) : path)
  // (--pid --fork: a process namespace of its own, whose programs end with it; --kill-child: and with unshare, when the phase ends it)
  return ["unshare", ["--mount", "--propagation", "private", "--map-root-user", "--pid", "--fork", "--kill-child", "/bin/sh", "-c", CONFINE, "confine", root, node, inside(command), ...args.map(inside)]]
}

/** how a simulation treats the user's programs */
export type UserCommands = "record" | "exec"

/** the environment variables a simulation gives its phases */
export const SIMULATION_ENV = { mode: "TINY_CLOUD_SIMULATE_USER_COMMANDS", record: "TINY_CLOUD_SIMULATION_RECORD" } as const
