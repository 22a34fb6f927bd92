/**
 * Rule 1 and rule 3 as invariants over generated whole first boots: a cloud
 * (every one the simulator has), its metadata (hostnames valid and hostile,
 * key lists with junk lines, none at all) and user-data built from pieces
 * (a script, #alpine-config, #cloud-config with keys valid or subtly wrong,
 * multipart, gzip). After the four phases the instance is reachable (its
 * user, the cloud's keys, its hostname, sshd, the marker), every problem is
 * one line, nothing is left half-written or written outside ROOT, no planted
 * secret reaches a log or a command line, and a rerun of the phases after a
 * crash before the marker leaves the same tree.
 *
 * A fixed seed and a few boots in the suite; for a search,
 * `FIRST_BOOT_RUNS=400 FIRST_BOOT_SEED=N` (`FIRST_BOOT_CLOUD=a,b` narrows the
 * clouds, `FIRST_BOOT_SHRINK=1` shrinks a failure, `FIRST_BOOT_DUMP=FILE`
 * keeps every phase's stderr in FILE and each user-data as FILE.CLOUD.N, to
 * boot again with `tiny-cloud simulate --cloud CLOUD --user-data FILE.CLOUD.N`).
 */
import { appendFileSync, existsSync, lstatSync, writeFileSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs"
import { join } from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { makeTestInstance } from "../support/instance.js"
import type { SimFaults } from "../../src/sim/simulator.js"
import { PATIENT_METADATA } from "../support/instance-env.js"

const SECRETS = ["S3cretPassw0rd", "S3cretHashXyz", "S3cretPrivKeyBody", "S3cretTokenValue", "S3cretSeedPass"]
/** the secrets no log line and no command line may show (the write_files content, SECRETS[3], may be in a file) */
const HIDDEN = [SECRETS[0]!, SECRETS[1]!, SECRETS[2]!, SECRETS[4]!]

const CLOUD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICloudKeyOne cloud@example"
const CLOUD_KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCloudKeyTwo"
const USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserDataKey ud@example"

const validHost = fc.constantFrom("ip-10-0-0-9.ec2.internal", "web1", "db-2.example.com", "a.b.c.d.e")
const hostileHost = fc.constantFrom("", "-bad", "x".repeat(300), "host name", "x;touch /tmp/pwn", "ünï.example", "..", "../../etc", "a\nb", "a_b.example", ".", "localhost")

const junkLine = fc.constantFrom("", "# a comment", "not a key", "ssh-rsa", "\u0000\u0001", "x".repeat(5000), "   ", "ssh-ed25519 AAAA\r")

interface Meta {
  readonly hostname: string | undefined
  readonly sshKeys: ReadonlyArray<string>
}

const meta: fc.Arbitrary<Meta> = fc.record({
  hostname: fc.option(fc.oneof(validHost, hostileHost), { nil: undefined }),
  sshKeys: fc.oneof(fc.constant([]), fc.array(fc.oneof(fc.constant(CLOUD_KEY), fc.constant(CLOUD_KEY2), junkLine), { minLength: 1, maxLength: 4 }))
})

/** a piece of a #cloud-config / #alpine-config: the YAML text of one top-level key */
const word = fc.stringMatching(/^[a-z][a-z0-9]{2,6}$/)
const odd = fc.constantFrom("", "null", "~", "[]", "{}", "7", "true", '"\u202e\u0000"', JSON.stringify("é".repeat(20000)), "[1, 2, {a: b}]", "!!binary AAAA")

const cloudPieces: Readonly<Record<string, fc.Arbitrary<string>>> = {
  hostname: fc.oneof(word.map((w) => `hostname: uh-${w}`), odd.map((o) => `hostname: ${o}`)),
  fqdn: fc.oneof(word.map((w) => `fqdn: fq-${w}.example.org`), odd.map((o) => `fqdn: ${o}`)),
  users: fc.oneof(
    fc.constant("users: [default]"),
    word.map((w) => `users:\n  - default\n  - name: u${w}\n    groups: [wheel, alpine]\n    passwd: "$6$salt$${SECRETS[1]}"`),
    fc.constant(`users:\n  - name: root\n    plain_text_passwd: ${SECRETS[0]}\n    lock_passwd: false`),
    fc.constant("users:\n  - default\n  - name: alpine\n    groups: alpine"),
    fc.constant("users:\n  - default\n  - name: wheel\n    primary_group: root"),
    fc.constant("users:\n  - name: nobody\n    homedir: /../../escape-home"),
    odd.map((o) => `users: ${o}`)
  ),
  groups: fc.oneof(fc.constant("groups: [admins, {devs: [alpine, root]}]"), fc.constant("groups: [alpine, root]"), odd.map((o) => `groups: ${o}`)),
  ssh_authorized_keys: fc.oneof(fc.constant(`ssh_authorized_keys: ["${USER_KEY}", "${CLOUD_KEY}", "junk"]`), odd.map((o) => `ssh_authorized_keys: ${o}`)),
  write_files: fc.oneof(
    word.map((w) => `write_files:\n  - path: /srv/gen/${w}\n    content: "${SECRETS[3]}"\n    permissions: "0600"`),
    fc.constant(`write_files:\n  - path: /../../../outside-root\n    content: "${SECRETS[3]}"`),
    fc.constant(`write_files:\n  - path: ../relative\n    content: x`),
    fc.constant(`write_files:\n  - path: /srv/bad\n    content: "${SECRETS[3]}"\n    permissions: "0999"`),
    fc.constant(`write_files:\n  - path: /srv/enc\n    content: "${SECRETS[3]}!!"\n    encoding: b64`),
    fc.constant(`write_files:\n  - path: /srv/owned\n    content: x\n    owner: nosuchuser:nosuchgroup`),
    fc.constant(`write_files:\n  - path: /etc/hosts\n    content: "127.0.0.1 localhost\\n"\n    defer: true`),
    fc.constantFrom("/etc", "/", "/var/lib/cloud/.bootstrap-complete", "/home/alpine/.ssh/authorized_keys", "/etc/sudoers.d/wheel", "/srv/a/../../../../b", "//srv//c", "/srv/d/").map((p) => `write_files:\n  - path: ${JSON.stringify(p)}\n    content: "x\\n"\n    owner: alpine:alpine`),
    fc.constant(`write_files:\n  - path: /srv/deferred\n    content: x\n    owner: udeferred\n    defer: true\nusers:\n  - default\n  - name: udeferred`),
    odd.map((o) => `write_files: ${o}`)
  ),
  runcmd: fc.oneof(word.map((w) => `runcmd:\n  - echo ${w}\n  - [echo, two]`), odd.map((o) => `runcmd: ${o}`)),
  bootcmd: fc.oneof(word.map((w) => `bootcmd:\n  - echo ${w}`), odd.map((o) => `bootcmd: ${o}`)),
  packages: fc.oneof(fc.constant("packages: [curl, [py3, 3.0]]"), odd.map((o) => `packages: ${o}`)),
  package_update: fc.oneof(fc.constant("package_update: true"), odd.map((o) => `package_update: ${o}`)),
  timezone: fc.oneof(fc.constant("timezone: Europe/Paris"), fc.constant("timezone: ../../../etc/passwd"), odd.map((o) => `timezone: ${o}`)),
  ssh_pwauth: fc.oneof(fc.constant("ssh_pwauth: true"), odd.map((o) => `ssh_pwauth: ${o}`)),
  chpasswd: fc.constant(`chpasswd:\n  list: |\n    alpine:${SECRETS[0]}\n  expire: false`),
  password: fc.constant(`password: ${SECRETS[0]}`),
  ssh_keys: fc.constant(`ssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    ${SECRETS[2]}\n    -----END OPENSSH PRIVATE KEY-----`),
  manage_etc_hosts: fc.oneof(fc.constant("manage_etc_hosts: true"), fc.constant("manage_etc_hosts: localhost"), odd.map((o) => `manage_etc_hosts: ${o}`)),
  mounts: fc.oneof(fc.constant("mounts:\n  - [/dev/vdb, /mnt, auto, 'defaults,nofail', '0', '2']"), odd.map((o) => `mounts: ${o}`)),
  ntp: fc.oneof(fc.constant("ntp: {enabled: true}"), odd.map((o) => `ntp: ${o}`)),
  apk_repos: fc.oneof(fc.constant("apk_repos: {alpine_repo: {version: v3.21}}"), odd.map((o) => `apk_repos: ${o}`))
}

const alpinePieces: Readonly<Record<string, fc.Arbitrary<string>>> = {
  user: fc.oneof(word.map((w) => `user: {name: a${w}}`), fc.constant("user: root"), fc.constant("user: {}"), odd.map((o) => `user: ${o}`)),
  ssh_authorized_keys: cloudPieces.ssh_authorized_keys!,
  write_files: cloudPieces.write_files!,
  runcmd: cloudPieces.runcmd!,
  bootcmd: cloudPieces.bootcmd!,
  packages: cloudPieces.packages!,
  apk: fc.oneof(fc.constant("apk: {cache: /var/cache/apk}"), fc.constant("apk: {cache: /../../escape-cache}"), odd.map((o) => `apk: ${o}`))
}

const configDoc = (header: string, pieces: Readonly<Record<string, fc.Arbitrary<string>>>) =>
  fc.shuffledSubarray(Object.keys(pieces), { minLength: 1, maxLength: 5 }).chain((keys) => fc.tuple(...keys.map((k) => pieces[k]!))).map((parts) => `${header}\n${parts.join("\n")}\n`)

const script = fc.constantFrom("#!/bin/sh\necho from-script\n", "#!/bin/sh\nexit 3\n", "#!/bin/false\n")

const cloudConfig = configDoc("#cloud-config", cloudPieces)

/** a part of a multipart document: its type, the headers of its encoding, its body */
const part = fc.oneof(
  script.map((s) => `Content-Type: text/x-shellscript\n\n${s}`),
  cloudConfig.map((d) => `Content-Type: text/cloud-config; charset="us-ascii"\n\n${d}`),
  cloudConfig.map((d) => `Content-Type: text/cloud-config\nContent-Transfer-Encoding: base64\n\n${Buffer.from(d).toString("base64")}`),
  cloudConfig.map((d) => `Content-Type: application/x-gzip\nContent-Transfer-Encoding: base64\n\n${gzipSync(d).toString("base64")}`),
  fc.constantFrom(
    "Content-Type: text/x-unknown\n\nhello",
    "Content-Type: text/cloud-boothook\n\n#cloud-boothook\necho boot",
    "Content-Type: text/part-handler\n\n#part-handler\ndef list_types(): return []",
    "Content-Type: text/x-include-url\n\nhttp://example.invalid/x",
    'Content-Type: text/jinja2\n\n## template: jinja\n#cloud-config\nhostname: "{{ v1.local_hostname }}"',
    "Content-Type: multipart/mixed; boundary=INNER\n\n--INNER\nContent-Type: text/cloud-config\n\n#cloud-config\nruncmd: [echo inner]\n--INNER--",
    "no headers at all"
  )
)

const multipart = fc.array(part, { minLength: 1, maxLength: 3 }).map(
  (parts) => `Content-Type: multipart/mixed; boundary="BOUND"\nMIME-Version: 1.0\n\n${parts.map((p) => `--BOUND\n${p}`).join("\n")}\n--BOUND--\n`
)

/** the same document as an editor on another system may save it */
const saved = (doc: fc.Arbitrary<string>) =>
  fc.tuple(doc, fc.constantFrom("as is", "crlf", "bom")).map(([d, how]) => (how === "crlf" ? d.replaceAll("\n", "\r\n") : how === "bom" ? `\ufeff${d}` : d))

const userDataText = fc.oneof(
  script,
  saved(cloudConfig),
  saved(configDoc("#alpine-config", alpinePieces)),
  saved(multipart),
  cloudConfig.map((d) => `## template: jinja\n${d}`),
  fc.array(cloudConfig, { minLength: 1, maxLength: 2 }).map((ds) => `#cloud-config-archive\n${ds.map((d) => `- type: text/cloud-config\n  content: ${JSON.stringify(d)}`).join("\n")}\n`),
  fc.constantFrom("", "just text", "#include http://example.invalid/x", "#cloud-boothook\necho hi", "#part-handler\n", "#upstart-job\n", "\u0000\u0001binary", "#cloud-config", "#cloud-config\n---\n---\n", "#cloud-config\n- a\n- b\n", "#cloud-config\n: :\n")
)

const userData: fc.Arbitrary<Uint8Array | undefined> = fc.option(
  fc.tuple(userDataText, fc.boolean()).map(([t, gz]) => (gz ? new Uint8Array(gzipSync(t)) : new TextEncoder().encode(t))),
  { nil: undefined }
)

/** the metadata service: answering, failing a few times first, answering 404 to everything (nothing is there), or 500 to everything (never read) */
const service = fc.oneof({ weight: 6, arbitrary: fc.constant("up") }, { weight: 1, arbitrary: fc.constantFrom("flaky", "empty", "down") })
const FAULTS: Readonly<Record<string, SimFaults | undefined>> = { up: undefined, flaky: { failFirst: 2, failStatus: 503 }, empty: { failFirst: 1e9, failStatus: 404 }, down: { failFirst: 1e9, failStatus: 500 } }

const OPERATOR_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorBakedKey op@image"

/** what the image may hold already: the cloud user (an image built with it), its keys, an earlier name, the files without a final newline */
const IMAGE: Readonly<Record<string, ReadonlyArray<readonly [string, string]>>> = {
  fresh: [],
  "user baked in": [
    ["/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n"],
    ["/etc/group", "root:x:0:root\nwheel:x:10:root,alpine\nalpine:x:1000:\n"],
    ["/home/alpine/.ssh/authorized_keys", `${OPERATOR_KEY}\n${CLOUD_KEY}\n`]
  ],
  "earlier name": [
    ["/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\told.example old\n::1\tlocalhost"],
    ["/etc/hostname", "old\n"],
    ["/etc/group", "root:x:0:root\nwheel:x:10:root"],
    ["/etc/doas.conf", "permit persist :wheel"]
  ]
}

/** nocloud: the seed URL carries a user and password (Basic) */
const firstBoot = fc.record({ cloud: fc.constantFrom(...(process.env.FIRST_BOOT_CLOUD?.split(",") ?? CLOUD_NAMES)), meta, userData, service, seedAuth: fc.boolean(), image: fc.constantFrom(...Object.keys(IMAGE)) })

/** where a path that climbed out of ROOT would land */
const ESCAPES = ["/outside-root", "/escape-home", "/escape-cache", join(process.cwd(), "../relative"), join(process.cwd(), "relative")]

/** every file and link under `dir` with its content and mode */
const snapshot = (dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const r = rel === "" ? name : `${rel}/${name}`
      if (skip(r)) continue
      const s = lstatSync(join(dir, r))
      if (s.isSymbolicLink()) out.set(r, `-> ${readlinkSync(join(dir, r))}`)
      else if (s.isDirectory()) {
        out.set(r, `dir ${(s.mode & 0o7777).toString(8)}`)
        walk(r)
      } else if (s.isFile()) out.set(r, `${(s.mode & 0o7777).toString(8)} ${readFileSync(join(dir, r), "utf8")}`)
      else out.set(r, "special")
    }
  }
  walk("")
  return out
}

const VALID_HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/** what changes from one run of the phases to the next by design: logs, the user's own output, state of the run itself */
const VOLATILE = /^(var\/log|run|tmp|var\/lib\/cloud\/(\.bootstrap-complete|user-data\.(log|exit))|var\/lib\/cloud\/status\.json)/

/** an assertion whose failure shows every offending item */
const none = (items: ReadonlyArray<string>, label: string) => {
  if (items.length > 0) throw new Error(`${label}\n${items.join("\n")}`)
}

let dumped = 0
const runs = Number(process.env.FIRST_BOOT_RUNS ?? 12)
const seed = process.env.FIRST_BOOT_SEED === undefined ? 20261130 : Number(process.env.FIRST_BOOT_SEED)

describe("generated first boots", () => {
  it.scopedLive.prop(
    "end reachable, report each problem in one line, stay in ROOT, leave no secret in a log, and converge when rerun",
    [firstBoot],
    ([g]) =>
      Effect.gen(function* () {
        const instance = yield* makeTestInstance({
          cloud: g.cloud,
          instance: { ...(g.meta.hostname !== undefined ? { hostname: g.meta.hostname } : {}), sshKeys: [...g.meta.sshKeys], ...(g.userData ? { userData: g.userData } : {}) },
          ...(FAULTS[g.service] ? { faults: FAULTS[g.service] } : {}),
          // a service that never answers is given up on soon: the property is what happens then
          env: g.service === "down" ? { IMDS_DEADLINE: "0.3" } : PATIENT_METADATA
        })
        for (const [path, content] of IMAGE[g.image]!) instance.write(path, content)
        if (g.cloud === "nocloud" && g.seedAuth) instance.write("/proc/cmdline", instance.read("/proc/cmdline")!.replace("s=http://", `s=http://seed:${SECRETS[4]}@`))
        const read = g.service === "up" || g.service === "flaky"
        const escaped = ESCAPES.filter((p) => existsSync(p))
        const outside = snapshot(instance.dir, (r) => r === "root" || r.startsWith("root/") || r === "commands.log")
        const results = yield* instance.boot()
        const text = g.userData === undefined ? undefined : g.userData[0] === 0x1f ? gunzipSync(g.userData).toString("latin1") : Buffer.from(g.userData).toString("latin1")
        const label = `${JSON.stringify({ cloud: g.cloud, service: g.service, image: g.image, seedAuth: g.cloud === "nocloud" && g.seedAuth, meta: g.meta, gzip: g.userData?.[0] === 0x1f })}\n${text}\n${results.map((r) => r.stderr).join("")}`

        // reachable
        const passwd = instance.read("/etc/passwd") ?? ""
        // incus serves keys only in user-data; gcp's are for the login `alpine:` alone, which user-data may rename
        const renamed = g.cloud === "gcp" && /^users?:/m.test(text ?? "")
        const cloudKeys = g.cloud === "incus" || renamed || !read ? [] : g.meta.sshKeys.filter((k) => k === CLOUD_KEY || k === CLOUD_KEY2)
        expect(results[2]!.stderr, label).toContain("++ create_default_user: done")
        // (a service that never answers fails set_hostname, which stops the phase: the next boot runs it again)
        if (g.service !== "down") expect(results[2]!.stderr, label).toContain("++ set_ssh_keys: done")
        if (cloudKeys.length > 0) {
          const keyed = passwd.split("\n").filter((l) => l !== "").map((l) => l.split(":")[5]!).map((h) => instance.read(`${h}/.ssh/authorized_keys`) ?? "")
          for (const k of cloudKeys) expect(keyed.some((ak) => ak.split("\n").includes(k)), `${label}\n${results[2]!.stderr}`).toBe(true)
        }
        // the host's name: user-data's valid hostname, else its valid fqdn, else the cloud's (a part in base64 or gzip, which this cannot read, may name one)
        const t = read ? text ?? "" : ""
        // (given both, the host is named by `hostname`, `fqdn` naming its domain, as cloud-init names it unless prefer_fqdn_over_hostname)
        const named = [...t.matchAll(/hostname: (uh-[a-z0-9]+)/g)].at(-1)?.[1] ?? [...t.matchAll(/fqdn: (fq-[a-z0-9]+)\.example\.org/g)].at(-1)?.[1]
        const served = g.cloud === "incus" || !read || g.meta.hostname === undefined || !VALID_HOST.test(g.meta.hostname) ? undefined : g.meta.hostname.split(".")[0]
        const hidden = /base64|gzip|#cloud-config-archive/.test(t) || (named === undefined && /(hostname|fqdn): /.test(t) && served === undefined)
        const expected = named ?? served
        if (!hidden && expected !== undefined && !(t.startsWith("#alpine-config") && named !== undefined)) expect(instance.read("/etc/hostname"), label).toBe(`${expected}\n`)
        expect(instance.commands(), label).toContain("rc-update add sshd default")
        const hostname = instance.read("/etc/hostname")
        if (hostname !== undefined) expect(hostname, label).toMatch(/^[a-z0-9][a-z0-9_-]*\n$/i)
        expect(instance.read("/var/lib/cloud/.bootstrap-complete"), label).toBe(g.service === "down" ? undefined : "")
        // the files a first boot edits hold no line twice
        const edited = ["/etc/group", "/etc/passwd", "/etc/hosts", "/etc/fstab", "/etc/sudoers.d/wheel", "/etc/doas.conf", "/etc/apk/repositories", ...passwd.split("\n").filter((l) => l !== "").map((l) => `${l.split(":")[5]}/.ssh/authorized_keys`)]
        none(edited.flatMap((f) => { const lines = (instance.read(f) ?? "").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")); return lines.filter((l, n) => lines.indexOf(l) !== n).map((l) => `${f}: ${l}`) }), `${label}\nduplicated`)
        for (const f of edited.filter((f) => f.endsWith("authorized_keys") && instance.read(f) !== undefined)) {
          // (the image's own file, 0644 here, is left as it is when there is no key to add)
          if (/CloudKeyTwo|UserDataKey/.test(instance.read(f)!)) expect(instance.mode(f), `${label}\n${f}`).toBe(0o600)
          none(instance.read(f)!.split("\n").filter((l) => l !== "" && !/^(\S+ )?(ssh|ecdsa|sk)-\S+ [A-Za-z0-9+/]+={0,3}( [^\x00-\x1f\x7f]*)?$/.test(l)), `${label}\n${f}: not a key`)
        }
        if (instance.read("/var/lib/cloud/user-data") !== undefined) expect(instance.mode("/var/lib/cloud/user-data")! & 0o077, label).toBe(0)

        // each problem one line; no secret anywhere a log or a command line shows
        if (process.env.FIRST_BOOT_DUMP !== undefined) {
          appendFileSync(process.env.FIRST_BOOT_DUMP, results.map((r) => r.stderr).join(""))
          if (g.userData !== undefined) writeFileSync(`${process.env.FIRST_BOOT_DUMP}.${g.cloud}.${++dumped}`, g.userData)
        }
        for (const r of results)
          for (const line of r.stderr.split("\n")) {
            expect(line, label).not.toMatch(/^\s+at |\[object Object\]|\bundefined\b|\bNaN\b/)
            expect(line.length, `${label}\n${line.slice(0, 300)}`).toBeLessThan(600)
          }
        const shown = [...results.flatMap((r) => [r.stderr, r.stdout]), ...instance.commands(), instance.read("/var/lib/cloud/status.json") ?? ""].join("\n")
        for (const s of HIDDEN) expect(shown.includes(s), `${label}: ${s} shown`).toBe(false)
        // write_files content is the user's; it may be in a file, never in a log line of the program
        expect(results.some((r) => r.stderr.includes(SECRETS[3]!)), label).toBe(false)

        // nothing outside ROOT, nothing half-written
        const nowOutside = snapshot(instance.dir, (r) => r === "root" || r.startsWith("root/") || r === "commands.log")
        none([...new Set([...nowOutside.keys(), ...outside.keys()])].filter((p) => nowOutside.get(p) !== outside.get(p)), `${label}\nchanged outside ROOT`)
        const tree = snapshot(instance.root)
        none(ESCAPES.filter((p) => existsSync(p) && !escaped.includes(p)), `${label}\nwritten outside ROOT`)
        none([...tree.keys()].filter((p) => /(^|\/)\.[^/]+\.tmp-\d+-\d+$|\.new$|~$/.test(p)), `${label}\nleft behind`)

        // a crash before the marker: the phases again converge on the same tree
        rmSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"), { force: true })
        yield* instance.boot()
        const again = snapshot(instance.root, (r) => VOLATILE.test(r))
        const before = new Map([...tree].filter(([p]) => !VOLATILE.test(p)))
        const changed = [...new Set([...again.keys(), ...before.keys()])].filter((p) => again.get(p) !== before.get(p))
        none(changed.map((p) => `${p}:\n  before: ${before.get(p)?.slice(0, 400)}\n  after:  ${again.get(p)?.slice(0, 400)}`), `${label}\nchanged by a rerun`)
      }),
    { timeout: 0, fastCheck: { numRuns: runs, seed, endOnFailure: process.env.FIRST_BOOT_SHRINK === undefined } }
  )
})

