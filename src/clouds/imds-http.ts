/** The HTTP metadata client every HTTP cloud shares: timeouts, retries with backoff, a deadline, session tokens. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { ImdsError } from "../domain/errors.js"
import type { Settings } from "../domain/settings.js"
import { textOf } from "../domain/text.js"
import { Config } from "../services/Config.js"
import { Http, type HttpRequest } from "../services/Http.js"

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
  /** the endpoint is not a metadata service `IMDS_ENDPOINT` may redirect (NoCloud seed URLs) */
  readonly fixedEndpoint?: boolean
  /** HTTP over this unix socket instead of TCP */
  readonly socketPath?: string
  /** a session token sent as a header, fetched once and refreshed on 401; the answer's body is the token */
  readonly token?: {
    readonly header: string
    readonly request: Request
  }
}

type Request = Omit<HttpRequest, "host" | "port" | "timeoutMs" | "maxBytes">

export interface GetOptions {
  readonly privilegedSourcePort?: boolean
  /** the datum is user-data (or a seed file): it may be as large as USERDATA_MAX_BYTES, not IMDS_MAX_BYTES */
  readonly userData?: boolean
}

export interface HttpMetadataClient {
  readonly cloud: string
  /** 2xx → the body; 404 and 204 → None; anything else is retried or fails */
  readonly get: (path: string, options?: GetOptions) => Effect.Effect<Option.Option<Uint8Array>, ImdsError>
  readonly text: (path: string, options?: GetOptions) => Effect.Effect<Option.Option<string>, ImdsError>
  readonly urlOf: (path: string) => string
  /** IMDS_MAX_KEYS: the most entries a key listing may have */
  readonly maxKeys: number
}

class Retryable {
  readonly _tag = "Retryable"
  constructor(readonly reason: string) {}
}
class TokenRejected {
  readonly _tag = "TokenRejected"
}

export const splitEndpoint = (endpoint: string, defaultPort = 80): { host: string; port: number } => {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(endpoint)
  const host = (m?.[1] ?? endpoint).replace(/^\[|\]$/g, "")
  return { host, port: m?.[2] ? Number(m[2]) : defaultPort }
}

/** Retry with exponential backoff and jitter, capped, for at most `IMDS_DEADLINE`. */
export const retrySchedule = (settings: Settings) => {
  return Schedule.exponential(Duration.millis(Math.max(1, settings.imdsRetryDelay)), 2).pipe(
    Schedule.union(Schedule.spaced(Duration.millis(Math.max(1, settings.imdsRetryMaxDelay)))),
    Schedule.jittered,
    Schedule.upTo(Duration.seconds(settings.imdsDeadline))
  )
}

export const makeHttpMetadataClient = (spec: HttpEndpoint) =>
  Effect.gen(function* () {
    const http = yield* Http
    const settings = yield* Config
    const endpoint = spec.fixedEndpoint ? spec.endpoint : (settings.imdsEndpoint ?? spec.endpoint)
    const { host, port } = splitEndpoint(endpoint, spec.protocol === "https" ? 443 : 80)
    const timeoutMs = settings.imdsTimeout * 1000
    const tokenRef = yield* Ref.make(Option.none<string>())
    const urlOf = (path: string) => {
      const full = path.startsWith("/") ? path : `${spec.root}${path}${spec.query ?? ""}`
      return spec.socketPath ? `unix:${spec.socketPath}:${full}` : `${spec.protocol ?? "http"}://${endpoint}${full}`
    }

    /** one request; a transport error, a timeout and a 5xx answer are worth another try, an answer too large is not */
    const once = (r: Request, url: string, maxBytes = settings.imdsMaxBytes) =>
      http.request({ ...r, host, port, timeoutMs, maxBytes, ...(spec.protocol ? { protocol: spec.protocol } : {}), ...(spec.socketPath ? { socketPath: spec.socketPath } : {}) }).pipe(
        Effect.mapError((e) =>
          e._tag === "HttpAnswerTooLarge"
            ? new ImdsError({ cloud: spec.cloud, url, reason: `answer exceeds ${e.limit} bytes (${maxBytes === settings.imdsMaxBytes ? "IMDS_MAX_BYTES" : "USERDATA_MAX_BYTES"})` })
            : new Retryable(e.reason)
        ),
        Effect.timeoutFail({ duration: Duration.millis(timeoutMs + 50), onTimeout: () => new Retryable("timed out") }),
        Effect.flatMap((res) => (res.status >= 500 ? Effect.fail(new Retryable(`HTTP ${res.status}`)) : Effect.succeed(res)))
      )

    /** retried until the deadline; the final error names the cloud, URL and last error */
    const withRetry = <A>(url: string, effect: Effect.Effect<A, Retryable | ImdsError | TokenRejected>) =>
      effect.pipe(
        Effect.retry({ schedule: retrySchedule(settings), while: (e) => e._tag !== "ImdsError" }),
        Effect.catchAll((e) =>
          Effect.fail(
            e._tag === "ImdsError"
              ? e
              : new ImdsError({ cloud: spec.cloud, url, reason: e._tag === "TokenRejected" ? "token rejected (HTTP 401)" : e.reason })
          )
        )
      )

    /** a token is one line of printable characters; an error page is never one */
    const TOKEN = /^[\x21-\x7e]{1,4096}$/

    const fetchToken = (r: Request) => {
      const url = urlOf(r.path)
      return withRetry(
        url,
        once(r, url).pipe(
          Effect.flatMap((res): Effect.Effect<string, ImdsError | Retryable> => {
            if (res.status < 200 || res.status >= 300) return Effect.fail(new ImdsError({ cloud: spec.cloud, url, reason: `token request answered HTTP ${res.status}` }))
            const token = textOf(res.body).trim()
            return TOKEN.test(token) ? Effect.succeed(token) : Effect.fail(new Retryable("the answer is not a token"))
          })
        )
      )
    }

    const token = (refresh: boolean): Effect.Effect<Record<string, string>, ImdsError> =>
      spec.token === undefined
        ? Effect.succeed({})
        : Effect.gen(function* () {
            const cached = yield* Ref.get(tokenRef)
            if (Option.isSome(cached) && !refresh) return { [spec.token!.header]: cached.value }
            const fresh = yield* fetchToken(spec.token!.request)
            yield* Ref.set(tokenRef, Option.some(fresh))
            return { [spec.token!.header]: fresh }
          })

    const get = (path: string, options?: GetOptions): Effect.Effect<Option.Option<Uint8Array>, ImdsError> => {
      const url = urlOf(path)
      const full = path.startsWith("/") ? path : `${spec.root}${path}${spec.query ?? ""}`
      let refresh = false
      const attempt = Effect.gen(function* () {
        const auth = yield* token(refresh)
        const res = yield* once(
          {
            method: "GET",
            path: full,
            headers: { ...spec.headers, ...auth },
            ...(options?.privilegedSourcePort ? { privilegedSourcePort: true } : {})
          },
          url,
          options?.userData ? settings.userDataMaxBytes : settings.imdsMaxBytes
        )
        if (res.status === 401 && spec.token !== undefined) {
          refresh = true
          return yield* Effect.fail(new TokenRejected())
        }
        if (res.status === 404 || res.status === 204) return Option.none<Uint8Array>()
        if (res.status >= 200 && res.status < 300) return Option.some(res.body)
        return yield* Effect.fail(new ImdsError({ cloud: spec.cloud, url, reason: `HTTP ${res.status}` }))
      })
      return withRetry(url, attempt)
    }

    const client: HttpMetadataClient = {
      cloud: spec.cloud,
      get,
      text: (path, options) => Effect.map(get(path, options), Option.map(textOf)),
      urlOf,
      maxKeys: settings.imdsMaxKeys
    }
    return client
  })

/** options of a user-data read (or a seed file): USERDATA_MAX_BYTES is its limit */
export const USER_DATA: GetOptions = { userData: true }
