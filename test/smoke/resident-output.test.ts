/**
 * A phase's stdout through the resident process, byte for byte as from a
 * process of its own: the NUL bytes a user-data program prints included,
 * which no shell variable of the client can hold.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process"
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, it } from "vitest"
import { makeInstance, type TestInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { itSystem } from "../support/system.js"
import { bootAndServe, endResident, PHASES, SERVICES, serverPid, servicesEnv, startServiceBytes } from "../support/openrc.js"

const SCRIPT = "#!/bin/sh\nprintf 'a\\000b\\n'\nprintf '\\000\\000'\nprintf 'c\\000'\n"

const open: Array<TestInstance> = []
const dirs: Array<string> = []
afterAll(() => Promise.all(open.map((i) => (endResident(i), i.close()))).finally(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))))

/**
 * final's output, the services run with the client in `lib` (undefined: final a process of its own, the phases before it
 * run in-process, as they would leave the instance: only final's output is compared), by `shell`, with `env` more
 */
const finalRun = async (lib: string | undefined, script = SCRIPT, shell = ["sh"], more: Record<string, string> = {}) => {
  const instance = await makeInstance({ cloud: "nocloud", env: PATIENT_METADATA, instance: { hostname: "o-1", userData: new TextEncoder().encode(script) } })
  open.push(instance)
  const env = { ...servicesEnv(instance), ...more, TINY_CLOUD_LIB: lib ?? "/nonexistent" }
  if (lib === undefined) for (const phase of ["boot", "early", "main"]) await instance.runHere([phase], more)
  else {
    await bootAndServe(env, instance)
    for (const phase of ["early", "main"]) await startServiceBytes(phase, env, shell)
  }
  const pid = serverPid(instance)
  const final = await startServiceBytes("final", env, shell)
  return { stdout: final.stdout, code: final.code, served: pid !== undefined, stderr: final.stderr }
}

/** final by bash as a process of its own, and through the resident process by bash and by bash --posix, at once */
const byBash = (script: string, locale: Record<string, string>) =>
  Promise.all([finalRun(undefined, script, ["bash"], locale), ...[["bash"], ["bash", "--posix"]].map((shell) => finalRun(SERVICES, script, shell, locale))] as const)

/** final's stdout and status, as finalRun */
const finalStdout = async (...args: Parameters<typeof finalRun>) => {
  const { stderr: _, ...rest } = await finalRun(...args)
  return rest
}

/** a service's start() as OpenRC runs it, with `stdio` of the test's (`then`: on the child at once), by `shell` */
const startWith = (phase: string, env: Record<string, string>, stdio: StdioOptions, then: (child: ChildProcess) => void = () => {}, shell = "sh", before = ":") =>
  new Promise<{ readonly code: number | null; readonly stderr: string }>((done) => {
    const child = spawn(shell, ["-c", `ebegin() { :; }; eend() { return "$1"; }; ${before}; . "${SERVICES}/tiny-cloud-${phase}"; start`], { env, stdio })
    then(child)
    let stderr = ""
    child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c))
    child.on("close", (code) => done({ code, stderr }))
  })

describe("a phase's stdout through the resident process", () => {
  it("passes a user-data program's NUL bytes as a process of its own prints them", async ({ expect }) => {
    const [alone, served] = await Promise.all([finalStdout(undefined), finalStdout(SERVICES)])
    expect(alone).toEqual({ stdout: Buffer.from("a\0b\n\0\0c\0"), code: 0, served: false })
    // before: "ab\nc", the client's read dropping them
    expect(served).toEqual({ ...alone, served: true })
  })

  it("a stderr whose reader is gone (EPIPE) kills no service: each returns its phase's status, as a phase run as a process of its own does", async ({ expect }) => {
    const instance = await makeInstance({ cloud: "nocloud", env: PATIENT_METADATA, instance: { hostname: "o-1", userData: new TextEncoder().encode("#!/bin/sh\necho ran\n") } })
    open.push(instance)
    const env = servicesEnv(instance)
    const codes: Array<[string, number | null]> = []
    // the pipe's only reader closes before the service writes its first line
    for (const phase of PHASES) codes.push([phase, (await startWith(phase, env, ["ignore", "ignore", "pipe"], (child) => child.stderr!.destroy())).code])
    // before: 141 each, the client killed by SIGPIPE at its first line while the server ran the phase on
    expect(codes).toEqual(PHASES.map((phase) => [phase, 0]))
    expect([instance.read("/var/log/user-data.log"), instance.read("/var/lib/cloud/.bootstrap-complete")]).toEqual(["ran\n", ""])
    // every phase through the one resident process: their syslog lines carry its pid
    const pids = new Set([...readFileSync(instance.fake.commandLog, "utf8").matchAll(/tiny-cloud\/(?:boot|early|main|final)\[(\d+)\]/g)].map((m) => m[1]))
    expect(pids.size).toBe(1)
  })

  itSystem("a stdout that cannot take the output (/dev/full) is one line and status 1, as from a process of its own, not the shell's line at each write; a reader gone (EPIPE) or a closed one (which a process of its own has on /dev/null) none", { files: ["/dev/full"] }, async ({ expect }) => {
    const script = "#!/bin/sh\necho one\necho two\necho three\n"
    const run = async (shell: string, stdout: "full" | "gone" | "closed") => {
      const instance = await makeInstance({ cloud: "nocloud", env: PATIENT_METADATA, instance: { hostname: "o-1", userData: new TextEncoder().encode(script) } })
      open.push(instance)
      const env = servicesEnv(instance)
      for (const phase of ["boot", "early", "main"]) await startServiceBytes(phase, env, [shell])
      const final = await startWith("final", env, ["ignore", stdout === "full" ? openSync("/dev/full", "w") : "pipe", "pipe"], (child) => child.stdout?.destroy(), shell, stdout === "closed" ? "exec >&-" : ":")
      return [shell, stdout, final.code, final.stderr.split("\n").filter((l) => /standard output|error/i.test(l)), instance.read("/var/lib/cloud/.bootstrap-complete")]
    }
    const results = await Promise.all(["sh", "bash"].flatMap((shell) => [run(shell, "full"), run(shell, "gone"), run(shell, "closed")]))
    // before: status 0 and 'sh: 139: printf: printf: I/O error' once per line of output
    expect(results).toEqual(
      ["sh", "bash"].flatMap((shell) => [
        [shell, "full", 1, ["tiny-cloud: cannot write to standard output"], ""],
        [shell, "gone", 0, [], ""],
        [shell, "closed", 0, [], ""]
      ])
    )
  })

  it("to a client that does not know the NUL line (the release before it), the rest of the output as before: the NULs left out", async ({ expect }) => {
    const older = mkdtempSync(join(tmpdir(), "tiny-cloud-older-client-"))
    dirs.push(older)
    writeFileSync(join(older, "client.sh"), readFileSync(join(SERVICES, "client.sh"), "utf8").replace(/^\t\t10\) .*\n/m, ""))
    expect(readFileSync(join(older, "client.sh"), "utf8")).not.toContain("\t\t10)")
    expect(await finalStdout(older)).toEqual({ stdout: Buffer.from("ab\nc"), code: 0, served: true })
  })

  // bash's read, in a UTF-8 locale of glibc's, takes a byte that may start a long character (0xf8 to 0xfd) and what follows,
  // the newline included, as one character: two reply lines were read as one, the second's tag printed with it
  itSystem("to a client run by bash in a UTF-8 locale, bytes that are no UTF-8, a CR and a line over 64 KiB split in a character: as written", { tools: { bash: "bash" } }, async ({ expect }) => {
    const script = `#!/bin/sh\nprintf 'x\\373\\275y\\r\\n\\374\\n\\300'\nhead -c 40000 /dev/zero | tr '\\0' 'a' | sed 's/a/\\xc3\\xa9/g'\nprintf 'z\\n'\n`
    const locale = { LANG: "C.UTF-8", LC_ALL: "C.UTF-8" }
    const [alone, ...served] = (await byBash(script, locale)).map(({ stderr: _, ...rest }) => rest)
    expect(alone!.stdout.subarray(0, 10)).toEqual(Buffer.from("x\xfb\xbdy\r\n\xfc\n\xc0\xc3", "latin1"))
    expect(alone!.stdout.length).toBe(9 + 80000 + 2)
    for (const one of served) expect(one).toEqual({ ...alone!, served: true })
  })

  // the read's LC_ALL=C restores the service's LC_ALL after each line: bash (glibc) warns on each a locale it lacks
  itSystem("to a client run by bash with LC_ALL a locale this system lacks: no more warnings than a process of its own", { tools: { bash: "bash" } }, async ({ expect }) => {
    const script = "#!/bin/sh\nfor i in 1 2 3 4 5; do echo $i; done\n"
    const locale = { LC_ALL: "xx_XX.UTF-8" }
    const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.includes("setlocale")).length
    const [alone, ...served] = await byBash(script, locale)
    expect(alone.stdout.toString()).toBe("1\n2\n3\n4\n5\n")
    for (const one of served) expect({ ...one, warnings: warnings(one.stderr), stderr: "" }).toEqual({ ...alone, warnings: warnings(alone.stderr), stderr: "", served: true })
  })
})
