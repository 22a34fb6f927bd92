/**
 * The program's one entry: `tiny-cloud ...`, `imds ...` and the network
 * helpers (`vnic-eth-hotplug`...), by the name it is called by. The only
 * place that picks the live layers (in `run.ts`, loaded once a command
 * needs services).
 */
import { routeHelper, routeImds, routeTinyCloud, type Route } from "../programs/cli.js"
import { exitAfterOutput, watchOutput } from "./exit.js"

const invokedAs = (process.argv[1] ?? "").split("/").pop() ?? ""
const args = process.argv.slice(2)

watchOutput()

const start = async (route: Route): Promise<unknown> => {
  switch (route._tag) {
    case "Print":
      if (route.stdout !== undefined) process.stdout.write(route.stdout)
      if (route.stderr !== undefined) process.stderr.write(route.stderr)
      return exitAfterOutput(route.code)
    case "BootstrapStatus":
      process.stdout.write((await import("./bootstrap-status.js")).bootstrapStatus(process.env))
      return exitAfterOutput(0)
    case "Resident":
      return process.exit(await (await import("./serve.js")).serve())
    case "Standalone":
      return exitAfterOutput(await route.run())
    case "Program": {
      const [{ runMain }, program] = await Promise.all([import("./run.js"), route.load()])
      return runMain(program, route)
    }
  }
}

start(invokedAs === "imds" || invokedAs.startsWith("imds.") ? routeImds(args) : (routeHelper(invokedAs, args) ?? routeTinyCloud(args))).catch((e: unknown) => {
  process.stderr.write(`tiny-cloud: internal error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
