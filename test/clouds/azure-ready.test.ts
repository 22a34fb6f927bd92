/**
 * Azure's ready report (BEHAVIOUR.md §5, issue 10): after the main phase has
 * set up the user and the keys, `report_ready` tells the wireserver the
 * instance is Ready, as the real protocol wants it (the simulator checks the
 * headers and the Health document). Where the wireserver is: AZURE_WIRESERVER,
 * else DHCP option 245 as the udhcpc hook keeps it (or dhcpcd's lease), else
 * 168.63.129.16.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { healthDocument, parseGoalState, wireserverAddress } from "../../src/clouds/azure-wireserver.js"
import { bytesOf } from "../../src/domain/text.js"
import { appLayer } from "../../src/layers/live.js"
import { makeCachingHttp } from "../../src/layers/CachingHttp.js"
import { HttpLive } from "../../src/layers/HttpLive.js"
import { routeTinyCloud } from "../../src/programs/cli.js"
import { describeCause } from "../../src/programs/failure.js"
import { Http } from "../../src/services/Http.js"
import { Output } from "../../src/services/Output.js"
import { actionLines, makeTestInstance, type RunResult, type TestInstance } from "../support/instance.js"
import { scopedDir } from "../support/scratch.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { advancingClock } from "../support/test-clock.js"

const HOST = "vm-1.internal.cloudapp.net"
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBiwDYxoKejvJTQUMA+zsSYhbd5h9z30PeMjY62I72Jd azureuser@laptop"
const AZURE = { cloud: "azure", instance: { hostname: HOST, sshKeys: [KEY], userData: bytesOf("#!/bin/sh\necho hi\n") } }
const HOOK = new URL("../../udhcpc/post-bound/tiny-cloud", import.meta.url).pathname

const healthPosts = (instance: TestInstance) => instance.sim!.requests.filter((r) => r.method === "POST" && r.path === "/machine/?comp=health")

/** one phase over the program's layers with `http` as the network (the instance gives ROOT and the settings) */
const runOver = (instance: TestInstance, http: Layer.Layer<Http>, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const route = routeTinyCloud(args)
    if (route._tag !== "Program") return yield* Effect.die(new Error(`${args.join(" ")} is not a program`))
    const recorder = yield* recordingCommands({ root: instance.root, missing: ["logger", "getent"] })
    const { layer: output, captured } = yield* capturingOutput
    const program = yield* Effect.promise(route.load)
    const code = yield* Effect.scoped(Effect.provide(program, appLayer(instance.env, route.logTag, { commands: recorder.layer, http, output }))).pipe(
      Effect.catchAllCause((cause) => Effect.as(Effect.flatMap(Output, (o) => o.stderr(`${route.errorPrefix}: ${describeCause(cause)}\n`)), 1)),
      Effect.provide(output)
    )
    return { code, stdout: captured.stdout(), stderr: captured.stderr() } satisfies RunResult
  })

describe("azure's ready report", () => {
  it.scopedLive("a first boot ends with exactly one Ready report, made after the user and the keys are set up", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance(AZURE)
      const results = yield* instance.boot()
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(actionLines(results[2]!.stderr)).toEqual([
        "   ++ create_default_user: starting",
        "   ++ create_default_user: done",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: done",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: done",
        "   ++ report_ready: starting",
        "   ++ report_ready: done"
      ])
      expect(results[2]!.stderr).toContain(`report_ready: Ready reported to the Azure wireserver at ${instance.sim!.endpoint}\n`)
      expect(instance.sim!.reports).toEqual([
        { kind: "health", incarnation: "1", containerId: "c6d5fe1a-3c2b-4b8e-9a51-5e0f7c1d2b34", instanceId: "d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21.vm-1", state: "Ready" }
      ])
      const goal = instance.sim!.requests.find((r) => r.path === "/machine/?comp=goalstate")
      expect(goal?.headers).toMatchObject({ "x-ms-agent-name": "tiny-cloud", "x-ms-version": "2012-11-30" })
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      // bootstrapped: a later boot reports nothing
      yield* instance.boot()
      expect(instance.sim!.reports).toHaveLength(1)
    })
  )

  it.scopedLive("is skippable like any action: no request reaches the wireserver", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ ...AZURE, env: { SKIP_INIT_ACTIONS: "report_ready" } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(0)
      expect(actionLines(main.stderr).slice(-1)).toEqual(["   -- report_ready: skipped"])
      expect(instance.sim!.requests.filter((r) => r.path.startsWith("/machine"))).toEqual([])
      expect(instance.sim!.reports).toEqual([])
    })
  )

  it.scopedLive("an INIT_ACTIONS_MAIN without set_ssh_keys has no place for it: not run, and a warning says so (none when SKIP_INIT_ACTIONS leaves it out, nor by default)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance(AZURE)
      const main = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_hostname" })
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).toContain(
        "azure's actions not run: report_ready: the main phase's actions (INIT_ACTIONS_MAIN) have no set_ssh_keys to run them after\n"
      )
      expect(instance.sim!.reports).toEqual([])
      const skipped = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user set_hostname", SKIP_INIT_ACTIONS: "report_ready" })
      expect(skipped.stderr).not.toContain("not run")
      const byDefault = yield* instance.run(["main"])
      expect(byDefault.stderr).not.toContain("not run")
      expect(instance.sim!.reports).toHaveLength(1)
    })
  )

  it.scopedLive("is retried like a metadata read: a wireserver answering 503 at first still gets one report", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance(AZURE)
      const failures = yield* Ref.make(2)
      // the first two Health posts are answered 503 before they reach the wireserver
      const flaky = Layer.effect(
        Http,
        Effect.map(Http, (http) => ({
          request: (r) =>
            r.method === "POST"
              ? Effect.flatMap(Ref.getAndUpdate(failures, (n) => n - 1), (left) => (left > 0 ? Effect.succeed({ status: 503, body: bytesOf("busy") }) : http.request(r)))
              : http.request(r)
        }))
      ).pipe(Layer.provide(HttpLive))
      const main = yield* runOver(instance, flaky, ["main"])
      expect(main.code, main.stderr).toBe(0)
      expect(yield* Ref.get(failures)).toBe(-1)
      expect(instance.sim!.reports).toHaveLength(1)
      expect(healthPosts(instance)).toHaveLength(1)
    })
  )

  // the resident process keeps the answers it got for the phases that follow: a goal state asked for again is asked anew there too
  for (const [where, over] of [
    ["a process of its own", (layer: Layer.Layer<Http>) => layer],
    ["the resident process, which keeps answers", (layer: Layer.Layer<Http>) => Layer.effect(Http, Effect.map(Http, makeCachingHttp)).pipe(Layer.provide(layer))]
  ] as const) {
    // WALinuxAgent#2016: early on, the wireserver may answer a goal state that has no RoleInstance yet; the agent asks again
    it.scopedLive(`a goal state without its role instance yet is asked for again: the Ready report is made once it comes whole (${where})`, () =>
      Effect.gen(function* () {
        const instance = yield* makeTestInstance({ ...AZURE, env: { IMDS_DEADLINE: "2" } })
        const incomplete = yield* Ref.make(2)
        const noRoleYet = [
          '<?xml version="1.0" encoding="utf-8"?>',
          '<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">',
          "  <Version>2012-11-30</Version>",
          "  <Incarnation>1</Incarnation>",
          "  <Container>",
          "    <ContainerId>c6d5fe1a-3c2b-4b8e-9a51-5e0f7c1d2b34</ContainerId>",
          "    <RoleInstanceList />",
          "  </Container>",
          "</GoalState>",
          ""
        ].join("\n")
        const early = Layer.effect(
          Http,
          Effect.map(Http, (http) => ({
            request: (r) =>
              r.method === "GET" && r.path === "/machine/?comp=goalstate"
                ? Effect.flatMap(Ref.getAndUpdate(incomplete, (n) => n - 1), (left) => (left > 0 ? Effect.succeed({ status: 200, body: bytesOf(noRoleYet) }) : http.request(r)))
                : http.request(r)
          }))
        ).pipe(Layer.provide(HttpLive))
        const main = yield* runOver(instance, over(early), ["main"])
        expect(main.code, main.stderr).toBe(0)
        expect(yield* Ref.get(incomplete)).toBe(-1)
        expect(instance.sim!.reports).toHaveLength(1)
        expect(healthPosts(instance)).toHaveLength(1)
      })
    )

    // coreos/afterburn#461: boot diagnostics turned on during the boot move the incarnation on; the wireserver answers
    // 410 to every Health report of the old one, so posting the same document again never succeeds
    it.scopedLive(`a Health report refused as stale (410: the incarnation moved on) is made anew from the goal state asked for again (${where})`, () =>
      Effect.gen(function* () {
        const instance = yield* makeTestInstance({ ...AZURE, env: { IMDS_DEADLINE: "2" } })
        const moved = yield* Ref.make(false)
        const posted = yield* Ref.make<ReadonlyArray<string>>([])
        const text = (body: string | Uint8Array | undefined) => (typeof body === "string" ? body : new TextDecoder().decode(body))
        // the wireserver's incarnation is 2 from the first Health post on: the simulator's 1 stands for it
        const movingOn = Layer.effect(
          Http,
          Effect.map(Http, (http) => ({
            request: (r) =>
              Effect.gen(function* () {
                if (r.method === "GET" && r.path === "/machine/?comp=goalstate") {
                  const res = yield* http.request(r)
                  return (yield* Ref.get(moved)) ? { ...res, body: bytesOf(text(res.body).replace("<Incarnation>1<", "<Incarnation>2<")) } : res
                }
                if (r.method !== "POST") return yield* http.request(r)
                const incarnation = /<GoalStateIncarnation>([^<]*)</.exec(text(r.body))?.[1] ?? ""
                yield* Ref.update(posted, (all) => [...all, incarnation])
                if (incarnation !== "2") return yield* Effect.as(Ref.set(moved, true), { status: 410, body: new Uint8Array() })
                return yield* http.request({ ...r, body: text(r.body).replace("<GoalStateIncarnation>2<", "<GoalStateIncarnation>1<") })
              })
          }))
        ).pipe(Layer.provide(HttpLive))
        const main = yield* runOver(instance, over(movingOn), ["main"])
        expect(main.code, main.stderr).toBe(0)
        expect(yield* Ref.get(posted)).toEqual(["1", "2"])
        expect(instance.sim!.reports).toHaveLength(1)
      })
    )
  }

  it.scopedLive("a wireserver that refuses every report as stale is asked six times, then the action fails in one line", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ ...AZURE, env: { IMDS_RETRY_DELAY: "1", IMDS_RETRY_MAX_DELAY: "5" } })
      const gone = Layer.effect(
        Http,
        Effect.map(Http, (http) => ({ request: (r) => (r.method === "POST" ? Effect.succeed({ status: 410, body: new Uint8Array() }) : http.request(r)) }))
      ).pipe(Layer.provide(HttpLive))
      const main = yield* runOver(instance, gone, ["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain(`report_ready: azure: cannot read http://${instance.sim!.endpoint}/machine/?comp=health: HTTP 410\n`)
      expect(instance.sim!.requests.filter((r) => r.path === "/machine/?comp=goalstate")).toHaveLength(6)
      expect(instance.sim!.reports).toEqual([])
    })
  )

  // on the TestClock: the deadline's second passes without being waited for
  it.scoped("a wireserver that cannot be reached fails the action with one line naming the URL, after the keys are in place", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ ...AZURE, env: { AZURE_WIRESERVER: "127.0.0.1:9", IMDS_DEADLINE: "1" } })
      const { result: main, elapsedMs } = yield* advancingClock(instance.run(["main"]))
      expect(elapsedMs).toBeGreaterThanOrEqual(1000)
      expect(main.code).toBe(1)
      expect(main.stderr).toContain("report_ready: azure: cannot read http://127.0.0.1:9/machine/?comp=goalstate: connection refused\n")
      expect(actionLines(main.stderr).slice(-1)).toEqual(["   ++ report_ready: failed"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
      expect(instance.read("/etc/hostname")).toBe("vm-1\n")
    })
  )

  // report_ready is skipped: with the value passed over it would ask the well-known wireserver, which is no test's to reach
  it.scopedLive("an AZURE_WIRESERVER it refuses is named without the user and password before its host (BEHAVIOUR.md 4.5)", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ ...AZURE, env: { AZURE_WIRESERVER: "agent:SECRET-CANARY-1@168.63.129.16", SKIP_INIT_ACTIONS: "report_ready" } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain("AZURE_WIRESERVER: expected HOST or HOST:PORT, got '***@168.63.129.16'; the default is used\n")
      expect(main.stderr).not.toContain("SECRET-CANARY")
      // a control character in it is shown escaped
      const escaped = yield* makeTestInstance({ ...AZURE, env: { AZURE_WIRESERVER: "168.63.129.16/\u001b[2J", SKIP_INIT_ACTIONS: "report_ready" } })
      expect((yield* escaped.run(["main"])).stderr).toContain("AZURE_WIRESERVER: expected HOST or HOST:PORT, got '168.63.129.16/\\x1b[2J'; the default is used\n")
    })
  )

  it.scopedLive("an AZURE_WIRESERVER that is not HOST or HOST:PORT is an invalid value as IMDS_ENDPOINT's is: named once as the phase starts, the default kept; the keys are in place", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ ...AZURE, env: { AZURE_WIRESERVER: "http://168.63.129.16/", SKIP_INIT_ACTIONS: "report_ready" } })
      const main = yield* instance.run(["main"])
      expect([main.code, main.stderr.split("\n")[0]]).toEqual([1, "AZURE_WIRESERVER: expected HOST or HOST:PORT, got 'http://168.63.129.16/'; the default is used"])
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )

  it.scopedLive("named on a cloud that has none, it fails saying so", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: HOST }, env: { INIT_ACTIONS_MAIN: "report_ready" } })
      const main = yield* instance.run(["main"])
      expect(main.code).toBe(1)
      expect(main.stderr).toContain("report_ready: a ready report is not available on this cloud (aws)\n")
    })
  )

  it.scopedLive("named before set_hostname and set_ssh_keys on a cloud that has none (one image for azure and aws), it fails alone: the hostname and keys are still set", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ cloud: "aws", instance: { hostname: HOST, sshKeys: [KEY] } })
      const main = yield* instance.run(["main"], { INIT_ACTIONS_MAIN: "create_default_user report_ready set_hostname set_ssh_keys" })
      expect(main.code).toBe(1)
      expect(actionLines(main.stderr)).toEqual([
        "   ++ missing_userdata: starting",
        "   ++ missing_userdata: done",
        "   ++ create_default_user: starting",
        "   ++ create_default_user: done",
        "   ++ report_ready: starting",
        "   ++ report_ready: failed",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: done",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: done"
      ])
      expect(instance.read("/etc/hostname")).toBe("vm-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
    })
  )
})

describe("the wireserver's address", () => {
  const addressWith = (root: string, env: Readonly<Record<string, string>> = {}) =>
    Effect.gen(function* () {
      const { layer: output } = yield* capturingOutput
      const commands = yield* recordingCommands({ root })
      const http = Layer.succeed(Http, { request: () => Effect.die(new Error("no request expected")) })
      // as a phase takes the configuration: an invalid value is passed over for its default
      return yield* Effect.provide(wireserverAddress, appLayer({ ROOT: root, CLOUD: "azure", ...env }, "test", { commands: commands.layer, http, output }, { lenientConfig: true }))
    }).pipe(Effect.scoped)

  const tempRoot = scopedDir("tiny-cloud-wireserver-")

  /** the udhcpc hook as udhcpc's script runs it: the options in its environment */
  const runHook = (root: string, env: Readonly<Record<string, string>>) => {
    const r = spawnSync("/bin/sh", [HOOK], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ROOT: root, ...env }, encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
  }

  it.scopedLive("is 168.63.129.16 when nothing else names it", () =>
    Effect.gen(function* () {
      expect(yield* addressWith(yield* tempRoot)).toBe("168.63.129.16")
    })
  )

  it.scopedLive("is DHCP option 245, as the udhcpc hook keeps what udhcpc hands its script", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      runHook(root, { interface: "eth0", ip: "10.1.0.4", router: "10.1.0.1", opt245: "0A0B0C0D", opt121: "200A010001" })
      // only the options udhcpc has no name for are kept
      expect(readFileSync(join(root, "run/tiny-cloud/dhcp/eth0"), "utf8").split("\n").sort()).toEqual(["", "opt121=200A010001", "opt245=0A0B0C0D"])
      expect(yield* addressWith(root)).toBe("10.11.12.13")
      // a lease without it on another interface changes nothing; a renewed one replaces its interface's options
      runHook(root, { interface: "eth1", ip: "10.2.0.4" })
      expect(readFileSync(join(root, "run/tiny-cloud/dhcp/eth1"), "utf8")).toBe("")
      runHook(root, { interface: "eth0", opt245: "A83F8110" })
      expect(yield* addressWith(root)).toBe("168.63.129.16")
    })
  )

  it.scopedLive("the udhcpc hook, first to make $ROOT/run/tiny-cloud (a lease bound before any phase ran), makes it root's alone (0700), as the phases keep it", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      runHook(root, { interface: "eth0", opt245: "0A0B0C0D" })
      // a phase run later in this boot mounts a cidata or config-2 volume under it (vfat's files: readable by all)
      expect(statSync(join(root, "run/tiny-cloud")).mode & 0o777).toBe(0o700)
      expect(yield* addressWith(root)).toBe("10.11.12.13")
    })
  )

  /** a DHCPACK as dhcpcd keeps it in its lease file: the BOOTP header, the magic cookie, then `options` (code, length, data...), then END */
  const dhcpMessage = (options: ReadonlyArray<number>) => Uint8Array.from([...new Array<number>(236).fill(0), 0x63, 0x82, 0x53, 0x63, ...options, 255])
  const writeLease = (root: string, name: string, message: Uint8Array) => {
    mkdirSync(join(root, "var/lib/dhcpcd"), { recursive: true })
    writeFileSync(join(root, "var/lib/dhcpcd", name), message)
  }

  it.scopedLive("is DHCP option 245 of dhcpcd's lease, where dhcpcd is the DHCP client (it hands its hooks no option it has no name for)", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      // message type ACK, a pad, the subnet mask, then 245: 10.11.12.13
      writeLease(root, "eth0.lease", dhcpMessage([53, 1, 5, 0, 1, 4, 255, 255, 255, 0, 245, 4, 10, 11, 12, 13]))
      expect(yield* addressWith(root)).toBe("10.11.12.13")
      // what udhcpc's hook kept (this boot's) comes first
      runHook(root, { interface: "eth0", opt245: "0A141E28" })
      expect(yield* addressWith(root)).toBe("10.20.30.40")
    })
  )

  it.scopedLive("is not a dhcpcd lease's where udhcpc is this boot's DHCP client: that lease is an earlier life's (left by the image's builder)", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      writeLease(root, "eth0.lease", dhcpMessage([53, 1, 5, 245, 4, 10, 11, 12, 13]))
      runHook(root, { interface: "eth0", ip: "10.1.0.4" })
      expect(yield* addressWith(root)).toBe("168.63.129.16")
    })
  )

  it.scopedLive("is 168.63.129.16 when dhcpcd's lease has no option 245, or its file is no DHCP message", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      writeLease(root, "eth0.lease", dhcpMessage([53, 1, 5, 1, 4, 255, 255, 255, 0]))
      writeLease(root, "eth1.lease", bytesOf("opt245=0A0B0C0D\n"))
      // an option 245 cut short by the end of the file is none
      writeLease(root, "eth2.lease", dhcpMessage([245, 4, 10, 11]).subarray(0, 244))
      expect(yield* addressWith(root)).toBe("168.63.129.16")
    })
  )

  it.scopedLive("is AZURE_WIRESERVER above all", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      runHook(root, { interface: "eth0", opt245: "0A0B0C0D" })
      expect(yield* addressWith(root, { AZURE_WIRESERVER: "127.0.0.1:8080" })).toBe("127.0.0.1:8080")
    })
  )

  it.scopedLive("is not an AZURE_WIRESERVER that is not HOST or HOST:PORT: a phase names that once and goes on with the default, DHCP's wireserver", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      runHook(root, { interface: "eth0", opt245: "0A0B0C0D" })
      expect(yield* addressWith(root, { AZURE_WIRESERVER: "http://168.63.129.16/" })).toBe("10.11.12.13")
    })
  )
})

describe("the goal state and the Health document", () => {
  // shaped as the wireserver answers (cloud-init's and afterburn's test data), with values of our own
  const GOAL = `<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>3</Incarnation>
  <Machine><ExpectedState>Started</ExpectedState><StopRolesDeadlineHint>300000</StopRolesDeadlineHint><ExpectHealthReport>FALSE</ExpectHealthReport></Machine>
  <Container>
    <ContainerId>4f7b2c6e-91d3-4a58-b0e2-7c1d5a9e3f20</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>7e2a1c94d3b84f0a9b6c5d4e3f2a1b0c.vmss_0</InstanceId>
        <State>Started</State>
        <Configuration>
          <HostingEnvironmentConfig>http://168.63.129.16:80/machine/4f7b2c6e/7e2a?comp=config&amp;type=hostingEnvironmentConfig&amp;incarnation=3</HostingEnvironmentConfig>
          <Certificates>http://168.63.129.16:80/machine/4f7b2c6e/7e2a?comp=certificates&amp;incarnation=3</Certificates>
        </Configuration>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>
`

  it("reads the incarnation, the container id and the role instance id", () => {
    expect(parseGoalState(GOAL)).toEqual({ incarnation: "3", containerId: "4f7b2c6e-91d3-4a58-b0e2-7c1d5a9e3f20", instanceId: "7e2a1c94d3b84f0a9b6c5d4e3f2a1b0c.vmss_0" })
    expect(parseGoalState(GOAL.replace(/<ContainerId>[^<]*<\/ContainerId>/, ""))).toBeUndefined()
    expect(parseGoalState("<html>502 Bad Gateway</html>")).toBeUndefined()
  })

  it("says Ready for exactly those, escaped as XML", () => {
    const doc = healthDocument({ incarnation: "3", containerId: "c<1>", instanceId: "a&b" })
    expect(doc).toContain("<GoalStateIncarnation>3</GoalStateIncarnation>")
    expect(doc).toContain("<ContainerId>c&lt;1&gt;</ContainerId>")
    expect(doc).toContain("<InstanceId>a&amp;b</InstanceId>")
    expect(doc).toContain("<State>Ready</State>")
    expect(doc.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<Health ')).toBe(true)
  })
})
