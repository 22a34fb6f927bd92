import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import { messageOf } from "../domain/text.js"

/** A failure as one line: the error's own message, or `internal error: ...` for a defect. Never a stack trace. */
export const describeCause = (cause: Cause.Cause<{ readonly message: string }>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (e) => e.message,
    onNone: () => {
      const defect = Cause.squash(cause)
      return `internal error: ${messageOf(defect)}`
    }
  })
