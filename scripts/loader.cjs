// Start-up loader of the bundled program: compiles PROGRAM with V8's code
// cache, kept per boot in /run/tiny-cloud (root-only; only when /run is a
// tmpfs mount point, so an image builder's chroot gets none;
// TINY_CLOUD_CODE_CACHE names another directory, or `off`), so the first-boot
// phases and imds calls after the first skip compiling ~1 MB. It is the
// program's own cache, not the instance's data, so it is not under ROOT.
"use strict"
const fs = require("node:fs")
const vm = require("node:vm")

const program = PROGRAM_SOURCE
CODE_CACHE_DIR_FUNCTION
const dir = codeCacheDir(process.env.TINY_CLOUD_CODE_CACHE, () => fs.readFileSync("/proc/self/mountinfo", "latin1"))
// one cache per kind of run: each holds the functions its own path compiled
const args = process.argv.slice(2)
const kind = /^imds/.test(require("node:path").basename(process.argv[1] || "")) || args[0] === "imds" ? "imds"
  : ["boot", "early", "main", "final"].includes(args[0]) ? "phase"
  : ["--bootstrap", "--enable", "--disable", "schema"].includes(args[0]) ? args[0].replace(/^-+/, "") : "other"
const file = `${dir}/code-cache-PROGRAM_HASH-${kind}`
const uid = typeof process.getuid === "function" ? process.getuid() : -1

// a cache is code: use one only from a directory and file of our own that nobody else may write
const trusted = (path) => {
  try {
    const s = fs.lstatSync(path)
    return s.uid === uid && (s.mode & 0o022) === 0 && (s.isDirectory() || s.isFile())
  } catch {
    return false
  }
}

let cachedData
const enabled = dir !== undefined
if (enabled && trusted(dir) && trusted(file)) {
  try {
    cachedData = fs.readFileSync(file)
  } catch {}
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${program}\n})`, {
  filename: __filename,
  cachedData
})
if (enabled && (cachedData === undefined || script.cachedDataRejected)) {
  process.once("exit", () => {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      if (!trusted(dir)) return
      const temp = `${file}.${process.pid}`
      fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600 })
      fs.renameSync(temp, file)
    } catch {}
  })
}
script.runInThisContext()(module.exports, require, module, __filename, __dirname)
