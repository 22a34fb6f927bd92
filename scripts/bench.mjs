// Start-up timings of the bundled program (median of repeated runs).
import { execFile } from "node:child_process"
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const program = resolve("dist/tiny-cloud.cjs")
const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-bench-"))
const root = join(dir, "root")
mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
symlinkSync(program, join(dir, "imds"))
symlinkSync(program, join(dir, "vnic-eth-hotplug"))

// what a hotplug event finds: the shipped stanzas and two NICs (networking not started: no ifup)
mkdirSync(join(root, "etc/network/interfaces.d"), { recursive: true })
for (const stanza of ["lo", "DEFAULT"]) copyFileSync(resolve("etc/network/interfaces.d", stanza), join(root, "etc/network/interfaces.d", stanza))
for (const nic of ["lo", "eth0", "eth1"]) mkdirSync(join(root, "sys/class/net", nic), { recursive: true })

// a minimal IMDSv2 for `imds @hostname`
const server = createServer((req, res) => {
  if (req.method === "PUT") return res.end("token")
  if (req.url === "/latest/meta-data/hostname") return res.end("bench.example.internal")
  res.statusCode = 404
  res.end()
})
await new Promise((r) => server.listen(0, "127.0.0.1", r))
const endpoint = `127.0.0.1:${server.address().port}`

const cache = join(dir, "cache")
const env = { ...process.env, ROOT: root, CLOUD: "aws", IMDS_ENDPOINT: endpoint }
const cases = [
  ["tiny-cloud --help", [program, "--help"]],
  ["tiny-cloud --bootstrap status", [program, "--bootstrap", "status"]],
  ["imds @hostname", [join(dir, "imds"), "@hostname"]],
  ["tiny-cloud status", [program, "status"]],
  ["vnic-eth-hotplug (MDEV=eth1 ACTION=add)", [join(dir, "vnic-eth-hotplug")], undefined, { MDEV: "eth1", ACTION: "add" }],
  ["tiny-cloud main (already bootstrapped)", [program, "main"], () => writeFileSync(join(root, "var/lib/cloud/.bootstrap-complete"), "")]
]

const runs = Number(process.env.BENCH_RUNS ?? 20)
const median = async (args, codeCache, extraEnv = {}) => {
  const times = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    await new Promise((done) => execFile(process.execPath, args, { env: { ...env, ...extraEnv, TINY_CLOUD_CODE_CACHE: codeCache } }, () => done()))
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)].toFixed(1)
}

const baseline = await median(["-e", "0"], "off")
console.log(`${"node -e 0 (Node's own start)".padEnd(42)} median ${baseline} ms`)
for (const [name, args, prepare, extraEnv] of cases) {
  prepare?.()
  const cold = await median(args, "off", extraEnv)
  const warm = await median(args, cache, extraEnv)
  console.log(`${name.padEnd(42)} median ${warm} ms with the code cache, ${cold} ms without`)
}
server.close()
rmSync(dir, { recursive: true, force: true })
