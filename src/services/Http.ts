import { Context, Data, Effect } from "effect"

export interface HttpRequest {
  readonly method: "GET" | "PUT"
  readonly protocol?: "http" | "https"
  readonly host: string
  readonly port: number
  readonly path: string
  readonly headers?: Record<string, string>
  /** HTTP over a unix socket (incus) */
  readonly socketPath?: string
  /** bind the client to a privileged source port (scaleway user-data) */
  readonly privilegedSourcePort?: boolean
  readonly timeoutMs: number
}

export interface HttpResponse {
  readonly status: number
  readonly body: Uint8Array
}

/** The request never got an HTTP answer: refused, reset, timed out. */
export class HttpTransportError extends Data.TaggedError("HttpTransportError")<{
  readonly reason: string
}> {
  override get message() {
    return this.reason
  }
}

export interface HttpShape {
  readonly request: (request: HttpRequest) => Effect.Effect<HttpResponse, HttpTransportError>
}

export class Http extends Context.Tag("tiny-cloud/Http")<Http, HttpShape>() {}
