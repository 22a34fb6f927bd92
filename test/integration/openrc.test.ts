import { execFileSync, spawn } from "node:child_process"
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { parseAssignments } from "../../src/domain/shell-words.js"
import { readConfText } from "../../src/layers/conf-file.js"
import { until } from "../support/openrc.js"
import { describeSystem, SHELLS } from "../support/system.js"

const SERVICES = resolve(new URL("../../openrc", import.meta.url).pathname)

/** a run directory as a server leaves it: its requests FIFO, and FILE (server.starting or server.pid) naming `pid` */
const serverLeftovers = (root: string, file: "server.starting" | "server.pid", pid: number) => {
  const run = join(root, "run/tiny-cloud")
  mkdirSync(run, { recursive: true, mode: 0o700 })
  execFileSync("mkfifo", ["-m", "600", join(run, "requests")])
  writeFileSync(join(run, file), `${pid}\n`)
}

/** the last service's directory; a test may start several, and each one's goes after it */
let dir = ""
const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** sources a service script with OpenRC's helpers stubbed and runs its start(); returns the banners and tiny-cloud calls */
const start = (
  phase: string,
  setup: (root: string) => void = () => {},
  lib = "/nonexistent",
  env: Record<string, string | undefined> = {},
  shellOptions: Array<string> = []
) => {
  dir = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
  dirs.push(dir)
  const root = join(dir, "root")
  const bin = join(dir, "bin")
  mkdirSync(bin, { recursive: true })
  mkdirSync(join(root, "etc"), { recursive: true })
  writeFileSync(join(bin, "tiny-cloud"), `#!/bin/sh\necho "tiny-cloud $*" >> "${dir}/calls"\n`)
  chmodSync(join(bin, "tiny-cloud"), 0o755)
  // -p PRIORITY -t TAG[PID] LINE, the PID left out
  writeFileSync(join(bin, "logger"), `#!/bin/sh\necho "logger $1 $2 $3 \${4%%\\[*} $5" >> "${dir}/calls"\n`)
  chmodSync(join(bin, "logger"), 0o755)
  setup(root)
  execFileSync("sh", [...shellOptions, "-c", `ebegin() { echo "ebegin $*" >> "${dir}/calls"; }; eend() { echo "eend $*" >> "${dir}/calls"; return "$1"; }; . "${SERVICES}/tiny-cloud-${phase}"; start 2>>"${dir}/calls"`], {
    env: { PATH: `${bin}:/usr/bin:/bin`, ROOT: root, TINY_CLOUD_LIB: lib, ...env }
  })
  return existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8") : ""
}

describe("OpenRC service scripts", () => {
  it.each(["boot", "early", "main", "final"])("tiny-cloud-%s prints the shell edition's banner and starts its phase on a first boot", (phase) => {
    // (the boot service also leaves the resident process behind, in the background: see below)
    expect(start(phase).replace("tiny-cloud serve\n", "")).toBe(`ebegin Tiny Cloud - ${phase} phase\ntiny-cloud ${phase}\neend 0\n`)
  })

  it("tiny-cloud-boot starts no resident process when the client is not installed: every phase runs on its own", () => {
    expect(start("boot")).toBe("ebegin Tiny Cloud - boot phase\ntiny-cloud boot\neend 0\n")
    expect(existsSync(join(dir, "root/run/tiny-cloud"))).toBe(false)
  })

  it("tiny-cloud-boot starts the resident process of the first boot in the background, and names it while it starts", async () => {
    // the client is installed; this resident process leaves at once, so the boot phase runs on its own
    start("boot", () => {}, SERVICES)
    await until(() => readFileSync(join(dir, "calls"), "utf8").includes("tiny-cloud serve"), "the boot service starts the resident process")
    expect(readFileSync(join(dir, "calls"), "utf8").split("\n").filter((l) => l.startsWith("tiny-cloud")).sort()).toEqual(["tiny-cloud boot", "tiny-cloud serve"])
    expect(readFileSync(join(dir, "root/run/tiny-cloud/server.starting"), "utf8")).toMatch(/^\d+\n$/)
    // the requests FIFO, made while the server starts: the boot phase's request waits in it
    const requests = lstatSync(join(dir, "root/run/tiny-cloud/requests"))
    expect([requests.isFIFO(), requests.mode & 0o777]).toEqual([true, 0o600])
  })

  it.each([[[]], [["-e"]]])("a client whose resident process dies before taking its request (while it starts) runs the phase itself, and leaves no FIFO behind (sh options %j, as openrc-run may set)", (options: Array<string>) => {
    // a "server" that never reads its requests, and ends soon (not our child: init reaps it)
    const server = { pid: Number(execFileSync("sh", ["-c", "sleep 0.5 </dev/null >/dev/null 2>&1 & echo $!"], { encoding: "utf8" })) }
    const calls = start(
      "main",
      (root) => serverLeftovers(root, "server.starting", server.pid),
      SERVICES,
      {},
      options
    )
    expect(calls).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
    expect(readdirSync(join(dir, "root/run/tiny-cloud")).sort()).toEqual(["requests", "server.starting"])
  })

  it.each([
    ["server.pid", []],
    ["server.pid", ["-e"]],
    ["server.starting", ["-e"]]
  ] as Array<[string, Array<string>]>)("a client that finds %s empty (the server writing it) runs the phase itself (sh options %j, as openrc-run may set)", (file, options) => {
    const calls = start(
      "main",
      (root) => {
        serverLeftovers(root, "server.pid", 1)
        writeFileSync(join(root, "run/tiny-cloud", file), "")
      },
      SERVICES,
      {},
      options
    )
    expect(calls).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
  })

  it("tiny-cloud-boot under sh -e (as openrc-run may set) runs the boot phase when it cannot make the resident process's run directory", () => {
    // /run is no directory: mkdir fails, and the phase runs on its own
    const calls = start("boot", (root) => writeFileSync(join(root, "run"), ""), SERVICES, {}, ["-e"])
    expect(calls.split("\n").filter((l) => l !== "tiny-cloud serve")).toEqual(["ebegin Tiny Cloud - boot phase", "tiny-cloud boot", "eend 0", ""])
  })

  it("a client whose server.pid names a live process that is not the server (a dead server's pid, reused) runs the phase itself without asking", () => {
    const other = { pid: Number(execFileSync("sh", ["-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $!"], { encoding: "utf8" })) }
    try {
      const calls = start(
        "main",
        (root) => {
          serverLeftovers(root, "server.pid", other.pid)
          // mkfifo, the client's first step in asking, says when it is started
          writeFileSync(join(root, "../bin/mkfifo"), `#!/bin/sh\necho "mkfifo" >> "${join(root, "../calls")}"\nPATH=/usr/bin:/bin exec mkfifo "$@"\n`)
          chmodSync(join(root, "../bin/mkfifo"), 0o755)
        },
        SERVICES
      )
      expect(calls).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
    } finally {
      process.kill(other.pid)
    }
  })

  /** main's service with the installed client, mkfifo (its first step in asking) recording that it is started */
  const withoutAsking = (setup: (root: string) => void) =>
    start(
      "main",
      (root) => {
        setup(root)
        writeFileSync(join(root, "../bin/mkfifo"), `#!/bin/sh\necho "mkfifo" >> "${join(root, "../calls")}"\nPATH=/usr/bin:/bin exec mkfifo "$@"\n`)
        chmodSync(join(root, "../bin/mkfifo"), 0o755)
      },
      SERVICES
    )

  it("a client whose server is dead but not yet reaped (a zombie of the boot service's shell) runs the phase itself without asking", () => {
    // a child that exits under a parent that never waits for it
    const parent = Number(execFileSync("sh", ["-c", "sh -c 'sleep 0 & exec sleep 30' </dev/null >/dev/null 2>&1 & echo $!"], { encoding: "utf8" }))
    try {
      let zombie = 0
      const stat = () => readFileSync(`/proc/${zombie}/stat`, "utf8")
      for (let i = 0; i < 2000 && zombie === 0; i++) {
        const children = execFileSync("sh", ["-c", `cat /proc/${parent}/task/*/children 2>/dev/null || :`], { encoding: "utf8" }).trim()
        if (children !== "") zombie = Number(children.split(" ")[0])
      }
      expect(zombie).toBeGreaterThan(0)
      for (let i = 0; i < 2000 && !/\) Z /.test(stat()); i++) execFileSync("sleep", ["0.02"])
      expect(stat()).toMatch(/\) Z /)
      expect(withoutAsking((root) => serverLeftovers(root, "server.starting", zombie))).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
    } finally {
      process.kill(parent)
    }
  })

  it("a client that finds no requests FIFO runs the phase itself without asking, and makes none", () => {
    const other = { pid: Number(execFileSync("sh", ["-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $!"], { encoding: "utf8" })) }
    try {
      const calls = withoutAsking((root) => {
        serverLeftovers(root, "server.starting", other.pid)
        rmSync(join(root, "run/tiny-cloud/requests"))
      })
      expect(calls).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
      expect(readdirSync(join(dir, "root/run/tiny-cloud"))).toEqual(["server.starting"])
    } finally {
      process.kill(other.pid)
    }
  })

  it("without the installed client, the later services run their phase in a process of their own", () => {
    expect(start("main")).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
  })

  it.each(["boot", "early", "main", "final"])("tiny-cloud-%s has the shell edition's description", (phase) => {
    const out = execFileSync("sh", ["-c", `. "${SERVICES}/tiny-cloud-${phase}"; printf %s "$description"`], { encoding: "utf8" })
    expect(out).toBe(`Tiny Cloud Bootstrap - ${phase} phase`)
  })

  it("are OpenRC scripts", () => {
    for (const phase of ["boot", "early", "main", "final"]) {
      expect(readFileSync(join(SERVICES, `tiny-cloud-${phase}`), "utf8").split("\n")[0]).toBe("#!/sbin/openrc-run")
    }
  })

  /** what a service that skips the program prints and logs in its place */
  const skipped = (phase: string, line: string) => `ebegin Tiny Cloud - ${phase} phase\n${line}\nlogger -p local7.info -t tiny-cloud/${phase} ${line}\neend 0\n`

  it("skip the program once the bootstrap is complete, saying so on stderr and to syslog as the program would", () => {
    expect(start("main", (root) => {
      mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
      writeFileSync(join(root, "var/lib/cloud/.bootstrap-complete"), "")
    })).toBe(skipped("main", "already bootstrapped"))
  })

  it("run the program where a directory stands in the marker's place, which is no marker: the shell edition tests -f, as the program does", () => {
    expect(start("main", (root) => mkdirSync(join(root, "var/lib/cloud/.bootstrap-complete"), { recursive: true }))).toBe(
      "ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n"
    )
  })

  it("skip the program once the bootstrap is complete with their stderr a pipe whose reader is gone (EPIPE): no service killed by SIGPIPE, each returns 0 as the program does", async () => {
    const root = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
    dirs.push(root)
    mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
    writeFileSync(join(root, "var/lib/cloud/.bootstrap-complete"), "")
    const codes: Array<[string, number | null]> = []
    for (const phase of ["boot", "early", "main", "final"]) {
      const code = await new Promise<number | null>((done) => {
        const child = spawn("sh", ["-c", `ebegin() { :; }; eend() { return "$1"; }; logger() { :; }; . "${SERVICES}/tiny-cloud-${phase}"; start`], {
          env: { PATH: "/usr/bin:/bin", ROOT: root, TINY_CLOUD_LIB: "/nonexistent" },
          stdio: ["ignore", "ignore", "pipe"]
        })
        // the pipe's only reader closes before the service writes its line
        child.stderr!.destroy()
        child.on("close", done)
      })
      codes.push([phase, code])
    }
    // before: 141 each, killed by SIGPIPE at 'already bootstrapped'
    expect(codes).toEqual(["boot", "early", "main", "final"].map((phase) => [phase, 0]))
  })

  it("skip the program when tiny-cloud is disabled, saying so", () => {
    expect(start("boot", (root) => writeFileSync(join(root, "etc/tiny-cloud.disabled"), ""))).toBe(skipped("boot", "tiny-cloud disabled"))
    expect(existsSync(join(dir, "root/run/tiny-cloud"))).toBe(false)
  })

  it("look for the marker where TINY_CLOUD_VAR in tiny-cloud.conf says", () => {
    expect(start("final", (root) => {
      mkdirSync(join(root, "state"), { recursive: true })
      writeFileSync(join(root, "state/.bootstrap-complete"), "")
      writeFileSync(join(root, "etc/tiny-cloud.conf"), `CLOUD=aws\nTINY_CLOUD_VAR="${root}/state"\n`)
    })).toBe(skipped("final", "already bootstrapped"))
  })

  it.each([
    ["a comment after it", (state: string) => `TINY_CLOUD_VAR=${state}  # moved off /var\n`],
    ["export", (state: string) => `export TINY_CLOUD_VAR=${state}\n`],
    ["single quotes and a later line winning", (state: string) => `TINY_CLOUD_VAR=/nowhere\n  TINY_CLOUD_VAR='${state}' # here\n`]
  ])("read TINY_CLOUD_VAR as the program does: %s", (_, conf) => {
    expect(start("main", (root) => {
      mkdirSync(join(root, "state"), { recursive: true })
      writeFileSync(join(root, "state/.bootstrap-complete"), "")
      writeFileSync(join(root, "etc/tiny-cloud.conf"), conf(join(root, "state")))
    })).toBe(skipped("main", "already bootstrapped"))
  })

  it.each([
    ["an absolute path is the instance's, under ROOT as the file is", "TINY_CLOUD_VAR=/srv/state\n", "srv/state"],
    ["a relative path is invalid: the default", "TINY_CLOUD_VAR=state\n", "var/lib/cloud"]
  ])("read TINY_CLOUD_VAR of tiny-cloud.conf as the program does: %s", (_, conf, where) => {
    expect(start("main", (root) => {
      mkdirSync(join(root, where), { recursive: true })
      writeFileSync(join(root, where, ".bootstrap-complete"), "")
      writeFileSync(join(root, "etc/tiny-cloud.conf"), conf)
    })).toBe(skipped("main", "already bootstrapped"))
  })

  it.each([
    ["a directory", (conf: string) => mkdirSync(conf)],
    ["a link to a device (/dev/null)", (conf: string) => symlinkSync("/dev/null", conf)],
    ["a link to a directory", (conf: string) => (mkdirSync(`${conf}.d`), symlinkSync("tiny-cloud.conf.d", conf))]
  ])("skip the program once the bootstrap is complete with a tiny-cloud.conf that is %s, as the program does, which refuses it and reads the defaults", (_, plant) => {
    for (const phase of ["boot", "early", "main", "final"]) {
      expect(start(phase, (root) => {
        mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
        writeFileSync(join(root, "var/lib/cloud/.bootstrap-complete"), "")
        plant(join(root, "etc/tiny-cloud.conf"))
        // (the program reads no setting from it, refused or not found inside ROOT: the defaults, TINY_CLOUD_VAR's among them)
        const read = readConfText({ ROOT: root })
        expect("text" in read ? read.text : "").toBe("")
      })).toBe(skipped(phase, "already bootstrapped"))
    }
  })

  it.each(["boot", "early", "main", "final"])("tiny-cloud-%s with a tiny-cloud.conf that is a FIFO (planted in an image) is not held reading it: it is not read, and the first boot's phase runs", async (phase) => {
    const d = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
    dirs.push(d)
    mkdirSync(join(d, "root/etc"), { recursive: true })
    mkdirSync(join(d, "bin"))
    execFileSync("mkfifo", [join(d, "root/etc/tiny-cloud.conf")])
    writeFileSync(join(d, "bin/tiny-cloud"), `#!/bin/sh\necho "tiny-cloud $*" >> "${d}/calls"\n`)
    chmodSync(join(d, "bin/tiny-cloud"), 0o755)
    const child = spawn("sh", ["-c", `ebegin() { :; }; eend() { return "$1"; }; . "${SERVICES}/tiny-cloud-${phase}"; start`], {
      env: { PATH: `${join(d, "bin")}:/usr/bin:/bin`, ROOT: join(d, "root"), TINY_CLOUD_LIB: "/nonexistent" },
      stdio: "ignore"
    })
    let code: number | null | undefined
    child.on("close", (c) => (code = c))
    try {
      // (before: never, the service held opening the FIFO for reading)
      await until(() => code !== undefined, `tiny-cloud-${phase} ends`)
    } finally {
      if (code === undefined) child.kill("SIGKILL")
    }
    expect([code, readFileSync(join(d, "calls"), "utf8")]).toEqual([0, `tiny-cloud ${phase}\n`])
  })

  it("an empty TINY_CLOUD_VAR in the environment wins over tiny-cloud.conf and means the default, as in the program", () => {
    const setup = (root: string) => {
      mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
      writeFileSync(join(root, "var/lib/cloud/.bootstrap-complete"), "")
      writeFileSync(join(root, "etc/tiny-cloud.conf"), "TINY_CLOUD_VAR=/nowhere\n")
    }
    expect(start("main", setup, "/nonexistent", { TINY_CLOUD_VAR: "" })).toBe(skipped("main", "already bootstrapped"))
    // unset, the file's value is the one
    expect(start("main", setup)).toBe("ebegin Tiny Cloud - main phase\ntiny-cloud main\neend 0\n")
  })

  it("take TINY_CLOUD_VAR from the environment over tiny-cloud.conf, as the program does", () => {
    const state = join(tmpdir(), `tiny-cloud-openrc-env-${process.pid}`)
    mkdirSync(state, { recursive: true })
    try {
      writeFileSync(join(state, ".bootstrap-complete"), "")
      expect(start("early", (root) => writeFileSync(join(root, "etc/tiny-cloud.conf"), "TINY_CLOUD_VAR=/nowhere\n"), "/nonexistent", { TINY_CLOUD_VAR: state })).toBe(skipped("early", "already bootstrapped"))
    } finally {
      rmSync(state, { recursive: true, force: true })
    }
  })

  it.each(["-u", "-eu"])("run under sh %s (as openrc-run may) with ROOT unset, as on a real boot", (options) => {
    // TINY_CLOUD_VAR from the environment: the marker is looked for there, not on this machine
    const state = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-state-"))
    dirs.push(state)
    writeFileSync(join(state, ".bootstrap-complete"), "")
    for (const phase of ["boot", "early", "main", "final"]) {
      expect(start(phase, () => {}, SERVICES, { ROOT: undefined, TINY_CLOUD_VAR: state }, [options])).toBe(skipped(phase, "already bootstrapped"))
    }
  })

  it("the client's liveness check, as its watchdog calls it (a pid alone), works under sh -u", () => {
    expect(execFileSync("sh", ["-u", "-c", `. "${SERVICES}/client.sh"; _tiny_cloud_alive $$ && echo alive`], { encoding: "utf8" })).toBe("alive\n")
  })

  it("declare the ordering OpenRC needs, and no time limit: the services after a phase wait for its end, and OpenRC never kills it", () => {
    const depend = (phase: string) => /depend\(\) \{\n([^}]*)\}/.exec(readFileSync(join(SERVICES, `tiny-cloud-${phase}`), "utf8"))![1]!.trim().split(/\n\s*/)
    expect(depend("boot")).toEqual(["after root logger", "before net", "keyword -timeout"])
    expect(depend("early")).toEqual(["need net", "before tiny-cloud-main", "keyword -timeout"])
    expect(depend("main")).toEqual(["need net", "before sshd", "keyword -timeout"])
    expect(depend("final")).toEqual(["after *", "provide cloud-final", "keyword -timeout"])
  })

  it("share one marker check: the shells' tests below read tiny-cloud-main's, and every phase decides as it does", () => {
    const check = (phase: string) => /\n_tiny_cloud_needed\(\) \{\n[\s\S]*?\n\}\n/.exec(readFileSync(join(SERVICES, `tiny-cloud-${phase}`), "utf8"))?.[0]
    expect(check("main")).toContain("TINY_CLOUD_VAR")
    for (const phase of ["boot", "early", "final"]) expect({ phase, check: check(phase) }).toEqual({ phase, check: check("main") })
  })
})

/** lines of tiny-cloud.conf that the program reads, each as sh would: more than one assignment on a line, names `export` exports, or not an assignment at all */
const CONF_LINES = [
  "A=1 TINY_CLOUD_VAR=/srv/state",
  "export A TINY_CLOUD_VAR=/srv/state",
  "export A=1 B TINY_CLOUD_VAR=/srv/state",
  "B=2; TINY_CLOUD_VAR=/srv/state",
  "TINY_CLOUD_VAR=/srv/state; B=2",
  "TINY_CLOUD_VAR=/srv/state; B=2 junk",
  "TINY_CLOUD_VAR=/srv/other A=1 junk; TINY_CLOUD_VAR=/srv/state B=2 # x",
  "A='a b' TINY_CLOUD_VAR=/srv/state C=3",
  'TINY_CLOUD_VAR="/srv/st"ate',
  "export TINY_CLOUD_VAR=/srv/state A B; C=1",
  // not assignments of TINY_CLOUD_VAR: the default stays
  "TINY_CLOUD_VAR=/srv/state junk",
  "A=1 junk TINY_CLOUD_VAR=/srv/state",
  "TINY_CLOUD_VAR=/srv/state A=1 junk",
  "TINY_CLOUD_VAR=/srv/state A=a|b",
  "export TINY_CLOUD_VAR=/srv/state A B=1 junk",
  "A=1 export TINY_CLOUD_VAR=/srv/state",
  "echo TINY_CLOUD_VAR=/srv/state",
  // an operator ends the word: a pipeline, a redirection, a background command, as sh reads them
  "TINY_CLOUD_VAR=/srv/state|cat",
  "TINY_CLOUD_VAR=/srv/state>x",
  "TINY_CLOUD_VAR=/srv/state&",
  "TINY_CLOUD_VAR=/srv/(state)",
  "XTINY_CLOUD_VAR=/srv/state",
  // quotes and a backslash in comments open nothing
  "CLOUD=aws # it's\nTINY_CLOUD_VAR=/srv/state",
  '# it\'s "quoted\\\nTINY_CLOUD_VAR=/srv/state'
]

/** lines whose TINY_CLOUD_VAR needs more than one line, or a backslash read: the check leaves them to the program */
const UNREAD_LINES = [
  "TINY_CLOUD_VAR=/srv/my\\ state",
  "TINY_CLOUD_VAR=/srv/st\\ate",
  'TINY_CLOUD_VAR="/srv/\\"state"',
  "A=x\\ y TINY_CLOUD_VAR=/srv/state",
  "TINY_CLOUD_VAR=/srv/\\\nstate",
  'TINY_CLOUD_VAR="/srv/\nstate"',
  "TINY_CLOUD_VAR='/srv/state",
  // a value of several lines, whose lines are not assignments
  "A='x\nTINY_CLOUD_VAR=/srv/state\n'",
  "A='x\ny' TINY_CLOUD_VAR=/srv/state",
  "A=x\\\nTINY_CLOUD_VAR=/srv/state",
  // a command substitution or parameter expansion, which the program keeps in the value as written
  "TINY_CLOUD_VAR=/srv/$(echo state)",
  "TINY_CLOUD_VAR=/srv/$((1))",
  "TINY_CLOUD_VAR=/srv/${X:-a|b}",
  "TINY_CLOUD_VAR=/srv/`echo a|cat`"
]

/** what tiny-cloud-main's check decides under `shell` (with set -eu, as openrc-run may run it) for a tiny-cloud.conf of `line`, a marker under `marked` */
const decides = (shell: string, line: string | Buffer, marked: string): string => {
  const d = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
  dirs.push(d)
  mkdirSync(join(d, "etc"), { recursive: true })
  mkdirSync(join(d, marked), { recursive: true })
  writeFileSync(join(d, marked, ".bootstrap-complete"), "")
  writeFileSync(join(d, "etc/tiny-cloud.conf"), typeof line === "string" ? `${line}\n` : line)
  // (syslog is the stand-in's, not this machine's)
  mkdirSync(join(d, "bin"))
  writeFileSync(join(d, "bin/logger"), "#!/bin/sh\n", { mode: 0o755 })
  const [program, ...args] = shell.split(" ")
  return execFileSync(program!, [...args, "-c", `set -eu; . "${SERVICES}/tiny-cloud-main"; _tiny_cloud_needed main 2>/dev/null && echo run || echo skip`], {
    encoding: "utf8",
    env: { PATH: `${join(d, "bin")}:/usr/bin:/bin`, ROOT: d, TINY_CLOUD_LIB: "/nonexistent" }
  })
}

describeSystem("OpenRC service scripts, under the shells OpenRC may use", { tools: { dash: "dash", busybox: "busybox" } }, () => {
  it.each(["dash", "busybox sh"])("%s: look for the marker where the program reads TINY_CLOUD_VAR, on any line sh reads (a marker under the default path never skips a first boot that uses another)", (shell) => {
    for (const line of CONF_LINES) {
      const where = parseAssignments(`${line}\n`).values.TINY_CLOUD_VAR === "/srv/state" ? "srv/state" : "var/lib/cloud"
      for (const marked of ["srv/state", "var/lib/cloud"]) {
        expect({ line, marked, out: decides(shell, line, marked) }).toEqual({ line, marked, out: marked === where ? "skip\n" : "run\n" })
      }
    }
  })

  it.each(["dash", "busybox sh"])("%s: a tiny-cloud.conf saved on Windows (a byte-order mark before its first line, CR LF line ends) is read as the program reads it: the marker is looked for where the program looks, never under the default path", (shell) => {
    for (const text of ["\ufeffTINY_CLOUD_VAR=/srv/state\r", "\ufeffexport TINY_CLOUD_VAR='/srv/state' # moved\r\nCLOUD=aws\r", "\ufeff# state elsewhere\r\nTINY_CLOUD_VAR=/srv/state\r"]) {
      // the program's reading of that file (the byte-order mark is read past)
      const d = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
      dirs.push(d)
      mkdirSync(join(d, "etc"))
      writeFileSync(join(d, "etc/tiny-cloud.conf"), `${text}\n`)
      const read = readConfText({ ROOT: d })
      expect("text" in read && parseAssignments(read.text).values.TINY_CLOUD_VAR).toBe("/srv/state")
      for (const marked of ["srv/state", "var/lib/cloud"]) {
        expect({ text, marked, out: decides(shell, text, marked) }).toEqual({ text, marked, out: marked === "srv/state" ? "skip\n" : "run\n" })
      }
    }
  })

  it.each(["dash", "busybox sh"])("%s: a first line that starts with another non-ASCII byte (a second byte-order mark, a Latin-1 or UTF-8 letter, a no-break space, a control character) is no assignment, to the program and so to the check: the marker is looked for under the default path", (shell) => {
    for (const text of ["\ufeff\ufeffTINY_CLOUD_VAR=/srv/state", "\u00e9TINY_CLOUD_VAR=/srv/state", "\u00a0TINY_CLOUD_VAR=/srv/state", "\x01TINY_CLOUD_VAR=/srv/state"]) {
      const d = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
      dirs.push(d)
      mkdirSync(join(d, "etc"))
      writeFileSync(join(d, "etc/tiny-cloud.conf"), `${text}\n`)
      const read = readConfText({ ROOT: d })
      expect("text" in read && parseAssignments(read.text).values.TINY_CLOUD_VAR).toBeUndefined()
      for (const marked of ["srv/state", "var/lib/cloud"]) {
        expect({ text, marked, out: decides(shell, text, marked) }).toEqual({ text, marked, out: marked === "var/lib/cloud" ? "skip\n" : "run\n" })
      }
    }
    // a Latin-1 byte as the file has it (not UTF-8)
    const latin1 = Buffer.concat([Buffer.from([0xe9]), Buffer.from("TINY_CLOUD_VAR=/srv/state\n")])
    for (const marked of ["srv/state", "var/lib/cloud"]) expect({ marked, out: decides(shell, latin1, marked) }).toEqual({ marked, out: marked === "var/lib/cloud" ? "skip\n" : "run\n" })
  })

  it.each(["dash", "busybox sh"])("%s: a line with a backslash or a quote it does not close starts the program, which reads it, wherever a marker is (never a first boot skipped on a guess)", (shell) => {
    for (const line of UNREAD_LINES) {
      for (const marked of ["srv/my state", "srv/state", "var/lib/cloud"]) {
        expect({ line, marked, out: decides(shell, line, marked) }).toEqual({ line, marked, out: "run\n" })
      }
    }
  })
})

describeSystem("the resident process's client, under the shells OpenRC may use", { tools: SHELLS }, () => {
  it.each(["dash", "busybox sh", "bash --posix", "bash"])("%s: its environment file (env.PID: the service's environment, which may hold a proxy's password) is root's alone whatever the service's umask, and names that umask", (shell) => {
    const d = mkdtempSync(join(tmpdir(), "tiny-cloud-openrc-"))
    dirs.push(d)
    const root = join(d, "root")
    mkdirSync(join(d, "bin"), { recursive: true })
    writeFileSync(join(d, "bin/tiny-cloud"), `#!/bin/sh\necho "tiny-cloud $*" >> "${d}/calls"\n`)
    chmodSync(join(d, "bin/tiny-cloud"), 0o755)
    // a "server" that takes the request, notes the mode and first line of its client's env.PID, and ends without answering (not our
    // child: init reaps it); the client, its watchdog seeing it gone, then runs the phase itself
    const run = join(root, "run/tiny-cloud")
    serverLeftovers(root, "server.starting", 0)
    const take = `read -r phase client < "${run}/requests"; { stat -c %a "${run}/env.$client"; head -n 1 "${run}/env.$client"; } > "${d}/taken"`
    writeFileSync(join(run, "server.starting"), execFileSync("sh", ["-c", `(${take}) </dev/null >/dev/null 2>&1 & echo $!`], { encoding: "utf8" }))
    const [program, ...args] = shell.split(" ")
    execFileSync(program!, [...args, "-c", `umask 022; ebegin() { :; }; eend() { return "$1"; }; . "${SERVICES}/tiny-cloud-main"; start`], {
      env: { PATH: `${join(d, "bin")}:/usr/bin:/bin`, HOME: d, ROOT: root, TINY_CLOUD_LIB: SERVICES, http_proxy: "http://proxy:S3cret@10.0.0.1:3128" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    expect(readFileSync(join(d, "taken"), "utf8")).toBe("600\n0022\n")
    expect(readFileSync(join(d, "calls"), "utf8")).toBe("tiny-cloud main\n")
    expect(readdirSync(run).sort()).toEqual(["requests", "server.starting"])
  })
})
