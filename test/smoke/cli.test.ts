import { spawn, type StdioOptions } from "node:child_process"
import { openSync, rmSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { PROGRAM, useInstances } from "../support/harness.js"
import { describeSystem, itSystem } from "../support/system.js"

const makeInstance = useInstances()

/** a process run to its end, as spawnSync runs it but without holding up this thread (where the concurrent tests' simulators answer) */
const spawnAsync = (command: string, args: ReadonlyArray<string>, options: { env: Record<string, string>; stdio?: StdioOptions; input?: string }) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(command, [...args], { env: options.env, stdio: options.stdio ?? ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c))
    child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c))
    // a program that exits before reading its input (most do not read it) closes the pipe: EPIPE is no failure of the test
    child.stdin?.on("error", () => undefined).end(options.input ?? "")
    child.on("close", (status) => done({ status, stdout, stderr }))
  })

const noCloud = () => makeInstance({ noSimulator: true })

// every test has instances of its own; the processes and the slow reader's wait overlap
describe.concurrent("tiny-cloud command line", () => {
  it("-h prints usage on stdout and exits 0; no argument or an unknown one prints it on stderr and exits 1", async () => {
    const instance = await noCloud()
    const help = await instance.run(["--help"])
    expect([help.code, help.stdout.startsWith("Usage: tiny-cloud"), help.stderr]).toEqual([0, true, ""])
    // the entry's part once, as a process; each other command line's route in this process (its answer is the route's alone)
    const none = await instance.run([])
    expect([none.code, none.stdout, none.stderr.startsWith("Usage: tiny-cloud")]).toEqual([1, "", true])
    for (const args of [["--frobnicate"], ["reboot"], ["--bootstrap", "maybe"], ["main", "extra"]]) {
      const r = await instance.runHere(args)
      expect([r.code, r.stdout, r.stderr.startsWith("Usage: tiny-cloud")]).toEqual([1, "", true])
    }
  })

  itSystem("output that cannot be written is one line and exit 1, whichever way the command answers; a command that prints nothing does not fail", { files: ["/dev/full"] }, async () => {
    const instance = await noCloud()
    for (const args of [["--help"], ["--bootstrap", "status"], ["config"]]) {
      const r = await spawnAsync(process.execPath, [PROGRAM, ...args], { env: instance.env, stdio: ["ignore", openSync("/dev/full", "w"), "pipe"] })
      expect([args, r.status, r.stderr]).toEqual([args, 1, "tiny-cloud: cannot write to standard output: no space left on device\n"])
    }
    // a command that prints nothing has nothing to fail on
    const quiet = await spawnAsync(process.execPath, [PROGRAM, "--bootstrap", "complete"], { env: instance.env, stdio: ["ignore", openSync("/dev/full", "w"), "pipe"] })
    expect([quiet.status, quiet.stderr]).toEqual([0, "bootstrap marked complete\n"])
  })

  itSystem("a phase whose stdout cannot take the user-data script's output (a full console, a reader gone) goes on to its end: the script runs once, its status is written, the bootstrap completes", { files: ["/dev/full"] }, async () => {
    const script = "#!/bin/sh\necho first\nsleep 0.2\necho second\n"
    for (const stdout of ["full", "closed pipe"] as const) {
      const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h1", userData: new TextEncoder().encode(script) } })
      for (const phase of ["boot", "early", "main"]) expect((await instance.run([phase])).code).toBe(0)
      const final = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, [PROGRAM, "final"], { env: instance.env, stdio: ["ignore", stdout === "full" ? openSync("/dev/full", "w") : "pipe", "pipe"] })
        // the pipe's only reader closes before the script writes its first line
        child.stdout?.destroy()
        let stderr = ""
        child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c))
        child.on("close", (code) => done({ code, stderr }))
      })
      const told = final.stderr.split("\n").filter((l) => l.includes("standard output"))
      // a full disk is a failure told in one line; a reader that is gone ends the output, as for imds
      expect([stdout, final.code, told]).toEqual(stdout === "full" ? [stdout, 1, ["tiny-cloud: cannot write to standard output: no space left on device"]] : [stdout, 0, []])
      expect([instance.read("/var/log/user-data.log"), instance.read("/var/log/user-data.exit"), instance.read("/var/lib/cloud/.bootstrap-complete")]).toEqual(["first\nsecond\n", "0\n", ""])
    }
  })

  it("every line reaches a slow reader of stderr before the process exits (10 000 warnings, 700 KB: more than a pipe holds)", async () => {
    const instance = await noCloud()
    instance.write("/etc/tiny-cloud.conf", Array.from({ length: 10_000 }, (_, i) => `UNKNOWN_KEY_${i}=1\n`).join(""))
    const child = spawn(process.execPath, [PROGRAM, "config"], { env: instance.env, stdio: ["ignore", "ignore", "pipe"] })
    child.stderr.pause()
    // the reader comes late: after the process ended (when it does not wait for its stderr) or a while later
    const exited = new Promise((done) => child.on("exit", done))
    await Promise.race([exited, new Promise((done) => setTimeout(done, 2000))])
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c))
    child.stderr.resume()
    await new Promise((done) => child.on("close", done))
    const lines = stderr.split("\n")
    expect([lines.length, lines[9_999]]).toEqual([10_001, "warning: /etc/tiny-cloud.conf line 10000: unknown key UNKNOWN_KEY_9999"])
  })

  it("a reader of stderr that is gone (EPIPE) stops nothing: the phase does its work and exits with its own status, as --bootstrap does", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode("#!/bin/sh\necho hi\n") } })
    const run = (args: ReadonlyArray<string>) =>
      new Promise((done) => {
        const child = spawn(process.execPath, [PROGRAM, ...args], { env: instance.env, stdio: ["ignore", "ignore", "pipe"] })
        // the pipe's only reader closes before the process writes its first line
        child.stderr.destroy()
        child.on("close", done)
      })
    expect(await run(["early"])).toBe(0)
    expect(instance.read("/var/lib/cloud/user-data")).toBe("#!/bin/sh\necho hi\n")
    expect(await run(["--bootstrap", "complete"])).toBe(0)
    expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
  })

  it("directories it makes are never writable by others, whatever the umask: 0755 under umask 0 (mdev and some supervisors give it), so the user-data's are not", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode("#cloud-config\nwrite_files:\n  - {path: /srv/app/x.conf, content: x}\n") } })
    rmSync(join(instance.root, "var/lib/cloud"), { recursive: true })
    for (const phase of ["early", "main"]) {
      const code = await new Promise((done) =>
        spawn("/bin/sh", ["-c", 'umask 0 && exec "$@"', "sh", process.execPath, PROGRAM, phase], { env: instance.env, stdio: "ignore" }).on("close", done)
      )
      expect(code).toBe(0)
    }
    expect(instance.read("/srv/app/x.conf")).toBe("x")
    expect(["/var/lib/cloud", "/srv", "/srv/app"].map((d) => [d, instance.mode(d)])).toEqual(["/var/lib/cloud", "/srv", "/srv/app"].map((d) => [d, 0o755]))
  })

  it("directories it makes are 0755 under umask 077 too (a phase run from a root shell with it): one made 0700 on the way to ~/.ssh would keep its user out (sshd reads authorized_keys as the user)", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { userData: new TextEncoder().encode("#cloud-config\nwrite_files:\n  - {path: /srv/app/x.conf, content: x}\n") } })
    rmSync(join(instance.root, "var/lib/cloud"), { recursive: true })
    for (const phase of ["early", "main"]) {
      const code = await new Promise((done) =>
        spawn("/bin/sh", ["-c", 'umask 077 && exec "$@"', "sh", process.execPath, PROGRAM, phase], { env: instance.env, stdio: "ignore" }).on("close", done)
      )
      expect(code).toBe(0)
    }
    expect(instance.read("/srv/app/x.conf")).toBe("x")
    expect(["/var/lib/cloud", "/srv", "/srv/app"].map((d) => [d, instance.mode(d)])).toEqual(["/var/lib/cloud", "/srv", "/srv/app"].map((d) => [d, 0o755]))
  })

  it("imds with an invalid value in tiny-cloud.conf: one line naming the key, exit 1, and nothing asked of the metadata service (the program as installed, not only its in-process layers)", async () => {
    const instance = await makeInstance({ cloud: "aws", instance: { hostname: "h" }, conf: "CLOUD=aws\nIMDS_TIMEOUT=abc\n" })
    const r = await instance.imds(["@hostname"])
    expect(r).toEqual({ code: 1, stdout: "", stderr: "imds: IMDS_TIMEOUT: invalid value 'abc': expected a positive number of seconds\n" })
    expect(instance.sim!.requests).toEqual([])
  })

  // test/phases/operator-commands has what these commands do; the in-process harness answers their routes itself, so only a process shows the entry's own part
  it("the entry answers --bootstrap status under the process's ROOT, and gives --enable a tiny-cloud.conf with an invalid value leniently, as its route says", async () => {
    const instance = await makeInstance({ noSimulator: true, conf: "CLOUD=aws\nIMDS_TIMEOUT=abc\n" })
    instance.write("/var/lib/cloud/.bootstrap-complete", "")
    expect(await instance.run(["--bootstrap", "status"])).toEqual({ code: 0, stdout: "complete\n", stderr: "" })
    const enabled = await instance.run(["--enable"])
    expect([enabled.code, enabled.stdout, enabled.stderr.split("\n")]).toEqual([
      0,
      "",
      [
        "- tiny-cloud* services removed from all runlevels",
        "+ tiny-cloud-boot service added to boot runlevel",
        "+ tiny-cloud-early service added to default runlevel",
        "+ tiny-cloud-main service added to default runlevel",
        "+ tiny-cloud-final service added to default runlevel",
        ""
      ]
    ])
  })

  it("--version names the program (its version is the bundle's)", async () => {
    const instance = await noCloud()
    expect((await instance.run(["--version"])).stdout).toMatch(/^tiny-cloud \d+\.\d+\.\d+\n$/)
    // a word after it is a command line not understood, as after --enable: usage on stderr, exit 1 (it printed the version, exit 0)
    const usage = (await instance.run(["-h"])).stdout
    for (const args of [["--version", "boot"], ["--version", "--version"]]) expect(await instance.run(args)).toEqual({ code: 1, stdout: "", stderr: usage })
  })
})

describe.concurrent("tiny-cloud schema FILE", () => {
  it("reads user-data from a pipe (`curl ... | tiny-cloud schema /dev/stdin`) as from a file; a directory is still refused", async () => {
    const instance = await noCloud()
    const env = { PATH: instance.fake.path, ROOT: instance.root, TINY_CLOUD_CODE_CACHE: "off" }
    const piped = await spawnAsync(process.execPath, [PROGRAM, "schema", "/dev/stdin"], { env, input: "#alpine-config\npackages: 3\n" })
    expect([piped.status, piped.stdout, piped.stderr]).toEqual([1, "/dev/stdin: line 2: packages: expected a list, got a number; skipped\n", ""])
    // a shell's pipe, a FIFO
    const good = await spawnAsync("/bin/sh", ["-c", `printf '#cloud-config\\npackages: [vim]\\n' | "$0" "$1" schema /dev/stdin`, process.execPath, PROGRAM], { env })
    expect([good.status, good.stdout, good.stderr]).toEqual([0, "/dev/stdin: valid\n", ""])
    // a named FIFO as stdin, whose writer is gone by the time it is read (opened again by its name, it would wait for another)
    const fifo = join(instance.root, "tmp/fifo")
    const named = await spawnAsync("/bin/sh", ["-c", `mkfifo "$2" && { printf '#cloud-config\\n' > "$2" & } && exec "$0" "$1" schema /dev/stdin < "$2"`, process.execPath, PROGRAM, fifo], { env })
    expect([named.status, named.stdout, named.stderr]).toEqual([0, "/dev/stdin: valid\n", ""])
    expect(await instance.run(["schema", `${instance.root}/tmp`])).toEqual({ code: 1, stdout: "", stderr: `tiny-cloud schema: read ${instance.root}/tmp: not a regular file; refused\n` })
  })

  // a parent that makes its pipe's end non-blocking (python's os.set_blocking; node's spawn makes a child's stdin blocking again)
  describeSystem("a non-blocking pipe", { tools: { python3: "python3" } }, () => {
    it("reads a pipe given to it non-blocking when the data comes, not failing with EAGAIN while it is empty", async () => {
      const instance = await noCloud()
      const env = { PATH: instance.fake.path, ROOT: instance.root, TINY_CLOUD_CODE_CACHE: "off" }
      // the data is written once the program waits for it (descriptor 0 among those an epoll descriptor of it watches) or has ended:
      // read while the pipe was empty, it was EAGAIN
      const parent = `
import os, re, subprocess, sys, time
r, w = os.pipe()
os.set_blocking(r, False)
child = subprocess.Popen([sys.argv[1], sys.argv[2], "schema", "/dev/stdin"], stdin=r)
os.close(r)
def waiting():
    try:
        for fd in os.listdir("/proc/%d/fdinfo" % child.pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (child.pid, fd)) as f:
                    if re.search(r"^tfd:\\s+0\\s", f.read(), re.M):
                        return True
            except OSError:
                pass
    except OSError:
        pass
    return False
while child.poll() is None and not waiting():
    time.sleep(0.02)
try:
    os.write(w, b"#cloud-config\\npackages: [vim]\\n")
except BrokenPipeError:
    pass
os.close(w)
sys.exit(child.wait())
`
      const run = await spawnAsync("python3", ["-c", parent, process.execPath, PROGRAM], { env })
      expect([run.status, run.stdout, run.stderr]).toEqual([0, "/dev/stdin: valid\n", ""])
    })
  })
})
