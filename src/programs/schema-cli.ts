import { readFileSync } from "node:fs"

export const main = async (args: ReadonlyArray<string>): Promise<never> => {
  if (args.length !== 1 || args[0]!.startsWith("-")) {
    process.stderr.write("Usage: tiny-cloud schema FILE\n")
    process.exit(1)
  }
  let bytes: Uint8Array
  try {
    bytes = readFileSync(args[0]!)
  } catch (e) {
    process.stderr.write(`tiny-cloud schema: cannot read ${args[0]}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`)
    process.exit(1)
  }
  const { checkUserData, formatProblem } = await import("./userdata/validate.js")
  const { problems, warnings } = checkUserData(bytes, { maxBytes: Number(process.env.USERDATA_MAX_BYTES) || 16 * 1024 * 1024 })
  for (const w of warnings) process.stdout.write(`${args[0]}: warning: ${w}\n`)
  for (const p of problems) process.stdout.write(`${args[0]}: ${formatProblem(p)}\n`)
  if (problems.length === 0) process.stdout.write(`${args[0]}: valid\n`)
  process.exit(problems.length === 0 ? 0 : 1)
}
