/**
 * `/etc/network/interfaces` as `assemble-interfaces` builds it from the
 * stanza files of `/etc/network/interfaces.d/` (BEHAVIOUR.md §8). A
 * stanza's text is its file's bytes, one character each (latin1): they are
 * copied as they are, whatever their encoding.
 */

export const INTERFACES_HEADER =
  "# NOTE: /sbin/assemble-interfaces rewrites this file.  Edit files in\n" + "#      /etc/network/interfaces.d/ to persist any customizations.\n\n"

/** the template of a NIC's stanza, `%%` standing for its name */
export const DEFAULT_STANZA = "DEFAULT"

/** what the shipped `interfaces.d/lo` holds: used when that file is missing (DEFAULT is a NIC's template, not the loopback's) */
export const LOOPBACK_STANZA = "auto lo\niface lo\n  use link\n  use loopback\n"

export const isEthName = (name: string): boolean => name.startsWith("eth")

/** interface names by their sysfs `ifindex` (one that is no number last), then by name: the kernel's order of the NICs */
export const byIfindex = (found: ReadonlyArray<{ readonly name: string; readonly ifindex: string | undefined }>): ReadonlyArray<string> =>
  found
    .map(({ name, ifindex }) => ({ name, index: Number(ifindex?.trim() ?? "") || Number.MAX_SAFE_INTEGER }))
    .sort((a, b) => a.index - b.index || a.name.localeCompare(b.name))
    .map((e) => e.name)

const numberOf = (name: string): number => {
  const m = /^eth(\d+)/.exec(name)
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER
}

/**
 * `lo` and the `eth*` interfaces present, in the file's order: `lo` first,
 * then by number (eth2 before eth10). `lo` always: every system has it, even
 * where sysfs does not show it (an image's ROOT, a chroot)
 */
export const interfaceOrder = (present: ReadonlyArray<string>): ReadonlyArray<string> => [
  "lo",
  ...present.filter(isEthName).sort((a, b) => numberOf(a) - numberOf(b) || (a < b ? -1 : a > b ? 1 : 0))
]

/** the stanza files that follow the interfaces': every other file, by name; a gone NIC's `eth*` file is left out */
export const otherStanzas = (files: ReadonlyArray<string>): ReadonlyArray<string> =>
  files.filter((f) => f !== DEFAULT_STANZA && f !== "lo" && !isEthName(f) && !f.startsWith(".")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * the most the stanza files may hold together: an interfaces file is a few
 * lines a NIC, and a file put in interfaces.d by mistake (a log, an image)
 * would take the instance's memory, or more than a string may hold
 */
export const INTERFACES_MAX_BYTES = 1024 * 1024

export const stanzaFromDefault = (template: string, iface: string): string => template.split("%%").join(iface)

/**
 * the header, then each stanza followed by one blank line: its line ends as
 * LF (a CRLF file's too, which ifupdown-ng reads alike) and its trailing
 * blank lines dropped
 */
export const interfacesText = (stanzas: ReadonlyArray<string>): string =>
  INTERFACES_HEADER + stanzas.map((s) => `${withoutTrailingBlankLines(s.replace(/\r\n?/g, "\n"))}\n\n`).join("")

/**
 * the text up to the line end after its last non-blank character, in one pass (`/\n\s*$/` tries each line end of a
 * run of blank lines to the text's end: a stanza file of 80,000 empty lines then a character took 13 s, one of 1 MiB
 * half an hour, with the lock held). Blanks are ASCII's: a byte 0xA0 may end a UTF-8 character (`à`)
 */
const withoutTrailingBlankLines = (text: string): string => {
  let last = text.length
  while (last > 0 && isBlank(text.charCodeAt(last - 1))) last--
  const end = text.indexOf("\n", last)
  return end < 0 ? text : text.slice(0, end)
}

/** space, tab, LF, VT, FF, CR */
const isBlank = (code: number): boolean => code === 0x20 || (code >= 0x09 && code <= 0x0d)
