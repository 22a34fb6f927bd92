/**
 * Azure's `ovf-env.xml` (the provisioning media's): the `CustomData` of its
 * `LinuxProvisioningConfigurationSet`, which `az vm create --custom-data` and
 * Terraform's `custom_data` set. Read without an XML parser: no document
 * type, hence no entity, is ever expanded; elements are known by their local
 * name under a prefix bound to Azure's namespace (Azure writes `ns1:`, older
 * documents `wa:` or the default namespace).
 */
import * as Option from "effect/Option"

const AZURE_NS = "http://schemas.microsoft.com/windowsazure"

const escaped = (s: string) => s.replace(/[.\-]/g, "\\$&")

/** the prefixes (`ns1:`, or `` for the default namespace) bound to Azure's namespace */
const azurePrefixes = (xml: string): ReadonlyArray<string> => {
  const prefixes = new Set<string>()
  for (const m of xml.matchAll(/\sxmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(["'])([^"']*)\2/g)) if (m[3] === AZURE_NS) prefixes.add(m[1] === undefined ? "" : `${m[1]}:`)
  return [...prefixes]
}

/** the elements `<PREFIX:NAME ...>` of an Azure prefix: where each starts, ends (after `>`), and whether it closes itself */
const openings = (xml: string, prefixes: ReadonlyArray<string>, name: string) =>
  [...xml.matchAll(new RegExp(`<(${prefixes.map(escaped).join("|")})${name}(?:\\s[^<>]*?)?(/?)>`, "g"))].map((m) => ({
    prefix: m[1]!,
    start: m.index,
    end: m.index + m[0].length,
    empty: m[2] === "/"
  }))

/** what the one element `NAME` of `xml` holds: None when it is absent or empty, or why it cannot be read */
const contentOf = (xml: string, prefixes: ReadonlyArray<string>, name: string): { readonly text: Option.Option<string> } | { readonly invalid: string } => {
  const found = openings(xml, prefixes, name)
  if (found.length === 0) return { text: Option.none() }
  if (found.length > 1) return { invalid: `more than one ${name}` }
  const element = found[0]!
  if (element.empty) return { text: Option.none() }
  const end = xml.indexOf(`</${element.prefix}${name}`, element.end)
  if (end < 0) return { invalid: `${name} is not closed` }
  return { text: Option.some(xml.slice(element.end, end)) }
}

/** the entities XML itself defines: the only ones a document without a document type can refer to */
const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }

/**
 * The character data of an element's content as an XML reader gives it (as
 * cloud-init's ElementTree reads `CustomData`): CDATA sections as they are,
 * XML's own entities and character references (`&amp;`, `&#13;`, `&#xD;`)
 * decoded; or why it cannot be read (an element in it, another reference).
 */
const characterData = (name: string, content: string): { readonly text: string } | { readonly invalid: string } => {
  let text = ""
  // found with indexOf, not a lazy regular expression, which scans to the end again for every unclosed `<![CDATA[`
  for (let at = 0; ; ) {
    const open = content.indexOf("<![CDATA[", at)
    const part = content.slice(at, open === -1 ? content.length : open)
    if (part.includes("<")) return { invalid: `${name} holds markup, not base64 text` }
    let unknown = false
    text += part.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z_][\w.-]*);/g, (whole, ref: string) => {
      const code = ref.startsWith("#x") ? parseInt(ref.slice(2), 16) : ref.startsWith("#") ? parseInt(ref.slice(1), 10) : undefined
      const character = code === undefined ? PREDEFINED[ref] : code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : undefined
      if (character === undefined) unknown = true
      return character ?? whole
    })
    if (unknown) return { invalid: `${name} refers to an entity or character XML does not define` }
    if (open === -1) break
    const close = content.indexOf("]]>", open + 9)
    if (close === -1) return { invalid: `${name} holds markup, not base64 text` }
    text += content.slice(open + 9, close)
    at = close + 3
  }
  return { text }
}

/**
 * The base64 text of `CustomData` (None when there is none, or it is empty),
 * or why the document cannot be read.
 */
export const ovfCustomData = (document: string): { readonly base64: Option.Option<string> } | { readonly invalid: string } => {
  if (/<!DOCTYPE|<!ENTITY/i.test(document)) return { invalid: "a document type declaration (DOCTYPE, ENTITY) is not read" }
  const xml = document.replace(/<!--[\s\S]*?-->/g, "")
  const prefixes = azurePrefixes(xml)
  if (prefixes.length === 0) return { invalid: `no element is of Azure's namespace (${AZURE_NS})` }
  const set = contentOf(xml, prefixes, "LinuxProvisioningConfigurationSet")
  if ("invalid" in set) return set
  if (Option.isNone(set.text)) return { base64: Option.none() }
  const data = contentOf(set.text.value, prefixes, "CustomData")
  if ("invalid" in data) return data
  if (Option.isNone(data.text)) return { base64: Option.none() }
  const content = characterData("CustomData", data.text.value)
  if ("invalid" in content) return content
  return { base64: content.text.trim() === "" ? Option.none() : Option.some(content.text) }
}
