// `npm run bench:shell`: first boots of this edition beside the shell edition's,
// paired and alternating, on the aws simulator at the real address
// (169.254.169.254:80 on the loopback of a network namespace made for the run,
// so neither edition is told another address), with the same pretend system
// commands (src/sim/fake-system.ts) for both. Issue 13's ssh-ready targets are
// ratios to the shell edition; this measures them. Needs root (`ip netns`).
//
//   TINY_CLOUD_SHELL=DIR  the shell edition's tree: DIR/sbin/tiny-cloud, DIR/lib/tiny-cloud, DIR/bin/imds
//   BUSYBOX=PATH          the busybox whose applets it runs with (default: busybox on PATH)
//   BENCH_BOOTS=N         first boots per edition and latency (default 11)
//
// `getent` is a stand-in that reads ROOT's passwd and group (the shell
// edition's would read this system's /etc); where the busybox is Debian's,
// whose `wget` has no `--timeout` (Alpine's has), a wrapper leaves it out.
// The shell edition's phases are given aws's 3.x action lists, in case its
// tree is older than the lists (INIT_ACTIONS_*).
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { installImage, loadHelpers, median, ms, serviceStart } from "./bench-parts.mjs"

const SHELL = process.env.TINY_CLOUD_SHELL
const BUSYBOX = process.env.BUSYBOX ?? spawnSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).stdout.trim()
const BOOTS = Number(process.env.BENCH_BOOTS ?? 11)
const ADDRESS = "169.254.169.254"

const fail = (message) => {
  console.error(`bench:shell: ${message}`)
  process.exit(1)
}
if (SHELL === undefined || !existsSync(join(SHELL, "sbin/tiny-cloud"))) fail("TINY_CLOUD_SHELL must name the shell edition's tree (DIR/sbin/tiny-cloud)")
if (BUSYBOX === "" || !existsSync(BUSYBOX)) fail("no busybox (set BUSYBOX)")
if (process.getuid?.() !== 0) fail("needs root, for a network namespace holding the metadata service's address")

// the run itself happens inside a network namespace of its own
if (process.env.BENCH_SHELL_NETNS === undefined) {
  const netns = `tcbench-${process.pid}`
  execFileSync("ip", ["netns", "add", netns])
  try {
    execFileSync("ip", ["-n", netns, "link", "set", "lo", "up"])
    execFileSync("ip", ["-n", netns, "addr", "add", `${ADDRESS}/32`, "dev", "lo"])
    const run = spawnSync("ip", ["netns", "exec", netns, process.execPath, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, BENCH_SHELL_NETNS: netns } })
    process.exitCode = run.status ?? 1
  } finally {
    execFileSync("ip", ["netns", "delete", netns])
  }
} else {
  await measure()
}

async function measure() {
  const work = mkdtempSync(join(tmpdir(), "tiny-cloud-bench-shell-"))
  try {
    const image = installImage(work)
    // the shell edition asks for its token with `printf ... | nc`, which half-closes before the answer: a real
    // metadata service answers it, so must the simulator (Node's server drops a half-closed request by default)
    const createServer = http.createServer
    http.createServer = (...args) => Object.assign(createServer(...args), { httpAllowHalfOpen: true })
    const { startSimulator, makeFakeSystem, demoInstance } = await loadHelpers(work)

    const applets = join(work, "applets")
    mkdirSync(applets)
    execFileSync(BUSYBOX, ["--install", "-s", applets])
    const hasTimeout = spawnSync(BUSYBOX, ["wget", "--help"], { encoding: "utf8" }).stderr.includes("--timeout")
    const script = (name, text) => {
      writeFileSync(join(applets, name), `#!/bin/sh\n${text}\n`)
      chmodSync(join(applets, name), 0o755)
    }
    rmSync(join(applets, "getent"), { force: true })
    script("getent", `grep "^$2:" "$ROOT/etc/$1"`)
    if (!hasTimeout) {
      rmSync(join(applets, "wget"), { force: true })
      script("wget", `n=$#\nwhile [ $n -gt 0 ]; do a=$1; shift; n=$((n-1)); case "$a" in --timeout|-T) shift; n=$((n-1)); continue;; esac; set -- "$@" "$a"; done\nexec ${BUSYBOX} wget "$@"`)
    }
    script("imds", `exec ${BUSYBOX} sh ${join(SHELL, "bin/imds")} "$@"`)

    const timed = (argv, env) =>
      new Promise((done) => {
        const start = process.hrtime.bigint()
        const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] })
        let stderr = ""
        child.stderr.on("data", (c) => (stderr += c))
        child.on("close", (code) => done({ code, stderr, ms: Number(process.hrtime.bigint() - start) / 1e6 }))
      })

    let runs = 0
    const firstBoot = async (edition, latencyMs) => {
      const dir = mkdtempSync(join(work, `${edition}-`))
      const fake = makeFakeSystem(dir)
      const sim = await startSimulator({ cloud: "aws", instance: demoInstance(new TextEncoder().encode("#!/bin/sh\necho hello\n")), root: fake.root, host: ADDRESS, port: 80, faults: { latencyMs } })
      const common = { ROOT: fake.root, FAKE_COMMAND_LOG: fake.commandLog, CLOUD: "aws", TINY_CLOUD_LINK_WAIT_MAX: "1" }
      const phases = {}
      for (const phase of ["boot", "early", "main", "final"]) {
        const r =
          edition === "this"
            ? await timed(["sh", "-c", serviceStart(image, phase)], {
                ...common,
                PATH: `${join(image, "usr/sbin")}:${fake.path}`,
                TINY_CLOUD_LIB: join(image, "usr/lib/tiny-cloud"),
                TINY_CLOUD_CODE_CACHE: mkdtempSync(join(work, `run-${runs++}-`))
              })
            : await timed([BUSYBOX, "sh", join(SHELL, "sbin/tiny-cloud"), phase], {
                ...common,
                PATH: `${fake.bin}:${applets}`,
                LIBDIR: join(SHELL, "lib"),
                // the shell edition writes doas's rule under TARGET
                TARGET: fake.root,
                INIT_ACTIONS_BOOT: "expand_root install_hotplugs set_default_interfaces enable_sshd",
                INIT_ACTIONS_EARLY: "save_userdata",
                INIT_ACTIONS_MAIN: "create_default_user set_hostname set_ssh_keys",
                INIT_ACTIONS_FINAL: ""
              })
        if (r.code !== 0) throw new Error(`${edition} edition: ${phase} exited ${r.code}: ${r.stderr}`)
        phases[phase] = r.ms
      }
      const keys = readFileSync(join(fake.root, "home/alpine/.ssh/authorized_keys"), "utf8").trim().split("\n").length
      const hostname = readFileSync(join(fake.root, "etc/hostname"), "utf8").trim()
      await sim.close()
      rmSync(dir, { recursive: true, force: true })
      if (keys < 1 || hostname === "") throw new Error(`${edition} edition: no key or no hostname after the first boot`)
      return { ...phases, ready: phases.boot + phases.early + phases.main, requests: sim.requests.length }
    }

    console.log(`tiny-cloud bench:shell, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ${BOOTS} first boots per edition and latency, aws at ${ADDRESS}`)
    for (const latency of [0, 20]) {
      const boots = { shell: [], this: [] }
      for (let i = 0; i < BOOTS; i++) for (const edition of ["shell", "this"]) boots[edition].push(await firstBoot(edition, latency))
      for (const [edition, runs] of Object.entries(boots)) {
        const phase = (p) => ms(median(runs.map((b) => b[p])))
        console.log(`  ${edition.padEnd(5)} ${String(latency).padStart(2)} ms: boot ${phase("boot")}, early ${phase("early")}, main ${phase("main")}, final ${phase("final")}; ssh-ready ${phase("ready")}; ${runs[0].requests} requests`)
      }
      console.log(`  this edition to ssh-ready at ${latency} ms: ${(median(boots.this.map((b) => b.ready)) / median(boots.shell.map((b) => b.ready))).toFixed(2)}× the shell edition's`)
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
