/**
 * The program's one entry: `tiny-cloud ...`, `imds ...` and the network
 * helpers (`vnic-eth-hotplug`...), by the name it is called by. The only
 * place that picks the live layers (in `run.ts`, loaded once a command
 * needs services).
 */
import { readlinkSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { routeHelper, routeImds, routeTinyCloud, type Route } from "../programs/cli.js"
import { exitAfterOutput, watchOutput } from "./exit.js"

const isImds = (name: string) => name === "imds" || name.startsWith("imds.")
const KNOWN = ["tiny-cloud", "assemble-interfaces", "vnic-eth-hotplug", "nvme-ebs-links", "imds-net-sync"]

/**
 * the name called by; a name the program does not know (a link of the operator's own,
 * `/usr/local/bin/metadata -> /usr/bin/imds`) is followed, link by link, to the first
 * known name on its way to the program, as a link to the shell edition's script runs that script
 */
const nameOf = (called: string): string => {
  let path = called
  for (let hops = 0; hops < 40; hops++) {
    const name = path.split("/").pop() ?? ""
    if (isImds(name) || KNOWN.includes(name)) return name
    try {
      path = resolve(dirname(path), readlinkSync(path))
    } catch {
      break
    }
  }
  return called.split("/").pop() ?? ""
}

const invokedAs = nameOf(process.argv[1] ?? "")
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

start(isImds(invokedAs) ? routeImds(args) : (routeHelper(invokedAs, args) ?? routeTinyCloud(args))).catch((e: unknown) => {
  process.stderr.write(`tiny-cloud: internal error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
