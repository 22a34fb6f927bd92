import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { memoizeSuccess } from "../domain/memo.js"
import { lines, printable, sortedUnique } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { warn, type Log } from "../services/Log.js"
import { base64Datum, dmi, DMI_PRIORITY, followingDirectoryRedirect, jsonNicLookup, jsonValue, nonEmpty, textValue, userDataWithin, whenTrue } from "./common.js"
import { AS_BASE64_USER_DATA, makeHttpMetadataClient } from "./imds-http.js"
import { ipv4Network } from "./ip.js"
import type { CloudProvider } from "./provider.js"

const ROOT = "/computeMetadata/v1/"
// a directory without its trailing `/` is answered with a redirect
const NICS = "instance/network-interfaces/"
const LEGACY_INSTANCE_KEYS = "instance/attributes/sshKeys"
const INSTANCE_KEYS = ["instance/attributes/ssh-keys", LEGACY_INSTANCE_KEYS]
const PROJECT_KEYS = ["project/attributes/ssh-keys", "project/attributes/sshKeys"]
const BLOCK_PROJECT_KEYS = "instance/attributes/block-project-ssh-keys"
const USER_DATA = "instance/attributes/user-data"
/** the attribute names (a directory lists its entries one a line) */
const ATTRIBUTES = { instance: "instance/attributes/", project: "project/attributes/" }
/** the scripts Google's guest environment runs at every boot, the instance's in place of the project's */
const STARTUP_SCRIPTS = ["startup-script", "startup-script-url"]
const OS_LOGIN = { instance: "instance/attributes/enable-oslogin", project: "project/attributes/enable-oslogin" }
const USER_DATA_ENCODING = "instance/attributes/user-data-encoding"

/**
 * The login a key line is for, and the key; a line without a `login:` prefix
 * is for no one in particular. Blanks after the colon (`bob: ssh-ed25519 ...`,
 * as a hand-edited list has them) still make it bob's line, as cloud-init and
 * Google's guest agent split it at the colon; so does nothing after it
 * (`bob:`): bob's line, with no key.
 */
export const splitLogin = (line: string): { readonly login?: string; readonly key: string } => {
  const m = /^([^\s:"=]+):\s*(.*)$/.exec(line)
  return m === null ? { key: line } : { login: m[1]!, key: m[2]! }
}

/** a key Google's tools add for a while: `TYPE BLOB google-ssh {"userName":..,"expireOn":"2018-04-05T21:55:16+0000"}`, past its date */
export const hasExpired = (key: string, now: number): boolean => {
  const [, , marker, ...rest] = key.split(/\s+/)
  if (marker !== "google-ssh") return false
  try {
    const expireOn: unknown = (JSON.parse(rest.join(" ")) as Record<string, unknown>)["expireOn"]
    if (typeof expireOn !== "string") return false
    const when = Date.parse(expireOn.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"))
    return !Number.isNaN(when) && when < now
  } catch {
    return false
  }
}

/**
 * the keys of `ssh-keys` lines that are the cloud user's: their login is CLOUD_USER or `cloudinit`, or they name none;
 * expired ones dropped. Such a line without a key (`alpine:`) is kept whole, a line that is no key, counted among those
 * left out; another user's (`bob:`) is not the cloud user's, keyed or not
 */
export const instanceKeys = (text: string, cloudUser: string, now: number): ReadonlyArray<string> =>
  lines(text).flatMap((line) => {
    const { login, key } = splitLogin(line)
    return (login === undefined || login === cloudUser || login === "cloudinit") && !hasExpired(key, now) ? [key === "" ? line : key] : []
  })

/** the logins other than `user` and `cloudinit` whose lines hold a key that has not expired: keys not installed */
export const otherLogins = (text: string, user: string, now: number): ReadonlyArray<string> =>
  lines(text).flatMap((line) => {
    const { login, key } = splitLogin(line)
    return login !== undefined && login !== user && login !== "cloudinit" && key !== "" && !hasExpired(key, now) ? [login] : []
  })

/** how many of those logins the line names */
const LOGINS_NAMED = 10

/**
 * A flag as GCE's guest environment reads it (Go's ParseBool: `1`, `t`,
 * `true`; `0`, `f`, `false`), in any case and blanks around it left out, as
 * cloud-init reads `true`; undefined for anything else
 */
const guestFlag = (flag: string): boolean | undefined => {
  const word = flag.trim().toLowerCase()
  return ["true", "t", "1"].includes(word) ? true : ["false", "f", "0"].includes(word) ? false : undefined
}

/** `block-project-ssh-keys` blocks the project's keys when it says true; anything else blocks nothing */
export const blocksProjectKeys = (flag: string): boolean => guestFlag(flag) === true

/** the startup scripts the attribute listings name, and whose they are: the instance's, else the project's */
export const startupScripts = (instance: Option.Option<string>, project: Option.Option<string>): { readonly names: ReadonlyArray<string>; readonly of: string } | undefined => {
  const named = (listing: Option.Option<string>) => STARTUP_SCRIPTS.filter((name) => Option.exists(listing, (l) => lines(l).includes(name)))
  const own = named(instance)
  if (own.length > 0) return { names: own, of: "the instance" }
  const theProject = named(project)
  return theProject.length > 0 ? { names: theProject, of: "the project" } : undefined
}

/**
 * where OS Login is turned on: the instance's `enable-oslogin` where it says
 * true or false, else the project's, as the guest environment decides
 */
export const osLoginOn = (instance: Option.Option<string>, project: Option.Option<string>): "the instance" | "the project" | undefined => {
  const own = Option.flatMapNullable(instance, guestFlag)
  if (Option.isSome(own)) return own.value ? "the instance" : undefined
  return Option.exists(project, (flag) => guestFlag(flag) === true) ? "the project" : undefined
}

/** lists as JSON lists, or newline-separated text */
const items = (v: unknown): unknown => (typeof v === "string" ? lines(v) : v)

export const gcp: CloudProvider = {
  name: "gcp",
  // as cloud-init reads it: instances started long ago name their product just `Google`, and every one has a `GoogleCloud-` serial
  detect: Effect.gen(function* () {
    const name = yield* dmi("product_name")
    return name === "Google Compute Engine" || name === "Google" || (yield* dmi("product_serial")).startsWith("GoogleCloud-")
  }).pipe(Effect.map(whenTrue(DMI_PRIORITY))),
  metadata: Effect.gen(function* () {
    const client = yield* makeHttpMetadataClient({
      cloud: "gcp",
      endpoint: "169.254.169.254",
      // an IPv6-only instance's, the only one it reaches
      ipv6Endpoint: "[fd20:ce::254]",
      root: ROOT,
      headers: { "Metadata-Flavor": "Google" }
    })
    const { cloudUser } = yield* Config
    const log = yield* Effect.context<Log>()
    /** the keys of `user`'s lines (and of lines for no one in particular) */
    /** the key lists in use, read once for the keys and for the logins they leave out */
    const keyLists = yield* memoizeSuccess(
      Effect.gen(function* () {
        // only an absent list (404, 204) is none: a read that fails fails the keys, and never unblocks the project's
        const [flag, instance] = yield* Effect.all(
          [client.text(BLOCK_PROJECT_KEYS), Effect.forEach(INSTANCE_KEYS, (path) => client.text(path), { concurrency: 2 })],
          { concurrency: 2 }
        )
        // as GCE's guest environment: the project's keys are blocked by the flag, and by the instance's legacy sshKeys
        // whenever it is not empty, a blank one too (the guest environment's `!= ""`, cloud-init's truth of the string)
        const legacy = instance[INSTANCE_KEYS.indexOf(LEGACY_INSTANCE_KEYS)]!
        const blocked = Option.exists(flag, blocksProjectKeys) || Option.exists(legacy, (l) => l !== "")
        // read only where they are used: a project list that cannot be read never fails an instance that blocks it
        const project = blocked ? [] : yield* Effect.forEach(PROJECT_KEYS, (path) => client.text(path), { concurrency: 2 })
        return [...instance, ...project].flatMap((l) => (Option.isSome(l) ? [l.value] : []))
      })
    )
    const sshKeysFor = (user: string) =>
      Effect.gen(function* () {
        const lists = yield* keyLists
        const now = yield* Clock.currentTimeMillis
        return sortedUnique(lists.flatMap((l) => instanceKeys(l, user, now)))
      })
    const get = followingDirectoryRedirect(client)
    return {
      get,
      hostname: textValue(client, "instance/hostname"),
      sshKeys: sshKeysFor(cloudUser),
      sshKeysFor,
      // a startup script (Terraform's metadata_startup_script) is the guest environment's, run at every boot: not run
      // here, nor by cloud-init, which reads user-data alone; said once, by save_userdata
      keepWithUserData: Effect.gen(function* () {
        const [instance, project] = yield* Effect.all([client.text(ATTRIBUTES.instance), client.text(ATTRIBUTES.project)], { concurrency: 2 })
        const found = startupScripts(instance, project)
        if (found !== undefined) {
          const them = found.names.join(", ")
          yield* warn(`gcp: ${them} of ${found.of} ${found.names.length === 1 ? "is" : "are"} not run here (Google's guest environment runs ${found.names.length === 1 ? "it" : "them"}); a script for the first boot is given as user-data`)
        }
      }).pipe(
        Effect.catchAll(() => Effect.void),
        Effect.provide(log)
      ),
      // OS Login (keys of Google accounts, by NSS and sshd's AuthorizedKeysCommand: Google's guest environment) is not
      // set up here; cloud-init installs the metadata's keys whatever it says, as set_ssh_keys does. Org policies
      // (compute.requireOsLogin) turn it on for every project, where `gcloud compute ssh` then adds no key to the metadata
      // and the users of the lines of other logins, which the guest environment makes (`gcloud compute ssh VM` adds a line
      // for the local login): their keys are not installed, as cloud-init installs only the default user's and cloudinit's
      sayLoginsNotSetUp: (user: string) =>
        Effect.all(
          [
            Effect.gen(function* () {
              const [instance, project] = yield* Effect.all([client.text(OS_LOGIN.instance), client.text(OS_LOGIN.project)], { concurrency: 2 })
              const on = osLoginOn(instance, project)
              if (on !== undefined) {
                yield* warn(`gcp: OS Login is turned on (enable-oslogin on ${on}), which is not set up here: Google accounts do not log in, the metadata's ssh-keys do`)
              }
            }),
            Effect.gen(function* () {
              const now = yield* Clock.currentTimeMillis
              const others = sortedUnique((yield* keyLists).flatMap((l) => otherLogins(l, user, now)))
              if (others.length === 0) return
              const named = others.slice(0, LOGINS_NAMED).map((l) => printable(l, 32))
              const more = others.length > LOGINS_NAMED ? ` and ${others.length - LOGINS_NAMED} more` : ""
              yield* warn(`gcp: the ssh-keys of other logins than ${user} (${named.join(", ")}${more}) are not installed: their users are not made here, as Google's guest environment makes them`)
            })
          ].map((say) => Effect.catchAll(say, () => Effect.void)),
          // one after the other, so that their lines come in one order (the key lists are being read for the keys meanwhile)
          { discard: true }
        ).pipe(Effect.provide(log)),
      // base64 when the user-data-encoding attribute says so; another encoding is named, and the user-data used as it
      // is, as cloud-init does ("unknown user-data-encoding")
      userData: Effect.gen(function* () {
        const body = nonEmpty(yield* client.get(USER_DATA, AS_BASE64_USER_DATA))
        if (Option.isNone(body)) return body
        const encoding = Option.getOrElse(Option.map(yield* client.text(USER_DATA_ENCODING), (e) => e.trim()), () => "")
        if (encoding.toLowerCase() === "base64") return yield* base64Datum(client, USER_DATA, body)
        if (encoding !== "") {
          yield* Effect.provide(warn(`gcp: ${client.urlOf(USER_DATA_ENCODING)}: '${printable(encoding)}' is no encoding cloud-init knows (base64); the user-data is used as it is`), log)
        }
        return yield* userDataWithin(client, USER_DATA, false)(body)
      }),
      nics: Effect.map(client.get(NICS), nonEmpty),
      nic: jsonNicLookup({
        cloud: "gcp",
        list: jsonValue(client, `${ROOT}${NICS}?recursive=true`),
        macOf: (nic) => nic["mac"],
        aliases: {
          "@mac": (nic) => nic["mac"],
          "@ipv4": (nic) => nic["ip"],
          "@ipv6": (nic) => items(nic["ipv6s"]),
          "@ipv4-net": (nic) => ipv4Network(nic["ip"], nic["subnetmask"]),
          "@ipv4-prefix": (nic) => items(nic["ipAliases"]),
          "@ipv6-prefix": (nic) => items(nic["forwardedIpv6s"])
        },
        // a sub-directory (`ip-aliases`) as a verbatim path is: its redirect followed
        subPath: (index, sub) => Effect.map(get(`${NICS}${index}/${sub}`), nonEmpty)
      })
    }
  })
}
