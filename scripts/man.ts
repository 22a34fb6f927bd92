/**
 * The man pages, from their sources in `man/*.md` to roff (man(7) macros
 * that groff and mandoc both know). The sources are a small markdown:
 *
 *   # NAME(SECTION) -- summary     the title line, first
 *   ## HEADING / ### Heading       section / subsection
 *   text                           paragraphs, separated by blank lines
 *   - text                         a bullet item (continued by lines indented two spaces)
 *   term                           a definition list item: the term line, then
 *   : definition                   the definition (continued by lines indented two spaces)
 *   ```                            a literal block, to the next ```
 *   `code`, **bold**, *italic*     inline
 *   {{synopsis}}                   every command line of the command table
 *   {{command NAME}}               a command's synopsis as a term; its options follow its definition
 *
 * Parts the program's own tables know are checked: every command has its
 * `{{command}}`, every configuration key and user-data key its term, so a
 * new one cannot go undocumented.
 */
import { CONFIG_KEYS } from "../src/domain/settings.js"
import { ALPINE_CONFIG_KEYS } from "../src/domain/userdata/alpine.js"
import { CLOUD_CONFIG_KEYS } from "../src/domain/userdata/cloud.js"
import { COMMANDS, IMDS_ALIASES, IMDS_FLAGS, type CommandSpec } from "../src/programs/commands.js"

export interface Page {
  /** `tiny-cloud.8` */
  readonly file: string
  readonly roff: string
}

const MANUALS: Readonly<Record<string, string>> = { "1": "User Commands", "5": "File Formats", "8": "System Manager's Manual" }

/** what each page must have a term for, by its file name */
export const REQUIRED_TERMS: Readonly<Record<string, () => ReadonlyArray<string>>> = {
  "tiny-cloud.conf.5": () => CONFIG_KEYS,
  "alpine-config.5": () => ALPINE_CONFIG_KEYS,
  "cloud-config.5": () => CLOUD_CONFIG_KEYS,
  "imds.1": () => [...IMDS_FLAGS, ...IMDS_ALIASES].map(([word]) => word)
}

// ---- text -----------------------------------------------------------------------------------

/** roff-safe text: backslashes, and a control character at the start of a line */
const escape = (text: string) => text.replace(/\\/g, "\\e")
const lineSafe = (line: string) => (/^[.']/.test(line) ? `\\&${line}` : line)
const literal = (text: string) => escape(text).replace(/-/g, "\\-")

/** `code` and **bold** in bold, *italic* in italic */
export const inline = (text: string): string => {
  let out = ""
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|(?<![\w*])\*([^*\s](?:[^*]*[^*\s])?)\*(?![\w*])/g
  let last = 0
  for (const m of text.matchAll(pattern)) {
    out += escape(text.slice(last, m.index))
    out += m[1] !== undefined ? `\\fB${literal(m[1])}\\fR` : m[2] !== undefined ? `\\fB${literal(m[2])}\\fR` : `\\fI${escape(m[3]!)}\\fR`
    last = m.index! + m[0].length
  }
  return out + escape(text.slice(last))
}

// ---- generated parts ------------------------------------------------------------------------

/** `tiny-cloud -b|--bootstrap ...`: the shell edition's short name first, as the usage writes it */
const commandLine = (c: CommandSpec) =>
  `\\fBtiny\\-cloud ${[...(c.aliases ?? []), c.name].map(literal).join("|")}\\fR${c.synopsis === "" ? "" : ` ${literal(c.synopsis)}`}`

const synopsis = (): Array<string> => [".nf", ...COMMANDS.map((c) => lineSafe(commandLine(c))), ".fi"]

const commandOptions = (c: CommandSpec): Array<string> =>
  (c.options ?? []).length === 0
    ? []
    : [
        ".RS",
        ...(c.options ?? []).flatMap((o) => [
          ".TP",
          `${o.names.map((n) => `\\fB${literal(n)}\\fR`).join(", ")}${o.arg !== undefined ? ` \\fI${literal(o.arg.name)}\\fR` : ""}`,
          lineSafe(inline(o.help.charAt(0).toUpperCase() + o.help.slice(1) + "."))
        ]),
        ".RE"
      ]

// ---- the converter --------------------------------------------------------------------------

export class ManSourceError extends Error {}

/** one page: its roff, and the terms it defines (their text as written) */
export const renderPage = (
  file: string,
  source: string,
  options: { readonly version: string; readonly date: string }
): { readonly roff: string; readonly terms: ReadonlyArray<string>; readonly commands: ReadonlyArray<string> } => {
  const lines = source.replace(/\n+$/, "").split("\n")
  const title = /^# (\S+)\((\d)\) -- (.+)$/.exec(lines[0] ?? "")
  if (title === null) throw new ManSourceError(`${file}: the first line must be "# NAME(SECTION) -- summary"`)
  const [, name, section, summary] = title as unknown as [string, string, string, string]
  const out: Array<string> = [
    `.TH ${literal(name.toUpperCase())} ${section} "${options.date}" "tiny\\-cloud ${literal(options.version)}" "${MANUALS[section] ?? ""}"`,
    ".SH NAME",
    `${literal(name)} \\- ${escape(summary)}`,
    // code words (create_default_user, /etc/tiny-cloud.conf) are never hyphenated or stretched
    ".nh",
    ".ad l"
  ]
  const terms: Array<string> = []
  const commands: Array<string> = []
  /** roff to add once the current definition ends (a command's options) */
  let pendingAfterDefinition: Array<string> = []
  const flush = () => {
    out.push(...pendingAfterDefinition)
    pendingAfterDefinition = []
  }
  let i = 1
  const continuation = (): Array<string> => {
    const more: Array<string> = []
    while (i < lines.length && /^ {2}\S/.test(lines[i]!)) more.push(lines[i++]!.slice(2))
    return more
  }
  while (i < lines.length) {
    const line = lines[i]!
    if (line.trim() === "") {
      i++
      continue
    }
    if (line.startsWith("```")) {
      flush()
      const end = lines.indexOf("```", i + 1)
      if (end < 0) throw new ManSourceError(`${file}:${i + 1}: a literal block without its closing \`\`\``)
      out.push(".PP", ".RS 4", ".nf", ...lines.slice(i + 1, end).map((l) => lineSafe(literal(l))), ".fi", ".RE")
      i = end + 1
      continue
    }
    const heading = /^(#{2,3}) (.+)$/.exec(line)
    if (heading !== null) {
      flush()
      out.push(`${heading[1] === "##" ? ".SH" : ".SS"} ${escape(heading[2]!)}`)
      i++
      continue
    }
    if (line === "{{synopsis}}") {
      flush()
      out.push(...synopsis())
      i++
      continue
    }
    if (line.startsWith("- ")) {
      flush()
      i++
      out.push(".IP \\(bu 2", ...[line.slice(2), ...continuation()].map((l) => lineSafe(inline(l))))
      continue
    }
    if (lines[i + 1]?.startsWith(": ")) {
      flush()
      const command = /^\{\{command (\S+)\}\}$/.exec(line)
      if (command !== null) {
        const spec = COMMANDS.find((c) => c.name === command[1])
        if (spec === undefined) throw new ManSourceError(`${file}:${i + 1}: no command ${command[1]} in the command table`)
        commands.push(spec.name)
        out.push(".TP", lineSafe(commandLine(spec)))
        pendingAfterDefinition = commandOptions(spec)
      } else {
        terms.push(line)
        out.push(".TP", lineSafe(inline(line)))
      }
      i++
      // the definition: its first paragraph, then more paragraphs while lines stay indented
      let first = true
      while (i < lines.length && (lines[i]!.startsWith(": ") || (lines[i] === "" && /^ {2}\S/.test(lines[i + 1] ?? "")))) {
        if (lines[i] === "") {
          i++
          out.push(".IP")
        } else if (!first) out.push(".IP")
        first = false
        out.push(...[lines[i++]!.slice(2), ...continuation()].map((l) => lineSafe(inline(l))))
      }
      continue
    }
    if (/^\{\{.*\}\}$/.test(line)) throw new ManSourceError(`${file}:${i + 1}: unknown generated part ${line}`)
    flush()
    const paragraph: Array<string> = []
    while (i < lines.length && lines[i]!.trim() !== "" && !/^(#{2,3} |- |```)/.test(lines[i]!) && !lines[i + 1]?.startsWith(": ")) paragraph.push(lines[i++]!)
    if (paragraph.length === 0) paragraph.push(lines[i++]!)
    out.push(".PP", ...paragraph.map((l) => lineSafe(inline(l.trim()))))
  }
  flush()
  return { roff: `${out.join("\n")}\n`, terms, commands }
}

/** the term documents the key: it starts with the key in backquotes */
export const documents = (term: string, key: string): boolean => {
  const at = term.indexOf(`\`${key}`)
  return at >= 0 && !/[A-Za-z0-9_-]/.test(term.charAt(at + key.length + 1))
}

/** What a page leaves out of what it must document. */
export const missingFrom = (file: string, rendered: ReturnType<typeof renderPage>): ReadonlyArray<string> => {
  if (file === "tiny-cloud.8") return COMMANDS.map((c) => c.name).filter((n) => !rendered.commands.includes(n))
  const required = REQUIRED_TERMS[file]?.() ?? []
  return required.filter((key) => !rendered.terms.some((t) => documents(t, key)))
}

/** Every page of `sources` (file name → markdown), checked. */
export const buildPages = (
  sources: Readonly<Record<string, string>>,
  options: { readonly version: string; readonly date: string }
): ReadonlyArray<Page> =>
  Object.entries(sources).map(([source, text]) => {
    const file = source.replace(/\.md$/, "")
    const rendered = renderPage(file, text, options)
    const missing = missingFrom(file, rendered)
    if (missing.length > 0) throw new ManSourceError(`${source}: not documented: ${missing.join(", ")}`)
    return { file, roff: rendered.roff }
  })
