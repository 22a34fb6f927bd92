/**
 * Metadata recorded as the clouds really serve it: one JSON file per case
 * under `test/fixtures/clouds/CLOUD/`, served by a fake HTTP layer that
 * answers each request from the case's routes (404 for anything else), and
 * refuses an answer past the request's limit as the live Http does.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { HttpAnswerTooLarge } from "../../src/domain/errors.js"
import { bytesOf } from "../../src/domain/text.js"
import { Http, type HttpRequest } from "../../src/services/Http.js"

export interface FixtureRoute {
  readonly method?: "GET" | "PUT" | "POST"
  /** the URL path, without its query */
  readonly path: string
  /** query parameters the request must carry (exact values) */
  readonly query?: Readonly<Record<string, string>>
  /** headers the request must carry; `*` for any value. Without them the answer is `missingHeaders` */
  readonly headers?: Readonly<Record<string, string>>
  readonly missingHeaders?: { readonly status: number; readonly body?: string }
  readonly status?: number
  readonly body?: string
  readonly bodyBase64?: string
}

export interface NicExpectation {
  /** NIC key (`@mac`, `@ipv4`, a sub-path) → what `imds @nic:IFACE,KEY` prints; null for absent */
  readonly [key: string]: string | null
}

export interface Fixture {
  readonly description: string
  /** where the response shapes come from (the cloud's documentation, cloud-init's or afterburn's test data) */
  readonly source: string
  /** settings for this case (CLOUD_USER...) */
  readonly env?: Readonly<Record<string, string>>
  /** instance files under ROOT: DMI strings, `sys/class/net/IFACE/address`, seed files */
  readonly files?: Readonly<Record<string, string>>
  /** volumes the instance has, by label (`cidata`, `config-2`) or Azure's provisioning media (`sr0`): the files `mount` presents */
  readonly volumes?: Readonly<Partial<Record<"cidata" | "config-2" | "sr0", Readonly<Record<string, string>>>>>
  readonly routes?: ReadonlyArray<FixtureRoute>
  readonly expect: {
    /** the cloud recognises the instance offline from `files` */
    readonly detected?: boolean
    readonly hostname?: string | null
    readonly localHostname?: string | null
    readonly sshKeys?: ReadonlyArray<string>
    /** the user-data bytes as text, `{ "base64": ... }` for binary data, null for none */
    readonly userData?: string | { readonly base64: string } | null
    readonly nics?: string | null
    readonly nic?: Readonly<Record<string, NicExpectation>>
  }
}

export const FIXTURES = new URL("../fixtures/clouds/", import.meta.url).pathname

/** every case of a cloud, by file name */
export const fixturesOf = (cloud: string): ReadonlyArray<{ readonly name: string; readonly fixture: Fixture }> => {
  const dir = join(FIXTURES, cloud)
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((name) => ({ name, fixture: JSON.parse(readFileSync(join(dir, name), "utf8")) as Fixture }))
}

export interface Served {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly status: number
}

const matches = (route: FixtureRoute, request: HttpRequest, url: URL) =>
  (route.method ?? "GET") === request.method &&
  route.path === url.pathname &&
  Object.entries(route.query ?? {}).every(([k, v]) => url.searchParams.get(k) === v)

/** an Http layer answering from the routes; every request is recorded */
export const fixtureHttp = (routes: ReadonlyArray<FixtureRoute>) =>
  Effect.gen(function* () {
    const served = yield* Ref.make<ReadonlyArray<Served>>([])
    const layer = Layer.succeed(Http, {
      request: (request) =>
        Effect.suspend(() => {
          const url = new URL(request.path, "http://fixture.invalid")
          const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
          const route = routes.find((r) => matches(r, request, url))
          const lacking = route !== undefined && Object.entries(route.headers ?? {}).some(([k, v]) => headers[k.toLowerCase()] === undefined || (v !== "*" && headers[k.toLowerCase()] !== v))
          const answer =
            route === undefined
              ? { status: 404, body: bytesOf("Not Found\n") }
              : lacking
                ? { status: route.missingHeaders?.status ?? 400, body: bytesOf(route.missingHeaders?.body ?? "missing header\n") }
                : {
                    status: route.status ?? 200,
                    body: route.bodyBase64 !== undefined ? new Uint8Array(Buffer.from(route.bodyBase64, "base64")) : bytesOf(route.body ?? "")
                  }
          return Ref.update(served, (s) => [...s, { method: request.method, path: request.path, headers, status: answer.status }]).pipe(
            // as the live Http reads it: an answer past the request's limit (USERDATA_MAX_BYTES, IMDS_MAX_BYTES...) is refused
            Effect.zipRight(answer.body.length > request.maxBytes ? Effect.fail(new HttpAnswerTooLarge({ limit: request.maxBytes })) : Effect.succeed(answer))
          )
        })
    })
    return { layer, served }
  })
