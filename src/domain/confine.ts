/**
 * How a simulation runs the user's programs with `--exec`: a new private
 * mount namespace (mapping root when not root), the host's programs bound
 * read-only into the simulated ROOT, then `chroot ROOT`. Writes can only land
 * in ROOT.
 */

/** host directories the user's programs need */
const BOUND = ["bin", "sbin", "usr", "lib", "lib32", "lib64", "libx32"]

/** the few devices scripts expect */
const DEVICES = ["null", "zero", "random", "urandom"]

const CONFINE = `set -e
root=$1; shift
for d in ${BOUND.join(" ")}; do
  if [ -L "/$d" ]; then
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
exec chroot "$root" /bin/sh -c 'cd / && exec "$@"' sh "$@"`

/** the command line that runs `command` (a host path under `root`, or a program on the instance's PATH) confined to `root` */
export const confinedCommand = (root: string, command: string, args: ReadonlyArray<string>, asRoot: boolean): readonly [string, ReadonlyArray<string>] => {
  const inside = command.startsWith(`${root}/`) ? command.slice(root.length) : command
  return ["unshare", ["--mount", "--propagation", "private", ...(asRoot ? [] : ["--map-root-user"]), "/bin/sh", "-c", CONFINE, "confine", root, inside, ...args]]
}

/** how a simulation treats the user's programs */
export type UserCommands = "record" | "exec"

/** the environment variables a simulation gives its phases */
export const SIMULATION_ENV = { mode: "TINY_CLOUD_SIMULATE_USER_COMMANDS", record: "TINY_CLOUD_SIMULATION_RECORD" } as const
