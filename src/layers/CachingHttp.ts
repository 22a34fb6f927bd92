/**
 * HTTP for the resident process of a first boot: every metadata answer it
 * got (2xx, 204 or 404) is kept for the phases that follow, and a request
 * already on its way is waited for rather than sent twice. A session token
 * (a PUT whose request names its lifetime in a `*-ttl-seconds` header) is
 * kept while it may be used (domain/token.ts), and forgotten as soon as a
 * service answers 401 (it no longer knows the token: restarted): the next
 * asker gets a fresh one. A failed request is never kept.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { HttpAnswerTooLarge, HttpTransportError } from "../domain/errors.js"
import { tokenLifetimeMs } from "../domain/token.js"
import type { HttpRequest, HttpResponse, HttpShape } from "../services/Http.js"

type Answer = Effect.Effect<HttpResponse, HttpTransportError | HttpAnswerTooLarge>

interface Kept {
  readonly answer: Deferred.Deferred<HttpResponse, HttpTransportError | HttpAnswerTooLarge>
  /** ms since the epoch; Infinity for answers kept for good */
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
  const request = (r: HttpRequest): Answer =>
    Effect.gen(function* () {
      const key = keyOf(r)
      const now = yield* Clock.currentTimeMillis
      const found = kept.get(key)
      if (found !== undefined && found.until > now) {
        const waited = yield* Effect.exit(Deferred.await(found.answer))
        // its asker gave up on it (its own timeout or deadline came): this one asks for itself, as it would have alone
        if (Exit.isFailure(waited) && Cause.isInterruptedOnly(waited.cause)) return yield* request(r)
        return yield* waited
      }
      const answer = yield* Deferred.make<HttpResponse, HttpTransportError | HttpAnswerTooLarge>()
      // on its way: kept until it is known whether it may be kept at all
      kept.set(key, { answer, until: Infinity, token: r.method === "PUT" })
      const exit = yield* Effect.exit(base.request(r)).pipe(
        // forgotten before the waiters hear of it, so that they ask again
        Effect.onInterrupt(() => Effect.zipRight(Effect.sync(() => kept.delete(key)), Deferred.interrupt(answer)))
      )
      yield* Deferred.done(answer, exit)
      // a token refused: the kept ones are asked for anew
      if (exit._tag === "Success" && exit.value.status === 401) for (const [k, v] of kept) if (v.token) kept.delete(k)
      const keepFor = exit._tag === "Success" ? lifetime(r, exit.value) : 0
      if (keepFor === 0) kept.delete(key)
      else kept.set(key, { answer, until: keepFor === Infinity ? Infinity : (yield* Clock.currentTimeMillis) + keepFor, token: r.method === "PUT" })
      return yield* Deferred.await(answer)
    })
  return { request }
}
