/**
 * The resident process's reading of a client's `export -p`, in the formats
 * of the shells that may run the OpenRC services (the files' bytes, one
 * char each, as the server reads them).
 */
import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { parseClient, parseExports, parseRequest, replyEnd, replyLines, requestLines } from "../../src/domain/resident.js"
import { charactersScanned } from "../support/scanned.js"
import { describeSystem, SHELLS } from "../support/system.js"

// F: control characters, which bash quotes as $'\E\001\177'
const ENV = { A: "it's", B: 'a"b$c\\d`e', C: "one\nline\ttwo", D: "", E: "\u00fcn\u00ef \u{1F600}", F: "esc\x1b[0m soh\x01 del\x7f" }

describeSystem("a client's environment, from the shells", { tools: SHELLS }, () => {
  it.each(["dash", "busybox sh", "bash --posix", "bash"])("is read from %s's export -p as the shell exports it", (sh) => {
    const [shell, ...args] = sh.split(" ")
    const text = execFileSync(shell!, [...args, "-c", "export UNSET_BUT_EXPORTED; export -p"], { env: ENV, stdio: ["ignore", "pipe", "pipe"] }).toString("latin1")
    const values = parseExports(text)!
    expect(Object.fromEntries(Object.entries(values).filter(([k]) => k in ENV))).toEqual(ENV)
    expect(values).not.toHaveProperty("UNSET_BUT_EXPORTED")
  })

  it.each(["dash", "busybox sh", "bash --posix", "bash"])("is read with %s's umask before it, as client.sh writes them", (sh) => {
    const [shell, ...args] = sh.split(" ")
    const text = execFileSync(shell!, [...args, "-c", "umask 027; { umask && export -p; }"], { env: ENV, stdio: ["ignore", "pipe", "pipe"] }).toString("latin1")
    const { umask, env } = parseClient(text)
    expect(umask).toBe(0o027)
    expect(Object.fromEntries(Object.entries(env!).filter(([k]) => k in ENV))).toEqual(ENV)
  })
})

describe("a client's environment", () => {
  it("without a umask before it (a client that wrote none) is read alone, the umask none", () => {
    expect(parseClient("export A='1'\n")).toEqual({ umask: undefined, env: { A: "1" } })
  })

  it("keeps a variable named as an object's own members are (__proto__)", () => {
    expect(Object.entries(parseExports("export __proto__='x'\nexport A='1'\n")!)).toEqual([["__proto__", "x"], ["A", "1"]])
  })

  it("is not read from anything else: the phase is then run by its client", () => {
    expect(parseExports("A=1\n")).toBeUndefined()
    expect(parseExports("export A='unterminated\n")).toBeUndefined()
    expect(parseExports("export A=two words\n")).toBeUndefined()
    expect(parseExports("typeset -x A=1\n")).toBeUndefined()
  })
})

describe("a request line", () => {
  it("names one of the four phases and a client's pid; anything else is no request (the server passes over it)", () => {
    expect(parseRequest("main 123\n")).toEqual({ phase: "main", client: 123 })
    for (const line of ["serve 123", "imds 123", "MAIN 123", "main 0", "main 0123", "main 12345678901", "main", "main 1 2", "main -1"]) {
      expect({ line, request: parseRequest(line) }).toEqual({ line, request: undefined })
    }
  })
})

/** the requests the reads `chunks` of the requests FIFO give, one after the other, and what the last leaves unfinished */
const readAll = (chunks: ReadonlyArray<string>) => {
  let unfinished: string | undefined = ""
  const requests: Array<ReturnType<typeof parseRequest>> = []
  for (const chunk of chunks) {
    const read = requestLines(unfinished, chunk)
    unfinished = read.unfinished
    requests.push(...read.lines.map(parseRequest).filter((r) => r !== undefined))
  }
  return { requests, unfinished }
}

describe("the requests FIFO's reads", () => {
  it("give a line written in pieces as one request, each of several lines read at once, a CRLF line's request, nothing of bytes that are no request", () => {
    expect(readAll(["hello\near", "ly 12", "\n"])).toEqual({ requests: [{ phase: "early", client: 12 }], unfinished: "" })
    expect(readAll(["boot 1\nearly 2\r\nmain 3\n\xff\xfe final 4\nfin", "al 5"])).toEqual({
      requests: [{ phase: "boot", client: 1 }, { phase: "early", client: 2 }, { phase: "main", client: 3 }],
      unfinished: "final 5"
    })
  })

  it("keep no more of bytes written with no newline than a request can be (a stray root writer): the request after their newline is read", () => {
    const junk = "x".repeat(64 * 1024)
    let unfinished: string | undefined = ""
    for (let n = 0; n < 64; n++) {
      unfinished = requestLines(unfinished, junk).unfinished
      expect(unfinished).toBeUndefined()
    }
    const read = requestLines(unfinished, "still junk\nmain 7\n")
    expect(read.lines).toEqual(["main 7"])
    // a line longer than a request can be is none, within one read too
    expect(requestLines("", `${" ".repeat(100)}main 8\nmain 9\n`).lines).toEqual(["main 9"])
  })
})

/** what a client prints of reply lines (client.sh's reading): stdout and stderr */
const printed = (reply: string) => {
  const out = { stdout: "", stderr: "" }
  for (const line of reply.split("\n").slice(0, -1)) {
    if (line === "10") out.stdout += "\0"
    else if (line.startsWith("1 ")) out.stdout += `${line.slice(2)}\n`
    else if (line.startsWith("1-")) out.stdout += line.slice(2)
    else if (line.startsWith("2 ")) out.stderr += `${line.slice(2)}\n`
  }
  return out
}

/** a phase's output, written in `chunks` of one stream, as the server replies it */
const replied = (stream: 1 | 2, chunks: ReadonlyArray<string>) => {
  let reply = ""
  let rest = ""
  let mostHeld = 0
  for (const chunk of chunks) {
    const next = replyLines(stream, rest, chunk)
    reply += next.lines
    rest = next.rest
    mostHeld = Math.max(mostHeld, rest.length)
  }
  return { reply: reply + (stream === 1 ? replyEnd(rest, "", 0) : replyEnd("", rest, 0)), mostHeld }
}

describe("a phase's output through the reply", () => {
  it("is printed by the client as written, whatever pieces it came in: lines, NULs, a line with no newline at the end", () => {
    const text = "one\ntw\0o\n\0\nthree\0"
    for (const chunks of [[text], text.split(""), ["one\nt", "w\0o\n\0", "\nthree\0"]]) {
      expect(printed(replied(1, chunks).reply).stdout).toBe(text)
      expect(printed(replied(2, chunks.map((c) => c.replaceAll("\0", ""))).reply).stderr).toBe("one\ntwo\n\nthree\n")
    }
  })

  it("scans each byte of a long stdout line written in many pieces about once, and holds none of it (each piece is sent as it comes)", async () => {
    const chunk = "y".repeat(64 * 1024)
    const chunks = Array.from({ length: 64 }, () => chunk)
    const { result, searched } = await charactersScanned(() => replied(1, [...chunks, "\n"]))
    expect(printed(result.reply).stdout).toBe(`${chunk.repeat(64)}\n`)
    expect(result.mostHeld).toBe(0)
    // 4 MiB written; the reply's pieces split again for their NULs
    expect(searched).toBeLessThan(3 * 4 * 1024 * 1024)
  })
})
