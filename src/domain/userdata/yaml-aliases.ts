/**
 * How much a YAML document's aliases repeat. PyYAML (cloud-init) reads any
 * number of them: a document that gives one owner or one key list to a
 * hundred entries is a real one. An alias costs nothing as the document is
 * loaded (the value is shared), but what reads it later reads it at every
 * place it is named, so an alias bomb (aliases of lists of aliases...) is
 * refused by what its aliases add, counted without expanding them.
 */
import { type Document, isAlias, isCollection, isPair, isScalar, type Node } from "yaml"
import { YAML_MAX_TOKENS } from "../yaml-depth.js"

/** the most aliases a document may use: the parser finds each one's anchor by a scan of those before it (4096: 0.6 s) */
export const YAML_MAX_ALIASES = 4096
/** the most nodes the aliases may add: as many as the tokens a document may hold */
export const YAML_MAX_ALIASED_NODES = YAML_MAX_TOKENS
/**
 * the most scalar characters the aliases may add: eight times the largest
 * user-data (16 MiB); what takes text (write_files, runcmd, an archive's
 * parts) counts it against the user-data's own limit where it is used
 */
export const YAML_MAX_ALIASED_CHARACTERS = 128 * 1024 * 1024

export type AliasProblem = "too many aliases" | "too many nodes" | "too many characters"

interface Size {
  readonly nodes: number
  readonly characters: number
}

const ONE: Size = { nodes: 1, characters: 0 }
const plus = (a: Size, b: Size): Size => ({ nodes: a.nodes + b.nodes, characters: a.characters + b.characters })

/**
 * Measured in one pass in document order, as the parser resolves an alias:
 * to the last node before it with that anchor. A node is 1 node, a scalar's
 * text its characters, a collection its entries too; an alias is its
 * anchor's node (1 node for an anchor that holds the alias: the value holds
 * itself, as PyYAML builds it).
 */
export const aliasProblem = (doc: Document): AliasProblem | undefined => {
  const anchors = new Map<string, Node>()
  const sizes = new Map<Node, Size>()
  let aliases = 0
  let added: Size = { nodes: 0, characters: 0 }
  const size = (node: unknown): Size => {
    if (isAlias(node)) {
      aliases++
      const target = anchors.get(node.source)
      const repeated = (target === undefined ? undefined : sizes.get(target)) ?? ONE
      added = plus(added, { nodes: repeated.nodes - 1, characters: repeated.characters })
      return repeated
    }
    if (isPair(node)) return plus(size(node.key), size(node.value))
    if (!isScalar(node) && !isCollection(node)) return { nodes: 0, characters: 0 }
    if (node.anchor !== undefined) anchors.set(node.anchor, node)
    let total: Size = isScalar(node) && (typeof node.value === "string" || node.value instanceof Uint8Array) ? { nodes: 1, characters: node.value.length } : ONE
    if (isCollection(node)) for (const item of node.items) total = plus(total, size(item))
    sizes.set(node, total)
    return total
  }
  size(doc.contents)
  if (aliases > YAML_MAX_ALIASES) return "too many aliases"
  return added.nodes > YAML_MAX_ALIASED_NODES ? "too many nodes" : added.characters > YAML_MAX_ALIASED_CHARACTERS ? "too many characters" : undefined
}
