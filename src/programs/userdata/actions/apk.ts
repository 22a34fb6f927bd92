/** apk: the package cache, the repositories, `package_update`, `package_upgrade` and `packages`. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { warn } from "../../../services/Log.js"
import { RootFs } from "../../../services/RootFs.js"
import { textOf } from "../../../domain/text.js"
import { PhaseContext } from "../../action.js"
import { loadUserConfig } from "../load.js"
import { apkVersion, repositoryLines } from "../../../domain/userdata/model.js"
import { fail, instancePath, system } from "./common.js"

const osVersionId = Effect.gen(function* () {
  const fs = yield* RootFs
  const text = yield* fs.readTextIfExists(fs.at("/etc/os-release")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
  const m = /^VERSION_ID=(.*)$/m.exec(Option.getOrElse(text, () => ""))
  return m ? m[1]!.trim().replace(/^(["'])(.*)\1$/, "$2") : undefined
})

/**
 * `apk update`, once per run for the repositories as they are: a cloud image
 * ships without apk's indexes (its builder removes /var/cache/apk), and
 * `apk add` finds no package without them. cloud-init refreshes them once
 * before it installs anything.
 */
const apkUpdate = Effect.gen(function* () {
  const { apkIndexFresh } = yield* PhaseContext
  if (yield* Ref.get(apkIndexFresh)) return
  yield* system("apk", ["update"], "apk update")
  yield* Ref.set(apkIndexFresh, true)
})

/** the repositories changed: their indexes are to be fetched again */
const repositoriesChanged = Effect.flatMap(PhaseContext, (ctx) => Ref.set(ctx.apkIndexFresh, false))

/** apk's database of the installed packages (`/usr/lib` where /lib is merged into it) */
const APK_INSTALLED = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"]

/**
 * The most of that database read: it lists every file of every package, and
 * a big image's (a desktop, texlive) passes READ_MAX_BYTES; apk reads it
 * whole too. Below the longest string Node makes.
 */
const APK_INSTALLED_MAX_BYTES = 256 * 1024 * 1024

/** `line` is one of `text`'s lines (searched, not split: the database has millions) */
const hasLine = (text: string, line: string) =>
  text === line || text.startsWith(`${line}\n`) || text.endsWith(`\n${line}`) || text.includes(`\n${line}\n`)

const apkHas = (pkg: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    for (const path of APK_INSTALLED) {
      const db = yield* fs.readFileIfExists(fs.at(path), { maxBytes: APK_INSTALLED_MAX_BYTES }).pipe(Effect.orElseSucceed(() => Option.none<Uint8Array>()))
      // each package's entry has its name on a `P:` line
      if (Option.isSome(db) && hasLine(textOf(db.value), `P:${pkg}`)) return true
    }
    return false
  })

/** a package an action needs (chrony, tzdata): left alone when installed, as cloud-init does, else added after `apk update` */
export const apkInstall = (pkg: string) =>
  Effect.gen(function* () {
    if (yield* apkHas(pkg)) return
    yield* apkUpdate
    yield* system("apk", ["add", pkg], "apk add")
  })

/** `$ROOT/DIR` created; `/etc/apk/cache` a relative link to it */
export const userdataApkCache = Effect.gen(function* () {
  const { apk } = yield* loadUserConfig("userdata_apk_cache")
  if (apk.cache === undefined || apk.cache.trim() === "") return
  const fs = yield* RootFs
  const dir = instancePath(apk.cache)
  const link = fs.at("/etc/apk/cache")
  yield* fs.makeDirectory(fs.at(dir))
  // the cache named as /etc/apk/cache itself: the directory made is the cache (a link there would lead to itself)
  if (dir.replace(/\/+$/, "") === "/etc/apk/cache") return
  // an empty directory in the link's place (an image's) makes way for it; one with files is left alone
  if (!(yield* fs.isSymlink(link)) && (yield* fs.isDirectory(link))) {
    if ((yield* fs.readDirectory(link)).length > 0) return yield* fail("/etc/apk/cache is a directory with files in it; left alone")
    yield* fs.remove(link, { recursive: true })
  }
  yield* fs.symlink(`../..${dir}`, link)
})

/** a repository line whose URL carries a user or password (`https://user:pass@mirror.example/alpine`, a private mirror's) */
const carriesCredentials = (line: string) => /:\/\/[^/\s]*@/.test(line)

/** `file` (when there) kept from its group and others, before a secret goes into it: never readable by them with it */
const rootsAlone = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* RootFs
    const owned = yield* fs.ownership(file)
    if (Option.isSome(owned) && (owned.value.mode & 0o077) !== 0) yield* fs.chmod(yield* fs.resolve(file), owned.value.mode & ~0o077)
  })

export const userdataApkRepositories = Effect.gen(function* () {
  const { apk } = yield* loadUserConfig("userdata_apk_repositories")
  const fs = yield* RootFs
  const file = fs.at("/etc/apk/repositories")
  if (!apk.configured) {
    if (yield* fs.exists(file)) return
    yield* repositoriesChanged
    return yield* system("setup-apkrepos", ["-1", "-c"], "setup-apkrepos")
  }
  if (apk.repositories.length === 0) return
  const version = apkVersion(yield* osVersionId)
  const lines = apk.repositories.flatMap((r) => repositoryLines(r, version))
  yield* repositoriesChanged
  // a private mirror's user and password are a secret (rule 3): the file root's alone, as status.json is, whatever it was
  const secret = lines.some(carriesCredentials)
  if (secret) yield* rootsAlone(file)
  const mode = secret ? 0o600 : 0o644
  if (apk.replaceRepositories) yield* fs.writeAtomic(file, lines.map((l) => `${l}\n`).join(""), { mode, keep: true })
  else yield* fs.addLinesOnce(file, lines, { mode })
  // with no release to default to, BASE/REPO is added, as the shell edition adds it (a local repository, /srv/packages/main,
  // may have no version in its path); said, as a mirror's such line is no repository (cloud-config's alpine_repo has its version)
  const unversioned = version === undefined ? apk.repositories.filter((r) => r.version === undefined).length : 0
  if (unversioned > 0) {
    const what = unversioned === 1 ? "1 repository without a version" : `${unversioned} repositories without a version`
    yield* warn(`userdata_apk_repositories: no release (VERSION_ID) in /etc/os-release: ${what} added as BASE/REPO`)
  }
})

export const userdataPackageUpdate = Effect.gen(function* () {
  if ((yield* loadUserConfig("userdata_package_update")).packageUpdate) yield* apkUpdate
})

export const userdataPackageUpgrade = Effect.gen(function* () {
  if ((yield* loadUserConfig("userdata_package_upgrade")).packageUpgrade) yield* system("apk", ["upgrade"], "apk upgrade")
})

export const userdataPackages = Effect.gen(function* () {
  const { packages } = yield* loadUserConfig("userdata_packages")
  if (packages.length > 0) yield* system("apk", ["add", ...packages], "apk add")
})
