/**
 * One python3 for a file's many runs of small programs: each run is a line
 * of JSON on its stdin (the program, and the input it reads as JSON from
 * its stdin) and an answer line (what the program printed), so a property
 * that asks Python about each of its batches starts Python, and imports
 * PyYAML, once instead of once a batch.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process"
import { createInterface } from "node:readline"
import type { Readable, Writable } from "node:stream"

/** runs each request's program with its input as stdin and its stdout captured, in a namespace of its own */
const SERVE = `import io, json, sys, traceback
stdin, stdout = sys.stdin, sys.stdout
for line in stdin:
    request = json.loads(line)
    sys.stdin, sys.stdout = io.StringIO(json.dumps(request["input"])), io.StringIO()
    try:
        exec(request["program"], {})
        answer = {"printed": sys.stdout.getvalue()}
    except BaseException:
        answer = {"error": traceback.format_exc()}
    sys.stdin, sys.stdout = stdin, stdout
    stdout.write(json.dumps(answer) + "\\n")
    stdout.flush()
`

export interface PythonRunner {
  /** what `program`, given `input` as JSON on its stdin, prints as JSON */
  readonly run: <A>(program: string, input: unknown) => Promise<A>
  /** ends the python3, if one was started */
  readonly close: () => void
}

/** a python3 (`python`, a path or a name on the PATH) started at the first run */
export const pythonRunner = (python: string): PythonRunner => {
  let child: ChildProcessByStdio<Writable, Readable, null> | undefined
  const waiting: Array<{ readonly answered: (line: string) => void; readonly failed: (e: Error) => void }> = []
  const start = () => {
    const started = spawn(python, ["-c", SERVE], { stdio: ["pipe", "pipe", "inherit"] })
    createInterface({ input: started.stdout }).on("line", (line) => waiting.shift()?.answered(line))
    const ended = (why: string) => {
      child = undefined
      for (const w of waiting.splice(0)) w.failed(new Error(`${python}: ${why}`))
    }
    started.on("error", (e) => ended(e.message))
    // a write to a python3 that has ended: its exit names the failure
    started.stdin.on("error", () => {})
    started.on("exit", (code, signal) => ended(`exited (${signal ?? code}) before it answered`))
    return started
  }
  return {
    run: <A>(program: string, input: unknown) =>
      new Promise<A>((resolve, reject) => {
        child ??= start()
        waiting.push({
          answered: (line) => {
            const answer = JSON.parse(line) as { readonly printed?: string; readonly error?: string }
            if (answer.error !== undefined) reject(new Error(answer.error))
            else resolve(JSON.parse(answer.printed!) as A)
          },
          failed: reject
        })
        child.stdin.write(`${JSON.stringify({ program, input })}\n`)
      }),
    close: () => {
      child?.kill()
      child = undefined
    }
  }
}
