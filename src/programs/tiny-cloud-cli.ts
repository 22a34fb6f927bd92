import { PHASES, type Phase } from "../schema/phases.js"
import { TINY_CLOUD_USAGE } from "./usage.js"

declare const __VERSION__: string

const usageError = (): Promise<never> => {
  process.stderr.write(TINY_CLOUD_USAGE)
  process.exit(1)
}

export const main = async (args: ReadonlyArray<string>): Promise<never> => {
  const [first, ...rest] = args
  if (first === "-h" || first === "--help") {
    process.stdout.write(TINY_CLOUD_USAGE)
    process.exit(0)
  }
  if (first === "--version") {
    process.stdout.write(`tiny-cloud ${typeof __VERSION__ === "string" ? __VERSION__ : "dev"}\n`)
    process.exit(0)
  }
  if (first === "imds") return (await import("./imds-cli.js")).main(rest)
  if (first === "simulate") return (await import("./simulate.js")).main(rest)
  if (first === "schema") return (await import("./schema-cli.js")).main(rest)
  if (first === "--bootstrap" && rest.length === 1 && ["complete", "incomplete", "status"].includes(rest[0]!)) {
    const [{ bootstrapCommand }, { runMain }] = await Promise.all([import("./admin.js"), import("./run.js")])
    return runMain(bootstrapCommand(rest[0] as "complete"), "tiny-cloud", "tiny-cloud")
  }
  if ((first === "--enable" || first === "--disable") && rest.length === 0) {
    const [{ setEnabled }, { runMain }] = await Promise.all([import("./admin.js"), import("./run.js")])
    return runMain(setEnabled(first === "--enable"), "tiny-cloud", "tiny-cloud")
  }
  if (first !== undefined && (PHASES as ReadonlyArray<string>).includes(first) && rest.length === 0) {
    const [{ runPhase }, { runMain }] = await Promise.all([import("./phase.js"), import("./run.js")])
    return runMain(runPhase(first as Phase), `tiny-cloud/${first}`, `tiny-cloud/${first}`)
  }
  return usageError()
}

