/**
 * cloud-config `write_files[].source`: the file's content fetched over
 * http(s) with the headers given. Network input is hostile: one request
 * takes at most 30 s, the answer is cut off beyond the user-data size limit,
 * a redirect is never followed, and only a 2xx answer is content. Transport
 * errors (but those asking again cannot change, as an unknown content coding)
 * and transient answers (5xx, 429, 410) are tried twice more, a
 * second apart, as cloud-init retries. A reason never holds the URL or the headers (they may carry
 * tokens).
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { isTransientStatus } from "../../domain/http-status.js"
import { basicAuthorization } from "../../domain/text.js"
import type { FileSource } from "../../domain/userdata/model.js"
import { Http, type HttpRequest } from "../../services/Http.js"

class SourceFetchFailed extends Data.TaggedError("SourceFetchFailed")<{
  readonly reason: string
  /** worth another try: no answer, or a transient one */
  readonly transient: boolean
}> {
  override get message() {
    return this.reason
  }
}

const TIMEOUT_MS = 30_000

/** the request for a source, or why there is none */
const requestOf = (source: FileSource, maxBytes: number): HttpRequest | SourceFetchFailed => {
  let url: URL
  try {
    url = new URL(source.uri)
  } catch {
    return new SourceFetchFailed({ reason: "the uri is not a URL", transient: false })
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return new SourceFetchFailed({ reason: "only http and https are fetched", transient: false })
  const https = url.protocol === "https:"
  const headers: Record<string, string> = { ...source.headers }
  const hasAuthorization = Object.keys(headers).some((h) => h.toLowerCase() === "authorization")
  const basic = basicAuthorization(url)
  if (basic !== undefined && !hasAuthorization) headers["Authorization"] = basic
  return {
    method: "GET",
    protocol: https ? "https" : "http",
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (https ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers,
    timeoutMs: TIMEOUT_MS,
    maxBytes
  }
}

/** The source's bytes: at most `maxBytes`, from a 2xx answer. */
export const fetchSource = (source: FileSource, maxBytes: number) =>
  Effect.gen(function* () {
    const request = requestOf(source, maxBytes)
    if (request instanceof SourceFetchFailed) return yield* Effect.fail(request)
    const http = yield* Http
    const once = http.request(request).pipe(
      Effect.mapError((e) =>
        e._tag === "HttpAnswerTooLarge"
          ? new SourceFetchFailed({ reason: `more than ${maxBytes} bytes`, transient: false })
          : new SourceFetchFailed({ reason: e.reason, transient: e.final !== true })
      ),
      Effect.flatMap((response) => {
        if (response.status >= 300 && response.status < 400) {
          return Effect.fail(new SourceFetchFailed({ reason: `HTTP ${response.status}: redirects are not followed`, transient: false }))
        }
        if (response.status < 200 || response.status >= 300) {
          return Effect.fail(new SourceFetchFailed({ reason: `HTTP ${response.status}`, transient: isTransientStatus(response.status) }))
        }
        return Effect.succeed(response.body)
      })
    )
    return yield* Effect.retry(once, {
      schedule: Schedule.intersect(Schedule.recurs(2), Schedule.spaced(Duration.seconds(1))),
      while: (e) => e.transient
    })
  })
