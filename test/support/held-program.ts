import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PROGRAM } from "./harness.js"

// a preload that keeps the source the loader gives vm.Script
const CAPTURE = `const vm = require("node:vm")
const Script = vm.Script
vm.Script = class extends Script {
  constructor(code, options) {
    require("node:fs").writeFileSync(process.env.CAPTURE, code)
    super(code, options)
  }
}
`
const WRAPPER = ["(function (exports, require, module, __filename, __dirname) {", "\n})"] as const

/** the whole program as the built file's loader reads it back and compiles it (a run of `--version`), without the loader's wrapper */
export const heldProgram = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-held-"))
  try {
    mkdirSync(join(dir, "root/var/lib/cloud"), { recursive: true })
    writeFileSync(join(dir, "capture.cjs"), CAPTURE)
    const capture = join(dir, "program.js")
    const run = spawnSync(process.execPath, ["-r", join(dir, "capture.cjs"), PROGRAM, "--version"], {
      env: { PATH: process.env.PATH!, ROOT: join(dir, "root"), TINY_CLOUD_CODE_CACHE: "off", CAPTURE: capture },
      encoding: "utf8"
    })
    if (run.status !== 0 || run.stderr !== "") throw new Error(`${PROGRAM} --version: exit ${run.status}: ${run.stderr}`)
    const code = readFileSync(capture, "latin1")
    if (!code.startsWith(WRAPPER[0]) || !code.endsWith(WRAPPER[1])) throw new Error(`${PROGRAM}: the loader compiled another wrapper: ${code.slice(0, 80)}`)
    return code.slice(WRAPPER[0].length, -WRAPPER[1].length)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
