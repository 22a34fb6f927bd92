// `npm run bench`: start-up and first-boot timings of the program as a package
// installs it (`make install` into a temporary image, its code caches
// prepared), side by side with `node -e 0`. Medians of repeated runs; the
// figures go in the README's performance section, never in tests.
//
//   BENCH_RUNS=N    runs per start-up figure (default 20)
//   BENCH_BOOTS=N   first boots per cloud and latency (default 5)
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { installImage, loadHelpers, median, ms, REPO, serviceStart } from "./bench-parts.mjs"

const RUNS = Number(process.env.BENCH_RUNS ?? 20)
const BOOTS = Number(process.env.BENCH_BOOTS ?? 5)
const work = mkdtempSync(join(tmpdir(), "tiny-cloud-bench-"))
const NODE_DIR = dirname(process.execPath)
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined

const elapsed = (start) => Number(process.hrtime.bigint() - start) / 1e6

// the program as the package installs it, with the caches its install prepares
const image = installImage(work)
const LIB = join(image, "usr/lib/tiny-cloud")
const BIN = join(image, "usr/sbin")
const PROGRAM = join(LIB, "tiny-cloud.cjs")

// the simulator and the pretend system, from the sources
const { startSimulator, makeFakeSystem, demoInstance } = await loadHelpers(work)

/** a fresh, empty directory standing for a boot's /run/tiny-cloud */
let runDirs = 0
const emptyRun = () => {
  const dir = join(work, `run-${runDirs++}`)
  mkdirSync(dir, { mode: 0o700 })
  return dir
}

/** one run of a command, its wall time (asynchronous: the bench's own metadata server must answer meanwhile) */
const timed = (argv, env) =>
  new Promise((done) => {
    const start = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), { env, stdio: "ignore" })
    child.on("close", (code) => done({ ms: elapsed(start), code }))
  })

/** median wall time of a command, a new process and an empty /run each run */
const startUp = async (argv, env) => {
  const times = []
  for (let i = 0; i < RUNS; i++) times.push((await timed(argv, { ...env, TINY_CLOUD_CODE_CACHE: emptyRun() })).ms)
  return median(times)
}

/** peak resident set size of a command (GNU time), in MiB */
const peakRss = (argv, env) =>
  new Promise((done) => {
    if (TIME === undefined) return done(undefined)
    const child = spawn(TIME, ["-f", "%M", ...argv], { env: { ...env, TINY_CLOUD_CODE_CACHE: emptyRun() }, stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    child.stderr.on("data", (c) => (err += c))
    child.on("close", () => {
      const kb = Number(err.trim().split("\n").pop())
      done(Number.isFinite(kb) ? kb / 1024 : undefined)
    })
  })

// --- start-up -------------------------------------------------------------
const root = join(work, "root")
mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
mkdirSync(join(root, "etc/network/interfaces.d"), { recursive: true })
for (const stanza of ["lo", "DEFAULT"]) writeFileSync(join(root, "etc/network/interfaces.d", stanza), readFileSync(join(REPO, "etc/network/interfaces.d", stanza)))
for (const nic of ["lo", "eth0", "eth1"]) mkdirSync(join(root, "sys/class/net", nic), { recursive: true })
const server = createServer((req, res) => {
  if (req.method === "PUT") return res.end("token")
  if (req.url === "/latest/meta-data/hostname") return res.end("bench.example.internal")
  res.statusCode = 404
  res.end()
})
await new Promise((r) => server.listen(0, "127.0.0.1", r))
const env = { PATH: `${NODE_DIR}:${process.env.PATH}`, ROOT: root, CLOUD: "aws", IMDS_ENDPOINT: `127.0.0.1:${server.address().port}` }
const node = [process.execPath]
const cases = [
  ["node -e 0 (the floor)", [...node, "-e", "0"]],
  ["imds @hostname", [join(image, "usr/bin/imds"), "@hostname"]],
  ["tiny-cloud --bootstrap status", [join(BIN, "tiny-cloud"), "--bootstrap", "status"]],
  ["tiny-cloud status", [join(BIN, "tiny-cloud"), "status"]],
  ["vnic-eth-hotplug (add eth1)", [join(image, "lib/mdev/vnic-eth-hotplug")], { MDEV: "eth1", ACTION: "add" }]
]
const lines = []
const out = (line = "") => {
  lines.push(line)
  console.log(line)
}
out(`tiny-cloud bench, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ${RUNS} runs per start-up figure, ${BOOTS} boots per first-boot figure`)
out(`bundle ${(statSync(PROGRAM).size / 1024).toFixed(0)} KiB; prepared code caches ${readdirSync(join(LIB, "code-cache")).map((f) => `${f.replace(/^code-cache-[0-9a-f]+-/, "")} ${(statSync(join(LIB, "code-cache", f)).size / 1024).toFixed(0)} KiB`).join(", ")}`)
out()
out("start-up (a boot's first run: empty /run/tiny-cloud, the install's caches)   median    × floor   peak RSS")
let floor = 0
let floorRss = 0
for (const [name, argv, extra] of cases) {
  const e = { ...env, ...extra }
  const t = await startUp(argv, e)
  const rss = await peakRss(argv, e)
  if (floor === 0) {
    floor = t
    floorRss = rss ?? 0
  }
  out(`  ${name.padEnd(72)} ${ms(t).padStart(7)}  ${(t / floor).toFixed(2).padStart(6)}×  ${rss === undefined ? "     -" : `${rss.toFixed(0).padStart(3)} MiB (${(rss / floorRss).toFixed(2)}×)`}`)
}
server.close()

// --- first boots ------------------------------------------------------------
/** a service's start() as OpenRC runs it */
const service = (phase, env) => timed(["sh", "-c", serviceStart(image, phase)], env)

const vmHwm = (pid) => {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1])
    return Number.isFinite(kb) ? kb / 1024 : undefined
  } catch {
    return undefined
  }
}

const firstBoot = async (cloud, latencyMs) => {
  const dir = mkdtempSync(join(work, `${cloud}-`))
  const fake = makeFakeSystem(dir)
  const sim = await startSimulator({ cloud, instance: demoInstance(new TextEncoder().encode("#!/bin/sh\necho hello\n")), root: fake.root, faults: { latencyMs } })
  for (const [path, content] of Object.entries(sim.instanceFiles)) writeFileSync(join(fake.root, path), content)
  const bootEnv = {
    // the pretend system commands before the real ones (node is among those)
    PATH: `${BIN}:${fake.path}`,
    ROOT: fake.root,
    FAKE_COMMAND_LOG: fake.commandLog,
    CLOUD: cloud,
    TINY_CLOUD_LINK_WAIT_MAX: "1",
    TINY_CLOUD_LIB: LIB,
    TINY_CLOUD_CODE_CACHE: emptyRun(),
    ...(sim.endpoint ? { IMDS_ENDPOINT: sim.endpoint } : {}),
    ...sim.settings
  }
  const phases = {}
  let residentRss
  let readyRequests = 0
  for (const phase of ["boot", "early", "main", "final"]) {
    const r = await service(phase, bootEnv)
    if (r.code !== 0) throw new Error(`${cloud}: the ${phase} service failed (exit ${r.code})`)
    phases[phase] = r.ms
    if (phase === "main") {
      readyRequests = sim.requests.length
      const pid = Number(readFileSync(join(fake.root, "run/tiny-cloud/server.pid"), "utf8"))
      residentRss = vmHwm(pid)
    }
  }
  const requests = sim.requests.map((r) => `${r.method} ${r.path}`)
  await sim.close()
  rmSync(dir, { recursive: true, force: true })
  return { phases, residentRss, readyRequests, requests: requests.length, repeated: requests.length - new Set(requests).size }
}

out()
out("first boot as OpenRC runs it (the four services' start(), the resident process, empty /run)")
out(`  shell edition, by proxy (this machine): 0 ms: node -e 0 × 2.3 = ${ms(floor * 2.3)}; 20 ms: × 5.9 = ${ms(floor * 5.9)}`)
for (const cloud of ["aws", "nocloud"]) {
  for (const latency of [0, 20]) {
    const boots = []
    for (let i = 0; i < BOOTS; i++) boots.push(await firstBoot(cloud, latency))
    const phase = (p) => median(boots.map((b) => b.phases[p]))
    const ready = median(boots.map((b) => b.phases.boot + b.phases.early + b.phases.main))
    const proxy = floor * (latency === 0 ? 2.3 : 5.9)
    const rss = boots.map((b) => b.residentRss).filter((x) => x !== undefined)
    out(
      `  ${cloud.padEnd(8)} ${String(latency).padStart(2)} ms: boot ${ms(phase("boot"))}, early ${ms(phase("early"))}, main ${ms(phase("main"))}, final ${ms(phase("final"))}; ` +
        `ssh-ready ${ms(ready)} (${(ready / proxy).toFixed(2)}× the proxy); requests ${boots[0].readyRequests} to ssh-ready, ${boots[0].requests} in all, ${boots[0].repeated} repeated` +
        (rss.length > 0 ? `; resident peak RSS ${median(rss).toFixed(0)} MiB` : "")
    )
  }
}
rmSync(work, { recursive: true, force: true })
