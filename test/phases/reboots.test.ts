/**
 * Later first boots of one instance: the marker removed (`--bootstrap
 * incomplete`, or by hand as an image builder removes it) and the instance
 * booted again, with its own metadata or another instance's.
 */
import { execFile, spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { startSimulator, type SimInstance } from "../../src/sim/simulator.js"
import { bytesOf } from "../../src/domain/text.js"
import { PROGRAM } from "../support/harness.js"
import { makeTestInstance, type TestInstance } from "../support/instance.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { describeSystem, skipAtRun, which } from "../support/system.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRebootKey a@example"

const instanceWith = (userData: string) =>
  Effect.gen(function* () {
    const i = yield* makeTestInstance({ cloud: "aws", env: PATIENT_METADATA, instance: { hostname: "web-1.example", sshKeys: [KEY], userData: bytesOf(userData) } })
    mkdirSync(join(i.root, "tmp"), { recursive: true })
    return i
  })

/** another instance's metadata service (the instance booted again elsewhere, or an image of it): the environment its phases reach it with */
const elsewhere = (i: TestInstance, instance: SimInstance) =>
  Effect.map(
    Effect.acquireRelease(Effect.promise(() => startSimulator({ cloud: "aws", instance, root: i.root })), (sim) => Effect.promise(() => sim.close())),
    (sim) => ({ IMDS_ENDPOINT: sim.endpoint })
  )

/** what the state directory holds of user-data and its programs */
const userDataFiles = (i: TestInstance) => readdirSync(join(i.root, "var/lib/cloud")).filter((f) => f.startsWith("user-data")).sort()

const codes = (results: ReadonlyArray<{ readonly code: number }>) => results.map((r) => r.code)

describe.concurrent("the marker removed by hand after a completed first boot (an image builder's rm, the shell edition's --bootstrap incomplete)", () => {
  it.scopedLive("the next boot runs the first boot again as --bootstrap incomplete asks it: the same user-data's runcmd runs and its append is made again", () =>
    Effect.gen(function* () {
      const i = yield* instanceWith('#cloud-config\nwrite_files:\n  - {path: /etc/motd, content: "added\\n", append: true}\nruncmd:\n  - echo ran >> "$ROOT/tmp/runcmd"\n')
      i.write("/etc/motd", "image\n")
      expect(codes(yield* i.boot())).toEqual([0, 0, 0, 0])
      rmSync(join(i.root, "var/lib/cloud/.bootstrap-complete"))
      const again = yield* i.boot()
      expect(codes(again)).toEqual([0, 0, 0, 0])
      expect(again[3]!.stderr).not.toContain("not run again")
      expect(i.read("/tmp/runcmd")).toBe("ran\nran\n")
      expect(i.read("/etc/motd")).toBe("image\nadded\nadded\n")
      // a completed first boot's journals go with it
      expect(readdirSync(join(i.root, "var/lib/cloud")).filter((f) => f.startsWith("."))).toEqual([".bootstrap-complete"])
    })
  )
})

describe.concurrent("--bootstrap incomplete, then a first boot with another instance's user-data, or none (an image made of the instance)", () => {
  it.scopedLive("leaves nothing of the earlier user-data's programs: each first boot's state holds what its own user-data ran from", () =>
    Effect.gen(function* () {
      const multipart = 'Content-Type: multipart/mixed; boundary="XX"\nMIME-Version: 1.0\n\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho part >> "$ROOT/tmp/ran"\n--XX--\n'
      const i = yield* instanceWith(multipart)
      expect(codes(yield* i.boot())).toEqual([0, 0, 0, 0])
      expect(userDataFiles(i)).toEqual(["user-data", "user-data.parts"])
      // a script sent with CR LF line ends runs from a copy made runnable
      const next = [
        { userData: "#!/bin/sh\r\necho script >> \"$ROOT/tmp/ran\"\r\n", files: ["user-data", "user-data.script"] },
        { userData: '#cloud-config\nbootcmd: [echo boot >> "$ROOT/tmp/ran"]\nruncmd: [echo run >> "$ROOT/tmp/ran"]\n', files: ["user-data", "user-data.bootcmd", "user-data.runcmd"] },
        { userData: "#cloud-config\nhostname: web-4\n", files: ["user-data"] },
        { userData: undefined, files: [] }
      ]
      for (const { userData, files } of next) {
        expect((yield* i.run(["--bootstrap", "incomplete"])).code).toBe(0)
        const env = yield* elsewhere(i, { hostname: "web-2.example", sshKeys: [KEY], ...(userData !== undefined ? { userData: bytesOf(userData) } : {}) })
        expect(codes(yield* i.boot(env))).toEqual([0, 0, 0, 0])
        expect(userDataFiles(i)).toEqual(files)
      }
      expect(i.read("/tmp/ran")).toBe("part\nscript\nboot\nrun\n")
    })
  )
})

/** the user-data files of the state directory, each with its mode and content (a directory: its files') */
const userDataTree = (i: TestInstance): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (dir: string, names: ReadonlyArray<string>) => {
    for (const name of names) {
      const path = join(dir, name)
      const s = statSync(path)
      if (s.isDirectory()) walk(path, readdirSync(path))
      else out[relative(join(i.root, "var/lib/cloud"), path)] = `${(s.mode & 0o7777).toString(8)} ${readFileSync(path, "latin1")}`
    }
  }
  walk(join(i.root, "var/lib/cloud"), userDataFiles(i))
  return out
}

describe.concurrent("a first boot left incomplete after the user's programs ran (main killed), then booted again without the saved user-data", () => {
  // what a kill in early between its removal of the earlier copy and its save of the new one leaves (or a save a full disk refused)
  it.scopedLive.each([
    { kind: "runcmd", userData: '#cloud-config\nruncmd:\n  - echo run >> "$ROOT/tmp/ran"\n' },
    { kind: "a script sent with CR LF line ends", userData: '#!/bin/sh\r\necho script >> "$ROOT/tmp/ran"\r\n' },
    { kind: "a script whose #! follows a blank line", userData: '\n#!/bin/sh\necho script >> "$ROOT/tmp/ran"\n' },
    {
      kind: "multipart scripts",
      userData:
        'Content-Type: multipart/mixed; boundary="XX"\nMIME-Version: 1.0\n\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho one >> "$ROOT/tmp/ran"\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho two >> "$ROOT/tmp/ran"\n--XX--\n'
    }
  ])("$kind: the programs are passed over, and what they ran from is there as an undisturbed first boot leaves it", ({ userData }) =>
    Effect.gen(function* () {
      const undisturbed = yield* instanceWith(userData)
      expect(codes(yield* undisturbed.boot())).toEqual([0, 0, 0, 0])
      const i = yield* instanceWith(userData)
      expect(codes(yield* Effect.forEach(["boot", "early", "final"], (phase) => i.run([phase])))).toEqual([0, 0, 1])
      const ran = i.read("/tmp/ran")
      rmSync(join(i.root, "var/lib/cloud/user-data"))
      const again = yield* i.boot()
      expect(codes(again)).toEqual([0, 0, 0, 0])
      expect(again[3]!.stderr).toContain("its programs ran to their end in this first boot already; not run again\n")
      expect(i.read("/tmp/ran")).toBe(ran)
      // before: user-data.runcmd, user-data.script, user-data.parts/ gone, a blank-line script's user-data 0600
      expect(userDataTree(i)).toEqual(userDataTree(undisturbed))
    })
  )
})

describe.concurrent("--bootstrap incomplete, then the phases run by hand (no boot phase: the instance provisioned again without a reboot)", () => {
  it.scopedLive("status and analyze show those runs alone, not the earlier first boot's boot phase and its failure", () =>
    Effect.gen(function* () {
      let resizeFails = true
      const i = yield* makeTestInstance({
        cloud: "aws",
        env: PATIENT_METADATA,
        instance: { hostname: "web-1.example", sshKeys: [KEY] },
        answer: (c) => (c.command === "resize2fs" && resizeFails ? { exitCode: 1 } : undefined)
      })
      expect(codes(yield* i.boot())).toEqual([1, 0, 0, 0])
      expect((yield* i.run(["status"])).stdout.split("\n")[0]).toMatch(/^failed at boot\/expand_root: /)
      resizeFails = false
      expect((yield* i.run(["--bootstrap", "incomplete"])).code).toBe(0)
      const byHand = yield* Effect.forEach(["early", "main", "final"], (phase) => i.run([phase]))
      expect(codes(byHand)).toEqual([0, 0, 0])
      const status = yield* i.run(["status"])
      expect([status.code, status.stdout.replace(/\d+\.\d{3}s/g, "Ns")]).toEqual([0, "done\ncloud: aws (configured)\nuser-data: missing\nearly: Ns\nmain: Ns\nfinal: Ns\n"])
      const analyze = yield* i.run(["analyze"])
      expect(analyze.stdout).not.toMatch(/ boot /)
      expect(analyze.stdout).toMatch(/\n\d+\.\d{3}s from the start of early to the end of final\n$/)
    })
  )
})

describe.concurrent("--bootstrap incomplete in a damaged state directory (a directory where a journal, the cloud cache or the marker is)", () => {
  it.scopedLive("removes each of them all the same, so that the next first boot detects its cloud and reads its seed again", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws" })
      i.write("/var/lib/cloud/.bootstrap-complete/x", "")
      i.write("/var/lib/cloud/.userdata-ran/x", "")
      i.write("/var/lib/cloud/.autodetect/x", "")
      i.write("/var/lib/cloud/nocloud/meta-data", "local-hostname: builder\n")
      i.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      expect(yield* i.run(["--bootstrap", "incomplete"])).toEqual({ code: 0, stdout: "", stderr: "bootstrap marked incomplete\n" })
      expect(readdirSync(join(i.root, "var/lib/cloud"))).toEqual([])
    })
  )
})

/** `chattr FLAG PATH`: whether it took (root, and a file system that has the flag) */
const chattr = (flag: string, path: string) => Effect.sync(() => spawnSync(which("chattr")!, [flag, path]).status === 0)

describeSystem("--bootstrap incomplete with a file it may not remove (made immutable)", { root: true, tools: { chattr: "e2fsprogs" } }, () => {
  it.scopedLive("names it in one line, by the kernel's reason, and exits 1; the marker, the other journals, the cloud cache and the seed go all the same", (ctx) =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws" })
      for (const name of [".bootstrap-complete", ".userdata-ran", ".users-created", ".autodetect", "nocloud/meta-data"]) i.write(`/var/lib/cloud/${name}`, "")
      const journal = join(i.root, "var/lib/cloud/.userdata-ran")
      if (!(yield* Effect.acquireRelease(chattr("+i", journal), () => chattr("-i", journal)))) {
        return skipAtRun(ctx, `${i.root}: chattr +i refused (a file system without the immutable flag?)`)
      }
      const r = yield* i.run(["--bootstrap", "incomplete"])
      expect(r).toEqual({ code: 1, stdout: "", stderr: `remove ${journal}: operation not permitted\nbootstrap marked incomplete\n` })
      expect(readdirSync(join(i.root, "var/lib/cloud"))).toEqual([".userdata-ran"])
    })
  )

  it.scopedLive("one in the seed copies (nocloud/user-data): named by its own path and the kernel's reason, not its directory's; the rest of the seed goes", (ctx) =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws" })
      for (const name of [".bootstrap-complete", "nocloud/user-data", "nocloud/meta-data", "nocloud/.nocloud_loaded"]) i.write(`/var/lib/cloud/${name}`, "")
      const seed = join(i.root, "var/lib/cloud/nocloud")
      if (!(yield* Effect.acquireRelease(chattr("+i", `${seed}/user-data`), () => chattr("-i", `${seed}/user-data`)))) {
        return skipAtRun(ctx, `${i.root}: chattr +i refused (a file system without the immutable flag?)`)
      }
      const r = yield* i.run(["--bootstrap", "incomplete"])
      // before: 'remove .../nocloud: not a directory' (rmSync's scandir of the file it could not unlink)
      expect(r).toEqual({ code: 1, stdout: "", stderr: `remove ${seed}/user-data: operation not permitted\nbootstrap marked incomplete\n` })
      expect([readdirSync(join(i.root, "var/lib/cloud")), readdirSync(seed)]).toEqual([["nocloud"], ["user-data"]])
    })
  )
})

describeSystem("the boot phase of a first boot with the cloud cache and the NoCloud seed's mark it may not remove (made immutable)", { root: true, tools: { chattr: "e2fsprogs" } }, () => {
  it.scopedLive("names each in one line, by the kernel's reason and what the phases then take (the earlier first boot's), and goes on", (ctx) =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "nocloud", env: { CLOUD: "auto" }, instance: { hostname: "web.example.org", sshKeys: [KEY] } })
      i.write("/proc/cmdline", `root=/dev/vda2 ds=nocloud;s=${i.sim!.seedUrl!}\n`)
      // what a builder's first boot left, its marker removed by hand
      i.write("/var/lib/cloud/.autodetect", "aws\n")
      i.write("/var/lib/cloud/nocloud/meta-data", "local-hostname: builder\n")
      i.write("/var/lib/cloud/nocloud/.nocloud_loaded", "")
      const dir = join(i.root, "var/lib/cloud")
      const kept = [`${dir}/.autodetect`, `${dir}/nocloud/.nocloud_loaded`]
      for (const path of kept) {
        if (!(yield* Effect.acquireRelease(chattr("+i", path), () => chattr("-i", path)))) {
          return skipAtRun(ctx, `${i.root}: chattr +i refused (a file system without the immutable flag?)`)
        }
      }
      // before: nothing said, and the phases went on with what the builder's first boot left
      const boot = yield* i.run(["boot"])
      expect(boot.code).toBe(0)
      // the cache names aws: the phases take it, and read no NoCloud seed, whose mark costs nothing then
      expect(boot.stderr.split("\n")).toContain(`remove ${dir}/.autodetect: operation not permitted; the cloud an earlier first boot detected is used`)
      expect(boot.stderr).not.toContain(".nocloud_loaded")
      // a CLOUD configured takes no cache: the one left is not named; on nocloud the seed's mark is (the builder's hostname is read from the copies)
      const configured = yield* i.run(["boot"], { CLOUD: "nocloud" })
      expect(configured.stderr).not.toContain(".autodetect")
      expect(configured.stderr.split("\n")).toContain(`remove ${dir}/nocloud/.nocloud_loaded: operation not permitted; the NoCloud seed copies of an earlier first boot are used`)
      const aws = yield* i.run(["boot"], { CLOUD: "aws" })
      expect(aws.stderr).not.toContain("remove ")
    })
  )
})

describeSystem("--bootstrap incomplete on a read-only state directory", { root: true, tools: { unshare: "util-linux", mount: "mount" } }, () => {
  it.scopedLive("names each file that is there in one line and exits 1: none that is not", () =>
    Effect.gen(function* () {
      const i = yield* makeTestInstance({ cloud: "aws" })
      for (const name of [".bootstrap-complete", ".autodetect"]) i.write(`/var/lib/cloud/${name}`, "")
      const dir = join(i.root, "var/lib/cloud")
      // the built program in a mount namespace of its own, where the state directory is mounted again read-only
      const script = '"$4" --bind "$1" "$1" && "$4" -o remount,bind,ro "$1" && exec "$2" "$3" --bootstrap incomplete'
      const args = ["-m", "--propagation", "private", "sh", "-c", script, "sh", dir, process.execPath, PROGRAM, which("mount")!]
      const r = yield* Effect.async<{ readonly code: unknown; readonly stderr: string }>((resume) => {
        execFile(which("unshare")!, args, { env: { ROOT: i.root } }, (error, _stdout, stderr) => resume(Effect.succeed({ code: error === null ? 0 : error.code, stderr })))
      })
      expect(r).toEqual({ code: 1, stderr: `remove ${dir}/.bootstrap-complete: read-only file system\nremove ${dir}/.autodetect: read-only file system\n` })
    })
  )
})
