/** quick.ts's answer, as main.ts gives it: the output watched, a failure of the program one line */
import { answerBootstrapStatus } from "./bootstrap-status.js"
import { internalError, watchOutput } from "./exit.js"

export const answer = (): void => {
  watchOutput()
  answerBootstrapStatus().catch(internalError)
}
