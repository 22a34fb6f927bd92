/**
 * What a user's program (`bootcmd`, `runcmd`) finds as it starts, whether its
 * phase runs in a process of its own or in the resident process: no
 * descriptor of the phase's (a daemon it starts would hold the lock, the log
 * or a FIFO for good), no signal blocked or ignored (`yes | head` ends), and
 * a standard input that gives end of file rather than waiting.
 */
import { spawnSync } from "node:child_process"
import { expect, it } from "vitest"
import { useInstances } from "../support/harness.js"
import { bootAndServe, endResident, servicesEnv, startService } from "../support/openrc.js"

const newInstance = useInstances()

const PROBE = "echo '== start'; ls -l /proc/self/fd; grep -E '^Sig(Blk|Ign):' /proc/self/status; [ -t 0 ] && echo 'stdin: a terminal'; read -r line; echo \"read: $?\""
const USER_DATA = `#cloud-config\nbootcmd:\n  - "${PROBE.replaceAll('"', '\\"')}"\nruncmd:\n  - "${PROBE.replaceAll('"', '\\"')}"\n`

/** `ls -l /proc/self/fd`'s descriptors past 2, by number, less ls's own (the directory it reads) */
const descriptors = (listing: string) =>
  [...listing.matchAll(/ (\d+) -> (.*)$/gm)].filter(([, fd, target]) => Number(fd) > 2 && !/^\/proc\/\d+\/fd$/.test(target!)).map(([, fd, target]) => `${fd} -> ${target}`)

// what this process passes on to what it starts (the test runner's own): the phases inherit these too
const inherited = new Set(descriptors(spawnSync("ls", ["-l", "/proc/self/fd"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).stdout))

it.each(["in a process of its own", "by the resident process"] as const)(
  "a user program holds no descriptor of the phase's, starts with no signal blocked or ignored, and reads end of file on its standard input: run %s",
  async (how) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", userData: new TextEncoder().encode(USER_DATA) } })
    const env = servicesEnv(instance)
    try {
      if (how === "by the resident process") {
        await bootAndServe(env, instance)
        for (const phase of ["early", "main", "final"]) expect((await startService(phase, env)).code).toBe(0)
      } else {
        for (const phase of ["boot", "early", "main", "final"]) expect((await instance.run([phase])).code).toBe(0)
      }
    } finally {
      endResident(instance)
    }
    const runs = (instance.read("/var/log/user-data.log") ?? "").split("== start\n").slice(1)
    // bootcmd's, then runcmd's
    expect(runs).toHaveLength(2)
    for (const run of runs) {
      expect(descriptors(run).filter((d) => !inherited.has(d))).toEqual([])
      expect(run).toContain("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
      expect(run).not.toContain("stdin: a terminal")
      expect(run).toContain("read: 1\n")
    }
  }
)
