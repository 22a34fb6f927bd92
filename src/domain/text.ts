const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** bytes as UTF-8 text */
export const textOf = (bytes: Uint8Array): string => decoder.decode(bytes)

/** text as UTF-8 bytes */
export const bytesOf = (text: string): Uint8Array => encoder.encode(text)

/** what was thrown, as text: an Error's message, anything else as a string */
export const messageOf = (thrown: unknown): string => (thrown instanceof Error ? thrown.message : String(thrown))

/**
 * A line break as YAML (PyYAML), Python's email and so cloud-init read one:
 * LF, CR LF, or a CR alone (old Mac line ends). `LINE_BREAK` finds one;
 * `endsLine` says whether the character (or byte) `code`, followed by `next`,
 * ends a line, for counting lines over text or bytes alike.
 */
export const LINE_BREAK = /\r\n?|\n/
export const endsLine = (code: number | undefined, next: number | undefined): boolean => code === 0x0a || (code === 0x0d && next !== 0x0a)

/** non-empty trimmed lines */
export const lines = (text: string): Array<string> =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")

/** trimmed, non-empty, unique, sorted: how `@ssh-keys` lists keys */
export const sortedUnique = (items: Iterable<string>): ReadonlyArray<string> =>
  [...new Set([...items].map((k) => k.trim()).filter((k) => k !== ""))].sort()

/**
 * A value from outside (the network, a configuration) in a message: on one
 * line, control and non-ASCII characters escaped, at most `max` characters
 * of it (then `...`).
 */
export const printable = (text: string, max = 80): string =>
  text
    .slice(0, max)
    .replace(/[^\x20-\x7e]/g, (c) => {
      const code = c.charCodeAt(0)
      return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
    }) + (text.length > max ? "..." : "")

/** a message on one line of printable text, whole: as the log writes it, and the run record keeps it */
export const oneLine = (text: string): string => printable(text, text.length)

/**
 * A URL or endpoint with the user and password before its host (`http://user:pass@host/`,
 * `user:pass@host:80`) hidden as `***@`: a message may name where something is, never the
 * credentials that go with it (BEHAVIOUR.md §4.5). The slashes after the scheme are taken
 * as URL parsers take them, one or more, `\` as `/` (`http:/user:pass@host/` is
 * `http://user:pass@host/` to them). A `?` or `#` before the `@` is taken as part of the
 * password, as its writer meant it (`user:pa?ss@host`), though a URL parser would end the host there.
 * So is a `/` (`user:pa/ss@host`, a base64 token): the values named are those refused, which no
 * URL parser took, so none of their slashes is known to start a path; all before the last `@` is hidden.
 */
export const withoutCredentials = (text: string): string => {
  // the last '@' found by lastIndexOf, not by a regex's '[\s\S]*@' after the optional slashes:
  // that backtracks over every split of a run of '/' (100 KB of them: seconds, 1 MB: minutes)
  const at = text.lastIndexOf("@")
  if (at < 0) return text
  return `${schemeOf(text)}***${text.slice(at)}`
}

/** the scheme and the slashes after it, as withoutCredentials keeps them (`http://`, `//`, or none) */
const schemeOf = (text: string): string => /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?[/\\]+/.exec(text)?.[0] ?? ""

/**
 * A URL that is named as written (one no URL parser took): its credentials hidden as withoutCredentials hides them,
 * and its query, which may carry a token (`?token=...`, a signed URL's), as `?***`, as the lines naming a URL that was
 * asked show it
 */
export const withoutSecrets = (text: string): string => {
  const query = text.indexOf("?")
  if (query < 0) return withoutCredentials(text)
  const at = text.lastIndexOf("@")
  if (at < query) return `${withoutCredentials(text.slice(0, query))}?***`
  // an `@` after the `?` ends a password that holds a `?` (`user:pa?ss@host:8080/seed/`: the host and path are shown) or
  // stands in the query (`?email=me@example.org&token=...`), which withoutCredentials would show from it on: no host or
  // path holds a `=`, `&` or `;`, and all after the scheme is hidden then
  return /^@[\w.~%:[\]/-]*$/.test(text.slice(at)) ? withoutCredentials(text) : `${schemeOf(text)}***?***`
}

/**
 * The `Authorization` header of the user and password a URL carries
 * (`http://user:pass@host/`), as Python's requests (and so cloud-init) sends
 * them: percent-decoded as Python's `unquote` does it (a `%` without two hex
 * digits stays as written, where decodeURIComponent throws); each character
 * of them is one byte. Undefined for a URL without a user and password.
 */
export const basicAuthorization = (url: URL): string | undefined => {
  // a password without a user (`http://:token@host/`) is sent too, as requests sends it (':token')
  if (url.username === "" && url.password === "") return undefined
  const unquote = (text: string): string =>
    Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1").toString("utf8")
  return `Basic ${Buffer.from(`${unquote(url.username)}:${unquote(url.password)}`).toString("base64")}`
}

/**
 * A value from outside in a message as a JSON string of at most `max` of its
 * characters: JSON escapes the control characters below space, and every
 * other character outside printable ASCII is escaped as `\\uXXXX` too (DEL,
 * U+009B, which the Linux console takes for CSI, a right-to-left override).
 */
export const quoted = (text: string, max: number): string =>
  JSON.stringify(text.slice(0, max)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * `text` without the run of `char` it ends with. A loop: `/c+$/` tries
 * every start in a long run of `c` that does not end the text, quadratic
 * time (100 KB of `=` then a letter: seconds; a 16 MB user-data: hours).
 */
export const withoutTrailing = (text: string, char: string): string => {
  let end = text.length
  while (end > 0 && text[end - 1] === char) end--
  return text.slice(0, end)
}
