import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { ImdsError } from "../domain/errors.js"
import { staticNotConfigured } from "../domain/network-config.js"
import { authorizedKeys } from "../domain/ssh-keys.js"
import { vendorDataSettingApplies } from "../domain/userdata/vendor-data.js"
import { userDataWord } from "../domain/userdata/type.js"
import { bytesOf, lines, sortedUnique, textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { warn, type Log } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { field, firstPresent, machineString, nonEmpty, parsedYaml, publicKeysOf, vendorDataNotApplied, whenTrue } from "./common.js"
import { AS_USER_DATA, makeHttpMetadataClient } from "./imds-http.js"
import type { CloudProvider } from "./provider.js"

/**
 * The guest API's socket: Incus's, else LXD's (the API Incus inherited, the
 * same paths and answers; LXD serves it at /dev/lxd/sock, as cloud-init's
 * LXD datasource reads it)
 */
const SOCKETS = ["/dev/incus/sock", "/dev/lxd/sock"] as const

/**
 * the names of an Incus VM's agent serial port (virtio-serial), in sysfs from the start of the boot, before the agent
 * that makes the socket has started: Incus's, and the one LXD named it by, which Incus keeps for older agent loaders
 */
const AGENT_PORTS: ReadonlyArray<string> = ["org.linuxcontainers.incus", "org.linuxcontainers.lxd"]
const VIRTIO_PORTS = "/sys/class/virtio-ports"

/** whether the machine has the agent's serial port: never in a container, whose sysfs is the host's */
const agentPort = Effect.gen(function* () {
  const fs = yield* RootFs
  const ports = yield* fs.readDirectory(fs.at(VIRTIO_PORTS)).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
  // (a VM has a handful: a directory of thousands is no VM's, and is not read whole)
  return yield* Effect.exists(ports.slice(0, 64), (port) => Effect.map(machineString(`${VIRTIO_PORTS}/${port}/name`), (name) => AGENT_PORTS.includes(name)))
})

/** the first socket of SOCKETS under ROOT that exists */
const presentSocket = Effect.flatMap(RootFs, (fs) => Effect.findFirst(SOCKETS, (s) => fs.exists(fs.at(s))))

/**
 * the socket's path under ROOT, found as a chroot finds it: a link in the image (dangling, or to a socket outside
 * ROOT) never leads the connection out of ROOT; links no chroot could follow (a loop, `/dev -> /dev`) fail, as the
 * kernel would follow them out of ROOT
 */
const socketPath = (socket: string) => Effect.gen(function* () {
  const fs = yield* RootFs
  const path = yield* fs.resolve(fs.at(socket)).pipe(
    Effect.mapError((e) => new ImdsError({ cloud: "incus", url: `unix:${fs.at(socket)}`, reason: e.reason }))
  )
  // a unix socket's path holds at most 107 bytes (sun_path): a longer one (a long ROOT) is cut short, and the connection goes to no socket
  const bytes = Buffer.byteLength(path)
  if (bytes > 107) {
    return yield* new ImdsError({ cloud: "incus", url: `unix:${path}`, reason: `its path is ${bytes} bytes, a unix socket's at most 107 (ROOT is too long)`, unusable: true })
  }
  return path
})
/** the socket of SOCKETS there now; `fallback` while none is (or the one there cannot be used) */
const socketNow = (fallback: string) =>
  presentSocket.pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.succeed(fallback), onSome: socketPath })),
    Effect.orElseSucceed(() => fallback)
  )
const META_DATA = "/1.0/meta-data"
const USER_META_DATA = "/1.0/config/user.meta-data"
/** each datum under its current config key first (`cloud-init.*`), then its older one (`user.*`) */
const USER_DATA = ["/1.0/config/cloud-init.user-data", "/1.0/config/user.user-data"]
/** kept beside the saved user-data, as `$TINY_CLOUD_VAR/NAME`, for what applies them */
const VENDOR_DATA = ["/1.0/config/cloud-init.vendor-data", "/1.0/config/user.vendor-data"]
const COMPANIONS = [
  { name: "vendor-data", keys: VENDOR_DATA },
  { name: "network-config", keys: ["/1.0/config/cloud-init.network-config", "/1.0/config/user.network-config"] }
] as const

/**
 * A YAML scalar as the meta-data writes it: plain, `"..."` (JSON-style) or
 * `'...'`, and a ` # comment` after it left out, as YAML reads it (the
 * operator's `user.meta-data`, which LXD and Incus append, may have one);
 * a plain null (`~`, `null`) is no value
 */
const unquote = (raw: string): string => {
  const v = raw.trim()
  const double = /^"(?:[^"\\]|\\.)*"/.exec(v)?.[0]
  if (double !== undefined && withoutComment(v.slice(double.length)) === "") {
    try {
      return String(JSON.parse(double))
    } catch {
      return double.slice(1, -1)
    }
  }
  const single = /^'(?:[^']|'')*'/.exec(v)?.[0]
  if (single !== undefined && withoutComment(v.slice(single.length)) === "") return single.slice(1, -1).replace(/''/g, "'")
  const plain = withoutComment(v)
  // YAML's null (`~`, `null`): no value, as cloud-init reads the meta-data, never a name `~`
  return /^(?:~|null|Null|NULL)$/.test(plain) ? "" : plain
}

/** a plain scalar up to a comment: `#` first or after a blank (`key: # ...` is no value, as YAML reads it; found without backtracking, whatever the line) */
const withoutComment = (text: string): string => {
  const comment = /(?:^|[ \t])#/.exec(text)
  return (comment === null ? text : text.slice(0, comment.index)).trim()
}

/** `key: value` lines; comments and other lines are skipped */
export const parseMetaData = (text: string): Map<string, string> => {
  const data = new Map<string, string>()
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.replace(/\r$/, ""))
    if (m !== null) data.set(m[1]!, unquote(m[2] ?? ""))
  }
  return data
}

/** keys of a string or a list of strings */
const keysOf = (value: unknown): Array<string> =>
  typeof value === "string" ? lines(value) : Array.isArray(value) ? value.flatMap((v) => (typeof v === "string" ? lines(v) : [])) : []

/** a configuration document (`#cloud-config`, `#alpine-config`) as its top-level keys */
type ConfigDoc = Readonly<Record<string, unknown>>

/**
 * user-data or vendor-data as the configuration document it is, its type
 * read as the user-data's actions read it; none for another type (a script)
 * or YAML that is no mapping. YAML that cannot be read is a problem in that
 * document (save_userdata names the user-data's): a warning says its keys
 * are left out, and set_ssh_keys still installs the other keys (BEHAVIOUR.md
 * §4.4), never failing the phase.
 */
const configDocOf = (bytes: Uint8Array, url: string, what: "user-data" | "vendor-data") =>
  Effect.gen(function* () {
    // a `## template: jinja` line or blank lines before the header, any case
    const word = userDataWord(bytes)
    if (word !== "cloud-config" && word !== "alpine-config") return Option.none<ConfigDoc>()
    // numbers as written: `vendor_data: {enabled: 1.0}` is no true word to cloud-init (str(1.0) is `1.0`), where its value alone is 1
    const parsed = yield* Effect.either(parsedYaml(textOf(bytes), { numbersAsWritten: true }))
    if (Either.isLeft(parsed)) {
      yield* warn(`keys of ${what} left out: ${new ImdsError({ cloud: "incus", url, reason: `invalid YAML in ${what}: ${parsed.left}` }).message}`)
      return Option.none<ConfigDoc>()
    }
    const doc = parsed.right
    return doc === null || typeof doc !== "object" || Array.isArray(doc) ? Option.none<ConfigDoc>() : Option.some(doc as ConfigDoc)
  })

/**
 * a `users` entry's keys: its `ssh_authorized_keys`, also written
 * `ssh-authorized-keys` (LXD's docs and profiles write it so), as cloud-init
 * reads a user's options with `-` as `_`; of both, the one written last
 */
const userKeysOf = (user: Readonly<Record<string, unknown>>): Array<string> => {
  const written = Object.keys(user).filter((k) => k.replace(/-/g, "_").trim() === "ssh_authorized_keys")
  return written.length === 0 ? [] : keysOf(user[written[written.length - 1]!])
}

/**
 * The default user's keys in a configuration: the top-level
 * `ssh_authorized_keys`, and those of the `users` entry that is the default
 * user (named CLOUD_USER, or, where `standIn`, the first named one when the
 * list has no `default` and there is no `user` key). Another user's keys are
 * that user's alone: user-data's actions install them.
 */
const defaultUserKeys = (config: ConfigDoc, cloudUser: string, standIn: boolean): ReadonlyArray<string> => {
  const users = Array.isArray(config["users"]) ? config["users"] : []
  const named = users.filter((u): u is Record<string, unknown> => u !== null && typeof u === "object" && typeof (u as Record<string, unknown>)["name"] === "string")
  const stands = standIn && config["user"] === undefined && !users.includes("default") ? named[0] : undefined
  const own = named.filter((u) => u["name"] === cloudUser || u === stands)
  return [...keysOf(config["ssh_authorized_keys"]), ...own.flatMap(userKeysOf)]
}

/** each line of these entries, as authorized_keys reads them (an entry may hold several) */
const keyLines = (entries: ReadonlyArray<string>): Array<string> =>
  entries.flatMap((e) => e.split(/\r?\n|\r/)).map((l) => l.trim()).filter((l) => l !== "")

/**
 * the lines of the user-data's own keys that set_ssh_keys would drop: no
 * OpenSSH public key (save_userdata named each, with its line), or one with
 * options in front (ssh_authorized_keys installs it as written). They are the
 * user-data's actions' own: left out of the instance's keys, never named twice
 */
const userDataOnlyLines = (own: ReadonlyArray<string>): ReadonlySet<string> =>
  new Set(keyLines(own).filter((line) => authorizedKeys([line], { allowOptions: false }).dropped > 0))

/**
 * the vendor-data's keys this edition carries out: the top-level `ssh_authorized_keys`, and `users` that only gives the
 * default user (`default`) and its keys (an entry named CLOUD_USER with its keys alone); any other user it names is not made
 */
const appliedVendorKey =
  (cloudUser: string) =>
  (key: string, value: unknown): boolean =>
    key === "ssh_authorized_keys" ||
    (key === "users" &&
      Array.isArray(value) &&
      value.every((u: unknown) => {
        if (u === "default") return true
        const entry = u !== null && typeof u === "object" && !Array.isArray(u) ? (u as Record<string, unknown>) : undefined
        return entry?.["name"] === cloudUser && Object.keys(entry).every((k) => ["name", "ssh_authorized_keys", "ssh-authorized-keys"].includes(k))
      }))

/** whether the user-data lets the vendor-data apply: unless its `vendor_data` setting turns it off */
const vendorDataApplies = (user: ConfigDoc): boolean => !Object.hasOwn(user, "vendor_data") || vendorDataSettingApplies(user["vendor_data"])

/**
 * The configuration the instance's keys come from: the user-data's, over
 * the vendor-data's key by key where the user-data lets it apply, as
 * cloud-init merges them. LXD gives the keys of its `cloud-init.ssh-keys.*`
 * options in vendor-data where it cannot merge them into the user-data (a
 * script, or a vendor-data that has users of its own).
 */
const effectiveConfig = (user: Option.Option<ConfigDoc>, vendor: Option.Option<ConfigDoc>): ConfigDoc | undefined => {
  if (Option.isNone(vendor) || (Option.isSome(user) && !vendorDataApplies(user.value))) return Option.getOrUndefined(user)
  return { ...vendor.value, ...Option.getOrElse(user, () => ({})) }
}

export const incus: CloudProvider = {
  name: "incus",
  // the guest API socket, or in a VM whose agent has not made it yet the agent's serial port; more specific than a NoCloud seed
  detect: Effect.flatMap(presentSocket, (socket) => (Option.isSome(socket) ? Effect.succeed(true) : agentPort)).pipe(Effect.map(whenTrue(5))),
  metadata: Effect.gen(function* () {
    const fs = yield* RootFs
    const { varDir, cloudUser } = yield* Config
    const log = yield* Effect.context<Log>()
    const present = yield* presentSocket
    // Incus's when none is there (its error names it)
    const socket = yield* Effect.either(socketPath(Option.getOrElse(present, () => SOCKETS[0])))
    // no socket can be reached: every read fails with that, at once (asking again cannot change it)
    if (Either.isLeft(socket)) {
      const unreachable = Effect.fail(socket.left)
      return { get: () => unreachable, hostname: unreachable, sshKeys: unreachable, userData: unreachable }
    }
    const client = yield* makeHttpMetadataClient({
      cloud: "incus",
      endpoint: "localhost",
      fixedEndpoint: true,
      socketPath: socket.right,
      // none there yet: a VM's guest agent, started after this, makes Incus's or LXD's (/dev/lxd/sock), found at each request
      ...(Option.isNone(present) ? { findSocket: socketNow(socket.right).pipe(Effect.provideService(RootFs, fs)) } : {}),
      root: "/1.0/",
      // Incus with `security.guestapi=false` (LXD: `security.devlxd=false`) answers every read 403 "not authorized"
      forbidden: "the guest API refuses this instance: security.guestapi (LXD's security.devlxd) is false?"
    })
    const metaData = Effect.map(client.text(META_DATA), (t) => parseMetaData(Option.getOrElse(t, () => "")))
    const value = (key: string) => Effect.map(metaData, (m) => Option.fromNullable(m.get(key)).pipe(Option.filter((v) => v.trim() !== "")))
    const hostname = Effect.map(value("local-hostname"), Option.map((h) => h.trim()))
    /**
     * the first config key that has a value, and its path; LXD before its `cloud-init.*` keys (4.0 LTS) refuses
     * them with 403, which is no value there: the `user.*` key is read then (a 403 on that is an error still)
     */
    const config = (keys: ReadonlyArray<string>) =>
      firstPresent(
        ...keys.map((path) =>
          Effect.map(client.get(path, { ...AS_USER_DATA, forbiddenIsAbsent: path.startsWith("/1.0/config/cloud-init.") }), (body) =>
            Option.map(nonEmpty(body), (bytes) => ({ path, bytes }))
          )
        )
      )
    const userDataDoc = config(USER_DATA)
    /** the user-data as `userData` last read it: save_userdata keeps the vendor-data right after, which reads it there, not asks again */
    const userDataRead = yield* Ref.make(Option.none<Effect.Effect.Success<typeof userDataDoc>>())
    /**
     * `public-keys` (a key, a list of them, or a map of those, as NoCloud's) in the operator's user.meta-data, which LXD and Incus append to
     * /1.0/meta-data: read from the key itself, a YAML document of its own
     */
    const metaDataKeys = Effect.flatMap(client.get(USER_META_DATA, { forbiddenIsAbsent: true }), (body) =>
      Option.match(nonEmpty(body), {
        onNone: () => Effect.succeed<Array<string>>([]),
        onSome: (bytes) =>
          parsedYaml(textOf(bytes)).pipe(
            Effect.mapError((reason) => new ImdsError({ cloud: "incus", url: client.urlOf(USER_META_DATA), reason: `invalid YAML in meta-data: ${reason}`, unusable: true })),
            Effect.map((doc) => publicKeysOf(field(doc, "public-keys")))
          )
      })
    ).pipe(
      // a source beyond the user-data the contract names: what goes wrong with it is a warning, never the user-data's keys lost
      Effect.catchAll((e) => Effect.as(Effect.provide(warn(`public-keys of user.meta-data left out: ${e.message}`), log), []))
    )
    /** a document read, as a configuration; none when absent */
    const configDoc = (read: typeof userDataDoc, what: "user-data" | "vendor-data") =>
      Effect.flatMap(read, (d) =>
        Option.match(d, { onNone: () => Effect.succeed(Option.none<ConfigDoc>()), onSome: ({ path, bytes }) => configDocOf(bytes, client.urlOf(path), what) })
      )
    /** the default user's keys of the user-data over the vendor-data; a vendor-data that cannot be read is a warning, its keys left out */
    const configKeys = Effect.gen(function* () {
      const [user, vendor] = yield* Effect.all(
        [
          configDoc(userDataDoc, "user-data"),
          configDoc(config(VENDOR_DATA), "vendor-data").pipe(
            Effect.catchAll((e) => Effect.as(warn(`keys of vendor-data left out: ${e.message}`), Option.none<ConfigDoc>()))
          )
        ],
        { concurrency: 2 }
      )
      const effective = effectiveConfig(user, vendor)
      // the first named user stands in for the default one where the user-data's users action makes it so: in the
      // user-data's own list. In the vendor-data's nothing creates it (LXD's `cloud-init.ssh-keys.K: bob:KEY`): bob's key is not CLOUD_USER's
      const standIn = Option.exists(user, (u) => Object.hasOwn(u, "users"))
      const own = Option.match(user, { onNone: () => [], onSome: (u) => defaultUserKeys(u, cloudUser, standIn) })
      const merged = effective === undefined ? [] : defaultUserKeys(effective, cloudUser, standIn)
      // the vendor-data's and user.meta-data's lines save_userdata never saw are still set_ssh_keys's to name
      const userDataOnly = userDataOnlyLines(own)
      const cloudKeys = (entries: ReadonlyArray<string>) => keyLines(entries).filter((line) => !userDataOnly.has(line))
      return { own: cloudKeys(own), merged: cloudKeys(merged) }
    })
    const withinMaxKeys = (keys: ReadonlyArray<string>) => sortedUnique(keys).length <= client.maxKeys
    const pastMaxKeys = (what: string) => warn(`${what} left out: more than ${client.maxKeys} keys (IMDS_MAX_KEYS)`)
    /**
     * the user-data's keys, then user.meta-data's, then the vendor-data's: a source beyond the user-data that would carry the list
     * past IMDS_MAX_KEYS is left out and named, so that it never costs the others theirs (the user-data's own past it still fail the list)
     */
    const allKeys = Effect.gen(function* () {
      const [{ own, merged }, meta] = yield* Effect.all([configKeys, metaDataKeys], { concurrency: 2 })
      const metaKept = !withinMaxKeys(own) || withinMaxKeys([...own, ...meta])
      if (!metaKept) yield* pastMaxKeys("public-keys of user.meta-data")
      const others = metaKept ? meta : []
      const vendorKept = !withinMaxKeys([...own, ...others]) || withinMaxKeys([...merged, ...others])
      if (!vendorKept) yield* pastMaxKeys("keys of vendor-data")
      return sortedUnique([...(vendorKept ? merged : own), ...others])
    })
    /** vendor-data and network-config beside the user-data, each as the instance has it now; a problem is a warning */
    const keepWithUserData = Effect.forEach(
      COMPANIONS,
      ({ name, keys }) =>
        Effect.gen(function* () {
          const found = yield* config(keys)
          const file = `${varDir}/${name}`
          yield* Option.match(found, { onNone: () => fs.remove(file), onSome: ({ bytes }) => fs.writeAtomic(file, bytes, { mode: 0o600, noFollow: true }) })
          // nor are a network-config's static addresses (LXD's and Incus's guides give one so): the default stanzas configure the
          // interface by DHCP instead. One that cannot be read says nothing here
          if (name === "network-config" && Option.isSome(found)) {
            const document = yield* Effect.option(parsedYaml(textOf(found.value.bytes), { numbersAsWritten: true }))
            const line = Option.isSome(document) ? staticNotConfigured("incus 'network-config'", "the default stanzas configure the interface by DHCP", document.value) : undefined
            if (line !== undefined) yield* warn(line)
          }
          // never dropped silently: what of a vendor-data the user-data lets apply is not applied (its default user's keys are) is said once
          if (name === "vendor-data" && Option.isSome(found) && textOf(found.value.bytes).trim() !== "") {
            // the user-data as it turns the vendor-data off (`vendor_data: {enabled: false}`); one that cannot be read is save_userdata's to name
            const user = yield* Effect.option(
              Effect.flatMap(Effect.flatMap(Ref.get(userDataRead), Option.match({ onNone: () => userDataDoc, onSome: Effect.succeed })), (d) =>
                Option.isSome(d) && userDataWord(d.value.bytes) === "cloud-config" ? parsedYaml(textOf(d.value.bytes), { numbersAsWritten: true }) : Effect.succeed(undefined)
              )
            )
            const doc = Option.getOrUndefined(user)
            if (doc !== null && typeof doc === "object" && !Array.isArray(doc) && !vendorDataApplies(doc as ConfigDoc)) return
            const said = yield* vendorDataNotApplied(found.value.bytes, "incus 'vendor-data'", appliedVendorKey(cloudUser))
            if (said !== undefined) yield* warn(said)
          }
        }).pipe(
          Effect.catchAll((e) => warn(`incus: cannot keep ${name}: ${e.message}`)),
          Effect.provide(log)
        ),
      { discard: true }
    )
    return {
      // an absolute path is fetched as it is; anything else is a key of the meta-data
      get: (path: string) =>
        path.startsWith("/") ? client.get(path) : Effect.map(value(path), Option.map(bytesOf)),
      hostname,
      // the user-data's (over the vendor-data's), and the meta-data's `public-keys` (the operator's user.meta-data, as cloud-init reads them);
      // read side by side, so that a source held up to the read's one deadline never leaves the others none of it
      sshKeys: Effect.provide(allKeys, log),
      userData: Effect.map(
        Effect.tap(userDataDoc, (d) => Ref.set(userDataRead, Option.some(d))),
        Option.map(({ bytes }) => bytes)
      ),
      keepWithUserData
    }
  })
}
