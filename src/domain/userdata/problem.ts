import * as Data from "effect/Data"

export interface Problem {
  /** YAML path such as `write_files[0].permissions`; empty for the whole document */
  readonly path: string
  /** 1-based line in the user-data */
  readonly line: number
  readonly message: string
  /** what BEHAVIOUR.md calls an error (a `user` map without a name): logged at error level even when the rest is applied */
  readonly error?: boolean
}

/** `line 7: write_files[0].permissions: expected an octal mode such as 0644, got "rwx"` */
export const formatProblem = (p: Problem): string => `line ${p.line}: ${p.path === "" ? "" : `${p.path}: `}${p.message}`

export class UserDataError extends Data.TaggedError("UserDataError")<{
  readonly type: string
  readonly problems: ReadonlyArray<Problem>
}> {
  override get message() {
    const label = this.type === "multipart" ? "multipart user-data" : `#${this.type} user-data`
    const more = this.problems.length > 1 ? ` (and ${this.problems.length - 1} more)` : ""
    const first = this.problems[0]
    return `${label} is invalid: ${first ? formatProblem(first) : "unknown problem"}${more}`
  }
}
