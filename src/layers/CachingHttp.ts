/**
 * HTTP for the resident process of a first boot: every metadata answer it
 * got (2xx, 204 or 404) is kept for the phases that follow, and a request
 * already on its way is waited for rather than sent twice. A session token
 * (a PUT whose request names its lifetime in a `*-ttl-seconds` header) is
 * kept while it may be used (domain/token.ts), and forgotten as soon as a
 * service answers 401 (it no longer knows the token: restarted): the next
 * asker gets a fresh one. A failed request is never kept. A request whose
 * asker gives up on it (its timeout or deadline came) is sent again by those
 * who were waiting for it, each within its own time. A request marked
 * `fresh` (azure's wireserver, whose goal state moves on) is always sent.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { HttpAnswerTooLarge, type HttpTransportError } from "../domain/errors.js"
import { monotonicMillis } from "../domain/monotonic.js"
import { tokenLifetimeMs } from "../domain/token.js"
import type { HttpRequest, HttpResponse, HttpShape } from "../services/Http.js"

type Answer = Effect.Effect<HttpResponse, HttpTransportError | HttpAnswerTooLarge>

/** what those waiting for a request learn when its asker was interrupted: to ask themselves */
class Abandoned {
  readonly _tag = "Abandoned"
}

interface Kept {
  readonly answer: Deferred.Deferred<HttpResponse, HttpTransportError | HttpAnswerTooLarge | Abandoned>
  /** ms on the monotonic clock (the wall clock may be stepped between two phases); Infinity for answers kept for good */
  readonly until: number
  /** a session token's request (a PUT) */
  readonly token: boolean
}

/** the request without what changes between two askings of the same thing (the session token) */
const keyOf = (r: HttpRequest) => {
  const headers = Object.entries(r.headers ?? {})
    .filter(([name]) => !/token$/i.test(name))
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort()
  return JSON.stringify([r.method, r.protocol ?? "http", r.socketPath ?? `${r.host}:${r.port}`, r.path, headers, r.body ?? ""])
}

/** how long an answer to this request may be kept, in ms; 0 for not at all */
const lifetime = (r: HttpRequest, response: HttpResponse): number => {
  if (r.method === "GET") return (response.status >= 200 && response.status < 300) || response.status === 404 ? Infinity : 0
  if (r.method === "PUT" && response.status >= 200 && response.status < 300) {
    const ms = tokenLifetimeMs(r.headers)
    return ms === Infinity ? 0 : ms
  }
  return 0
}

export const makeCachingHttp = (base: HttpShape): HttpShape => {
  const kept = new Map<string, Kept>()
  /**
   * the kept answer; asked again when the request it waited for was given up. No larger than this request allows: one
   * kept for an earlier phase's larger IMDS_MAX_BYTES is refused as it would have been had it been sent
   */
  const awaited = (r: HttpRequest, found: Kept): Answer =>
    Deferred.await(found.answer).pipe(
      Effect.catchIf((e): e is Abandoned => e instanceof Abandoned, () => request(r)),
      Effect.filterOrFail((res) => res.body.length <= r.maxBytes, () => new HttpAnswerTooLarge({ limit: r.maxBytes }))
    )
  const request = (r: HttpRequest): Answer =>
    Effect.gen(function* () {
      if (r.fresh === true) return yield* base.request(r)
      const key = keyOf(r)
      const now = yield* monotonicMillis
      const found = kept.get(key)
      if (found !== undefined && found.until > now) return yield* awaited(r, found)
      const answer = yield* Deferred.make<HttpResponse, HttpTransportError | HttpAnswerTooLarge | Abandoned>()
      const token = r.method === "PUT"
      // on its way: kept until it is known whether it may be kept at all
      const entry: Kept = { answer, until: Infinity, token }
      kept.set(key, entry)
      const exit = yield* Effect.exit(base.request(r)).pipe(
        // its asker gave up on it, not those waiting for it: forgotten, then they ask again, within their own time
        Effect.onInterrupt(() =>
          Effect.zipRight(
            Effect.sync(() => kept.get(key) === entry && kept.delete(key)),
            Deferred.fail(answer, new Abandoned())
          )
        )
      )
      yield* Deferred.done(answer, exit)
      // a token refused: the kept ones are asked for anew
      if (exit._tag === "Success" && exit.value.status === 401) for (const [k, v] of kept) if (v.token) kept.delete(k)
      const keepFor = exit._tag === "Success" ? lifetime(r, exit.value) : 0
      if (keepFor === 0) kept.delete(key)
      else kept.set(key, { answer, until: keepFor === Infinity ? Infinity : (yield* monotonicMillis) + keepFor, token })
      return yield* awaited(r, entry)
    })
  /**
   * a kept answer other than a token's: what a metadata client reads without asking for a token first. Not one still on its
   * way: should its asker give it up, those waiting for it send it themselves, and one without a token would be refused
   */
  const isKept = (r: HttpRequest) =>
    Effect.flatMap(monotonicMillis, (now) => {
      if (r.fresh === true) return Effect.succeed(false)
      const found = kept.get(keyOf(r))
      return found !== undefined && !found.token && found.until > now ? Deferred.isDone(found.answer) : Effect.succeed(false)
    })
  return { request, kept: isKept }
}
