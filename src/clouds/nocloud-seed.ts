/** The NoCloud seed (BEHAVIOUR.md §5): where it comes from and how it is copied in once. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { ImdsError, SeedError, type FsError } from "../domain/errors.js"
import { basicAuthorization, printable, textOf, withoutSecrets } from "../domain/text.js"
import type { Commands } from "../services/Commands.js"
import { Config } from "../services/Config.js"
import type { Http } from "../services/Http.js"
import { info, warn, type Log } from "../services/Log.js"
import { containerKind, RootFs } from "../services/RootFs.js"
import { commandLineOf, INIT_CMDLINE } from "../domain/container.js"
import { ownEntry } from "../domain/own.js"
import { dmi, hasLabelledFilesystem, parsedYaml, vendorDataNotApplied } from "./common.js"
import { AS_USER_DATA, makeHttpMetadataClient, oneRead } from "./imds-http.js"
import { readVolume } from "./volume.js"

export const SEED_FILES = ["meta-data", "user-data", "vendor-data", "network-config"] as const

/** `ds=nocloud;KEY=VALUE;...` from the kernel command line or the SMBIOS serial */
export interface SeedParams {
  readonly localHostname?: string
  readonly instanceId?: string
  readonly seedFrom?: string
  /** the keys read nothing (neither h, i, s nor their long names), and where they were given: said by the phase that loads the seed */
  readonly unknownKeys?: ReadonlyArray<{ readonly key: string; readonly where: string }>
}

/** where a `ds=nocloud` word was read, as its line names it */
export const KERNEL_CMDLINE = "kernel cmdline"
const SMBIOS_SERIAL = "SMBIOS serial"

const DS = /^(?:.*=)?ds=nocloud(?:-net)?(?:;(.*))?$/

/**
 * every `ds=nocloud` word of the text, in order, a key a later word gives taking the place of an earlier one's: a
 * `ds=nocloud;s=URL` appended at the boot prompt to an image's bare `ds=nocloud` is the seed (as cloud-init, which
 * reads the last word, and the shell edition, which reads the first with keys, both take it)
 */
export const parseDs = (text: string, where: string = KERNEL_CMDLINE): Option.Option<SeedParams> => {
  let found: { localHostname?: string; instanceId?: string; seedFrom?: string; unknownKeys?: Array<{ key: string; where: string }> } | undefined
  // the unknown keys named so far, looked up at once: a list searched for each key took minutes for a container's init
  // arguments of a few thousand (`ds=nocloud;a;b;...`, words of up to 128 KiB)
  const named = new Set<string>()
  for (const word of text.trim().split(/\s+/)) {
    const m = DS.exec(word)
    if (!m) continue
    const params: NonNullable<typeof found> = found ?? {}
    for (const kv of (m[1] ?? "").split(";")) {
      if (kv === "") continue
      const eq = kv.indexOf("=")
      // a key without a value is a key too, as the shell edition reads it (`cut -d= -f1`)
      const [k, v] = eq < 0 ? [kv, undefined] : [kv.slice(0, eq), kv.slice(eq + 1)]
      const known = ["h", "local-hostname", "i", "instance-id", "s", "seedfrom"].includes(k)
      if (known && v === undefined) continue
      if (k === "h" || k === "local-hostname") params.localHostname = v!
      else if (k === "i" || k === "instance-id") params.instanceId = v!
      else if (k === "s" || k === "seedfrom") params.seedFrom = v!
      // read nothing from, so named (the shell edition's 'Unknown NoCloud kernel cmdline key'): `hostname=` for `h=` is no silent no-op;
      // once, however often the words name it (an image's `ds=nocloud;foo=1` and a `ds=nocloud;foo=2;s=URL` added at the prompt)
      else if (!named.has(k)) {
        named.add(k)
        ;(params.unknownKeys ??= []).push({ key: k, where })
      }
    }
    found = params
  }
  return Option.fromNullable(found)
}

/**
 * The command line: the kernel's, and in a container, whose /proc/cmdline is
 * the host kernel's, its init's arguments (as cloud-init and systemd read it there)
 */
const commandLine = Effect.gen(function* () {
  const fs = yield* RootFs
  const container = (yield* containerKind) !== undefined
  const text = yield* fs.readTextIfExists(fs.at(container ? INIT_CMDLINE : "/proc/cmdline")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
  return container ? Option.map(text, commandLineOf) : text
})

/**
 * The seed parameters of the command line and the SMBIOS serial, a key the
 * command line gives taking the place of the serial's; as cloud-init merges
 * them, a bare `ds=nocloud` on the command line (an image's, to choose the
 * datasource) keeps the serial's `s=` (the VM's own seed).
 */
export const seedParams = Effect.gen(function* () {
  let found = Option.none<SeedParams>()
  for (const [text, where] of [[Option.some(yield* dmi("product_serial")), SMBIOS_SERIAL], [yield* commandLine, KERNEL_CMDLINE]] as const) {
    const params = Option.flatMap(text, (t) => parseDs(t, where))
    if (Option.isSome(params)) {
      const before = Option.getOrElse(found, (): SeedParams => ({}))
      const unknownKeys = [...(before.unknownKeys ?? []), ...(params.value.unknownKeys ?? [])]
      found = Option.some({ ...before, ...params.value, ...(unknownKeys.length > 0 ? { unknownKeys } : {}) })
    }
  }
  return found
})

export const isHttpSeed = (params: Option.Option<SeedParams>) =>
  Option.exists(params, (p) => /^https?:\/\//.test(p.seedFrom ?? ""))

export const seedDir = Effect.map(Config, (s) => `${s.varDir}/nocloud`)

type SeedFile = (typeof SEED_FILES)[number]

/**
 * The seed's files, and those left out, over USERDATA_MAX_BYTES or not
 * readable (from a seed URL: not fetched within IMDS_DEADLINE): each of those
 * fails only the reads of that file (an oversized user-data, or one whose
 * server times out, must not cost the meta-data, with the hostname and keys).
 */
interface Seed {
  readonly files: Partial<Record<SeedFile, Uint8Array>>
  readonly refused: Partial<Record<SeedFile, ImdsError>>
}

const tooLarge = (name: SeedFile, limit: number) =>
  new ImdsError({ cloud: "nocloud", url: name, reason: `larger than ${limit} bytes (USERDATA_MAX_BYTES)`, exceeded: limit })

const fromDirectory = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { userDataMaxBytes } = yield* Config
    if (!(yield* fs.isDirectory(dir))) return Option.none<Seed>()
    const seed: { files: Seed["files"]; refused: Seed["refused"] } = { files: {}, refused: {} }
    for (const name of SEED_FILES) {
      // a file that cannot be read (too large, not a regular file) fails only its own reads
      const data = yield* fs.readFileIfExists(`${dir}/${name}`, { maxBytes: userDataMaxBytes }).pipe(
        Effect.catchAll((e) =>
          Effect.as(
            Effect.sync(() => (seed.refused[name] = e.exceeded !== undefined ? tooLarge(name, e.exceeded) : new ImdsError({ cloud: "nocloud", url: name, reason: e.reason, unusable: true }))),
            Option.none<Uint8Array>()
          )
        )
      )
      if (Option.isSome(data)) seed.files[name] = data.value
    }
    return Option.some<Seed>(seed)
  })

/** the URL of `text` (relative to `base`); undefined where no URL parser takes it */
const urlOrUndefined = (text: string, base?: URL): URL | undefined => {
  try {
    return new URL(text, base)
  } catch {
    return undefined
  }
}

/**
 * The URL of a seed file, as cloud-init makes it from seedfrom: each `%s` replaced by the file's name where seedfrom has
 * one (`http://10.0.0.1/%s?node=7` asks `/meta-data?node=7`), else the name after seedfrom, with a `/` between unless
 * seedfrom ends with one or has a query (`http://10.0.0.1:8008/?file=` asks `?file=meta-data`); undefined where no URL
 * parser takes it
 */
const seedFileUrl = (seedFrom: string, name: SeedFile): URL | undefined => {
  if (seedFrom.includes("%s")) return urlOrUndefined(seedFrom.replaceAll("%s", name))
  const joined = seedFrom.endsWith("/") || (urlOrUndefined(seedFrom)?.search ?? "") !== "" ? seedFrom : `${seedFrom}/`
  return urlOrUndefined(`${joined}${name}`)
}

/**
 * The most redirects one seed file's read follows: a short link, an http→https
 * upgrade and a moved directory are three; busybox wget, the shell edition's
 * client, gives up at its fifth. cloud-init's requests allows 30, a browser's
 * bound; each hop here may take its retries, within the one IMDS_DEADLINE.
 */
const MAX_SEED_REDIRECTS = 5

/**
 * The seed files a seed need not have, which cloud-init's read_seeded takes as none whatever the answer: for them a 403
 * is none too, as a 404 is (an S3 bucket answers 403 for a key it does not hold to a reader that may not list it: a seed
 * of public objects), and any other failure is said and left out (loadSeed), never read again by each phase
 */
const OPTIONAL_FILES: ReadonlySet<SeedFile> = new Set(["vendor-data", "network-config"])

/** an http(s) seed: `u` is its seedfrom, `seedFrom` as written (its `%s`, its query) */
const fromUrl = (u: URL, seedFrom: string) =>
  Effect.gen(function* () {
    const settings = yield* Config
    // the URL's user and password are sent, as cloud-init's requests sends them; never part of the URL its lines name
    const authorization = basicAuthorization(u)
    /** a client for one place a read goes to (the seed's, or a redirect's) */
    const clientAt = (at: URL, authorized: boolean) =>
      makeHttpMetadataClient({
        cloud: "nocloud",
        endpoint: at.host,
        root: u.pathname,
        protocol: at.protocol === "https:" ? "https" : "http",
        fixedEndpoint: true,
        ...(authorized && authorization !== undefined ? { headers: { Authorization: authorization } } : {})
      }).pipe(Effect.provideService(Config, settings))
    const client = yield* clientAt(u, true)

    /**
     * One file, following redirects as cloud-init's requests and busybox wget
     * do (a Location relative or absolute), each file on its own: at most
     * MAX_SEED_REDIRECTS, only to http or https, never from https to http,
     * all hops within one IMDS_DEADLINE. The Authorization goes only to the
     * seed URL's own scheme, host and port, until the read leaves them. Its
     * lines name the seed file's URL, never where it was sent.
     */
    const read = (name: SeedFile): Effect.Effect<Option.Option<Uint8Array>, ImdsError, Http> =>
      oneRead(settings.imdsDeadline)(
        Effect.gen(function* () {
          const file = seedFileUrl(seedFrom, name)
          // a query may carry a token: its lines never show it
          const named = client.urlOf(`${file?.pathname ?? `${u.pathname}${name}`}${file?.search ? "?***" : ""}`)
          const refused = (reason: string) => new ImdsError({ cloud: "nocloud", url: named, reason, unusable: true })
          if (file === undefined) return yield* Effect.fail(refused("not a URL once the file's name is put in"))
          let at = new URL(`${file.protocol}//${file.host}${file.pathname}${file.search}`)
          let authorized = file.origin === u.origin
          let hop = authorized ? client : yield* clientAt(at, false)
          const seen = new Set([at.href])
          for (let redirects = 0; ; redirects++) {
            const answer = yield* Effect.either(hop.get(`${at.pathname}${at.search}`, OPTIONAL_FILES.has(name) ? { ...AS_USER_DATA, forbiddenIsAbsent: true } : AS_USER_DATA))
            if (Either.isRight(answer)) return answer.right
            const e = answer.left
            const after = redirects === 0 ? "" : `, after ${redirects} redirect${redirects === 1 ? "" : "s"}`
            if (e.redirect === undefined) {
              // named as the seed file's URL: after redirects, never where it was sent; its query hidden
              return yield* Effect.fail(new ImdsError({ cloud: "nocloud", url: named, reason: `${e.reason}${after}`, ...(e.exceeded !== undefined ? { exceeded: e.exceeded } : {}), ...(e.unusable ? { unusable: e.unusable } : {}) }))
            }
            const next = urlOrUndefined(e.redirect, at)
            if (next === undefined) return yield* Effect.fail(refused(`${e.reason} to a Location that is no URL`))
            if (next.protocol !== "http:" && next.protocol !== "https:") return yield* Effect.fail(refused(`${e.reason} to a ${next.protocol} URL, not followed`))
            if (at.protocol === "https:" && next.protocol === "http:") return yield* Effect.fail(refused(`${e.reason} from https to http, not followed`))
            // a Location's own user and password are never used (requests keeps the seed's or none), nor its fragment
            next.username = ""
            next.password = ""
            next.hash = ""
            if (seen.has(next.href)) return yield* Effect.fail(refused(`${e.reason}: redirect loop`))
            if (redirects === MAX_SEED_REDIRECTS) return yield* Effect.fail(refused(`more than ${MAX_SEED_REDIRECTS} redirects`))
            seen.add(next.href)
            authorized = authorized && next.origin === u.origin
            at = next
            // a hop asked after the read's deadline is not sent: it fails 'timed out', after the redirects it took
            hop = yield* clientAt(at, authorized)
          }
        })
      )

    const seed: { files: Seed["files"]; refused: Seed["refused"] } = { files: {}, refused: {} }
    yield* Effect.forEach(
      SEED_FILES,
      (name) =>
        // a file that cannot be fetched (too large, timed out, refused) fails only its own reads
        read(name).pipe(
          Effect.map(Option.map((data) => (seed.files[name] = data))),
          Effect.catchAll((e) => Effect.sync(() => (seed.refused[name] = e)))
        ),
      { concurrency: 4, discard: true }
    )
    return Option.some<Seed>(seed)
  })

const fromVolume = Effect.map(readVolume(["cidata", "CIDATA"], "cidata", fromDirectory), Option.flatten)

/** the SMBIOS strings seedfrom may name as `__dmi.KEY__` (dmidecode's names), and their files in `/sys/class/dmi/id/` */
const DMI_KEYS: Readonly<Record<string, string>> = {
  "baseboard-asset-tag": "board_asset_tag",
  "baseboard-manufacturer": "board_vendor",
  "baseboard-product-name": "board_name",
  "baseboard-serial-number": "board_serial",
  "baseboard-version": "board_version",
  "bios-release-date": "bios_date",
  "bios-vendor": "bios_vendor",
  "bios-version": "bios_version",
  "chassis-asset-tag": "chassis_asset_tag",
  "chassis-manufacturer": "chassis_vendor",
  "chassis-serial-number": "chassis_serial",
  "chassis-version": "chassis_version",
  "system-manufacturer": "sys_vendor",
  "system-product-name": "product_name",
  "system-serial-number": "product_serial",
  "system-uuid": "product_uuid",
  "system-version": "product_version"
}

/**
 * seedfrom with each `__dmi.KEY__` replaced by this machine's SMBIOS string
 * (empty when it has none), as cloud-init's NoCloud expands it
 * (`s=http://10.0.0.1/__dmi.system-serial-number__/`: a seed per machine);
 * a KEY it does not know is left as written.
 */
const withDmiValues = (seedFrom: string) =>
  Effect.gen(function* () {
    let expanded = seedFrom
    for (const [, key] of seedFrom.matchAll(/__dmi\.([^_]+)__/g)) {
      const file = ownEntry(DMI_KEYS, key!)
      if (file !== undefined) expanded = expanded.replaceAll(`__dmi.${key}__`, yield* dmi(file))
    }
    return expanded
  })

const fromSeedFrom = (written: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const seedFrom = yield* withDmiValues(written)
    // an http(s) URL no parser takes is a seedfrom it cannot use, named as the others, never an internal error
    const url = /^https?:\/\//.test(seedFrom) ? urlOrUndefined(seedFrom) : undefined
    if (url !== undefined) return yield* fromUrl(url, seedFrom)
    const path = seedFrom.replace(/^file:\/\//, "")
    if (path.startsWith("/")) return yield* fromDirectory(fs.at(path))
    yield* warn(`Unknown NoCloud seedfrom value '${printable(withoutSecrets(seedFrom))}'`)
    return Option.none<Seed>()
  })

/** no seed, or one that holds no seed file at all (none read, none left out) */
const holdsNone = (seed: Option.Option<Seed>): boolean =>
  Option.match(seed, { onNone: () => true, onSome: (s) => Object.keys(s.files).length === 0 && Object.keys(s.refused).length === 0 })

/** the seed as a phase reads it: the files left out, and the files themselves where they could not be copied (else the copies are read) */
export interface LoadedSeed {
  readonly refused: Seed["refused"]
  readonly held?: Seed["files"]
}

/** the unknown `ds=nocloud` keys named one by one; the others are counted in one line */
const MAX_UNKNOWN_KEYS_NAMED = 100

/**
 * Copies the seed byte-exact into `$TINY_CLOUD_VAR/nocloud/` once: from the
 * command line's seedfrom, else a cidata volume, else the image's seed
 * directory (`seed/nocloud`, else `seed/nocloud-net`). Returns the files left out (too large, not read); while there are any,
 * the seed is not marked loaded, so that each phase finds them again. Copies the state directory does not take (full,
 * read-only) are said, and the seed as read is held for this process instead, not marked loaded either: a user-data
 * too large for the disk costs its own copy, not the meta-data's hostname and keys.
 */
export const loadSeed = (
  params: Option.Option<SeedParams>
): Effect.Effect<LoadedSeed, SeedError | ImdsError | FsError, RootFs | Commands | Config | Http | Log> =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const dir = yield* seedDir
    if (yield* fs.exists(`${dir}/.nocloud_loaded`)) return { refused: {} }
    const { varDir } = yield* Config
    // as the shell edition says it while it loads the seed; the key alone (a word meant as `s=URL` may hold a password)
    const unknownKeys = Option.getOrElse(Option.map(params, (p) => p.unknownKeys ?? []), () => [])
    for (const { key, where } of unknownKeys.slice(0, MAX_UNKNOWN_KEYS_NAMED)) {
      yield* warn(`Unknown NoCloud ${where} key '${printable(withoutSecrets(key))}'`)
    }
    // a command line of thousands of keys (a container's init arguments) would be as many lines in syslog
    if (unknownKeys.length > MAX_UNKNOWN_KEYS_NAMED) yield* warn(`${unknownKeys.length - MAX_UNKNOWN_KEYS_NAMED} more unknown NoCloud keys are not named`)
    let seed = Option.none<Seed>()
    if (Option.isSome(params) && params.value.seedFrom) seed = yield* fromSeedFrom(params.value.seedFrom)
    const followed = Option.isSome(seed)
    if (Option.isNone(seed)) {
      seed = yield* fromVolume
      // a volume that holds no seed file is no seed to cloud-init, which goes on to the image's: said (an iso9660 image made
      // without Rock Ridge or Joliet shows its files by their ISO 9660 names), and the image's seed directory read in its place
      if (Option.isSome(seed) && holdsNone(seed))
        yield* warn(`the NoCloud seed volume (cidata) holds none of the seed files ${SEED_FILES.join(", ")} (an iso9660 image made without Rock Ridge or Joliet names them user_dat, meta_dat: genisoimage -rock -joliet)`)
    }
    if (!followed && holdsNone(seed)) {
      const own = yield* fromDirectory(`${varDir}/seed/nocloud`)
      // the name cloud-init also reads, which older image-building guides use; read too where seed/nocloud holds no
      // seed file at all (a directory made, the files put beside it), as cloud-init goes on past a seed directory without them
      const net = holdsNone(own) ? yield* fromDirectory(`${varDir}/seed/nocloud-net`) : Option.none<Seed>()
      // a volume without seed files, where the image has no seed directory either, is read as it is (its meta-data empty)
      seed = Option.orElse(Option.orElse(net, () => own), () => seed)
    }
    if (Option.isNone(seed)) {
      // no seed to read but the copies of one read before (the boot phase of a first boot forgets their mark, so that an
      // instance's own seed replaces an earlier first boot's; an image whose builder left only the copies has none): those,
      // under the command line's h= and i= too (which replace their values as they would a seed's, never the copies' keys)
      if (yield* fs.exists(`${dir}/meta-data`)) {
        // a seed the command line names as a directory that is not there, or a cidata volume there (detection's sign of
        // nocloud) that did not mount, is this instance's seed not read: said as such
        const named = Option.isSome(params) && params.value.seedFrom !== undefined && /^(?:file:\/\/)?\//.test(params.value.seedFrom) ? params.value.seedFrom : undefined
        const found = named !== undefined ? undefined : (yield* hasLabelledFilesystem("cidata")) ? "cidata" : (yield* hasLabelledFilesystem("CIDATA")) ? "CIDATA" : undefined
        if (named !== undefined) yield* warn(`NoCloud seedfrom '${printable(withoutSecrets(named))}' is no directory; the seed copies in ${dir} are used`)
        else if (found !== undefined) yield* warn(`a NoCloud seed volume (LABEL=${found}) is there but could not be mounted read-only as vfat or iso9660; the seed copies in ${dir} are used`)
        else yield* info(`no NoCloud seed found; the seed copies in ${dir} are used`)
        yield* fs.writeAtomic(`${dir}/.nocloud_loaded`, "", { mode: 0o600, noFollow: true }).pipe(Effect.ignore)
        return { refused: {} }
      }
    }
    if (Option.isNone(seed) && Option.isSome(params) && (params.value.localHostname || params.value.instanceId)) {
      seed = Option.some({ files: {}, refused: {} })
    }
    if (Option.isNone(seed)) return yield* Effect.fail(new SeedError({ reason: "Unable to load NoCloud datasource" }))
    const { files } = seed.value
    // an optional file that cannot be read (cloud-init takes any failure of it as none) is said and left out: the seed is then
    // marked loaded, and no later phase waits for it again (a seed server answering it 500 cost each phase IMDS_DEADLINE, unsaid)
    // (once its meta-data is read: a seed server out of reach, whose every file fails, is said by the reads of the files that count)
    const refused = { ...seed.value.refused }
    for (const name of refused["meta-data"] === undefined ? OPTIONAL_FILES : []) {
      const leftOut = refused[name]
      if (leftOut === undefined) continue
      delete refused[name]
      yield* warn(`${leftOut.message}; left out`)
    }
    const copied = yield* Effect.either(
      Effect.gen(function* () {
        for (const name of SEED_FILES) yield* fs.remove(`${dir}/${name}`)
        for (const [name, data] of Object.entries(files)) yield* fs.writeAtomic(`${dir}/${name}`, data, { mode: 0o600, noFollow: true })
        if (Object.keys(refused).length === 0) yield* fs.writeAtomic(`${dir}/.nocloud_loaded`, "", { mode: 0o600, noFollow: true })
      })
    )
    if (Either.isLeft(copied)) yield* warn(`cannot copy the NoCloud seed: ${copied.left.message}; read from the seed itself`)
    const meta = files["meta-data"]
    const hasOverrides = Option.exists(params, (p) => p.localHostname !== undefined || p.instanceId !== undefined)
    if ((meta === undefined || textOf(meta).trim() === "") && !hasOverrides && refused["meta-data"] === undefined) yield* warn("NoCloud 'meta-data' is empty")
    // a document that is no mapping (an HTML page a seed server answered 200 with, a bare word) has no key at all: said, never quoted (invalid YAML is its readers' error)
    else if (meta !== undefined && textOf(meta).trim() !== "") {
      const doc = yield* Effect.option(parsedYaml(textOf(meta)))
      if (Option.exists(doc, (d) => d !== null && (typeof d !== "object" || Array.isArray(d)))) yield* warn("NoCloud 'meta-data' is not a YAML mapping; ignored")
      // cloud-init reads a seed named by the meta-data's own seedfrom (a cidata volume pointing at a seed server); this
      // reads only the command line's: said, never quoted (a URL may hold credentials), so a seed without keys is explained
      // (a seed the command line named is followed already: its own seedfrom is no other place)
      else if (!followed && Option.exists(doc, (d) => d !== null && Object.hasOwn(d as object, "seedfrom")))
        yield* warn("NoCloud meta-data 'seedfrom' is not followed; give it as s= in ds=nocloud on the kernel command line or the SMBIOS serial")
    }
    // said once, as the seed is loaded: never dropped silently (Proxmox VE writes an empty one where none is given)
    const vendor = files["vendor-data"]
    if (vendor !== undefined && textOf(vendor).trim() !== "") {
      const said = yield* vendorDataNotApplied(vendor, "NoCloud 'vendor-data'")
      if (said !== undefined) yield* warn(said)
    }
    return Either.isLeft(copied) ? { refused, held: files } : { refused }
  })
