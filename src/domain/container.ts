/** The container the system may run in, as its init's environment tells it. */

/** init's environment: `NAME=VALUE` entries, each ended by a NUL */
export const INIT_ENVIRON = "/proc/1/environ"

/** init's arguments, each ended by a NUL: a container's own command line, where /proc/cmdline is the host kernel's */
export const INIT_CMDLINE = "/proc/1/cmdline"

/**
 * The kind of container (`lxc`, `podman`, `systemd-nspawn`...) from `container=` in init's environment, as LXC and
 * Incus, podman and systemd-nspawn set it and OpenRC reads it; undefined outside a container
 */
export const containerOf = (environ: string): string | undefined => {
  const kind = environ
    .split("\0")
    .find((v) => v.startsWith("container="))
    ?.slice("container=".length)
  return kind === "" ? undefined : kind
}

/** init's arguments as one command line, words separated by spaces */
export const commandLineOf = (args: string): string => args.split("\0").filter((a) => a !== "").join(" ")
