/**
 * IMDS_DEADLINE bounds one metadata read, retries included (BEHAVIOUR.md §2),
 * whatever number of requests the read takes: aws's `@ssh-keys` is a listing
 * and then each listed key, and a service that holds every key for a while
 * before answering it must not hold set_ssh_keys for the deadline once per
 * four keys. On the TestClock, against a metadata service answering on it;
 * the clock moves on only while something waits on it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { bytesOf } from "../../src/domain/text.js"
import { Http, type HttpRequest, type HttpResponse } from "../../src/services/Http.js"
import { actionLines, makeTestInstance } from "../support/instance.js"
import { advancingClock, advancingWhileWaited } from "../support/test-clock.js"
import { steppableWallClock } from "../support/wall-clock.js"

const KEYS = 40
const HOST = "web-1.example.internal"
const keyOf = (n: string) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHeld${n.padStart(4, "0")} k${n}@example`

/**
 * aws's IMDS (a token, a hostname, KEYS keys listed) that answers each key 503
 * until `holdMs` after it was first asked for, then the key: each key alone
 * is read well within the deadline, their sum is not
 */
const heldKeys = (holdMs: number) => {
  const first = new Map<string, number>()
  const answer = (r: HttpRequest, now: number): HttpResponse => {
    const ok = (text: string) => ({ status: 200, body: bytesOf(text) })
    if (r.method === "PUT" && r.path === "/latest/api/token") return ok("TOKEN")
    if (r.path === "/latest/meta-data/hostname") return ok(HOST)
    if (r.path === "/latest/meta-data/public-keys/") return ok(Array.from({ length: KEYS }, (_, i) => `${i}=k${i}`).join("\n"))
    const key = /^\/latest\/meta-data\/public-keys\/(\d+)\/openssh-key$/.exec(r.path)?.[1]
    if (key === undefined) return { status: 404, body: new Uint8Array() }
    if (!first.has(key)) first.set(key, now)
    return now - first.get(key)! < holdMs ? { status: 503, body: new Uint8Array() } : ok(keyOf(key))
  }
  return Layer.succeed(Http, { request: (r) => Effect.map(Clock.currentTimeMillis, (now) => answer(r, now)) })
}

/** an aws instance on that service: a 2 s deadline, retries at most 200 ms apart, so that a held key is had after 1.5 s */
const instanceHeld = makeTestInstance({
  noSimulator: true,
  http: heldKeys(1500),
  env: { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254", IMDS_TIMEOUT: "1", IMDS_DEADLINE: "2", IMDS_RETRY_DELAY: "100", IMDS_RETRY_MAX_DELAY: "200" }
})

const KEY_FAILED = /^imds: aws: cannot read http:\/\/169\.254\.169\.254\/latest\/meta-data\/public-keys\/\d+\/openssh-key: HTTP 503$/

describe("IMDS_DEADLINE bounds one read of many requests", () => {
  it.scoped("@ssh-keys with 40 keys each held 1.5 s: the read fails at its one 2 s deadline, naming a key's URL and its last error, not ten times that", () =>
    Effect.gen(function* () {
      const instance = yield* instanceHeld
      const { result, elapsedMs } = yield* advancingWhileWaited(instance.imds(["@ssh-keys"]), "200 millis")
      expect(result.code).toBe(1)
      expect(result.stdout).toBe("")
      expect(result.stderr).toMatch(new RegExp(KEY_FAILED.source.replace("$", "\\n$")))
      // (far from the ten deadlines of before)
      expect(elapsedMs).toBeGreaterThanOrEqual(2000)
      expect(elapsedMs).toBeLessThan(3500)
    })
  )

  it.scoped("each read has a deadline of its own: @hostname read after @ssh-keys ran out of time is read", () =>
    Effect.gen(function* () {
      const instance = yield* instanceHeld
      const { result } = yield* advancingWhileWaited(instance.imds(["-e", "@ssh-keys", "@hostname", "+n"]), "200 millis")
      expect(result.stdout).toBe(`${HOST}\n`)
      expect(result.stderr).toMatch(new RegExp(KEY_FAILED.source.replace("$", "\\n$")))
    })
  )

  // the clock moves on only while the phase waits on it (its files cost it no time): its deadline is the read's own
  it.scoped("main: set_hostname is done, set_ssh_keys fails within its one deadline, and the phase ends soon after it", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        noSimulator: true,
        http: heldKeys(15_000),
        env: { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254", IMDS_TIMEOUT: "1", IMDS_DEADLINE: "20", IMDS_RETRY_DELAY: "100", IMDS_RETRY_MAX_DELAY: "2000" }
      })
      const { result, elapsedMs } = yield* advancingWhileWaited(instance.run(["main"]), "200 millis")
      expect(result.code).toBe(1)
      expect(actionLines(result.stderr)).toEqual([
        "   ++ missing_userdata: starting",
        "   ++ missing_userdata: done",
        "   ++ create_default_user: starting",
        "   ++ create_default_user: done",
        "   ++ set_hostname: starting",
        "   ++ set_hostname: done",
        "   ++ set_ssh_keys: starting",
        "   ++ set_ssh_keys: failed"
      ])
      expect(instance.read("/etc/hostname")).toBe("web-1\n")
      expect(result.stderr).toMatch(/^set_ssh_keys: aws: cannot read http:\/\/169\.254\.169\.254\/latest\/meta-data\/public-keys\/\d+\/openssh-key: HTTP 503$/m)
      // ten deadlines, one per four keys, before
      expect(elapsedMs).toBeGreaterThanOrEqual(20_000)
      expect(elapsedMs).toBeLessThan(30_000)
    })
  )

  it.scoped("a service that answers each key at once: all 40 keys are read and installed", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        noSimulator: true,
        http: heldKeys(0),
        env: { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254", IMDS_TIMEOUT: "1", IMDS_DEADLINE: "2" }
      })
      const { result } = yield* advancingWhileWaited(instance.run(["main"]), "200 millis")
      expect(result.code).toBe(0)
      const keys = Array.from({ length: KEYS }, (_, i) => keyOf(String(i))).sort()
      expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(keys.map((k) => `${k}\n`).join(""))
    })
  )
})

describe("IMDS_DEADLINE bounds a NoCloud seed file read through its redirects", () => {
  /** a seed server whose user-data answers 503 for `holdMs`, then redirects to a place that answers 503 for ever */
  const movedSeed = (holdMs: number) => {
    let first: number | undefined
    const answer = (r: HttpRequest, now: number): HttpResponse => {
      if (r.path === "/seed/meta-data") return { status: 200, body: bytesOf("instance-id: i-1\nlocal-hostname: seeded\n") }
      if (r.path === "/moved/user-data") return { status: 503, body: new Uint8Array() }
      if (r.path !== "/seed/user-data") return { status: 404, body: new Uint8Array() }
      first ??= now
      return now - first < holdMs ? { status: 503, body: new Uint8Array() } : { status: 302, body: new Uint8Array(), location: "/moved/user-data" }
    }
    return Layer.succeed(Http, { request: (r) => Effect.map(Clock.currentTimeMillis, (now) => answer(r, now)) })
  }

  it.scoped("a redirect had after 1.7 s of a 2 s deadline: the hop it leads to gets what is left of it, not a deadline of its own", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({
        noSimulator: true,
        http: movedSeed(1700),
        env: { CLOUD: "nocloud", IMDS_TIMEOUT: "1", IMDS_DEADLINE: "2", IMDS_RETRY_DELAY: "100", IMDS_RETRY_MAX_DELAY: "200" }
      })
      instance.write("/proc/cmdline", "console=ttyS0 ds=nocloud;s=http://10.0.0.1/seed/\n")
      const { result, elapsedMs } = yield* advancingClock(instance.imds(["user-data"]), "20 millis")
      expect(result).toEqual({ code: 1, stdout: "", stderr: "imds: nocloud: cannot read http://10.0.0.1/seed/user-data: HTTP 503, after 1 redirect\n" })
      expect(elapsedMs).toBeGreaterThanOrEqual(2000)
      expect(elapsedMs).toBeLessThan(3000)
    })
  )
})

describe("a read's deadline and retries are counted on the monotonic clock: NTP steps the wall clock on a first boot", () => {
  const DAY = 86_400_000
  /**
   * aws's IMDS with two keys, its answers given by `answer` (the number of
   * times that path was asked, from 1); the wall clock stepped by `step` as
   * it answers
   */
  const steppingService = (answer: (path: string, asked: number, step: (ms: number) => void) => HttpResponse | undefined, step: (ms: number) => void) => {
    const asked = new Map<string, number>()
    const ok = (text: string) => ({ status: 200, body: bytesOf(text) })
    return Layer.succeed(Http, {
      request: (r) =>
        Effect.sync((): HttpResponse => {
          const n = (asked.get(r.path) ?? 0) + 1
          asked.set(r.path, n)
          const own = answer(r.path, n, step)
          if (own !== undefined) return own
          if (r.method === "PUT" && r.path === "/latest/api/token") return ok("TOKEN")
          if (r.path === "/latest/meta-data/hostname") return ok(HOST)
          if (r.path === "/latest/meta-data/public-keys/") return ok("0=k0\n1=k1")
          const key = /^\/latest\/meta-data\/public-keys\/(\d+)\/openssh-key$/.exec(r.path)?.[1]
          return key === undefined ? { status: 404, body: new Uint8Array() } : ok(keyOf(key))
        })
    })
  }
  const ENV = { CLOUD: "aws", IMDS_ENDPOINT: "169.254.169.254", IMDS_TIMEOUT: "1", IMDS_DEADLINE: "2", IMDS_RETRY_DELAY: "100", IMDS_RETRY_MAX_DELAY: "200" }

  it.scoped("@ssh-keys with the wall clock stepped a day forward as the key list is answered (a clock at 1970 set right): the keys are read", () =>
    Effect.gen(function* () {
      const wall = yield* steppableWallClock
      const http = steppingService((path, n, step) => (path === "/latest/meta-data/public-keys/" && n === 1 ? (step(DAY), undefined) : undefined), wall.step)
      const instance = yield* makeTestInstance({ noSimulator: true, http, env: ENV })
      const { result } = yield* advancingClock(instance.imds(["@ssh-keys"]).pipe(Effect.withClock(wall.clock)), "20 millis")
      // before, the read's deadline had passed on the wall clock: each key 'timed out' at once, never asked for
      expect(result).toEqual({ code: 0, stdout: `${keyOf("0")}\n${keyOf("1")}\n`, stderr: "" })
    })
  )

  it.scoped("@hostname answered 503 twice, the wall clock stepped a day forward at the second: retried within the deadline, and read", () =>
    Effect.gen(function* () {
      const wall = yield* steppableWallClock
      const unavailable = { status: 503, body: new Uint8Array() }
      const http = steppingService((path, n, step) => (path !== "/latest/meta-data/hostname" || n > 2 ? undefined : (n === 2 && step(DAY), unavailable)), wall.step)
      const instance = yield* makeTestInstance({ noSimulator: true, http, env: ENV })
      const { result } = yield* advancingClock(instance.imds(["@hostname"]).pipe(Effect.withClock(wall.clock)), "20 millis")
      // before, the retries' schedule measured a day gone by, and stopped at the second 503
      expect(result).toEqual({ code: 0, stdout: HOST, stderr: "" })
    })
  )
})
