/**
 * Every fault of issue 9 on every cloud where it applies, in-process over the
 * program's own layers and the real simulator. Test names start `fault: `.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { simulatedCloud } from "../../src/sim/simulator.js"
import { bytesOf } from "../../src/domain/text.js"
import { makeTestInstance } from "../support/instance.js"
import { scopedDir } from "../support/scratch.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaultKey f@example"
const MiB = 1024 * 1024

/** the clouds served by a metadata service (a seed is files, not answers) */
const SERVED = (await Promise.all(CLOUD_NAMES.map(async (c) => ((await simulatedCloud(c)).seedPath === undefined ? [c] : [])))).flat()

describe.concurrent.each(SERVED)("%s", (cloud) => {
  it.scopedLive(`fault: ${cloud} answering 100 MiB: refused at IMDS_MAX_BYTES, one line naming ${cloud}, the URL and the limit`, () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud, instance: { hostname: "h" }, faults: { flood: 100 * MiB } })
      const r = yield* instance.imds(["@hostname"])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(new RegExp(`^imds: ${cloud}: cannot read \\S+: answer exceeds 1048576 bytes \\(IMDS_MAX_BYTES\\)\\n$`))
    })
  )

  it.scopedLive(`fault: ${cloud} listing 1,500 keys: refused at IMDS_MAX_KEYS; the user and hostname are set up`, () =>
    Effect.gen(function* () {
      const keys = Array.from({ length: 1500 }, (_, i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMany${i} k${i}`)
      const userData = cloud === "incus" ? bytesOf(`#cloud-config\nssh_authorized_keys:\n${keys.map((k) => `  - ${k}`).join("\n")}\n`) : undefined
      const instance = yield* makeTestInstance({ cloud, instance: { hostname: "h.example", sshKeys: keys, ...(userData ? { userData } : {}) } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toMatch(new RegExp(`\\nset_ssh_keys: ${cloud}: cannot read \\S+: more than 1000 keys \\(IMDS_MAX_KEYS\\)\\n`))
      expect(instance.read("/etc/hostname")).toBe("h\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
    })
  )

  it.scopedLive(`fault: ${cloud} smuggling an option line into a key: only the key is installed`, () =>
    Effect.gen(function* () {
      const smuggled = `${KEY}\ncommand="/bin/sh -c evil" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQEvil e@x`
      const userData = cloud === "incus" ? bytesOf(`#cloud-config\nssh_authorized_keys:\n  - ${JSON.stringify(smuggled)}\n`) : undefined
      const instance = yield* makeTestInstance({ cloud, instance: { hostname: "h", sshKeys: [smuggled], ...(userData ? { userData } : {}) } })
      yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_ssh_keys" })
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )
})

describe("aws", () => {
  it.scopedLive("fault: aws answering an HTML page for the token: not taken, retried, one line", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: "h" }, env: { IMDS_DEADLINE: "0.5" }, faults: { overrides: [{ method: "PUT", path: "/latest/api/token", body: "<html>\n<body>portal</body>\n</html>\n" }] } })
      expect((yield* instance.imds(["@hostname"])).stderr).toBe(`imds: aws: cannot read http://${instance.sim!.endpoint}/latest/api/token: the answer is not a token\n`)
      // retried until IMDS_DEADLINE, never used for a read
      expect(instance.sim!.requests.filter((q) => q.method === "PUT").length).toBeGreaterThan(1)
      expect(instance.sim!.requests.filter((q) => q.method === "GET")).toHaveLength(0)
    })
  )
})

/** a directory outside the instance, removed after the test */
const outside = scopedDir("tiny-cloud-outside-", tmpdir())

describe.concurrent.each(["aws", "nocloud"])("%s image with planted links and devices", (cloud) => {
  const doc = `#cloud-config\nwrite_files:\n  - path: /srv/link/owned\n    content: "x\\n"\n  - path: /dev/null\n    content: "x"\n`
  it.scopedLive(`fault: ${cloud}: write_files never leaves ROOT through a link nor replaces a device`, () =>
    Effect.gen(function* () {
      const away = yield* outside
      const instance = yield* makeTestInstance({ cloud, instance: { hostname: "h", userData: bytesOf(doc) } })
      mkdirSync(join(instance.root, "srv"), { recursive: true })
      mkdirSync(join(instance.root, "dev"), { recursive: true })
      symlinkSync(away, join(instance.root, "srv/link"))
      execFileSync("mkfifo", [join(instance.root, "dev/null")])
      yield* instance.boot()
      expect(existsSync(join(away, "owned"))).toBe(false)
      expect(instance.read(`${away}/owned`)).toBe("x\n")
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )
})
