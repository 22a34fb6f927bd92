import { textOf } from "../text.js"

/**
 * A user-data script as it runs: a leading byte-order mark left out (behind
 * one, cloud-init finds no `#!` and runs nothing: `schema` and save_userdata
 * say so), and when its first line ends in CR LF (a file saved on Windows, or
 * sent as MIME), every CR LF made LF, so that its `#!` names the interpreter
 * and its lines run as written. A script that runs as it is, binary payload
 * and all, stays byte for byte.
 */
const BOM = [0xef, 0xbb, 0xbf]

export const runnableScript = (bytes: Uint8Array): Uint8Array => {
  const body = BOM.every((b, i) => bytes[i] === b) ? bytes.subarray(BOM.length) : bytes
  const firstEnd = body.indexOf(0x0a)
  if (firstEnd < 1 || body[firstEnd - 1] !== 0x0d) return body
  const out = new Uint8Array(body.length)
  let n = 0
  for (let i = 0; i < body.length; i++) {
    if (body[i] === 0x0d && body[i + 1] === 0x0a) continue
    out[n++] = body[i]!
  }
  return out.subarray(0, n)
}

/**
 * The `#!` line of a script as it runs (runnableScript's) holds a carriage
 * return: its lines end in a CR alone (old Mac line ends), which the kernel
 * does not end a line at, so it looks for a program such as `/bin/sh<CR>echo`
 * and the script does not start (as under cloud-init, which runs it as it is).
 * A `#!` after blank lines is not the kernel's to read: run_userdata runs its
 * interpreter itself, a CR taken as a blank, so only a CR with more words after
 * it on the line (CR line ends) is one; a CR LF line's end there is no matter.
 */
export const shebangHoldsCr = (script: Uint8Array): boolean => {
  const text = textOf(runnableScript(script.subarray(0, 4096)))
  return /^#![^\n]*\r/.test(text) || /^\s+#![^\n]*\r[^\n]*\S/.test(text)
}

/** what is said of such a script: it does not start, and why */
export const SHEBANG_CR = "#! line holds a carriage return (CR line ends, which the kernel does not read as a line's end)"

/**
 * The program a script's `#!` line names, as the kernel reads it (blanks
 * after `#!` skipped, up to the next blank or the line's end), or undefined.
 */
export const shebangProgram = (script: Uint8Array): string | undefined =>
  /^\s*#![ \t]*([^\s]+)/.exec(textOf(script.subarray(0, 4096)))?.[1]

/**
 * env's options whose argument is the next word (`-u NAME`, `-C DIR`, `-a ARG`, alone or
 * last of a group: `-iu NAME`; their long names): that word is no program
 */
const takesNextWord = (word: string): boolean => {
  if (/^--(unset|chdir|argv0)$/.test(word)) return true
  const letters = /^-([^-].*)$/.exec(word)?.[1] ?? ""
  const at = letters.search(/[uCaS]/)
  return at >= 0 && at === letters.length - 1 && letters[at] !== "S"
}

/**
 * The program `#!/usr/bin/env NAME` has env look up on PATH (`#!/usr/bin/env
 * bash`, `#!/usr/bin/env -S bash -e`): the first of env's words that is no
 * option, option's argument (`-S -u NAME bash`) nor `VAR=VALUE`; undefined
 * when the `#!` line names no `env`.
 */
export const envProgram = (script: Uint8Array): string | undefined => {
  const words = /^\s*#![ \t]*([^\n]*)/.exec(textOf(script.subarray(0, 4096)))?.[1]?.trim().split(/\s+/) ?? []
  if (words[0] === undefined || words[0].split("/").pop() !== "env") return undefined
  const program = words.slice(1).find((w, i, rest) => !w.startsWith("-") && !w.includes("=") && (i === 0 || !takesNextWord(rest[i - 1]!)))
  // `-S`'s string is read as sh reads its words: a program in quotes (`-S 'bash' -e`) is the text inside; one with other quoting or `$` is not told
  const quoted = /^(['"])([^'"\\$]+)\1$/.exec(program ?? "")
  return quoted !== null ? quoted[2] : program !== undefined && /['"\\$]/.test(program) ? undefined : program
}

/**
 * What the user's programs run from, beside the saved user-data and made of
 * it: a script's runnable copy, cloud-config `bootcmd` and `runcmd` each as
 * one script, the scripts of MIME multipart user-data (a directory).
 */
export type ProgramFile = "script" | "bootcmd" | "runcmd" | "parts"

export const PROGRAM_FILES: ReadonlyArray<ProgramFile> = ["script", "bootcmd", "runcmd", "parts"]

/** `$TINY_CLOUD_VAR/user-data.NAME`, for the saved user-data's path */
export const programFile = (savedPath: string, name: ProgramFile): string => `${savedPath}.${name}`
