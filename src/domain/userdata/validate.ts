/**
 * What a user-data file has to report, each problem placed on its line, for
 * `tiny-cloud schema FILE` and the early phase's log: the same problems and
 * warnings, in the same words.
 */
import { analyseUserData, type Analysis, type ParseOptions } from "./parse.js"
import { formatProblem, type Problem } from "./problem.js"
import { CHECKED_WORDS, whyNotRead } from "./type.js"

export { formatProblem, type Problem }

export interface Check {
  /** the user-data type read from its start */
  readonly type: string
  /** parts that are skipped; when nothing can be used, why */
  readonly problems: ReadonlyArray<Problem>
  /** worth telling, applied anyway: odd input, keys not carried out, ignored MIME parts */
  readonly warnings: ReadonlyArray<string>
  /** something of it is applied (otherwise its problems are logged as errors, the actions that need it fail, and `tiny-cloud schema` exits 1) */
  readonly usable: boolean
}

const KNOWN = "#alpine-config, #cloud-config, #cloud-config-archive, a #! script or MIME multipart"

/** Problems of the file as a whole: nothing to check, or nothing this program can run. */
const typeProblems = (type: string): ReadonlyArray<Problem> => {
  if (type === "missing") return [{ path: "", line: 1, message: "user-data is empty" }]
  if (type === "jinja") return [{ path: "", line: 1, message: `${whyNotRead(type)}; expected ${KNOWN}` }]
  if (type === "utf-16" || type === "base64" || type === "jinja-cr") return [{ path: "", line: 1, message: whyNotRead(type)! }]
  return type === "script" || CHECKED_WORDS.has(type)
    ? []
    : [{ path: "", line: 1, message: `user-data type ${type === "unknown" ? "is unknown" : `#${type} is not supported`}; expected ${KNOWN}` }]
}

/** what an analysis has to report, as the schema command and the early phase say it */
export const checkAnalysis = ({ type, parsed, problems, warnings, usable }: Analysis): Check => {
  const whole = parsed === undefined ? [] : typeProblems(type)
  return { type, problems: [...whole, ...problems], warnings, usable: usable && whole.length === 0 }
}

export const checkUserData = (bytes: Uint8Array, options: ParseOptions): Check => checkAnalysis(analyseUserData(bytes, options))

export const validateUserData = (bytes: Uint8Array, options: ParseOptions): ReadonlyArray<Problem> => checkUserData(bytes, options).problems
