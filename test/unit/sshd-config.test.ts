import { describe, expect, it } from "vitest"
import { dropInsBefore, firstValue, pwauthPlace, readsHomeKeys } from "../../src/domain/sshd-config.js"

describe("where sshd reads PasswordAuthentication first", () => {
  it.each([
    ["Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n", "drop-ins"],
    ["  include=/etc/ssh/sshd_config.d/*.conf\n", "drop-ins"],
    ["include /etc/ssh/extra.conf sshd_config.d/*.conf\n", "drop-ins"],
    ["PasswordAuthentication=no\nInclude /etc/ssh/sshd_config.d/*.conf\n", "main"],
    ["Port 22\nMatch User x\n  Include /etc/ssh/sshd_config.d/*.conf\n", "main"],
    ['Include "/etc/ssh/sshd_config.d/*.conf"\n', "drop-ins"],
    ["#Include /etc/ssh/sshd_config.d/*.conf\n", "main"],
    ["Include /etc/ssh/other.d/*.conf\n", "main"],
    ["Include /etc/ssh/sshd_config.d/*.conf\r\nPasswordAuthentication no\r\n", "drop-ins"],
    ["Include '/etc/ssh/sshd_config.d/*.conf' # the drop-ins\n", "drop-ins"]
  ])("%j: %s", (config, place) => {
    expect(pwauthPlace(config)).toBe(place)
  })

  it("the drop-ins read before ours are those `*.conf` matches, in their name's byte order", () => {
    expect(dropInsBefore(["60-image.conf", "10-b.conf", "05-A.conf", ".00.conf", "00-x.conf.bak", "50-tiny-cloud.conf", "49Z.conf"], "50-tiny-cloud.conf")).toEqual(["05-A.conf", "10-b.conf", "49Z.conf"])
  })
})

describe("the AuthorizedKeysFile sshd takes, and whether it reads ~/.ssh/authorized_keys", () => {
  const include = "Include /etc/ssh/sshd_config.d/*.conf\n"
  it.each([
    [`${include}AuthorizedKeysFile .ssh/authorized_keys\n`, ["AuthorizedKeysFile /etc/ssh/keys/%u\n"], "/etc/ssh/keys/%u"],
    [`AuthorizedKeysFile=.ssh/authorized_keys .ssh/authorized_keys2\n${include}`, ["AuthorizedKeysFile /etc/ssh/keys/%u\n"], ".ssh/authorized_keys .ssh/authorized_keys2"],
    [`${include}#AuthorizedKeysFile /x\nMatch User bob\n  AuthorizedKeysFile /y\n`, ["Match Group g\nAuthorizedKeysFile /z\n"], undefined],
    ["AuthorizedKeysFile  /etc/ssh/keys/%u  \n", [], "/etc/ssh/keys/%u"]
  ])("%j with drop-ins %j: %s", (config, dropIns, value) => {
    expect(firstValue(config, dropIns, "AuthorizedKeysFile")).toBe(value)
  })

  it("a 1 MiB line with a long run of blanks inside its value is read at once (its blanks cost no square of their run)", () => {
    const blanks = " ".repeat(1 << 20)
    expect(firstValue(`AuthorizedKeysFile a${blanks}b${blanks}\nStrictModes${blanks}no${blanks}\n`, [], "AuthorizedKeysFile")).toBe(`a${blanks}b`)
    expect(firstValue(`StrictModes${blanks}no${blanks}\n`, [], "StrictModes")).toBe("no")
  })

  const alpine = { name: "alpine", uid: 1000, home: "/home/alpine" }
  it.each([
    [".ssh/authorized_keys .ssh/authorized_keys2", true],
    ["%h/.ssh/authorized_keys", true],
    ["/home/%u/.ssh/authorized_keys", true],
    ['".ssh/authorized_keys"', true],
    ["'.ssh/authorized_keys' # the stock file", true],
    ['/etc/ssh/keys/%u #.ssh/authorized_keys', false],
    ["/etc/ssh/keys/%u", false],
    ["/etc/ssh/keys/%U .ssh/other", false],
    [".ssh/authorized_keys2", false],
    ["none", false]
  ])("%j: %s", (value, reads) => {
    expect(readsHomeKeys(value, alpine)).toBe(reads)
  })
})
