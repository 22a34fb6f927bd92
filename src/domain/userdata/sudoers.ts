/**
 * A user's sudo rule as sudoers reads what follows the user's name on a line
 * of its own: `HOSTS = [(RUNAS)] [OPTIONS] [TAGS:] COMMAND, ...`, more host
 * lists after `:`. A line sudoers cannot parse makes sudo refuse, or skip it
 * with an error at every use, so a rule is written only when this reading
 * accepts it. The reading is sudoers' (its lexer's tokens, longest first, and
 * its grammar), narrowed where sudo builds differ or where a form is rare:
 * quotes and `\` outside a command's arguments, regular expressions,
 * NOTBEFORE/NOTAFTER, SELinux, AppArmor and Solaris options, IPv6 hosts and
 * several digests are refused (one, hexadecimal or base64, is read), as an older or another build may refuse them.
 */

/** the tags sudoers reads before a command (`NOPASSWD:`) */
const TAGS = new Set([
  "PASSWD", "NOPASSWD", "EXEC", "NOEXEC", "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT", "LOG_OUTPUT", "NOLOG_OUTPUT",
  "MAIL", "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT"
])
/** the digests' lengths in bytes */
const DIGESTS: Readonly<Record<string, number>> = { sha224: 28, sha256: 32, sha384: 48, sha512: 64 }
/**
 * a digest of `bytes` as sudoers reads one: in hexadecimal, or in base64 (as `openssl dgst -binary | base64`
 * writes it) with its `=` padding or without
 */
const isDigest = (text: string, bytes: number): boolean => {
  const unpadded = Math.floor((4 * bytes + 2) / 3)
  const padding = 4 * Math.ceil(bytes / 3) - unpadded
  return new RegExp(`^(?:[0-9A-Fa-f]{${2 * bytes}}|[A-Za-z0-9+/]{${unpadded}}(?:={${padding}})?)$`).test(text)
}
/** options one build reads and another takes for an alias (SELinux, AppArmor, Solaris), or whose dates are rare */
const REFUSED_WORDS = new Set(["ROLE", "TYPE", "APPARMOR_PROFILE", "PRIVS", "LIMITPRIVS", "NOTBEFORE", "NOTAFTER"])
/** a WORD's characters in sudoers' lexer, backslash escapes left out */
const WORD = /^[^#>!=:,() \t\r\n\\"]+/
const ALIAS = /^[A-Z][A-Z0-9_]*$/
/** `1d2h3m4s`, each part optional, or seconds */
const TIMEOUT = /^(?:\d+|(?=\d)(?:\d+[dD])?(?:\d+[hH])?(?:\d+[mM])?(?:\d+[sS])?)$/
/** a directory for CWD= or CHROOT=: `*`, `~`, `~user`, or an absolute path */
const DIRECTORY = /^(?:\*|[~/][^\s,:=\\#"()!>]*)$/
/** a WORD with the escapes sudoers allows in one (`\\` and any character but a tab or a line break) */
const ESCAPED_WORD = /^(?:[^#>!=:,() \t\r\n\\"]|\\[^\t\n])+/
/** a command's path: `/`, then its characters or the specials escaped */
const PATH = /^\/(?:\\[,:= \t#]|[^,:=\\ \t\r\n#])+/

type Token =
  | { readonly kind: "end" | "(" | ")" | "," | "=" | ":" | "!" | "all" | "alias" | "word" | "group" | "netgroup" | "list" }
  | { readonly kind: "tag" | "option" | "digest"; readonly text: string }
  | { readonly kind: "command" }

class Refused extends Error {}
const refuse = (why: string): never => {
  throw new Refused(why)
}

class Reader {
  private at = 0
  private pending: Token | undefined
  constructor(private readonly text: string) {}

  private blanks() {
    while (this.text[this.at] === " " || this.text[this.at] === "\t") this.at++
  }

  peek(): Token {
    this.pending ??= this.scan()
    return this.pending
  }

  next(): Token {
    const token = this.peek()
    this.pending = undefined
    return token
  }

  expect(kind: Token["kind"], what: string) {
    if (this.next().kind !== kind) refuse(`expected ${what}`)
  }

  /** the next token of sudoers' lexer out of a command, `!`s paired away as it pairs them */
  private scan(): Token {
    for (;;) {
      this.blanks()
      const rest = this.text.slice(this.at)
      const c = rest[0]
      if (c === undefined) return { kind: "end" }
      // `#` then a number is a uid (a word); any other `#` starts a comment, to the line's end
      if (c === "#") {
        const id = /^#-?\d+/.exec(rest)
        // (a `#-` ending the line is neither: sudoers' lexer fails on it)
        if (rest === "#-") refuse("ends with #-, which sudoers reads as neither a comment nor an id")
        if (id === null) {
          this.at = this.text.length
          return { kind: "end" }
        }
        this.at += id[0].length
        return { kind: "word" }
      }
      if (c === "(" || c === ")" || c === "," || c === "=" || c === ":") {
        // sudoers reads `a:b:c`-like runs of hex digits and colons as an IPv6 address
        if (c === ":" && /^:(?:[0-9A-Fa-f]{0,4}:)/.test(rest)) refuse("holds an IPv6 address or `::`")
        this.at++
        return { kind: c }
      }
      if (c === "!") {
        const run = /^!+/.exec(rest)![0]
        this.at += run.length
        if (run.length % 2 === 1) return { kind: "!" }
        continue
      }
      if (c === "/") {
        // a word, with its escapes, is read where it is longer than the path: `/bin/l\xs` is no path to sudoers
        const path = PATH.exec(rest)?.[0] ?? ""
        if (path === "" || (ESCAPED_WORD.exec(rest)?.[0].length ?? 0) > path.length) refuse("has a command path sudoers cannot read (a \\ escaping no special character)")
        return this.command(path)
      }
      if (c === "+" || c === "%") {
        const name = (c === "%" ? /^%:?(?:#-?\d+|[^#>!=:,() \t\r\n\\"]+)/ : /^\+[^#>!=:,() \t\r\n\\"]+/).exec(rest)
        if (name === null) refuse(`has a ${c} without a name`)
        this.at += name![0].length
        return { kind: c === "%" ? "group" : "netgroup" }
      }
      if (/^(?:[0-9A-Fa-f]{0,4}:){2}/.test(rest)) refuse("holds an IPv6 address")
      const word = WORD.exec(rest)?.[0]
      if (word === undefined) return refuse("has a character sudoers reads no token from there (a quote, a \\, a >)")
      this.at += word.length
      // a word goes on through a `\` and the character after it, which no keyword or alias then is
      if (this.text[this.at] === "\\") refuse("has a \\ outside a command's arguments")
      if (TAGS.has(word) && /^[ \t]*:/.test(this.text.slice(this.at))) {
        this.blanks()
        this.at++
        return { kind: "tag", text: word }
      }
      if (word === "ALL") return { kind: "all" }
      if (word === "TIMEOUT" || word === "CWD" || word === "CHROOT") return { kind: "option", text: word }
      if (REFUSED_WORDS.has(word)) return refuse(`has ${word}, which not every sudo reads`)
      if (word in DIGESTS) return { kind: "digest", text: word }
      if (word === "sudoedit") return this.command("")
      if (word === "list") return { kind: "list" }
      if (word.startsWith("^") || word.startsWith("@")) return refuse(`has ${word.startsWith("^") ? "a regular expression" : "an @ directive"}, which not every sudo reads`)
      if (ALIAS.test(word)) return { kind: "alias" }
      return { kind: "word" }
    }
  }

  /**
   * A command at its path (`sudoedit` too), then its arguments, up to an unescaped `#`, `:`, `,` or `=` that starts a
   * token of its own, where sudoers goes back to reading tokens; a directory (a path ending in `/`) takes none
   */
  private command(path: string): Token {
    this.at += path.length
    if (path.endsWith("/")) return { kind: "command" }
    let first = true
    for (;;) {
      this.blanks()
      const rest = this.text.slice(this.at)
      const c = rest[0]
      if (c === undefined || c === "#" || c === ":" || c === ",") return { kind: "command" }
      if (c === "\\") {
        // a `\` with only blanks after it continues the line onto the next one, the next rule, in the file
        if (/^\\[ \t]*$/.test(rest)) refuse("ends with a \\, which continues it onto the next line of the file")
        if (!/^\\[*?[\]!^:\\,= \t#]/.test(rest)) refuse("has a \\ in a command that escapes no special character")
        this.at += 2
        first = false
        continue
      }
      const arg = /^[^#\\:, \t\r\n]+/.exec(rest)![0]
      // a lone `=` ends the command (and is then out of place); a first argument starting with `^` is a regular expression
      if (arg === "=") return { kind: "command" }
      if (first && arg.startsWith("^")) refuse("has a regular expression as an argument, which not every sudo reads")
      this.at += arg.length
      first = false
    }
  }

  /** a digest's value after its `:`, hexadecimal or base64 */
  digestValue(): string {
    this.blanks()
    const value = /^[A-Za-z0-9+/=]*/.exec(this.text.slice(this.at))![0]
    this.at += value.length
    return value
  }

  /** the value after an option's `=`, read as sudoers reads a path or a word there */
  optionValue(): string {
    this.blanks()
    const value = /^[^ \t,:=\\#"()!>]+/.exec(this.text.slice(this.at))?.[0] ?? refuse("has an option without a value")
    this.at += value.length
    return value
  }
}

/** `!`s, then a member of a list: the kinds it may be */
const member = (reader: Reader, kinds: ReadonlyArray<Token["kind"]>, what: string) => {
  while (reader.peek().kind === "!") reader.next()
  if (!kinds.includes(reader.next().kind)) refuse(`expected ${what}`)
}

const list = (reader: Reader, kinds: ReadonlyArray<Token["kind"]>, what: string) => {
  member(reader, kinds, what)
  while (reader.peek().kind === ",") {
    reader.next()
    member(reader, kinds, what)
  }
}

const HOSTS: ReadonlyArray<Token["kind"]> = ["all", "alias", "word", "netgroup"]
const RUNAS_USERS: ReadonlyArray<Token["kind"]> = ["all", "alias", "word", "group", "netgroup"]
const RUNAS_GROUPS: ReadonlyArray<Token["kind"]> = ["all", "alias", "word"]

/** `(USERS)`, `(USERS:GROUPS)`, `(:GROUPS)` or `()` */
const runas = (reader: Reader) => {
  reader.next()
  if (reader.peek().kind === ")") return void reader.next()
  if (reader.peek().kind !== ":") list(reader, RUNAS_USERS, "a user to run as")
  if (reader.peek().kind === ":") {
    reader.next()
    list(reader, RUNAS_GROUPS, "a group to run as")
  }
  reader.expect(")", "a ) closing the users to run as")
}

const commandSpec = (reader: Reader) => {
  if (reader.peek().kind === "(") runas(reader)
  for (let token = reader.peek(); token.kind === "option"; token = reader.peek()) {
    reader.next()
    reader.expect("=", `= after ${token.text}`)
    const value = reader.optionValue()
    if (!(token.text === "TIMEOUT" ? TIMEOUT : DIRECTORY).test(value)) refuse(`has a ${token.text} value sudoers cannot read`)
  }
  while (reader.peek().kind === "tag") reader.next()
  const digest = reader.peek()
  if (digest.kind === "digest") {
    reader.next()
    reader.expect(":", `: after ${digest.text}`)
    if (!isDigest(reader.digestValue(), DIGESTS[digest.text]!)) refuse(`has a ${digest.text} digest sudoers cannot read`)
  }
  // a digest is a command's, negated or not (`sha256:... !/bin/ls`); ALL after one only newer builds read
  if (digest.kind === "digest") member(reader, ["command"], "a command's full path after its digest")
  else member(reader, ["all", "alias", "command", "list"], "a command (ALL, an alias or a full path)")
}

/**
 * Why sudoers cannot read `rule` after a user's name, on a line of its own;
 * undefined when it can.
 */
export const sudoRuleUnreadable = (rule: string): string | undefined => {
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(rule)) return "holds a control character (a line break, a NUL)"
  try {
    const reader = new Reader(rule)
    for (;;) {
      list(reader, HOSTS, "a host (ALL, a name or an address) before =")
      reader.expect("=", "= after the hosts")
      commandSpec(reader)
      while (reader.peek().kind === ",") {
        reader.next()
        commandSpec(reader)
      }
      const after = reader.next()
      if (after.kind === "end") return undefined
      if (after.kind !== ":") refuse("has more after a command than sudoers reads (a , or : before another)")
    }
  } catch (e) {
    if (e instanceof Refused) return e.message
    throw e
  }
}

/** sudoers' words that a line may not start with, or that are no user's name there, written in lower case */
const KEYWORDS = new Set(["sha224", "sha256", "sha384", "sha512", "sudoedit"])

/**
 * A user's name as the first word of its sudoers line: in double quotes where
 * sudoers would read it otherwise (`ALL`, everyone; `ADMIN`, an alias;
 * `Defaults`, `Host_Alias`, `sha256`, `sudoedit`, and `1.2.3.4`, an address,
 * which start no user's line):
 * quoted, it is that user's name alone. A name never holds a quote or a `\`.
 */
export const sudoersUser = (name: string): string => (/^[a-z_][a-z0-9_.-]*\$?$/.test(name) && !KEYWORDS.has(name) ? name : `"${name}"`)
