import { chmodSync, mkdirSync, mkdtempSync, existsSync, readFileSync, rmSync, statSync } from "node:fs"
import { execFileSync, spawnSync } from "node:child_process"
import { request as httpRequest, type OutgoingHttpHeaders } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { GCP_OTHER_KEYS } from "../../src/sim/clouds/gcp.js"
import { nocloudSeedFiles } from "../../src/sim/clouds/nocloud.js"
import { openstackFiles } from "../../src/sim/clouds/openstack.js"
import { INSTALLED, makeFakeSystem, readCommandLog } from "../../src/sim/fake-system.js"
import { SIM_CLOUDS, simulatedCloud, startSimulator, type RunningSim, type SimInstance, type SimOptions } from "../../src/sim/simulator.js"
import { describeSystem } from "../support/system.js"
import { PROGRAM } from "../support/harness.js"
import { shippedStanza } from "../support/shipped.js"

interface Answer {
  status: number
  body: string
  bytes: Buffer
  headers: Record<string, string | string[] | undefined>
}

interface Ask {
  path: string
  method?: string
  headers?: OutgoingHttpHeaders
  localPort?: number
  timeoutMs?: number
}

const ask = (sim: RunningSim, a: Ask): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const [host, port] = sim.socketPath ? ["", ""] : [sim.endpoint.replace(/:\d+$/, ""), sim.endpoint.replace(/^.*:/, "")]
    const req = httpRequest(
      {
        method: a.method ?? "GET",
        path: a.path,
        headers: a.headers,
        agent: false,
        ...(sim.socketPath ? { socketPath: sim.socketPath } : { host, port: Number(port) }),
        ...(a.localPort !== undefined ? { localPort: a.localPort } : {})
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const bytes = Buffer.concat(chunks)
          resolve({ status: res.statusCode ?? 0, body: bytes.toString("utf8"), bytes, headers: res.headers })
        })
        res.on("error", reject)
      }
    )
    req.setTimeout(a.timeoutMs ?? 2000, () => req.destroy(new Error("client timeout")))
    req.on("error", reject)
    req.end()
  })

/** a request from a privileged source port; retried on another port when the chosen one is busy */
const askPrivileged = async (sim: RunningSim, path: string): Promise<Answer> => {
  for (let attempt = 0; ; attempt++) {
    const localPort = 600 + Math.floor(Math.random() * 400)
    try {
      return await ask(sim, { path, localPort })
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (attempt < 10 && (code === "EADDRINUSE" || code === "EADDRNOTAVAIL")) continue
      throw e
    }
  }
}

const running: RunningSim[] = []
const start = async (options: SimOptions): Promise<RunningSim> => {
  const sim = await startSimulator(options)
  running.push(sim)
  return sim
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
})

const KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1c3liZWF2ZXJrZXlvbmUxMjM0NTY3ODkwMTIz one@example"
const KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHR3b2tleXR3b2tleXR3b2tleXR3b2tleXR3b2tl two@example"
const USER_DATA = new Uint8Array([0x23, 0x21, 0x2f, 0x62, 0x69, 0x6e, 0x2f, 0x73, 0x68, 0x0a, 0x00, 0xff, 0x0a])

const instance = {
  hostname: "web1.example.com",
  localHostname: "ip-10-0-0-5.internal",
  sshKeys: [KEY1, KEY2],
  userData: USER_DATA,
  nics: [
    {
      mac: "0a:1b:2c:3d:4e:5f",
      ipv4: ["10.0.0.5", "10.0.0.6"],
      ipv6: ["2001:db8::5"],
      ipv4Net: ["10.0.0.0/24"],
      ipv6Net: ["2001:db8::/64"],
      ipv4Prefix: ["10.0.1.0/28"]
    }
  ]
}

const awsToken = async (sim: RunningSim, ttl = "60"): Promise<string> => {
  const res = await ask(sim, { method: "PUT", path: "/latest/api/token", headers: { "X-aws-ec2-metadata-token-ttl-seconds": ttl } })
  expect(res.status).toBe(200)
  return res.body
}

describe("the simulated clouds", () => {
  it("are the registry's clouds, each with its simulator file", async () => {
    expect(SIM_CLOUDS).toEqual(CLOUD_NAMES)
    for (const cloud of CLOUD_NAMES) expect(typeof (await simulatedCloud(cloud)).handler).toBe("function")
    await expect(simulatedCloud("frobcloud")).rejects.toThrow("no simulated cloud 'frobcloud'")
  })
})

describe("the simulated image", () => {
  it("has /tmp and /var/tmp as an Alpine image has them, world-writable and sticky (the test runner's umask takes bits off a new directory)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const { root } = makeFakeSystem(dir)
      const modes = ["tmp", "var/tmp"].map((d) => statSync(join(root, d)).mode & 0o7777)
      expect(modes).toEqual([0o1777, 0o1777])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  // without it simulate said `userdata_ssh_pwauth: no /etc/ssh/sshd_config; left alone` for every document with ssh_pwauth
  it("has openssh-server's sshd_config, as tiny-cloud's package brings it, including sshd_config.d at its top", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const { root } = makeFakeSystem(dir)
      const sshd = readFileSync(join(root, "etc/ssh/sshd_config"), "utf8")
      expect(sshd.split("\n")[0]).toBe("Include /etc/ssh/sshd_config.d/*.conf")
      expect(sshd).toContain("\n#PasswordAuthentication yes\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  // cloud-config's homedir, shell, uid and gecos (Lima's `homedir: /home/me.linux`, `uid: "501"`): simulate showed the keys in
  // /home/me, while the account, as busybox's adduser makes it, has its home where -h says, and set_ssh_keys writes them there
  it("has an adduser that makes the account as busybox's does: the home, shell, uid, comment and group it is given; the first uid free, from 100 and in nogroup for a system account", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const fake = makeFakeSystem(dir)
      const env = { ...process.env, ROOT: fake.root, FAKE_COMMAND_LOG: fake.commandLog }
      const adduser = (...args: Array<string>) => execFileSync(join(fake.bin, "adduser"), args, { env, input: "" })
      execFileSync(join(fake.bin, "addgroup"), ["staff"], { env, input: "" })
      adduser("-h", "/home/me.linux", "-s", "/bin/ash", "-G", "staff", "-D", "-u", "501", "-g", "Me Myself", "me")
      adduser("-h", "/var/lib/svc", "-s", "/sbin/nologin", "-D", "-S", "-H", "svc")
      adduser("-h", "/home/plain", "-s", "/bin/sh", "-G", "staff", "-D", "plain")
      // a system account asked no shell (cloud-config's `system: true` alone) gets Alpine's adduser's /sbin/nologin, not /bin/sh
      adduser("-D", "-S", "-H", "daemon2")
      const passwd = readFileSync(join(fake.root, "etc/passwd"), "utf8").split("\n").slice(1, -1)
      expect(passwd).toEqual([
        "me:x:501:1000:Me Myself:/home/me.linux:/bin/ash",
        "svc:x:100:65533:Linux User,,,:/var/lib/svc:/sbin/nologin",
        "plain:x:1000:1000:Linux User,,,:/home/plain:/bin/sh",
        "daemon2:x:101:65533:Linux User,,,:/home/daemon2:/sbin/nologin"
      ])
      expect([existsSync(join(fake.root, "home/me.linux")), existsSync(join(fake.root, "home/me")), existsSync(join(fake.root, "var/lib/svc"))]).toEqual([true, false, false])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  // busybox 1.35's adduser, run in a chroot: `mkdir(home, 0755)`, no parent; then chown and chmod 02755 of the home, new or there
  it("has an adduser that makes the home as busybox's does: 2755, one there already taken over, none without its parent (said, the account made)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const fake = makeFakeSystem(dir)
      const env = { ...process.env, ROOT: fake.root, FAKE_COMMAND_LOG: fake.commandLog }
      const adduser = (...args: Array<string>) => spawnSync(join(fake.bin, "adduser"), args, { env, input: "", encoding: "utf8" })
      mkdirSync(join(fake.root, "home/taken"))
      chmodSync(join(fake.root, "home/taken"), 0o775)
      expect(adduser("-h", "/home/taken", "-s", "/bin/sh", "-D", "taken").status).toBe(0)
      expect(adduser("-h", "/home/new", "-s", "/bin/sh", "-D", "new").status).toBe(0)
      const orphan = adduser("-h", "/srv/people/orphan", "-s", "/bin/sh", "-D", "orphan")
      expect([orphan.status, orphan.stderr]).toEqual([0, "adduser: /srv/people/orphan: No such file or directory\n"])
      expect(readFileSync(join(fake.root, "etc/passwd"), "utf8")).toMatch(/^orphan:x:.*:\/srv\/people\/orphan:\/bin\/sh$/m)
      expect([statSync(join(fake.root, "home/taken")).mode & 0o7777, statSync(join(fake.root, "home/new")).mode & 0o7777]).toEqual([0o2755, 0o2755])
      expect(existsSync(join(fake.root, "srv/people"))).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("with tiny-cloud installed, holds what make install puts there: the Makefile's LINKS (PREFIX=/usr) as links to the program, the shipped interfaces.d", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const makefile = readFileSync(new URL("../../Makefile", import.meta.url), "utf8")
      const links = /^LINKS := \\\n((?:\t.*\n)+)/m.exec(makefile)![1]!.split("\n").map((l) => l.replace(/[\t \\]/g, "").replace("$(PREFIX)", "/usr")).filter((l) => l !== "")
      expect([...INSTALLED.links].sort()).toEqual(links.sort())
      const fake = makeFakeSystem(dir, { program: PROGRAM })
      // (Buffer.equals: the matcher's deep equality over 700 KB, byte by byte, takes seconds a link)
      const program = readFileSync(PROGRAM)
      expect(links.filter((link) => !readFileSync(join(fake.root, link)).equals(program))).toEqual([])
      for (const name of ["lo", "DEFAULT"]) {
        const shipped = shippedStanza(name)
        expect([INSTALLED.files[`/etc/network/interfaces.d/${name}`], readFileSync(join(fake.root, "etc/network/interfaces.d", name), "utf8")]).toEqual([shipped, shipped])
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  // autoinstall asks blkid whether a disk holds a signature: without a stand-in simulate ran this machine's own on its /dev
  it("has root's home, /root, 0700, as an Alpine image has it (user-data writes there: cloud-init's runcmd example lists it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const fake = makeFakeSystem(dir)
      expect(statSync(join(fake.root, "root")).mode & 0o7777).toBe(0o700)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("has a blkid that answers for a disk as busybox's does for a blank one: nothing, status 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const fake = makeFakeSystem(dir)
      const env = { ...process.env, ROOT: fake.root, FAKE_COMMAND_LOG: fake.commandLog }
      expect(execFileSync(join(fake.bin, "blkid"), ["/dev/vdb"], { env, input: "" }).toString()).toBe("")
      expect(readFileSync(fake.commandLog, "utf8")).toBe("blkid /dev/vdb\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("has a logger that records a message given on its command line, as the services log 'already bootstrapped' (their input /dev/null); a long-lived one's lines each", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-image-"))
    try {
      const fake = makeFakeSystem(dir)
      const env = { ...process.env, ROOT: fake.root, FAKE_COMMAND_LOG: fake.commandLog }
      execFileSync(join(fake.bin, "logger"), ["-p", "local7.info", "-t", "tiny-cloud/main[7]", "already", "bootstrapped"], { env, stdio: ["ignore", "pipe", "pipe"] })
      execFileSync(join(fake.bin, "logger"), ["-p", "local7.err", "-t", "tiny-cloud/final[8]"], { env, input: "one\ntwo\n" })
      expect(readCommandLog(fake)).toEqual([
        { line: "logger -p local7.info -t tiny-cloud/main[7]", stdin: ["already bootstrapped"] },
        { line: "logger -p local7.err -t tiny-cloud/final[8]", stdin: ["one"] },
        { line: "logger -p local7.err -t tiny-cloud/final[8]", stdin: ["two"] }
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("aws", () => {
  it("refuses a GET without a token, serves the hostname with one", async () => {
    const sim = await start({ cloud: "aws", instance })
    expect((await ask(sim, { path: "/latest/meta-data/hostname" })).status).toBe(401)
    expect((await ask(sim, { path: "/latest/meta-data/hostname", headers: { "X-aws-ec2-metadata-token": "bogus" } })).status).toBe(401)
    const token = await awsToken(sim)
    const res = await ask(sim, { path: "/latest/meta-data/hostname", headers: { "X-aws-ec2-metadata-token": token } })
    expect(res).toMatchObject({ status: 200, body: "web1.example.com" })
    expect(sim.requests.map((r) => r.status)).toEqual([401, 401, 200, 200])
  })

  it("needs a valid TTL for a token, and PUT for the token", async () => {
    const sim = await start({ cloud: "aws", instance })
    expect((await ask(sim, { method: "PUT", path: "/latest/api/token" })).status).toBe(400)
    for (const ttl of ["0", "21601", "abc"]) {
      expect((await ask(sim, { method: "PUT", path: "/latest/api/token", headers: { "X-aws-ec2-metadata-token-ttl-seconds": ttl } })).status).toBe(400)
    }
    expect((await ask(sim, { path: "/latest/api/token", headers: { "X-aws-ec2-metadata-token-ttl-seconds": "5" } })).status).toBe(405)
    const res = await ask(sim, { method: "PUT", path: "/latest/api/token", headers: { "X-aws-ec2-metadata-token-ttl-seconds": "21600" } })
    expect(res.status).toBe(200)
    expect(res.body.length).toBeGreaterThan(20)
    expect(res.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("21600")
  })

  it("serves keys, user-data and NICs in EC2's formats", async () => {
    const sim = await start({ cloud: "aws", instance })
    const h = { "X-aws-ec2-metadata-token": await awsToken(sim) }
    const get = (p: string) => ask(sim, { path: `/latest/${p}`, headers: h })
    expect((await get("meta-data/public-keys/")).body).toBe("0=key-0\n1=key-1")
    expect((await get("meta-data/public-keys/1/openssh-key")).body).toBe(KEY2)
    expect((await get("meta-data/local-hostname")).body).toBe("ip-10-0-0-5.internal")
    expect((await get("user-data")).bytes).toEqual(Buffer.from(USER_DATA))
    expect((await get("meta-data/network/interfaces/macs/")).body).toBe("0a:1b:2c:3d:4e:5f/")
    const mac = "meta-data/network/interfaces/macs/0a:1b:2c:3d:4e:5f"
    expect((await get(`${mac}/mac`)).body).toBe("0a:1b:2c:3d:4e:5f")
    expect((await get(`${mac}/local-ipv4s`)).body).toBe("10.0.0.5\n10.0.0.6")
    expect((await get(`${mac}/subnet-ipv6-cidr-blocks`)).body).toBe("2001:db8::/64")
    expect((await get(`${mac}/ipv4-prefix`)).body).toBe("10.0.1.0/28")
    expect((await get(`${mac}/ipv6-prefix`)).status).toBe(404)
    expect((await get("meta-data/nothing-here")).status).toBe(404)
  })

  it("serves where the instance runs, its type and its private address, as EC2 always does, and lists them as EC2 does", async () => {
    const sim = await start({ cloud: "aws", instance })
    const h = { "X-aws-ec2-metadata-token": await awsToken(sim) }
    const get = (p: string) => ask(sim, { path: `/latest/${p}`, headers: h })
    expect((await get("meta-data/placement/region")).body).toBe("us-east-1")
    expect((await get("meta-data/placement/availability-zone")).body).toBe("us-east-1a")
    expect((await get("meta-data/placement/")).body).toBe("availability-zone\navailability-zone-id\nregion")
    expect((await get("meta-data/instance-type")).body).toBe("t3.micro")
    expect((await get("meta-data/local-ipv4")).body).toBe("10.0.0.5")
    expect((await get("meta-data/")).body).toBe(
      "hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nnetwork/\nplacement/\npublic-keys/"
    )
    // an instance without an IPv4 address (IPv6-only) has no local-ipv4; its placement stays
    const bare = await start({ cloud: "aws", instance: {} })
    const hb = { "X-aws-ec2-metadata-token": await awsToken(bare) }
    expect((await ask(bare, { path: "/latest/meta-data/local-ipv4", headers: hb })).status).toBe(404)
    expect((await ask(bare, { path: "/latest/meta-data/placement/region", headers: hb })).body).toBe("us-east-1")
  })

  it("answers 404 for what the instance lacks", async () => {
    const sim = await start({ cloud: "aws", instance: {} })
    const h = { "X-aws-ec2-metadata-token": await awsToken(sim) }
    for (const p of ["meta-data/hostname", "user-data", "meta-data/public-keys/"]) {
      expect((await ask(sim, { path: `/latest/${p}`, headers: h })).status).toBe(404)
    }
  })

  it("expires tokens after their TTL when asked to", async () => {
    const sim = await start({ cloud: "aws", instance, tokenTtlEnforced: true })
    const token = await awsToken(sim, "1")
    const h = { "X-aws-ec2-metadata-token": token }
    expect((await ask(sim, { path: "/latest/meta-data/hostname", headers: h })).status).toBe(200)
    await new Promise((r) => setTimeout(r, 1050))
    expect((await ask(sim, { path: "/latest/meta-data/hostname", headers: h })).status).toBe(401)
  })
})

describe("azure", () => {
  const q = "?format=text&api-version=2021-05-01"
  it("needs the Metadata header and an api-version", async () => {
    const sim = await start({ cloud: "azure", instance })
    expect((await ask(sim, { path: `/metadata/instance/compute/name${q}` })).status).toBe(400)
    expect((await ask(sim, { path: "/metadata/instance/compute/name?format=text", headers: { Metadata: "true" } })).status).toBe(400)
    const res = await ask(sim, { path: `/metadata/instance/compute/osProfile/computerName${q}`, headers: { Metadata: "true" } })
    expect(res).toMatchObject({ status: 200, body: "web1.example.com" })
  })

  it("names the VM's resource apart from its computer name, as a scale set's instance", async () => {
    const sim = await start({ cloud: "azure", instance })
    const get = (p: string) => ask(sim, { path: `/metadata/instance/${p}${q}`, headers: { Metadata: "true" } })
    expect((await get("compute/name")).body).toBe("web1_0")
    expect((await get("compute/osProfile/computerName")).body).toBe("web1.example.com")
    const named = await start({ cloud: "azure", instance: { ...instance, resourceName: "vmss_3" } })
    expect((await ask(named, { path: `/metadata/instance/compute/name${q}`, headers: { Metadata: "true" } })).body).toBe("vmss_3")
  })

  it("lists public keys, serves keyData and base64 user-data", async () => {
    const sim = await start({ cloud: "azure", instance })
    const get = (p: string) => ask(sim, { path: `/metadata/instance/${p}${q}`, headers: { Metadata: "true" } })
    const list = (await get("compute/publicKeys")).body
    expect(list).toBe("0/\n1/")
    const keys = await Promise.all(list.split("\n").map((k) => get(`compute/publicKeys/${k}/keyData`)))
    expect(keys.map((k) => k.body)).toEqual([KEY1, KEY2])
    expect((await get("compute/publicKeys/1/keyData")).body).toBe(KEY2)
    expect(Buffer.from((await get("compute/userData")).body, "base64")).toEqual(Buffer.from(USER_DATA))
    expect((await get("network/interface/0/macAddress")).body).toBe("0A1B2C3D4E5F")
    expect((await get("network/interface/0/ipv4/ipAddress/1/privateIpAddress")).body).toBe("10.0.0.6")
    const json = await ask(sim, { path: "/metadata/instance/compute?api-version=2021-05-01", headers: { Metadata: "true" } })
    expect(JSON.parse(json.body).publicKeys[0].keyData).toBe(KEY1)
  })

  it("serves the wireserver beside the metadata service, reached through AZURE_WIRESERVER", async () => {
    const sim = await start({ cloud: "azure", instance })
    expect(sim.settings).toEqual({ AZURE_WIRESERVER: sim.endpoint })
    const agent = { "x-ms-agent-name": "test", "x-ms-version": "2012-11-30" }
    expect((await ask(sim, { path: "/machine/?comp=goalstate" })).status).toBe(400)
    expect((await ask(sim, { path: "/machine/?comp=goalstate", headers: { ...agent, "x-ms-version": "2010-01-01" } })).status).toBe(400)
    const goal = await ask(sim, { path: "/machine/?comp=goalstate", headers: agent })
    expect(goal.status).toBe(200)
    expect(goal.body).toContain("<Incarnation>1</Incarnation>")
    expect(goal.body).toContain("<ContainerId>c6d5fe1a-3c2b-4b8e-9a51-5e0f7c1d2b34</ContainerId>")
    expect(goal.body).toContain("<InstanceId>d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21.web1</InstanceId>")
    expect((await ask(sim, { path: "/?comp=versions", headers: agent })).body).toContain("<Version>2012-11-30</Version>")
  })

  it("takes a Health report only with the goal state's incarnation, container and role instance, and records it", async () => {
    const sim = await start({ cloud: "azure", instance })
    const health = (incarnation: string, containerId: string, instanceId: string, state = "Ready") =>
      `<?xml version="1.0" encoding="utf-8"?>\n<Health><GoalStateIncarnation>${incarnation}</GoalStateIncarnation><Container><ContainerId>${containerId}</ContainerId><RoleInstanceList><Role><InstanceId>${instanceId}</InstanceId><Health><State>${state}</State></Health></Role></RoleInstanceList></Container></Health>`
    const post = (body: string, contentType = "text/xml; charset=utf-8") =>
      new Promise<number>((resolve, reject) => {
        const [host, port] = [sim.endpoint.replace(/:\d+$/, ""), Number(sim.endpoint.replace(/^.*:/, ""))]
        const req = httpRequest(
          { method: "POST", host, port, path: "/machine/?comp=health", agent: false, headers: { "x-ms-agent-name": "test", "x-ms-version": "2012-11-30", "Content-Type": contentType } },
          (res) => {
            res.resume()
            res.on("end", () => resolve(res.statusCode ?? 0))
          }
        )
        req.on("error", reject)
        req.end(body)
      })
    const container = "c6d5fe1a-3c2b-4b8e-9a51-5e0f7c1d2b34"
    const role = "d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21.web1"
    expect(await post(health("2", container, role))).toBe(400)
    expect(await post(health("1", "other", role))).toBe(400)
    expect(await post(health("1", container, "other"))).toBe(400)
    expect(await post(health("1", container, role, "Sleepy"))).toBe(400)
    expect(await post(health("1", container, role), "application/json")).toBe(400)
    expect(sim.reports).toEqual([])
    expect(await post(health("1", container, role))).toBe(200)
    expect(sim.reports).toEqual([{ kind: "health", incarnation: "1", containerId: container, instanceId: role, state: "Ready" }])
  })

  it("answers an empty user-data and an empty key list when there are none", async () => {
    const sim = await start({ cloud: "azure", instance: { hostname: "h" } })
    const get = (p: string) => ask(sim, { path: `/metadata/instance/${p}${q}`, headers: { Metadata: "true" } })
    expect(await get("compute/userData")).toMatchObject({ status: 200, body: "" })
    expect(await get("compute/publicKeys")).toMatchObject({ status: 200, body: "" })
  })
})

describe("gcp", () => {
  const root = "/computeMetadata/v1"
  it("needs Metadata-Flavor: Google", async () => {
    const sim = await start({ cloud: "gcp", instance })
    expect((await ask(sim, { path: `${root}/instance/hostname` })).status).toBe(403)
    expect((await ask(sim, { path: `${root}/instance/hostname`, headers: { "Metadata-Flavor": "google" } })).status).toBe(403)
    const res = await ask(sim, { path: `${root}/instance/hostname`, headers: { "Metadata-Flavor": "Google" } })
    expect(res).toMatchObject({ status: 200, body: "web1.example.com" })
    expect(res.headers["metadata-flavor"]).toBe("Google")
  })

  it("serves login:key lines, user-data and network interfaces", async () => {
    const sim = await start({ cloud: "gcp", instance: { ...instance, projectSshKeys: [KEY2] } })
    const get = (p: string) => ask(sim, { path: `${root}/${p}`, headers: { "Metadata-Flavor": "Google" } })
    expect((await get("instance/attributes/ssh-keys")).body).toBe(`alpine:${KEY1}\nalpine:${KEY2}\n${GCP_OTHER_KEYS.join("\n")}`)
    expect((await get("project/attributes/ssh-keys")).body).toBe(`alpine:${KEY2}`)
    expect((await get("instance/attributes/user-data")).bytes).toEqual(Buffer.from(USER_DATA))
    expect((await get("instance/network-interfaces/")).body).toBe("0/\n")
    expect((await get("instance/network-interfaces/0/mac")).body).toBe("0a:1b:2c:3d:4e:5f")
    expect((await get("instance/network-interfaces/0/ip")).body).toBe("10.0.0.5")
    const redirect = await get("instance/network-interfaces")
    expect(redirect.status).toBe(301)
    expect(redirect.headers.location).toBe(`${root}/instance/network-interfaces/`)
  })

  it("serves the block flag, the deprecated sshKeys and base64 user-data when the instance has them", async () => {
    const sim = await start({ cloud: "gcp", instance: { ...instance, blockProjectSshKeys: true, legacySshKeys: [KEY2], userDataBase64: true } })
    const get = (p: string) => ask(sim, { path: `${root}/${p}`, headers: { "Metadata-Flavor": "Google" } })
    expect((await get("instance/attributes/block-project-ssh-keys")).body).toBe("TRUE")
    expect((await get("instance/attributes/sshKeys")).body).toBe(`alpine:${KEY2}`)
    expect((await get("instance/attributes/user-data")).body).toBe(Buffer.from(USER_DATA).toString("base64"))
    expect((await get("instance/attributes/user-data-encoding")).body).toBe("base64")
    const plain = await start({ cloud: "gcp", instance })
    for (const p of ["block-project-ssh-keys", "sshKeys", "user-data-encoding"]) {
      expect((await ask(plain, { path: `${root}/instance/attributes/${p}`, headers: { "Metadata-Flavor": "Google" } })).status).toBe(404)
    }
  })

  // cloud-init's GCE reader asks `instance/attributes/?recursive=True`, which the real server answers with JSON
  it("answers recursive=True (and 1) with JSON, as Go's ParseBool reads the flag", async () => {
    const sim = await start({ cloud: "gcp", instance })
    for (const flag of ["True", "1", "true"]) {
      const res = await ask(sim, { path: `${root}/instance/attributes/?recursive=${flag}`, headers: { "Metadata-Flavor": "Google" } })
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body)).toMatchObject({ "ssh-keys": expect.stringContaining(`alpine:${KEY1}`) })
    }
    const listing = await ask(sim, { path: `${root}/instance/attributes/?recursive=no`, headers: { "Metadata-Flavor": "Google" } })
    expect(listing.body.split("\n")).toContain("ssh-keys")
  })

  it("answers 404 for absent ssh-keys and user-data", async () => {
    const sim = await start({ cloud: "gcp", instance: { hostname: "h" } })
    const get = (p: string) => ask(sim, { path: `${root}/${p}`, headers: { "Metadata-Flavor": "Google" } })
    for (const p of ["instance/attributes/ssh-keys", "project/attributes/ssh-keys", "instance/attributes/user-data"]) {
      expect((await get(p)).status).toBe(404)
    }
  })
})

describe("oci", () => {
  it("needs Authorization: Bearer Oracle", async () => {
    const sim = await start({ cloud: "oci", instance })
    expect((await ask(sim, { path: "/opc/v2/instance/hostname" })).status).toBe(401)
    expect((await ask(sim, { path: "/opc/v2/instance/hostname", headers: { Authorization: "Bearer Other" } })).status).toBe(401)
    const res = await ask(sim, { path: "/opc/v2/instance/hostname", headers: { Authorization: "Bearer Oracle" } })
    expect(res).toMatchObject({ status: 200, body: "web1.example.com" })
  })

  it("serves keys, base64 user-data and vnics JSON", async () => {
    const sim = await start({ cloud: "oci", instance })
    const get = (p: string) => ask(sim, { path: `/opc/v2/${p}`, headers: { Authorization: "Bearer Oracle" } })
    expect((await get("instance/metadata/ssh_authorized_keys")).body).toBe(`${KEY1}\n${KEY2}`)
    expect(Buffer.from((await get("instance/metadata/user_data")).body, "base64")).toEqual(Buffer.from(USER_DATA))
    const vnics = JSON.parse((await get("vnics/")).body)
    expect(vnics[0]).toMatchObject({ macAddr: "0A:1B:2C:3D:4E:5F", privateIp: "10.0.0.5", subnetCidrBlock: "10.0.0.0/24", virtualRouterIp: "10.0.0.1" })
    expect((await get("vnics/0/macAddr")).body).toBe("0A:1B:2C:3D:4E:5F")
  })
})

describe("hetzner", () => {
  it("serves hostname, a JSON key list and user-data without any header", async () => {
    const sim = await start({ cloud: "hetzner", instance })
    expect(await ask(sim, { path: "/hetzner/v1/metadata/hostname" })).toMatchObject({ status: 200, body: "web1.example.com" })
    expect(JSON.parse((await ask(sim, { path: "/hetzner/v1/metadata/public-keys" })).body)).toEqual([KEY1, KEY2])
    expect((await ask(sim, { path: "/hetzner/v1/userdata" })).bytes).toEqual(Buffer.from(USER_DATA))
    expect((await ask(sim, { path: "/hetzner/v1/metadata" })).body).toContain("hostname: web1.example.com\n")
  })

  it("answers an empty 200 for absent user-data, 404 for an absent hostname", async () => {
    const sim = await start({ cloud: "hetzner", instance: {} })
    expect(await ask(sim, { path: "/hetzner/v1/userdata" })).toMatchObject({ status: 200, body: "" })
    expect((await ask(sim, { path: "/hetzner/v1/metadata/hostname" })).status).toBe(404)
    expect((await ask(sim, { path: "/hetzner/v1/metadata/public-keys" })).body).toBe("[]")
  })

  it("its metadata document holds the first NIC's network-config, as Hetzner's: IPv4 by DHCP, the IPv6 address static with gateway fe80::1", async () => {
    const { parse } = await import("yaml")
    const config = async (nics: SimInstance["nics"]) =>
      (parse((await ask(await start({ cloud: "hetzner", instance: { ...instance, nics } }), { path: "/hetzner/v1/metadata" })).body) as Record<string, unknown>)["network-config"]
    expect(await config(instance.nics)).toEqual({
      version: 1,
      config: [
        {
          type: "physical",
          name: "eth0",
          mac_address: "0a:1b:2c:3d:4e:5f",
          subnets: [
            { ipv4: true, type: "dhcp" },
            { address: "2001:db8::5/64", gateway: "fe80::1", ipv6: true, type: "static" }
          ]
        }
      ]
    })
    expect(await config([{ mac: "0a:1b:2c:3d:4e:5f", ipv4: ["10.0.0.5"] }])).toMatchObject({ config: [{ subnets: [{ ipv4: true, type: "dhcp" }] }] })
    expect(await config([])).toBeUndefined()
  })

  it("answers private-networks, a YAML list, empty for a server on no private network (afterburn fails on a 404 there)", async () => {
    const sim = await start({ cloud: "hetzner", instance })
    expect(await ask(sim, { path: "/hetzner/v1/metadata/private-networks" })).toMatchObject({ status: 200, body: "[]\n" })
  })
})

describe("scaleway", () => {
  it("serves /conf KEY=VALUE lines", async () => {
    const sim = await start({ cloud: "scaleway", instance })
    const res = await ask(sim, { path: "/conf" })
    expect(res.status).toBe(200)
    const conf = res.body.split("\n")
    expect(conf).toContain("HOSTNAME=web1.example.com")
    expect(conf).toContain("SSH_PUBLIC_KEYS=2")
    expect(conf).toContain(`SSH_PUBLIC_KEYS_0_KEY='${KEY1}'`)
    expect(conf).toContain(`SSH_PUBLIC_KEYS_1_KEY='${KEY2}'`)
    expect(conf).toContain("TAGS=1")
  })

  it("serves tag keys as AUTHORIZED_KEY= tags, spaces as _", async () => {
    const sim = await start({ cloud: "scaleway", instance: { ...instance, tagKeys: [KEY2] } })
    const conf = (await ask(sim, { path: "/conf" })).body.split("\n")
    expect(conf).toEqual(expect.arrayContaining(["TAGS=2", "TAGS_0=sim", `TAGS_1=AUTHORIZED_KEY=${KEY2.replace(/ /g, "_")}`]))
  })

  it("serves /conf?format=json with the fields afterburn and cloud-init read (location.zone_id, public_ip, public_ips), as the text says them", async () => {
    const sim = await start({ cloud: "scaleway", instance: { ...instance, tagKeys: [KEY2] } })
    const res = await ask(sim, { path: "/conf?format=json" })
    expect(res.headers["content-type"]).toContain("application/json")
    const json = JSON.parse(res.body)
    const conf = new Map((await ask(sim, { path: "/conf" })).body.split("\n").filter((l) => l !== "").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
    expect(json).toMatchObject({
      id: conf.get("ID"),
      hostname: "web1.example.com",
      commercial_type: conf.get("COMMERCIAL_TYPE"),
      location: { zone_id: conf.get("LOCATION_ZONE_ID") },
      public_ip: null,
      public_ips: [],
      ssh_public_keys: [{ key: KEY1 }, { key: KEY2 }],
      tags: ["sim", `AUTHORIZED_KEY=${KEY2.replace(/ /g, "_")}`]
    })
  })
})

describeSystem("scaleway's privileged source port", { root: true }, () => {
  it("refuses user-data from a high source port, serves it from one below 1024", async () => {
    const sim = await start({ cloud: "scaleway", instance })
    const refused = await ask(sim, { path: "/user_data/cloud-init" })
    expect(refused.status).toBe(403)
    const served = await askPrivileged(sim, "/user_data/cloud-init")
    expect(served.status).toBe(200)
    expect(served.bytes).toEqual(Buffer.from(USER_DATA))
    const last = sim.requests[sim.requests.length - 1]!
    expect(last.remotePort).toBeLessThan(1024)
    expect(sim.requests[0]!.remotePort).toBeGreaterThanOrEqual(1024)
  })

  it("answers 404 for absent user-data from a privileged port", async () => {
    const sim = await start({ cloud: "scaleway", instance: { hostname: "h" } })
    expect((await askPrivileged(sim, "/user_data/cloud-init")).status).toBe(404)
  })
})

describe("incus", () => {
  it("answers over its unix socket and removes it on close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-incus-"))
    try {
      const socketPath = join(dir, "dev/incus/sock")
      const sim = await start({ cloud: "incus", instance: { ...instance, localHostname: undefined, instanceId: "c1" }, root: dir })
      expect(sim.endpoint).toBe("")
      expect(sim.socketPath).toBe(socketPath)
      const meta = await ask(sim, { path: "/1.0/meta-data" })
      expect(meta.status).toBe(200)
      expect(meta.body.split("\n")).toEqual(expect.arrayContaining(["instance-id: c1", "local-hostname: web1.example.com"]))
      expect((await ask(sim, { path: "/1.0/config" })).body).toBe(JSON.stringify(["/1.0/config/cloud-init.user-data"]))
      expect((await ask(sim, { path: "/1.0/config/cloud-init.user-data" })).bytes).toEqual(Buffer.from(USER_DATA))
      // as Incus's guest API answers: plain text, a key outside cloud-init.* and user.* refused whether it is set or not
      expect(await ask(sim, { path: "/1.0/config/user.user-data" })).toMatchObject({ status: 404, body: "not found\n" })
      expect(await ask(sim, { path: "/1.0/config/security.privileged" })).toMatchObject({ status: 403, body: "not authorized\n" })
      // cloud-init's LXD reader asks for the devices too, and takes a 404 there for no guest API at all
      expect(JSON.parse((await ask(sim, { path: "/1.0/devices" })).body)).toMatchObject({ eth0: { type: "nic", name: "eth0" }, root: { type: "disk", path: "/" } })
      await sim.close()
      expect(existsSync(socketPath)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("serves the older user.user-data key alone when the instance says so, and vendor-data and network-config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-incus-"))
    try {
      const networkConfig = Buffer.from("version: 2\nethernets: {}\n")
      const sim = await start({ cloud: "incus", instance: { ...instance, legacyUserDataKey: true, networkConfig, vendorData: Buffer.from("#cloud-config\n") }, root: dir })
      expect(JSON.parse((await ask(sim, { path: "/1.0/config" })).body)).toEqual([
        "/1.0/config/user.user-data",
        "/1.0/config/cloud-init.vendor-data",
        "/1.0/config/cloud-init.network-config"
      ])
      expect((await ask(sim, { path: "/1.0/config/user.user-data" })).bytes).toEqual(Buffer.from(USER_DATA))
      expect((await ask(sim, { path: "/1.0/config/cloud-init.user-data" })).status).toBe(404)
      expect((await ask(sim, { path: "/1.0/config/cloud-init.network-config" })).bytes).toEqual(networkConfig)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("answers 404 for absent user-data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-incus-"))
    try {
      const sim = await start({ cloud: "incus", instance: {}, root: dir })
      expect((await ask(sim, { path: "/1.0/config/cloud-init.user-data" })).status).toBe(404)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("digitalocean", () => {
  const twoNics = { ...instance, nics: [...instance.nics, { mac: "0a:1b:2c:3d:4e:60", ipv4: ["10.132.6.205"], ipv4Net: ["10.132.0.0/16"] }] }

  it("serves the tree without any header: keys one a line, the public and private interfaces", async () => {
    const sim = await start({ cloud: "digitalocean", instance: twoNics })
    const get = (p: string) => ask(sim, { path: `/metadata/v1/${p}` })
    expect((await get("hostname")).body).toBe("web1.example.com")
    expect((await get("public-keys")).body).toBe(`${KEY1}\n${KEY2}`)
    expect((await get("user-data")).bytes).toEqual(Buffer.from(USER_DATA))
    expect((await get("interfaces/")).body).toBe("public/\nprivate/")
    expect((await get("interfaces/public/0/")).body).toBe("mac\ntype\nipv4/\nipv6/\nanchor_ipv4/")
    expect((await get("interfaces/public/0/ipv4/address")).body).toBe("10.0.0.5")
    expect((await get("interfaces/public/0/ipv4/netmask")).body).toBe("255.255.255.0")
    expect((await get("interfaces/public/0/ipv6/cidr")).body).toBe("64")
    expect((await get("interfaces/private/0/mac")).body).toBe("0a:1b:2c:3d:4e:60")
    expect((await get("vendor-data")).status).toBe(404)
    // an index without its trailing slash: 301 Moved Permanently, as DigitalOcean documents
    const redirect = await get("interfaces/public/0")
    expect(redirect.status).toBe(301)
    expect(redirect.headers.location).toBe("/metadata/v1/interfaces/public/0/")
  })

  it("serves the whole metadata as v1.json, under the document's own names", async () => {
    const sim = await start({ cloud: "digitalocean", instance: twoNics })
    const doc = JSON.parse((await ask(sim, { path: "/metadata/v1.json" })).body)
    expect(doc.public_keys).toEqual([KEY1, KEY2])
    expect(doc.interfaces.public[0]).toMatchObject({ mac: "0a:1b:2c:3d:4e:5f", type: "public", ipv4: { ip_address: "10.0.0.5", netmask: "255.255.255.0", gateway: "10.0.0.1" } })
    expect(doc.interfaces.private[0]).toMatchObject({ mac: "0a:1b:2c:3d:4e:60", type: "private", ipv4: { ip_address: "10.132.6.205", netmask: "255.255.0.0" } })
  })

  it("answers 404 for absent user-data and hostname", async () => {
    const sim = await start({ cloud: "digitalocean", instance: {} })
    for (const p of ["user-data", "hostname"]) expect((await ask(sim, { path: `/metadata/v1/${p}` })).status).toBe(404)
  })
})

describe("openstack", () => {
  it("serves meta_data.json, user_data and network_data.json under /openstack/latest/", async () => {
    const sim = await start({ cloud: "openstack", instance })
    expect((await ask(sim, { path: "/openstack/latest/" })).body).toBe("meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json\nvendor_data2.json")
    const meta = JSON.parse((await ask(sim, { path: "/openstack/latest/meta_data.json" })).body)
    expect(meta).toMatchObject({ uuid: "b0fa911b-69d4-4476-bbe2-1c92bff6535c", hostname: "web1.example.com", public_keys: { "key-0": `${KEY1}\n`, "key-1": `${KEY2}\n` } })
    expect((await ask(sim, { path: "/openstack/latest/user_data" })).bytes).toEqual(Buffer.from(USER_DATA))
    const net = JSON.parse((await ask(sim, { path: "/openstack/latest/network_data.json" })).body)
    expect(net.links).toEqual([expect.objectContaining({ ethernet_mac_address: "0a:1b:2c:3d:4e:5f", id: "tap0a81968a-79" })])
    expect(net.networks).toEqual([
      expect.objectContaining({ type: "ipv4", link: "tap0a81968a-79", ip_address: "10.0.0.5", netmask: "255.255.255.0" }),
      expect.objectContaining({ type: "ipv4", ip_address: "10.0.0.6" }),
      expect.objectContaining({ type: "ipv6", ip_address: "2001:db8::5", netmask: "ffff:ffff:ffff:ffff::" })
    ])
  })

  // cloud-init's reader lists /openstack/ and reads the newest version it knows (2018-08-27 in 22.4.2), as Nova serves each
  it("serves the files under every version it lists, each version's own", async () => {
    const sim = await start({ cloud: "openstack", instance })
    const versions = (await ask(sim, { path: "/openstack/" })).body.split("\n")
    expect(versions).toEqual(expect.arrayContaining(["2012-08-10", "2018-08-27", "latest"]))
    const latest = (await ask(sim, { path: "/openstack/latest/meta_data.json" })).body
    for (const v of versions) expect((await ask(sim, { path: `/openstack/${v}/meta_data.json` })).body).toBe(latest)
    expect((await ask(sim, { path: "/openstack/2018-08-27/" })).body).toBe("meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json\nvendor_data2.json")
    expect((await ask(sim, { path: "/openstack/2012-08-10/" })).body).toBe("meta_data.json\nuser_data")
    expect((await ask(sim, { path: "/openstack/2012-08-10/network_data.json" })).status).toBe(404)
    expect((await ask(sim, { path: "/openstack/2019-01-01/meta_data.json" })).status).toBe(404)
  })

  it("answers 404 for absent user-data; the config drive's files are the service's", async () => {
    const sim = await start({ cloud: "openstack", instance: { hostname: "h" } })
    expect((await ask(sim, { path: "/openstack/latest/user_data" })).status).toBe(404)
    const files = openstackFiles({ instance, instanceId: "i-1", tokenTtlEnforced: false, privilegedPortEnforced: false, now: Date.now, report: () => {} })
    expect(Object.keys(files).sort()).toEqual(["meta_data.json", "network_data.json", "user_data", "vendor_data.json", "vendor_data2.json"])
  })
})

describe("nocloud", () => {
  it("serves the seed files with or without a trailing slash on the seed URL", async () => {
    const sim = await start({ cloud: "nocloud", instance })
    expect(sim.seedUrl).toBe(`http://${sim.endpoint}/seed/`)
    const meta = await ask(sim, { path: "/seed/meta-data" })
    expect(meta.status).toBe(200)
    expect(meta.body).toContain("hostname: web1.example.com\n")
    expect(meta.body).toContain("local-hostname: ip-10-0-0-5.internal\n")
    expect(meta.body).toContain(`public-keys:\n  - ${JSON.stringify(KEY1)}\n  - ${JSON.stringify(KEY2)}\n`)
    expect((await ask(sim, { path: "/seed//user-data" })).bytes).toEqual(Buffer.from(USER_DATA))
    expect((await ask(sim, { path: "/seed/vendor-data" })).status).toBe(404)
    expect((await ask(sim, { path: "/seed/network-config" })).status).toBe(404)
    expect(Buffer.from(nocloudSeedFiles(instance)["meta-data"]!).toString()).toBe(meta.body)
    expect(nocloudSeedFiles({})["user-data"]).toBeUndefined()
  })
})

describe("faults", () => {
  it("failFirst answers failStatus N times, then serves", async () => {
    const sim = await start({ cloud: "hetzner", instance, faults: { failFirst: 2 } })
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await ask(sim, { path: "/hetzner/v1/metadata/hostname" })).status)
    expect(statuses).toEqual([503, 503, 200])
    expect(sim.requests.map((r) => r.status)).toEqual([503, 503, 200])

    const other = await start({ cloud: "hetzner", instance, faults: { failFirst: 1, failStatus: 500 } })
    expect((await ask(other, { path: "/hetzner/v1/metadata/hostname" })).status).toBe(500)
    expect((await ask(other, { path: "/hetzner/v1/metadata/hostname" })).status).toBe(200)
  })

  it("downForMs resets connections, then serves", async () => {
    const sim = await start({ cloud: "gcp", instance, faults: { downForMs: 300 } })
    const h = { "Metadata-Flavor": "Google" }
    const err = await ask(sim, { path: "/computeMetadata/v1/instance/hostname", headers: h }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e
    )
    expect(err?.code).toBe("ECONNRESET")
    expect(sim.requests[0]).toMatchObject({ status: 0, reset: true })
    await new Promise((r) => setTimeout(r, 320))
    expect((await ask(sim, { path: "/computeMetadata/v1/instance/hostname", headers: h })).body).toBe("web1.example.com")
  })

  it("latencyMs delays every answer", async () => {
    const sim = await start({ cloud: "hetzner", instance, faults: { latencyMs: 150 } })
    const t0 = Date.now()
    expect((await ask(sim, { path: "/hetzner/v1/metadata/hostname" })).status).toBe(200)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
  })

  it("neverAnswer leaves the client waiting, and close() does not hang", async () => {
    const sim = await start({ cloud: "aws", instance, faults: { neverAnswer: true } })
    const pending = ask(sim, { method: "PUT", path: "/latest/api/token", headers: { "X-aws-ec2-metadata-token-ttl-seconds": "5" }, timeoutMs: 10_000 })
    let settled = false
    const outcome = pending.then(
      () => "answered",
      () => "failed"
    ).finally(() => (settled = true))
    // the request is heard (however slow the machine), and left unanswered
    while (sim.requests.length === 0) await new Promise((r) => setTimeout(r, 10))
    expect(settled).toBe(false)
    expect(sim.requests).toHaveLength(1)
    expect(sim.requests[0]!.status).toBe(0)
    await sim.close()
    expect(await outcome).toBe("failed")
  })
})
