import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { HttpAnswerTooLarge, HttpTransportError } from "../domain/errors.js"

export interface HttpRequest {
  readonly method: "GET" | "PUT" | "POST"
  readonly protocol?: "http" | "https"
  readonly host: string
  readonly port: number
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string | Uint8Array
  /** HTTP over a unix socket (incus) */
  readonly socketPath?: string
  /** bind the client to a privileged source port (scaleway user-data) */
  readonly privilegedSourcePort?: boolean
  /** asked anew each time: an answer is never kept for it (azure's wireserver, whose goal state moves on) */
  readonly fresh?: boolean
  readonly timeoutMs: number
  /** the answer's body may have at most this many bytes: the connection is dropped as soon as it has more */
  readonly maxBytes: number
}

export interface HttpResponse {
  readonly status: number
  /** a 2xx answer's body; empty for any other answer, whose body is never read */
  readonly body: Uint8Array
  /** a 3xx answer's `Location` header, as sent (relative or absolute); it is not followed here */
  readonly location?: string
}

/** One HTTP request; redirects are never followed. */
export interface HttpShape {
  readonly request: (request: HttpRequest) => Effect.Effect<HttpResponse, HttpTransportError | HttpAnswerTooLarge>
  /**
   * Whether an answer to this request is kept and will be given without
   * sending it: it then needs no session token (the resident process's
   * answers, kept between phases). Absent: every request is sent.
   */
  readonly kept?: (request: HttpRequest) => Effect.Effect<boolean>
}

export class Http extends Context.Tag("tiny-cloud/Http")<Http, HttpShape>() {}
