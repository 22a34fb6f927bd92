// Entry of the bundled program: `tiny-cloud ...`, `imds ...` (by the name it is called by).
const invokedAs = (process.argv[1] ?? "").split("/").pop() ?? ""
const args = process.argv.slice(2)

// `imds @userdata | head -c 10`: a closed pipe ends the output, it is not an error
process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1))

const start = invokedAs === "imds" || invokedAs.startsWith("imds.")
  ? import("./programs/imds-cli.js").then((m) => m.main(args))
  : import("./programs/tiny-cloud-cli.js").then((m) => m.main(args))

start.catch((e: unknown) => {
  process.stderr.write(`tiny-cloud: internal error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
