/** The NoCloud seed (BEHAVIOUR.md §5): where it comes from and how it is copied in once. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SeedError, type FsError, type ImdsError } from "../domain/errors.js"
import { textOf } from "../domain/text.js"
import { Commands } from "../services/Commands.js"
import { Config } from "../services/Config.js"
import type { Http } from "../services/Http.js"
import { warn, type Log } from "../services/Log.js"
import { RootFs } from "../services/RootFs.js"
import { makeHttpMetadataClient, USER_DATA } from "./imds-http.js"

export const SEED_FILES = ["meta-data", "user-data", "vendor-data", "network-config"] as const

/** `ds=nocloud;KEY=VALUE;...` from the kernel command line or the SMBIOS serial */
export interface SeedParams {
  readonly localHostname?: string
  readonly instanceId?: string
  readonly seedFrom?: string
}

const DS = /^(?:.*=)?ds=nocloud(?:-net)?(?:;(.*))?$/

export const parseDs = (text: string): Option.Option<SeedParams> => {
  for (const word of text.trim().split(/\s+/)) {
    const m = DS.exec(word)
    if (!m) continue
    const params: { localHostname?: string; instanceId?: string; seedFrom?: string } = {}
    for (const kv of (m[1] ?? "").split(";")) {
      const eq = kv.indexOf("=")
      if (eq < 0) continue
      const [k, v] = [kv.slice(0, eq), kv.slice(eq + 1)]
      if (k === "h" || k === "local-hostname") params.localHostname = v
      else if (k === "i" || k === "instance-id") params.instanceId = v
      else if (k === "s" || k === "seedfrom") params.seedFrom = v
    }
    return Option.some(params)
  }
  return Option.none()
}

/** the seed parameters from the command line, else the SMBIOS serial */
export const seedParams = Effect.gen(function* () {
  const fs = yield* RootFs
  for (const source of ["/proc/cmdline", "/sys/class/dmi/id/product_serial"]) {
    const text = yield* fs.readTextIfExists(fs.at(source)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    const params = Option.flatMap(text, parseDs)
    if (Option.isSome(params)) return params
  }
  return Option.none<SeedParams>()
})

export const isHttpSeed = (params: Option.Option<SeedParams>) =>
  Option.exists(params, (p) => /^https?:\/\//.test(p.seedFrom ?? ""))

export const seedDir = Effect.map(Config, (s) => `${s.varDir}/nocloud`)

type Files = Partial<Record<(typeof SEED_FILES)[number], Uint8Array>>

const fromDirectory = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const { userDataMaxBytes } = yield* Config
    if (!(yield* fs.isDirectory(dir))) return Option.none<Files>()
    const files: Files = {}
    for (const name of SEED_FILES) {
      const data = yield* fs.readFileIfExists(`${dir}/${name}`, { maxBytes: userDataMaxBytes })
      if (Option.isSome(data)) files[name] = data.value
    }
    return Option.some(files)
  })

const fromUrl = (url: string) =>
  Effect.gen(function* () {
    const u = new URL(url.endsWith("/") ? url : `${url}/`)
    const client = yield* makeHttpMetadataClient({
      cloud: "nocloud",
      endpoint: u.host,
      root: u.pathname,
      protocol: u.protocol === "https:" ? "https" : "http",
      fixedEndpoint: true
    })
    const files: Files = {}
    const fetched = yield* Effect.forEach(SEED_FILES, (name) => client.get(`${u.pathname}${name}`, USER_DATA), { concurrency: 4 })
    SEED_FILES.forEach((name, i) => Option.map(fetched[i]!, (data) => (files[name] = data)))
    return Option.some(files)
  })

const fromVolume = Effect.gen(function* () {
  const fs = yield* RootFs
  const commands = yield* Commands
  const mnt = yield* fs.makeTempDirectory(fs.at("/run/tiny-cloud/cidata-"))
  for (const fstype of ["vfat", "iso9660"]) {
    for (const label of ["cidata", "CIDATA"]) {
      const mounted = yield* commands.run("mount", ["-o", "ro", "-t", fstype, `LABEL=${label}`, mnt], { allowFailure: true }).pipe(
        Effect.map((r) => r.exitCode === 0),
        Effect.orElseSucceed(() => false)
      )
      if (!mounted) continue
      const files = yield* fromDirectory(mnt).pipe(Effect.ensuring(commands.run("umount", [mnt]).pipe(Effect.ignore)))
      yield* fs.remove(mnt, { recursive: true }).pipe(Effect.ignore)
      return files
    }
  }
  yield* fs.remove(mnt, { recursive: true }).pipe(Effect.ignore)
  return Option.none<Files>()
})

const fromSeedFrom = (seedFrom: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    if (/^https?:\/\//.test(seedFrom)) return yield* fromUrl(seedFrom)
    const path = seedFrom.replace(/^file:\/\//, "")
    if (path.startsWith("/")) return yield* fromDirectory(fs.at(path))
    yield* warn(`Unknown NoCloud seedfrom value '${seedFrom}'`)
    return Option.none<Files>()
  })

/**
 * Copies the seed byte-exact into `$TINY_CLOUD_VAR/nocloud/` once: from the
 * command line's seedfrom, else a cidata volume, else the image's seed directory.
 */
export const loadSeed = (params: Option.Option<SeedParams>): Effect.Effect<void, SeedError | ImdsError | FsError, RootFs | Commands | Config | Http | Log> =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const dir = yield* seedDir
    if (yield* fs.exists(`${dir}/.nocloud_loaded`)) return
    const { varDir } = yield* Config
    let files = Option.none<Files>()
    if (Option.isSome(params) && params.value.seedFrom) files = yield* fromSeedFrom(params.value.seedFrom)
    if (Option.isNone(files)) files = yield* fromVolume
    if (Option.isNone(files)) files = yield* fromDirectory(`${varDir}/seed/nocloud`)
    if (Option.isNone(files) && Option.isSome(params) && (params.value.localHostname || params.value.instanceId)) {
      files = Option.some({})
    }
    if (Option.isNone(files)) return yield* Effect.fail(new SeedError({ reason: "Unable to load NoCloud datasource" }))
    for (const name of SEED_FILES) yield* fs.remove(`${dir}/${name}`)
    for (const [name, data] of Object.entries(files.value)) yield* fs.writeAtomic(`${dir}/${name}`, data, { mode: 0o600, noFollow: true })
    yield* fs.writeAtomic(`${dir}/.nocloud_loaded`, "", { mode: 0o600, noFollow: true })
    const meta = files.value["meta-data"]
    const hasOverrides = Option.exists(params, (p) => p.localHostname !== undefined || p.instanceId !== undefined)
    if ((meta === undefined || textOf(meta).trim() === "") && !hasOverrides) yield* warn("NoCloud 'meta-data' is empty")
  })
