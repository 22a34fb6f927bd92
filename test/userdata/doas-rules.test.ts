/** cloud-init's check of a user's doas rules: `permit|deny [options] USER [as TARGET] [cmd CMD [args ...]]`, naming that user */
import { describe, expect, it } from "vitest"
import { doasRuleNamesUser, doasUnreadable } from "../../src/domain/userdata/doas.js"

describe("a doas rule names its user", () => {
  it.each([
    "permit alice",
    "deny alice as root",
    "permit nopass alice",
    "permit nopass keepenv persist alice as root",
    "permit setenv { PATH } alice",
    "permit nolog alice as root cmd /sbin/apk",
    "permit alice cmd /sbin/apk args update",
    "permit alice  "
  ])("%s", (rule) => expect(doasRuleNamesUser(rule, "alice")).toBe(true))

  it.each([
    ["another user", "permit nopass bob"],
    ["another user whose name starts with the user's", "permit nopass alicex"],
    ["another user whose name the user's starts with", "permit nopass alic"],
    ["a group", "permit nopass :wheel"],
    ["the user only as the target", "permit bob as alice"],
    ["no identity", "permit nopass"],
    ["an unknown first word", "allow alice"],
    ["text before the rule", "  permit alice"],
    ["an unknown option", "permit sometimes alice"],
    ["a comment after it", "permit alice # mine"],
    ["an empty rule", ""]
  ])("not with %s", (_, rule) => expect(doasRuleNamesUser(rule, "alice")).toBe(false))
})

describe("a doas rule doas can read (OpenDoas' lexer: one line it cannot read in any of its files makes it refuse every user)", () => {
  it.each([
    "permit alice",
    "permit setenv { PATH FOO=1 } alice",
    "permit setenv{ -HOME }alice",
    'permit alice cmd /usr/bin/find args "{}" x\\ y',
    "permit alice cmd /usr/bin/find args \\{\\}",
    'permit alice cmd "/bin/a \\" b"',
    "permit alice # a comment, where an open \" or { is the comment's"
  ])("%s", (rule) => expect(doasUnreadable(rule)).toBeUndefined())

  it.each([
    ["leaves its quotes open", 'permit alice cmd "/bin/sh'],
    ["leaves its quotes open", 'permit alice cmd "/bin/sh\\"'],
    ["ends with a \\", "permit alice cmd /bin/ls \\"],
    ["has a { that is not setenv's (quote it: \"{}\")", "permit alice cmd /usr/bin/find args -exec {} ;"],
    ["has a { that is not setenv's (quote it: \"{}\")", "permit setenv { A } setenv { B } alice { x }"],
    ["has a } that closes no setenv {", "permit alice cmd a}"],
    ["leaves setenv's { open", "permit setenv { PATH alice"],
    ["holds a NUL", "permit alice\0"]
  ])("%s: %s", (why, rule) => expect(doasUnreadable(rule)).toBe(why))
})
