/**
 * Problems of a user-data file, each placed on its line, for
 * `tiny-cloud schema FILE` (exit 1 when there is any) and the early phase's log.
 */
import { analyseUserData, type Analysis, type ParseOptions } from "./parse.js"
import { formatProblem, type Problem } from "./problem.js"

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

/** what an analysis has to report, as the schema command and the early phase say it */
export const checkAnalysis = ({ type, parsed, problems }: Analysis): Check => {
  const config = parsed?.kind === "config" || parsed?.kind === "multipart" ? parsed.config : undefined
  return {
    type,
    problems: parsed === undefined ? problems : [...typeProblems(type), ...problems],
    warnings: config?.warnings ?? []
  }
}

export const checkUserData = (bytes: Uint8Array, options: ParseOptions): Check => checkAnalysis(analyseUserData(bytes, options))

export const validateUserData = (bytes: Uint8Array, options: ParseOptions): ReadonlyArray<Problem> =>
  checkUserData(bytes, options).problems
