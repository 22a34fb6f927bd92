import { gzipSync } from "node:zlib"
import { describe, expect, it, vi } from "vitest"
import { Lexer } from "yaml"
import { KEPT_PART_WARNINGS, MAX_BOUNDARY, MAX_MIME_DEPTH, splitMime } from "../../src/domain/userdata/mime.js"
import { analyseUserData, MAX_PART_NOTES } from "../../src/domain/userdata/parse.js"
import { SHEBANG_CR } from "../../src/domain/userdata/runnable.js"
import { formatProblem } from "../../src/domain/userdata/problem.js"
import { bytesOf } from "../../src/domain/text.js"

const text = (data: Uint8Array) => new TextDecoder().decode(data)
const OPTIONS = { maxBytes: 1024 * 1024 }

/** a multipart message of `parts` (each its headers, a blank line, its body) on boundary `b` */
const multipart = (parts: ReadonlyArray<string>, boundary = "b") =>
  `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="${boundary}"\n\n${parts.map((p) => `--${boundary}\n${p}\n`).join("")}--${boundary}--\n`

const part = (type: string, body: string, headers: ReadonlyArray<string> = []) => [`Content-Type: ${type}`, ...headers, "", body].join("\n")

const gzipPart = (body: string | Uint8Array) => part("application/gzip", gzipSync(body).toString("base64"), ["Content-Transfer-Encoding: base64"])

const analyse = (source: string, options = OPTIONS) => analyseUserData(bytesOf(source), options)

const multipartOf = (source: string, options = OPTIONS) => {
  const { parsed } = analyse(source, options)
  if (parsed?.kind !== "multipart") throw new Error(`not multipart: ${parsed?.kind}`)
  return parsed
}

const scriptsOf = (source: string, options = OPTIONS) => multipartOf(source, options).scripts.map((s) => [s.name, text(s.content)])

describe("the parts' size, all together", () => {
  const script = (n: number, size: number) => `#!/bin/sh\necho ${n}\n${"#".repeat(size)}\n`

  it("refuses the part that takes the total past the limit, and the parts after it; the parts before it apply", () => {
    const source = multipart([gzipPart(script(1, 600)), gzipPart(script(2, 600)), part("text/x-shellscript", "#!/bin/sh\necho 3")])
    const options = { maxBytes: 1000 }
    expect(scriptsOf(source, options).map(([name]) => name)).toEqual(["part-1"])
    expect(analyse(source, options).warnings).toEqual([
      "part 2 (line 13): the parts come to more than 1000 bytes together, the limit for user-data (USERDATA_MAX_BYTES); this part and the ones after it are ignored"
    ])
  })

  it("counts plain parts too, and takes parts that fit exactly", () => {
    const plain = script(1, 300).trimEnd()
    const source = multipart([part("text/x-shellscript", plain), gzipPart(script(2, 600))])
    const exact = plain.length + script(2, 600).length
    expect(scriptsOf(source, { maxBytes: exact })).toHaveLength(2)
    expect(analyse(source, { maxBytes: exact - 1 }).warnings).toHaveLength(1)
  })

  it("tells gzip data that is not gzip apart from data past the limit", () => {
    const source = multipart([part("application/x-gzip", "bm90IGd6aXA=", ["Content-Transfer-Encoding: base64"])])
    expect(analyse(source).warnings).toEqual(["part 1 (line 8): not valid gzip data; part ignored"])
  })
})

describe("base64 parts", () => {
  const base64Part = (type: string, body: string) => part(type, body, ["Content-Transfer-Encoding: base64"])

  it("lose the characters outside the alphabet, as cloud-init decodes them, with a warning; one that cannot be base64 is ignored, the other parts apply", () => {
    const script = Buffer.from("#!/bin/sh\necho one\n").toString("base64")
    const source = multipart([
      base64Part("text/x-shellscript", `${script.slice(0, 8)}!*\n${script.slice(8)}`),
      base64Part("text/x-shellscript", "!!!! garbage ****\nabcdef"),
      part("text/cloud-config", "#cloud-config\nhostname: still-set")
    ])
    expect(scriptsOf(source)).toEqual([["part-1", "#!/bin/sh\necho one\n"]])
    expect(multipartOf(source).config.hostname).toBe("still-set")
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 8): 2 characters outside the base64 alphabet were dropped, as cloud-init drops them",
      "part 2 (line 14): not valid base64 data; part ignored"
    ])
  })
})

describe("quoted-printable parts", () => {
  const qpPart = (type: string, body: string) => part(type, body, ["Content-Transfer-Encoding: quoted-printable"])

  it("are decoded as Python's email (so cloud-init) decodes them: =XX in either case, soft line breaks, one ending the body, an escape that is none kept", () => {
    // the values are cloud-init 22.4's (binascii.a2b_qp)
    const source = multipart([
      qpPart("text/cloud-config", '#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: "caf=C3=A9 ol=\n=c3=a9"='),
      qpPart("text/x-shellscript", "#!/bin/sh\r\necho a=3Db =ZZ =3=\r\nD ="),
      part("text/x-shellscript", "#!/bin/sh\necho =3D"),
      // '==' is '=' to Python's decoder, and '=' before a lone CR takes the rest of its line with it
      qpPart("text/x-shellscript", "#!/bin/sh\necho a==b c=\rlost\nd")
    ])
    const result = multipartOf(source)
    expect(result.config.writeFiles.map((f) => text(f.content as Uint8Array))).toEqual(["café olé"])
    expect(result.scripts.map((s) => text(s.content))).toEqual(["#!/bin/sh\r\necho a=b =ZZ =3D ", "#!/bin/sh\necho =3D", "#!/bin/sh\necho a=b cd"])
    expect(analyse(source).warnings).toEqual([])
  })
})

describe("the text of cloud-config parts", () => {
  it("is UTF-8, else in the charset the part names; a part that is neither is ignored with a warning, never read with its bytes replaced", () => {
    // one byte a character: \u00e9 is the byte 0xE9, é in iso-8859-1 and not UTF-8
    const source = multipart([
      part('text/cloud-config; charset="iso-8859-1"', "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: caf\u00e9"),
      part("text/cloud-config", "#cloud-config\nhostname: caf\u00e9"),
      part('text/cloud-config; charset="utf-8"', "#cloud-config\nhostname: still-set\nruncmd: [echo \u00c3\u00a9]")
    ])
    const { parsed, warnings } = analyseUserData(Buffer.from(source, "latin1"), OPTIONS)
    if (parsed?.kind !== "multipart") throw new Error(`not multipart: ${parsed?.kind}`)
    expect(parsed.config.writeFiles.map((f) => text(f.content as Uint8Array))).toEqual(["café"])
    expect([parsed.config.hostname, parsed.config.runcmd]).toEqual(["still-set", [{ kind: "shell", script: "echo é", index: 0 }]])
    expect(warnings).toEqual(["part 2 (line 14): not valid UTF-8 text, nor text in a charset its Content-Type names; part ignored"])
  })

  it("ends at the boundary's line break: a block scalar on the part's last line has none at its end, as cloud-init reads it", () => {
    // AWS's MIME example: the boundary right after the part's last line. cloud-init 22.4 (Python's email, PyYAML) writes 'Welcome'
    const source = multipart([part("text/cloud-config", "#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: |\n    Welcome"), part("text/x-shellscript", "#!/bin/sh")])
    expect(multipartOf(source).config.writeFiles.map((f) => text(f.content as Uint8Array))).toEqual(["Welcome"])
  })
})

describe("a large number of parts", () => {
  // (the time it takes, linear in the size, is measured by hand: 20k parts in about 1 s; tests carry no wall-clock bounds)
  it("are all read, each part's script kept", () => {
    const body = `#!/bin/sh\n${"echo\n".repeat(200)}exit 0`
    const source = bytesOf(multipart(Array.from({ length: 4000 }, () => part("text/x-shellscript", body))))
    const split = splitMime(source, 64 * 1024 * 1024)
    expect(split._tag === "Right" && split.right.scripts.length).toBe(4000)
  }, 120_000)

  // one part at a time: the walk had split the whole message into a list of parts before the first was read, 16 MiB of
  // empty parts 4 million of them held at once (a phase's peak RSS 1.6 GB); counted rather than measured, by the parts
  // it looks for once the limit is reached, where nothing after that part is read
  it("are split one at a time as they are read: once a part passes the size limit, the parts after it are not even looked for", () => {
    const source = bytesOf(multipart([part("text/x-shellscript", `#!/bin/sh\n${"#".repeat(2000)}`), ...Array.from({ length: 5000 }, () => part("text/x-unknown", "x"))]))
    let searches = 0
    const exec = RegExp.prototype.exec
    const spy = vi.spyOn(RegExp.prototype, "exec").mockImplementation(function (this: RegExp, input: string) {
      if (this.source.startsWith("^--")) searches++
      return exec.call(this, input)
    })
    let split: ReturnType<typeof splitMime>
    try {
      split = splitMime(source, 1000)
    } finally {
      spy.mockRestore()
    }
    expect(split._tag === "Right" && [split.right.scripts.length, split.right.warnings.length]).toEqual([0, 1])
    expect(searches).toBeLessThan(10)
  })

  it("still places the last part on its line", () => {
    const parts = Array.from({ length: 50 }, (_, i) => part("text/x-unknown", `x${i}`))
    const warnings = analyse(multipart(parts)).warnings
    // 3 header lines, then 4 lines a part: delimiter, header, blank, body
    expect(warnings.at(-1)).toBe("part 50 (line 203): text/x-unknown parts are not supported; part ignored")
  })

  it(`list ${MAX_PART_NOTES} warnings and ${MAX_PART_NOTES} problems of parts, and count the others in one line each; the good parts apply`, () => {
    const parts = [
      ...Array.from({ length: MAX_PART_NOTES + 50 }, (_, i) => part("text/x-unknown", `x${i}`)),
      ...Array.from({ length: MAX_PART_NOTES + 20 }, () => part("text/cloud-config", "#cloud-config\nhostname: [unclosed")),
      part("text/cloud-config", "#cloud-config\nhostname: still-set")
    ]
    const { warnings, problems, parsed } = analyse(multipart(parts))
    expect(warnings).toHaveLength(MAX_PART_NOTES + 1)
    expect(warnings.at(-1)).toBe("50 more warnings about parts are not listed")
    expect(problems).toHaveLength(MAX_PART_NOTES + 1)
    // at the first problem not listed, the 101st broken part's second body line: after 3 header lines, 150 parts of 4 lines, 100 of 5
    expect(formatProblem(problems.at(-1)!)).toBe(`line ${3 + 150 * 4 + 100 * 5 + 5}: 20 more parts with problems are skipped, not listed`)
    expect(parsed?.kind === "multipart" && parsed.config.hostname).toBe("still-set")
  })

  it(`keep the first ${KEPT_PART_WARNINGS} warnings word for word and only count the others, never each a line of its own (660,000 parts of a type not read held their 660,000 lines, 350 MB)`, () => {
    const source = multipart(Array.from({ length: 5000 }, (_, i) => part("text/x-unknown", `x${i}`)))
    const split = splitMime(bytesOf(source), OPTIONS.maxBytes)
    const warnings = split._tag === "Right" ? split.right.warnings : []
    expect([warnings.length, new Set(warnings).size]).toEqual([5000, KEPT_PART_WARNINGS + 1])
    expect(KEPT_PART_WARNINGS).toBeGreaterThan(MAX_PART_NOTES)
    const listed = analyse(source).warnings
    expect([listed.length, listed[99], listed.at(-1)]).toEqual([101, "part 100 (line 403): text/x-unknown parts are not supported; part ignored", "4900 more warnings about parts are not listed"])
  })
})

describe("folded headers", () => {
  it("are read as one line, as Python's email (which writes them folded past 78 characters) and cloud-init read them: a boundary or a type on a continuation line", () => {
    // the message's own Content-Type, folded before its boundary (a blank, then a tab), and a part's type folded before its charset
    const source = [
      "MIME-Version: 1.0",
      "Content-Type: multipart/mixed;",
      " \tboundary=\"===============1234567890123456789==\"",
      "",
      "--===============1234567890123456789==",
      "Content-Type:",
      "\ttext/x-shellscript; charset=\"us-ascii\"",
      "",
      "echo folded",
      "--===============1234567890123456789==--",
      ""
    ].join("\n")
    expect(scriptsOf(source)).toEqual([["part-1", "echo folded"]])
    expect(analyse(source).warnings).toEqual([])
  })
})

describe("nested multipart parts", () => {
  const inner = (boundary: string, parts: ReadonlyArray<string>) => part(`multipart/alternative; boundary="${boundary}"`, multipart(parts, boundary).replace(/^[\s\S]*?\n\n/, ""))

  it("are walked into, their parts numbered after the part that holds them", () => {
    const source = multipart([
      part("text/cloud-config", "#cloud-config\nhostname: outer"),
      inner("in", [part("text/x-shellscript", "#!/bin/sh\necho inner"), part("text/cloud-config", "#cloud-config\npackages: [curl]"), part("text/x-unknown", "x")]),
      part("text/x-shellscript", "#!/bin/sh\necho last")
    ])
    const result = multipartOf(source)
    expect(result.scripts.map((s) => [s.name, text(s.content)])).toEqual([
      ["part-2.1", "#!/bin/sh\necho inner"],
      ["part-3", "#!/bin/sh\necho last"]
    ])
    expect([result.config.hostname, result.config.packages]).toEqual(["outer", ["curl"]])
    expect(analyse(source).warnings).toEqual(["part 2.3 (line 25): text/x-unknown parts are not supported; part ignored"])
  })

  it("written without their closing delimiter end where the part that holds them ends, their last part keeping its last line break, as Python's email (so cloud-init) reads them", () => {
    // the values are cloud-init 22.4's: the line break before '--outer' is the outer delimiter's alone
    const open = (body: string) => part('multipart/mixed; boundary="in"', `--in\n${body}`)
    const source = multipart([open(part("text/cloud-config", "#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: |\n    Welcome\n")), open(part("text/x-shellscript", "#!/bin/sh\necho inner\n"))], "outer")
    const result = multipartOf(source)
    expect(result.config.writeFiles.map((f) => text(f.content as Uint8Array))).toEqual(["Welcome\n"])
    expect(result.scripts.map((s) => [s.name, text(s.content)])).toEqual([["part-2.1", "#!/bin/sh\necho inner\n"]])
    // the user-data's own last part, unclosed at the end of the text, loses its last line break, as in cloud-init
    expect(scriptsOf(`MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n${part("text/x-shellscript", "#!/bin/sh\necho last\n")}`)).toEqual([["part-1", "#!/bin/sh\necho last"]])
  })

  it("places a nested part's problems on the user-data's lines", () => {
    const source = multipart([inner("in", [part("text/cloud-config", "#cloud-config\ntimezone: [x]")])])
    expect(analyse(source).problems.map(formatProblem)).toEqual(["line 11: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped"])
  })

  it("places the problems of a part of base64 or gzip data (cloud-init devel make-mime writes base64) on the part's first line: the lines of its decoded text are none of the user-data's", () => {
    const base64 = (body: string) => Buffer.from(body).toString("base64")
    const source = multipart([
      part("text/cloud-config", base64("#cloud-config\n# a comment\n\ntimezone: [x]\n"), ["Content-Transfer-Encoding: base64"]),
      gzipPart("#cloud-config\n\n\n\npackages: 5\n"),
      part("text/cloud-config", base64("#cloud-config\n\n\nntp: [\n"), ["Content-Transfer-Encoding: base64"]),
      part("text/cloud-config-archive", base64("#cloud-config-archive\n- |\n  #cloud-config\n\n  users: 5\n"), ["Content-Transfer-Encoding: base64"]),
      part("text/cloud-config", "#cloud-config\nhostname: [x]")
    ])
    expect(analyse(source).problems.map(formatProblem)).toEqual([
      "line 8: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped",
      "line 13: packages: expected a list, got a number; skipped",
      "line 18: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; part skipped",
      "line 23: users: expected a list of users, got a number; skipped",
      // a part of text after them: its lines are the user-data's
      "line 28: hostname: expected a host name such as web-1 or web-1.example.com, got a list; skipped"
    ])
  })

  it("counts a part's lines that end in a CR alone as its YAML counts them, so that a later part's lines follow on from them", () => {
    const source = multipart([part("text/cloud-config", "#cloud-config\rhostname: x\r\rtimezone: [x]"), part("text/cloud-config", "#cloud-config\npackages: 5")])
    expect(analyse(source).problems.map(formatProblem)).toEqual([
      "line 10: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped",
      "line 15: packages: expected a list, got a number; skipped"
    ])
    // CR LF is one line break, as before
    expect(analyse(source.replaceAll("\r", "\r\n")).problems.map(formatProblem)).toEqual([
      "line 10: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped",
      "line 15: packages: expected a list, got a number; skipped"
    ])
  })

  it("reads a message whose lines all end in a CR alone as Python's email (so cloud-init) reads it: its headers, parts and lines as with LF", () => {
    const source = multipart([part("text/cloud-config", "#cloud-config\nhostname: x\n\ntimezone: [x]"), part("text/x-shellscript", "#!/bin/sh\necho 2"), part("text/cloud-config", "#cloud-config\npackages: 5")])
    const problems = ["line 10: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped", "line 20: packages: expected a list, got a number; skipped"]
    expect(analyse(source).problems.map(formatProblem)).toEqual(problems)
    for (const mac of [source.replaceAll("\n", "\r"), source.replaceAll("\n", "\r\n")]) {
      const read = analyse(mac)
      // the script part's #! line ends in a CR alone there: it will not start, as under cloud-init, and is warned of
      const warnings = mac.includes("\r\n") ? [] : [`part 2 (line 14): its ${SHEBANG_CR}: the part will not start; save it with LF line ends`]
      expect([read.problems.map(formatProblem), read.warnings]).toEqual([problems, warnings])
      expect(scriptsOf(mac)).toEqual([["part-2", mac.includes("\r\n") ? "#!/bin/sh\r\necho 2" : "#!/bin/sh\recho 2"]])
    }
  })

  it("tells a message whose lines end in a CR alone for MIME by all its headers, as with LF: another header first, an mbox From line; a header run into a script is none", () => {
    const source = `From nobody\nSubject: x\n${multipart([part("text/cloud-config", "#cloud-config\nhostname: x\ntimezone: [x]")])}`
    const problems = ["line 11: timezone: expected a time zone such as Europe/Paris or UTC, got a list; skipped"]
    for (const lines of [source, source.replaceAll("\n", "\r"), source.replaceAll("\n", "\r\n")]) {
      expect(analyse(lines).problems.map(formatProblem)).toEqual(problems)
      expect(analyse(lines.slice(lines.indexOf("S"))).problems.map(formatProblem)).toEqual(problems.map((p) => p.replace("line 11", "line 10")))
      // no MIME-Version: cloud-init does not hand it to Python's email, and runs nothing
      const script = "Content-Type: text/x-shellscript\n#!/bin/sh\necho hi\n"
      expect(analyse(lines.includes("\r\n") ? script.replaceAll("\n", "\r\n") : lines.includes("\r") ? script.replaceAll("\n", "\r") : script).parsed?.kind).toEqual("unknown")
    }
  })

  it("keeps the blank line of a part without headers in a message whose lines end in a CR alone: its body's first line is no header there either", () => {
    const source = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\n\nX-Note: y\n#!/bin/sh\necho ran\n--B \n\n#!/bin/sh\necho 2\n--B--\n"
    for (const lines of [source, source.replaceAll("\n", "\r"), source.replaceAll("\n", "\r\n")]) {
      const read = analyse(lines)
      const notStarting = lines.includes("\r") && !lines.includes("\r\n") ? [`part 2 (line 11): its ${SHEBANG_CR}: the part will not start; save it with LF line ends`] : []
      expect(read.warnings).toEqual(["part 1 (line 6): text/plain parts are not supported; part ignored", ...notStarting])
      expect(scriptsOf(lines).map(([name]) => name)).toEqual(["part-2"])
    }
  })

  it(`are read ${MAX_MIME_DEPTH} levels deep, no deeper`, () => {
    const nest = (levels: number): string =>
      levels === 1 ? part("text/x-shellscript", "#!/bin/sh\necho deep") : inner(`b${levels}`, [nest(levels - 1)])
    const at = (levels: number) => multipart([nest(levels)])
    expect(scriptsOf(at(MAX_MIME_DEPTH))).toEqual([[`part-${Array(MAX_MIME_DEPTH).fill(1).join(".")}`, "#!/bin/sh\necho deep"]])
    const tooDeep = analyse(at(MAX_MIME_DEPTH + 1))
    expect(tooDeep.parsed?.kind === "multipart" && tooDeep.parsed.scripts).toEqual([])
    expect(tooDeep.warnings).toEqual([
      expect.stringMatching(new RegExp(`^part ${Array(MAX_MIME_DEPTH).fill(1).join("\\.")} \\(line \\d+\\): multipart parts nested more than 8 levels deep are not read; part ignored$`))
    ])
  })

  it("share the size limit with the other parts", () => {
    const source = multipart([gzipPart(`#!/bin/sh\n${"#".repeat(600)}`), inner("in", [gzipPart(`#!/bin/sh\n${"#".repeat(600)}`)])])
    expect(analyse(source, { maxBytes: 1000 }).warnings).toEqual([expect.stringMatching(/^part 2\.1 \(line \d+\): the parts come to more than 1000 bytes together/)])
  })

  it("without a boundary or parts are named", () => {
    const source = multipart([part("multipart/mixed", "--x\n"), inner("in", [])])
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 7): multipart part without a boundary in its Content-Type; part ignored",
      "part 2 (line 12): multipart part without parts; part ignored"
    ])
  })

  it(`with a boundary longer than RFC 2046's ${MAX_BOUNDARY} characters are refused in one line, the user-data's own as a part's; the other parts apply`, () => {
    const long = "b".repeat(100_000)
    const ok = "b".repeat(MAX_BOUNDARY)
    const source = multipart([inner(long, [part("text/x-shellscript", "#!/bin/sh\necho never")]), inner(ok, [part("text/x-shellscript", "#!/bin/sh\necho inner")])], "outer")
    expect(scriptsOf(source)).toEqual([["part-2.1", "#!/bin/sh\necho inner"]])
    expect(analyse(source).warnings).toEqual(["part 1 (line 7): multipart part with a boundary of 100000 characters, more than the 70 RFC 2046 allows; part ignored"])
    const { parsed, problems } = analyse(multipart([part("text/x-shellscript", "#!/bin/sh\necho never")], long))
    expect([parsed, problems.map(formatProblem)]).toEqual([undefined, ["line 1: multipart user-data has a boundary of 100000 characters, more than the 70 RFC 2046 allows"]])
  })
})

describe("the type a part's first line names", () => {
  it("wins over text/x-shellscript, as in cloud-init: a #cloud-config body is cloud-config", () => {
    const source = multipart([part("text/x-shellscript", "#cloud-config\nhostname: from-shell"), part("text/x-shellscript", "#include\nhttp://example.com/x")])
    const result = multipartOf(source)
    expect([result.scripts, result.config.hostname]).toEqual([[], "from-shell"])
    expect(analyse(source).warnings).toEqual(["part 2 (line 12): #include parts are not supported; part ignored"])
  })

  it("passes over an empty part of a type not read, as cloud-init does: the one after a last boundary written without its closing '--'", () => {
    // as a user-data on GitHub (medandlearn/simpleserver-1) ends its two parts: `--//` and the end of the file
    const open = multipart([part("text/cloud-config", "#cloud-config\nhostname: web"), part("text/x-shellscript", "#!/bin/sh\necho hi")], "//").replace(/--\/\/--\n$/, "--//\n")
    const result = multipartOf(open)
    expect([result.config.hostname, result.scripts.map((s) => text(s.content))]).toEqual(["web", ["#!/bin/sh\necho hi"]])
    expect(analyse(open).warnings).toEqual([])
    expect(analyse(`${open.slice(0, -1)}`).warnings).toEqual([])
    // an empty part between two others, of a type read or not, is nothing either
    expect(analyse(multipart([part("text/html", ""), part("text/cloud-config", "")])).warnings).toEqual([])
    // a part with something in it is still named
    expect(analyse(`${open}\n`).warnings).toEqual([])
    expect(analyse(`${open}x\n`).warnings).toEqual(["part 3 (line 15): text/plain parts are not supported; part ignored"])
  })

  it("ignores base64 text a part's Content-Transfer-Encoding does not say is base64, saying why, as cloud-init does not decode it: never run as a script", () => {
    const script = Buffer.from("#!/bin/sh\necho hi\n").toString("base64")
    const source = multipart([part("text/x-shellscript", script), part("text/plain", script), part("text/x-shellscript", script, ["Content-Transfer-Encoding: base64"])])
    expect(scriptsOf(source)).toEqual([["part-3", "#!/bin/sh\necho hi\n"]])
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 7): base64 text is not decoded without Content-Transfer-Encoding: base64, as cloud-init does not decode it; part ignored",
      "part 2 (line 11): base64 text is not decoded without Content-Transfer-Encoding: base64, as cloud-init does not decode it; part ignored"
    ])
  })

  it("runs a text/x-shellscript part whose words decode as base64 to no type ('I was here' is '#' and bytes), as cloud-init does", () => {
    const source = multipart([part("text/x-shellscript", "I was here")])
    expect(scriptsOf(source)).toEqual([["part-1", "I was here"]])
    expect(analyse(source).warnings).toEqual([])
  })

  it("leaves text/x-shellscript a script when the first line names no type", () => {
    const source = multipart([part("text/x-shellscript", "# a comment\necho hi"), part("text/x-shellscript", "#!/bin/sh\necho two")])
    expect(scriptsOf(source).map(([, body]) => body)).toEqual(["# a comment\necho hi", "#!/bin/sh\necho two"])
    expect(analyse(source).warnings).toEqual([])
  })

  it("starts a script at its #! when blank lines come first, in a text/x-shellscript part as in a sniffed one, so its interpreter runs it", () => {
    const source = multipart([part("text/x-shellscript", "\n \n#!/usr/bin/python3\nprint(1)"), part("text/plain", "\n#!/bin/sh\necho two")])
    expect(scriptsOf(source).map(([, body]) => body)).toEqual(["#!/usr/bin/python3\nprint(1)", "#!/bin/sh\necho two"])
  })

  it("says what a part is when its Content-Type is not TYPE/SUBTYPE, read as text/plain as RFC 2045 and cloud-init read it", () => {
    const source = multipart([part("cloud-config", "#cloud-config\nhostname: typo"), part("text/x-shellscript/sh", "#!/bin/sh\necho two"), part("shellscript", "echo three")])
    expect(scriptsOf(source)).toEqual([["part-2", "#!/bin/sh\necho two"]])
    expect(multipartOf(source).config.hostname).toBe("typo")
    expect(analyse(source).warnings).toEqual(["part 3 (line 17): text/plain parts are not supported; part ignored"])
  })

  it("names a type or a transfer encoding it does not read in a warning, or when it is no such name (a header line of a quarter of a megabyte) its length alone", () => {
    const long = "x".repeat(1 << 18)
    const source = multipart([
      part(`application/${long}`, "hello"),
      part("text/x-include-url", "http://example.com/x"),
      part("text/x-shellscript", "#!/bin/sh", [`Content-Transfer-Encoding: ${long}`]),
      part("text/x-shellscript", "#!/bin/sh", ["Content-Transfer-Encoding: X-UUEncode"])
    ])
    expect(analyse(source).warnings).toEqual([
      `part 1 (line 7): parts of a Content-Type of ${12 + (1 << 18)} characters are not supported; part ignored`,
      "part 2 (line 11): text/x-include-url parts are not supported; part ignored",
      `part 3 (line 16): a transfer encoding of ${1 << 18} characters is not one cloud-init decodes; the part is read as it is, as cloud-init reads it`,
      "part 4 (line 21): transfer encoding X-UUEncode is not supported; part ignored"
    ])
  })

  it("reads a part whose transfer encoding cloud-init does not decode as it is, as cloud-init (Python's email module) does, with a warning", () => {
    // as a Tailscale exit-node recipe writes it: `7bitspra`, a typo cloud-init takes as it is
    const source = multipart([
      part("text/cloud-config", "#cloud-config\nhostname: typo-encoding\npackages: [ufw]", ["Content-Transfer-Encoding: 7bitspra"]),
      part("text/x-shellscript", "#!/bin/sh\necho two", ["Content-Transfer-Encoding: 7-bit"])
    ])
    expect(multipartOf(source).config.hostname).toBe("typo-encoding")
    expect(scriptsOf(source)).toEqual([["part-2", "#!/bin/sh\necho two"]])
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 8): transfer encoding 7bitspra is not one cloud-init decodes; the part is read as it is, as cloud-init reads it",
      "part 2 (line 15): transfer encoding 7-bit is not one cloud-init decodes; the part is read as it is, as cloud-init reads it"
    ])
  })

  it("reads a part whose Content-Transfer-Encoding header is empty as one without it: as it is, with no warning, as Python's email module reads it", () => {
    const source = multipart([part("text/cloud-config", "#cloud-config\nhostname: empty-encoding", ["Content-Transfer-Encoding:"])])
    expect(multipartOf(source).config.hostname).toBe("empty-encoding")
    expect(analyse(source).warnings).toEqual([])
  })

  it("starts a part's body at its first line that is not a header, as cloud-init does, when the blank line after the headers (or the headers) are left out", () => {
    const source = [
      "MIME-Version: 1.0",
      "Content-Type: multipart/mixed; boundary=b",
      "",
      "--b",
      "#cloud-config",
      "hostname: no-headers",
      "",
      "runcmd: [echo hi]",
      "--b",
      "Content-Type: text/x-shellscript",
      "#!/bin/sh",
      "echo no blank line",
      "--b--",
      ""
    ].join("\n")
    expect(scriptsOf(source)).toEqual([["part-2", "#!/bin/sh\necho no blank line"]])
    expect(multipartOf(source).config).toMatchObject({ hostname: "no-headers", runcmd: [{ kind: "shell", script: "echo hi", index: 0 }] })
    expect(analyse(source).warnings).toEqual([])
  })

  it("reads a header given twice as its first, as cloud-init does", () => {
    const source = multipart([part("text/cloud-config", "#cloud-config\nhostname: first-wins", ["Content-Type: text/x-unknown"])])
    expect(multipartOf(source).config.hostname).toBe("first-wins")
    expect(analyse(source).warnings).toEqual([])
  })

  it("reads the headers past a byte-order mark, as the type is read past it, saying that cloud-init finds no headers there (Python's email reader takes the whole for one text/plain part)", () => {
    const source = `\uFEFF${multipart([part("text/cloud-config", "#cloud-config\nhostname: after-bom"), part("text/x-shellscript", "#!/bin/sh\necho two")])}`
    expect(multipartOf(source).config.hostname).toBe("after-bom")
    expect(scriptsOf(source)).toEqual([["part-2", "#!/bin/sh\necho two"]])
    expect(analyse(source).warnings).toEqual([
      "line 1: starts with a byte-order mark, after which cloud-init finds no MIME headers and applies nothing; applied here as if it were not there"
    ])
  })

  it("reads a Content-Type parameter given twice as its first, as cloud-init does: the boundary too", () => {
    const source = [
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="A"; boundary="B"',
      "",
      "--A",
      "Content-Type: text/x-shellscript",
      "",
      "#!/bin/sh",
      "echo A",
      "--A",
      'Content-Type: text/x-shellscript; name="first.sh"; name="second.sh"',
      "",
      "#!/bin/sh",
      "echo B",
      "--B",
      "--A--",
      ""
    ].join("\n")
    expect(scriptsOf(source)).toEqual([
      ["part-1", "#!/bin/sh\necho A"],
      ["first.sh", "#!/bin/sh\necho B\n--B"]
    ])
  })

  it("is named when text/plain holds a type this program does not read", () => {
    const utf16 = Buffer.from("\ufeff#cloud-config\r\nhostname: x\r\n", "utf16le").toString("base64")
    const source = multipart([
      part("text/plain", "#include\nhttp://example.com/x"),
      part("text/plain", "#alpine-config\nuser: bob"),
      part("text/plain", "hello"),
      part("text/plain", utf16, ["Content-Transfer-Encoding: base64"])
    ])
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 7): #include parts are not supported; part ignored",
      "part 2 (line 12): #alpine-config parts are not supported; part ignored",
      "part 3 (line 17): text/plain parts are not supported; part ignored",
      "part 4 (line 22): UTF-16 text is not read, as cloud-init does not read it either: save the user-data as UTF-8; part ignored"
    ])
  })
})

describe("#cloud-config-archive parts", () => {
  const archive = [
    "- type: text/cloud-config",
    "  content: |",
    "    #cloud-config",
    "    hostname: from-archive",
    "    packages: [vim]",
    "- |",
    "  #!/bin/sh",
    "  echo listed",
    "- type: text/cloud-config-archive",
    "  content: '- echo nested'",
    "- type: text/cloud-config",
    "  content: |",
    "    #cloud-config",
    "    users: 5"
  ].join("\n")

  it("are read as the parts they list, as cloud-init explodes them, in their place among the others and on their lines; an archive they list is not", () => {
    const source = multipart([
      part("text/x-shellscript", "#!/bin/sh\necho first"),
      part("text/cloud-config-archive", archive),
      part("text/plain", "#cloud-config-archive\n- \"#cloud-config\\nruncmd: [echo sniffed]\""),
      part("text/x-shellscript", "#!/bin/sh\necho last")
    ])
    const result = multipartOf(source)
    expect(result.scripts.map((s) => [s.name, text(s.content)])).toEqual([
      ["part-1", "#!/bin/sh\necho first"],
      ["part-2.2", "#!/bin/sh\necho listed\n"],
      ["part-4", "#!/bin/sh\necho last"]
    ])
    expect([result.config.hostname, result.config.packages, result.config.runcmd.map((c) => c.kind === "shell" && c.script)]).toEqual([
      "from-archive",
      ["vim"],
      ["echo sniffed"]
    ])
    const { warnings, problems } = analyse(source)
    expect(warnings).toEqual(["part 2.3 (line 21): #cloud-config-archive parts are not read inside a #cloud-config-archive; part ignored"])
    expect(problems.map(formatProblem)).toEqual(["line 25: users: expected a list of users, got a number; skipped"])
  })

  it("share the size limit with the other parts: the part that passes it, and every part after it, are ignored in one warning", () => {
    // one entry of 300 bytes, named three times by a YAML alias
    const listed = ["- &s |", "  #!/bin/sh", `  echo ${"#".repeat(300)}`, "- *s", "- *s"].join("\n")
    const source = multipart([part("text/cloud-config-archive", listed), part("text/x-shellscript", "#!/bin/sh\necho after")])
    const options = { maxBytes: 800 }
    expect(source.length).toBeLessThan(800)
    expect(scriptsOf(source, options).map(([name]) => name)).toEqual(["part-1.1", "part-1.2"])
    expect(analyse(source, options).warnings).toEqual([
      "part 1.3 (line 11): the parts come to more than 800 bytes together, the limit for user-data (USERDATA_MAX_BYTES); this part and the ones after it are ignored"
    ])
  })

  it("that list no parts, or whose list has a key given twice, are named in their warnings, as each part that says nothing else", () => {
    const source = multipart([
      part("text/cloud-config-archive", "[]"),
      part("text/plain", "#cloud-config-archive"),
      part("text/cloud-config-archive", '- {content: "#cloud-config", content: "#!/bin/sh\\necho kept"}')
    ])
    expect(scriptsOf(source)).toEqual([["part-3.1", "#!/bin/sh\necho kept"]])
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 7): #cloud-config-archive has no parts",
      "part 2 (line 11): #cloud-config-archive has no parts",
      "part 3 (line 15): #cloud-config-archive: line 15: [0].content: duplicate key; the last one is used, as cloud-init does"
    ])
  })

  it("take a text entry as its text, whatever Content-Transfer-Encoding it names (cloud-init's MIMEText gives it its own first); another type's entry is decoded by its own", () => {
    const gz = gzipSync("#cloud-config\npackages: [from-gzip]\n").toString("base64")
    const listed = [
      "- type: text/cloud-config",
      "  Content-Transfer-Encoding: base64",
      "  content: |",
      "    #cloud-config",
      "    hostname: from-archive",
      "- type: text/x-shellscript",
      "  Content-Transfer-Encoding: 7bitspra",
      "  content: |",
      "    #!/bin/sh",
      "    echo as-it-is",
      "- type: application/x-gzip",
      "  Content-Transfer-Encoding: base64",
      `  content: ${gz}`
    ].join("\n")
    const source = multipart([part("text/cloud-config-archive", listed)])
    expect([multipartOf(source).config.hostname, multipartOf(source).config.packages]).toEqual(["from-archive", ["from-gzip"]])
    expect(scriptsOf(source)).toEqual([["part-1.2", "#!/bin/sh\necho as-it-is\n"]])
    expect(analyse(source).warnings).toEqual([])
  })

  it("that cannot be read are named, and the other parts apply", () => {
    const source = multipart([part("text/cloud-config-archive", "hostname: not-a-list"), part("text/cloud-config", "#cloud-config\nhostname: kept")])
    expect(multipartOf(source).config.hostname).toBe("kept")
    expect(analyse(source).warnings).toEqual(["part 1 (line 7): #cloud-config-archive: line 7: expected a list of parts; part ignored"])
  })
})

describe("a part with a Launch-Index header", () => {
  it("is used whatever the instance's launch index, a script or a cloud-config, and said of each; an ignored part is not", () => {
    const source = multipart([
      part("text/x-shellscript", "#!/bin/sh\necho one", ["Launch-Index: 1"]),
      part("text/cloud-config", "#cloud-config\nruncmd: [echo two]", ["Launch-Index: 0"]),
      part("application/x-unknown", "data", ["Launch-Index: 2"])
    ])
    expect(scriptsOf(source).map(([, body]) => body)).toEqual(["#!/bin/sh\necho one"])
    expect(multipartOf(source).config.runcmd).toEqual([{ kind: "shell", script: "echo two", index: 0 }])
    expect(analyse(source).warnings.filter((w) => w.includes("Launch-Index"))).toEqual([
      "part 1 (line 8): Launch-Index is not supported; the part is used whatever the instance's launch index",
      "part 2 (line 14): Launch-Index is not supported; the part is used whatever the instance's launch index"
    ])
  })
})

describe("text/x-shellscript-per-* parts", () => {
  it("run once at the first boot; per-boot says it runs at the first boot only", () => {
    const source = multipart(
      ["per-boot", "per-instance", "per-once"].map((f) => part(`text/x-shellscript-${f}`, `#!/bin/sh\necho ${f}`))
    )
    expect(scriptsOf(source).map(([, body]) => body)).toEqual(["#!/bin/sh\necho per-boot", "#!/bin/sh\necho per-instance", "#!/bin/sh\necho per-once"])
    expect(analyse(source).warnings).toEqual(["part 1 (line 7): text/x-shellscript-per-boot parts run at the first boot only"])
  })

  it("a part whose lines end in a CR alone is kept, with a warning that it will not start; one in CR LF runs and is not warned of", () => {
    const source = multipart([part("text/x-shellscript", "#!/bin/sh\recho cr"), part("text/x-shellscript", "#!/bin/sh\r\necho crlf")])
    expect(scriptsOf(source).map(([, body]) => body)).toEqual(["#!/bin/sh\recho cr", "#!/bin/sh\r\necho crlf"])
    expect(analyse(source).warnings).toEqual([
      "part 1 (line 7): its #! line holds a carriage return (CR line ends, which the kernel does not read as a line's end): the part will not start; save it with LF line ends"
    ])
  })
})

describe("merging cloud-config parts", () => {
  // one part at a time: every part's YAML document (its nodes and lines, some kilobytes each) was loaded before the
  // first was merged, 850,000 parts of a bare #cloud-config (the YAML's token limit reads 200,000) held at once, 900 MB
  it("loads each part as it merges it, never every part's YAML document at once", () => {
    const events: Array<string> = []
    const { lex } = Lexer.prototype
    const { entries } = Object
    const spies = [
      vi.spyOn(Lexer.prototype, "lex").mockImplementation(function (this: Lexer, source: string, incomplete?: boolean) {
        const key = /^k(\d+):/m.exec(source)?.[1]
        if (key !== undefined && events.at(-1) !== `load ${key}`) events.push(`load ${key}`)
        return lex.call(this, source, incomplete)
      }),
      vi.spyOn(Object, "entries").mockImplementation((o: object) => {
        const keys = Object.keys(o)
        if (keys.length === 1 && /^k\d+$/.test(keys[0]!)) events.push(`merge ${keys[0]!.slice(1)}`)
        return entries(o)
      })
    ]
    let config: unknown
    try {
      config = multipartOf(multipart([1, 2, 3].map((i) => part("text/cloud-config", `#cloud-config\nk${i}: ${i}`)))).config
    } finally {
      spies.forEach((spy) => spy.mockRestore())
    }
    expect(events).toEqual(["load 1", "merge 1", "load 2", "merge 2", "load 3", "merge 3"])
    expect(config).toBeDefined()
  })

  const first = "#cloud-config\nhostname: one\npackages: [a]\nruncmd: [echo first]\nwrite_files:\n  - path: /a\n    content: x"
  const second = "#cloud-config\nhostname: two\npackages: [b]\nruncmd: [echo second]"

  it("a later part's key __proto__ is merged as a key, and named as not carried out", () => {
    const source = multipart([part("text/cloud-config", first), part("text/cloud-config", "#cloud-config\n__proto__: {hostname: two}")])
    expect(multipartOf(source).config.hostname).toBe("one")
    expect(analyse(source).warnings).toEqual(["unsupported cloud-config keys: __proto__"])
  })

  it("replaces a later part's top-level keys without a merge type", () => {
    const config = multipartOf(multipart([part("text/cloud-config", first), part("text/cloud-config", second)])).config
    expect([config.hostname, config.packages, config.runcmd.map((c) => c.kind === "shell" && c.script)]).toEqual(["two", ["b"], ["echo second"]])
    expect(config.writeFiles.map((f) => f.path)).toEqual(["/a"])
  })

  it.each([
    ["the Merge-Type header", [part("text/cloud-config", second, ["Merge-Type: list(append)+dict(recurse_array,no_replace)+str()"])]],
    ["the X-Merge-Type header", [part("text/cloud-config", second, ["X-Merge-Type: list(append)+dict(recurse_array,no_replace)+str()"])]],
    ["the merge_how key", [part("text/cloud-config", `${second}\nmerge_how: 'list(append)+dict(recurse_array,no_replace)+str()'`)]],
    [
      "the merge_how key as a list",
      [part("text/cloud-config", `${second}\nmerge_how:\n  - name: list\n    settings: [append]\n  - name: dict\n    settings: [no_replace, recurse_list]`)]
    ]
  ])("appends lists and keeps earlier values by %s", (_, later) => {
    const source = multipart([part("text/cloud-config", first), ...later])
    const config = multipartOf(source).config
    expect(config.hostname).toBe("one")
    expect(config.packages).toEqual(["a", "b"])
    expect(config.runcmd.map((c) => c.kind === "shell" && c.script)).toEqual(["echo first", "echo second"])
    expect(analyse(source).warnings).toEqual([])
  })

  it("replaces a key both have with dict(replace), and merges maps with dict(no_replace)", () => {
    const earlier = part("text/cloud-config", "#cloud-config\nhostname: one\nntp: {enabled: true, servers: [a.example]}\npackages: [a]")
    const later = (mergeType: string) =>
      part("text/cloud-config", "#cloud-config\nhostname: two\nntp: {ntp_client: busybox, servers: [b.example]}\npackages: [b]", [`Merge-Type: ${mergeType}`])
    const replaced = multipartOf(multipart([earlier, later("dict(replace,recurse_list)+list(prepend)")])).config
    expect([replaced.hostname, replaced.packages, replaced.ntp?.servers]).toEqual(["two", ["b"], ["b.example"]])
    const merged = multipartOf(multipart([earlier, later("dict(no_replace)+list(prepend)")])).config
    expect([merged.hostname, merged.packages, merged.ntp?.client, merged.ntp?.servers]).toEqual(["one", ["a"], "busybox", ["a.example"]])
  })

  it("places each merged entry's problems in the part that gave it", () => {
    const source = multipart([
      part("text/cloud-config", "#cloud-config\nruncmd: [echo first]\nusers:\n  - name: a\n    uid: many"),
      part("text/cloud-config", "#cloud-config\nusers:\n  - name: b\n    uid: lots", ["Merge-Type: list(append)+dict(recurse_array)"])
    ])
    expect(analyse(source).problems.map(formatProblem)).toEqual([
      "line 11: users[0].uid: expected a user id such as 1001, got a string of 4 characters; skipped",
      "line 19: users[1].uid: expected a user id such as 1001, got a string of 4 characters; skipped"
    ])
  })

  it("ignores a part whose merge type cannot be read, or names no dict(), saying why", () => {
    const source = multipart([
      part("text/cloud-config", first),
      part("text/cloud-config", second, ["Merge-Type: list(append"]),
      part("text/cloud-config", second, ["Merge-Type: list(append)+tree()"]),
      part("text/cloud-config", `${second}\nmerge_how: 5`),
      part("text/cloud-config", second, ["Merge-Type: list(append)"])
    ])
    expect(multipartOf(source).config.packages).toEqual(["a"])
    expect(analyse(source).warnings).toEqual([
      "part 2 (line 18): the Merge-Type header is not a list of mergers such as list(append)+dict(recurse_array)+str(); part ignored",
      "part 3 (line 26): the Merge-Type header names a merger other than dict(), list() and str(); part ignored",
      "part 4 (line 33): the merge_how key is not a list of mergers such as list(append)+dict(recurse_array)+str(); part ignored",
      "part 5 (line 42): its mergers name no dict(), so it changes nothing, as in cloud-init; part ignored"
    ])
  })
})

describe("YAML messages", () => {
  it("say in our words that a second document is not read", () => {
    expect(analyse("#cloud-config\nhostname: a\n---\nhostname: b\n").problems.map(formatProblem)).toEqual([
      "line 3: YAML: a second document starts here; only one is expected"
    ])
  })

  it("place an alias without its anchor on its line, without naming it", () => {
    expect(analyse("#cloud-config\n*secret\n").problems.map(formatProblem)).toEqual(["line 2: YAML: an alias whose anchor is not set before it"])
    expect(analyse(multipart([part("text/cloud-config", "#cloud-config\nhostname: *x")])).problems.map(formatProblem)).toEqual([
      "line 8: YAML: an alias whose anchor is not set before it; part skipped"
    ])
  })
})
