/**
 * The actions of `#alpine-config`, `#cloud-config` and MIME multipart
 * user-data (BEHAVIOUR.md §6). Each reads the parsed `UserConfig` (load.ts)
 * and carries out one key; none looks at YAML.
 *
 * Messages name what failed by its place (`runcmd[2]`, `part 1`) or by a
 * path, never by a command's text, a key or file content.
 */
import { posix } from "node:path"
import { Effect, Option, Ref } from "effect"
import { Commands, type RunOptions } from "../../services/Commands.js"
import { Config } from "../../services/Config.js"
import { err, info, warn } from "../../services/Log.js"
import { RootFs } from "../../services/RootFs.js"
import { lookupAccount } from "../accounts.js"
import { ActionFailed, PhaseContext, type Action } from "../action.js"
import { applyHostname } from "../actions/hostname.js"
import { currentUser, installKeys } from "../actions/user.js"
import { loadUserConfig, loadUserData } from "./load.js"
import { apkVersion, repositoryLines, type Command, type FileToWrite, type NtpClient, type UserSpec } from "./model.js"

const fail = (reason: string) => Effect.fail(new ActionFailed({ reason }))

/** a system program; a failure names the program and its status, not its arguments or output */
const system = (command: string, args: ReadonlyArray<string>, what: string, options: RunOptions = {}) =>
  Effect.gen(function* () {
    const c = yield* Commands
    const r = yield* c.run(command, args, { ...options, allowFailure: true })
    if (r.exitCode !== 0) return yield* fail(`${what} exited with status ${r.exitCode}`)
  })

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** an instance path made absolute, `..` resolved, so it stays under ROOT */
const instancePath = (path: string) => posix.normalize(`/${path}`)

// ---- user programs -------------------------------------------------------------------------

/**
 * Runs a user program with its combined output appended to `user-data.log`
 * (and copied to stdout, as run_userdata does); returns its exit status.
 */
const runUserProgram = (command: string, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { logDir } = yield* Config
    yield* fs.makeDirectory(logDir)
    const log = `${logDir}/user-data.log`
    const temp = `${logDir}/.user-data.log.${process.pid}`
    return yield* Effect.gen(function* () {
      const status = yield* Effect.flatMap(Commands, (c) => c.runLogged(command, args, { logFile: temp, echo: true }))
      const output = Option.getOrElse(yield* fs.readFileIfExists(temp), () => new Uint8Array())
      if (output.length > 0) {
        const before = Option.getOrElse(yield* fs.readFileIfExists(log), () => new Uint8Array())
        yield* fs.writeAtomic(log, concat(before, output), { mode: 0o600 })
      }
      return status
    }).pipe(Effect.ensuring(fs.remove(temp).pipe(Effect.ignore)))
  })

/** `sh -c SCRIPT`, or the argv as it stands; the first failure stops the list */
const runCommands = (key: "bootcmd" | "runcmd", commands: ReadonlyArray<Command>) =>
  Effect.forEach(
    commands,
    (command, i) =>
      Effect.gen(function* () {
        const [program, ...args] = command.kind === "shell" ? ["sh", "-c", command.script] : command.argv
        const status = yield* runUserProgram(program!, args)
        if (status !== 0) return yield* fail(`${key}[${i}] exited with status ${status}`)
      }),
    { discard: true }
  )

// ---- write_files ---------------------------------------------------------------------------

/**
 * Each file atomically with its final mode, parent directories created;
 * `append` adds to what is there; then `chown OWNER PATH`. A file that
 * cannot be written does not stop the others; the action fails at the end.
 */
const writeFiles = (files: ReadonlyArray<FileToWrite>) =>
  Effect.gen(function* () {
    if (files.length === 0) return
    const fs = yield* RootFs
    const commands = yield* Commands
    const failed: Array<string> = []
    for (const file of files) {
      const path = instancePath(file.path)
      const target = fs.at(path)
      const written = yield* Effect.gen(function* () {
        const before = file.append ? Option.getOrElse(yield* fs.readFileIfExists(target), () => new Uint8Array()) : new Uint8Array()
        yield* fs.writeAtomic(target, file.append ? concat(before, file.content) : file.content, { mode: file.mode })
        return true
      }).pipe(
        Effect.catchAll((e) => Effect.as(err(`write_files: cannot write ${path}: ${e.reason}`), false))
      )
      if (!written) {
        failed.push(path)
        continue
      }
      const chown = yield* commands.run("chown", [file.owner, target], { allowFailure: true }).pipe(
        Effect.map((r) => r.exitCode),
        Effect.catchAll(() => Effect.succeed(127))
      )
      if (chown !== 0) {
        yield* err(`write_files: chown of ${path} exited with status ${chown}`)
        failed.push(path)
      }
    }
    if (failed.length > 0) return yield* fail(`${failed.length} of ${files.length} files not written as asked`)
  })

// ---- ntp -----------------------------------------------------------------------------------

const NTP: Readonly<Record<NtpClient, { readonly pkg?: string; readonly svc: string }>> = {
  chrony: { pkg: "chrony", svc: "chronyd" },
  busybox: { svc: "ntpd" },
  openntpd: { pkg: "openntpd", svc: "openntpd" }
}

/** cloud-config `ntp.servers` / `ntp.pools` in the client's own configuration */
const ntpServers = (client: NtpClient, servers: ReadonlyArray<string>, pools: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const ok = (name: string) => /^[A-Za-z0-9.:_[\]-]+$/.test(name)
    if (![...servers, ...pools].every(ok)) yield* err("userdata_ntp: a server or pool that is not a host name was skipped")
    const s = servers.filter(ok)
    const p = pools.filter(ok)
    if (s.length + p.length === 0) return
    switch (client) {
      case "chrony":
        return yield* fs.addLinesOnce(fs.at("/etc/chrony/chrony.conf"), [...s.map((x) => `server ${x} iburst`), ...p.map((x) => `pool ${x} iburst`)])
      case "openntpd":
        return yield* fs.addLinesOnce(fs.at("/etc/ntpd.conf"), [...s.map((x) => `server ${x}`), ...p.map((x) => `servers ${x}`)])
      case "busybox": {
        const file = fs.at("/etc/conf.d/ntpd")
        const text = Option.getOrElse(yield* fs.readTextIfExists(file), () => "")
        const line = `NTPD_OPTS="-N ${[...s, ...p].map((x) => `-p ${x}`).join(" ")}"`
        const kept = text.split("\n").filter((l) => !/^\s*NTPD_OPTS=/.test(l) && l !== "")
        return yield* fs.writeAtomic(file, [...kept, line].map((l) => `${l}\n`).join(""))
      }
    }
  })

// ---- apk -----------------------------------------------------------------------------------

const osVersionId = Effect.gen(function* () {
  const fs = yield* RootFs
  const text = yield* fs.readTextIfExists(fs.at("/etc/os-release")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
  const m = /^VERSION_ID=(.*)$/m.exec(Option.getOrElse(text, () => ""))
  return m ? m[1]!.trim().replace(/^(["'])(.*)\1$/, "$2") : undefined
})

// ---- users ---------------------------------------------------------------------------------

const groupsFile = Effect.gen(function* () {
  const fs = yield* RootFs
  const text = Option.getOrElse(yield* fs.readTextIfExists(fs.at("/etc/group")), () => "")
  return new Map(
    text
      .split("\n")
      .map((l) => l.split(":"))
      .filter((f) => f.length >= 3 && f[0] !== "")
      .map((f) => [f[0]!, (f[3] ?? "").split(",").filter((m) => m !== "")] as const)
  )
})

/** a further user: own group, home, shell, `*` password (no password login, keys work) */
const createUser = (user: UserSpec) =>
  Effect.gen(function* () {
    if (Option.isSome(yield* lookupAccount(user.name))) return
    yield* system("addgroup", [user.name], "addgroup")
    yield* system("adduser", ["-h", `/home/${user.name}`, "-s", user.shell ?? "/bin/sh", "-G", user.name, "-D", user.name], "adduser")
    yield* system("chpasswd", ["-e"], "chpasswd", { stdin: `${user.name}:*\n` })
  })

/** extra groups (created when missing) and sudo rules */
const userGroupsAndSudo = (user: UserSpec) =>
  Effect.gen(function* () {
    const groups = yield* groupsFile
    for (const group of user.groups) {
      if (!groups.has(group)) yield* system("addgroup", [group], "addgroup")
      if (!(groups.get(group) ?? []).includes(user.name)) yield* system("addgroup", [user.name, group], "addgroup")
    }
    if (user.sudo === undefined || user.sudo === false || user.sudo.length === 0) return
    const rules = user.sudo.filter((r) => !/[\r\n]/.test(r) && r.trim() !== "")
    if (rules.length < user.sudo.length) yield* err("userdata_users: a sudo rule spanning lines was skipped")
    const fs = yield* RootFs
    yield* fs.addLinesOnce(fs.at("/etc/sudoers.d/90-tiny-cloud-users"), rules.map((r) => `${user.name} ${r.trim()}`), { mode: 0o440 })
  })

// ---- sshd ----------------------------------------------------------------------------------

/** `PasswordAuthentication` set once, before any `Match` block (sshd takes the first value) */
export const withPasswordAuthentication = (config: string, allow: boolean): string => {
  const line = `PasswordAuthentication ${allow ? "yes" : "no"}`
  const lines = config.split("\n")
  const trailing = lines.length > 0 && lines[lines.length - 1] === ""
  if (trailing) lines.pop()
  const match = lines.findIndex((l) => /^\s*Match\s/i.test(l))
  const end = match < 0 ? lines.length : match
  const at = lines.findIndex((l, i) => i < end && /^\s*PasswordAuthentication\s/i.test(l))
  if (at >= 0) lines[at] = line
  else lines.splice(end, 0, line)
  return `${lines.join("\n")}\n`
}

// ---- disks ---------------------------------------------------------------------------------

const NOT_DISKS = /^(loop|ram|zram|sr|fd|dm-|md|nbd|mtdblock)/

/** whole disks with no partitions, not read-only, not mounted, largest first */
export const emptyDisks = Effect.gen(function* () {
  const fs = yield* RootFs
  const block = fs.at("/sys/class/block")
  const mounts = Option.getOrElse(yield* fs.readTextIfExists(fs.at("/proc/mounts")), () => "")
  const mounted = new Set(mounts.split("\n").map((l) => l.split(/\s+/)[0] ?? ""))
  const found: Array<{ name: string; size: number }> = []
  for (const name of yield* fs.readDirectory(block)) {
    const dir = `${block}/${name}`
    if (NOT_DISKS.test(name) || (yield* fs.exists(`${dir}/partition`)) || mounted.has(`/dev/${name}`)) continue
    const read = (file: string) => fs.readTextIfExists(`${dir}/${file}`).pipe(Effect.map(Option.getOrElse(() => "")))
    const size = Number((yield* read("size")).trim())
    if (!Number.isFinite(size) || size <= 0 || (yield* read("ro")).trim() === "1") continue
    const entries = yield* fs.readDirectory(dir)
    const partitioned = yield* Effect.reduce(entries, false, (seen, e) => (seen ? Effect.succeed(true) : fs.exists(`${dir}/${e}/partition`)))
    if (partitioned || (yield* fs.readDirectory(`${dir}/holders`)).length > 0) continue
    found.push({ name, size })
  }
  return found.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1))
})

// ---- the actions ---------------------------------------------------------------------------

export const userdataUser: Action = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_user")
  if (config.defaultUser === undefined) return
  const ctx = yield* PhaseContext
  yield* Ref.set(ctx.cloudUser, config.defaultUser.name)
})

/** cloud-config `users`: the default user's groups and sudo rules; further users created with theirs and their keys */
export const userdataUsers: Action = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_users")
  if (config.defaultUser !== undefined && (yield* Effect.map(currentUser, (u) => u === config.defaultUser!.name))) {
    yield* userGroupsAndSudo(config.defaultUser)
  }
  for (const user of config.users) {
    yield* createUser(user)
    yield* userGroupsAndSudo(user)
    if (user.sshAuthorizedKeys.length > 0) yield* installKeys(user.name, user.sshAuthorizedKeys, true)
  }
})

export const sshAuthorizedKeys: Action = Effect.gen(function* () {
  const config = yield* loadUserConfig("ssh_authorized_keys")
  const keys = [...config.sshAuthorizedKeys, ...(config.defaultUser?.sshAuthorizedKeys ?? [])]
  if (keys.length === 0) return
  yield* installKeys(yield* currentUser, keys, true)
})

/** cloud-config `fqdn` (else `hostname`) replaces the cloud's name */
export const userdataHostname: Action = Effect.gen(function* () {
  const config = yield* loadUserConfig("userdata_hostname")
  const name = (config.fqdn ?? config.hostname)?.replace(/\.$/, "")
  if (name === undefined || name === "") return
  yield* applyHostname(name)
  // the cloud's 127.0.1.1 line goes: ours is the one left
  const fs = yield* RootFs
  const hosts = fs.at("/etc/hosts")
  const ours = `127.0.1.1\t${name} ${name.split(".")[0]}`
  const text = yield* fs.readTextIfExists(hosts)
  if (Option.isNone(text)) return
  const lines = text.value.split("\n")
  const kept = lines.filter((l) => l === ours || !/^127\.0\.1\.1\s/.test(l))
  if (kept.length !== lines.length) yield* fs.writeAtomic(hosts, kept.join("\n"))
})

export const userdataBootcmd: Action = Effect.flatMap(loadUserConfig("userdata_bootcmd"), (c) => runCommands("bootcmd", c.bootcmd))

export const userdataRuncmd: Action = Effect.flatMap(loadUserConfig("userdata_runcmd"), (c) => runCommands("runcmd", c.runcmd))

export const userdataWriteFiles: Action = Effect.flatMap(loadUserConfig("userdata_write_files"), (c) =>
  writeFiles(c.writeFiles.filter((f) => !f.defer))
)

/** cloud-config `defer: true` files, in the final phase, once packages and users exist */
export const userdataWriteDeferredFiles: Action = Effect.flatMap(loadUserConfig("userdata_write_deferred_files"), (c) =>
  writeFiles(c.writeFiles.filter((f) => f.defer))
)

export const userdataNtp: Action = Effect.gen(function* () {
  const { ntp } = yield* loadUserConfig("userdata_ntp")
  if (ntp === undefined) return
  const { pkg, svc } = NTP[ntp.client]
  if (pkg !== undefined) yield* system("apk", ["add", pkg], "apk add")
  yield* ntpServers(ntp.client, ntp.servers, ntp.pools)
  yield* system("rc-update", ["add", svc, "default"], "rc-update add")
  yield* system("rc-service", [svc, "start"], "rc-service start")
})

/** `$ROOT/DIR` created; `/etc/apk/cache` a relative link to it */
export const userdataApkCache: Action = Effect.gen(function* () {
  const { apk } = yield* loadUserConfig("userdata_apk_cache")
  if (apk.cache === undefined || apk.cache.trim() === "") return
  const fs = yield* RootFs
  const dir = instancePath(apk.cache)
  yield* fs.makeDirectory(fs.at(dir))
  yield* fs.symlink(`../..${dir}`, fs.at("/etc/apk/cache"))
})

export const userdataApkRepositories: Action = Effect.gen(function* () {
  const { apk } = yield* loadUserConfig("userdata_apk_repositories")
  const fs = yield* RootFs
  const file = fs.at("/etc/apk/repositories")
  if (!apk.configured) {
    if (!(yield* fs.exists(file))) yield* system("setup-apkrepos", ["-1", "-c"], "setup-apkrepos")
    return
  }
  if (apk.repositories.length === 0) return
  const version = apkVersion(yield* osVersionId)
  const lines = apk.repositories.flatMap((r) => repositoryLines(r, version))
  if (apk.replaceRepositories) yield* fs.writeAtomic(file, lines.map((l) => `${l}\n`).join(""), { mode: 0o644 })
  else yield* fs.addLinesOnce(file, lines)
})

export const userdataPackageUpdate: Action = Effect.gen(function* () {
  if ((yield* loadUserConfig("userdata_package_update")).packageUpdate) yield* system("apk", ["update"], "apk update")
})

export const userdataPackageUpgrade: Action = Effect.gen(function* () {
  if ((yield* loadUserConfig("userdata_package_upgrade")).packageUpgrade) yield* system("apk", ["upgrade"], "apk upgrade")
})

export const userdataPackages: Action = Effect.gen(function* () {
  const { packages } = yield* loadUserConfig("userdata_packages")
  if (packages.length > 0) yield* system("apk", ["add", ...packages], "apk add")
})

/**
 * cloud-config `timezone`, the way Alpine's setup-timezone does it with
 * tzdata: `/etc/localtime` links to `/usr/share/zoneinfo/TZ` (tzdata is
 * added when that file is missing) and `/etc/timezone` names the zone.
 */
export const userdataTimezone: Action = Effect.gen(function* () {
  const { timezone } = yield* loadUserConfig("userdata_timezone")
  if (timezone === undefined) return
  const fs = yield* RootFs
  const zone = `/usr/share/zoneinfo/${timezone}`
  if (!(yield* fs.exists(fs.at(zone)))) yield* system("apk", ["add", "tzdata"], "apk add")
  if (yield* fs.exists(fs.at(zone))) yield* fs.symlink(zone, fs.at("/etc/localtime"))
  else yield* warn("userdata_timezone: no zoneinfo for the time zone after adding tzdata; /etc/localtime left alone")
  yield* fs.writeAtomic(fs.at("/etc/timezone"), `${timezone}\n`, { mode: 0o644 })
})

/** cloud-config `ssh_pwauth`: `PasswordAuthentication yes|no` in sshd_config */
export const userdataSshPwauth: Action = Effect.gen(function* () {
  const { sshPwauth } = yield* loadUserConfig("userdata_ssh_pwauth")
  if (sshPwauth === undefined) return
  const fs = yield* RootFs
  const file = fs.at("/etc/ssh/sshd_config")
  const text = yield* fs.readTextIfExists(file)
  if (Option.isNone(text)) {
    yield* warn("userdata_ssh_pwauth: no /etc/ssh/sshd_config; left alone")
    return
  }
  const updated = withPasswordAuthentication(text.value, sshPwauth)
  if (updated !== text.value) yield* fs.writeAtomic(file, updated, { mode: 0o644 })
})

/** `autoinstall: true`: the running system to the largest empty disk, then reboot */
export const userdataAutoinstall: Action = Effect.gen(function* () {
  if (!(yield* loadUserConfig("userdata_autoinstall")).autoinstall) return
  const disk = (yield* emptyDisks)[0]
  if (disk === undefined) {
    yield* warn("userdata_autoinstall: no empty disk found; not installed")
    return
  }
  const dev = `/dev/${disk.name}`
  yield* info(`userdata_autoinstall: installing to ${dev}`)
  yield* system("lbu", ["include", "/root/.ssh", "/home"], "lbu include")
  yield* system("setup-disk", ["-m", "sys", dev], "setup-disk", { env: { ERASE_DISKS: dev } })
  yield* system("reboot", [], "reboot")
})

/**
 * Multipart `text/x-shellscript` parts, in order: each saved as
 * `$TINY_CLOUD_VAR/user-data.parts/NN` (0700) and run; output appended to
 * `user-data.log`, the last non-zero status (else 0) to `user-data.exit`.
 * Every part runs; the action fails when one did.
 */
export const userdataScripts: Action = Effect.gen(function* () {
  const parsed = yield* loadUserData("userdata_scripts")
  if (parsed.kind !== "multipart" || parsed.scripts.length === 0) return
  const fs = yield* RootFs
  const { varDir, logDir } = yield* Config
  const dir = `${varDir}/user-data.parts`
  yield* fs.remove(dir, { recursive: true })
  yield* fs.makeDirectory(dir, { mode: 0o700 })
  yield* fs.chmod(dir, 0o700)
  const failed: Array<number> = []
  let status = 0
  for (const [i, part] of parsed.scripts.entries()) {
    const path = `${dir}/${String(i + 1).padStart(2, "0")}`
    yield* fs.writeAtomic(path, part.content, { mode: 0o700 })
    const code = yield* runUserProgram(path, [])
    if (code !== 0) {
      failed.push(i + 1)
      status = code
    }
  }
  yield* fs.writeAtomic(`${logDir}/user-data.exit`, `${status}\n`)
  if (failed.length > 0) return yield* fail(`script part ${failed.join(", ")} exited with a non-zero status (last: ${status})`)
})
