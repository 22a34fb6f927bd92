/**
 * The formats another program defines, read as that program reads them:
 * generated inputs given to the real reader, run as a process, and to this
 * program's parser. tiny-cloud.conf as dash and busybox sh source it
 * (BEHAVIOUR.md 2); base64 as Python's `base64.b64decode` (cloud-init) decodes
 * it; a write_files mode as Python's int(text, 8) (cloud-init) reads it; YAML
 * scalars as PyYAML (cloud-init) resolves them; a user's sudo rules as
 * visudo parses them. Each property
 * checks a batch of inputs with one run of the reader (the Python programs
 * in one python3 for the file), and shrinks a failing batch to the input
 * that fails.
 */
import fc from "fast-check"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { afterAll, expect } from "vitest"
import { decodeBase64, maybeBase64 } from "../../src/clouds/common.js"
import { parseAssignments } from "../../src/domain/shell-words.js"
import { octalMode } from "../../src/schema/cloud-config.js"
import { fromBase64 } from "../../src/domain/userdata/content.js"
import { sudoRuleUnreadable } from "../../src/domain/userdata/sudoers.js"
import { loadYaml } from "../../src/domain/userdata/yaml.js"
import { pythonRunner } from "../support/python.js"
import { describeSystem, itSystem, pythonHaving, which } from "../support/system.js"

/** the python3 that has PyYAML where there is one (the YAML group needs it; the others any python3) */
const PYTHON = pythonHaving(["yaml"]) ?? "python3"

/** what a Python program given `input` as JSON on its stdin prints as JSON: one python3 for the file's batches */
const runner = pythonRunner(PYTHON)
afterAll(() => runner.close())
const python = <A>(program: string, input: unknown): Promise<A> => runner.run<A>(program, input)

const RUNS = { numRuns: Number(process.env.RUNS ?? 8) }

/**
 * A property over batches of inputs: `read` gives what the reader made of each (one run of it), `check` compares one input's;
 * `examples`, inputs at a bound, checked as one more batch. The batches are of any length up to 150 (fast-check's default
 * size would draw twelve at most).
 */
const eachAgainst = <A, R>(
  inputs: fc.Arbitrary<A>,
  read: (batch: ReadonlyArray<A>) => ReadonlyArray<R> | Promise<ReadonlyArray<R>>,
  check: (input: A, theirs: R) => void,
  examples: ReadonlyArray<A> = []
) =>
  fc.assert(
    fc.asyncProperty(fc.array(inputs, { minLength: 1, maxLength: 150, size: "max" }), async (batch) => {
      const theirs = await read(batch)
      batch.forEach((input, i) => check(input, theirs[i]!))
    }),
    { ...RUNS, examples: examples.length > 0 ? [[examples]] : [] }
  )

// ---- tiny-cloud.conf under sh ----------------------------------------------------------------

const KEYS = ["A", "B", "C"] as const
/**
 * What sh reads as the parser does, and the expansions it would make, which the parser keeps and notes.
 * Left out, as the parser reads them on purpose otherwise: a CR before a line's end (taken off: sh keeps it
 * in the value), `;;` and a leading `;` (sh refuses the file), a NUL (sh drops it), a command substitution (it
 * would run), `$'...'` (busybox's C-style quotes) and `~NAME` (a user's home, if there is one: busybox
 * gives `~a` for `~a/x` when there is none, `~[` for `~[/`).
 */
const bare = fc.constantFrom(..."aZ09/._:@-=#%+,!?*[]{}".split(""), "a$", "$B", "${C}", "$1", "$$x")
const singleQuoted = fc.array(fc.constantFrom(..."a \t\n\"\\#;$`=~".split("")), { maxLength: 5 }).map((cs) => `'${cs.join("")}'`)
const doubleQuoted = fc
  .array(fc.constantFrom("a", " ", "\\\\", '\\"', "\\$", "\\a", "\\\n", "\n", "'", "#", ";", "\\`", "\t", "\\n", "$B", "${A}", "~", "$"), { maxLength: 5 })
  .map((cs) => `"${cs.join("")}"`)
const escaped = fc.constantFrom("\\ ", "\\\\", "\\'", '\\"', "\\;", "\\#", "\\\n", "\\a", "\\$", "\\~")
const value = fc.tuple(fc.constantFrom("", "", "~", "~/x"), fc.array(fc.oneof(bare, singleQuoted, doubleQuoted, escaped), { maxLength: 4 })).map(([first, parts]) => first + parts.join(""))
const assignment = fc.tuple(fc.constantFrom(...KEYS), value).map(([k, v]) => `${k}=${v}`)
const command = fc
  .tuple(fc.boolean(), fc.array(assignment, { minLength: 1, maxLength: 3 }), fc.constantFrom("", " ", "\t", ";", " ;", "; ", " # c'\"", "#x", "; export A", " C"))
  .map(([exported, as, end]) => `${exported ? "export " : ""}${as.join(" ")}${end}`)
const confLine = fc.oneof({ weight: 5, arbitrary: command }, fc.constantFrom("", "# comment 'x", "  ", "export A", "export A B", "export B C=1", "A=1 reboot"))
const confFile = fc
  .array(confLine, { minLength: 1, maxLength: 4 })
  .map((ls) => `${ls.join("\n")}\n`)
  // looked for with the line continuations sh removes first: `$\<newline>''` is busybox's `$''`
  .filter((text) => !/\$['"]|~[^/:\s;]/.test(text.replace(/\\\n/g, "")))

interface Sourced {
  /** sourced without an error (a syntax error, a command not found) */
  readonly ok: boolean
  readonly values: Record<string, string>
}

/** each file sourced by `shell` (`. FILE`, then its variables printed), in one run of it */
const sourced = (shell: ReadonlyArray<string>, files: ReadonlyArray<string>): Array<Sourced> => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-sh-"))
  try {
    files.forEach((text, i) => writeFileSync(join(dir, `f${i}`), text))
    const print = KEYS.map((k) => `printf '%s\\001%s\\002' "\${${k}+set}" "$${k}"`).join("; ")
    // each in a subshell of its own: a syntax error ends only that one
    const script = files.map((_, i) => `( exec 2>f${i}.err; . ./f${i}; ${print} ) >f${i}.out; echo $? >f${i}.rc`).join("\n")
    writeFileSync(join(dir, "run.sh"), script)
    execFileSync(which(shell[0]!)!, [...shell.slice(1), "run.sh"], { cwd: dir, env: { PATH: "/nonexistent", HOME: "/home/h" } })
    return files.map((_, i) => {
      const values: Record<string, string> = {}
      readFileSync(join(dir, `f${i}.out`), "utf8")
        .split("\x02")
        .slice(0, KEYS.length)
        .forEach((printed, j) => {
          const [set, v] = printed.split("\x01")
          if (set === "set") values[KEYS[j]!] = v!
        })
      const ok = readFileSync(join(dir, `f${i}.rc`), "utf8").trim() === "0" && readFileSync(join(dir, `f${i}.err`), "utf8") === ""
      return { ok, values }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const SHELLS = { dash: ["dash"], "busybox sh": ["busybox", "sh"] } as const

describeSystem("tiny-cloud.conf as sh sources it", { tools: { dash: "dash", busybox: "busybox" } }, () => {
  for (const [name, shell] of Object.entries(SHELLS)) {
    itSystem(
      `${name}: a file sh sources without an error gives its values, an expansion sh makes noted; a line the parser refuses, sh refuses too`,
      {},
      () =>
        eachAgainst(confFile, (files) => sourced(shell, files), (text, sh) => {
        const read = parseAssignments(text)
        if (read.problems.length > 0) expect({ text, sh: sh.ok }).toEqual({ text, sh: false })
        if (!sh.ok) return
        expect({ text, problems: read.problems }).toEqual({ text, problems: [] })
        // a value sh expanded is the parser's as written, and noted; every other is sh's
        const ours = Object.fromEntries(Object.entries(read.values).map(([k, v]) => [k, read.unexpanded[k] === undefined ? v : sh.values[k]]))
        expect({ text, values: ours }).toEqual({ text, values: sh.values })
        for (const k of Object.keys(read.unexpanded)) expect({ text, key: k, expanded: read.values[k] !== sh.values[k] }).toEqual({ text, key: k, expanded: true })
      })
    )
  }
})

// ---- base64 under Python ---------------------------------------------------------------------

/** each text as Python's base64.b64decode reads it, without and with validate=True: the bytes in hex, or null where it refuses */
const pythonBase64 = (texts: ReadonlyArray<string>): Promise<Array<readonly [string | null, string | null]>> =>
  python(
    `import sys, json, base64
def decoded(s, validate):
    try: return base64.b64decode(s.encode(), validate=validate).hex()
    except Exception: return None
print(json.dumps([[decoded(s, False), decoded(s, True)] for s in json.load(sys.stdin)]))`,
    texts
  )

const base64Text = fc
  .array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(..."ABCDQUJabc019+/".split("")) }, fc.constantFrom("=", "==", " ", "\n", "\r\n", "\t", "-", "_", "é", "\0", ".")), { maxLength: 14 })
  .map((cs) => cs.join(""))
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
/** an '=' with data after it: Python stops or goes on past it, this program refuses it */
const dataAfterPadding = (text: string) => /=[^A-Za-z0-9+/]*[A-Za-z0-9+/]/.test(text)

describeSystem("base64 as Python's b64decode reads it (cloud-init's write_files, azure, oci, gcp, hetzner)", { tools: { python3: "python3" } }, () => {
  itSystem("the same bytes wherever both decode; what Python decodes refused only where it drops or mixes in data past an '=', or the alphabet is broken (metadata); a missing '=' forgiven", {}, () =>
    eachAgainst(base64Text, pythonBase64, (text, [loose, strict]) => {
      // write_files: characters outside the alphabet dropped, as Python does
      const content = fromBase64(text)
      if (Either.isRight(content) && loose !== null) expect({ text, bytes: hex(content.right.bytes) }).toEqual({ text, bytes: loose })
      if (Either.isLeft(content) && loose !== null) expect({ text, refused: dataAfterPadding(text) }).toEqual({ text, refused: true })
      // a cloud's base64 user-data: only whitespace besides the alphabet
      const datum = decodeBase64(new TextEncoder().encode(text))
      if ("decoded" in datum && loose !== null) expect({ text, bytes: Option.match(datum.decoded, { onNone: () => "", onSome: hex }) }).toEqual({ text, bytes: loose })
      if ("invalid" in datum && loose !== null) expect({ text, refused: dataAfterPadding(text) || /[^A-Za-z0-9+/=\s]/.test(text) }).toEqual({ text, refused: true })
      // hetzner: decoded only when it is exactly one token, which validate=True decodes the same
      const maybe = hex(Option.getOrThrow(maybeBase64(Option.some(new TextEncoder().encode(text)))))
      if (maybe !== hex(new TextEncoder().encode(text))) expect({ text, bytes: maybe }).toEqual({ text, bytes: strict })
    }, ["===", "aGVsbG8===", "aGVsbA====", "aGVsbG8K=", "A==="])
  )
})

// ---- write_files permissions under Python's int(text, 8) ---------------------------------------

/** digits drawn most often, a 1 among them: modes of five digits, just past 07777 (010000, 017777), are drawn too */
const modeText = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom("0", "1", "4", "5", "7") }, fc.constantFrom("_", "0o", "0O", " ", "+", "-", "8", "x", "\t")), { minLength: 1, maxLength: 7 })
  .map((ps) => ps.join(""))

/** each text as cloud-init's decode_perms reads a string: int(text, 8), or null where Python refuses it */
const pythonOctal = (texts: ReadonlyArray<string>): Promise<Array<number | null>> =>
  python(
    `import sys, json
def octal(s):
    try: return int(s, 8)
    except ValueError: return None
print(json.dumps([octal(s) for s in json.load(sys.stdin)]))`,
    texts
  )

describeSystem("a write_files mode as cloud-init's decode_perms reads a string", { tools: { python3: "python3" } }, () => {
  itSystem("the mode Python's int(text, 8) gives, where it is one (0 to 07777); else none, and the file gets 0644 with a warning", {}, () =>
    eachAgainst(
      modeText,
      pythonOctal,
      (text, python) => {
        expect({ text, mode: octalMode(text) }).toEqual({ text, mode: python !== null && python >= 0 && python <= 0o7777 ? python : undefined })
      },
      ["7777", "07777", "0o7777", "10000", "010000", "0o10000"]
    )
  )
})

// ---- YAML scalars under PyYAML ---------------------------------------------------------------

const scalarPiece = fc.constantFrom(..."0 1 7 8 9 12 _ : . e E + - 0x 0b 0o a f yes no on off y n Yes NO True true null Null ~ .inf .nan .Inf 2001-01-01 T Z 1:00:00 e+ E- NaN inf".split(" "), " ")
/** numbers of every YAML 1.1 form, with a leading 0 (octal's, `0800` is none) and base 60 (`01:30` is none) often */
const numberLike = fc.oneof(
  fc.stringMatching(/^[-+]?(?:0[box]?)?[0-9a-f_:.]{1,6}$/),
  fc.stringMatching(/^[-+]?0[0-9_]{1,5}$/),
  fc.stringMatching(/^[-+]?[0-9_]{1,3}(?::[0-9]{1,2}){1,2}(?:\.[0-9]?)?$/)
)
/** plain scalars: none a YAML indicator starts, none with a comment or a mapping in it; none of only a prefix and `_` (`0x_`: Python refuses it) */
const plainScalar = fc
  .oneof(numberLike, fc.array(scalarPiece, { minLength: 1, maxLength: 5 }).map((ps) => ps.join("")))
  .filter((s) => s.trim() === s && !/^[-?:,[\]{}#&*!|>'"%@`]|: | #|:$/.test(s) && !/^[-+]?0[box]?_+$/.test(s))

type Resolved = readonly [kind: "bool" | "int" | "float" | "null" | "date" | "str" | "error", value: string | boolean | null]

/** each scalar as PyYAML's safe_load resolves `k: SCALAR` */
const pyyaml = (scalars: ReadonlyArray<string>): Promise<Array<Resolved>> =>
  python(
    `import sys, json, yaml, datetime
def resolved(s):
    try: v = yaml.safe_load("k: " + s + "\\n")["k"]
    except Exception: return ["error", None]
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float): return ["float", repr(v)]
    if v is None: return ["null", None]
    if isinstance(v, (datetime.date, datetime.datetime)): return ["date", s]
    return ["str", v]
print(json.dumps([resolved(s) for s in json.load(sys.stdin)]))`,
    scalars
  )

/** this program's reading, in PyYAML's terms (a float as Python's repr writes it) */
const ours = (scalar: string): Resolved => {
  const loaded = loadYaml(`k: ${scalar}\n`, 0, new Set())
  if (Either.isLeft(loaded)) return ["error", null]
  const v = (loaded.right.raw as Record<string, unknown>).k
  if (typeof v === "boolean") return ["bool", v]
  if (v === null) return ["null", null]
  if (typeof v === "string") return ["str", v]
  if (typeof v === "bigint") return ["int", String(v)]
  if (typeof v !== "number") return ["error", null]
  const isFloat = /[.]|inf|nan/i.test(scalar) || (/[eE]/.test(scalar) && !/^[-+]?0x/.test(scalar))
  if (!isFloat) return ["int", String(v)]
  return ["float", Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : Number.isInteger(v) ? v.toFixed(1) : String(v)]
}

describeSystem("YAML scalars as cloud-init's PyYAML resolves them", { pythonModules: { yaml: "python3-yaml" } }, () => {
  itSystem("booleans, integers (octal, base 60, a leading 0), floats, nulls as PyYAML's; a date kept as its text", {}, () =>
    eachAgainst(plainScalar, pyyaml, (scalar, [kind, value]) => {
      // a date stays its text, which cloud-init writes back where it takes a string
      const expected: Resolved = kind === "date" ? ["str", scalar] : [kind, value]
      const read = ours(scalar)
      // Python writes large floats with an exponent, JavaScript with digits: compared as numbers
      const same = read[0] === "float" && kind === "float" ? Number(read[1]) === Number(value) || read[1] === value : false
      if (!same) expect({ scalar, read }).toEqual({ scalar, read: expected })
    })
  )
})

// ---- strings and flow collections over several lines, as PyYAML reads them ----------------------

/**
 * A quoted string or a flow list whose lines go on at any indentation, a tab
 * or none (PyYAML takes them; the parser wanted them indented past the block
 * they are in), under a top-level key, a nested key or a list entry.
 */
const word = fc.stringMatching(/^[a-z]{1,4}$/)
const lineBreak = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.boolean()).map(([spaces, tab]) => `\n${" ".repeat(spaces)}${tab ? "\t" : ""}`)
const wordsOverLines = (quote: string) =>
  fc
    .array(fc.tuple(word, fc.option(lineBreak, { nil: " " })), { minLength: 1, maxLength: 6 })
    .map((ws) => ws.map(([w, sep]) => w + sep).join("").trimEnd())
    .map((s) => (quote === "'" ? `'${s.replace(/'/g, "''")}'` : `"${s}"`))
const flowList = fc
  .array(fc.tuple(fc.oneof(word, wordsOverLines('"')), fc.option(lineBreak.map((b) => b.replace(/\t/g, "")), { nil: " " })), { minLength: 1, maxLength: 5 })
  .map((items) => `[${items.map(([item, sep], i) => (i === 0 ? item : `,${sep}${item}`)).join("")}]`)
const continuedValue = fc.oneof(wordsOverLines('"'), wordsOverLines("'"), flowList)
const continuedDocument = fc
  .tuple(fc.constantFrom("k: V\nz: 1\n", "a:\n  b: V\n  c: 1\n", "a:\n  - V\n  - x\n", "a:\n  - b: V\n    c: 1\n", "a:\n- V\n", "a:\n  - echo x\n    [y\n  - V\n", "k: it is\n  'y\nz: V\n", "a:\n  - echo x\n\n    [y\n  - V\n", "k:\n    echo x\n  [y\nz: V\n"), continuedValue)
  .map(([shape, value]) => shape.replace("V", value))

const pyyamlDocuments = (documents: ReadonlyArray<string>): Promise<Array<unknown>> =>
  python(
    `import sys, json, yaml
def loaded(s):
    try: return ["ok", yaml.safe_load(s)]
    except Exception: return ["error", None]
print(json.dumps([loaded(s) for s in json.load(sys.stdin)]))`,
    documents
  )

describeSystem("YAML strings and flow collections over several lines as cloud-init's PyYAML reads them", { pythonModules: { yaml: "python3-yaml" } }, () => {
  itSystem("a line that goes on a quoted string or a [...] at any indentation gives PyYAML's value, never an unclosed quote", {}, () =>
    eachAgainst(
      continuedDocument,
      pyyamlDocuments,
      (document, theirs) => {
        const loaded = loadYaml(document, 0, new Set())
        expect({ document, read: Either.isRight(loaded) ? ["ok", loaded.right.raw] : ["error", null] }).toEqual({ document, read: theirs })
      },
      ['runcmd:\n  - "echo \'first\nsecond\' > /etc/motd"\n', "a:\n  b: [x,\n  y]\n  c: d\n", 'k: "x\n\ty"\n', "a:\n  - - 'x\n  y'\n", "k: [x,\n\ty]\n", 'runcmd:\n  - echo start\n    [x\n  - echo other\n  - "printf a\n  b"\n', 'runcmd:\n  - echo a\n\n    [x\n  - echo b\n  - "c\n  d"\n', "k:\n    echo a\n  [x\nz: [c,\nd]\n"]
    )
  )
})

// ---- sudo rules under visudo ------------------------------------------------------------------

/** the pieces of sudoers' user specifications, and those that break one: escapes, quotes, a `#`, a `:` or `=` out of place */
const sudoPiece = fc.constantFrom(
  ..."ALL,=,(,),:,!,!!, ,\t,NOPASSWD:,NOPASSWD :,SETENV:,NOEXEC:,root,%wheel,%#10,#0,#-1,#-,+ng,web1,WEB_1,10.0.0.0/8,fe80::1,::,x,=x,a=b,a:b,a>b,>,%,+,*,?,[a-z],~,é,-,^a$,^a,$".split(","),
  "/bin/ls", "/usr/bin/", "/bin/l\\xs", "/bin/l\\,s", "sudoedit", "list", "\\", "\\\\", "\\#", "\\ ", "\\:", "\\x", "\\*", '"', '"q"', "#", "# c", "#1",
  "TIMEOUT=5m", "TIMEOUT=x", "CWD=*", "CWD=/tmp", "CWD=rel", "CHROOT=~", "NOTAFTER=20300101", "ROLE=r", `sha256:${"a".repeat(64)}`, "sha256:ab",
  "sha256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=", "sha256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE", "sha256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE==",
  "sha224:VKL3+Spfl12Alq93oSbt2n2mDFqocu8bhxcBrg==", "sha224:VKL3+Spfl12Alq93oSbt2n2mDFqocu8bhxcBrg=", "@include", "(ALL:ALL)", "(:ALL)", "(ALL:)", "()", "(#0:%#0)"
)
const SUDO_STARTS = ["ALL=(ALL) ", "ALL = ", "web1, !web2 = ", "ALL=(root) NOPASSWD: ", "ALL=(ALL) /bin/ls ", "ALL=(ALL) ALL : ", ""]
const sudoRule = fc
  .tuple(fc.constantFrom(...SUDO_STARTS), fc.array(fc.tuple(fc.boolean(), sudoPiece), { minLength: 1, maxLength: 7 }))
  .map(([start, pieces]) => `${start}${pieces.map(([spaced, p]) => (spaced ? ` ${p}` : p)).join("")}`.trim())

/** the lines (from 1) `visudo -c` finds an error on in a file of these lines; an alias referred to and not defined is no error */
const visudoRejects = (lines: ReadonlyArray<string>): ReadonlySet<number> => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-sudoers-"))
  try {
    const file = join(dir, "rules")
    writeFileSync(file, lines.map((l) => `${l}\n`).join(""), { mode: 0o440 })
    let out = ""
    try {
      out = execFileSync(which("visudo")!, ["-c", "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    } catch (e) {
      const failed = e as { stdout?: string; stderr?: string }
      out = `${failed.stdout ?? ""}${failed.stderr ?? ""}`
    }
    const errors = out.split("\n").filter((l) => l.startsWith(`${file}:`) && !/referenced but not defined/.test(l))
    return new Set(errors.map((l) => Number(l.slice(file.length + 1).split(":")[0])))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** rules from cloud-init's documentation and common use, each of which must be written */
const SUDO_EXAMPLES = [
  "ALL=(ALL) NOPASSWD:ALL",
  "ALL=(ALL:ALL) ALL",
  "ALL=(ALL) NOPASSWD: /usr/bin/apk, /sbin/rc-service nginx *",
  "ALL = (root) NOPASSWD: SETENV: /usr/local/bin/deploy --env=prod",
  "web1, !web2 = (ALL) ALL, !/bin/su",
  "ALL=(ALL) TIMEOUT=1h30m CWD=* NOPASSWD: sudoedit /etc/motd",
  "ALL=(ALL) ALL : 10.0.0.0/8 = (root) /bin/ls",
  "ALL=(ALL) /bin/echo a\\,b\\:c",
  // a digest as `openssl dgst -sha256 -binary FILE | base64` writes it, which sudoers(5) documents beside hexadecimal
  "ALL=(ALL) NOPASSWD: sha256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE= /usr/local/bin/backup",
  "ALL=(ALL) sha512:pKvURIxJVi2CgRXROh/M6pJ/UrTVRZKX+LQ+QtqJI4vBNibkPcs43bCCSIkn7JBPtCBXRDmD6IWFF51QVRr+Yg /bin/ls",
  // a command taken back only when it is that file: a digest, then `!`
  "ALL=(ALL) ALL, sha256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE= !/usr/local/bin/backup",
  "ALL=(ALL) ALL # a comment"
]

describeSystem("a user's sudo rules as visudo reads them", { tools: { visudo: "sudo" } }, () => {
  itSystem("a rule written is one visudo parses; one it does not parse is never written", {}, () => {
    for (const rule of SUDO_EXAMPLES) expect({ rule, why: sudoRuleUnreadable(rule) }).toEqual({ rule, why: undefined })
    return eachAgainst(
      sudoRule,
      (rules) => {
        const written = rules.filter((r) => sudoRuleUnreadable(r) === undefined)
        const rejected = visudoRejects(written.map((r) => `someone ${r}`))
        return rules.map((r) => written.indexOf(r)).map((at) => at >= 0 && rejected.has(at + 1))
      },
      (rule, visudoRejected) => expect({ rule, visudoRejected }).toEqual({ rule, visudoRejected: false }),
      [...SUDO_EXAMPLES, "ALL=(ALL) /bin/ls #-", "ALL= /usr/bin/%\\\\\\\\", "ALL = sudoedit\\#é", "ALL=(ALL) /bin/ls \\", "ALL=(ALL) /bin/echo a,b", "ALL=(ALL) NOTBEFORE=bad ALL"]
    )
  })
})
