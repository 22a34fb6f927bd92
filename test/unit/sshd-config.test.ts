import { describe, expect, it } from "vitest"
import { dropInsBefore, pwauthPlace } from "../../src/domain/sshd-config.js"

describe("where sshd reads PasswordAuthentication first", () => {
  it.each([
    ["Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n", "drop-ins"],
    ["  include=/etc/ssh/sshd_config.d/*.conf\n", "drop-ins"],
    ["include /etc/ssh/extra.conf sshd_config.d/*.conf\n", "drop-ins"],
    ["PasswordAuthentication=no\nInclude /etc/ssh/sshd_config.d/*.conf\n", "main"],
    ["Port 22\nMatch User x\n  Include /etc/ssh/sshd_config.d/*.conf\n", "main"],
    ['Include "/etc/ssh/sshd_config.d/*.conf"\n', "drop-ins"],
    ["#Include /etc/ssh/sshd_config.d/*.conf\n", "main"],
    ["Include /etc/ssh/other.d/*.conf\n", "main"]
  ])("%j: %s", (config, place) => {
    expect(pwauthPlace(config)).toBe(place)
  })

  it("the drop-ins read before ours are those `*.conf` matches, in their name's byte order", () => {
    expect(dropInsBefore(["60-image.conf", "10-b.conf", "05-A.conf", ".00.conf", "00-x.conf.bak", "50-tiny-cloud.conf", "49Z.conf"], "50-tiny-cloud.conf")).toEqual(["05-A.conf", "10-b.conf", "49Z.conf"])
  })
})
