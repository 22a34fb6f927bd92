/**
 * A disk that fails under the built program as the kernel fails it: the four
 * phases in a mount namespace of their own, where a small tmpfs (full, or
 * read-only) stands in place of one of the instance's directories.
 */
import { execFile } from "node:child_process"
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { PROGRAM, TEST_CODE_CACHE, useInstances, type TestInstance } from "../support/harness.js"
import { SERVICES, servicesEnv, until } from "../support/openrc.js"
import { describeSystem, which } from "../support/system.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const newInstance = useInstances()

/**
 * The phases run, one process each, with `$ROOT/DIR` a tmpfs of `size` (its files copied in; `ro`: then remounted
 * read-only); what they printed and what the tmpfs held at the end, copied out before the namespace goes
 */
const bootOnTmpfs = async (instance: TestInstance, dir: string, options: { readonly size: string; readonly ro?: boolean }, extraEnv: Record<string, string> = {}) => {
  // the real mount: the instance's PATH has the recording stand-ins first
  const out = join(instance.dir, "out")
  mkdirSync(join(out, "after"), { recursive: true })
  const script = [
    'set -e; m="$ROOT/$1"; mkdir -p "$m"; cp -a "$m" "$2/before"',
    '"$7" -t tmpfs -o "size=$3,mode=755" tmpfs "$m"; cp -a "$2/before/." "$m/"',
    'if [ "$4" = ro ]; then "$7" -o remount,ro "$m"; fi',
    'set +e; for p in boot early main final; do "$5" "$6" $p > "$2/$p.out" 2> "$2/$p.err" < /dev/null; echo $? > "$2/$p.code"; done',
    'cp -a "$m/." "$2/after/"'
  ].join("\n")
  await promisify(execFile)(which("unshare")!, ["-m", "--propagation", "private", "sh", "-c", script, "sh", dir, out, options.size, options.ro ? "ro" : "rw", process.execPath, PROGRAM, which("mount")!], {
    env: { ...instance.env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, ...extraEnv }
  })
  const phase = (p: string) => ({ code: Number(readFileSync(join(out, `${p}.code`), "utf8")), stderr: readFileSync(join(out, `${p}.err`), "utf8") })
  return { boot: phase("boot"), early: phase("early"), main: phase("main"), final: phase("final"), after: readdirSync(join(out, "after")) }
}

describeSystem("a full or read-only filesystem under the built program", { root: true, tools: { unshare: "util-linux", mount: "mount" } }, () => {
  it("user-data larger than a full /var/lib/cloud takes: save_userdata fails in one line, no part of it is kept, the user, keys and hostname are set", async () => {
    const userData = `#!/bin/sh\necho ran\n# ${"x".repeat(200_000)}\n`
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
    const r = await bootOnTmpfs(instance, "var/lib/cloud", { size: "64k" })
    expect([r.boot.code, r.early.code, r.main.code]).toEqual([0, 1, 0])
    expect(r.early.stderr).toContain(`save_userdata: write ${instance.root}/var/lib/cloud/user-data: no space left on device\n`)
    expect(r.after.filter((f) => f.includes("user-data"))).toEqual([])
    expect(r.final.stderr).not.toContain("run_userdata")
    expect(instance.read("/etc/hostname")).toBe("web-1\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
  })

  it("an earlier instance's user-data that early can neither replace nor remove (a read-only /var/lib/cloud) is not run: main and final take it as none, the user, keys and hostname are set", async () => {
    const userData = "#cloud-config\nruncmd:\n  - echo NEW-USERDATA-RAN\n"
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
    instance.write("/var/lib/cloud/user-data", "#!/bin/sh\necho OLD-USERDATA-RAN\n")
    chmodSync(join(instance.root, "var/lib/cloud/user-data"), 0o700)
    const r = await bootOnTmpfs(instance, "var/lib/cloud", { size: "1m", ro: true })
    expect(r.early.code).toBe(1)
    expect(r.early.stderr).toContain(`save_userdata: remove ${instance.root}/var/lib/cloud/user-data: read-only file system\n`)
    expect(r.main.stderr).not.toContain("unknown_userdata")
    expect(r.final.stderr).not.toContain("run_userdata")
    const log = join(instance.root, "var/log/user-data.log")
    expect(existsSync(log) ? readFileSync(log, "utf8") : "").not.toContain("OLD-USERDATA-RAN")
    expect(instance.read("/etc/hostname")).toBe("web-1\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
  })

  it("a read-only /home: set_ssh_keys names the directory and the kernel's reason, not 'not found'", async () => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    const r = await bootOnTmpfs(instance, "home", { size: "1m", ro: true })
    expect(r.main.code).toBe(1)
    expect(r.main.stderr).toContain(`set_ssh_keys: mkdir ${instance.root}/home/alpine: read-only file system\n`)
    expect(instance.read("/etc/hostname")).toBe("web-1\n")
  })

  it("a /var/log that fills with a user program's output: the output is said not kept, and nothing of it is left (the log as it was, no append pending)", async () => {
    const doc = '#alpine-config\nruncmd:\n  - head -c 100000 /dev/zero | tr "\\\\0" a\n  - echo second >> "$ROOT/tmp/ran"\n'
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(doc) } })
    instance.write("/tmp/ran", "")
    instance.write("/var/log/user-data.log", "earlier\n")
    const r = await bootOnTmpfs(instance, "var/log", { size: "64k" })
    expect(r.final.stderr).toContain(`userdata_runcmd: cannot keep its programs' output: append ${instance.root}/var/log/user-data.log: no space left on device\n`)
    // its program too: tr's own output was refused
    expect(r.final.stderr).toContain("userdata_runcmd: runcmd[0] exited with status 1\n")
    expect(instance.read("/tmp/ran")).toBe("second\n")
    expect(r.after.filter((f) => f.includes("user-data"))).toEqual(["user-data.log"])
    expect(readFileSync(join(instance.dir, "out/after/user-data.log"), "utf8")).toBe("earlier\n")
  })

  it.each([
    ["a runcmd", "#alpine-config\nruncmd:\n  - echo said\n  - echo ran >> \"$ROOT/tmp/ran\"\n", "userdata_runcmd: cannot keep its programs' output"],
    ["a user-data script", '#!/bin/sh\necho said\necho ran >> "$ROOT/tmp/ran"\n', "run_userdata: cannot keep its program's output"]
  ])("a read-only /var/log: %s still runs, its output echoed and said not kept in one line, nothing of it left", async (_, doc, line) => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(doc) } })
    instance.write("/tmp/ran", "")
    // a spare a run killed while its programs ran left behind (its process gone)
    instance.write("/run/tiny-cloud/.user-data.log.tmp-4194304-0", "earlier\n")
    const r = await bootOnTmpfs(instance, "var/log", { size: "64k", ro: true })
    expect(r.final.stderr).toContain(`${line}: write ${instance.root}/var/log/user-data.log: read-only file system\n`)
    expect(readFileSync(join(instance.dir, "out/final.out"), "utf8")).toContain("said\n")
    expect(instance.read("/tmp/ran")).toBe("ran\n")
    expect(r.final.stderr).not.toMatch(/userdata_runcmd: failed|run_userdata: failed/)
    expect(r.after).toEqual([])
    expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
  })

  it("a /var/log with no inode left, user-data.log there already: a user-data script's output is kept in it, as it was before any probe (only the exit status, a new file, is said not kept)", async () => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode("#!/bin/sh\necho said\n") } })
    instance.write("/var/log/user-data.log", "earlier\n")
    // two inodes: the directory's and the log's
    const r = await bootOnTmpfs(instance, "var/log", { size: "64k,nr_inodes=2" })
    expect(r.final.stderr).toContain(`run_userdata: cannot keep its program's exit status: write ${instance.root}/var/log/user-data.exit: no space left on device\n`)
    expect(r.final.stderr).not.toContain("cannot keep its program's output")
    expect(r.after).toEqual(["user-data.log"])
    expect(readFileSync(join(instance.dir, "out/after/user-data.log"), "utf8")).toBe("said\n")
    expect(statSync(join(instance.dir, "out/after/user-data.log")).mode & 0o777).toBe(0o600)
  })

  it("a /var/log with no inode left, user-data.log there a hard link to another log (left in an image): that file is neither written nor made 0600, and the log is refused in one line", async () => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode("#!/bin/sh\necho said\n") } })
    instance.write("/var/log/messages", "system log\n")
    chmodSync(join(instance.root, "var/log/messages"), 0o644)
    linkSync(join(instance.root, "var/log/messages"), join(instance.root, "var/log/user-data.log"))
    // none left once the directory and the one file with its two names are there (tmpfs counts a hard link as one)
    const r = await bootOnTmpfs(instance, "var/log", { size: "64k,nr_inodes=3" })
    expect(r.final.stderr).toContain(`${instance.root}/var/log/user-data.log: is a hard link; refused`)
    expect(readFileSync(join(instance.dir, "out/after/messages"), "utf8")).toBe("system log\n")
    expect(statSync(join(instance.dir, "out/after/messages")).mode & 0o777).toBe(0o644)
  })

  it("a read-only /var/log, user-data.log there already: the script's output is echoed from a spare and said not kept, the log as it was", async () => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode("#!/bin/sh\necho said\n") } })
    instance.write("/var/log/user-data.log", "earlier\n")
    const r = await bootOnTmpfs(instance, "var/log", { size: "64k", ro: true })
    expect(r.final.stderr).toContain(`run_userdata: cannot keep its program's output: write ${instance.root}/var/log/user-data.log: read-only file system\n`)
    expect(readFileSync(join(instance.dir, "out/final.out"), "utf8")).toContain("said\n")
    expect(readFileSync(join(instance.dir, "out/after/user-data.log"), "utf8")).toBe("earlier\n")
  })

  it("--bootstrap complete on a state directory that takes no file (read-only), the marker there already: says so and exits 0, the marker as it was", async () => {
    const instance = await newInstance({ cloud: "aws" })
    instance.write("/var/lib/cloud/.bootstrap-complete", "")
    const state = join(instance.root, "var/lib/cloud")
    const script = 'cp -a "$2" "$2.before" && "$1" -t tmpfs -o size=64k tmpfs "$2" && cp -a "$2.before/." "$2/" && "$1" -o remount,ro "$2" && shift 2 && "$@"; echo "exit $?"; ls -A "$ROOT/var/lib/cloud"'
    const r = await promisify(execFile)(which("unshare")!, ["-m", "--propagation", "private", "sh", "-c", script, "sh", which("mount")!, state, process.execPath, PROGRAM, "--bootstrap", "complete"], {
      env: { ...instance.env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
    })
    expect(r.stderr).toBe("bootstrap marked complete\n")
    expect(r.stdout).toBe("exit 0\n.bootstrap-complete\n")
  })

  it("a full /run/tiny-cloud: the resident process says so in one line and does not serve, leaving no server.pid (each phase then runs in a process of its own)", async () => {
    const instance = await newInstance({ cloud: "aws" })
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true })
    // one page, taken: the request FIFO (an inode, no data) is made, the pid file's page is not
    const script = '"$1" -t tmpfs -o size=4k,mode=700 tmpfs "$2" && head -c 4096 /dev/zero > "$2/fill" && shift 2 && "$@"; echo "exit $?"; ls -A "$ROOT/run/tiny-cloud"'
    const r = await promisify(execFile)(which("unshare")!, ["-m", "--propagation", "private", "sh", "-c", script, "sh", which("mount")!, run, process.execPath, PROGRAM, "serve"], {
      env: { ...instance.env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE, TINY_CLOUD_RESIDENT_IDLE: "1" }
    })
    expect(r.stderr).toBe(`tiny-cloud serve: ${run}: cannot write server.pid: no space left on device; not serving\n`)
    expect(r.stdout).toBe("exit 1\nfill\nrequests\n")
    // and to syslog: the boot service sends its stderr to /dev/null (sent as the server ends, not waited for)
    const loggerRuns = () => readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger "))
    await until(() => loggerRuns().length > 0, "the line reaches logger")
    expect(readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => c.stdin)).toEqual([[`${run}: cannot write server.pid: no space left on device; not serving`]])
  })

  it("a read-only /run/tiny-cloud on a NoCloud instance with a cidata volume: the volume is mounted under $ROOT/tmp instead and read, the user, keys and hostname are set", async () => {
    const instance = await newInstance({ cloud: "nocloud", noSimulator: true, env: { CLOUD: "nocloud" } })
    const volume = join(instance.dir, "cidata")
    mkdirSync(volume)
    writeFileSync(join(volume, "meta-data"), `instance-id: i-1\nlocal-hostname: seed-box\npublic-keys:\n  - ${KEY}\n`)
    writeFileSync(join(volume, "user-data"), "#cloud-config\n")
    const r = await bootOnTmpfs(instance, "run/tiny-cloud", { size: "1m", ro: true }, { FAKE_CIDATA: volume })
    expect(r.main.stderr).not.toContain("cannot copy the NoCloud seed")
    expect(r.main.code).toBe(0)
    expect(instance.read("/etc/hostname")).toBe("seed-box\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    // one level down in the private (0700) directory: $ROOT/tmp is all users', and the mounted volume shows its own modes (readable by all)
    expect(instance.commands().filter((l) => l.startsWith("mount "))).toEqual([expect.stringMatching(new RegExp(`^mount -o ro -t vfat LABEL=cidata ${instance.root}/tmp/tiny-cloud-cidata-\\d+-[^/]{6}/medium$`))])
    // the mount point made there is gone again
    expect(readdirSync(join(instance.root, "tmp")).filter((f) => f.startsWith("tiny-cloud-"))).toEqual([])
  })

  // under each sh the services may run under that is here (busybox's `test -w` tells root it may write on a read-only file system)
  const shells = [["dash"], ["busybox", "sh"]].filter(([s]) => which(s!) !== undefined)
  it.each(
    shells.flatMap((shell) => [
      ["full", shell.join(" "), "no space left on device", "cannot write", "env"] as const,
      ["read-only", shell.join(" "), "read-only file system", "cannot make", "reply"] as const,
      ["with no inode left", shell.join(" "), "no space left on device", "cannot make", "reply"] as const
    ])
  )("a /run/tiny-cloud %s once the resident process listens (%s): the services' client says so in one line naming the file, not the shell's words, and runs the phase itself", async (state, shell, reason, what, file) => {
    const userData = "#!/bin/sh\necho ran\n"
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY], userData: new TextEncoder().encode(userData) } })
    const run = join(instance.root, "run/tiny-cloud")
    mkdirSync(run, { recursive: true })
    const out = join(instance.dir, "out")
    mkdirSync(out)
    // the boot service starts the resident process; once it listens, its run directory fills (or is made read-only, once the boot
    // client's reply FIFO, removed while the server still holds it, is let go: the kernel refuses a remount then), and the early service asks it
    const script = [
      'svc() { $SVC_SHELL -c \'ebegin() { :; }; eend() { return "$1"; }; . "$0/tiny-cloud-$1"; start\' "$SERVICES" "$1" < /dev/null; }',
      'opts=size=16k; if [ "$4" = "with no inode left" ]; then opts=nr_inodes=4; fi',
      '"$1" -t tmpfs -o "$opts,mode=700" tmpfs "$2" || exit 1',
      'svc boot > "$3/boot.out" 2>&1',
      'i=0; until { [ -p "$2/requests" ] && [ -s "$2/server.pid" ]; } || [ $i -ge 2000 ]; do sleep 0.02; i=$((i + 1)); done',
      'case $4 in read-only) i=0; until "$1" -o remount,ro "$2" 2> /dev/null || [ $i -ge 2000 ]; do sleep 0.02; i=$((i + 1)); done ;; full) head -c 16384 /dev/zero > "$2/fill" 2> /dev/null ;; *) i=0; while [ $i -lt 10 ] && touch "$2/.fill$i" 2> /dev/null; do i=$((i + 1)); done ;; esac',
      'svc early > /dev/null 2> "$3/early.err"; echo $? > "$3/early.code"',
      'kill "$(cat "$2/server.pid")"'
    ].join("\n")
    await promisify(execFile)(which("unshare")!, ["-m", "--propagation", "private", "sh", "-c", script, "sh", which("mount")!, run, out, state], {
      env: { ...servicesEnv(instance), SERVICES, SVC_SHELL: shell }
    })
    const stderr = readFileSync(join(out, "early.err"), "utf8")
    expect(stderr.split("\n")[0]).toMatch(new RegExp(`^tiny-cloud/early: ${what} ${run}/${file}\\.\\d+: ${reason}; the phase is run here$`))
    // then the phase's own lines, as a process of its own prints them
    expect(stderr.slice(stderr.indexOf("\n") + 1)).toBe("\n   ++ save_userdata: starting\n   ++ save_userdata: done\n")
    expect(readFileSync(join(out, "early.code"), "utf8")).toBe("0\n")
    expect(instance.read("/var/lib/cloud/user-data")).toBe(userData)
  })
})
