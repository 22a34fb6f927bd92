/**
 * vnic-eth-hotplug (BEHAVIOUR.md §8) in-process on a pretend instance, with
 * the real lock (flock(1)) and recorded commands that take a while to
 * answer, as real ones do: events that ran at the same time would show up
 * interleaved in the record.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { routeHelper, routeTinyCloud } from "../../src/programs/cli.js"
import type { Invocation } from "../support/layers.js"
import { lineOf } from "../support/layers.js"
import { makeTestInstance, type InstanceOptions, type TestInstance } from "../support/instance.js"
import { until } from "../support/openrc.js"
import { describeSystem, which } from "../support/system.js"

const DEFAULT = "auto %%\niface %%\n  use dhcp\n  use imds\n"

/** eth0, eth1 and eth3 are there at the end; eth2 and eth4 are gone */
const present = ["eth0", "eth1", "eth3"].map((name, i) => ({ name, mac: `02:00:00:00:00:0${i}`, up: true }))

/** `rc-service networking status` answers as told; eth2's rules in table 10002 as `ip rule show` lists them */
const system =
  (networking: "started" | "stopped") =>
  (i: Invocation) => {
    if (i.command === "rc-service") return { exitCode: networking === "started" ? 0 : 3 }
    if (lineOf(i) === "ip -4 rule show table 10002") return { stdout: new TextEncoder().encode("32764:\tfrom all to 10.0.2.21 lookup 10002\n32765:\tfrom 10.0.2.21 lookup 10002\n") }
    if (lineOf(i) === "ip -6 rule show table 10002") return { stdout: new TextEncoder().encode("32765:\tfrom 2001:db8::21 lookup 10002\n") }
    return undefined
  }

/** the instance's /proc/PID of a udhcpc started for `iface` */
const udhcpc = (instance: TestInstance, pid: string, iface: string, args = ["-b", "-R", "-p", `/var/run/udhcpc.${iface}.pid`, "-i", iface]) => {
  instance.write(`/proc/${pid}/comm`, "udhcpc\n")
  instance.write(`/proc/${pid}/cmdline`, ["/sbin/udhcpc", ...args, ""].join("\0"))
}

const pretendInstance = (networking: "started" | "stopped", extra: Partial<InstanceOptions> = {}) =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, realLock: true, interfaces: present, answer: system(networking), ...extra })
    instance.write("/sys/class/net/lo/address", "00:00:00:00:00:00\n")
    instance.write("/etc/network/interfaces.d/lo", "auto lo\niface lo\n  use link\n  use loopback\n")
    instance.write("/etc/network/interfaces.d/DEFAULT", DEFAULT)
    instance.write("/run/udhcpc.eth2.pid", "4242\n")
    // eth2's DHCP client, as ifupdown-ng starts it
    udhcpc(instance, "4242", "eth2")
    instance.write("/run/ifstate", "lo=lo 1\neth1=eth1 1\neth2=eth2 1\n")
    instance.write("/run/ifstate.eth2.lock", "")
    return instance
  })

/** another program's flock on `path`, held until its stdin is closed; resolved once it has the lock */
const holdLock = (path: string) =>
  Effect.promise(() => {
    const holder = spawn(which("flock")!, ["-x", path, "-c", "echo held; cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] })
    return new Promise<typeof holder>((held) => holder.stdout.once("data", () => held(holder)))
  })

/** a flock(2) request waits in the kernel for the file `path` names now (/proc/locks' "->" lines: MAJOR:MINOR:INODE, the first two in hex) */
const lockAwaited = (path: string) => {
  const { dev, ino } = statSync(path)
  const hex = (n: number) => n.toString(16).padStart(2, "0")
  const file = `${hex((dev >> 8) & 0xfff)}:${hex((dev & 0xff) | ((dev >> 12) & 0xfff00))}:${ino}`
  return readFileSync("/proc/locks", "utf8").split("\n").some((l) => l.includes(" -> FLOCK ") && l.includes(` ${file} `))
}

/** until the event's request for the lock on `path` waits for its holder, or the event has ended (which its test then finds wrong) */
const awaitingLock = (path: string, event: Fiber.RuntimeFiber<unknown>) =>
  Effect.promise(() => until(() => lockAwaited(path) || event.unsafePoll() !== null, `the event waits for the lock on ${path}`))

const event = (instance: TestInstance, action: string, iface: string) => instance.run(["hotplug", "vnic-eth"], { MDEV: iface, ACTION: action })

/** twenty events: eth1 and eth3 added, eth2 and eth4 removed, five times over */
const EVENTS = Array.from({ length: 20 }, (_, n) => [n % 2 === 0 ? "add" : "remove", `eth${(n % 4) + 1}`] as const)

/** what one event runs once networking is started */
const commandsOf = (action: string, iface: string): ReadonlyArray<string> => {
  if (action === "add") return ["rc-service networking status", `ifup ${iface}`]
  const table = 10000 + Number(iface.slice(3))
  const rules = iface === "eth2" ? ["ip -4 rule del pref 32764 table 10002", "ip -4 rule del pref 32765 table 10002"] : []
  const rules6 = iface === "eth2" ? ["ip -6 rule del pref 32765 table 10002"] : []
  return [
    "rc-service networking status",
    ...(iface === "eth2" ? ["kill 4242"] : []),
    `ip -4 rule show table ${table}`,
    ...rules,
    `ip -6 rule show table ${table}`,
    ...rules6
  ]
}

/** the record cut into the events' runs: each starts with its `rc-service` */
const runsOf = (commands: ReadonlyArray<string>): ReadonlyArray<string> => {
  const runs: Array<Array<string>> = []
  for (const c of commands) {
    if (c.startsWith("rc-service")) runs.push([c])
    else runs[runs.length - 1]?.push(c)
  }
  return runs.map((r) => r.join("; ")).sort()
}

describeSystem("vnic-eth-hotplug", { tools: { flock: "util-linux" } }, () => {
  it.scopedLive("twenty concurrent add/remove events queue on the lock: the same interfaces file and commands as one after the other", () =>
    Effect.gen(function* () {
      const concurrent = yield* pretendInstance("started", { commandDelayMs: 5 })
      const serial = yield* pretendInstance("started")
      const results = yield* Effect.all(
        EVENTS.map(([action, iface]) => event(concurrent, action, iface)),
        { concurrency: "unbounded" }
      )
      const serialResults = yield* Effect.forEach(EVENTS, ([action, iface]) => event(serial, action, iface))

      expect(results.map((r) => r.code)).toEqual(EVENTS.map(() => 0))
      expect(results.map((r) => r.stderr).join("")).toBe("")
      expect(serialResults.map((r) => r.code)).toEqual(EVENTS.map(() => 0))
      const file = serial.read("/etc/network/interfaces")
      expect(file).toContain("auto eth3\n")
      expect(concurrent.read("/etc/network/interfaces")).toBe(file)
      expect(concurrent.read("/etc/network/interfaces.bak")).toBe(file)
      // no event's commands ran while another's did
      const expected = EVENTS.map(([action, iface]) => commandsOf(action, iface).join("; ")).sort()
      expect(runsOf(serial.commands())).toEqual(expected)
      expect(runsOf(concurrent.commands())).toEqual(expected)
    })
  )

  it.scopedLive("another program holding flock on /etc/network/interfaces (as the shell edition's helper takes it): the event waits for it to let go", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("started")
      const path = join(instance.root, "etc/network/interfaces")
      instance.write("/etc/network/interfaces", "# ORIGINAL\n")
      const holder = yield* holdLock(path)
      const added = yield* Effect.fork(event(instance, "add", "eth3"))
      // while it is held, nothing is assembled and nothing runs
      yield* awaitingLock(path, added)
      expect(yield* Fiber.poll(added)).toEqual(expect.objectContaining({ _tag: "None" }))
      expect(instance.read("/etc/network/interfaces")).toBe("# ORIGINAL\n")
      holder.stdin.end()
      expect(yield* Fiber.join(added)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.read("/etc/network/interfaces")).toContain("auto eth3\n")
      expect(instance.commands()).toEqual(["rc-service networking status", "ifup eth3"])
    })
  )

  it.scopedLive("assemble-interfaces run by hand while an event holds the lock waits for it, then reads the NICs anew: the event's NIC keeps its stanza", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("stopped")
      const path = join(instance.root, "etc/network/interfaces")
      instance.write("/etc/network/interfaces", "# ORIGINAL\n")
      // the event of a NIC attached now (eth4), holding the lock while it assembles
      const holder = yield* holdLock(path)
      const byHand = yield* Effect.fork(instance.run(["assemble-interfaces"]))
      yield* awaitingLock(path, byHand)
      instance.write("/sys/class/net/eth4/address", "02:00:00:00:00:04\n")
      instance.write("/etc/network/interfaces", "# THE EVENT'S, WITH eth4\n")
      holder.stdin.end()
      expect(yield* Fiber.join(byHand)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.read("/etc/network/interfaces")).toContain("auto eth4\n")
      expect(instance.read("/etc/network/interfaces.bak")).toBe("# THE EVENT'S, WITH eth4\n")
    })
  )

  it.scopedLive("the file replaced by rename while the event waits for its holder, and taken by another program: the event waits for the file the path names now", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("started")
      const path = join(instance.root, "etc/network/interfaces")
      instance.write("/etc/network/interfaces", "# ORIGINAL\n")
      const first = yield* holdLock(path)
      const added = yield* Effect.fork(event(instance, "add", "eth3"))
      yield* awaitingLock(path, added)
      // the first holder replaces the file, a second program locks the new one, then the first lets go of the old
      instance.write("/etc/network/interfaces.new", "# REPLACED\n")
      renameSync(`${path}.new`, path)
      const second = yield* holdLock(path)
      first.stdin.end()
      // the event asks again, for the file the path names now
      yield* awaitingLock(path, added)
      expect(yield* Fiber.poll(added)).toEqual(expect.objectContaining({ _tag: "None" }))
      expect(instance.read("/etc/network/interfaces")).toBe("# REPLACED\n")
      second.stdin.end()
      expect(yield* Fiber.join(added)).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.read("/etc/network/interfaces")).toContain("auto eth3\n")
    })
  )

  it.scopedLive("networking started: add brings the NIC up; remove kills its DHCP client, drops its state and its rules", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("started")
      const added = yield* event(instance, "add", "eth3")
      expect(added).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.commands()).toEqual(["rc-service networking status", "ifup eth3"])
      expect(instance.read("/etc/network/interfaces")).toContain("auto eth3\niface eth3\n  use dhcp\n  use imds\n\n")

      // eth20's state is its own, though its name starts with eth2's
      instance.write("/run/ifstate", "lo=lo 1\neth1=eth1 1\neth2=eth2 1\neth20=eth20 1\n")
      const removed = yield* event(instance, "remove", "eth2")
      expect(removed).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.commands().slice(2)).toEqual(commandsOf("remove", "eth2"))
      expect(instance.read("/run/ifstate")).toBe("lo=lo 1\neth1=eth1 1\neth20=eth20 1\n")
      expect(instance.read("/run/ifstate.eth2.lock")).toBeUndefined()
      expect(instance.read("/etc/network/interfaces")).not.toContain("eth2")
      expect(instance.read("/etc/network/interfaces.bak")).toContain("auto eth3\n")
    })
  )

  it.scopedLive("remove: /run/ifstate, ifupdown-ng's, keeps its mode and owner", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("started")
      chmodSync(join(instance.root, "run/ifstate"), 0o600)
      expect((yield* event(instance, "remove", "eth2")).code).toBe(0)
      expect(instance.read("/run/ifstate")).toBe("lo=lo 1\neth1=eth1 1\n")
      expect(instance.mode("/run/ifstate")).toBe(0o600)
    })
  )

  it.scopedLive("remove: a udhcpc pid file that names no DHCP client of its own (1 is init, -1 every process, 0 the group, junk) is never passed to kill", () =>
    Effect.gen(function* () {
      for (const pid of ["1", "-1", "0", "07", "12 34", "x"]) {
        const instance = yield* pretendInstance("started")
        instance.write("/run/udhcpc.eth2.pid", `${pid}\n`)
        expect((yield* event(instance, "remove", "eth2")).code).toBe(0)
        expect(instance.commands().filter((c) => c.startsWith("kill"))).toEqual([])
        expect(instance.read("/run/ifstate")).toBe("lo=lo 1\neth1=eth1 1\n")
      }
    })
  )

  it.scopedLive("remove: the pid file's number is not killed when /proc shows it is another program than the NIC's udhcpc (a client that died leaves its file, and its number goes to another program)", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, (instance: TestInstance) => void, boolean]> = [
        ["another program", (i) => (i.write("/proc/4242/comm", "sleep\n"), i.write("/proc/4242/cmdline", "sleep\u0000300\u0000")), false],
        ["eth1's udhcpc", (i) => udhcpc(i, "4242", "eth1"), false],
        ["a udhcpc naming eth2 in no -i", (i) => udhcpc(i, "4242", "eth1", ["-i", "eth1", "-x", "eth2"]), false],
        // nothing says it is another program (gone, or a ROOT without /proc): killed, as the contract has it
        ["no /proc/PID", (i) => rmSync(join(i.root, "proc/4242"), { recursive: true, force: true }), true],
        ["eth2's, -ieth2", (i) => udhcpc(i, "4242", "eth2", ["-ieth2"]), true],
        ["eth2's, --interface=eth2", (i) => udhcpc(i, "4242", "eth2", ["--interface=eth2", "-b"]), true],
        ["eth2's, --interface eth2", (i) => udhcpc(i, "4242", "eth2", ["--interface", "eth2"]), true],
        ["eth2's, busybox udhcpc", (i) => (i.write("/proc/4242/comm", "busybox\n"), i.write("/proc/4242/cmdline", "busybox\u0000udhcpc\u0000-i\u0000eth2\u0000")), true],
        ["busybox, another applet", (i) => (i.write("/proc/4242/comm", "busybox\n"), i.write("/proc/4242/cmdline", "busybox\u0000sleep\u0000-i\u0000eth2\u0000")), false]
      ]
      for (const [name, plant, killed] of cases) {
        const instance = yield* pretendInstance("started")
        plant(instance)
        expect({ name, ...(yield* event(instance, "remove", "eth2")) }).toEqual({ name, code: 0, stdout: "", stderr: "" })
        expect({ name, kills: instance.commands().filter((c) => c.startsWith("kill")) }).toEqual({ name, kills: killed ? ["kill 4242"] : [] })
        // the rest of the clean-up is done all the same
        expect(instance.read("/run/ifstate")).toBe("lo=lo 1\neth1=eth1 1\n")
        expect(instance.commands().filter((c) => c.includes(" rule del "))).toHaveLength(3)
      }
    })
  )

  it.scopedLive("an assembly that fails (no DEFAULT for the new NIC) leaves no empty interfaces file where there was none: set_default_interfaces would take it for a configuration", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("started")
      rmSync(join(instance.root, "etc/network/interfaces.d/DEFAULT"))
      expect((yield* event(instance, "add", "eth3")).code).toBe(1)
      expect(instance.read("/etc/network/interfaces")).toBeUndefined()
      // an empty one there (an earlier release's lock made it) does not stay either; a file with stanzas does
      instance.write("/etc/network/interfaces", "")
      expect((yield* event(instance, "add", "eth3")).code).toBe(1)
      expect(instance.read("/etc/network/interfaces")).toBeUndefined()
      instance.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
      expect((yield* event(instance, "add", "eth3")).code).toBe(1)
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n")
    })
  )

  it.scopedLive("networking not started: the interfaces file is rebuilt, nothing is brought up or cleaned up", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("stopped")
      expect(yield* event(instance, "add", "eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(yield* event(instance, "remove", "eth2")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.commands()).toEqual(["rc-service networking status", "rc-service networking status"])
      expect(instance.read("/etc/network/interfaces")).toContain("auto eth1\n")
      expect(instance.read("/run/ifstate")).toBe("lo=lo 1\neth1=eth1 1\neth2=eth2 1\n")
    })
  )

  it.scopedLive("an interfaces file that is a symlink out of ROOT: the lock creates nothing there; the file is written where the link points under ROOT", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("stopped")
      const outside = join(instance.dir, "sentinel")
      mkdirSync(outside)
      symlinkSync(join(outside, "interfaces"), join(instance.root, "etc/network/interfaces"))
      expect(yield* event(instance, "add", "eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(readdirSync(outside)).toEqual([])
      // an absolute link is the instance's path: under ROOT
      expect(readFileSync(join(instance.root, outside, "interfaces"), "utf8")).toContain("auto eth1\niface eth1\n")

      // an assembly that fails (no DEFAULT for a new NIC) leaves the link as it was
      rmSync(join(instance.root, outside), { recursive: true })
      rmSync(join(instance.root, "etc/network/interfaces.d/DEFAULT"))
      rmSync(join(instance.root, "etc/network/interfaces.d/eth3"))
      expect((yield* event(instance, "add", "eth3")).code).toBe(1)
      expect(readlinkSync(join(instance.root, "etc/network/interfaces"))).toBe(join(outside, "interfaces"))
      expect(readdirSync(outside)).toEqual([])
    })
  )

  it.scopedLive("/etc/network a symlink out of ROOT: the lock opens and creates nothing there; the file is written where the link points under ROOT", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("stopped")
      const outside = join(instance.dir, "sentinel")
      mkdirSync(outside)
      // the image's /etc/network moved elsewhere, as an absolute link: its target is under ROOT
      mkdirSync(join(instance.root, instance.dir), { recursive: true })
      renameSync(join(instance.root, "etc/network"), join(instance.root, outside))
      symlinkSync(outside, join(instance.root, "etc/network"))
      expect(yield* event(instance, "add", "eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(readdirSync(outside)).toEqual([])
      expect(readFileSync(join(instance.root, outside, "interfaces"), "utf8")).toContain("auto eth1\niface eth1\n")
    })
  )

  it.scopedLive("the program called vnic-eth-hotplug is the same; only errors reach stderr", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("started")
      const r = yield* instance.runRoute(routeHelper("vnic-eth-hotplug", [])!, { MDEV: "eth1", ACTION: "add" })
      expect(r).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.commands()).toEqual(["rc-service networking status", "ifup eth1"])
    })
  )

  it.scopedLive("no rc-service on the PATH: networking's state is asked of `service`, as the shell edition asks it; started, the NIC is brought up", () =>
    Effect.gen(function* () {
      const instance = yield* pretendInstance("stopped", { missing: ["rc-service"] })
      expect(yield* event(instance, "add", "eth1")).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(instance.commands()).toEqual(["service networking status", "ifup eth1"])
    })
  )
})

it.scopedLive("missing MDEV or ACTION, an unknown ACTION, a name that is no ethN: an error line, exit 1, nothing done", () =>
  Effect.gen(function* () {
    const instance = yield* pretendInstance("started")
    expect(yield* instance.run(["hotplug", "vnic-eth"], { ACTION: "add" })).toEqual({ code: 1, stdout: "", stderr: "vnic-eth-hotplug: MDEV or ACTION undefined, aborting\n" })
    expect(yield* instance.run(["hotplug", "vnic-eth"], { MDEV: "eth1" })).toEqual({ code: 1, stdout: "", stderr: "vnic-eth-hotplug: MDEV or ACTION undefined, aborting\n" })
    expect(yield* instance.run(["hotplug", "vnic-eth"], { MDEV: "eth1", ACTION: "change" })).toEqual({ code: 1, stdout: "", stderr: "vnic-eth-hotplug: Unknown action 'change'\n" })
    expect(yield* instance.run(["hotplug", "vnic-eth"], { MDEV: "../eth1", ACTION: "add" })).toEqual({ code: 1, stdout: "", stderr: "vnic-eth-hotplug: MDEV '../eth1' is not an ethN interface\n" })
    // what the environment holds is named on one line, control characters escaped (a console, syslog)
    expect(yield* instance.run(["hotplug", "vnic-eth"], { MDEV: "eth1", ACTION: "add\u001b[2J\nFINISHED" })).toEqual({
      code: 1,
      stdout: "",
      stderr: "vnic-eth-hotplug: Unknown action 'add\\x1b[2J\\x0aFINISHED'\n"
    })
    expect(yield* instance.run(["hotplug", "vnic-eth"], { MDEV: "eth1\u001b[2J", ACTION: "add" })).toEqual({
      code: 1,
      stdout: "",
      stderr: "vnic-eth-hotplug: MDEV 'eth1\\x1b[2J' is not an ethN interface\n"
    })
    expect(instance.commands()).toEqual([])
    expect(instance.read("/etc/network/interfaces")).toBeUndefined()
  })
)

it.scopedLive("MDEV and ACTION are the event's, from the environment: tiny-cloud.conf's, keys config calls unknown, are no event", () =>
  Effect.gen(function* () {
    const instance = yield* pretendInstance("started")
    instance.write("/etc/tiny-cloud.conf", "MDEV=eth1\nACTION=add\nIFACE=eth1\nPHASE=pre-up\n")
    expect(yield* instance.run(["hotplug", "vnic-eth"])).toEqual({ code: 1, stdout: "", stderr: "vnic-eth-hotplug: MDEV or ACTION undefined, aborting\n" })
    expect(yield* instance.run(["hotplug", "nvme-ebs"])).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: MDEV undefined, aborting\n" })
    // ifupdown-ng's PHASE of the file would make every sync a quiet no-op; its IFACE, a sync of an interface nobody named
    expect(yield* instance.run(["net-sync"])).toEqual({ code: 1, stdout: "", stderr: "imds-net-sync: IFACE not set, aborting\n" })
    expect(instance.commands()).toEqual([])
    expect(instance.read("/etc/network/interfaces")).toBeUndefined()
  })
)

it("the mdev helpers take no arguments: -h prints their usage, anything else is that usage on stderr with exit 1", () => {
  for (const [name, text] of [
    ["vnic-eth-hotplug", "Usage: vnic-eth-hotplug (MDEV=ethN ACTION=add|remove)\n"],
    ["nvme-ebs-links", "Usage: nvme-ebs-links (MDEV=nvmeXnY[pZ] ACTION=add|remove)\n"]
  ] as const) {
    expect(routeHelper(name, ["-h"])).toEqual({ _tag: "Print", code: 0, stdout: text })
    expect(routeHelper(name, ["eth1"])).toEqual({ _tag: "Print", code: 1, stderr: text })
  }
})

it("tiny-cloud hotplug KIND -h is the helper's own -h (the README: the same as /lib/mdev/vnic-eth-hotplug, nvme-ebs-links), as net-sync -h is imds-net-sync's", () => {
  for (const [kind, name] of [
    ["vnic-eth", "vnic-eth-hotplug"],
    ["nvme-ebs", "nvme-ebs-links"]
  ] as const) {
    for (const help of ["-h", "--help"]) expect(routeTinyCloud(["hotplug", kind, help])).toEqual(routeHelper(name, [help]))
    expect(routeTinyCloud(["hotplug", kind, "eth1"])).toEqual({ _tag: "Print", code: 1, stderr: "Usage: tiny-cloud hotplug { vnic-eth | nvme-ebs }\n" })
  }
  expect(routeTinyCloud(["net-sync", "-h"])).toEqual(routeHelper("imds-net-sync", ["-h"]))
})
