/** cloud-init's check of a user's doas rules: `permit|deny [options] USER [as TARGET] [cmd CMD [args ...]]`, naming that user */
import { describe, expect, it } from "vitest"
import { doasRuleNamesUser } from "../../src/domain/userdata/doas.js"

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
