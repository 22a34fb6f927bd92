/** What several clouds' files share: DMI detection, value decoders, JSON NIC lists. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ImdsError, type MetadataError } from "../domain/errors.js"
import { MAX_NESTING, nestsDeeperThan, renderValue } from "../domain/render.js"
import { bytesOf, lines, messageOf, printable, sortedUnique, textOf } from "../domain/text.js"
import { takeTokens, withLineFeeds, YAML_MAX_NESTING, YAML_MAX_TOKENS, yamlNestsDeeperThan } from "../domain/yaml-depth.js"
import { userDataWord } from "../domain/userdata/type.js"
import { yamlProblem } from "../domain/yaml-problem.js"
import { Commands } from "../services/Commands.js"
import { Log, warn } from "../services/Log.js"
import { isNicAlias, type NicAlias } from "../services/Metadata.js"
import { containerKind, RootFs } from "../services/RootFs.js"
import type { GetOptions, HttpMetadataClient } from "./imds-http.js"
import { unsupported } from "./provider.js"

/** the AWS-style NIC sub-paths the `@nic:` aliases stand for */
export const AWS_NIC_PATHS: Readonly<Record<string, string>> = {
  "@mac": "mac",
  "@ipv4": "local-ipv4s",
  "@ipv6": "ipv6s",
  "@ipv4-net": "subnet-ipv4-cidr-block",
  "@ipv6-net": "subnet-ipv6-cidr-blocks",
  "@ipv4-prefix": "ipv4-prefix",
  "@ipv6-prefix": "ipv6-prefix"
}

/** the most lines that name the entries a metadata read leaves out: a list of thousands is a read's few lines, not thousands in syslog */
const LEFT_OUT_LISTED = 100

/** a warning line for each entry left out, up to LEFT_OUT_LISTED of them, then one line counting the others */
export const sayLeftOut = <A>(leftOut: ReadonlyArray<A>, line: (entry: A) => string, more: (count: number) => string) =>
  Effect.gen(function* () {
    for (const entry of leftOut.slice(0, LEFT_OUT_LISTED)) yield* warn(line(entry))
    if (leftOut.length > LEFT_OUT_LISTED) yield* warn(more(leftOut.length - LEFT_OUT_LISTED))
  })

/** a text datum, trimmed; empty is absent */
export const textValue = (client: HttpMetadataClient, path: string, options?: GetOptions) =>
  Effect.map(
    client.get(path, options),
    Option.flatMap((b) => {
      const t = textOf(b).trim()
      return t === "" ? Option.none() : Option.some(t)
    })
  )

/** the first of several reads that has a value (`cloud-init.user-data`, else `user.user-data`) */
export const firstPresent = <A, E, R>(...reads: ReadonlyArray<Effect.Effect<Option.Option<A>, E, R>>): Effect.Effect<Option.Option<A>, E, R> =>
  reads.reduceRight<Effect.Effect<Option.Option<A>, E, R>>(
    (rest, read) => Effect.flatMap(read, (o) => (Option.isSome(o) ? Effect.succeed(o) : rest)),
    Effect.succeed(Option.none())
  )

/** a byte of the base64 alphabet (`=` aside) */
const isBase64Digit = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2f

/** the blanks `base64` and the clouds put in base64 text: space, tab, CR, LF, FF, VT */
const isBase64Blank = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d)

/**
 * Base64 text as the clouds serve it: whitespace (the line breaks `base64`
 * writes) is allowed, anything else outside the alphabet is an error; the
 * reason names where, never the data. Padding past the quad's end is
 * dropped, as Python's b64decode (cloud-init) drops it: `aGVsbG8===` is
 * `hello`. Empty after decoding is None. Read in one pass over the bytes, and
 * decoded from one string of them: user-data of USERDATA_MAX_BYTES comes as
 * a third more, and each copy of it counts.
 */
export const decodeBase64 = (bytes: Uint8Array): { readonly decoded: Option.Option<Uint8Array> } | { readonly invalid: string } => {
  let digits = 0
  let padded = false
  let padBeforeEnd = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (isBase64Digit(b)) {
      digits++
      if (padded) padBeforeEnd = true
    } else if (b === 0x3d) padded = true
    // (every byte before it is ASCII: its index is the character's in the text)
    else if (!isBase64Blank(b)) return { invalid: `invalid base64: character ${i + 1} is outside the base64 alphabet` }
  }
  if (padBeforeEnd) return { invalid: "invalid base64: '=' before the end" }
  if (digits % 4 === 1) return { invalid: "invalid base64: truncated" }
  const decoded = decodedBase64(bytes)
  return { decoded: decoded.length === 0 ? Option.none() : Option.some(decoded) }
}

/**
 * user-data read within USERDATA_MAX_BYTES in base64 (`AS_BASE64_USER_DATA`) held to USERDATA_MAX_BYTES, as it was
 * decoded or used as it came: past it, an ImdsError naming the cloud and the datum's URL, as an answer too large is
 */
export const userDataWithin = (client: HttpMetadataClient, path: string, decoded: boolean) => (body: Option.Option<Uint8Array>) =>
  Option.exists(body, (bytes) => bytes.length > client.userDataMaxBytes)
    ? Effect.fail(
        new ImdsError({
          cloud: client.cloud,
          url: client.urlOf(path),
          reason: `${decoded ? "decodes to more than" : "answer exceeds"} ${client.userDataMaxBytes} bytes (USERDATA_MAX_BYTES)`,
          exceeded: client.userDataMaxBytes
        })
      )
    : Effect.succeed(body)

/** user-data served base64-encoded, decoded, within USERDATA_MAX_BYTES; invalid base64 is an ImdsError naming the cloud and the datum's URL */
export const base64Datum = (client: HttpMetadataClient, path: string, body: Option.Option<Uint8Array>) =>
  Option.match(body, {
    onNone: () => Effect.succeed(Option.none<Uint8Array>()),
    onSome: (bytes) => {
      const result = decodeBase64(bytes)
      return "invalid" in result
        ? Effect.fail(new ImdsError({ cloud: client.cloud, url: client.urlOf(path), reason: result.invalid, unusable: true }))
        : userDataWithin(client, path, true)(result.decoded)
    }
  })

/** base64 text's bytes decoded, from one latin1 string of them (Node's decoder passes over blanks), as a view of the result */
const decodedBase64 = (bytes: Uint8Array): Uint8Array => {
  const decoded = Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1"), "base64")
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.length)
}

/**
 * A datum that may be base64: decoded when it is exactly one base64 token
 * (the alphabet, correct padding, nothing else), as cloud-init's
 * maybe_b64decode reads a cloud's user-data; anything else as it is.
 */
export const maybeBase64 = (body: Option.Option<Uint8Array>): Option.Option<Uint8Array> =>
  Option.map(body, (bytes) => (isBase64Token(bytes) ? decodedBase64(bytes) : bytes))

/** bytes that are exactly one base64 token, which `maybeBase64` decodes: read in one pass, never made text (user-data of USERDATA_MAX_BYTES comes so) */
export const isBase64Token = (bytes: Uint8Array): boolean => {
  if (bytes.length === 0 || bytes.length % 4 !== 0) return false
  let end = bytes.length
  while (end > bytes.length - 2 && bytes[end - 1] === 0x3d) end--
  if (end === 0) return false
  for (let i = 0; i < end; i++) if (!isBase64Digit(bytes[i]!)) return false
  return true
}

/**
 * reads a string the machine's firmware or hypervisor gives in sysfs, `$ROOT/PATH`, trimmed; empty when missing or
 * unreadable, and in a container, whose sysfs shows the host's (cloud-init reads no DMI there either): a container on
 * an EC2 or Hetzner host is not that cloud's instance, and its metadata service is the host's
 */
export const machineString = (path: string) =>
  Effect.flatMap(containerKind, (kind) =>
    kind !== undefined
      ? Effect.succeed("")
      : Effect.flatMap(RootFs, (fs) =>
          fs.readTextIfExists(fs.at(path)).pipe(
            Effect.map((o) => Option.getOrElse(o, () => "").trim()),
            Effect.orElseSucceed(() => "")
          )
        )
  )

/** reads `$ROOT/sys/class/dmi/id/NAME`, trimmed; empty when missing, and in a container */
export const dmi = (name: string) => machineString(`/sys/class/dmi/id/${name}`)

/** detection priority for clouds recognised by their hypervisor's SMBIOS strings */
export const DMI_PRIORITY = 50

export const whenTrue = (priority: number) => (found: boolean) => (found ? Option.some(priority) : Option.none<number>())

/** a detector from one DMI string */
export const dmiIs = (name: string, test: (value: string) => boolean) => Effect.map(dmi(name), (v) => whenTrue(DMI_PRIORITY)(test(v)))

const commandSucceeds = (command: string, args: ReadonlyArray<string>) =>
  Effect.flatMap(Commands, (c) =>
    c.run(command, args, { allowFailure: true }).pipe(
      Effect.map((r) => r.exitCode === 0),
      Effect.orElseSucceed(() => false)
    )
  )

/**
 * whether a filesystem labelled LABEL is there (`findfs`); never in a container, whose block devices are the host's
 * (the host's own seed or config drive): cloud-init's ds-identify probes no labels there either
 */
export const hasLabelledFilesystem = (label: string) =>
  Effect.flatMap(containerKind, (kind) => (kind !== undefined ? Effect.succeed(false) : commandSucceeds("findfs", [`LABEL=${label}`])))

/** non-empty bytes, else None (an empty answer is absent data) */
export const nonEmpty = (body: Option.Option<Uint8Array>): Option.Option<Uint8Array> => Option.filter(body, (b) => b.length > 0)

/**
 * Why JSON.parse refused a text, without the text: V8 quotes what it could
 * not read (`Unexpected token 'S', ..."in_pass": SECRET"... is not valid
 * JSON`), and a metadata document may hold a password or a key.
 */
const jsonProblem = (e: unknown): string => {
  const message = messageOf(e)
  return message.includes('"') ? "invalid JSON" : `invalid JSON: ${message}`
}

/**
 * A body that should be JSON; one that is not, or that nests more than
 * MAX_NESTING levels (which would overflow the stack where it is read or
 * printed), is an ImdsError naming the cloud and where it came from, never
 * quoting the body.
 */
export const parsedJson = (cloud: string, url: string, body: Option.Option<Uint8Array>) =>
  Option.match(body, {
    onNone: () => Effect.succeed(Option.none<unknown>()),
    onSome: (b) =>
      Effect.try({
        try: () => JSON.parse(textOf(b)) as unknown,
        catch: (e) => new ImdsError({ cloud, url, reason: jsonProblem(e), unusable: true })
      }).pipe(
        Effect.filterOrFail(
          (value) => !nestsDeeperThan(value, MAX_NESTING),
          () => new ImdsError({ cloud, url, reason: `JSON nested too deeply (more than ${MAX_NESTING} levels)`, unusable: true })
        ),
        Effect.map(Option.some)
      )
  })

/** why yaml refused a text, on one line, never quoting it (`yamlProblem`), with where */
const yamlFailure = (e: unknown): string => {
  if (!(e instanceof Error)) return "unreadable"
  const { code, linePos } = e as { code?: unknown; linePos?: ReadonlyArray<{ line: number; col: number }> }
  const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")
  const at = linePos?.[0] === undefined ? "" : ` at line ${linePos[0].line}, column ${linePos[0].col}`
  return `${yamlProblem(typeof code === "string" ? code : undefined, message)}${typeof code === "string" ? at : ""}`
}

/** YAML's number types: without them a plain scalar that looks like a number stays the text it is */
const NUMBER_TAGS: ReadonlyArray<string> = ["tag:yaml.org,2002:int", "tag:yaml.org,2002:float"]

/** how many of a vendor-data's keys its warning names */
const VENDOR_KEYS_LISTED = 10

/**
 * The line that says a vendor-data is not applied (cloud-init applies it beneath the user-data: a Proxmox VE
 * `cicustom vendor=` snippet installing its guest agent, an Incus profile's `cloud-init.vendor-data`): `what` and its type,
 * and a cloud-config's top-level keys but those `applied` says are (never their values); undefined when every key is
 */
export const vendorDataNotApplied = (bytes: Uint8Array, what: string, applied: (key: string, value: unknown) => boolean = () => false) =>
  Effect.gen(function* () {
    const word = userDataWord(bytes)
    const said = `${what} (${word}) is not applied`
    if (word !== "cloud-config") return said
    const doc = yield* Effect.option(parsedYaml(textOf(bytes)))
    const map = Option.getOrUndefined(Option.filter(doc, (d): d is Record<string, unknown> => d !== null && typeof d === "object" && !Array.isArray(d)))
    if (map === undefined) return said
    const keys = Object.keys(map).filter((k) => !applied(k, map[k]))
    if (keys.length === 0) return Object.keys(map).length === 0 ? said : undefined
    const named = keys.slice(0, VENDOR_KEYS_LISTED).map((k) => printable(k, 60))
    const more = keys.length > VENDOR_KEYS_LISTED ? ` and ${keys.length - VENDOR_KEYS_LISTED} more` : ""
    return `${said}: its ${keys.length === 1 ? "key" : "keys"} ${named.join(", ")}${more} ${keys.length === 1 ? "is" : "are"} ignored`
  })

/**
 * A YAML document a cloud serves (a seed's meta-data, user-data), its
 * reason for failing as one line that never quotes it: the parser is loaded only when one is
 * read, and a document nested deeper, or holding more tokens, than any
 * real one is refused unread. `numbersAsWritten`: a number is its text as
 * the document writes it (`007`, `1.0`, an id of 20 digits), as the shell
 * edition's `yx` printed it, never the number it reads as. A key given twice
 * keeps its last value; a block scalar that ends the text without a line
 * break has none, as in user-data (`loadYaml`).
 */
export const parsedYaml = (given: string, options?: { readonly numbersAsWritten?: boolean }) =>
  Effect.gen(function* () {
    // a CR alone ends a line, as PyYAML (cloud-init) reads a seed's meta-data
    const text = withLineFeeds(given)
    if (yamlNestsDeeperThan(text)) return yield* Effect.fail(`nested too deeply (more than ${YAML_MAX_NESTING} levels)`)
    const { Lexer, parseDocument } = yield* Effect.promise(() => import("yaml"))
    const { aliasProblem } = yield* Effect.promise(() => import("../domain/userdata/yaml-aliases.js"))
    const { withoutAddedLineBreak } = yield* Effect.promise(() => import("../domain/yaml-line-break.js"))
    if (!takeTokens(new Lexer().lex(text), { tokens: YAML_MAX_TOKENS })) return yield* Effect.fail(`too large to read (more than ${YAML_MAX_TOKENS} YAML tokens)`)
    // warnings (an unknown tag such as `!vault`) are not printed: yaml would emit them to stderr with the document's line
    const doc = yield* Effect.try({
      try: () => {
        const doc = parseDocument(text, {
          logLevel: "error",
          // a key written twice keeps its last value, as PyYAML (cloud-init) reads it, rather than the document being lost
          uniqueKeys: false,
          customTags: (tags) => (options?.numbersAsWritten ? tags.filter((t) => typeof t === "string" || !NUMBER_TAGS.includes(t.tag)) : tags)
        })
        const [error] = doc.errors
        if (error !== undefined) throw error
        withoutAddedLineBreak(doc, text)
        return doc
      },
      catch: yamlFailure
    })
    // aliases bounded by what they add, as in user-data (loadYaml), not by how often one anchor is named (the parser's 100)
    const aliases = aliasProblem(doc)
    if (aliases !== undefined) return yield* Effect.fail(`too large to read (${aliases})`)
    return yield* Effect.try({ try: () => doc.toJS({ maxAliasCount: -1 }) as unknown, catch: yamlFailure })
  })

/**
 * A directory asked for without its trailing `/` is answered with a redirect
 * to it (GCP's metadata server; DigitalOcean's, whose documentation says an
 * index asked without it gets "301 Moved Permanently"), which wget, the
 * shell edition's client, follows: asked again with the `/`.
 */
export const followingDirectoryRedirect = (client: HttpMetadataClient) => (path: string) =>
  client.get(path).pipe(
    Effect.catchIf(
      (e) => e.status === 301 && !/\/(\?.*)?$/.test(path),
      () => client.get(path.replace(/^([^?]*)/, "$1/"))
    )
  )

/** a datum served as JSON */
export const jsonValue = (client: HttpMetadataClient, path: string, options?: GetOptions) =>
  Effect.flatMap(client.get(path, options), (body) => parsedJson(client.cloud, client.urlOf(path), body))

/**
 * The entries of a key listing (`0=name`, `0/`...), each once, at most
 * IMDS_MAX_KEYS of them: a listing past the limit is an error, before any
 * key is fetched. Only entry names that are plain numbers are kept.
 */
export const listedIndexes = (client: HttpMetadataClient, path: string, entry: (line: string) => string) =>
  Effect.gen(function* () {
    const imdsMaxKeys = client.maxKeys
    const listing = Option.getOrElse(yield* client.text(path), () => "")
    // each number once, however it is written (0, 00)
    const seen = new Set<number>()
    const indexes: Array<string> = []
    for (const n of lines(listing).map(entry)) {
      if (!/^\d{1,9}$/.test(n) || seen.has(Number(n))) continue
      seen.add(Number(n))
      indexes.push(n)
    }
    if (indexes.length > imdsMaxKeys) {
      return yield* Effect.fail(new ImdsError({ cloud: client.cloud, url: client.urlOf(path), reason: `more than ${imdsMaxKeys} keys (IMDS_MAX_KEYS)`, unusable: true }))
    }
    return indexes
  })

/**
 * The keys a listing names, each fetched (four at a time) within
 * KEY_MAX_BYTES: a key over it is left out with a warning and the others are
 * kept; any other failure fails the list. Sorted, each once. `keysOf` reads
 * the keys of one entry (by default, one a line).
 */
export const listedKeys = (
  client: HttpMetadataClient,
  indexes: ReadonlyArray<string>,
  pathOf: (index: string) => string,
  keysOf: (entry: string) => ReadonlyArray<string> = lines
) =>
  Effect.map(
    Effect.forEach(
      indexes,
      (n) =>
        client.text(pathOf(n), { sshKey: true }).pipe(
          Effect.catchIf(
            (e) => e.exceeded !== undefined,
            (e) =>
              Effect.as(
                Effect.flatMap(Effect.serviceOption(Log), (log) => (Option.isSome(log) ? log.value.log("warn", `${e.message}; the key is left out`) : Effect.void)),
                Option.none<string>()
              )
          )
        ),
      { concurrency: 4 }
    ),
    (keys) => sortedUnique(keys.flatMap((k) => (Option.isSome(k) ? keysOf(k.value) : [])))
  )

/** a structured value as `imds` prints it */
export const rendered = (value: unknown): Option.Option<Uint8Array> => Option.map(renderValue(value), bytesOf)

/** MAC addresses compared by their hex digits, case-insensitively (`02:AB..`, `02ab..`) */
const sameMac = (a: unknown, b: string): boolean =>
  typeof a === "string" && a.replace(/[^0-9a-f]/gi, "").toLowerCase() === b.replace(/[^0-9a-f]/gi, "").toLowerCase()

export type JsonObject = Readonly<Record<string, unknown>>

/**
 * A parsed document's own datum `key` (a list's by its index): what a
 * document merely inherits (`constructor`, `toString`, a list's `length`)
 * is no datum of the cloud's.
 */
export const field = (o: unknown, key: string): unknown => {
  if (o === null || typeof o !== "object") return undefined
  const own = Array.isArray(o) ? (/^\d+$/.test(key) ? Number(key) : undefined) : key
  return own !== undefined && Object.hasOwn(o, own) ? (o as JsonObject)[own] : undefined
}

/**
 * a meta-data's `public-keys` (NoCloud's, Incus's user.meta-data): a string, a list of strings or `{openssh-key}` maps,
 * or a map of those. A list or map inside itself (a YAML alias inside its own anchor, `&k [KEY, *k]`) is read once:
 * `within` holds those being read
 */
export const publicKeysOf = (value: unknown, within: Set<object> = new Set(), leftOut?: { count: number }): Array<string> => {
  if (typeof value === "string") return lines(value)
  // a number or a boolean is no key: counted, when the caller counts them, and left out
  if (leftOut !== undefined && (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")) leftOut.count++
  if (value === null || typeof value !== "object" || within.has(value)) return []
  within.add(value)
  const o = value as Record<string, unknown>
  const keys = Array.isArray(value) || !("openssh-key" in o) ? Object.values(o).flatMap((v) => publicKeysOf(v, within, leftOut)) : publicKeysOf(o["openssh-key"], within, leftOut)
  within.delete(value)
  return keys
}

/** the datum at a path of keys in a parsed document, `field` by `field` */
export const valueAt = (document: unknown, path: ReadonlyArray<string>): unknown => path.reduce<unknown>((v, key) => field(v, key), document)

/**
 * `@nic:` lookups on clouds that publish their NICs as a JSON list: the NIC is
 * the entry whose MAC matches; an alias is read from it, a verbatim sub-path
 * (or "" for the NIC itself) is fetched from the cloud. NIC aliases the cloud
 * has no datum for are `MetadataUnsupported`.
 */
export const jsonNicLookup =
  (spec: {
    readonly cloud: string
    readonly list: Effect.Effect<Option.Option<unknown>, ImdsError>
    readonly macOf: (nic: JsonObject) => unknown
    readonly aliases: Readonly<Partial<Record<NicAlias, (nic: JsonObject) => unknown>>>
    readonly subPath: (index: number, sub: string) => Effect.Effect<Option.Option<Uint8Array>, ImdsError>
  }) =>
  (mac: string, key: string): Effect.Effect<Option.Option<Uint8Array>, MetadataError> => {
    const alias = isNicAlias(key) ? spec.aliases[key] : undefined
    if (isNicAlias(key) && alias === undefined) return unsupported(spec.cloud, key)
    return Effect.flatMap(spec.list, (list) => {
      const nics = Option.match(list, { onNone: () => [], onSome: (l) => (Array.isArray(l) ? l : []) })
      const index = nics.findIndex((n) => n !== null && typeof n === "object" && sameMac(spec.macOf(n as JsonObject), mac))
      if (index < 0) return Effect.succeed(Option.none<Uint8Array>())
      return alias !== undefined ? Effect.succeed(rendered(alias(nics[index] as JsonObject))) : spec.subPath(index, key)
    })
  }
