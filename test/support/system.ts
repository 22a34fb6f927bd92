/**
 * Tests that need real tools or root. Where a tool is missing or the user is
 * not root they are skipped, with the reason printed (and which Debian
 * package brings the tool); under CI (`TINY_CLOUD_REQUIRE_SYSTEM_TESTS=1`,
 * set by `.ci/run`, which installs the tools) a missing requirement fails.
 */
import { spawnSync } from "node:child_process"
import { accessSync, constants, existsSync } from "node:fs"
import { describe, it, type TestFunction } from "vitest"

export interface Requirements {
  /** program → the Debian package that brings it */
  readonly tools?: Readonly<Record<string, string>>
  /** Python module → the Debian package that brings it (python3 itself is needed too) */
  readonly pythonModules?: Readonly<Record<string, string>>
  readonly root?: boolean
  /** files the machine must have (a device such as /dev/full) */
  readonly files?: ReadonlyArray<string>
}

const PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`

export const which = (tool: string): string | undefined =>
  PATH.split(":")
    .filter((d) => d !== "")
    .map((d) => `${d}/${tool}`)
    .find((p) => {
      try {
        accessSync(p, constants.X_OK)
        return true
      } catch {
        return false
      }
    })

/**
 * A python3 that has the modules: the PATH's, else the system's (a pyenv's
 * python3 first on the PATH lacks what apt-get installed for /usr/bin/python3)
 */
export const pythonHaving = (modules: ReadonlyArray<string>): string | undefined =>
  [...new Set([which("python3"), "/usr/bin/python3"])].find(
    (p) => p !== undefined && spawnSync(p, ["-c", ["pass", ...modules.map((m) => `import ${m}`)].join("; ")]).status === 0
  )

/** why the requirements are not met, or undefined when they are */
export const unmet = (needs: Requirements): string | undefined => {
  const modules = Object.entries(needs.pythonModules ?? {})
  const tools = { ...needs.tools, ...(modules.length > 0 ? { python3: "python3" } : {}) }
  const python = which("python3")
  const withModules = modules.length > 0 && pythonHaving(modules.map(([module]) => module)) !== undefined
  const missing = [
    ...Object.entries(tools).filter(([tool]) => which(tool) === undefined),
    ...(python === undefined || withModules ? [] : modules.map(([module, pkg]) => [`python3's ${module}`, pkg] as const))
  ]
  const reasons = [
    ...(missing.length > 0 ? [`needs ${missing.map(([t]) => t).join(", ")} (apt-get install ${[...new Set(missing.map(([, p]) => p))].join(" ")})`] : []),
    ...(needs.root && process.getuid?.() !== 0 ? ["needs root"] : []),
    ...(needs.files ?? []).filter((f) => !existsSync(f)).map((f) => `needs ${f}`)
  ]
  return reasons.length === 0 ? undefined : reasons.join("; ")
}

/** the shells the OpenRC services may run under, and their Debian packages */
export const SHELLS: Readonly<Record<string, string>> = { dash: "dash", busybox: "busybox", bash: "bash" }

const required = process.env.TINY_CLOUD_REQUIRE_SYSTEM_TESTS === "1"

/** a describe block that runs only where its requirements are met (`concurrent`: its tests at once, each with a state of its own) */
export const describeSystem = (name: string, needs: Requirements, body: () => void, options: { readonly concurrent?: boolean } = {}) => {
  const reason = unmet(needs)
  if (reason === undefined) return (options.concurrent ? describe.concurrent : describe)(name, body)
  if (required) return describe(name, () => it("has what it needs", () => { throw new Error(`${name}: ${reason}`) }))
  process.stderr.write(`skipped: ${name}: ${reason}\n`)
  return describe.skip(`${name} (skipped: ${reason})`, body)
}

/** one test that runs only where its requirements are met, as describeSystem's tests do */
export const itSystem = (name: string, needs: Requirements, body: TestFunction) => {
  const reason = unmet(needs)
  if (reason === undefined) return it(name, body)
  if (required) return it(name, () => { throw new Error(`${name}: ${reason}`) })
  process.stderr.write(`skipped: ${name}: ${reason}\n`)
  return it.skip(`${name} (skipped: ${reason})`, body)
}

/**
 * a requirement a test finds unmet only as it runs (a file system that refuses a flag): the test is skipped with
 * the reason printed, as describeSystem skips, and under CI it fails
 */
export const skipAtRun = (ctx: { readonly skip: (note?: string) => void }, reason: string): void => {
  if (required) throw new Error(reason)
  process.stderr.write(`skipped: ${reason}\n`)
  ctx.skip()
}
