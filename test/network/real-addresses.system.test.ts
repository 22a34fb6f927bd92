/**
 * A first boot as the clouds' own instances have it: no IMDS_ENDPOINT, no
 * CLOUD (detected from SMBIOS), the metadata simulator at the cloud's real
 * address (BEHAVIOUR.md §5) in a network namespace of the test's own, the
 * address on its loopback, port 80; azure's wireserver at 168.63.129.16
 * (or where DHCP option 245 says); scaleway's user-data only for a source
 * port below 1024; incus on its socket under ROOT. The four OpenRC services
 * run in order inside the namespace, the boot service starting the resident
 * process there. Each cloud has a namespace of its own, so they run at once.
 * Then what only the real addresses show: a service restarted between two
 * phases, a cloud detected where its service is not, `imds` by a user other
 * than root, scaleway's service behind a route that refuses it, nocloud's
 * ephemeral DHCP lease that no server gives. These have
 * namespaces and instances of their own too, and run at once with the clouds'
 * (most of their time is waiting on processes and deadlines).
 */
import { chmodSync, mkdirSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "@effect/vitest"
import { describe } from "vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { simulatedCloud, type SimInstance } from "../../src/sim/simulator.js"
import { actionLines, makeInstance, PROGRAM, TEST_CODE_CACHE, type InstanceOptions, type TestInstance } from "../support/harness.js"
import { alive, endResident, PHASES, serverPid, servicesEnv, startService, until } from "../support/openrc.js"
import { describeSystem, which } from "../support/system.js"
import { IP, makeNamespace, run, silentIpv6Subnet, simulatorIn, type Namespace } from "./netns.js"

const HOST = "web-1.example.internal"
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyA a@example"
const KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyB b@example"
/** every cloud serves it; incus reads its keys from it */
const USER_DATA = `#cloud-config
ssh_authorized_keys:
  - ${KEY_A}
  - ${KEY_B}
write_files:
  - path: /etc/at-real-address
    content: "written by user-data\\n"
`
const INSTANCE: SimInstance = { hostname: HOST, localHostname: HOST, sshKeys: [KEY_B, KEY_A], userData: new TextEncoder().encode(USER_DATA) }

const SETPRIV = which("setpriv") ?? "/usr/bin/setpriv"
const METADATA = "169.254.169.254"
const WIRESERVER = "168.63.129.16"

/** where each cloud's service is, and the SMBIOS strings its instances have */
const CLOUDS: Readonly<Record<string, { readonly address?: string; readonly dmi: Readonly<Record<string, string>> }>> = {
  aws: { address: METADATA, dmi: { sys_vendor: "Amazon EC2", product_uuid: "ec2e1916-9099-7caf-fd21-012345abcdef" } },
  azure: { address: METADATA, dmi: { chassis_asset_tag: "7783-7084-3265-9085-8269-3286-77", sys_vendor: "Microsoft Corporation" } },
  gcp: { address: METADATA, dmi: { product_name: "Google Compute Engine", sys_vendor: "Google" } },
  oci: { address: METADATA, dmi: { chassis_asset_tag: "OracleCloud.com" } },
  hetzner: { address: METADATA, dmi: { sys_vendor: "Hetzner" } },
  scaleway: { address: "169.254.42.42", dmi: { sys_vendor: "Scaleway" } },
  digitalocean: { address: METADATA, dmi: { sys_vendor: "DigitalOcean" } },
  openstack: { address: METADATA, dmi: { product_name: "OpenStack Nova", sys_vendor: "OpenStack Foundation" } },
  incus: { dmi: {} }
}

/** every cloud of the registry whose service is an HTTP server at a fixed address, or on a socket under ROOT (nocloud's seed is wherever its URL says) */
const SERVED = (await Promise.all(CLOUD_NAMES.map(async (c) => ((await simulatedCloud(c)).seedPath === undefined ? [c] : [])))).flat()

/** a test instance with no simulator of the harness's (and so no IMDS_ENDPOINT, no CLOUD), closed with the scope; its resident process ended with it */
const instanceOf = (options: InstanceOptions, dmi: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const instance = await makeInstance({ noSimulator: true, ...options })
      for (const [name, value] of Object.entries(dmi)) instance.write(`/sys/class/dmi/id/${name}`, `${value}\n`)
      return instance
    }),
    (instance) =>
      Effect.promise(async () => {
        endResident(instance)
        await instance.close()
      })
  )

/** the addresses on the namespace's loopback */
const addresses = (ns: Namespace, ...list: ReadonlyArray<string>) => Effect.forEach(list, (a) => ns.ip("addr", "add", `${a}/32`, "dev", "lo"), { discard: true })

/** the four services in order, inside the namespace; then the resident process has gone */
const firstBoot = (ns: Namespace, instance: TestInstance, extraEnv: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const env = { ...servicesEnv(instance), ...extraEnv }
    const results = []
    for (const phase of PHASES) results.push(await startService(phase, env, [IP, "netns", "exec", ns.name, "sh"]))
    const pid = serverPid(instance)
    if (pid !== undefined) await until(() => !alive(pid), "the resident process exits after final")
    return results
  })

describeSystem("first boot at the clouds' real addresses, without IMDS_ENDPOINT", { tools: { ip: "iproute2", unshare: "util-linux" }, root: true }, () => {
  describe.concurrent.each(SERVED)("%s", (cloud) => {
    it.scopedLive("detected (from SMBIOS; incus from its socket), the service at its real address: hostname, keys, user-data, marker; exit 0", () =>
      Effect.gen(function* () {
        const { address, dmi } = CLOUDS[cloud]!
        const ns = yield* makeNamespace
        const instance = yield* instanceOf({}, dmi)
        if (address !== undefined) yield* addresses(ns, address, ...(cloud === "azure" ? [WIRESERVER] : []))
        const service = yield* simulatorIn(ns, cloud, INSTANCE, 80, address === undefined ? { root: instance.root } : { host: address })
        const wireserver = cloud === "azure" ? yield* simulatorIn(ns, cloud, INSTANCE, 80, { host: WIRESERVER }) : undefined

        const results = yield* firstBoot(ns, instance)
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        expect(results.flatMap((r) => actionLines(r.stderr)).filter((l) => !l.endsWith(": starting") && !l.endsWith(": done"))).toEqual([])
        expect(instance.read("/var/lib/cloud/.autodetect")).toBe(`${cloud}\n`)
        expect(instance.read("/etc/hostname")).toBe("web-1\n")
        expect(instance.read("/etc/hosts")).toBe(`127.0.0.1\tlocalhost\n127.0.1.1\t${HOST} web-1\n`)
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[KEY_A, KEY_B].sort().join("\n")}\n`)
        expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
        expect(instance.read("/etc/at-real-address")).toBe("written by user-data\n")
        expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
        if (wireserver !== undefined) {
          expect(results[2]!.stderr).toContain(`\nreport_ready: Ready reported to the Azure wireserver at ${WIRESERVER}\n`)
          expect((yield* wireserver.stop).reports.map((r) => r.state)).toEqual(["Ready"])
        }

        // imds by hand, inside the namespace: the cloud detection found
        const imds = yield* ns.exec(process.execPath, [PROGRAM, "imds", "@hostname", "+n", "@ssh-keys"], { ...instance.env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE })
        expect(imds).toEqual({ code: 0, stdout: `${HOST}\n${[KEY_A, KEY_B].sort().join("\n")}\n`, stderr: "" })

        // asked for as the cloud's own address (port 80 left out of Host); scaleway's user-data from a source port below 1024
        const heard = (yield* service.stop).requests
        if (address !== undefined) expect([...new Set(heard.map((r) => r.headers["host"]))]).toEqual([address])
        if (cloud === "scaleway") {
          // (some asked: `every` of none would hold whatever the port)
          const userData = heard.filter((r) => r.path.startsWith("/user_data/"))
          expect(userData.length).toBeGreaterThan(0)
          expect(userData.every((r) => r.status === 200 && (r.remotePort ?? 0) < 1024)).toBe(true)
        }
      })
    )
  })
}, { concurrent: true })

/** where the clouds that have one serve their metadata over IPv6 (cloud-init's DataSourceEc2, DataSourceOracle and DataSourceScaleway ask both addresses; GCE's IPv6-only instances have fd20:ce::254) */
const IPV6_SERVICE: Readonly<Record<string, string>> = { aws: "fd00:ec2::254", gcp: "fd20:ce::254", oci: "fd00:c1::a9fe:a9fe", scaleway: "fd00:42::42" }

describeSystem("an instance in an IPv6-only subnet: no IPv4 address, the metadata service at its IPv6 address alone", { tools: { ip: "iproute2" }, root: true }, () => {
  describe.concurrent.each(Object.keys(IPV6_SERVICE))("%s", (cloud) => {
    it.scopedLive("169.254.169.254 is unreachable, the service's IPv6 address answers: hostname, keys, user-data, marker; exit 0", () =>
      Effect.gen(function* () {
        const address = IPV6_SERVICE[cloud]!
        const ns = yield* makeNamespace
        // no IPv4 address but the loopback's: no route to 169.254.169.254, as on an IPv6-only subnet
        yield* ns.ip("-6", "addr", "add", `${address}/128`, "dev", "lo")
        const instance = yield* instanceOf({}, CLOUDS[cloud]!.dmi)
        const service = yield* simulatorIn(ns, cloud, INSTANCE, 80, { host: address })
        const results = yield* firstBoot(ns, instance)
        expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
        expect(instance.read("/etc/hostname")).toBe("web-1\n")
        expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[KEY_A, KEY_B].sort().join("\n")}\n`)
        expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
        expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
        // imds by hand too
        const imds = yield* ns.exec(process.execPath, [PROGRAM, "imds", "@hostname"], { ...instance.env, TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE })
        expect(imds).toEqual({ code: 0, stdout: HOST, stderr: "" })
        expect((yield* service.stop).requests.length).toBeGreaterThan(0)
      })
    )
  })
}, { concurrent: true })

describeSystem("an OpenStack instance on an IPv6-only network without a config drive: Nova's metadata service at fe80::a9fe:a9fe alone", { tools: { ip: "iproute2" }, root: true }, () => {
  it.scopedLive("169.254.169.254 is unreachable, fe80::a9fe:a9fe answers through eth0 (%eth0): hostname, keys, user-data, marker; exit 0", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      // no IPv4 address but the loopback's; the service on eth0's link
      yield* ns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
      yield* ns.ip("link", "set", "eth0", "up")
      yield* ns.ip("link", "set", "eth0p", "up")
      yield* ns.ip("-6", "addr", "add", "fe80::a9fe:a9fe/64", "dev", "eth0", "nodad")
      const instance = yield* instanceOf({}, CLOUDS.openstack!.dmi)
      instance.write("/sys/class/net/eth0/ifindex", "2\n")
      instance.write("/sys/class/net/eth0/operstate", "up\n")
      const service = yield* simulatorIn(ns, "openstack", INSTANCE, 80, { host: "fe80::a9fe:a9fe%eth0" })
      const results = yield* firstBoot(ns, instance)
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[KEY_A, KEY_B].sort().join("\n")}\n`)
      expect(instance.read("/var/lib/cloud/user-data")).toBe(USER_DATA)
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
      expect((yield* service.stop).requests.length).toBeGreaterThan(0)
    })
  )
})

const SS = which("ss") ?? "/usr/bin/ss"

/** until a connection in the namespace waits for ADDRESS's answer (SYN-SENT) */
const waitingOn = (ns: Namespace, address: string) =>
  Effect.repeat(ns.exec(SS, ["-Htn", "state", "syn-sent", "dst", `[${address}]`], {}), {
    until: (r) => r.stdout.trim() !== "",
    schedule: Schedule.spaced("20 millis")
  })

describeSystem("a dual-stack instance whose DHCP lease comes late, the IPv6 metadata address off", { tools: { ip: "iproute2", ss: "iproute2" }, root: true }, () => {
  it.scopedLive("aws: no route to 169.254.169.254 yet, [fd00:ec2::254] routed but silent (AWS's IPv6 endpoint is off unless enabled): read at 169.254.169.254 once the lease gives it a route", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* silentIpv6Subnet(ns, "fd00:ec2::10", IPV6_SERVICE.aws!)
      const instance = yield* instanceOf({}, CLOUDS.aws!.dmi)
      // listening on every address: 169.254.169.254 once it is there
      yield* simulatorIn(ns, "aws", INSTANCE, 80, { host: "0.0.0.0" })
      // the lease comes while the program waits on the silent IPv6 address, having found no route to 169.254.169.254
      const lease = Effect.zipRight(waitingOn(ns, IPV6_SERVICE.aws!), addresses(ns, METADATA))
      // each wait on the silent address is one IMDS_TIMEOUT: 1 s shows what the default 2 s shows, sooner; the deadline is not what is tested
      const env = { ...instance.env, CLOUD: "aws", IMDS_TIMEOUT: "1", IMDS_DEADLINE: "30", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      const [imds] = yield* Effect.all([ns.exec(process.execPath, [PROGRAM, "imds", "@hostname"], env), lease], { concurrency: 2 })
      expect(imds).toEqual({ code: 0, stdout: HOST, stderr: "" })
    })
  )
})

describeSystem("an instance with no network at all and IPv6 disabled", { tools: { ip: "iproute2" }, root: true }, () => {
  it.scopedLive.each(Object.keys(IPV6_SERVICE))("%s: the line names the service's IPv4 address (169.254.169.254, scaleway's 169.254.42.42) and no route, as with IPv6 enabled (not connect's EADDRNOTAVAIL at the IPv6 address)", (cloud) =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      for (const conf of ["all", "default", "lo"]) yield* ns.exec("sh", ["-c", `echo 1 > /proc/sys/net/ipv6/conf/${conf}/disable_ipv6`], {})
      const instance = yield* instanceOf({}, CLOUDS[cloud]!.dmi)
      const imds = yield* ns.exec(process.execPath, [PROGRAM, "imds", "@hostname"], { ...instance.env, CLOUD: cloud, IMDS_DEADLINE: "1", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE })
      expect(imds.code).toBe(1)
      expect(imds.stderr).toMatch(new RegExp(`^imds: ${cloud}: cannot read http://${CLOUDS[cloud]!.address!.replaceAll(".", "\\.")}/\\S+: no route to host\n$`))
    })
  )
}, { concurrent: true })

describeSystem("azure's wireserver where DHCP option 245 says", { tools: { ip: "iproute2" }, root: true }, () => {
  it.scopedLive("the address udhcpc's hook kept (opt245=0a141e28: 10.20.30.40) hears Ready, not 168.63.129.16", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* addresses(ns, METADATA, WIRESERVER, "10.20.30.40")
      const instance = yield* instanceOf({}, CLOUDS.azure!.dmi)
      instance.write("/run/tiny-cloud/dhcp/eth0", "opt245=0a141e28\n")
      yield* simulatorIn(ns, "azure", INSTANCE, 80, { host: METADATA })
      const fallback = yield* simulatorIn(ns, "azure", INSTANCE, 80, { host: WIRESERVER })
      const given = yield* simulatorIn(ns, "azure", INSTANCE, 80, { host: "10.20.30.40" })
      const results = yield* firstBoot(ns, instance)
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(results[2]!.stderr).toContain("\nreport_ready: Ready reported to the Azure wireserver at 10.20.30.40\n")
      expect((yield* given.stop).reports.map((r) => r.state)).toEqual(["Ready"])
      expect((yield* fallback.stop).requests).toEqual([])
    })
  )
}, { concurrent: true })

describeSystem("aws's metadata service restarted between two phases", { tools: { ip: "iproute2" }, root: true }, () => {
  it.scopedLive("the session token it no longer knows (401) is replaced by a fresh one, not asked for again from what the resident process kept", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* addresses(ns, METADATA)
      const instance = yield* instanceOf({}, CLOUDS.aws!.dmi)
      const env = { ...servicesEnv(instance), IMDS_TOKEN_TTL: "300" }
      const start = (phase: string) => Effect.promise(() => startService(phase, env, [IP, "netns", "exec", ns.name, "sh"]))
      const before = yield* Effect.scoped(
        Effect.gen(function* () {
          // the key list, which main reads, is not had from this one: main reads it from the next
          yield* simulatorIn(ns, "aws", INSTANCE, 80, { host: METADATA, faults: { overrides: [{ path: "/latest/meta-data/public-keys/", status: 503 }] } })
          return [yield* start("boot"), yield* start("early")]
        })
      )
      // a new service: the tokens the first one gave are gone
      const service = yield* simulatorIn(ns, "aws", INSTANCE, 80, { host: METADATA })
      const after = [yield* start("main"), yield* start("final")]
      expect([...before, ...after].map((r) => r.code), [...before, ...after].map((r) => r.stderr).join("")).toEqual([0, 0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[KEY_A, KEY_B].sort().join("\n")}\n`)
      const heard = (yield* service.stop).requests.map((r) => `${r.method} ${r.path} ${r.status}`)
      expect(heard).toContain("PUT /latest/api/token 200")
      expect(heard).toContain("GET /latest/meta-data/public-keys/ 200")
    })
  )
}, { concurrent: true })

describeSystem("a cloud detected where its metadata service is not (a route into the void)", { tools: { ip: "iproute2" }, root: true }, () => {
  /** the one line a read that never got an answer ends with */
  const CANNOT = "cannot read (\\S+): (no route to host|timed out)"
  const USER_DATA_URL: Readonly<Record<string, string>> = {
    gcp: "http://169.254.169.254/computeMetadata/v1/instance/attributes/user-data",
    hetzner: "http://169.254.169.254/hetzner/v1/userdata"
  }
  describe.concurrent.each(["gcp", "hetzner"])("%s", (cloud) => {
    it.scopedLive("each metadata read ends, within IMDS_DEADLINE, with one line naming the cloud, the URL and the last error; what needs no metadata is done", () =>
      Effect.gen(function* () {
        const ns = yield* makeNamespace
        // eth0 with a default route to a gateway nobody answers for
        yield* ns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "p0")
        yield* ns.ip("link", "set", "eth0", "up")
        yield* ns.ip("addr", "add", "10.0.0.5/24", "dev", "eth0")
        yield* ns.ip("route", "add", "default", "via", "10.0.0.1")
        const instance = yield* instanceOf({}, CLOUDS[cloud]!.dmi)
        // no answer ever comes: a deadline of 1 s shows the same ends as the harness's 5 s, sooner
        const [boot, early, main, final] = yield* firstBoot(ns, instance, { IMDS_DEADLINE: "1" })
        expect(boot!.code).toBe(0)
        // early: the read of user-data the resident process began ahead of it and gave up on is not the phase's own failure
        expect(early!.code).toBe(1)
        expect(early!.stderr).toMatch(new RegExp(`^\\n   \\+\\+ save_userdata: starting\\nsave_userdata: ${cloud}: ${CANNOT}\\n   \\+\\+ save_userdata: failed\\n$`))
        expect(new RegExp(CANNOT).exec(early!.stderr)?.[1]).toBe(USER_DATA_URL[cloud])
        expect(main!.code).toBe(1)
        expect(main!.stderr).toMatch(
          new RegExp(
            `^\\n   \\+\\+ missing_userdata: starting\\nmissing_userdata: no user-data found \\(save_userdata failed in early: what the cloud gave, if anything, was not saved\\)\\n   \\+\\+ missing_userdata: done\\n   \\+\\+ create_default_user: starting\\n   \\+\\+ create_default_user: done\\n   \\+\\+ set_hostname: starting\\nset_hostname: ${cloud}: ${CANNOT}\\n   \\+\\+ set_hostname: failed\\n$`
          )
        )
        // nothing is marked done on data that was never read: the next boot runs the first boot again
        expect(final).toEqual({
          code: 1,
          stdout: "",
          stderr:
            "\n   ++ bootstrap_complete: starting\nbootstrap_complete: the early phase could not read the metadata (save_userdata); not marked complete, so that the next boot runs the first boot again\n   ++ bootstrap_complete: failed\n"
        })
        expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBeUndefined()
        expect(instance.read("/etc/passwd")).toContain("\nalpine:x:")
        expect(instance.read("/etc/hostname")).toBeUndefined()
      })
    )
  })
}, { concurrent: true })

describeSystem("scaleway's user-data asked for by hand", { tools: { ip: "iproute2", setpriv: "util-linux" }, root: true }, () => {
  it.scopedLive("by a user other than root: one line saying only root may use a source port below 1024, at once rather than retried until IMDS_DEADLINE; root gets it", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* addresses(ns, "169.254.42.42")
      const sim = yield* simulatorIn(ns, "scaleway", INSTANCE, 80, { host: "169.254.42.42" })
      const instance = yield* instanceOf({}, CLOUDS.scaleway!.dmi)
      // the instance's files readable by anyone, as an image's /etc is
      chmodSync(instance.dir, 0o755)
      chmodSync(instance.root, 0o755)
      const env = { ...instance.env, CLOUD: "scaleway", TINY_CLOUD_CODE_CACHE: "off" }
      const imds = [PROGRAM, "imds", "@hostname", "+n", "@userdata"]
      expect(yield* ns.exec(SETPRIV, ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...imds], env)).toEqual({
        code: 1,
        stdout: `${HOST}\n`,
        stderr: "imds: scaleway: cannot read http://169.254.42.42/user_data/cloud-init: it is served only to a source port below 1024, which only root may use\n"
      })
      expect(yield* ns.exec(process.execPath, imds, env)).toEqual({ code: 0, stdout: `${HOST}\n${USER_DATA}`, stderr: "" })
      expect((yield* sim.stop).requests.filter((r) => r.path.startsWith("/user_data")).map((r) => [r.status, (r.remotePort ?? 0) < 1024])).toEqual([[200, true]])
    })
  )
}, { concurrent: true })

describeSystem("scaleway's metadata service behind a route that refuses it (prohibit), asked for by root", { tools: { ip: "iproute2" }, root: true }, () => {
  it.scopedLive("user-data is not 'served only to a source port below 1024, which only root may use' but the route's 'permission denied', retried as /conf is until the route is lifted", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      yield* addresses(ns, "169.254.42.42")
      yield* simulatorIn(ns, "scaleway", INSTANCE, 80, { host: "169.254.42.42" })
      // the namespace's own addresses are looked up after a rule that refuses the service's
      yield* ns.ip("rule", "add", "pref", "100", "lookup", "local")
      yield* ns.ip("rule", "del", "pref", "0")
      const refuse = ns.ip("rule", "add", "pref", "50", "to", "169.254.42.42", "prohibit")
      const lift = ns.ip("rule", "del", "pref", "50")
      yield* refuse
      const instance = yield* instanceOf({}, CLOUDS.scaleway!.dmi)
      const env = { ...instance.env, CLOUD: "scaleway", TINY_CLOUD_CODE_CACHE: TEST_CODE_CACHE }
      const imds = (deadline: string, ...args: ReadonlyArray<string>) => ns.exec(process.execPath, [PROGRAM, "imds", ...args], { ...env, IMDS_DEADLINE: deadline })
      expect(yield* imds("1", "-e", "@userdata", "@hostname")).toEqual({
        code: 0,
        stdout: "",
        stderr: "imds: scaleway: cannot read http://169.254.42.42/user_data/cloud-init: permission denied\nimds: scaleway: cannot read http://169.254.42.42/conf: permission denied\n"
      })
      // asked while the route refuses it, answered once it is lifted
      const asked = yield* Effect.fork(imds("30", "@userdata"))
      yield* Effect.sleep("1 second")
      yield* lift
      expect(yield* asked.await).toEqual(Exit.succeed({ code: 0, stdout: USER_DATA, stderr: "" }))
    })
  )
}, { concurrent: true })

describeSystem("incus's guest API asked for by hand", { tools: { setpriv: "util-linux" }, root: true }, () => {
  it.scopedLive("by a user the socket does not let in: one line saying so, at once rather than retried until IMDS_DEADLINE; root gets the answer", () =>
    Effect.gen(function* () {
      const instance = yield* Effect.acquireRelease(
        Effect.promise(() => makeInstance({ cloud: "incus", instance: INSTANCE })),
        (i) => Effect.promise(() => i.close())
      )
      // the instance's files readable by anyone, as an image's are; the socket is root's, as incus makes it
      chmodSync(instance.dir, 0o755)
      chmodSync(instance.root, 0o755)
      const imds = [PROGRAM, "imds", "@hostname"]
      const asNobody = yield* run(SETPRIV, ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...imds], instance.env)
      expect(asNobody).toEqual({
        code: 1,
        stdout: "",
        stderr: `imds: incus: cannot read unix:${instance.root}/dev/incus/sock:/1.0/meta-data: permission denied on its socket, which only root may use\n`
      })
      expect(yield* run(process.execPath, imds, instance.env)).toEqual({ code: 0, stdout: HOST, stderr: "" })
    })
  )
}, { concurrent: true })

describeSystem("nocloud's ephemeral DHCP lease on a link where no DHCP server answers", { tools: { ip: "iproute2", busybox: "busybox" }, root: true }, () => {
  it.scopedLive("busybox udhcpc -f -q, which asks for ever, is given IMDS_DEADLINE: the boot phase goes on to the interfaces file and sshd, each problem in one line; once networking is up, the seed gives hostname and keys", () =>
    Effect.gen(function* () {
      const ns = yield* makeNamespace
      // the other end of eth0, where the seed is
      const lan = yield* makeNamespace
      yield* ns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "p0", "netns", lan.name)
      yield* lan.ip("link", "set", "p0", "up")
      yield* lan.ip("addr", "add", "10.0.0.1/24", "dev", "p0")
      yield* simulatorIn(lan, "nocloud", INSTANCE, 80, { host: "10.0.0.1" })
      const instance = yield* instanceOf({}, {})
      instance.write("/proc/cmdline", "root=/dev/vda2 ds=nocloud;s=http://10.0.0.1/seed/\n")
      // busybox's own udhcpc, as Alpine has it, before the harness's stand-in
      const busybox = join(instance.dir, "busybox")
      mkdirSync(busybox)
      symlinkSync(which("busybox")!, join(busybox, "udhcpc"))
      const services = servicesEnv(instance)
      const env = { ...services, PATH: `${busybox}:${services.PATH}` }
      const start = (phase: string, deadline: Record<string, string> = {}) =>
        Effect.promise(() => startService(phase, { ...env, ...deadline }, [IP, "netns", "exec", ns.name, "sh"]))

      // no lease ever comes: boot's deadline of 1 s shows what the harness's 5 s shows, sooner; the phases that read the seed keep 5 s
      const boot = yield* start("boot", { IMDS_DEADLINE: "1" })
      expect(boot.code, boot.stderr).toBe(0)
      expect(boot.stderr.split("\n").filter((l) => !/^ {3}\+\+ /.test(l) && l !== "")).toEqual([
        "set_ephemeral_network: no DHCP lease on eth0 within 1 s (IMDS_DEADLINE); the boot goes on without it",
        "set_network_interfaces: nocloud: cannot read http://10.0.0.1/seed/meta-data: no route to host; the default stanzas are used"
      ])
      expect(actionLines(boot.stderr).filter((l) => l.endsWith(": done"))).toEqual(
        ["expand_root", "install_hotplugs", "set_ephemeral_network", "set_network_interfaces", "enable_sshd"].map((a) => `   ++ ${a}: done`)
      )
      expect(instance.read("/etc/network/interfaces")).toBe("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0\n\tuse dhcp\n\n")
      expect(instance.commands()).toContain("rc-update add sshd default")

      // the networking service brings eth0 up by DHCP
      yield* ns.ip("link", "set", "eth0", "up")
      yield* ns.ip("addr", "add", "10.0.0.5/24", "dev", "eth0")
      const rest = [yield* start("early"), yield* start("main"), yield* start("final")]
      expect(rest.map((r) => r.code), rest.map((r) => r.stderr).join("")).toEqual([0, 0, 0])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${[KEY_A, KEY_B].sort().join("\n")}\n`)
      expect(instance.read("/var/lib/cloud/.bootstrap-complete")).toBe("")
    })
  )
}, { concurrent: true })
