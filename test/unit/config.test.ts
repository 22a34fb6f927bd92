import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { fileWarnings, nearestKey, parseConfFile, resolveSettings, settingsFrom, settingsFromLeniently } from "../../src/domain/settings.js"
import { parseAssignments } from "../../src/domain/shell-words.js"

const settings = (env: Record<string, string>, file = "") =>
  Either.flatMap(parseConfFile(file), (values) => resolveSettings(env, values))

describe("tiny-cloud.conf", () => {
  it("reads KEY=value lines with comments and both kinds of quotes, evaluating nothing", () => {
    const values = Either.getOrThrow(parseConfFile(`# comment\nCLOUD=aws\nCLOUD_USER="ops user"\nSKIP_INIT_ACTIONS='expand_root  enable_sshd'\nX=$HOME/y # trailing\nexport DEBUG=1\nINIT_ACTIONS_MAIN="\n\tset_hostname\n\tset_ssh_keys\n"\n`))
    expect(values).toEqual({ CLOUD: "aws", CLOUD_USER: "ops user", SKIP_INIT_ACTIONS: "expand_root  enable_sshd", X: "$HOME/y", DEBUG: "1", INIT_ACTIONS_MAIN: "\n\tset_hostname\n\tset_ssh_keys\n" })
  })

  it("takes several assignments on one line, as sh does; a word that is not one is still a problem", () => {
    expect(Either.getOrThrow(parseConfFile("CLOUD=aws CLOUD_USER=bob\tDEBUG='1 2'\n"))).toEqual({ CLOUD: "aws", CLOUD_USER: "bob", DEBUG: "1 2" })
    expect(parseAssignments("CLOUD=aws reboot\n").problems).toEqual([{ line: 1, reason: "unexpected 'reboot' after CLOUD=...; quote values with spaces" }])
  })

  it("joins lines a backslash-newline between words continues, as sh does (CLOUD=aws \\<newline>CLOUD_USER=ops was refused, CLOUD lost)", () => {
    const conf = parseAssignments("CLOUD=aws \\\nCLOUD_USER=ops\nexport DEBUG=1\t\\\n\tHOTPLUG_TYPE='mdev' \\\n# done\n\\\nIMDS_TIMEOUT=3\nSKIP_INIT_ACTIONS=set_hostname \\\n  junk\nX=1\n")
    expect({ ...conf.values }).toEqual({ CLOUD: "aws", CLOUD_USER: "ops", DEBUG: "1", HOTPLUG_TYPE: "mdev", IMDS_TIMEOUT: "3", X: "1" })
    expect(conf.lines).toEqual({ CLOUD: 1, CLOUD_USER: 2, DEBUG: 3, HOTPLUG_TYPE: 4, IMDS_TIMEOUT: 7, X: 10 })
    expect(conf.problems).toEqual([{ line: 9, reason: "unexpected 'junk' after SKIP_INIT_ACTIONS=...; quote values with spaces" }])
  })

  it("sets none of a line's assignments when the line is refused, as sh sets none of `A=1 B=2 reboot` (CLOUD_USER=ops was set by a line said to be ignored)", () => {
    const conf = parseAssignments("CLOUD_USER=ops CLOUD=aws reboot\nDEBUG=1 IMDS_TIMEOUT='3\n4' HOTPLUG_TYPE=\"x\nexport SKIP_INIT_ACTIONS=set_hostname X HOTPLUG_MODULES=a|b\nCLOUD=gcp CLOUD_USER=me\n")
    expect({ ...conf.values }).toEqual({ CLOUD: "gcp", CLOUD_USER: "me" })
    expect(conf.lines).toEqual({ CLOUD: 5, CLOUD_USER: 5 })
    expect(conf.problems.map((p) => p.line)).toEqual([1, 3, 4])
  })

  it("ends a value at an unquoted | & < > ( ), which sh reads as operators (CLOUD=aws|gcp, a pipeline that sets nothing, was the cloud 'aws|gcp'), not inside $(...), ${...} or backquotes, nor quoted", () => {
    const conf = parseAssignments("CLOUD=aws|gcp\nCLOUD_USER=ops&\nDEBUG=a&&HOTPLUG_TYPE=mdev\nX=(a)\nY=a>b\nIMDS_ENDPOINT=$(hostname)\nZ=$((1+2))'|'\"<>\"\\&\nW=${X:-a|(b)}\nV=`a|b`$(c)\n")
    expect({ ...conf.values }).toEqual({ IMDS_ENDPOINT: "$(hostname)", Z: "$((1+2))|<>&", W: "${X:-a|(b)}", V: "`a|b`$(c)" })
    expect(conf.problems).toEqual([
      { line: 1, reason: "unexpected '|gcp' after CLOUD=...; quote values with | & < > ( )" },
      { line: 2, reason: "unexpected '&' after CLOUD_USER=...; quote values with | & < > ( )" },
      { line: 3, reason: "unexpected '&&HOTPLUG_TYPE=mdev' after DEBUG=...; quote values with | & < > ( )" },
      { line: 4, reason: "unexpected '(a)' after X=...; quote values with | & < > ( )" },
      { line: 5, reason: "unexpected '>b' after Y=...; quote values with | & < > ( )" }
    ])
  })

  it("reads blanks and ; inside $(...), ${...} or backquotes as part of the word, as sh does (CLOUD=$(echo x) was refused as 'unexpected x)'), named as an expansion not run", () => {
    const conf = parseAssignments("CLOUD=$(echo x)\nCLOUD_USER=${A:-b c}\nDEBUG=`echo a;echo b`x\nIMDS_TIMEOUT=$(echo 1) 2\n")
    expect({ ...conf.values }).toEqual({ CLOUD: "$(echo x)", CLOUD_USER: "${A:-b c}", DEBUG: "`echo a;echo b`x" })
    expect({ ...conf.unexpanded }).toEqual({ CLOUD: { text: "$(", at: 0 }, CLOUD_USER: { text: "${A:-b c}", at: 0 }, DEBUG: { text: "`", at: 0 } })
    // a word after the expansion's word is still one sh runs as a command
    expect(conf.problems).toEqual([{ line: 4, reason: "unexpected '2' after IMDS_TIMEOUT=...; quote values with spaces" }])
  })

  it("takes `export NAME...` without a value, as sh does after NAME=value, for a line that assigns nothing", () => {
    const conf = parseAssignments("CLOUD=aws\nexport CLOUD\nCLOUD_USER=ops; export CLOUD_USER DEBUG # both\n\texport\tCLOUD \r\nexport CLOUD#x\n")
    expect({ ...conf.values }).toEqual({ CLOUD: "aws", CLOUD_USER: "ops" })
    expect(conf.problems).toEqual([{ line: 5, reason: "expected KEY=value, got 'export CLOUD#x'" }])
  })

  it("takes `export A=1 B` as sh does: A set, B exported (nothing assigned); a bare word after an assignment without export is still a problem", () => {
    const conf = parseAssignments("export CLOUD_USER=ops CLOUD\nexport CLOUD=aws DEBUG HOTPLUG_TYPE=mdev SKIP_INIT_ACTIONS # all\nexport DEBUG=1 X;IMDS_TIMEOUT=3 reboot\n")
    expect({ ...conf.values }).toEqual({ CLOUD_USER: "ops", CLOUD: "aws", HOTPLUG_TYPE: "mdev", DEBUG: "1" })
    expect(conf.problems).toEqual([{ line: 3, reason: "unexpected 'reboot' after IMDS_TIMEOUT=...; quote values with spaces" }])
  })

  it("takes `export A B=1` as sh does: A exported (nothing assigned), B set; the line was refused whole, and with it the assignment", () => {
    const conf = parseAssignments("export CLOUD_USER CLOUD=nocloud\nexport DEBUG\tSKIP_INIT_ACTIONS IMDS_TIMEOUT=3 X HOTPLUG_TYPE=mdev # all\n")
    expect({ ...conf.values }).toEqual({ CLOUD: "nocloud", IMDS_TIMEOUT: "3", HOTPLUG_TYPE: "mdev" })
    expect(conf.problems).toEqual([])
    expect(parseAssignments("export A B =1\n").problems).toEqual([{ line: 1, reason: "expected KEY=value, got 'export A B =1'" }])
  })

  it("takes a line of exported names however long it is, with or without an assignment before them (names past 300 characters were cut mid-name and the rest refused)", () => {
    const names = Array.from({ length: 100 }, (_, i) => `N${i}`).join(" ")
    const conf = parseAssignments(`export CLOUD_USER=ops ${names}\nexport ${names}\nexport ${names} # all\nCLOUD=aws\n`)
    expect({ ...conf.values }).toEqual({ CLOUD_USER: "ops", CLOUD: "aws" })
    expect(conf.problems).toEqual([])
  })

  it("an unterminated quote costs its own line only: the lines after it, which no quote of its kind closes, are still read", () => {
    const conf = parseAssignments(`SKIP_INIT_ACTIONS="set_hostname\nCLOUD_USER=ops\nX='a\nb' DEBUG='1\nCLOUD=aws\n`)
    // X is DEBUG's line's, refused with it
    expect({ ...conf.values }).toEqual({ CLOUD_USER: "ops", CLOUD: "aws" })
    expect(conf.problems).toEqual([
      { line: 1, reason: "unterminated quote in value of SKIP_INIT_ACTIONS" },
      { line: 4, reason: "unterminated quote in value of DEBUG" }
    ])
    expect(conf.lines).toMatchObject({ CLOUD_USER: 2, CLOUD: 5 })
  })

  it("quotes a bad line's text printable, on one line: control characters (an escape sequence, a NUL, a BOM) escaped, a CRLF line's CR left out", () => {
    expect(parseAssignments("bad\x1b[2Jline\r\nCLOUD=aws b\x07c\n\ufeffDEBUG=1\n\x00\n").problems).toEqual([
      { line: 1, reason: "expected KEY=value, got 'bad\\x1b[2Jline'" },
      { line: 2, reason: "unexpected 'b\\x07c' after CLOUD=...; quote values with spaces" },
      { line: 3, reason: "expected KEY=value, got '\\ufeffDEBUG=1'" },
      { line: 4, reason: "expected KEY=value, got '\\x00'" }
    ])
  })

  it("quotes a bad line without the user and password before its host (BEHAVIOUR.md 4.5: an IMDS_ENDPOINT's credentials are never in a log)", () => {
    const problems = parseAssignments(
      "IMDS_ENDPOINT = metadata:CANARY-CONF-1@127.0.0.1:8080\nIMDS_ENDPOINT=metadata:pass CANARY-CONF-2@127.0.0.1\nexport IMDS_ENDPOINT http://user:CANARY-CONF-3/x@127.0.0.1/\n"
    ).problems
    expect(problems).toEqual([
      { line: 1, reason: "expected KEY=value, got 'IMDS_ENDPOINT = ***@127.0.0.1:8080'" },
      { line: 2, reason: "unexpected '***@127.0.0.1' after IMDS_ENDPOINT=...; quote values with spaces" },
      { line: 3, reason: "expected KEY=value, got '***@127.0.0.1/'" }
    ])
    expect(JSON.stringify(problems)).not.toContain("CANARY")
  })

  it("quotes a bad line without the query of a URL in it, which may carry a token (BEHAVIOUR.md 4.5: no token in a log)", () => {
    const problems = parseAssignments(
      "IMDS_ENDPOINT = http://u:CANARY-CONF-5@h/?token=CANARY-CONF-6\nIMDS_ENDPOINT=h x/?token=CANARY-CONF-7\n"
    ).problems
    expect(problems).toEqual([
      { line: 1, reason: "expected KEY=value, got 'IMDS_ENDPOINT = http://***@h/?***'" },
      { line: 2, reason: "unexpected 'x/?***' after IMDS_ENDPOINT=...; quote values with spaces" }
    ])
    expect(JSON.stringify(problems)).not.toContain("CANARY")
  })

  it("quotes a bad line without the query of a URL in it when the query holds an '@' (?email=me@example.org&token=...)", () => {
    const problems = parseAssignments('IMDS_ENDPOINT = "http://h/?email=me@example.org&token=CANARY-CONF-8"\n').problems
    expect(problems).toEqual([{ line: 1, reason: "expected KEY=value, got 'IMDS_ENDPOINT = ***?***'" }])
    expect(JSON.stringify(problems)).not.toContain("CANARY")
  })

  it("quotes what ends an unquoted URL's word in its query (?a=1&token=..., a blank) without the rest of the query", () => {
    const problems = parseAssignments("IMDS_ENDPOINT=http://h/?a=1&token=CANARY-CONF-9\nIMDS_ENDPOINT=http://h/?a=1 CANARY-CONF-10\nCLOUD_USER=al?ine x\n").problems
    expect(problems).toEqual([
      { line: 1, reason: "unexpected '&***' after IMDS_ENDPOINT=...; quote values with | & < > ( )" },
      { line: 2, reason: "unexpected '***' after IMDS_ENDPOINT=...; quote values with spaces" },
      { line: 3, reason: "unexpected '***' after CLOUD_USER=...; quote values with spaces" }
    ])
    expect(JSON.stringify(problems)).not.toContain("CANARY")
  })

  it("keeps the name of a line with blanks around its '=' in sight, the mistake it names, when its value holds an '@' (CLOUD_USER = me@x gave only '***@x')", () => {
    const problems = parseAssignments("CLOUD_USER = me@example.org\nexport IMDS_ENDPOINT =metadata:CANARY-CONF-4@127.0.0.1\n").problems
    expect(problems).toEqual([
      { line: 1, reason: "expected KEY=value, got 'CLOUD_USER = ***@example.org'" },
      { line: 2, reason: "expected KEY=value, got 'export IMDS_ENDPOINT =***@127.0.0.1'" }
    ])
    expect(JSON.stringify(problems)).not.toContain("CANARY")
  })

  it("names an expansion sh would make, kept as written (TINY_CLOUD_VAR=/var/lib/cloud$SUFFIX was a directory of that name, unsaid); not what sh keeps as it is, nor a value the environment replaces", () => {
    const text = [
      "TINY_CLOUD_VAR=/var/lib/cloud$SUFFIX",
      'DEBUG="${VERBOSE:-}"',
      "SKIP_INIT_ACTIONS=`cat_skip`",
      "TINY_CLOUD_LOGS=~/logs",
      "HOTPLUG_TYPE=mdev INIT_ACTIONS_FINAL='$literal' INIT_ACTIONS_BOOT=\\$x CLOUD_USER=ops$ HOTPLUG_MODULES=a~b",
      'IMDS_ENDPOINT="user:pa$$wd@$HOST"',
      "CLOUD=$CLOUD",
      ""
    ].join("\n")
    const s = settingsFromLeniently({ ROOT: "/r", CLOUD: "aws" }, text)
    const warned = (line: number, key: string, shown: string) => `/etc/tiny-cloud.conf line ${line}: ${key}: '${shown}' is taken as written, not expanded: nothing in this file is evaluated`
    expect(fileWarnings(s)).toEqual([
      warned(1, "TINY_CLOUD_VAR", "$SUFFIX"),
      warned(2, "DEBUG", "${VERBOSE:-}"),
      warned(3, "SKIP_INIT_ACTIONS", "`"),
      warned(4, "TINY_CLOUD_LOGS", "~"),
      // in the user and password before the host only its first character, as the value itself is named (4.5)
      warned(6, "IMDS_ENDPOINT", "$...")
    ])
    expect(s.varDir).toBe("/r/var/lib/cloud$SUFFIX")
    expect(fileWarnings(settingsFromLeniently({}, 'IMDS_ENDPOINT="user:pw@$HOST"\n'))).toEqual([warned(1, "IMDS_ENDPOINT", "$HOST")])
    // nor a token in a query: one in the expansion, or the expansion in the query
    expect(fileWarnings(settingsFromLeniently({}, "IMDS_ENDPOINT=${T:-http://h/?token=CANARY-CONF-8}\n"))).toEqual([warned(1, "IMDS_ENDPOINT", "${T:-http://h/?***")])
    expect(fileWarnings(settingsFromLeniently({}, "IMDS_ENDPOINT=http://h/?token=${T:-CANARY-CONF-9}\n"))).toEqual([warned(1, "IMDS_ENDPOINT", "$...")])
    // the winning assignment's
    expect(fileWarnings(settingsFromLeniently({}, "DEBUG=$X\nDEBUG=1\n"))).toEqual([])
    // a backslash-newline is nothing to sh, in a name too; a tilde sh leaves (`~x`, `~"/"`) is none
    expect({ ...parseAssignments('A=a$\\\nb B="$\\\n{C}" C=~\\\n/x D=~x E=~"/"\n').unexpanded }).toEqual({ A: { text: "$\\\nb", at: 1 }, B: { text: "$\\\n{C}", at: 0 }, C: { text: "~", at: 0 } })
  })

  it("has the contract's defaults", () => {
    const s = Either.getOrThrow(settings({ ROOT: "/tmp/r" }))
    expect(s).toMatchObject({
      root: "/tmp/r",
      cloud: "auto",
      cloudUser: "alpine",
      varDir: "/tmp/r/var/lib/cloud",
      logDir: "/tmp/r/var/log",
      skipActions: [],
      hotplugType: "mdev",
      imdsTokenTtl: 5,
      imdsTimeout: 2,
      imdsDeadline: 60,
      linkWaitMax: 10,
      debug: false,
      imdsRetryDelay: 100,
      imdsRetryMaxDelay: 2000,
      userDataMaxBytes: 16777216,
      imdsMaxBytes: 1048576,
      imdsMaxKeys: 1000,
      residentIdle: 600
    })
  })

  it("takes 0 where a whole number is asked (no link wait, no retry delay) and never where a positive one is; a whole number where a count is; a wait up to what a timer holds", () => {
    const zero = settingsFromLeniently({}, "TINY_CLOUD_LINK_WAIT_MAX=0\nIMDS_RETRY_DELAY=0\nIMDS_RETRY_MAX_DELAY=0\nUSERDATA_MAX_BYTES=0\n")
    expect([zero.problems, zero.linkWaitMax, zero.imdsRetryDelay, zero.imdsRetryMaxDelay, zero.userDataMaxBytes]).toEqual([[], 0, 0, 0, 0])
    const longest = settingsFromLeniently({}, "TINY_CLOUD_LINK_WAIT_MAX=21474820\nIMDS_TOKEN_TTL=21600\nTINY_CLOUD_RESIDENT_IDLE=0.5\n")
    expect([longest.problems, longest.linkWaitMax, longest.imdsTokenTtl, longest.residentIdle]).toEqual([[], 21474820, 21600, 0.5])
    const refused = settingsFromLeniently(
      {},
      "IMDS_TOKEN_TTL=2.5\nIMDS_TIMEOUT=0\nIMDS_MAX_BYTES=0\nIMDS_MAX_KEYS=0\nTINY_CLOUD_RESIDENT_IDLE=3000000\nTINY_CLOUD_LINK_WAIT_MAX=21474821\n"
    )
    expect(refused.problems.map((p) => p.message)).toEqual([
      "IMDS_TOKEN_TTL: invalid value '2.5': expected a positive whole number of seconds",
      "IMDS_TIMEOUT: invalid value '0': expected a positive number of seconds",
      "TINY_CLOUD_LINK_WAIT_MAX: invalid value '21474821': expected a whole number of tenths of a second, at most 21474820",
      "IMDS_MAX_BYTES: invalid value '0': expected a positive whole number of bytes",
      "IMDS_MAX_KEYS: invalid value '0': expected a positive whole number",
      "TINY_CLOUD_RESIDENT_IDLE: invalid value '3000000': expected a positive number of seconds, at most 2147482"
    ])
    expect([refused.imdsTokenTtl, refused.imdsTimeout, refused.imdsMaxBytes, refused.imdsMaxKeys, refused.residentIdle, refused.linkWaitMax]).toEqual([5, 2, 1048576, 1000, 600, 10])
  })

  it("takes an empty value for the default, as sh's ${KEY:-default} does, and blanks around a number, a cloud or a wireserver for none of it", () => {
    const empty = settingsFromLeniently({}, "IMDS_TIMEOUT=\nIMDS_ENDPOINT=\nDEBUG=\nCLOUD=\nCLOUD_USER=\nAZURE_WIRESERVER=\n")
    expect([empty.problems, empty.imdsTimeout, empty.imdsEndpoint, empty.debug, empty.cloud, empty.cloudUser, empty.azureWireserver]).toEqual([[], 2, undefined, false, "auto", "alpine", undefined])
    const blanks = settingsFromLeniently({}, 'IMDS_DEADLINE=" 30 "\nCLOUD=" aws "\nAZURE_WIRESERVER=" 168.63.129.16 "\n')
    expect([blanks.problems, blanks.imdsDeadline, blanks.cloud, blanks.azureWireserver]).toEqual([[], 30, "aws", "168.63.129.16"])
  })

  it("refuses a CLOUD_USER adduser would take for an option, or that names a hidden entry: a first '-' or '.'", () => {
    for (const name of ["-rf", "--help", ".hidden", ".."]) {
      const s = settingsFromLeniently({}, `CLOUD_USER=${name}\n`)
      expect([s.cloudUser, s.problems.map((p) => p.message)]).toEqual(["alpine", [`CLOUD_USER: invalid user name '${name}'`]])
    }
  })

  it("refuses a CLOUD_USER longer than busybox adduser takes (255 characters, as user-data's names), where the default user would not be made and the main phase would stop", () => {
    const longest = "u".repeat(255)
    expect(settingsFromLeniently({}, `CLOUD_USER=${longest}\n`).cloudUser).toBe(longest)
    // before: taken, and on an instance adduser said "name is too long": create_default_user failed, no hostname, no keys
    const s = settingsFromLeniently({ CLOUD_USER: `${longest}u` }, "")
    expect([s.cloudUser, s.problems.map((p) => p.key)]).toEqual(["alpine", ["CLOUD_USER"]])
    expect(s.problems[0]!.message).toMatch(/^CLOUD_USER: invalid user name 'u+\.\.\.': longer than 255 characters$/)
  })

  it("refuses an unbracketed IPv6 endpoint whose IPv4 tail is no address", () => {
    for (const typo of ["fd00::1.2.3.999", "::ffff:169.254.169", "::ffff:1.2.3.4.5"]) {
      expect(settingsFromLeniently({ IMDS_ENDPOINT: typo }, "").problems.map((p) => p.message)).toEqual([`IMDS_ENDPOINT: expected HOST or HOST:PORT, got '${typo}'`])
    }
  })

  it("takes a bracketed link-local IPv6 endpoint with its interface (openstack's default's form), and refuses a zone that is no interface name", () => {
    for (const given of ["[fe80::a9fe:a9fe%eth1]", "[fe80::a9fe:a9fe%eth1]:8080"]) {
      const s = settingsFromLeniently({ IMDS_ENDPOINT: given }, "")
      expect([s.problems, s.imdsEndpoint]).toEqual([[], given])
    }
    for (const typo of ["[fe80::1%]", "[fe80::1%eth 1]", "[fe80::1%a/b]", `[fe80::1%${"e".repeat(16)}]`]) {
      expect(settingsFromLeniently({ IMDS_ENDPOINT: typo }, "").problems.map((p) => p.message)).toEqual([`IMDS_ENDPOINT: expected HOST or HOST:PORT, got '${typo}'`])
    }
  })

  it("lets the environment win over the file", () => {
    const s = Either.getOrThrow(settings({ CLOUD: "nocloud", IMDS_TIMEOUT: "0.5" }, "CLOUD=aws\nIMDS_TIMEOUT=3\nCLOUD_USER=ops\n"))
    expect([s.cloud, s.imdsTimeout, s.cloudUser]).toEqual(["nocloud", 0.5, "ops"])
  })

  it("maps the old name alpine to nocloud with a warning", () => {
    const s = Either.getOrThrow(settings({}, "CLOUD=alpine\n"))
    expect(s.cloud).toBe("nocloud")
    expect(s.warnings[0]).toContain("alpine")
  })

  it("splits action lists on whitespace", () => {
    const s = Either.getOrThrow(settings({}, 'INIT_ACTIONS_MAIN="set_hostname\n"\nINIT_ACTIONS_FINAL=""\n'))
    expect(s.initActions).toEqual({ main: ["set_hostname"], final: [] })
  })

  it("takes a CLOUD_USER busybox adduser takes (and user-data's user: does): a digit first, dots, dashes, a final $", () => {
    for (const name of ["1user", "first.last", "a-b", "Admin_2", "svc$"]) {
      const s = Either.getOrThrow(settings({}, `CLOUD_USER=${name}\n`))
      expect([s.cloudUser, s.problems]).toEqual([name, []])
    }
  })

  it.each([
    ["IMDS_TIMEOUT=abc\n", "IMDS_TIMEOUT"],
    ["IMDS_DEADLINE=-1\n", "IMDS_DEADLINE"],
    ["TINY_CLOUD_LINK_WAIT_MAX=1.5\n", "TINY_CLOUD_LINK_WAIT_MAX"],
    ["IMDS_ENDPOINT=http://x/\n", "IMDS_ENDPOINT"],
    ["AZURE_WIRESERVER=http://x/\n", "AZURE_WIRESERVER"],
    ["CLOUD_USER=bad:user\n", "CLOUD_USER"],
    ["this is not an assignment\n", "tiny-cloud.conf:1"],
    ["CLOUD='aws\n", "unterminated quote"],
    ["TINY_CLOUD_VAR=state\n", "TINY_CLOUD_VAR: 'state' is not an absolute path"],
    ["TINY_CLOUD_LOGS=./log\n", "TINY_CLOUD_LOGS: './log' is not an absolute path"]
  ])("rejects %j naming %s", (file, named) => {
    const result = settings({}, file)
    expect(Either.isLeft(result)).toBe(true)
    expect(Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value.message : ""))).toContain(named)
  })

  it("takes a relative TINY_CLOUD_VAR or TINY_CLOUD_LOGS for invalid, the default kept: it would be the working directory's, outside ROOT", () => {
    const s = settingsFromLeniently({ ROOT: "/img", TINY_CLOUD_LOGS: "log" }, "TINY_CLOUD_VAR=state\n")
    expect([s.varDir, s.logDir]).toEqual(["/img/var/lib/cloud", "/img/var/log"])
    expect(s.problems.map((p) => p.message)).toEqual(["TINY_CLOUD_VAR: 'state' is not an absolute path", "TINY_CLOUD_LOGS: 'log' is not an absolute path"])
  })

  it("takes a directory tiny-cloud.conf gives for the instance's, under ROOT as the file is; the environment's as given", () => {
    const fromFile = Either.getOrThrow(settings({ ROOT: "/img/" }, "TINY_CLOUD_VAR=/var/lib/cloud\nTINY_CLOUD_LOGS=/img/logs\n"))
    expect([fromFile.varDir, fromFile.logDir]).toEqual(["/img/var/lib/cloud", "/img/logs"])
    const fromEnvironment = Either.getOrThrow(settings({ ROOT: "/img", TINY_CLOUD_VAR: "/srv/state" }, "TINY_CLOUD_VAR=/var/lib/cloud\n"))
    expect(fromEnvironment.varDir).toBe("/srv/state")
    // without ROOT, the file's path is the system's
    expect(Either.getOrThrow(settings({}, "TINY_CLOUD_VAR=/var/lib/state\n")).varDir).toBe("/var/lib/state")
  })
})

describe("where each value came from", () => {
  it("keeps the line of each key's winning assignment, a quoted value spanning lines at its first line", () => {
    const conf = parseAssignments('# c\nCLOUD=aws\nINIT_ACTIONS_MAIN="\n  set_hostname\n"\nCLOUD_USER=a; DEBUG=1\nCLOUD=gcp\n')
    expect(conf.lines).toEqual({ CLOUD: 7, INIT_ACTIONS_MAIN: 3, CLOUD_USER: 6, DEBUG: 6 })
  })

  it("the environment wins over the file; the file's lines are kept for every key it sets", () => {
    const s = Either.getOrThrow(settingsFrom({ CLOUD: "gcp", ROOT: "/r" }, "CLOUD=aws\nCLOUD_USER=ops\n"))
    expect(s.sources).toMatchObject({ CLOUD: { from: "environment" }, CLOUD_USER: { from: "file", line: 2 }, ROOT: { from: "environment" } })
    expect(s.fileLines).toEqual({ CLOUD: 1, CLOUD_USER: 2 })
    expect(s.problems).toEqual([])
  })

  it("strictly, the first problem fails; leniently, every problem is kept and its key keeps its default", () => {
    const text = "IMDS_TIMEOUT=soon\nnot an assignment\nCLOUD_USER=a:b\n"
    expect(Either.getLeft(settingsFrom({}, text)).pipe((o) => (o._tag === "Some" ? o.value.message : ""))).toBe(
      "tiny-cloud.conf:2: expected KEY=value, got 'not an assignment'"
    )
    const s = settingsFromLeniently({ IMDS_DEADLINE: "0" }, text)
    expect(s.problems).toEqual([
      { line: 2, message: "tiny-cloud.conf:2: expected KEY=value, got 'not an assignment'" },
      { key: "CLOUD_USER", message: "CLOUD_USER: invalid user name 'a:b'" },
      { key: "IMDS_TIMEOUT", message: "IMDS_TIMEOUT: invalid value 'soon': expected a positive number of seconds" },
      { key: "IMDS_DEADLINE", message: "IMDS_DEADLINE: invalid value '0': expected a positive number of seconds" }
    ])
    expect([s.cloudUser, s.imdsTimeout, s.imdsDeadline]).toEqual(["alpine", 2, 60])
  })

  it("names an invalid value on one line, escaped and cut short", () => {
    const s = settingsFromLeniently({ CLOUD_USER: "a\nb", IMDS_TIMEOUT: `${"9".repeat(100)}x` }, "")
    expect(s.problems.map((p) => p.message)).toEqual([
      "CLOUD_USER: invalid user name 'a\\x0ab'",
      `IMDS_TIMEOUT: invalid value '${"9".repeat(80)}...': expected a positive number of seconds`
    ])
  })

  it("reads a value of a million digits in linear time: one letter after them makes it invalid", () => {
    const digits = "0".repeat(1_000_000)
    const s = settingsFromLeniently({}, `IMDS_TIMEOUT=${digits}x\nIMDS_DEADLINE=${digits}1.5\n`)
    expect(s.problems.map((p) => p.message)).toEqual([`IMDS_TIMEOUT: invalid value '${"0".repeat(80)}...': expected a positive number of seconds`])
    expect([s.imdsTimeout, s.imdsDeadline]).toEqual([2, 1.5])
  })

  it("refuses a wait no timer can hold, and a port past 65535", () => {
    const s = settingsFromLeniently({ IMDS_TIMEOUT: "3000000", IMDS_RETRY_DELAY: "99999999999999", IMDS_ENDPOINT: "127.0.0.1:99999" }, "")
    expect(new Set(s.problems.map((p) => p.message))).toEqual(
      new Set([
        "IMDS_ENDPOINT: expected HOST or HOST:PORT, got '127.0.0.1:99999'",
        "IMDS_TIMEOUT: invalid value '3000000': expected a positive number of seconds, at most 2147482",
        "IMDS_RETRY_DELAY: invalid value '99999999999999': expected a whole number of milliseconds, at most 2147483647"
      ])
    )
    expect([s.imdsTimeout, s.imdsRetryDelay, s.imdsEndpoint]).toEqual([2, 100, undefined])
    expect(settingsFromLeniently({ IMDS_TIMEOUT: "2147482", IMDS_ENDPOINT: "[fd00:ec2::254]:65535" }, "").problems).toEqual([])
  })

  it("an IMDS_ENDPOINT it refuses is named without the user and password written before its host, nor its query (BEHAVIOUR.md 4.5: never a secret in a log)", () => {
    for (const [given, shown] of [
      ["metadata:SECRET-CANARY-1@127.0.0.1:8080", "***@127.0.0.1:8080"],
      ["http://metadata:SECRET-CANARY-1@169.254.169.254/", "http://***@169.254.169.254/"],
      // a password with '?' or '#' in it, written as it is
      ["metadata:SECRET?CANARY#1@127.0.0.1:8080", "***@127.0.0.1:8080"],
      // or with '/' (a base64 token): without a scheme, no '/' starts a path
      ["metadata:SECRET/CANARY+1==@127.0.0.1:8080", "***@127.0.0.1:8080"],
      // a token in its query, as a seed URL's is hidden
      ["http://169.254.169.254/?token=SECRET-CANARY-1", "http://169.254.169.254/?***"],
      ["http://metadata:SECRET-CANARY-1@10.0.0.1:80/latest?X-Amz-Signature=SECRET-CANARY-2", "http://***@10.0.0.1:80/latest?***"],
      // a query holding an '@' (an address, a URL) before or after its token: nothing of it after that '@' either
      ["http://169.254.169.254/?email=me@example.org&token=SECRET-CANARY-1", "http://***?***"],
      ["http://169.254.169.254/?next=http://a@b/&token=SECRET-CANARY-1", "http://***?***"],
      ["http://169.254.169.254/?token=SECRET-CANARY-1&email=me@example.org", "http://***@example.org"]
    ]) {
      const s = settingsFromLeniently({ IMDS_ENDPOINT: given! }, "")
      expect(s.problems.map((p) => p.message)).toEqual([`IMDS_ENDPOINT: expected HOST or HOST:PORT, got '${shown}'`])
      expect(s.imdsEndpoint).toBeUndefined()
    }
  })

  it("takes an IPv6 address written without brackets as IMDS_ENDPOINT, and refuses what only looks like one (a port after two colons, an IPv4 address among the groups)", () => {
    for (const address of ["fd00:ec2::254", "::1", "::ffff:169.254.169.254", "1:2:3:4:5:6:7:8", "fe80::a9fe:a9fe"]) {
      expect([address, settingsFromLeniently({ IMDS_ENDPOINT: address }, "").imdsEndpoint]).toEqual([address, address])
    }
    for (const typo of ["169.254.169.254::80", "10.0.0.1:80:8080", "1::2::3", "1:2:3:4:5:6:7:8:9", "fd00:ec2::254:", "12345::1", ":::"]) {
      expect(settingsFromLeniently({ IMDS_ENDPOINT: typo }, "").problems.map((p) => p.message)).toEqual([`IMDS_ENDPOINT: expected HOST or HOST:PORT, got '${typo}'`])
    }
  })

  it.each([
    ["CLOUD_USR", "CLOUD_USER"],
    ["cloud_user", "CLOUD_USER"],
    ["IMDS_TIMEOTU", "IMDS_TIMEOUT"],
    ["SKIP_INIT_ACTION", "SKIP_INIT_ACTIONS"],
    ["INIT_ACTIONS_NET", undefined],
    ["FOO", undefined],
    ["CLOU", "CLOUD"],
    ["DBG", undefined]
  ])("the known key %s likely stands for: %s", (key, meant) => {
    expect(nearestKey(key)).toBe(meant)
  })

  it("a key far longer than any known one is near none, and is not measured against them (a line of a megabyte, 10 000 unknown keys)", () => {
    expect(nearestKey("K".repeat(1 << 20))).toBeUndefined()
    expect(Array.from({ length: 10_000 }, (_, i) => nearestKey(`UNKNOWN_KEY_${i}`)).filter((k) => k !== undefined)).toEqual([])
  })
})
