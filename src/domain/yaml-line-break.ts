/**
 * A block scalar (`|`, `>`) whose last line ends the text without a line
 * break has no line break at its end, as PyYAML (so cloud-init) and libyaml
 * (the shell edition's `yx`) read it; the yaml library gives it one. A MIME
 * part's text so ends whenever its last line is right before the boundary
 * (that line break is the boundary's), as does a document pasted, or a
 * seed's meta-data written, without its last line break.
 */
import { type Document, Scalar, visit } from "yaml"

/** `doc` parsed from `text`: its block scalar that runs to the text's end without a line break loses the one the library adds */
export const withoutAddedLineBreak = (doc: Document, text: string): void => {
  // a last line of blanks alone holds none of the scalar's text
  if (!/[^ \t\r\n][ \t]*$/.test(text)) return
  visit(doc, {
    Scalar(_, node) {
      const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED
      if (block && node.range?.[1] === text.length && typeof node.value === "string" && node.value.endsWith("\n")) node.value = node.value.slice(0, -1)
    }
  })
}
