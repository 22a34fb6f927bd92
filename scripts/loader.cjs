// Start-up loader of the bundled program: compiles PROGRAM with V8's code
// cache, kept per boot in /run/tiny-cloud (root-only; only when /run is a
// tmpfs mount point, so an image builder's chroot gets none;
// TINY_CLOUD_CODE_CACHE names another directory, or `off`), so the first-boot
// phases and imds calls after the first skip compiling ~1 MB. It is the
// program's own cache, not the instance's data, so it is not under ROOT.
//
// Before a boot has its own, the caches `make install` prepared beside the
// program (code-cache/, read-only) serve a first boot's first runs. V8
// rejects them when Node is no longer the one they were made with; the run
// then compiles and keeps a cache of its own in /run as before.
// TINY_CLOUD_CODE_CACHE_GROW=1 (preparing them) rewrites the cache after
// every run, so that it holds what all the runs of a kind compiled.
//
// `tiny-cloud --bootstrap status` is answered first, by a small program of
// its own (src/entry/quick.ts), here as code, without compiling PROGRAM: it
// compiles with the loader in a fraction of a millisecond, so it keeps no cache.
"use strict"
const fs = require("node:fs")
const vm = require("node:vm")

const quick = { exports: {} }
;(function (exports, require, module, __filename, __dirname) {
QUICK_SOURCE
})(quick.exports, require, quick, __filename, __dirname)
if (quick.exports.answered()) return

// The program's text, held in a comment that V8 skips far faster than it
// parses a string literal of the same text (about 3 ms at every start), and
// read back as the function's source; each "*/" in it is written "*~/" at the
// offsets listed, from which the "~" is dropped again.
const held = function () {/*PROGRAM_TEXT*/}.toString()
const body = held.slice(held.indexOf("/*") + 2, -3)
const breaks = PROGRAM_BREAKS
// a copy edited after install (CRLF line ends, comments stripped) holds another text: said in one line, never compiled
if (body.length !== PROGRAM_HELD_LENGTH || breaks.some((at) => body[at] !== "~")) {
  process.stderr.write(`tiny-cloud: ${__filename}: the program held in this file is not the one installed (edited since?): reinstall it\n`)
  process.exitCode = 1
  return
}
let program = ""
let from = 0
for (const at of breaks) {
  program += body.slice(from, at)
  from = at + 1
}
program += body.slice(from)
CODE_CACHE_DIR_FUNCTION
const dir = codeCacheDir(process.env.TINY_CLOUD_CODE_CACHE, () => fs.readFileSync("/proc/self/mountinfo", "latin1"))
// one cache per kind of run: each holds the functions its own path compiled
const args = process.argv.slice(2)
const name = require("node:path").basename(process.argv[1] || "")
const kind = ["assemble-interfaces", "vnic-eth-hotplug", "nvme-ebs-links", "imds-net-sync"].includes(name) ||
    ["assemble-interfaces", "hotplug", "net-sync"].includes(args[0]) ? "network"
  : /^imds/.test(name) || args[0] === "imds" ? "imds"
  // the resident process runs the phases after boot
  : ["boot", "early", "main", "final", "serve"].includes(args[0]) ? "phase"
  : ["--bootstrap", "--enable", "--disable", "schema"].includes(args[0]) ? args[0].replace(/^-+/, "") : "other"
const base = `code-cache-PROGRAM_HASH-${kind}`
const file = `${dir}/${base}`
const uid = typeof process.getuid === "function" ? process.getuid() : -1

// a cache is code: use one only from a directory and file of our own (or root's) that nobody else may write
const trusted = (path, owners) => {
  try {
    const s = fs.lstatSync(path)
    return owners.includes(s.uid) && (s.mode & 0o022) === 0 && (s.isDirectory() || s.isFile())
  } catch {
    return false
  }
}
const read = (dir, file, owners) => {
  try {
    if (trusted(dir, owners) && trusted(file, owners)) return fs.readFileSync(file)
  } catch {}
}

const enabled = dir !== undefined
const prepared = `${__dirname}/code-cache`
let cachedData = enabled ? read(dir, file, [uid]) : undefined
// a setting that names no directory (`off`, or no absolute path) turns the prepared caches off too
if (cachedData === undefined && !(process.env.TINY_CLOUD_CODE_CACHE && !enabled)) cachedData = read(prepared, `${prepared}/${base}`, [uid, 0])
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${program}\n})`, {
  filename: __filename,
  cachedData
})
if (enabled && (cachedData === undefined || script.cachedDataRejected || process.env.TINY_CLOUD_CODE_CACHE_GROW === "1")) {
  process.once("exit", () => {
    const temp = `${file}.${process.pid}`
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      if (!trusted(dir, [uid])) return
      fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600 })
      fs.renameSync(temp, file)
    } catch {
      // a full /run: what the write took is given back, not left to fill it for the boot's other programs
      try {
        fs.rmSync(temp, { force: true })
      } catch {}
    }
  })
}
script.runInThisContext()(module.exports, require, module, __filename, __dirname)
