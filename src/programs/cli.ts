/**
 * What a command line asks for, decided without loading any Effect code:
 * usage and version are printed at once; everything else names a program to
 * load and run. Type-only imports here.
 */
import type * as Effect from "effect/Effect"
import { PHASES, type Phase } from "../domain/phases.js"
import type { AppServices } from "../services/all.js"
import { IMDS_USAGE, TINY_CLOUD_USAGE } from "./usage.js"

declare const __VERSION__: string

export type Program = Effect.Effect<number, { readonly message: string }, AppServices>

export type Route =
  /** print and exit */
  | { readonly _tag: "Print"; readonly code: number; readonly stdout?: string; readonly stderr?: string }
  /** run a program over the services; failures become one line after `errorPrefix` */
  | { readonly _tag: "Program"; readonly logTag: string; readonly errorPrefix: string; readonly load: () => Promise<Program> }
  /** a command that runs on its own (simulate) */
  | { readonly _tag: "Standalone"; readonly run: () => Promise<number> }

const usage = (text: string, code: 0 | 1): Route => (code === 0 ? { _tag: "Print", code, stdout: text } : { _tag: "Print", code, stderr: text })

const program = (logTag: string, errorPrefix: string, load: () => Promise<Program>): Route => ({ _tag: "Program", logTag, errorPrefix, load })

export const routeImds = (args: ReadonlyArray<string>): Route => {
  if (args[0] === "-h" || args[0] === "--help") return usage(IMDS_USAGE, 0)
  if (args.length === 0) return usage(IMDS_USAGE, 1)
  return program("imds", "imds", () => import("./imds-cli.js").then((m) => m.imds(args)))
}

export const routeTinyCloud = (args: ReadonlyArray<string>): Route => {
  const [first, ...rest] = args
  if (first === "-h" || first === "--help") return usage(TINY_CLOUD_USAGE, 0)
  if (first === "--version") return { _tag: "Print", code: 0, stdout: `tiny-cloud ${typeof __VERSION__ === "string" ? __VERSION__ : "dev"}\n` }
  if (first === "imds") return routeImds(rest)
  if (first === "simulate") return { _tag: "Standalone", run: () => import("./simulate.js").then((m) => m.main(rest)) }
  if (first === "schema") {
    if (rest.length !== 1 || rest[0]!.startsWith("-")) return { _tag: "Print", code: 1, stderr: "Usage: tiny-cloud schema FILE\n" }
    return program("tiny-cloud", "tiny-cloud schema", () => import("./schema-cli.js").then((m) => m.schemaCommand(rest[0]!)))
  }
  if (first === "--bootstrap" && rest.length === 1 && ["complete", "incomplete", "status"].includes(rest[0]!)) {
    return program("tiny-cloud", "tiny-cloud", () => import("./admin.js").then((m) => m.bootstrapCommand(rest[0] as "complete")))
  }
  if ((first === "--enable" || first === "--disable") && rest.length === 0) {
    return program("tiny-cloud", "tiny-cloud", () => import("./admin.js").then((m) => m.setEnabled(first === "--enable")))
  }
  if (first !== undefined && (PHASES as ReadonlyArray<string>).includes(first) && rest.length === 0) {
    return program(`tiny-cloud/${first}`, `tiny-cloud/${first}`, () => import("./phase.js").then((m) => m.runPhase(first as Phase)))
  }
  return usage(TINY_CLOUD_USAGE, 1)
}
