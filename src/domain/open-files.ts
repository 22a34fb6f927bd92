/**
 * The open-files limit (RLIMIT_NOFILE) a user's program starts with. Node
 * raises its own soft limit to the hard one as it starts, and a child
 * inherits it: a `runcmd` or a script would get 4096 (or a container's
 * 1048576) where the service that ran the phase, the shell edition and
 * cloud-init give 1024, and a daemon it starts would keep it.
 */
export interface OpenFilesLimit {
  readonly soft: number
  readonly hard: number
}

/** the limit `/proc/PID/limits` names, undefined where it names none */
export const openFilesLimitOf = (limits: string): OpenFilesLimit | undefined => {
  const found = /^Max open files +(\d+) +(\d+) /m.exec(limits)
  return found === null ? undefined : { soft: Number(found[1]), hard: Number(found[2]) }
}

/**
 * sh's commands that give the shell, and what it then runs, the limit: the hard one set before the soft one where
 * it is raised, after it where it is lowered below the soft one in force (so set again); a refusal leaves it as it was
 */
export const openFilesCommands = ({ soft, hard }: OpenFilesLimit): string =>
  `ulimit -H -n ${hard} 2>/dev/null; ulimit -S -n ${soft} 2>/dev/null; ulimit -H -n ${hard} 2>/dev/null; `
