import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { UnusableValue, unusableAnswer } from "../../domain/errors.js"
import { ipv4 } from "../../domain/ip.js"
import { printable } from "../../domain/text.js"
import { Commands } from "../../services/Commands.js"
import { info, warn } from "../../services/Log.js"
import { Metadata } from "../../services/Metadata.js"
import { RootFs } from "../../services/RootFs.js"

/** a label of the domain, as DNS allows it (and `_`, as clouds serve it) */
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/
/** the host's own name: up to 64 characters, as Linux allows it (an Azure computer name may be that long) */
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$/

/** a name in DNS's absolute form (one trailing dot, as some metadata serves it) is the same name without the dot */
export const withoutRootDot = (name: string) => (/[^.]\.$/.test(name) ? name.slice(0, -1) : name)

/** a domain name as DNS writes it, in its absolute form too (`example.com.`) */
const isDomain = (word: string) => withoutRootDot(word).split(".").every((l) => LABEL.test(l))

/**
 * The cloud's name for the host: the first of several (AWS serves
 * `NAME.DOMAIN1. DOMAIN2` when a VPC's DHCP options list two domains), only
 * in that form: a full name, then domains. Any other value with a blank in it
 * (a NoCloud `local-hostname: my server`) is no name, refused as it is, never
 * cut to its first word. An IPv4 address in its place names the host
 * `ip-A-B-C-D`, as cloud-init names it.
 */
const hostnameOf = (served: string) => {
  const [first, ...domains] = served.trim().split(/ +/)
  const several = first!.includes(".") && domains.length > 0 && domains.every(isDomain)
  const name = withoutRootDot(several ? first! : served.trim())
  const address = ipv4(name)
  return address === undefined ? name : `ip-${address.replaceAll(".", "-")}`
}

/**
 * `/etc/hosts` with one `127.0.1.1` line, the host's own: it takes the place
 * of the first one there (an earlier bootstrap's name, or the image's), the
 * others go, so that a name the host no longer has does not stay its own.
 */
const withOwnName = (hosts: string, line: string): string => {
  const lines = hosts.split("\n")
  const own = lines.findIndex((l) => /^127\.0\.1\.1\s/.test(l))
  if (own < 0) return `${hosts}${hosts === "" || hosts.endsWith("\n") ? "" : "\n"}${line}\n`
  const kept = lines.flatMap((l, i) => (i === own ? [line] : /^127\.0\.1\.1\s/.test(l) ? [] : [l])).join("\n")
  return kept.endsWith("\n") ? kept : `${kept}\n`
}

/**
 * `/etc/hostname` gets the short name, which is applied; `/etc/hosts` the
 * FQDN once, in place of another name's `127.0.1.1` line. `short` is the
 * name of the host itself, the first label of `fqdn` unless it is given.
 * A full name some label of which is not one (a domain label over 63, a
 * name over 253, `a..b`) fails the action in one line, but costs only
 * itself: the host is still named `short` when that is a name, as the shell
 * edition and cloud-init name it, and `/etc/hosts` gets the short name
 * alone. A `hostname -F` that fails (no right to name the host, no
 * `hostname`) is a warning naming `action`: the files name the host from
 * the next boot on, and what follows (the keys) is still done.
 */
export const applyHostname = (fqdn: string, short: string = fqdn.split(".")[0]!, action = "set_hostname") =>
  Effect.gen(function* () {
    const invalid = `invalid hostname '${printable(fqdn)}'`
    if (!HOST_LABEL.test(short)) return yield* Effect.fail(new UnusableValue({ reason: invalid }))
    const [own, ...domain] = fqdn.split(".")
    const whole = HOST_LABEL.test(own!) && domain.every((l) => LABEL.test(l)) && fqdn.length <= 253
    const fs = yield* RootFs
    const file = fs.at("/etc/hostname")
    // the image's file, as /etc/hosts below: one that cannot be replaced (a directory in its place, a read-only /etc) fails this action alone, the keys after it are still set;
    // one that names the host already is left as it is (keep: an operator's, made immutable with that name, is nothing to refuse)
    yield* fs.writeAtomic(file, `${short}\n`, { keep: true }).pipe(Effect.mapError((e) => new UnusableValue({ reason: e.message })))
    // the file as written, which a link leads to inside ROOT, never the host's own
    const written = yield* fs.realPath(file)
    yield* Effect.flatMap(Commands, (c) => c.run("hostname", ["-F", written])).pipe(
      Effect.catchTag("CommandError", (e) => warn(`${action}: hostname -F /etc/hostname: ${e.reason}`))
    )
    const hosts = fs.at("/etc/hosts")
    // the image's file: one that cannot be read or replaced (grown huge, a directory) fails this action alone, the keys after it are still set
    yield* Effect.gen(function* () {
      const text = Option.getOrElse(yield* fs.readTextIfExists(hosts), () => "")
      const updated = withOwnName(text, `127.0.1.1\t${whole ? fqdn : short} ${short}`)
      if (updated !== text) yield* fs.writeAtomic(hosts, updated, { keep: true })
    }).pipe(Effect.mapError((e) => new UnusableValue({ reason: e.message })))
    if (!whole) return yield* Effect.fail(new UnusableValue({ reason: `${invalid}: the host is named ${short}, without a domain` }))
  })

export const setHostname = Effect.gen(function* () {
  // a name served past its size limit cannot be used, as an invalid one cannot: the keys after it are still set
  const fqdn = yield* Effect.flatMap(Metadata, (m) => m.hostname).pipe(Effect.mapError(unusableAnswer))
  if (Option.isNone(fqdn)) {
    yield* info("set_hostname: no hostname set")
    return
  }
  yield* applyHostname(hostnameOf(fqdn.value))
})
