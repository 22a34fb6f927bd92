import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { HttpTransportError } from "../../src/domain/errors.js"
import { makeCachingHttp } from "../../src/layers/CachingHttp.js"
import type { HttpRequest, HttpResponse } from "../../src/services/Http.js"
import { steppableWallClock } from "../support/wall-clock.js"

const request = (method: "GET" | "PUT", path: string, headers: Record<string, string> = {}): HttpRequest => ({ method, host: "h", port: 80, path, headers, timeoutMs: 1000, maxBytes: 1000 })
const answer = (status: number, text = ""): HttpResponse => ({ status, body: new TextEncoder().encode(text) })

/** a service answering from a script, counting what it was asked */
const service = (answers: (r: HttpRequest, n: number) => Effect.Effect<HttpResponse, HttpTransportError>) => {
  const asked: Array<string> = []
  return { asked, shape: { request: (r: HttpRequest) => Effect.suspend(() => (asked.push(`${r.method} ${r.path}`), answers(r, asked.length))) } }
}

describe("the resident process's HTTP", () => {
  it.effect("keeps answers (a 404 too), whatever the token they were asked with; never a failure", () =>
    Effect.gen(function* () {
      const s = service((r, n) => (r.path === "/flaky" && n === 3 ? Effect.fail(new HttpTransportError({ reason: "reset" })) : Effect.succeed(answer(r.path === "/none" ? 404 : 200, "x"))))
      const http = makeCachingHttp(s.shape)
      yield* http.request(request("GET", "/a", { "X-Token": "one" }))
      yield* http.request(request("GET", "/a", { "X-Token": "two" }))
      yield* http.request(request("GET", "/none"))
      yield* http.request(request("GET", "/none"))
      expect(yield* Effect.either(http.request(request("GET", "/flaky")))).toMatchObject({ _tag: "Left" })
      yield* http.request(request("GET", "/flaky"))
      yield* http.request(request("GET", "/flaky"))
      expect(s.asked).toEqual(["GET /a", "GET /none", "GET /flaky", "GET /flaky"])
    })
  )

  it.effect("a request marked fresh (azure's wireserver, whose goal state moves on) is always sent, and is never kept", () =>
    Effect.gen(function* () {
      const s = service((_, n) => Effect.succeed(answer(200, `goal state ${n}`)))
      const http = makeCachingHttp(s.shape)
      const goalState = { ...request("GET", "/machine/?comp=goalstate"), fresh: true }
      const texts = [yield* http.request(goalState), yield* http.request(goalState)].map((r) => new TextDecoder().decode(r.body))
      expect(texts).toEqual(["goal state 1", "goal state 2"])
      expect(yield* http.kept!(goalState)).toBe(false)
      expect(s.asked).toEqual(["GET /machine/?comp=goalstate", "GET /machine/?comp=goalstate"])
    })
  )

  it.effect("a request on its way is waited for, not sent twice", () =>
    Effect.gen(function* () {
      const s = service(() => Effect.as(Effect.sleep(Duration.millis(100)), answer(200, "slow")))
      const http = makeCachingHttp(s.shape)
      const both = yield* Effect.fork(Effect.all([http.request(request("GET", "/slow")), http.request(request("GET", "/slow"))], { concurrency: 2 }))
      yield* TestClock.adjust(Duration.millis(100))
      expect((yield* Fiber.join(both)).map((r) => r.status)).toEqual([200, 200])
      expect(s.asked).toEqual(["GET /slow"])
    })
  )

  it.effect("a request whose asker gave up on it (its timeout came) is asked again by those waiting for it, within their own time", () =>
    Effect.gen(function* () {
      // the first asking is never answered; the next is
      const s = service((_, n) => (n === 1 ? Effect.never : Effect.succeed(answer(200, "late"))))
      const http = makeCachingHttp(s.shape)
      const asker = yield* Effect.fork(Effect.either(http.request(request("GET", "/slow")).pipe(Effect.timeoutFail({ duration: Duration.seconds(1), onTimeout: () => "timed out" }))))
      yield* TestClock.adjust(Duration.millis(100))
      const waiter = yield* Effect.fork(Effect.either(http.request(request("GET", "/slow")).pipe(Effect.timeoutFail({ duration: Duration.seconds(5), onTimeout: () => "timed out" }))))
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Fiber.join(asker)).toMatchObject({ _tag: "Left", left: "timed out" })
      // before, the waiter was interrupted with its asker: not an error it could retry, nor an answer
      expect(yield* Fiber.join(waiter)).toMatchObject({ _tag: "Right", right: { status: 200 } })
      expect(s.asked).toEqual(["GET /slow", "GET /slow"])
    })
  )

  it.effect("a request whose asker gave up on it (interrupted: its timeout, its deadline) is asked again by the one waiting for it, never interrupting it", () =>
    Effect.gen(function* () {
      // the first asking is never answered (a route into the void); the second is
      const s = service((_, n) => (n === 1 ? Effect.never : Effect.succeed(answer(200, "second"))))
      const http = makeCachingHttp(s.shape)
      const asker = yield* Effect.fork(http.request(request("GET", "/user-data")))
      yield* Effect.yieldNow()
      const waiting = yield* Effect.fork(http.request(request("GET", "/user-data")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(asker)
      const exit = yield* Fiber.await(waiting)
      expect(exit).toMatchObject({ _tag: "Success", value: { status: 200 } })
      expect(s.asked).toEqual(["GET /user-data", "GET /user-data"])
    })
  )

  it.effect("keeps a token while it may be used, then asks again", () =>
    Effect.gen(function* () {
      const s = service((_, n) => Effect.succeed(answer(200, `token-${n}`)))
      const http = makeCachingHttp(s.shape)
      const token = request("PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "5" })
      yield* http.request(token)
      yield* TestClock.adjust(Duration.millis(3900))
      yield* http.request(token)
      yield* TestClock.adjust(Duration.millis(200))
      yield* http.request(token)
      expect(s.asked).toEqual(["PUT /latest/api/token", "PUT /latest/api/token"])
    })
  )

  it.effect("keeps a token for its lifetime on the monotonic clock: the wall clock stepped back an hour between two phases (NTP), it is asked again all the same", () =>
    Effect.gen(function* () {
      const s = service((_, n) => Effect.succeed(answer(200, `token-${n}`)))
      const http = makeCachingHttp(s.shape)
      const token = request("PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "5" })
      const wall = yield* steppableWallClock
      yield* http.request(token).pipe(Effect.withClock(wall.clock))
      wall.step(-3_600_000)
      yield* TestClock.adjust(Duration.millis(4100))
      yield* http.request(token).pipe(Effect.withClock(wall.clock))
      // before, the first was kept an hour more than its 5 s
      expect(s.asked).toEqual(["PUT /latest/api/token", "PUT /latest/api/token"])
    })
  )

  it.effect("never keeps a failed answer: a server error (500, 503) is asked again, as a transport failure is", () =>
    Effect.gen(function* () {
      const s = service((_, n) => Effect.succeed(answer(n === 1 ? 500 : n === 2 ? 503 : 200, "x")))
      const http = makeCachingHttp(s.shape)
      expect((yield* http.request(request("GET", "/user-data"))).status).toBe(500)
      expect((yield* http.request(request("GET", "/user-data"))).status).toBe(503)
      expect((yield* http.request(request("GET", "/user-data"))).status).toBe(200)
      expect((yield* http.request(request("GET", "/user-data"))).status).toBe(200)
      expect(s.asked).toEqual(["GET /user-data", "GET /user-data", "GET /user-data"])
    })
  )

  it.effect("keeps no token whose request names no lifetime (no *-ttl-seconds header): it is asked for each time", () =>
    Effect.gen(function* () {
      const s = service((_, n) => Effect.succeed(answer(200, `token-${n}`)))
      const http = makeCachingHttp(s.shape)
      const token = request("PUT", "/latest/api/token")
      expect(new TextDecoder().decode((yield* http.request(token)).body)).toBe("token-1")
      expect(new TextDecoder().decode((yield* http.request(token)).body)).toBe("token-2")
      expect(s.asked).toEqual(["PUT /latest/api/token", "PUT /latest/api/token"])
    })
  )

  it.effect("a kept answer larger than a later request's maxBytes (an earlier phase's larger IMDS_MAX_BYTES) is refused to it, as it would have been had it been sent", () =>
    Effect.gen(function* () {
      const s = service(() => Effect.succeed(answer(200, "x".repeat(600))))
      const http = makeCachingHttp(s.shape)
      expect((yield* http.request(request("GET", "/user-data"))).body.length).toBe(600)
      const smaller = yield* Effect.either(http.request({ ...request("GET", "/user-data"), maxBytes: 599 }))
      expect(smaller).toMatchObject({ _tag: "Left", left: { _tag: "HttpAnswerTooLarge", limit: 599 } })
      expect((yield* http.request({ ...request("GET", "/user-data"), maxBytes: 600 })).body.length).toBe(600)
      expect(s.asked).toEqual(["GET /user-data"])
    })
  )

  it.effect("forgets the tokens it keeps when a service answers 401 (it no longer knows them): the next asker gets a fresh one", () =>
    Effect.gen(function* () {
      // the service restarted after the first token: it refuses that one
      const s = service((r, n) => Effect.succeed(r.method === "PUT" ? answer(200, `token-${n}`) : r.headers?.["X-Token"] === "token-1" ? answer(401) : answer(200, "web-1")))
      const http = makeCachingHttp(s.shape)
      const token = request("PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "300" })
      expect(new TextDecoder().decode((yield* http.request(token)).body)).toBe("token-1")
      expect((yield* http.request(request("GET", "/latest/meta-data/hostname", { "X-Token": "token-1" }))).status).toBe(401)
      expect(new TextDecoder().decode((yield* http.request(token)).body)).toBe("token-3")
      expect((yield* http.request(request("GET", "/latest/meta-data/hostname", { "X-Token": "token-3" }))).status).toBe(200)
      expect(s.asked).toEqual(["PUT /latest/api/token", "GET /latest/meta-data/hostname", "PUT /latest/api/token", "GET /latest/meta-data/hostname"])
    })
  )
})
