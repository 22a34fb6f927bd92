/**
 * Problems of a user-data file, each placed on its line, for
 * `tiny-cloud schema FILE` (exit 1 when there is any) and the early phase's log.
 */
import { analyseUserData, formatProblem, type ParseOptions, type Problem } from "./parse.js"

export { formatProblem, type Problem }

export interface Check {
  /** the user-data type read from the first line */
  readonly type: string
  /** YAML syntax, Schema and content problems, by line; none means valid */
  readonly problems: ReadonlyArray<Problem>
  /** worth telling, not invalid: unknown keys, skipped entries, ignored MIME parts */
  readonly warnings: ReadonlyArray<string>
}

const KNOWN = "#alpine-config, #cloud-config, a #! script or MIME multipart"

/** Problems of the file as a whole: nothing to check, or nothing this program can run. */
const typeProblems = (type: string): ReadonlyArray<Problem> => {
  if (type === "missing") return [{ path: "", line: 1, message: "user-data is empty" }]
  const known = ["script", "alpine-config", "cloud-config", "multipart"]
  return known.includes(type)
    ? []
    : [{ path: "", line: 1, message: `user-data type ${type === "unknown" ? "is unknown" : `#${type} is not supported`}; expected ${KNOWN}` }]
}

export const checkUserData = (bytes: Uint8Array, options: ParseOptions): Check => {
  const { type, parsed, problems } = analyseUserData(bytes, options)
  const config = parsed?.kind === "config" || parsed?.kind === "multipart" ? parsed.config : undefined
  return {
    type,
    problems: parsed === undefined ? problems : [...typeProblems(type), ...problems],
    warnings: config?.warnings ?? []
  }
}

export const validateUserData = (bytes: Uint8Array, options: ParseOptions): ReadonlyArray<Problem> =>
  checkUserData(bytes, options).problems
