/**
 * The settings of BEHAVIOUR.md §2 that shape each metadata request, by their
 * defaults and when set: IMDS_ENDPOINT (`HOST` or `HOST:PORT`, else the
 * cloud's own address), IMDS_TIMEOUT (seconds one request may take) and
 * IMDS_TOKEN_TTL (the AWS IMDSv2 token's lifetime). In-process, over an Http
 * that records what it is asked and answers as AWS does.
 */
import { describe, expect, it } from "@effect/vitest"
import { tmpdir } from "node:os"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { bytesOf } from "../../src/domain/text.js"
import { appLayer } from "../../src/layers/live.js"
import { Http, type HttpRequest } from "../../src/services/Http.js"
import { Metadata } from "../../src/services/Metadata.js"
import { capturingOutput, recordingCommands } from "../support/layers.js"
import { scopedDir } from "../support/scratch.js"

const SERVED: Readonly<Record<string, string>> = { "PUT /latest/api/token": "AQAEAIqCyQ3vB0ApUhsbZ9sv0xVtq0q9w3Kk4s0aUQ6fJb5Lq8cHPQ==", "GET /latest/meta-data/hostname": "web-1.example" }

/** `@hostname` read on aws over the program's own services, with `env` as its settings: the hostname, and each request as it was asked */
const requestsOf = (env: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const asked: Array<HttpRequest> = []
    const http = Layer.succeed(Http, {
      request: (r) =>
        Effect.sync(() => {
          asked.push(r)
          const body = SERVED[`${r.method} ${r.path}`]
          return body === undefined ? { status: 404, body: new Uint8Array() } : { status: 200, body: bytesOf(body) }
        })
    })
    const root = yield* scopedDir("tiny-cloud-request-settings-", tmpdir())
    const commands = yield* recordingCommands({ root })
    const { layer: output } = yield* capturingOutput
    const hostname = yield* Effect.flatMap(Metadata, (m) => m.hostname).pipe(Effect.provide(appLayer({ ROOT: root, CLOUD: "aws", ...env }, "test", { commands: commands.layer, http, output })))
    return { hostname: Option.getOrUndefined(hostname), asked }
  })

const shape = (r: HttpRequest) => ({
  request: `${r.method} ${r.host}:${r.port}${r.path}`,
  timeoutMs: r.timeoutMs,
  ttl: r.headers?.["X-aws-ec2-metadata-token-ttl-seconds"]
})

interface Case {
  readonly name: string
  readonly env: Readonly<Record<string, string>>
  /** where each request goes, HOST:PORT */
  readonly at: string
  readonly timeoutMs: number
  /** the token request's lifetime header */
  readonly ttl: string
}

const CASES: ReadonlyArray<Case> = [
  { name: "by default: AWS's own address, 2 s for each request, a token of 5 s", env: {}, at: "169.254.169.254:80", timeoutMs: 2000, ttl: "5" },
  {
    name: "IMDS_ENDPOINT (HOST:PORT), IMDS_TIMEOUT and IMDS_TOKEN_TTL set: each request is made with them",
    env: { IMDS_ENDPOINT: "10.1.2.3:8080", IMDS_TIMEOUT: "3.5", IMDS_TOKEN_TTL: "300" },
    at: "10.1.2.3:8080",
    timeoutMs: 3500,
    ttl: "300"
  },
  { name: "IMDS_ENDPOINT as a HOST alone: port 80", env: { IMDS_ENDPOINT: "metadata.internal" }, at: "metadata.internal:80", timeoutMs: 2000, ttl: "5" }
]

describe("the settings each metadata request is made with", () => {
  for (const { name, env, at, timeoutMs, ttl } of CASES) {
    it.scoped(name, () =>
      Effect.gen(function* () {
        const { hostname, asked } = yield* requestsOf(env)
        expect(hostname).toBe("web-1.example")
        expect(asked.map(shape)).toEqual([
          { request: `PUT ${at}/latest/api/token`, timeoutMs, ttl },
          { request: `GET ${at}/latest/meta-data/hostname`, timeoutMs, ttl: undefined }
        ])
      })
    )
  }
})
