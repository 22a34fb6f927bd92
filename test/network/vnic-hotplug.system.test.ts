/**
 * vnic-eth-hotplug with real tools. Its clean-up of a removed NIC with the
 * real `ip`, as the bundled program, in a network namespace the test makes:
 * the policy rules it deletes are those of the NIC's table, and only those
 * (`rc-service`, networking started, is a stand-in; the instance's files
 * are under a ROOT of the test's own). The mdev rule install_hotplugs
 * writes, as busybox mdev matches it, in a mount namespace of the test's
 * own whose /etc holds that mdev.conf.
 */
import { spawn } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { HOTPLUG_MODULES, withRule } from "../../src/programs/actions/hotplug.js"
import { PROGRAM, TEST_CODE_CACHE } from "../support/harness.js"
import { describeSystem, which } from "../support/system.js"
import { makeNamespace, run, type Namespace } from "./netns.js"

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

describeSystem("vnic-eth-hotplug remove with the instance's /proc", { tools: { unshare: "util-linux", dash: "dash", flock: "util-linux" }, root: true }, () => {
  it.scopedLive("the pid file's process is killed when it is the NIC's udhcpc, and left alone when it is another program", () =>
    Effect.gen(function* () {
      const { dir, root, bin } = yield* instance
      // ip lists no rules: this test's rules are the host's
      writeFileSync(join(bin, "ip"), "#!/bin/sh\nexit 0\n")
      chmodSync(join(bin, "ip"), 0o755)
      mkdirSync(join(root, "proc"))
      // a udhcpc for eth2 (a shell by that name, as its command name and arguments show it) and a program that is not one
      const shell = join(dir, "udhcpc")
      writeFileSync(shell, readFileSync(which("dash")!))
      chmodSync(shell, 0o755)
      const dhcp = spawn(shell, ["-c", "while :; do sleep 1; done", "udhcpc", "-b", "-p", "/var/run/udhcpc.eth2.pid", "-i", "eth2"], { stdio: "ignore" })
      const other = spawn("sleep", ["300"], { stdio: "ignore" })
      yield* Effect.addFinalizer(() => Effect.sync(() => [dhcp, other].forEach((p) => p.kill("SIGKILL"))))
      const ended = (p: typeof dhcp) => new Promise<string | null>((done) => (p.exitCode !== null || p.signalCode !== null ? done(p.signalCode) : p.once("exit", (_, signal) => done(signal))))
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, ROOT: root, MDEV: "eth2", ACTION: "remove", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      // the host's /proc is the instance's, in this mount namespace only
      const remove = run("unshare", ["-m", "--propagation", "private", "sh", "-c", `mount --bind /proc "${root}/proc" && exec "${process.execPath}" "${PROGRAM}" hotplug vnic-eth`], env)
      writeFileSync(join(root, "run/udhcpc.eth2.pid"), `${other.pid}\n`)
      expect(yield* remove).toEqual({ code: 0, stdout: "", stderr: "" })
      writeFileSync(join(root, "run/udhcpc.eth2.pid"), `${dhcp.pid}\n`)
      expect(yield* remove).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* Effect.promise(() => ended(dhcp))).toBe("SIGTERM")
      expect(other.exitCode === null && other.signalCode === null).toBe(true)
    })
  )
})

describeSystem("the vnic_eth_hotplug mdev rule as busybox mdev reads it", { tools: { busybox: "busybox", unshare: "util-linux" }, root: true }, () => {
  it.scopedLive("mdev runs the helper for every ethN, eth10 and on too, on add and remove; for no other name", () =>
    Effect.gen(function* () {
      const { dir } = yield* instance
      // the rule as install_hotplugs writes it, its program a recording stand-in
      const rule = withRule("# fallback\n", HOTPLUG_MODULES["vnic_eth_hotplug"]!).replace("*/lib/mdev/vnic-eth-hotplug", `*${dir}/helper`)
      writeFileSync(join(dir, "mdev.conf"), rule)
      writeFileSync(join(dir, "helper"), `#!/bin/sh\necho "$ACTION $MDEV" >> ${dir}/events\n`)
      chmodSync(join(dir, "helper"), 0o755)
      const names = ["eth0", "eth1", "eth9", "eth10", "eth15", "eth123", "ens5", "veth0", "eth0.100", "eth1x"]
      // mdev reads /etc/mdev.conf (and the rule's owner from /etc/passwd and /etc/group): a tmpfs on /etc, in this mount namespace only
      const events = names.flatMap((n) => ["add", "remove"].map((a) => `env -i ACTION=${a} SUBSYSTEM=net DEVPATH=/devices/virtual/net/${n} INTERFACE=${n} busybox mdev`))
      const script = [`cp /etc/passwd /etc/group ${dir}/`, "mount -t tmpfs tiny-cloud-test /etc", `cp ${dir}/passwd ${dir}/group ${dir}/mdev.conf /etc/`, ...events].join(" && ")
      expect(yield* run("unshare", ["-m", "--propagation", "private", "sh", "-c", script])).toEqual({ code: 0, stdout: "", stderr: "" })
      const expected = ["eth0", "eth1", "eth9", "eth10", "eth15", "eth123"].flatMap((n) => [`add ${n}`, `remove ${n}`])
      expect(readFileSync(join(dir, "events"), "utf8")).toBe(expected.map((l) => `${l}\n`).join(""))
    })
  )
})

describeSystem("vnic-eth-hotplug add as mdev runs it", { tools: { flock: "util-linux" } }, () => {
  it.scopedLive("run with umask 0, as mdev runs its programs: ifup runs with umask 022 (udhcpc's pid file and ifupdown-ng's state not writable by all)", () =>
    Effect.gen(function* () {
      const { dir, root, bin } = yield* instance
      mkdirSync(join(root, "sys/class/net/eth3"))
      writeFileSync(join(bin, "ifup"), `#!/bin/sh\necho "$1 $(umask)" >> ${dir}/ifup\n`)
      chmodSync(join(bin, "ifup"), 0o755)
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, ROOT: root, MDEV: "eth3", ACTION: "add", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      expect(yield* run("sh", ["-c", `umask 0 && exec "${process.execPath}" "${PROGRAM}" hotplug vnic-eth`], env)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(readFileSync(join(dir, "ifup"), "utf8")).toBe("eth3 0022\n")
    })
  )
})
