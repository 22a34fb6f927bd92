/**
 * The OpenRC services as OpenRC runs them: their start(), with ebegin/eend
 * stubbed, the boot service starting the resident process and every phase
 * handed to it through the installed client.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs"
import { join, resolve } from "node:path"
import { PROGRAM, TEST_CODE_CACHE, type RunResult, type TestInstance } from "./harness.js"

export const SERVICES = resolve(new URL("../../openrc", import.meta.url).pathname)

export const PHASES = ["boot", "early", "main", "final"] as const

/** the instance's environment with `tiny-cloud` on its PATH and the client where the services look for it */
export const servicesEnv = (instance: TestInstance): Record<string, string> => {
  const bin = join(instance.dir, "program")
  if (!existsSync(bin)) {
    mkdirSync(bin)
    symlinkSync(PROGRAM, join(bin, "tiny-cloud"))
  }
  return { ...instance.env, PATH: `${bin}:${instance.env.PATH}`, TINY_CLOUD_LIB: SERVICES, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
}

/** a service's start() as OpenRC runs it (`shell`: the sh that runs it, with its arguments; `before`: commands before it); stdout as bytes */
export const startServiceBytes = (phase: string, env: Record<string, string>, shell: ReadonlyArray<string> = ["sh"], before = ":") =>
  new Promise<{ readonly code: number; readonly stdout: Buffer; readonly stderr: string }>((done) => {
    const child = spawn(shell[0]!, [...shell.slice(1), "-c", `ebegin() { :; }; eend() { return "$1"; }; ${before}; . "${SERVICES}/tiny-cloud-${phase}"; start`], { env, stdio: ["ignore", "pipe", "pipe"] })
    const stdout: Array<Buffer> = []
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => stdout.push(c))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("close", (code) => done({ code: code ?? -1, stdout: Buffer.concat(stdout), stderr }))
  })

/** a service's start() as OpenRC runs it, as startServiceBytes, stdout as text */
export const startService = async (phase: string, env: Record<string, string>, shell: ReadonlyArray<string> = ["sh"], before = ":"): Promise<RunResult> => {
  const r = await startServiceBytes(phase, env, shell, before)
  return { ...r, stdout: r.stdout.toString("utf8") }
}

export const serverPid = (instance: TestInstance) => {
  // read at once: a server ending after final removes its file at any moment
  try {
    return Number(readFileSync(join(instance.root, "run/tiny-cloud/server.pid"), "utf8"))
  } catch {
    return undefined
  }
}

/** running: a process that has exited but is not reaped yet (a zombie, until init gets to it) is not */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // the state follows the command name, which is in parentheses
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return true
  }
}

/**
 * Waits for `check`. Not a time limit on what it waits for: it gives up only
 * well past any loaded machine's delay (about 40 s, within the test's
 * timeout), to name what never happened.
 */
export const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 20))
  if (!check()) throw new Error(`never: ${what}`)
}

/** the boot service (`before` as startService's); then the resident process is listening */
export const bootAndServe = async (env: Record<string, string>, instance: TestInstance, before = ":") => {
  const boot = await startService("boot", env, ["sh"], before)
  await until(() => serverPid(instance) !== undefined && existsSync(join(instance.root, "run/tiny-cloud/requests")), "the resident process listens")
  return boot
}

/** the four services in order, as a first boot runs them */
export const firstBootServices = async (env: Record<string, string>) => {
  const results: Array<RunResult> = []
  for (const phase of PHASES) results.push(await startService(phase, env))
  return results
}

/** ends a resident process a test left waiting, as its idle timeout would */
export const endResident = (instance: TestInstance) => {
  const pid = serverPid(instance)
  if (pid !== undefined && alive(pid)) process.kill(pid, "SIGTERM")
}
