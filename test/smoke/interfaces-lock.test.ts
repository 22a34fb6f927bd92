/**
 * The interfaces file's lock as the built program takes it, a process per
 * run: what stands at /etc/network/interfaces that is no regular file is
 * refused in one line, never waited on.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect } from "vitest"
import { PROGRAM, useInstances } from "../support/harness.js"
import { until } from "../support/openrc.js"
import { itSystem } from "../support/system.js"
import { shippedStanza } from "../support/shipped.js"

const makeInstance = useInstances()

itSystem("a FIFO at /etc/network/interfaces (an image's): assemble-interfaces and vnic-eth-hotplug refuse it in one line at once, where opening it to lock it waited for a reader for ever", { tools: { flock: "util-linux", mkfifo: "coreutils" } }, async () => {
  const instance = await makeInstance({ noSimulator: true })
  const network = join(instance.root, "etc/network")
  mkdirSync(join(network, "interfaces.d"), { recursive: true })
  for (const name of ["lo", "DEFAULT"]) writeFileSync(join(network, "interfaces.d", name), shippedStanza(name))
  mkdirSync(join(instance.root, "sys/class/net/eth0"), { recursive: true })
  execFileSync("mkfifo", [join(network, "interfaces")])
  for (const [args, extra, name] of [
    [["assemble-interfaces"], {}, "assemble-interfaces"],
    [["hotplug", "vnic-eth"], { MDEV: "eth0", ACTION: "add" }, "vnic-eth-hotplug"]
  ] as const) {
    const child = spawn(process.execPath, [PROGRAM, ...args], { env: { ...instance.env, ...extra }, stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    let code: number | undefined
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("close", (c) => (code = c ?? -1))
    try {
      await until(() => code !== undefined, `${name} ends`)
    } finally {
      if (code === undefined) child.kill("SIGKILL")
    }
    expect([code, stderr]).toEqual([1, `${name}: cannot lock ${network}/interfaces: not a regular file; refused\n`])
  }
})
