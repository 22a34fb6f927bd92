/**
 * How much a YAML document's aliases repeat. PyYAML (cloud-init) reads any
 * number of them: a document that gives one owner or one key list to a
 * hundred entries is a real one. An alias costs nothing as the document is
 * loaded (the value is shared), but what reads it later reads it at every
 * place it is named, so an alias bomb (aliases of lists of aliases...) is
 * refused by what its aliases add, counted without expanding them.
 */
import { type Alias, type Document, isAlias, isCollection, isPair, isScalar, type Node, visit } from "yaml"
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

/** the node an alias stands for (undefined when no anchor is set before it), or the node itself */
export type Resolve = (node: unknown) => unknown

/**
 * Each alias's node as the parser resolves it (the last node before it with
 * its anchor), found in one pass: the library's `Alias.resolve` scans the
 * whole document each time, which for a document of many aliases (a runcmd
 * of 30000 `- *a`, a list of maps keyed `*k`) took minutes before their count was refused
 */
export const aliasResolver = (doc: Document): Resolve => {
  const anchors = new Map<string, Node>()
  const targets = new Map<Alias, Node>()
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        const target = anchors.get(node.source)
        if (target !== undefined) targets.set(node, target)
      } else if (node.anchor !== undefined) anchors.set(node.anchor, node)
    }
  })
  return (node) => (isAlias(node) ? targets.get(node) : node)
}

/**
 * Measured in one pass in document order, each alias taken for its node as
 * `aliasResolver` finds it (the parser's way). A node is 1 node, a scalar's
 * text its characters, a collection its entries too; an alias is its
 * anchor's node (1 node for an anchor that holds the alias: the value holds
 * itself, as PyYAML builds it).
 */
export const aliasProblem = (doc: Document): AliasProblem | undefined => {
  const resolve = aliasResolver(doc)
  const sizes = new Map<Node, Size>()
  let aliases = 0
  let added: Size = { nodes: 0, characters: 0 }
  const size = (node: unknown): Size => {
    if (isAlias(node)) {
      aliases++
      const target = resolve(node)
      const repeated = (target === undefined ? undefined : sizes.get(target as Node)) ?? ONE
      added = plus(added, { nodes: repeated.nodes - 1, characters: repeated.characters })
      return repeated
    }
    if (isPair(node)) return plus(size(node.key), size(node.value))
    if (!isScalar(node) && !isCollection(node)) return { nodes: 0, characters: 0 }
    let total: Size = isScalar(node) && (typeof node.value === "string" || node.value instanceof Uint8Array) ? { nodes: 1, characters: node.value.length } : ONE
    if (isCollection(node)) for (const item of node.items) total = plus(total, size(item))
    sizes.set(node, total)
    return total
  }
  size(doc.contents)
  if (aliases > YAML_MAX_ALIASES) return "too many aliases"
  return added.nodes > YAML_MAX_ALIASED_NODES ? "too many nodes" : added.characters > YAML_MAX_ALIASED_CHARACTERS ? "too many characters" : undefined
}
