/**
 * The program's one entry: `tiny-cloud ...`, `imds ...` and the network
 * helpers (`vnic-eth-hotplug`...), by the name it is called by. The only
 * place that picks the live layers (in `run.ts`, loaded once a command
 * needs services). `--bootstrap status` is answered before this by the
 * loader's small program (quick.ts), the same way as here.
 */
import { routeCommandLine, type Route } from "../programs/cli.js"
import { HELPERS, isImdsCommand } from "../programs/command-words.js"
import { exitAfterOutput, internalError, stdoutIsEcho, watchOutput } from "./exit.js"
import { nameOf } from "./invoked-as.js"

const invokedAs = nameOf(process.argv[1] ?? "")
const args = process.argv.slice(2)

// imds's lines are imds's by either spelling (BEHAVIOUR.md §1: both behave the same); a network helper's its own, as its other lines are (§8)
watchOutput(isImdsCommand(invokedAs, args) ? "imds" : HELPERS.includes(invokedAs) ? invokedAs : "tiny-cloud")

const start = async (route: Route): Promise<unknown> => {
  switch (route._tag) {
    case "Print":
      if (route.stdout !== undefined) process.stdout.write(route.stdout)
      if (route.stderr !== undefined) process.stderr.write(route.stderr)
      return exitAfterOutput(route.code)
    case "BootstrapStatus":
      return (await import("./bootstrap-status.js")).answerBootstrapStatus()
    case "Resident":
      return process.exit(await (await import("./serve.js")).serve())
    case "Standalone":
      return exitAfterOutput(await route.run())
    case "Program": {
      if (route.echoOnly === true) stdoutIsEcho()
      // a phase's line when a signal stops it, loaded for phases alone (it brings node:child_process, which imds need not load)
      const [{ runMain }, program] = await Promise.all([import("./run.js"), route.load(), route.echoOnly === true ? import("./stopped.js").then((m) => m.sayWhenStopped(route.errorPrefix)) : undefined])
      return runMain(program, route)
    }
  }
}

start(routeCommandLine(invokedAs, args)).catch(internalError)
