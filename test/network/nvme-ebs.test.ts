/**
 * nvme-ebs-links (BEHAVIOUR.md §8) in-process, with a stand-in `nvme` that
 * prints a controller's identify data: the EBS name sits in the
 * vendor-specific area at byte 3072, space-padded.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { routeHelper } from "../../src/programs/cli.js"
import type { Invocation } from "../support/layers.js"
import { makeTestInstance } from "../support/instance.js"
import { passTime } from "../support/test-clock.js"
import { steppableWallClock } from "../support/wall-clock.js"

const EBS = "Amazon Elastic Block Store"
/** the model of an instance-store volume's controller, which pads its vendor-specific area with NULs */
const INSTANCE_STORAGE = "Amazon EC2 NVMe Instance Storage"

/** `nvme id-ctrl -b` output with `name` in the vendor-specific area, padded as the controller of `model` pads it */
const identify = (name: string, model = EBS) => {
  const data = Buffer.alloc(4096, 0)
  data.write(model.padEnd(40, " "), 24, "latin1")
  data.write(name.padEnd(32, model === EBS ? " " : "\0"), 3072, "latin1")
  return new Uint8Array(data)
}

const VENDOR: Readonly<Record<string, Uint8Array>> = {
  "/dev/nvme1n1": identify("sdf"),
  "/dev/nvme2n1": identify("/dev/xvdg"),
  // instance store: the name the launch's block device mapping gave it, after the first NUL whatever was there before
  "/dev/nvme4n1": identify("ephemeral0:sdb\0a", INSTANCE_STORAGE),
  // instance store the block device mapping named not
  "/dev/nvme5n1": identify("ephemeral1:none", INSTANCE_STORAGE),
  // the root volume of an image registered (or imported) with the root device /dev/sda1
  "/dev/nvme0n1": identify("/dev/sda1")
}

const nvme = (i: Invocation) => {
  if (i.command !== "nvme") return undefined
  const data = VENDOR[i.args[1] ?? ""]
  return data === undefined ? { exitCode: 1 } : { stdout: data }
}

/** /dev as the test sees it: the links with their targets, the devices as `device` */
const links = (dev: string) =>
  Object.fromEntries(readdirSync(dev).map((n) => [n, lstatSync(join(dev, n)).isSymbolicLink() ? readlinkSync(join(dev, n)) : "device"]))

const setUp = (options: { readonly missing?: ReadonlyArray<string> } = {}) =>
  Effect.gen(function* () {
    const instance = yield* makeTestInstance({ noSimulator: true, answer: nvme, ...options })
    const dev = join(instance.dir, "dev")
    mkdirSync(dev)
    const event = (device: string, action?: string) =>
      instance.runRoute(routeHelper("nvme-ebs-links", [], dev)!, { MDEV: device, ...(action === undefined ? {} : { ACTION: action }) })
    return { instance, dev, event }
  })

it.scopedLive("links sdF and xvdF, with the partition number, to the device; remove takes away only the device's links", () =>
  Effect.gen(function* () {
    const { instance, dev, event } = yield* setUp()
    writeFileSync(join(dev, "sda"), "")
    symlinkSync("vda", join(dev, "xvda"))
    // a link of another's to the same device (mdev's own `root`) is not this helper's to remove
    symlinkSync("nvme1n1", join(dev, "root"))

    expect(yield* event("nvme1n1", "add")).toEqual({ code: 0, stdout: "", stderr: "" })
    // mdev's scan at boot runs it with no ACTION: an add
    expect(yield* event("nvme2n1p2")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({ sda: "device", sdf: "nvme1n1", xvdf: "nvme1n1", sdg2: "nvme2n1p2", xvdg2: "nvme2n1p2", xvda: "vda", root: "nvme1n1" })
    expect(instance.commands()).toEqual(["nvme id-ctrl /dev/nvme1n1 -b", "nvme id-ctrl /dev/nvme2n1 -b"])

    expect(yield* event("nvme1n1", "remove")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({ sda: "device", sdg2: "nvme2n1p2", xvdg2: "nvme2n1p2", xvda: "vda", root: "nvme1n1" })
    expect(yield* event("nvme2n1p2", "remove")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({ sda: "device", xvda: "vda", root: "nvme1n1" })
  })
)

it.scopedLive("an EBS volume grown (modify-volume: mdev runs the rule's program with ACTION=change, as for every uevent): its links stay, nothing said, exit 0", () =>
  Effect.gen(function* () {
    const { instance, dev, event } = yield* setUp()
    expect(yield* event("nvme1n1", "add")).toEqual({ code: 0, stdout: "", stderr: "" })
    for (const action of ["change", "move", "online", "offline", "bind", "unbind"]) {
      expect(yield* event("nvme1n1", action)).toEqual({ code: 0, stdout: "", stderr: "" })
    }
    expect(links(dev)).toEqual({ sdf: "nvme1n1", xvdf: "nvme1n1" })
    // nothing read again: the name of a volume does not change with its size
    expect(instance.commands()).toEqual(["nvme id-ctrl /dev/nvme1n1 -b"])
  })
)

it.scopedLive("instance-store volumes (mdev's rule matches every NVMe namespace): linked at once by the name their controller gives, or left alone without one; never waited for", () =>
  Effect.gen(function* () {
    const { instance, dev, event } = yield* setUp()
    expect(yield* event("nvme4n1", "add")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(yield* event("nvme4n1p1")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(yield* event("nvme5n1")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({ sdb: "nvme4n1", xvdb: "nvme4n1", sdb1: "nvme4n1p1", xvdb1: "nvme4n1p1" })
    // one look each: the name an instance store has is there from its launch
    expect(instance.commands()).toEqual(["nvme id-ctrl /dev/nvme4n1 -b", "nvme id-ctrl /dev/nvme4n1 -b", "nvme id-ctrl /dev/nvme5n1 -b"])
    expect(yield* event("nvme4n1", "remove")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({ sdb1: "nvme4n1p1", xvdb1: "nvme4n1p1" })
  })
)

it.scopedLive("a root volume attached as /dev/sda1, a partition's name: no links, at once, for the disk and its partitions (not 3 s each at every boot)", () =>
  Effect.gen(function* () {
    const { instance, dev, event } = yield* setUp()
    expect(yield* event("nvme0n1")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(yield* event("nvme0n1p1")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({})
    expect(instance.commands()).toEqual(["nvme id-ctrl /dev/nvme0n1 -b", "nvme id-ctrl /dev/nvme0n1 -b"])
  })
)

it.scopedLive("a name taken by what is no symlink (a Xen instance's disk xvdf) is left to it: the error line, the other link still made, exit 1; a link of that name is replaced", () =>
  Effect.gen(function* () {
    const { dev, event } = yield* setUp()
    writeFileSync(join(dev, "xvdf"), "a disk\n")
    symlinkSync("nvme7n1", join(dev, "sdf"))
    expect(yield* event("nvme1n1", "add")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: xvdf exists and is not a symlink: not replaced by one for nvme1n1\n" })
    expect(links(dev)).toEqual({ sdf: "nvme1n1", xvdf: "device" })
    expect(readFileSync(join(dev, "xvdf"), "utf8")).toBe("a disk\n")
  })
)

it.scoped("vendor data that never comes: retried for 3 s, then the error line and exit 1", () =>
  Effect.gen(function* () {
    const { instance, dev, event } = yield* setUp()
    const running = yield* Effect.fork(event("nvme3n1", "add"))
    // the first attempt is made before any time passes
    while (instance.commands().length === 0) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    yield* TestClock.adjust("2900 millis")
    expect(yield* Fiber.poll(running)).toEqual(expect.objectContaining({ _tag: "None" }))
    yield* TestClock.adjust("200 millis")
    const r = yield* Fiber.join(running)
    expect(r).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: Failed to get EBS volume alias for nvme3n1 after 3 s\n" })
    expect(instance.commands().length).toBeGreaterThanOrEqual(30)
    expect(new Set(instance.commands())).toEqual(new Set(["nvme id-ctrl /dev/nvme3n1 -b"]))
    expect(links(dev)).toEqual({})
  })
)

it.scoped("an nvme id-ctrl that hangs (a controller not answering yet): stopped when the 3 s are up, then the error line and exit 1", () =>
  Effect.gen(function* () {
    // every nvme answers only after a minute, the kernel's admin command timeout
    const instance = yield* makeTestInstance({ noSimulator: true, answer: nvme, commandDelayMs: 60_000 })
    const dev = join(instance.dir, "dev")
    mkdirSync(dev)
    const running = yield* Effect.fork(instance.runRoute(routeHelper("nvme-ebs-links", [], dev)!, { MDEV: "nvme1n1", ACTION: "add" }))
    while (instance.commands().length === 0) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    yield* passTime("3200 millis", "50 millis")
    const done = yield* Fiber.poll(running)
    expect(Option.map(done, Exit.getOrElse(() => undefined))).toEqual(Option.some({ code: 1, stdout: "", stderr: "nvme-ebs-links: Failed to get EBS volume alias for nvme1n1 after 3 s\n" }))
    expect(links(dev)).toEqual({})
  })
)

it.scoped("vendor data that never comes, the wall clock stepped back an hour during the wait (NTP at boot): retried for 3 s all the same", () =>
  Effect.gen(function* () {
    const { instance, event } = yield* setUp()
    const wall = yield* steppableWallClock
    const running = yield* Effect.fork(event("nvme3n1", "add").pipe(Effect.withClock(wall.clock)))
    while (instance.commands().length === 0) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    wall.step(-3_600_000)
    yield* passTime("3200 millis", "50 millis")
    // before, the retries went on for the hour the wall clock gave back, one nvme every 100 ms
    const done = yield* Fiber.poll(running)
    expect(Option.map(done, Exit.getOrElse(() => undefined))).toEqual(Option.some({ code: 1, stdout: "", stderr: "nvme-ebs-links: Failed to get EBS volume alias for nvme3n1 after 3 s\n" }))
  })
)

it.scopedLive("nvme removed since the add: a remove still takes the device's links away, exit 0; an add is an error line, exit 1", () =>
  Effect.gen(function* () {
    const { instance, dev, event } = yield* setUp({ missing: ["nvme"] })
    symlinkSync("nvme1n1", join(dev, "sdf"))
    symlinkSync("nvme1n1", join(dev, "xvdf"))
    symlinkSync("nvme2n1", join(dev, "sdg"))
    expect(yield* event("nvme1n1", "remove")).toEqual({ code: 0, stdout: "", stderr: "" })
    expect(links(dev)).toEqual({ sdg: "nvme2n1" })
    expect(yield* event("nvme1n1", "add")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: nvme cli not installed\n" })
    expect(links(dev)).toEqual({ sdg: "nvme2n1" })
    expect(instance.commands()).toEqual([])
  })
)

it.scopedLive("nvme not installed, no MDEV, a name that is no NVMe namespace: an error line, exit 1", () =>
  Effect.gen(function* () {
    const missing = yield* setUp({ missing: ["nvme"] })
    expect(yield* missing.event("nvme1n1", "add")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: nvme cli not installed\n" })
    const { event, instance } = yield* setUp()
    expect(yield* instance.run(["hotplug", "nvme-ebs"], { ACTION: "add" })).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: MDEV undefined, aborting\n" })
    expect(yield* event("../nvme1n1", "add")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: MDEV '../nvme1n1' is not an NVMe namespace\n" })
    expect(yield* event("nvme1n1", "frobnicate")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: Unknown action 'frobnicate'\n" })
    // what the environment holds is named on one line, control characters escaped
    expect(yield* event("nvme1n1\u001b[2J\nx", "add")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: MDEV 'nvme1n1\\x1b[2J\\x0ax' is not an NVMe namespace\n" })
    expect(yield* event("nvme1n1", "add\u009b2J")).toEqual({ code: 1, stdout: "", stderr: "nvme-ebs-links: Unknown action 'add\\x9b2J'\n" })
    expect(instance.commands()).toEqual([])
  })
)
