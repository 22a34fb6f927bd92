/**
 * vnic-eth-hotplug's clean-up of a removed NIC with the real `ip`, as the
 * bundled program, in a network namespace the test makes: the policy rules
 * it deletes are those of the NIC's table, and only those. `rc-service`
 * (networking started) is a stand-in; the instance's files are under a
 * ROOT of the test's own.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { PROGRAM, TEST_CODE_CACHE } from "../support/harness.js"
import { describeSystem } from "../support/system.js"
import { makeNamespace, type Namespace } from "./netns.js"

const REPO = new URL("../../", import.meta.url).pathname

/** an instance's ROOT with the shipped stanzas and eth0 alone left, and a bin directory of stand-ins */
const instance = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-hotplug-"))
    const root = join(dir, "root")
    mkdirSync(join(root, "etc/network/interfaces.d"), { recursive: true })
    for (const stanza of ["lo", "DEFAULT"]) writeFileSync(join(root, "etc/network/interfaces.d", stanza), readFileSync(join(REPO, "etc/network/interfaces.d", stanza)))
    mkdirSync(join(root, "sys/class/net/eth0"), { recursive: true })
    mkdirSync(join(root, "run"))
    mkdirSync(join(dir, "bin"))
    // networking started; syslog's lines kept off the host's
    for (const [tool, text] of [["rc-service", "exit 0"], ["logger", "cat >/dev/null"]]) {
      writeFileSync(join(dir, "bin", tool), `#!/bin/sh\n${text}\n`)
      chmodSync(join(dir, "bin", tool), 0o755)
    }
    return { dir, root, bin: join(dir, "bin") }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const rules = (ns: Namespace, family: "-4" | "-6") =>
  Effect.map(ns.ip(family, "rule", "show"), (text) => text.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l !== ""))

describeSystem("vnic-eth-hotplug with the real ip in a network namespace", { tools: { ip: "iproute2", flock: "util-linux" }, root: true }, () => {
  it.scopedLive("remove: the rules of table 10000+N are deleted, and another table's rule of the same priority is kept", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      const { root, bin } = yield* instance
      // the operator's rule for table 200 at priority 100, added first; one for eth2's table at the same priority; net-sync's
      yield* ns.ip("-4", "rule", "add", "pref", "100", "from", "10.0.5.0/24", "lookup", "200")
      yield* ns.ip("-4", "rule", "add", "pref", "100", "fwmark", "1", "lookup", "10002")
      yield* ns.ip("-4", "rule", "add", "from", "10.0.2.21", "lookup", "10002")
      yield* ns.ip("-4", "rule", "add", "to", "10.0.2.21", "lookup", "10002")
      yield* ns.ip("-6", "rule", "add", "pref", "100", "from", "2001:db8:5::/64", "lookup", "200")
      yield* ns.ip("-6", "rule", "add", "pref", "100", "fwmark", "1", "lookup", "10002")
      yield* ns.ip("-6", "rule", "add", "from", "2001:db8::21", "lookup", "10002")
      // eth12's table: left alone
      yield* ns.ip("-4", "rule", "add", "from", "10.0.12.5", "lookup", "10012")
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, ROOT: root, MDEV: "eth2", ACTION: "remove", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      expect(yield* ns.exec(process.execPath, [PROGRAM, "hotplug", "vnic-eth"], env)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* rules(ns, "-4")).toEqual([
        "0: from all lookup local",
        expect.stringMatching(/^\d+: from 10\.0\.12\.5 lookup 10012$/),
        "100: from 10.0.5.0/24 lookup 200",
        "32766: from all lookup main",
        "32767: from all lookup default"
      ])
      expect(yield* rules(ns, "-6")).toEqual(["0: from all lookup local", "100: from 2001:db8:5::/64 lookup 200", "32766: from all lookup main"])
    })
  )
})
