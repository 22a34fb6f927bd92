import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { makeHttpMetadataClient, oneRead } from "../../src/clouds/imds-http.js"
import { resolveSettings } from "../../src/domain/settings.js"
import { Config } from "../../src/services/Config.js"
import { HttpTransportError } from "../../src/domain/errors.js"
import { Http, type HttpResponse } from "../../src/services/Http.js"
import { steppableWallClock } from "../support/wall-clock.js"

const settings = (env: Record<string, string>) => Layer.succeed(Config, Either.getOrThrow(resolveSettings(env, {})))

/** an HTTP transport answering from a script of outcomes, then the last one forever */
const scriptedHttp = (outcomes: ReadonlyArray<HttpResponse | string>) =>
  Effect.gen(function* () {
    const calls = yield* Ref.make(0)
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const layer = Layer.succeed(Http, {
      request: () =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(times, (t) => [...t, now])).pipe(
          Effect.zipRight(Ref.getAndUpdate(calls, (n) => n + 1))
        ).pipe(Effect.flatMap((n) => {
          const outcome = outcomes[Math.min(n, outcomes.length - 1)]!
          return typeof outcome === "string" ? Effect.fail(new HttpTransportError({ reason: outcome })) : Effect.succeed(outcome)
        }))
    })
    return { layer, calls, times }
  })

const ok = (text: string): HttpResponse => ({ status: 200, body: new TextEncoder().encode(text) })

const client = makeHttpMetadataClient({ cloud: "testcloud", endpoint: "169.254.169.254", root: "/latest/" })

describe("metadata reads on the TestClock", () => {
  it.effect("retry refused connections and 5xx answers with growing delays, then succeed", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp(["connection refused", { status: 503, body: new Uint8Array() }, "connection reset", ok("host-1")])
      const fiber = yield* Effect.fork(Effect.flatMap(client, (c) => c.text("meta-data/hostname")).pipe(Effect.provide(Layer.merge(http.layer, settings({ IMDS_RETRY_DELAY: "1000", IMDS_RETRY_MAX_DELAY: "60000" })))))
      // jittered exponential backoff from 1 s: three retries fit in well under 20 s
      yield* TestClock.adjust(Duration.seconds(20))
      expect(Option.getOrThrow(yield* Fiber.join(fiber))).toBe("host-1")
      expect(yield* Ref.get(http.calls)).toBe(4)
    })
  )

  it.effect("the wait before each retry starts at IMDS_RETRY_DELAY and doubles, jitter (0.8 to 1.2) aside", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp(["connection refused", "connection refused", "connection refused", "connection refused", "connection refused", ok("host-1")])
      const fiber = yield* Effect.fork(Effect.flatMap(client, (c) => c.text("meta-data/hostname")).pipe(Effect.provide(Layer.merge(http.layer, settings({ IMDS_RETRY_DELAY: "1000", IMDS_RETRY_MAX_DELAY: "60000" })))))
      // 1 + 2 + 4 + 8 + 16 s at most 1.2 times each: done well within 40 s
      yield* TestClock.adjust(Duration.seconds(40))
      expect(Option.isSome(yield* Fiber.poll(fiber))).toBe(true)
      expect(Option.getOrThrow(yield* Fiber.join(fiber))).toBe("host-1")
      const times = yield* Ref.get(http.times)
      const waits = times.slice(1).map((t, i) => t - times[i]!)
      expect(waits.length).toBe(5)
      waits.forEach((w, i) => {
        expect(w).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i - 0.001)
        expect(w).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i + 0.001)
      })
    })
  )

  it.effect("retry the answers of a service not ready yet (410, as Azure's early in a boot) or throttling (429)", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp([{ status: 410, body: new Uint8Array() }, { status: 429, body: new Uint8Array() }, ok("host-1")])
      const fiber = yield* Effect.fork(Effect.flatMap(client, (c) => c.text("meta-data/hostname")).pipe(Effect.provide(Layer.merge(http.layer, settings({})))))
      yield* TestClock.adjust(Duration.seconds(5))
      expect(Option.getOrThrow(yield* Fiber.join(fiber))).toBe("host-1")
      expect(yield* Ref.get(http.calls)).toBe(3)
    })
  )

  it.effect("never retry a request that could not be sent from here (scaleway's source port below 1024, asked for by a user other than root): one error at once", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const http = Layer.succeed(Http, {
        request: () => Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.fail(new HttpTransportError({ reason: "only root may use that port", final: true })))
      })
      const fiber = yield* Effect.fork(Effect.either(Effect.flatMap(client, (c) => c.text("user_data/cloud-init")).pipe(Effect.provide(Layer.merge(http, settings({}))))))
      yield* TestClock.adjust(Duration.seconds(61))
      const result = yield* Fiber.join(fiber)
      expect(Either.isLeft(result) && result.left.message).toBe("testcloud: cannot read http://169.254.169.254/latest/user_data/cloud-init: only root may use that port")
      expect(yield* Ref.get(calls)).toBe(1)
    })
  )

  it.effect("never retry a 404: the datum is absent", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp([{ status: 404, body: new Uint8Array() }])
      const result = yield* Effect.flatMap(client, (c) => c.get("meta-data/nothing")).pipe(Effect.provide(Layer.merge(http.layer, settings({}))))
      expect(Option.isNone(result)).toBe(true)
      expect(yield* Ref.get(http.calls)).toBe(1)
    })
  )

  it.effect("give up at IMDS_DEADLINE with one error naming the cloud, the URL and the last error", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp(["connection refused"])
      const fiber = yield* Effect.fork(
        Effect.flatMap(client, (c) => c.get("meta-data/hostname")).pipe(Effect.either, Effect.provide(Layer.merge(http.layer, settings({ IMDS_DEADLINE: "60" }))))
      )
      yield* TestClock.adjust(Duration.seconds(59))
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(5))
      const result = yield* Fiber.join(fiber)
      expect(Either.isLeft(result) && result.left.message).toBe("testcloud: cannot read http://169.254.169.254/latest/meta-data/hostname: connection refused")
      // backoff capped at IMDS_RETRY_MAX_DELAY (2 s): about 30 tries in a minute, not thousands
      const calls = yield* Ref.get(http.calls)
      expect(calls).toBeGreaterThan(20)
      expect(calls).toBeLessThan(80)
    })
  )

  it.effect("an attempt whose transport never ends (its own timeout not kept) is given up after IMDS_TIMEOUT and tried again, not waited on until the deadline", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const http = Layer.succeed(Http, {
        request: () => Effect.flatMap(Ref.getAndUpdate(calls, (n) => n + 1), (n) => (n === 0 ? Effect.never : Effect.succeed(ok("host-1"))))
      })
      const fiber = yield* Effect.fork(
        Effect.flatMap(client, (c) => c.text("meta-data/hostname")).pipe(
          Effect.either,
          Effect.provide(Layer.merge(http, settings({ IMDS_TIMEOUT: "2", IMDS_DEADLINE: "60", IMDS_RETRY_DELAY: "100", IMDS_RETRY_MAX_DELAY: "200" })))
        )
      )
      // IMDS_TIMEOUT and a retry's wait, well within the deadline
      yield* TestClock.adjust(Duration.seconds(3))
      const result = yield* Fiber.poll(fiber)
      expect(Option.isSome(result)).toBe(true)
      expect(yield* Ref.get(calls)).toBe(2)
      const read = yield* Fiber.join(fiber)
      expect(Either.isRight(read) && Option.getOrThrow(read.right)).toBe("host-1")
    })
  )

  it.effect("no wait between two tries is longer than IMDS_RETRY_MAX_DELAY, jitter included", () =>
    Effect.gen(function* () {
      const times: Array<number> = []
      const http = Layer.succeed(Http, {
        request: () => Effect.map(Clock.currentTimeMillis, (now) => (times.push(now), { status: 503, body: new Uint8Array() }))
      })
      const fiber = yield* Effect.fork(
        Effect.flatMap(client, (c) => c.get("meta-data/hostname")).pipe(
          Effect.either,
          Effect.provide(Layer.merge(http, settings({ IMDS_DEADLINE: "30", IMDS_RETRY_DELAY: "250", IMDS_RETRY_MAX_DELAY: "1000" })))
        )
      )
      yield* TestClock.adjust(Duration.seconds(31))
      yield* Fiber.join(fiber)
      // to the microsecond: the clock's times are fractional milliseconds, and their differences carry rounding errors
      const waits = times.slice(1).map((t, i) => Math.round((t - times[i]!) * 1000) / 1000)
      expect(waits.length).toBeGreaterThan(20)
      expect(waits.filter((w) => w > 1000)).toEqual([])
      // the cap is reached: the later waits are near it, not stuck at the first delay
      expect(Math.max(...waits)).toBeGreaterThan(750)
    })
  )

  it.effect("the deadline bounds the whole read: the wait it comes in is cut short, and no attempt starts after it", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp([{ status: 503, body: new Uint8Array() }])
      // waits of 400 ms, then 800, then up to the 2 s cap: without the bound the second wait ends past the deadline
      const fiber = yield* Effect.fork(
        Effect.flatMap(client, (c) => c.get("meta-data/hostname")).pipe(
          Effect.either,
          Effect.provide(Layer.merge(http.layer, settings({ IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "400", IMDS_RETRY_MAX_DELAY: "2000" })))
        )
      )
      const start = yield* Clock.currentTimeMillis
      yield* TestClock.adjust(Duration.millis(999))
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.millis(1))
      const result = yield* Fiber.join(fiber)
      expect(Either.isLeft(result) && result.left.message).toBe("testcloud: cannot read http://169.254.169.254/latest/meta-data/hostname: HTTP 503")
      yield* TestClock.adjust(Duration.seconds(10))
      // every attempt started before the deadline (the jittered waits may put the last one anywhere before it)
      const times = yield* Ref.get(http.times)
      expect(times.length).toBeGreaterThanOrEqual(2)
      expect(times.filter((t) => t - start >= 1000)).toEqual([])
    })
  )

  it.effect("a request of a read whose deadline has passed (its listing took it all) is not sent: it fails 'timed out' at once", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const http = Layer.succeed(Http, {
        request: (r) => Effect.sync(() => (asked.push(r.path), { status: 503, body: new Uint8Array() }))
      })
      const fiber = yield* Effect.fork(
        Effect.flatMap(client, (c) => oneRead(1)(Effect.zipRight(Effect.either(c.get("meta-data/public-keys/")), Effect.either(c.get("meta-data/public-keys/0/openssh-key"))))).pipe(
          Effect.provide(Layer.merge(http, settings({ IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "100", IMDS_RETRY_MAX_DELAY: "200" })))
        )
      )
      yield* TestClock.adjust(Duration.seconds(5))
      const second = yield* Fiber.join(fiber)
      expect(Either.isLeft(second) && second.left.message).toBe("testcloud: cannot read http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key: timed out")
      expect(asked.length).toBeGreaterThan(2)
      expect(asked.filter((p) => p.endsWith("openssh-key"))).toEqual([])
    })
  )

  it.effect("a read inside another is part of it: the inner one gets what is left of the outer one's deadline, not a deadline of its own", () =>
    Effect.gen(function* () {
      const http = Layer.succeed(Http, {
        request: (r) =>
          Effect.map(Clock.currentTimeMillis, (now) => (r.path.endsWith("listing") && now >= 800 ? ok("a") : { status: 503, body: new Uint8Array() }))
      })
      const fiber = yield* Effect.fork(
        Effect.flatMap(client, (c) => oneRead(1)(Effect.zipRight(c.get("listing"), Effect.either(oneRead(1)(c.get("entry")))))).pipe(
          Effect.provide(Layer.merge(http, settings({ IMDS_DEADLINE: "1", IMDS_RETRY_DELAY: "50", IMDS_RETRY_MAX_DELAY: "100" })))
        )
      )
      // (the listing is had after 800 ms: an inner deadline of its own would end at 1.8 s at the earliest)
      yield* TestClock.adjust(Duration.millis(1100))
      const done = yield* Fiber.poll(fiber)
      expect(Option.isSome(done)).toBe(true)
      const entry = yield* Fiber.join(fiber)
      expect(Either.isLeft(entry) && entry.left.message).toBe("testcloud: cannot read http://169.254.169.254/latest/entry: HTTP 503")
    })
  )

  it.effect("an error page is never taken for data: a 403 fails without retrying", () =>
    Effect.gen(function* () {
      const http = yield* scriptedHttp([{ status: 403, body: new TextEncoder().encode("<html>denied</html>") }])
      const result = yield* Effect.flatMap(client, (c) => c.get("user-data")).pipe(Effect.either, Effect.provide(Layer.merge(http.layer, settings({}))))
      expect(Either.isLeft(result) && result.left.message).toBe("testcloud: cannot read http://169.254.169.254/latest/user-data: HTTP 403")
      expect(yield* Ref.get(http.calls)).toBe(1)
    })
  )
})

describe("the session token", () => {
  /** a client asking for tokens of 5 s, of a service that answers every request; what it was asked */
  const fiveSecondTokens = () => {
    const asked: Array<string> = []
    const layer = Layer.succeed(Http, {
      request: (r) =>
        Effect.sync(() => {
          asked.push(`${r.method} ${r.path}`)
          return r.method === "PUT" ? ok(`token-${asked.length}`) : ok("host-1")
        })
    })
    const client = makeHttpMetadataClient({
      cloud: "testcloud",
      endpoint: "169.254.169.254",
      root: "/latest/",
      token: { header: "X-Token", request: { method: "PUT", path: "/latest/api/token", headers: { "X-Token-Ttl-Seconds": "5" } } }
    }).pipe(Effect.provide(Layer.merge(layer, settings({}))))
    return { asked, client }
  }

  it.effect("is used only within its lifetime: asked for 5 s, a new one after 4 s", () =>
    Effect.gen(function* () {
      const { asked, client } = fiveSecondTokens()
      const c = yield* client
      yield* c.get("meta-data/hostname")
      yield* TestClock.adjust(Duration.millis(3900))
      yield* c.get("meta-data/hostname")
      yield* TestClock.adjust(Duration.millis(200))
      yield* c.get("meta-data/hostname")
      expect(asked).toEqual(["PUT /latest/api/token", "GET /latest/meta-data/hostname", "GET /latest/meta-data/hostname", "PUT /latest/api/token", "GET /latest/meta-data/hostname"])
    })
  )

  it.effect("its lifetime is counted on the monotonic clock: the wall clock stepped back an hour meanwhile (NTP), a new one after 4 s all the same", () =>
    Effect.gen(function* () {
      const { asked, client } = fiveSecondTokens()
      const wall = yield* steppableWallClock
      const c = yield* client
      yield* c.get("meta-data/hostname").pipe(Effect.withClock(wall.clock))
      wall.step(-3_600_000)
      yield* TestClock.adjust(Duration.millis(4100))
      yield* c.get("meta-data/hostname").pipe(Effect.withClock(wall.clock))
      // before, the token was used for an hour more than its 5 s, and the service refused it
      expect(asked).toEqual(["PUT /latest/api/token", "GET /latest/meta-data/hostname", "PUT /latest/api/token", "GET /latest/meta-data/hostname"])
    })
  )

  it.effect("reads made at once wait for one token: it is asked for once, not once by each", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const layer = Layer.succeed(Http, {
        request: (r) =>
          Effect.sync(() => asked.push(`${r.method} ${r.path}`)).pipe(
            // the token's answer takes a while: the other reads come while it is awaited
            Effect.zipRight(r.method === "PUT" ? Effect.as(Effect.sleep(Duration.millis(100)), ok("token-1")) : Effect.succeed(ok("value")))
          )
      })
      const tokened = makeHttpMetadataClient({
        cloud: "testcloud",
        endpoint: "169.254.169.254",
        root: "/latest/",
        token: { header: "X-Token", request: { method: "PUT", path: "/latest/api/token", headers: { "X-Token-Ttl-Seconds": "21600" } } }
      })
      const reads = yield* Effect.fork(
        Effect.flatMap(tokened, (c) => Effect.all(["meta-data/hostname", "meta-data/public-keys/", "user-data"].map((p) => c.get(p)), { concurrency: "unbounded" })).pipe(
          Effect.provide(Layer.merge(layer, settings({})))
        )
      )
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(reads)
      expect(asked.filter((a) => a.startsWith("PUT"))).toEqual(["PUT /latest/api/token"])
      expect(asked.filter((a) => a.startsWith("GET")).sort()).toEqual(["GET /latest/meta-data/hostname", "GET /latest/meta-data/public-keys/", "GET /latest/user-data"])
    })
  )

  it.effect("refused (HTTP 401) within its lifetime: a new one, and the read again with it", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      let refusals = 1
      const layer = Layer.succeed(Http, {
        request: (r) =>
          Effect.sync(() => {
            if (r.method === "PUT") {
              asked.push(`PUT token-${asked.length}`)
              return ok(`token-${asked.length - 1}`)
            }
            const refused = refusals-- > 0
            asked.push(`GET ${r.headers?.["X-Token"]} ${refused ? 401 : 200}`)
            return refused ? { status: 401, body: new Uint8Array() } : ok("host-1")
          })
      })
      const tokened = makeHttpMetadataClient({
        cloud: "testcloud",
        endpoint: "169.254.169.254",
        root: "/latest/",
        token: { header: "X-Token", request: { method: "PUT", path: "/latest/api/token", headers: { "X-Token-Ttl-Seconds": "21600" } } }
      })
      const read = yield* Effect.fork(Effect.flatMap(tokened, (c) => c.get("meta-data/hostname")).pipe(Effect.provide(Layer.merge(layer, settings({})))))
      // the read again comes after the retry's delay
      yield* TestClock.adjust(Duration.seconds(10))
      const host = yield* Fiber.join(read)
      expect(Option.map(host, (b) => new TextDecoder().decode(b))).toEqual(Option.some("host-1"))
      expect(asked).toEqual(["PUT token-0", "GET token-0 401", "PUT token-2", "GET token-2 200"])
    })
  )
})

describe("an answer kept from an earlier phase (the resident process's)", () => {
  it.effect("is asked for without a token; refused after all (401: it was not kept), the read is sent again with the token, not again without one", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const layer = Layer.succeed(Http, {
        kept: (r) => Effect.succeed(r.method === "GET"),
        request: (r) =>
          Effect.sync(() => {
            const token = r.headers?.["X-Token"]
            asked.push(`${r.method} ${r.path} ${token ?? "-"}`)
            return r.method === "PUT" ? ok("tok-1") : token === "tok-1" ? ok("host-1") : { status: 401, body: new Uint8Array() }
          })
      })
      const tokened = makeHttpMetadataClient({
        cloud: "testcloud",
        endpoint: "169.254.169.254",
        root: "/latest/",
        token: { header: "X-Token", request: { method: "PUT", path: "/latest/api/token", headers: { "X-Token-Ttl-Seconds": "5" } } }
      })
      const fiber = yield* Effect.fork(Effect.flatMap(tokened, (c) => c.text("meta-data/hostname")).pipe(Effect.either, Effect.provide(Layer.merge(layer, settings({ IMDS_DEADLINE: "5" })))))
      yield* TestClock.adjust(Duration.seconds(6))
      const read = yield* Fiber.join(fiber)
      expect(Either.isRight(read) && Option.getOrThrow(read.right)).toBe("host-1")
      expect(asked).toEqual(["GET /latest/meta-data/hostname -", "PUT /latest/api/token -", "GET /latest/meta-data/hostname tok-1"])
    })
  )
})

describe("a service without session tokens (IMDSv1 only)", () => {
  /** a service refusing the token PUT with `refusal`, then answering reads with `read` (by whether they carry a token) */
  const refusingTokens = (refusal: number, read: (token: string | undefined) => HttpResponse) => {
    const asked: Array<string> = []
    const layer = Layer.succeed(Http, {
      request: (r) =>
        Effect.sync(() => {
          const answer = r.method === "PUT" ? { status: refusal, body: new TextEncoder().encode("<html>refused</html>") } : read(r.headers?.["X-Token"])
          asked.push(`${r.method} ${r.headers?.["X-Token"] ?? "-"} ${answer.status}`)
          return answer
        })
    })
    return { asked, layer }
  }
  const tokened = makeHttpMetadataClient({
    cloud: "testcloud",
    endpoint: "169.254.169.254",
    root: "/latest/",
    token: { header: "X-Token", request: { method: "PUT", path: "/latest/api/token", headers: { "X-Token-Ttl-Seconds": "5" } }, absentOn: [403, 404, 405] }
  })

  it.effect.each([403, 404, 405])("a token PUT answered %d: reads go without a token, and the PUT is not asked again within the token's lifetime", (refusal) =>
    Effect.gen(function* () {
      const { asked, layer } = refusingTokens(refusal, () => ok("host-1"))
      const hosts = yield* Effect.gen(function* () {
        const c = yield* tokened
        return [yield* c.text("meta-data/hostname"), yield* c.text("meta-data/hostname")]
      }).pipe(Effect.provide(Layer.merge(layer, settings({}))))
      expect(hosts).toEqual([Option.some("host-1"), Option.some("host-1")])
      expect(asked).toEqual([`PUT - ${refusal}`, "GET - 200", "GET - 200"])
    })
  )

  it.effect("a read without a token refused (HTTP 401): the token is asked for again, and the read fails with one line when there is none", () =>
    Effect.gen(function* () {
      const { asked, layer } = refusingTokens(403, () => ({ status: 401, body: new Uint8Array() }))
      const read = yield* Effect.fork(Effect.flip(Effect.flatMap(tokened, (c) => c.get("meta-data/hostname")).pipe(Effect.provide(Layer.merge(layer, settings({ IMDS_DEADLINE: "2" }))))))
      yield* TestClock.adjust(Duration.seconds(3))
      const error = yield* Fiber.join(read)
      expect(error.message).toBe("testcloud: cannot read http://169.254.169.254/latest/meta-data/hostname: token rejected (HTTP 401)")
      expect(asked.slice(0, 4)).toEqual(["PUT - 403", "GET - 401", "PUT - 403", "GET - 401"])
    })
  )

  /** a service whose token PUT's answers are lost (EC2's PUT response hop limit), answering reads by whether they carry a token */
  const losingTokens = (read: (path: string, token: string | undefined) => HttpResponse) => {
    const asked: Array<string> = []
    const layer = Layer.succeed(Http, {
      request: (r) =>
        Effect.suspend(() => {
          if (r.method === "PUT") {
            asked.push("PUT timed out")
            return Effect.fail(new HttpTransportError({ reason: "timed out", timedOut: true }))
          }
          const answer = read(r.path, r.headers?.["X-Token"])
          asked.push(`GET ${r.path} ${r.headers?.["X-Token"] ?? "-"} ${answer.status}`)
          return Effect.succeed(answer)
        })
    })
    return { asked, layer }
  }

  it.effect("a token PUT that times out while the metadata root is answered without a token (the PUT's answer lost): reads go without one", () =>
    Effect.gen(function* () {
      const { asked, layer } = losingTokens(() => ok("host-1"))
      const read = yield* Effect.fork(Effect.either(Effect.flatMap(tokened, (c) => c.text("meta-data/hostname")).pipe(Effect.provide(Layer.merge(layer, settings({ IMDS_DEADLINE: "2" }))))))
      yield* TestClock.adjust(Duration.seconds(3))
      expect(yield* Fiber.join(read)).toEqual(Either.right(Option.some("host-1")))
      expect(asked).toEqual(["PUT timed out", "GET /latest/ - 200", "GET /latest/meta-data/hostname - 200"])
    })
  )

  it.effect("a token PUT that times out where the service wants tokens (401 without one): the token request's failure stands, retried until the deadline", () =>
    Effect.gen(function* () {
      const { asked, layer } = losingTokens(() => ({ status: 401, body: new Uint8Array() }))
      const read = yield* Effect.fork(Effect.flip(Effect.flatMap(tokened, (c) => c.get("meta-data/hostname")).pipe(Effect.provide(Layer.merge(layer, settings({ IMDS_DEADLINE: "2" }))))))
      yield* TestClock.adjust(Duration.seconds(3))
      const error = yield* Fiber.join(read)
      expect(error.message).toBe("testcloud: cannot read http://169.254.169.254/latest/api/token: timed out")
      expect(asked.slice(0, 4)).toEqual(["PUT timed out", "GET /latest/ - 401", "PUT timed out", "GET /latest/ - 401"])
      expect(asked.filter((a) => a.includes("meta-data"))).toEqual([])
    })
  )

  it.effect("a token PUT answered 400 (a bad TTL) is no sign of IMDSv1: the read fails naming it", () =>
    Effect.gen(function* () {
      const { asked, layer } = refusingTokens(400, () => ok("host-1"))
      const error = yield* Effect.flip(Effect.flatMap(tokened, (c) => c.get("meta-data/hostname")).pipe(Effect.provide(Layer.merge(layer, settings({})))))
      expect(error.message).toBe("testcloud: cannot read http://169.254.169.254/latest/api/token: token request answered HTTP 400")
      expect(asked).toEqual(["PUT - 400"])
    })
  )
})

describe("a cloud with an IPv6 address too", () => {
  it.effect("once the IPv6 address has answered, a later read's failure names it, not the IPv4 address the instance has no route to", () =>
    Effect.gen(function* () {
      const layer = Layer.succeed(Http, {
        request: (r) =>
          r.host === "169.254.169.254"
            ? Effect.fail(new HttpTransportError({ reason: "network unreachable", noNetwork: true }))
            : Effect.succeed(r.path.endsWith("hostname") ? ok("host-1") : { status: 403, body: new Uint8Array() })
      })
      const pair = makeHttpMetadataClient({ cloud: "testcloud", endpoint: "169.254.169.254", ipv6Endpoint: "fd00:ec2::254", root: "/latest/" })
      const read = yield* Effect.fork(
        Effect.flatMap(pair, (c) => Effect.zip(c.text("meta-data/hostname"), Effect.flip(c.get("meta-data/placement")))).pipe(Effect.provide(Layer.merge(layer, settings({}))))
      )
      yield* TestClock.adjust(Duration.seconds(5))
      const [hostname, error] = yield* Fiber.join(read)
      expect(Option.getOrThrow(hostname)).toBe("host-1")
      expect(error.message).toBe("testcloud: cannot read http://[fd00:ec2::254]/latest/meta-data/placement: HTTP 403")
    })
  )
})

describe("IMDS_ENDPOINT", () => {
  it.effect("an IPv6 address written without brackets (fd00:ec2::254, AWS's) is the host, on the default port, and bracketed in URLs", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const layer = Layer.succeed(Http, {
        request: (r) => Effect.sync(() => (asked.push(`${r.host} ${r.port} ${r.path}`), { status: 503, body: new Uint8Array() }))
      })
      const env = { IMDS_ENDPOINT: "fd00:ec2::254", IMDS_DEADLINE: "1" }
      // before, the setting was refused: 'IMDS_ENDPOINT: expected HOST or HOST:PORT, got ...'
      const read = yield* Effect.fork(Effect.either(Effect.flatMap(client, (c) => c.get("meta-data/hostname")).pipe(Effect.provide(Layer.merge(layer, settings(env))))))
      yield* TestClock.adjust(Duration.seconds(2))
      expect(yield* Fiber.join(read)).toMatchObject({ _tag: "Left", left: { url: "http://[fd00:ec2::254]/latest/meta-data/hostname", reason: "HTTP 503" } })
      expect(asked[0]).toBe("fd00:ec2::254 80 /latest/meta-data/hostname")
    })
  )
})
