"use strict"
// The program as the loader holds it, in a block comment (scripts/loader.cjs):
// each "*/" of its text written "*~/", and the offsets of those "~" in the
// text written, for the loader to drop them again.
const heldInComment = (program) => {
  const breaks = []
  let text = ""
  let from = 0
  for (let at = program.indexOf("*/"); at !== -1; at = program.indexOf("*/", at + 2)) {
    text += `${program.slice(from, at + 1)}~`
    breaks.push(text.length - 1)
    from = at + 1
  }
  return { text: text + program.slice(from), breaks }
}

module.exports = { heldInComment }
