/** The HTTP metadata client every HTTP cloud shares: timeouts, retries with backoff, a deadline, session tokens. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { HttpTransportError, ImdsError } from "../domain/errors.js"
import { isRedirectStatus, isTransientStatus } from "../domain/http-status.js"
import { monotonicMillis } from "../domain/monotonic.js"
import { isBareIpv6, type Settings } from "../domain/settings.js"
import { tokenLifetimeMs } from "../domain/token.js"
import { textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { Http, type HttpRequest, type HttpResponse } from "../services/Http.js"
import { readingAhead } from "../services/Metadata.js"

/** How a cloud's metadata service is reached over HTTP. */
export interface HttpEndpoint {
  readonly cloud: string
  /** default `HOST` or `HOST:PORT`; `IMDS_ENDPOINT` overrides it */
  readonly endpoint: string
  /** metadata root, e.g. `/latest/`; a path starting with `/` bypasses it */
  readonly root: string
  readonly headers?: Readonly<Record<string, string>>
  /** appended to paths under the metadata root, e.g. `?format=text` */
  readonly query?: string
  readonly protocol?: "http" | "https"
  /**
   * the service's IPv6 address, where the cloud has one: an instance in an
   * IPv6-only subnet has no route to `endpoint`'s network. Until one of the
   * two has answered, a request that finds no route to one's network goes
   * to the other next (a host that does not answer, a refusal, a timeout at
   * `endpoint` do not: the service is there, or its token's answer was
   * dropped by the PUT hop limit), and any failure at this one goes back to
   * `endpoint`, whose network may have a route by then; the first to answer
   * is kept. Not when `IMDS_ENDPOINT` names the service.
   */
  readonly ipv6Endpoint?: string
  /** the endpoint is not a metadata service `IMDS_ENDPOINT` may redirect (NoCloud seed URLs) */
  readonly fixedEndpoint?: boolean
  /** HTTP over this unix socket instead of TCP */
  readonly socketPath?: string
  /**
   * the socket found anew before each request, in place of `socketPath`
   * (which names it until then): where a guest agent that has not started yet
   * will make it is not known before it does
   */
  readonly findSocket?: Effect.Effect<string>
  /** every request asked anew, never answered from those kept (the resident process's): a service whose answers move on */
  readonly fresh?: boolean
  /**
   * what a read refused (403) says of the service, after the status on the read's line (a read taken as absent on
   * 403, `forbiddenIsAbsent`, says nothing): Incus's guest API turned off for the instance refuses every read so
   */
  readonly forbidden?: string
  /** a session token sent as a header, fetched once and refreshed on 401; the answer's body is the token */
  readonly token?: {
    readonly header: string
    readonly request: Request
    /**
     * answers to the token request that mean the service has no session
     * tokens (an IMDSv1-only service refusing the PUT with 403, 404 or 405):
     * reads go without one until the service asks for one (401); so too
     * when the token request times out once connected but the metadata root is answered
     * without one
     */
    readonly absentOn?: ReadonlyArray<number>
    /**
     * what a read refused (403) without a token, the token request refused
     * (403) too, says of the service, after the status on the read's line:
     * AWS's IMDS turned off (`HttpEndpoint=disabled`) answers every request so
     */
    readonly refusedBoth?: string
  }
}

type Request = Omit<HttpRequest, "host" | "port" | "timeoutMs" | "maxBytes">

/** the most an answer may be, in bytes, and the name a line gives that limit */
interface Limit {
  readonly bytes: number
  readonly name: string
}

export interface GetOptions {
  readonly privilegedSourcePort?: boolean
  /** the datum is user-data (or a seed file): it may be as large as USERDATA_MAX_BYTES, not IMDS_MAX_BYTES */
  readonly userData?: boolean
  /**
   * with `userData`: the user-data may come base64-encoded (azure, oci, gcp's `user-data-encoding`, hetzner's one
   * token), so its answer may be USERDATA_MAX_BYTES in base64, and IMDS_MAX_BYTES for the line breaks base64 may
   * carry: user-data of USERDATA_MAX_BYTES is read. What it decodes to, or the answer used as it is, is held to
   * USERDATA_MAX_BYTES by its reader (`userDataWithin`)
   */
  readonly base64?: boolean
  /** the datum is one SSH public key: at most KEY_MAX_BYTES */
  readonly sshKey?: boolean
  /** a 403 is None too: the service refuses a name it does not offer (LXD's guest API before `cloud-init.*` keys) */
  readonly forbiddenIsAbsent?: boolean
  /**
   * why a 2xx answer is not whole yet (undefined: it is): such an answer is
   * asked for again, as a transient one is, until the deadline (Azure's
   * wireserver gives a goal state without its role instance for a while)
   */
  readonly incomplete?: (body: Uint8Array) => string | undefined
  /**
   * a 404 is asked again this many times, after the retry delay, before the
   * datum is taken as absent; never answered again from the answers kept
   * (the resident process's): OCI's service answers 404 for a few
   * milliseconds while it is updated, as Oracle told cloud-init. The
   * resident process's read-ahead takes the 404 as it comes (it is kept):
   * the phase that reads the datum asks again
   */
  readonly notFoundAskedAgain?: number
}

export interface PostOptions {
  /**
   * answers that say the document posted is out of date (Azure's wireserver: 410 to a Health report of an
   * incarnation that is no longer the goal state's): not asked again with the same document, but failed at once,
   * `stale`, for the caller to make it anew
   */
  readonly staleOn?: ReadonlyArray<number>
}

/**
 * The most one SSH public key may be: an OpenSSH key line is a few KiB at
 * most (a 16384-bit RSA key is under 3 KiB), options and comment included.
 * With IMDS_MAX_KEYS of them, a key list stays within 16 MiB.
 */
export const KEY_MAX_BYTES = 16 * 1024

export interface HttpMetadataClient {
  readonly cloud: string
  /** 2xx → the body; 404 and 204 → None; anything else is retried or fails */
  readonly get: (path: string, options?: GetOptions) => Effect.Effect<Option.Option<Uint8Array>, ImdsError>
  readonly text: (path: string, options?: GetOptions) => Effect.Effect<Option.Option<string>, ImdsError>
  /** 2xx → the answer's body; anything else is retried (as `get` is) or fails */
  readonly post: (path: string, body: string, headers?: Readonly<Record<string, string>>, options?: PostOptions) => Effect.Effect<Uint8Array, ImdsError>
  readonly urlOf: (path: string) => string
  /** IMDS_MAX_KEYS: the most entries a key listing may have */
  readonly maxKeys: number
  /** USERDATA_MAX_BYTES: the most user-data may be, once decoded */
  readonly userDataMaxBytes: number
}

class Retryable {
  readonly _tag = "Retryable"
  constructor(
    readonly reason: string,
    /** the URL the attempt went to, as a line names it */
    readonly url: string,
    /** it timed out once connected: the service is there, its answer did not come */
    readonly answerLost = false,
    /** which of the endpoints the attempt went to */
    readonly at = 0,
    /** the HTTP status of the answer, where one came */
    readonly status?: number
  ) {}
}
class TokenRejected {
  readonly _tag = "TokenRejected"
}
class DeadlinePassed {
  readonly _tag = "DeadlinePassed"
}

const splitEndpoint = (endpoint: string, defaultPort: number): { host: string; port: number } => {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(endpoint)
  const host = (m?.[1] ?? endpoint).replace(/^\[|\]$/g, "")
  return { host, port: m?.[2] ? Number(m[2]) : defaultPort }
}

/**
 * Retry with exponential backoff and jitter, capped. The cap is applied after the
 * jitter too (which may add a fifth): `IMDS_RETRY_MAX_DELAY` is the longest wait between two tries.
 * How long it goes on is the read's deadline's to say, a timeout: `Schedule.upTo`
 * measures on the wall clock, which NTP may step during the read.
 */
export const retrySchedule = (settings: Settings) => {
  const longest = Duration.millis(Math.max(1, settings.imdsRetryMaxDelay))
  return Schedule.exponential(Duration.millis(Math.max(1, settings.imdsRetryDelay)), 2).pipe(
    Schedule.union(Schedule.spaced(longest)),
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, longest))
  )
}

/** when the metadata read this fiber is part of ends (ms, on the monotonic clock); none outside one */
const readEnds = FiberRef.unsafeMake(Option.none<number>())

/**
 * `read` as one metadata read (`@ssh-keys`, `@hostname`, `@userdata`, a
 * path): every request it makes (a session token, a listing, each key it
 * lists, a second path where the first has nothing) and their retries
 * within one IMDS_DEADLINE from its start, not one each. A read inside
 * another is part of it.
 */
export const oneRead =
  (deadlineSeconds: number) =>
  <A, E, R>(read: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(FiberRef.get(readEnds), (ends) =>
      Option.isSome(ends) ? read : Effect.flatMap(monotonicMillis, (now) => Effect.locally(read, readEnds, Option.some(now + deadlineSeconds * 1000)))
    )

export const makeHttpMetadataClient = (spec: HttpEndpoint) =>
  Effect.gen(function* () {
    const http = yield* Http
    const settings = yield* Config
    const given = spec.fixedEndpoint ? spec.endpoint : (settings.imdsEndpoint ?? spec.endpoint)
    const endpoints = spec.fixedEndpoint || settings.imdsEndpoint !== undefined || spec.ipv6Endpoint === undefined ? [given] : [spec.endpoint, spec.ipv6Endpoint]
    /** which of `endpoints` is asked, and whether it has answered (then it is kept): the client's, as its session token is */
    const reach = { at: 0, answered: false }
    /** the unix socket the requests go to: `socketPath`, or the one `findSocket` found last */
    const socket = { path: spec.socketPath }
    const findSocket = spec.findSocket === undefined ? Effect.void : Effect.map(spec.findSocket, (path) => void (socket.path = path))
    const timeoutMs = settings.imdsTimeout * 1000
    /** the session token and until when it is used; `null`: the service has none (IMDSv1), reads go without */
    const tokenRef = yield* Ref.make(Option.none<{ readonly token: string | null; readonly until: number }>())
    const tokenMs = tokenLifetimeMs(spec.token?.request.headers)
    /** the cloud's query after the path's own, if any: a parameter the path names itself is the path's (`compute?format=json`) */
    const withQuery = (path: string) => {
      const query = spec.query ?? ""
      const at = path.indexOf("?")
      if (query === "" || at < 0) return `${path}${query}`
      const own = new Set(path.slice(at + 1).split("&").map((p) => p.split("=")[0]))
      const rest = query.slice(1).split("&").filter((p) => !own.has(p.split("=")[0]))
      return rest.length === 0 ? path : `${path}${/[?&]$/.test(path) ? "" : "&"}${rest.join("&")}`
    }
    /** a path under the metadata root with the query; one starting with `/` as it is */
    const pathOf = (path: string) => (path.startsWith("/") ? path : `${spec.root}${withQuery(path)}`)
    const urlAt = (path: string, at: number) => {
      const host = endpoints[at]!
      return socket.path ? `unix:${socket.path}:${pathOf(path)}` : `${spec.protocol ?? "http"}://${isBareIpv6(host) ? `[${host}]` : host}${pathOf(path)}`
    }
    /** the address that answered, else the cloud's own (an instance that reaches neither is told of that one, as before there were two) */
    const urlOf = (path: string) => urlAt(path, reach.answered ? reach.at : 0)

    /** the most a metadata answer may be */
    const IMDS_LIMIT: Limit = { bytes: settings.imdsMaxBytes, name: "IMDS_MAX_BYTES" }
    /**
     * a read's limit, named by what is read, not by its number: user-data refused at a USERDATA_MAX_BYTES equal to
     * IMDS_MAX_BYTES (1048576) or to a key's limit is still refused at USERDATA_MAX_BYTES
     */
    const limitOf = (options?: GetOptions): Limit =>
      options?.userData
        ? options.base64
          ? { bytes: Math.ceil(settings.userDataMaxBytes / 3) * 4 + settings.imdsMaxBytes, name: "USERDATA_MAX_BYTES in base64, and IMDS_MAX_BYTES" }
          : { bytes: settings.userDataMaxBytes, name: "USERDATA_MAX_BYTES" }
        : options?.sshKey && KEY_MAX_BYTES < settings.imdsMaxBytes
          ? { bytes: KEY_MAX_BYTES, name: "the most an SSH key may be" }
          : IMDS_LIMIT

    /** the request as it goes to the address at `at` */
    const wire = (r: Request, maxBytes: number, at: number): HttpRequest => ({
      ...r,
      ...splitEndpoint(endpoints[at]!, spec.protocol === "https" ? 443 : 80),
      timeoutMs,
      maxBytes,
      ...(spec.protocol ? { protocol: spec.protocol } : {}),
      ...(socket.path ? { socketPath: socket.path } : {}),
      ...(spec.fresh ? { fresh: true } : {})
    })

    /**
     * one request; a transport error, a timeout and a transient answer (5xx, 429, 410) are worth another try, an answer too large is not.
     * Its failure names the address it went to, whose reason it gives; one that found no route, the cloud's own.
     */
    const once = (r: Request, limit = IMDS_LIMIT, to?: number, answered: ReadonlyArray<number> = []) =>
      Effect.zipRight(findSocket, Effect.suspend(() => {
        const at = to ?? reach.at
        const url = urlAt(r.path, at)
        return http.request(wire(r, limit.bytes, at)).pipe(
          Effect.timeoutFail({ duration: Duration.millis(timeoutMs + 50), onTimeout: () => new HttpTransportError({ reason: "timed out", timedOut: true }) }),
          Effect.tapBoth({
            // the address that answered, whichever the client was turned to meanwhile (a request made at the same time that failed)
            onSuccess: () =>
              Effect.sync(() => {
                if (!reach.answered) Object.assign(reach, { at, answered: true })
              }),
            // the next request goes to the other address where this one found no route to its network, or was the IPv6
            // address's (an address taken for want of the other, which may yet come: a DHCP lease given late);
            // once, however many requests of a read failed so at the same time
            onFailure: (e) =>
              Effect.sync(() => {
                const noNetwork = e._tag === "HttpTransportError" && e.noNetwork === true
                if (!reach.answered && reach.at === at && (noNetwork || at > 0)) reach.at = (at + 1) % endpoints.length
              })
          }),
          Effect.mapError((e) =>
            e._tag === "HttpAnswerTooLarge"
              ? new ImdsError({ cloud: spec.cloud, url, reason: `answer exceeds ${e.limit} bytes (${limit.name})`, exceeded: e.limit })
              : e.final
                ? new ImdsError({ cloud: spec.cloud, url, reason: e.reason, unusable: true })
                : new Retryable(e.reason, e.noNetwork === true ? urlAt(r.path, 0) : url, e.timedOut === true && e.unconnected !== true, at)
          ),
          Effect.flatMap((res) => (isTransientStatus(res.status) && !answered.includes(res.status) ? Effect.fail(new Retryable(`HTTP ${res.status}`, url, false, at, res.status)) : Effect.succeed(res)))
        )
      }))

    /** an attempt's failure as the read's */
    const readFailure = (e: Retryable) => new ImdsError({ cloud: spec.cloud, url: e.url, reason: e.reason, ...(e.status !== undefined ? { status: e.status } : {}) })

    /**
     * Retried until the deadline, which bounds the whole read: a wait or an
     * attempt the deadline comes in is cut short. The final error names the
     * cloud, URL and last error; a read none of whose attempts failed (cut
     * short while it waited for the session token) fails with the token's.
     */
    const withRetry = <A>(path: string, effect: Effect.Effect<A, Retryable | ImdsError | TokenRejected>, waitedFor?: Effect.Effect<Option.Option<ImdsError>>) =>
      Effect.gen(function* () {
        // IMDS_DEADLINE, or what is left of it where this request is one of a read's several
        const ends = yield* FiberRef.get(readEnds)
        const now = yield* monotonicMillis
        const within = Duration.millis(Math.max(0, Math.min(settings.imdsDeadline * 1000, Option.getOrElse(ends, () => Infinity) - now)))
        /** the last attempt's failure, as its line gives it */
        const last = yield* Ref.make(Option.none<ImdsError>())
        const failure = (e: Retryable | TokenRejected) =>
          e._tag === "TokenRejected" ? new ImdsError({ cloud: spec.cloud, url: urlOf(path), reason: "token rejected (HTTP 401)" }) : readFailure(e)
        const timedOut = Effect.gen(function* () {
          const own = yield* Ref.get(last)
          if (Option.isSome(own)) return own.value
          const other = waitedFor === undefined ? Option.none<ImdsError>() : yield* waitedFor
          return Option.getOrElse(other, () => new ImdsError({ cloud: spec.cloud, url: urlOf(path), reason: "timed out" }))
        })
        // the read this request is part of has had its time: not sent
        if (Duration.isZero(within)) return yield* Effect.flatMap(timedOut, Effect.fail)
        return yield* effect.pipe(
          Effect.tapError((e) => (e._tag === "ImdsError" ? Effect.void : Ref.set(last, Option.some(failure(e))))),
          Effect.retry({ schedule: retrySchedule(settings), while: (e) => e._tag !== "ImdsError" }),
          Effect.timeoutFail({ duration: within, onTimeout: () => new DeadlinePassed() }),
          Effect.catchAll((e) =>
            Effect.flatMap(
              e._tag === "ImdsError"
                ? Effect.succeed(e)
                : e._tag === "DeadlinePassed"
                  ? timedOut
                  : Effect.succeed(failure(e)),
              Effect.fail
            )
          )
        )
      })

    /** a token is one line of printable characters; an error page is never one */
    const TOKEN = /^[\x21-\x7e]{1,4096}$/

    /** the last failure of the token's attempts since one last succeeded: what a read that never got past the token fails with */
    const tokenTrouble = yield* Ref.make(Option.none<ImdsError>())
    /** the status the token request was last refused with (one of `absentOn`): reads go without a token since */
    let tokenRefused: number | undefined

    /**
     * A token request that timed out once connected, where the service may have no tokens:
     * the metadata root read without one, at the address the token request
     * went to (the other may have been turned to since). Answered (other than 401), the
     * service is up and the token's answer is what got lost (EC2's PUT
     * response hop limit drops it, as AWS documents; its SDKs then use
     * IMDSv1): none is used. Else the token request's own failure stands.
     * Not where no connection was made: nothing answered at that address (an
     * IPv6 address whose service is off), and a second try there would cost a
     * second IMDS_TIMEOUT before the other address is asked.
     */
    const answeredWithoutToken = (timedOut: Retryable) =>
      once({ method: "GET", path: spec.root }, IMDS_LIMIT, timedOut.at).pipe(
        Effect.flatMap((res) => (res.status === 401 ? Effect.fail(timedOut) : Effect.succeed(null))),
        Effect.catchAll(() => Effect.fail(timedOut))
      )

    const fetchToken = (r: Request) => {
      return withRetry(
        r.path,
        once(r).pipe(
          Effect.catchIf(
            (e): e is Retryable => e._tag === "Retryable" && e.answerLost && spec.token?.absentOn !== undefined,
            answeredWithoutToken
          ),
          Effect.flatMap((res): Effect.Effect<string | null, ImdsError | Retryable> => {
            tokenRefused = res !== null && spec.token?.absentOn?.includes(res.status) ? res.status : undefined
            if (res === null) return Effect.succeed(null)
            if (tokenRefused !== undefined) return Effect.succeed(null)
            if (res.status < 200 || res.status >= 300) return Effect.fail(new ImdsError({ cloud: spec.cloud, url: urlOf(r.path), reason: `token request answered HTTP ${res.status}`, unusable: true }))
            const token = textOf(res.body).trim()
            return TOKEN.test(token) ? Effect.succeed(token) : Effect.fail(new Retryable("the answer is not a token", urlOf(r.path)))
          }),
          Effect.tapBoth({
            onFailure: (e) => Ref.set(tokenTrouble, Option.some(e._tag === "ImdsError" ? e : readFailure(e))),
            onSuccess: () => Ref.set(tokenTrouble, Option.none())
          })
        )
      )
    }

    // concurrent reads wait for one token instead of each fetching its own
    const tokenLock = yield* Effect.makeSemaphore(1)
    /** the session token's header (none where the service has no tokens); a fresh one when `rejected` is the one we have (`null`: going without) */
    const token = (rejected: string | null | undefined): Effect.Effect<Record<string, string>, ImdsError> =>
      spec.token === undefined
        ? Effect.succeed({})
        : tokenLock.withPermits(1)(
            Effect.gen(function* () {
              const cached = yield* Ref.get(tokenRef)
              const now = yield* monotonicMillis
              const header = (t: string | null): Record<string, string> => (t === null ? {} : { [spec.token!.header]: t })
              if (Option.isSome(cached) && cached.value.token !== rejected && now < cached.value.until) return header(cached.value.token)
              const fresh = yield* fetchToken(spec.token!.request)
              yield* Ref.set(tokenRef, Option.some({ token: fresh, until: now + tokenMs }))
              return header(fresh)
            })
          )

    /**
     * the address whose answer to this request is kept (the resident process's, from an earlier phase): the one asked,
     * else, until one has answered, the other; an earlier phase may have found the IPv6 one, where a new client starts at `endpoint`
     */
    const keptAt = (r: Request, maxBytes: number): Effect.Effect<number | undefined> =>
      Effect.gen(function* () {
        if (http.kept === undefined) return undefined
        for (const at of reach.answered ? [reach.at] : [reach.at, ...endpoints.keys()]) if (yield* http.kept(wire(r, maxBytes, at))) return at
        return undefined
      })

    /** one request with the session token, retried; the answer when its status is neither 401 (token refreshed) nor transient */
    const send = (
      r: Request,
      limit = IMDS_LIMIT,
      how: { readonly incomplete?: (body: Uint8Array) => string | undefined; readonly answered?: ReadonlyArray<number>; readonly notFoundAskedAgain?: number } = {}
    ): Effect.Effect<HttpResponse, ImdsError> => {
      let rejected: string | null | undefined
      /** the 404s this request has had: one asked again goes to the service, never to the answers kept */
      let notFound = 0
      const attempt = Effect.gen(function* () {
        const asked = notFound > 0 ? { ...r, fresh: true } : r
        const headers = { ...spec.headers, ...asked.headers }
        // an answer kept from an earlier phase (the resident process's) is given without a token: none is asked for it, however old
        // the last one is (refused, it was not kept after all: the token follows)
        const at = rejected === undefined ? yield* keptAt({ ...asked, headers }, limit.bytes) : undefined
        const auth = at !== undefined ? {} : yield* token(rejected)
        const res = yield* once({ ...asked, headers: { ...headers, ...auth } }, limit, at, how.answered)
        if (res.status === 401 && spec.token !== undefined) {
          // a read without a token refused: the service wants one after all
          rejected = auth[spec.token.header] ?? null
          return yield* Effect.fail(new TokenRejected())
        }
        // (not by the resident process's read-ahead: its 404 is kept, and the phase that reads the datum asks again after it;
        // asked again by both, an absent datum was asked five times, two more than a phase of its own asks)
        if (res.status === 404 && notFound < (how.notFoundAskedAgain ?? 0) && !(yield* FiberRef.get(readingAhead))) {
          notFound++
          return yield* Effect.fail(new Retryable("HTTP 404", urlOf(r.path), false, 0, 404))
        }
        const notYet = res.status >= 200 && res.status < 300 ? how.incomplete?.(res.body) : undefined
        if (notYet !== undefined) return yield* Effect.fail(new Retryable(notYet, urlOf(r.path)))
        return res
      })
      return withRetry(r.path, attempt, Ref.get(tokenTrouble)).pipe(
        // the read's deadline came while a 404 was to be asked again: the 404 stands, as a datum the cloud does not have
        Effect.catchIf(
          (e) => notFound > 0 && e.status === 404,
          () => Effect.succeed<HttpResponse>({ status: 404, body: new Uint8Array() })
        )
      )
    }

    const get = (path: string, options?: GetOptions): Effect.Effect<Option.Option<Uint8Array>, ImdsError> =>
      Effect.flatMap(
        send({ method: "GET", path: pathOf(path), ...(options?.privilegedSourcePort ? { privilegedSourcePort: true } : {}) }, limitOf(options), {
          ...(options?.incomplete ? { incomplete: options.incomplete } : {}),
          ...(options?.notFoundAskedAgain ? { notFoundAskedAgain: options.notFoundAskedAgain } : {})
        }),
        (res) => {
          if (res.status === 404 || res.status === 204 || (res.status === 403 && options?.forbiddenIsAbsent)) return Effect.succeed(Option.none<Uint8Array>())
          if (res.status >= 200 && res.status < 300) return Effect.succeed(Option.some(res.body))
          // a redirect is not followed here: its Location goes with the error, for a reader that follows it (NoCloud seeds)
          const redirect = isRedirectStatus(res.status) ? res.location : undefined
          // refused without a token as the token request was: the service refuses everything (turned off)
          const why =
            res.status !== 403
              ? ""
              : tokenRefused === 403 && spec.token?.refusedBoth !== undefined
                ? ` (${spec.token.refusedBoth})`
                : spec.forbidden !== undefined
                  ? ` (${spec.forbidden})`
                  : ""
          return Effect.fail(new ImdsError({ cloud: spec.cloud, url: urlOf(path), reason: `HTTP ${res.status}${why}`, status: res.status, unusable: true, ...(redirect !== undefined ? { redirect } : {}) }))
        }
      )

    const post = (path: string, body: string, headers?: Readonly<Record<string, string>>, options?: PostOptions): Effect.Effect<Uint8Array, ImdsError> =>
      Effect.flatMap(send({ method: "POST", path: pathOf(path), body, ...(headers ? { headers: { ...headers } } : {}) }, IMDS_LIMIT, options?.staleOn ? { answered: options.staleOn } : {}), (res) =>
        res.status >= 200 && res.status < 300
          ? Effect.succeed(res.body)
          : options?.staleOn?.includes(res.status)
            ? Effect.fail(new ImdsError({ cloud: spec.cloud, url: urlOf(path), reason: `HTTP ${res.status}`, status: res.status, stale: true }))
            : Effect.fail(new ImdsError({ cloud: spec.cloud, url: urlOf(path), reason: `HTTP ${res.status}`, status: res.status, unusable: true }))
      )

    const client: HttpMetadataClient = {
      cloud: spec.cloud,
      get,
      text: (path, options) => Effect.map(get(path, options), Option.map(textOf)),
      post,
      urlOf,
      maxKeys: settings.imdsMaxKeys,
      userDataMaxBytes: settings.userDataMaxBytes
    }
    return client
  })

/** options of a user-data read (or a seed file): USERDATA_MAX_BYTES is its limit */
export const AS_USER_DATA: GetOptions = { userData: true }

/** options of a read of user-data the cloud may serve base64-encoded: USERDATA_MAX_BYTES in base64 is its limit */
export const AS_BASE64_USER_DATA: GetOptions = { userData: true, base64: true }
