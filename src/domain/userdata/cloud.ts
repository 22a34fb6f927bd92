/** `#cloud-config` onto the model, key by key, as cloud-init reads it (BEHAVIOUR.md §6). */
import { posix } from "node:path"
import * as Schema from "effect/Schema"
import { AlpineRepo, ApkRepos, CloudNtp, CloudPackage, CloudPermissions, CloudWriteFile, FileSource, keepsOwnerSide, ownerSides, SshPwauth } from "../../schema/cloud-config.js"
import { isHostName, PackageName, Text, TimeZone } from "../../schema/fields.js"
import { ipv4, ipv6 } from "../ip.js"
import { ansiC } from "../resident.js"
import { truthOf } from "../truth.js"
import { commandsReader, flagReader, ignoreOthers, nonEmpty, ntpClientOf, pythonText, readSshKeys, toFile, type ReadContext } from "./common.js"
import { cloudMode } from "./content.js"
import { readDocument, type DocumentRead, type Reader } from "./document.js"
import { DONE_ANYWAY_NULL_READ, DONE_ANYWAY_READERS } from "./done-anyway.js"
import { DEFAULT_ALPINE_MIRROR, emptyUserConfig, type ApkRepository, type Command, type UserConfig } from "./model.js"
import { asMap, decodeEach, decodeOr, type Key, type Notes, show } from "./notes.js"
import { readGroups, readUsers } from "./users.js"
import { bytesOf, textOf } from "../text.js"

/**
 * A host name as given; `_` is not allowed in one, so it becomes `-` (with a
 * warning) rather than the name being refused.
 */
const FILE_SOURCE_KEYS: ReadonlySet<string> = new Set(["uri", "headers"])

const HostNameText = Text.annotations({ description: "a host name such as web-1 or web-1.example.com" })

const hostName = (value: unknown, path: ReadonlyArray<Key>, notes: Notes): string | undefined => {
  // said by fromCloudConfig, which knows whether the other of hostname and fqdn names the host
  if (typeof value === "string" && value.trim() === "") return undefined
  // a number (`hostname: 1042`, a template's index) is its text, as cloud-init's str() makes it: digits are a name
  const text = typeof value === "number" ? pythonText(value) : decodeOr(HostNameText, value, path, notes)
  if (text === undefined) return undefined
  const name = text.trim().replace(/\.$/, "")
  const fixed = name.replace(/_/g, "-")
  // a name whose own label is one but whose domain is not still names the host by that label: set_hostname says what it left out
  if (!isHostName(fixed.split(".")[0]!)) {
    notes.skip({ path, message: `expected a host name such as web-1 or web-1.example.com, got ${show(text)}` }, path)
    return undefined
  }
  if (fixed !== name) notes.warn(path, "not a valid host name; it is used with each '_' made '-'")
  return fixed
}

/**
 * cloud-init writes a file whose permissions it cannot read as octal with its
 * default mode, saying so; so does this reading. A number (a boolean is one to
 * Python) it gives chmod as it is, whatever it is (-1 makes 07777), a fraction
 * made an integer first: here one that is no mode gets the default too, said as what it is.
 */
const withoutUnreadableModes = (value: unknown, path: ReadonlyArray<Key>, notes: Notes): unknown =>
  Array.isArray(value)
    ? value.map((raw: unknown, i) => {
        const entry = asMap(raw)
        const mode = entry?.["permissions"]
        if (entry === undefined || mode === undefined || mode === null || Schema.is(CloudPermissions)(mode)) return raw
        // a fraction (`384.9`, a float to YAML) cloud-init makes an integer (`int(perm)`) before chmod: 384, 0600
        if (typeof mode === "number" && Number.isFinite(mode) && Schema.is(CloudPermissions)(Math.trunc(mode))) return { ...entry, permissions: Math.trunc(mode) }
        const message =
          typeof mode === "number" || typeof mode === "boolean"
            ? "not a file mode (an integer from 0 to 0o7777); the file gets 0644, where cloud-init would give the number to chmod as it is"
            : "not a mode cloud-init can read (it gives the file its default 0644 too); the file gets 0644"
        // unusable: in a jinja template, an expression that cloud-init would render is why (parse.ts says so)
        notes.unusable([...path, i, "permissions"], message)
        const { permissions: _unreadable, ...rest } = entry
        return rest
      })
    : value

/**
 * A `source` whose headers cloud-init's fetch refuses (a value that is no
 * string, such as a number, or not on one line; a name that is no token)
 * fails there, and cloud-init writes the content instead: so does this
 * reading, saying so. One without content is left as it is, to be skipped
 * with the header named, as cloud-init skips an entry with nothing to write.
 */
const withoutUnusableHeaders = (value: unknown, path: ReadonlyArray<Key>, notes: Notes): unknown =>
  Array.isArray(value)
    ? value.map((raw: unknown, i) => {
        const entry = asMap(raw)
        const source = asMap(entry?.["source"])
        if (entry === undefined || source === undefined || source["headers"] === undefined || source["headers"] === null || Schema.is(FileSource)(source)) return raw
        const { headers: _refused, ...withoutHeaders } = source
        if (!Schema.is(FileSource)(withoutHeaders) || entry["content"] === undefined || entry["content"] === null) return raw
        notes.warn([...path, i, "source", "headers"], "not headers cloud-init can send (each a name and a value on one line, as strings): its fetch fails, and the content is used")
        const { source: _unused, ...rest } = entry
        return rest
      })
    : value

/**
 * The owner as `chown` takes it, with what cloud-init leaves unchanged left
 * out: `user:group`, `user`, `:group`, or empty when neither side changes.
 * (`user:` would give chown the user's login group, which cloud-init does not.)
 */
const chownOwner = (owner: string): string => {
  const [user, group] = ownerSides(owner)
  const u = keepsOwnerSide(user) ? "" : user
  return keepsOwnerSide(group) ? u : `${u}:${group!}`
}

/** the variable cloud-init sets for bootcmd, as a shell word (not a part of OLD_INSTANCE_IDS) */
const INSTANCE_ID = /(?<![A-Za-z0-9_])INSTANCE_ID(?![A-Za-z0-9_])/

/**
 * `cloud-init-per FREQUENCY NAME COMMAND...` (cloud-init's own bootcmd
 * example, AWS's launch templates), a program of cloud-init's that runs
 * COMMAND once per FREQUENCY; these commands run on the first boot alone,
 * where that is COMMAND itself. A line that starts with it, or a list
 * entry, is made COMMAND; a use elsewhere (after a `;`, in `sh -c`) is named,
 * where the shell takes a command (after `if`, `then`, `command`, `sudo`...):
 * the word in an `echo`, a comment or a `command -v` probe runs nothing, nor
 * does a quoted one (`grep "cloud-init-per" FILE`) unless its frequency
 * follows it (`sh -c 'cloud-init-per once ...'`).
 * NAME is passed over only as one word the shell neither splits nor expands
 * (`mk`, `"my job"`): a line whose name holds a `$` or ends at a `;` is
 * left as written, and named.
 */
const CLOUD_INIT_PER_LINE = /^([ \t]*)cloud-init-per[ \t]+(?:once|instance|always)[ \t]+(?:[^\s'"\\;&|<>()`$#]|'[^'\n]*'|"[^"\\`$\n]*")+[ \t]+(?=\S)/gm
/** the programs that run the word after them as a command (`sudo cloud-init-per ...`), in a line or a list */
const RUNS_NEXT = ["command", "sudo", "doas", "exec", "nohup", "env", "xargs", "time", "nice", "ionice", "timeout", "setsid", "stdbuf"]
const FREQUENCIES = ["once", "instance", "always"]
const FREQUENCY = `(?:${FREQUENCIES.join("|")})(?![\\w.-])`
const RUNNER = `(?<![\\w.-])(?:${RUNS_NEXT.join("|")})`
/** where the shell takes a command: the start, its separators, the reserved words that take one and the runners */
const AT_COMMAND = `(?:^|[;&|(){}\`!]|\\$\\(|(?<![\\w.-])(?:if|while|until|then|do|else|elif)|${RUNNER})`
/** a plain word of a simple command: an assignment's value (`FOO=1`), an option's */
const WORD = "[^\\s;&|()<>'\"`]+"
/**
 * What a runner takes before the command it runs: an option (`-E`,
 * `--user=bob`), a bare one's value (`-u bob`, `-iu bob`, `-n 10`), an assignment
 * (`env FOO=1`) or a number (`timeout 60`); any other word is that command
 * (`sudo -u bob echo cloud-init-per once` runs echo).
 */
const RUNNER_ARG = `(?:(?:-[A-Za-z]+|--[\\w-]+)(?:[ \\t]+(?!-)${WORD})?|-${WORD}|[A-Za-z_][A-Za-z0-9_]*=${WORD}?|[0-9]${WORD}?)`
/** the programs whose `-c` runs its value as a script (`sh -c`, `bash -lc`, `su bob -c`), a path to them included */
const SHELLS = ["sh", "ash", "dash", "bash", "zsh", "ksh", "mksh", "su", "runuser"]
const SCRIPT_OPTION = `(?<![\\w.-])(?:(?:${SHELLS.join("|")})(?:[ \\t]+${WORD}){0,3}?[ \\t]+-[A-Za-z]*c|eval)`
/**
 * In a line: at a command, after its assignments (`FOO=1 cloud-init-per`);
 * after a runner's options and their values, its frequency after it (`sudo
 * -u bob cloud-init-per once ...`, `timeout 60 cloud-init-per once ...`);
 * quoted, only at a command or as the script a shell's `-c` or `eval` runs,
 * its frequency after it (`sh -c 'cloud-init-per once ...'`, not `grep -c
 * "cloud-init-per once" FILE`).
 */
const CLOUD_INIT_PER = new RegExp(
  `${AT_COMMAND}[ \\t]*(?:[A-Za-z_][A-Za-z0-9_]*=${WORD}?[ \\t]+){0,8}cloud-init-per(?![\\w.-])` +
    `|${RUNNER}(?:[ \\t]+${RUNNER_ARG}){1,4}[ \\t]+cloud-init-per[ \\t]+${FREQUENCY}` +
    `|(?:${AT_COMMAND}|${SCRIPT_OPTION})[ \\t]*['"][ \\t]*cloud-init-per['"]?[ \\t]+${FREQUENCY}`,
  "m"
)
/** a list's argument a shell's `-c` or `eval` runs as a script (`[sh, -c, SCRIPT]`, `[su, -c, SCRIPT, bob]`, not `[grep, -c, WORD, FILE]`) */
const isScriptArgument = (argv: ReadonlyArray<string>, i: number): boolean =>
  argv[i - 1] === "eval" ||
  (/^-[A-Za-z]*c$/.test(argv[i - 1] ?? "") && argv.slice(0, i - 1).some((word) => SHELLS.includes(word.slice(word.lastIndexOf("/") + 1))))
/** a list's word a runner takes before its command, as RUNNER_ARG in a line; a bare option takes the next word as its value */
const runnerArgWords = (argv: ReadonlyArray<string>, at: number): number =>
  RUNS_NEXT.includes(argv[at]!) || /^(?:-.|[A-Za-z_][A-Za-z0-9_]*=|[0-9])/.test(argv[at] ?? "")
    ? /^(?:-[A-Za-z]+|--[\w-]+)$/.test(argv[at]!) && argv[at + 1] !== undefined && !/^-|^cloud-init-per$/.test(argv[at + 1]!)
      ? 2
      : 1
    : 0
/**
 * A list runs its first word, or the first after those that run the next,
 * or after their options and values with the frequency after it (`[sudo,
 * -u, bob, cloud-init-per, once, ...]`, not `[sudo, echo, cloud-init-per,
 * once]`): its words are never the shell's syntax (`;`, `then`).
 */
const listRunsCloudInitPer = (argv: ReadonlyArray<string>): boolean => {
  const first = argv.findIndex((word) => !RUNS_NEXT.includes(word))
  if (argv[first] === "cloud-init-per") return true
  if (first <= 0) return false
  let at = first
  for (let args = 0; args < 4 && argv[at] !== "cloud-init-per"; args++) {
    const words = runnerArgWords(argv, at)
    if (words === 0) return false
    at += words
  }
  return argv[at] === "cloud-init-per" && FREQUENCIES.includes(argv[at + 1] ?? "")
}

/** a delimiter's word without its quotes and escapes, as the shell ends the here-document at it */
const DELIMITER_QUOTES = /\$'((?:[^'\\\n]|\\.)*)'|'([^'\n]*)'|"([^"\n]*)"|\\(.)/g

/**
 * a here-document's operator and delimiter (`<<EOF`, `<<-'EOF'`, `<< "EOF"`), not a here-string (`<<<`) nor a shift (`1<<2`);
 * a quoted string (`"a\"b"` and `$'a\'b'` with their escapes), an escaped character, an arithmetic expansion (one level of parentheses in it), a parameter expansion and a
 * comment (a `#` that starts a word, after a blank or an operator; after a subshell's `)`, not a `$(...)`'s, which the word goes on after) are passed over whole, so that the `<<` in
 * `sed 's/<<HOST>>/web1/'`, `echo "<<EOF"`, `$(((x << y)))`, `${x#<<}` or `a;# <<EOF` opens none. A carriage return is no blank to the shell:
 * `<<EOF\r` ends at `EOF\r` (a string of CRLF lines). A string the line does not close goes on on the next line.
 * The delimiter is one word however its parts are quoted (`<<"E"OF`, `<<E\OF`, `<<'EOF'\r`, `<<$'EOF'`): the word without its quotes
 * (a `$'...'` part with its escapes decoded, as busybox ash and bash end the here-document at `EOF`; one the line does not close runs to its end)
 */
const HEREDOC = /(?<![<0-9])<<(?!<)(-?)[ \t]*((?:\$'(?:[^'\\\n]|\\.)*(?:'|\\?$)|'[^'\n]*'|"[^"\n]*"|\\.|[^ \t\n;&|<>()'"`\\0-9])(?:\$'(?:[^'\\\n]|\\.)*(?:'|\\?$)|'[^'\n]*'|"[^"\n]*"|\\.|[^ \t\n;&|<>()'"`\\])*)|\$'(?:[^'\\\n]|\\.)*('|\\?$)|'[^'\n]*('|$)|"(?:[^"\\\n]|\\.)*("|\\?$)|\\.|\$\(\((?:[^()\n]|\([^()\n]*\))*\)\)|\$\{[^{}$\n]*\}|(?:^|(?<=[ \t;&|(])|(?<=(?:^|[^)])\))(?<!\$\([^()\n]*\)))#.*/g
/** a `$'...'` part's text (between its quotes) with its escapes decoded: ansiC reads and gives bytes, the line is text */
const ansiCText = (text: string): string => {
  const bytes = ansiC(`${Array.from(bytesOf(text), (b) => String.fromCharCode(b)).join("")}'`, 0)?.bytes
  return bytes === undefined ? text : textOf(Uint8Array.from(bytes, (c) => c.charCodeAt(0)))
}
/** where a string a line left open ends on a later line: its closing quote, after the escapes `"..."` and `$'...'` have */
const QUOTE_END = { "'": /^[^']*'/, "$'": /^(?:[^'\\]|\\[^])*'/, '"': /^(?:[^"\\]|\\[^])*"/ }

/**
 * A script's lines with whether each is a here-document's body or the
 * delimiter that ends it: data the shell feeds a command (`cat > FILE
 * <<EOF`), never a command of its own, so never read or rewritten as one;
 * so is a line that starts in a quoted string an earlier line opened.
 * `expands`: whether the shell expands `$NAME` in such a line (an unquoted
 * delimiter's body, a double-quoted string's text, a string's last line:
 * from `from` on, after a single-quoted or `$'...'` string's end).
 */
const heredocLines = (script: string): Array<{ readonly line: string; readonly body: boolean; readonly expands?: boolean; readonly from?: number }> => {
  // the here-documents opened and not ended yet: from `next` on (an index, not shift(), which copies a long list)
  const pending: Array<{ readonly delimiter: string; readonly tabs: boolean; readonly quoted: boolean }> = []
  let next = 0
  let quote: keyof typeof QUOTE_END | undefined
  return script.split("\n").map((line) => {
    const open = pending[next]
    if (open !== undefined) {
      if ((open.tabs ? line.replace(/^\t+/, "") : line) === open.delimiter) {
        next++
        return { line, body: true }
      }
      // the shell expands `$NAME` in the body of a here-document whose delimiter is not quoted
      return { line, body: true, expands: !open.quoted }
    }
    const inString = quote !== undefined
    // where the shell's expansion starts on the line a string ends on: its start in a double-quoted string, else after it
    let from = 0
    let scan = HEREDOC
    if (quote !== undefined) {
      const end = QUOTE_END[quote].exec(line)
      // the shell expands `$NAME` in a double-quoted string's text, and on the line the string ends on in what follows it
      if (end === null) return { line, body: true, expands: quote === '"' }
      // from the string's end on, with the line before it to look behind at
      scan = new RegExp(HEREDOC)
      scan.lastIndex = end[0].length
      if (quote !== '"') from = end[0].length
      quote = undefined
    }
    for (const m of line.matchAll(scan)) {
      // any part of the word quoted (`<<E"OF"`), its body is the file's text, unexpanded
      if (m[1] !== undefined) pending.push({ delimiter: m[2]!.replace(DELIMITER_QUOTES, (_, c, s, d, e) => (c === undefined ? (s ?? d ?? e) : ansiCText(c))), tabs: m[1] === "-", quoted: /['"\\]/.test(m[2]!) })
      else if (m[3] !== undefined && m[3] !== "'") quote = "$'"
      else if (m[4] === "") quote = "'"
      else if (m[5] !== undefined && m[5] !== '"') quote = '"'
    }
    // a here-document's body comes first; a string opened on its operator's line is not followed
    if (pending.length > next) quote = undefined
    return inString ? { line, body: true, expands: true, from } : { line, body: false }
  })
}

/**
 * whether a script uses INSTANCE_ID where the shell expands it: a line of its own, a line of a string an earlier line
 * opened that expands it (`echo "id:` then `$INSTANCE_ID"`), or the body of a here-document whose delimiter is not
 * quoted (`<<EOF`: empty here, the id under cloud-init); a quoted one's (`<<'EOF'`) is a file's text, left as written,
 * the same under both, never named
 */
const scriptUsesInstanceId = (script: string): boolean =>
  heredocLines(script).some(({ line, body, expands, from }) => (!body || expands === true) && INSTANCE_ID.test(line.slice(from ?? 0)))

/** whether a script runs cloud-init-per in a line of its own, not in a here-document's body */
const scriptRunsCloudInitPer = (script: string): boolean => heredocLines(script).some(({ line, body }) => !body && CLOUD_INIT_PER.test(line))

const withoutCloudInitPer = (commands: ReadonlyArray<Command> | undefined, path: ReadonlyArray<Key>, notes: Notes): Array<Command> | undefined =>
  commands?.map((command) => {
    const c: Command =
      command.kind === "shell"
        ? { ...command, script: heredocLines(command.script).map(({ line, body }) => (body ? line : line.replace(CLOUD_INIT_PER_LINE, "$1"))).join("\n") }
        : command.argv[0] === "cloud-init-per" && command.argv.length > 3 && FREQUENCIES.includes(command.argv[1]!)
          ? { ...command, argv: command.argv.slice(3) }
          : command
    // [sudo, cloud-init-per, ...] runs it, [grep, cloud-init-per, FILE] nothing, nor [grep, -c, "cloud-init-per once", FILE]; [sh, -c, SCRIPT] its script
    const uses =
      c.kind === "shell"
        ? scriptRunsCloudInitPer(c.script)
        : listRunsCloudInitPer(c.argv) || c.argv.some((arg, i) => isScriptArgument(c.argv, i) && scriptRunsCloudInitPer(arg))
    if (uses) {
      notes.warn([...path, c.index], "uses cloud-init-per, a program of cloud-init's that Tiny Cloud does not have: it is not found")
    }
    return c
  })

/** where cloud-init's scripts_per_boot, scripts_per_instance and scripts_per_once modules find the programs they run */
const CLOUD_INIT_SCRIPTS = /^\/var\/lib\/cloud\/scripts\/per-(?:boot|instance|once)\/(?=[^/])/

const readFiles: Reader = (value, path, context) => {
  const entries = decodeEach(CloudWriteFile, withoutUnusableHeaders(withoutUnreadableModes(value, path, context.notes), path, context.notes), path, context.notes)
  if (Array.isArray(value)) {
    value.forEach((raw: unknown, i) => {
      ignoreOthers(raw, [...path, i], CloudWriteFile, context.notes)
      ignoreOthers(asMap(raw)?.["source"], [...path, i, "source"], FILE_SOURCE_KEYS, context.notes)
    })
  }
  const files = entries.flatMap(({ index, value: f }) => {
    const at = [...path, index]
    let source = f.source === undefined ? undefined : typeof f.source === "string" ? { uri: f.source, headers: {} } : { uri: f.source.uri ?? "", headers: f.source.headers ?? {} }
    // a header whose name no request can carry (a blank in it, empty) is left out of the record as it is read: said, never dropped unseen
    const rawHeaders = asMap(asMap(asMap((value as ReadonlyArray<unknown>)[index])?.["source"])?.["headers"])
    for (const name of Object.keys(rawHeaders ?? {})) {
      if (source !== undefined && !Object.hasOwn(source.headers, name)) context.notes.warn([...at, "source", "headers", name], "not a header name; that header is not sent")
    }
    // an empty or absent uri (a template's value left empty) is no source to cloud-init: the content is written, empty when there is none
    if (source?.uri === "") source = undefined
    if (source !== undefined && !/^https?:\/\/[^/?#]/i.test(source.uri)) {
      context.notes.warn([...at, "source", "uri"], "only http and https sources are fetched; content is used")
      source = undefined
      if (f.content === undefined) {
        context.notes.skip({ path: [...at, "source", "uri"], message: "no source to fetch and no content" }, at)
        return []
      }
    }
    const owner = f.owner === undefined ? undefined : chownOwner(f.owner)
    const file = toFile({ ...f, source, owner, mode: f.permissions === undefined ? undefined : cloudMode(f.permissions) }, at, index, context, true)
    if (file === undefined) return []
    const scripts = CLOUD_INIT_SCRIPTS.exec(posix.normalize(file.path))
    if (scripts !== null) context.notes.warn([...at, "path"], `cloud-init runs the programs in ${scripts[0]}; Tiny Cloud writes the file but does not run it`)
    return { ...file, ownsNewDirectories: true }
  })
  const kept = nonEmpty(files, value)
  return kept === undefined ? undefined : { writeFiles: kept }
}

const readPackages: Reader = (value, path, { notes }) => {
  // cloud-init reads the key with get_cfg_option_list: a string is the one package it names
  if (typeof value === "string") {
    const name = decodeOr(PackageName, value, path, notes)
    if (name === undefined) return undefined
    notes.warn(path, "a string, not a list; read as one package, as cloud-init reads it")
    return { packages: [name] }
  }
  const entries = decodeEach(CloudPackage, value, path, notes)
  if (entries.length === 0 && !(Array.isArray(value) && value.length === 0)) return undefined
  const packages = entries.flatMap(({ index, value: p }) => {
    if (typeof p === "string") return [p]
    // cloud-init writes a pair as NAME=VERSION with Python's str(), and a pair without a version (null, false, 0, "") as the name
    if (Array.isArray(p)) {
      // a one-item list: Alpine's install_packages gives it to expand_package_list, which installs its name (the generic
      // Distro._validate_entry, which refuses it and every package with it, is not Alpine's); cloud-init's schema wants a pair
      if (p.length === 1) notes.warn([...path, index], "a one-item list, not the [name, version] pair cloud-init's schema asks for: installed as the name alone, as cloud-init installs it on Alpine")
      return [p[1] === undefined || p[1] === null || p[1] === false || p[1] === 0 || p[1] === "" ? p[0] : `${p[0]}=${pythonText(p[1])}`]
    }
    for (const manager of Object.keys(p)) notes.ignore([...path, index, manager])
    return []
  })
  return { packages }
}

/**
 * The map without the flags among `keys` written as an empty string (a
 * template's value left empty), which cloud-init reads as the key's default:
 * `get_cfg_option_bool` and a template's `if` as false, `is_false` as not false.
 */
const withoutEmptyFlags = (value: unknown, keys: ReadonlyArray<string>): unknown => {
  const map = asMap(value)
  return map === undefined ? value : Object.fromEntries(Object.entries(map).filter(([key, flag]) => !(keys.includes(key) && flag === "")))
}

/**
 * what chrony's `allow` reads without a name to resolve: `all`, an IPv4 address or network written short as chrony
 * takes it (`10`, `10.1/16`), or an IPv6 one, each with an optional `/BITS`
 */
const isAllowedNetwork = (text: string): boolean => {
  const [address = "", bits, ...more] = text.split("/")
  if (more.length > 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) return false
  if (address === "all" && bits === undefined) return true
  // a short one is the address its missing octets as zeros make (`10` is 10.0.0.0)
  const octets = address.split(".")
  if (octets.length <= 4 && ipv4([...octets, "0", "0", "0"].slice(0, 4).join(".")) !== undefined) return bits === undefined || Number(bits) <= 32
  return ipv6(address) !== undefined && (bits === undefined || Number(bits) <= 128)
}

/** cloud-init enables NTP when the key is there, even empty, unless `enabled: false` */
const readNtp: Reader = (value, path, { notes }) => {
  const ntp = value === null ? {} : decodeOr(CloudNtp, withoutEmptyFlags(value, ["enabled"]), path, notes)
  if (ntp === undefined) return undefined
  ignoreOthers(value, path, CloudNtp, notes)
  if (ntp.enabled === false) return {}
  const client = ntpClientOf(ntp.ntp_client, [...path, "ntp_client"], notes)
  // each entry skipped is named at its own place (a jinja expression in it then said as what it is)
  const names = (list: ReadonlyArray<string> | undefined, key: string) =>
    (list ?? []).filter((name, index) => {
      const usable = /^[A-Za-z0-9.:_[\]/-]+$/.test(name)
      if (!usable) notes.problem([...path, key, index], "not a host name or network; skipped")
      // chronyd reads a host name in `allow` by resolving it as it starts, and refuses to start where it cannot (no DNS yet)
      else if (key === "allow" && !isAllowedNetwork(name)) {
        notes.problem([...path, key, index], "not a network chrony's allow reads without DNS (ADDRESS or ADDRESS/BITS), on which chronyd would refuse to start; skipped")
        return false
      }
      return usable
    })
  const settings = { client, servers: names(ntp.servers, "servers"), pools: names(ntp.pools, "pools"), peers: names(ntp.peers, "peers"), allow: names(ntp.allow, "allow"), install: "cloud-init" as const }
  if (client !== "chrony" && settings.allow.length > 0) notes.ignore([...path, "allow"])
  if (client === "openntpd" && settings.peers.length > 0) notes.ignore([...path, "peers"])
  return { ntp: settings }
}

const readApkRepos: Reader = (value, path, { notes }) => {
  const map = asMap(value)
  const alpineRepo = map?.["alpine_repo"]
  const flags = alpineRepo === undefined ? {} : { alpine_repo: withoutEmptyFlags(alpineRepo, ["community_enabled", "testing_enabled"]) }
  const apk = decodeOr(ApkRepos, map === undefined ? value : { ...asMap(withoutEmptyFlags(map, ["preserve_repositories"])), ...flags }, path, notes)
  if (apk === undefined) return undefined
  ignoreOthers(value, path, ApkRepos, notes)
  ignoreOthers(asMap(value)?.["alpine_repo"], [...path, "alpine_repo"], AlpineRepo, notes)
  const none = { apk: { repositories: [], configured: true, replaceRepositories: false } }
  const repo = apk.alpine_repo
  if (apk.preserve_repositories === true) {
    if (repo !== undefined || apk.local_repo_base_url !== undefined) notes.warn(path, "preserve_repositories is true; repositories left alone")
    return none
  }
  if (repo === undefined) {
    if (apk.local_repo_base_url !== undefined) notes.warn([...path, "local_repo_base_url"], "ignored without alpine_repo")
    return none
  }
  // cloud-init skips the module without a version (a template's empty value): lines without one are no repositories
  if (repo.version.trim() === "") {
    notes.warn([...path, "alpine_repo", "version"], "empty; repositories left alone, as cloud-init leaves them")
    return none
  }
  // cloud-init's template takes a string that is not empty as true ("false" adds the repository): read by its word here, said
  for (const key of ["community_enabled", "testing_enabled"]) {
    const flag = asMap(alpineRepo)?.[key]
    if (typeof flag === "string" && truthOf(flag) === false) {
      notes.warn([...path, "alpine_repo", key], "a string, read as false; cloud-init's template takes any string that is not empty as true, and adds the repository")
    }
  }
  const baseUrl = repo.base_url ?? DEFAULT_ALPINE_MIRROR
  const repositories: Array<ApkRepository> = [{ baseUrl, version: repo.version, repos: repo.community_enabled === true ? ["main", "community"] : ["main"] }]
  // edge's testing as a repository like the others, as cloud-init writes it: its packages install by their names
  if (repo.testing_enabled === true) repositories.push({ baseUrl, version: "edge", repos: ["testing"] })
  // an empty one is none, as cloud-init's template has it
  const local = apk.local_repo_base_url
  if (local !== undefined && local.trim() !== "") repositories.push({ baseUrl: local, version: ".", repos: [repo.version] })
  return { apk: { repositories, configured: true, replaceRepositories: true } }
}

/** cloud-init's reading: true/false and their spellings ("yes", "off"...); `unchanged` or anything else leaves sshd alone */
const readSshPwauth: Reader = (value, path, { notes }) => {
  const decoded = decodeOr(SshPwauth, value, path, notes)
  if (decoded === undefined) return undefined
  const allow = truthOf(decoded)
  if (allow === undefined) {
    if (String(decoded).trim().toLowerCase() !== "unchanged") notes.warn(path, "not true or false; PasswordAuthentication left unchanged")
    return {}
  }
  return { sshPwauth: allow }
}

/**
 * `package_update`/`package_upgrade` and their deprecated names
 * `apt_update`/`apt_upgrade`, which cloud-init reads on every distro: true
 * under either name sets it, and a false one never undoes it.
 */
const packageFlag =
  (field: "packageUpdate" | "packageUpgrade", deprecatedFor?: string): Reader =>
  (value, path, context) => {
    if (deprecatedFor !== undefined) context.notes.warn(path, `deprecated; read as ${deprecatedFor}, as cloud-init does`)
    const read = flagReader(field)(value, path, context)
    return read?.[field] === false ? {} : read
  }

/** cloud-init refreshes the package sources before it upgrades or installs packages */
const withSourcesRefreshed = (config: UserConfig): UserConfig => ({
  ...config,
  packageUpdate: config.packageUpdate || config.packageUpgrade || config.packages.length > 0
})

const READERS: Readonly<Record<string, Reader>> = {
  hostname: (value, path, { notes }) => {
    const name = hostName(value, path, notes)
    return name === undefined ? undefined : { hostname: name }
  },
  fqdn: (value, path, { notes }) => {
    const name = hostName(value, path, notes)
    return name === undefined ? undefined : { fqdn: name }
  },
  groups: (value, path, context) => {
    const groups = readGroups(value, path, context)
    return groups === undefined ? undefined : { groups }
  },
  ssh_authorized_keys: readSshKeys,
  write_files: readFiles,
  bootcmd: (value, path, context) => {
    const bootcmd = withoutCloudInitPer(commandsReader("bootcmd", pythonText, true)(value, path, context)?.bootcmd, path, context.notes)
    // cloud-init runs bootcmd with INSTANCE_ID set to the instance's id; this edition sets none, so a command that uses it is told
    for (const c of bootcmd ?? []) {
      // [sh, -c, SCRIPT] as a string's script
      const uses = c.kind === "shell" ? scriptUsesInstanceId(c.script) : c.argv.some((arg, i) => (isScriptArgument(c.argv, i) ? scriptUsesInstanceId(arg) : INSTANCE_ID.test(arg)))
      if (uses) {
        context.notes.warn([...path, c.index], "uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty")
      }
    }
    return bootcmd === undefined ? undefined : { bootcmd }
  },
  runcmd: (value, path, context) => {
    const runcmd = withoutCloudInitPer(commandsReader("runcmd", pythonText, true)(value, path, context)?.runcmd, path, context.notes)
    return runcmd === undefined ? undefined : { runcmd }
  },
  packages: readPackages,
  package_update: packageFlag("packageUpdate"),
  package_upgrade: packageFlag("packageUpgrade"),
  apt_update: packageFlag("packageUpdate", "package_update"),
  apt_upgrade: packageFlag("packageUpgrade", "package_upgrade"),
  // cloud-init's deprecated name of package_reboot_if_required (either one true reboots): read as that key is
  apt_reboot_if_required: (value, path, context) => {
    context.notes.warn(path, "deprecated; read as package_reboot_if_required, as cloud-init does")
    return DONE_ANYWAY_READERS["package_reboot_if_required"]!(value, path, context)
  },
  ntp: readNtp,
  apk_repos: readApkRepos,
  timezone: (value, path, { notes }) => {
    if (typeof value === "string" && value.trim() === "") {
      notes.warn(path, "empty; the time zone is left alone")
      return undefined
    }
    const timezone = decodeOr(TimeZone, value, path, notes)
    return timezone === undefined ? undefined : { timezone }
  },
  ssh_pwauth: readSshPwauth,
  ...DONE_ANYWAY_READERS
}

const USER_KEYS: ReadonlySet<string> = new Set(["user", "users", "system_info"])

/** every top-level key carried out (the others are named as ignored) */
export const CLOUD_CONFIG_KEYS: ReadonlyArray<string> = [...Object.keys(READERS), ...USER_KEYS]

/** `system_info.default_user`, carried out as the default user; the rest of system_info (the image's paths, mirrors...) named as ignored */
const systemDefaultUser = (systemInfo: unknown, notes: Notes): unknown => {
  if (systemInfo === undefined || systemInfo === null) return undefined
  const map = asMap(systemInfo)
  if (map === undefined) {
    notes.ignore(["system_info"])
    return undefined
  }
  for (const key of Object.keys(map)) if (key !== "default_user") notes.ignore(["system_info", key])
  return map["default_user"]
}

export const fromCloudConfig = (raw: unknown, context: ReadContext): DocumentRead & { readonly config: UserConfig } => {
  const read = readDocument(raw, READERS, context, "#cloud-config", { nullMeans: new Set(["ntp", ...DONE_ANYWAY_NULL_READ]), elsewhere: USER_KEYS })
  const doc = asMap(raw) ?? {}
  const users = readUsers(doc["user"], doc["users"], context, systemDefaultUser(doc["system_info"], context.notes))
  // an empty hostname or fqdn (a template's unset variable) is left out: the other names the host where it gives a name
  for (const [key, other] of [["hostname", "fqdn"], ["fqdn", "hostname"]] as const) {
    const value = doc[key]
    if (typeof value !== "string" || value.trim() !== "") continue
    context.notes.warn([key], read.config[other] !== undefined ? `empty; the host is named by ${other}` : "empty; the cloud's host name is kept")
  }
  const config: UserConfig = withSourcesRefreshed({
    ...emptyUserConfig,
    ...read.config,
    ...(users.defaultUser !== undefined ? { defaultUser: users.defaultUser } : {}),
    users: users.users
  })
  return { config, applied: read.applied + (users.applied ? 1 : 0) }
}
