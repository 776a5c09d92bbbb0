import type { IncomingMessage, ServerResponse } from "node:http"
import type { Engine, Retention } from "../engine/engine.js"
import { defaultLogger, type Logger } from "../logger.js"
import { ADMISSION_RETRY_AFTER_SECONDS, type Admission, createAdmission } from "../server/admission.js"
import { createClientAddressResolver } from "../server/client-address.js"
import { createSSE, withErrorBoundary } from "../server/index.js"
import { sendProblem } from "../server/problem.js"
import { onResponseGone } from "../server/response-gone.js"
import { appendToStream } from "./append.js"
import { authenticate, OPEN_CALLER, type StreamsAuthOptions } from "./auth.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { sendReply } from "./context.js"
import { createStreamsCors, type StreamsCorsOptions } from "./cors.js"
import { createStream } from "./create.js"
import { deleteStream } from "./delete.js"
import { engineRefusal } from "./engine-refusal.js"
import { StreamsError } from "./errors.js"
import { createForkMarkerSweep } from "./fork-marker-sweep.js"
import { createForkMarkerTtl } from "./fork-marker-ttl.js"
import { SECURITY_HEADERS } from "./headers.js"
import { resolveLimits, type StreamsLimits } from "./limits.js"
import { createLiveReaderTtl } from "./live-reader-ttl.js"
import { openForRead } from "./lookup.js"
import { streamMetadata } from "./metadata.js"
import { type StreamsOverview, streamsOverview } from "./overview.js"
import { readStream } from "./read.js"
import { LiveFrames } from "./sse-events.js"
import { createStreamCount } from "./stream-count.js"
import { RequestTarget } from "./target.js"
import { type LogView, serveView } from "./view.js"

/** How to serve the Durable Streams protocol. */
export interface StreamsOptions {
  /** Where streams live: one log per stream. Any engine (memory, sqlite, redis). */
  readonly engine: Engine
  /** The path prefix of stream URLs. Default `/v1/stream/`. */
  readonly prefix?: string
  /**
   * Token checks (Herald grants of app `streams`). `undefined` (the default): everyone may do
   * everything — for a library user behind their own auth, and for dev mode on loopback.
   */
  readonly auth?: StreamsAuthOptions | undefined
  /** CORS policy. Default: any origin, without credentials. */
  readonly cors?: StreamsCorsOptions
  readonly limits?: Partial<StreamsLimits>
  /** Retention of every stream's log. Default: the engine's. */
  readonly retention?: Retention
  /**
   * Other apps' logs served read-only as streams, each under its own path prefix (`herald serve`
   * serves AI generations at `/v1/stream/_generations/{id}`). Their access is their app's: the
   * handler's `auth` does not apply to them.
   */
  readonly views?: readonly LogView[]
  /**
   * Bounds on open live reads (SSE, long-poll), in all and per client address: 429 past them.
   * Pass a hub's `admission` to count both (`herald serve` does). Default: 50 000, and 256 per
   * address, an IPv6 client's /64 as one (`createAdmission` of `herald/server`).
   */
  readonly admission?: Admission
  /** Proxies whose forwarding header names the client, for the per-address bound. Default: none. */
  readonly trustedProxies?: readonly string[]
  /** Which header those proxies set. Default `x-forwarded-for`. */
  readonly trustedProxyHeader?: "x-forwarded-for" | "forwarded"
  readonly logger?: Logger
}

/** A Durable Streams server for `node:http`: `http.createServer(streams.handle)`, or mounted beside other apps. */
export interface StreamsHandler {
  /** Whether {@link handle} answers `path` (a request's path, without its query). */
  owns(path: string): boolean
  /** Answers one request; never rejects (a failure is logged and answered 500). */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>
  /**
   * The streams held, counted up to `maxCount` (each call lists them from the engine: a cost in
   * proportion), and the `newest` most recently created: for a dashboard.
   */
  overview(bounds: { readonly maxCount: number; readonly newest: number }): Promise<StreamsOverview>
  /**
   * Ends the open SSE responses within `deadlineMs` (default 1000): their clients resume from
   * their offsets, on this node once it is back or on another. Leaves the engine open.
   */
  close(options?: { readonly deadlineMs?: number }): Promise<void>
}

/** The reserved control namespace (protocol section 6): Herald serves no subscriptions yet. */
const RESERVED = "__ds"

/** Creates the handler. Throws a RangeError for a bad limit. */
export function createStreamsHandler(options: StreamsOptions): StreamsHandler {
  const prefix = options.prefix ?? "/v1/stream/"
  const limits = resolveLimits(options.limits)
  const logger = options.logger ?? defaultLogger()
  const cors = createStreamsCors(options.cors)
  const auth = options.auth
  const views = options.views ?? []
  const viewOf = (path: string) =>
    views.find((view) => path.startsWith(view.prefix) && path.length > view.prefix.length)
  const owns = (path: string) =>
    (path.startsWith(prefix) && path.length > prefix.length) || viewOf(path) !== undefined
  const reservedPrefix = prefix + RESERVED
  const reserved = (path: string) =>
    path.startsWith(reservedPrefix) &&
    (path.length === reservedPrefix.length || path[reservedPrefix.length] === "/")
  const forkMarkerTtl = createForkMarkerTtl(options.engine)
  const context: StreamsContext = {
    engine: options.engine,
    limits,
    logger,
    authenticated: auth !== undefined,
    retention: options.retention,
    streamCount: createStreamCount(options.engine, limits.maxStreams),
    forkMarkers: createForkMarkerSweep(),
    forkMarkerTtl,
    // No `retry` field: Durable Streams clients resume from their offsets, on their own schedule.
    sse: createSSE({ retryMs: null, maxQueuedBytes: limits.maxQueuedBytes, logger }),
    liveFrames: new LiveFrames(),
    liveReaderTtl: createLiveReaderTtl(options.engine, logger, (stream) => forkMarkerTtl.touched(stream)),
    owns,
    admit: admitter(
      options.admission ?? createAdmission(),
      createClientAddressResolver({
        trustedProxies: options.trustedProxies ?? [],
        header: options.trustedProxyHeader ?? "x-forwarded-for",
      }),
    ),
  }

  // The security headers with each CORS answer, merged once: the answers are a few fixed objects.
  const baseHeadersByCors = new Map<Readonly<Record<string, string>>, Readonly<Record<string, string>>>()
  const baseHeadersFor = (origin: string | undefined): Readonly<Record<string, string>> => {
    const corsHeaders = cors.headersFor(origin)
    let base = baseHeadersByCors.get(corsHeaders)
    if (base === undefined) {
      base = Object.freeze({ ...SECURITY_HEADERS, ...corsHeaders })
      baseHeadersByCors.set(corsHeaders, base)
    }
    return base
  }

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = new RequestTarget(request)
    const baseHeaders = baseHeadersFor(request.headers.origin)
    try {
      if (request.method === "OPTIONS") {
        cors.preflight(request, response)
        return
      }
      const { path } = target
      if (path.length > limits.maxPathLength) {
        throw new StreamsError(414, `Stream paths are at most ${limits.maxPathLength} characters.`)
      }
      const view = viewOf(path)
      if (view === undefined && (!owns(path) || reserved(path))) {
        throw new StreamsError(404, `There is no stream at ${path}.`)
      }
      // A view's app checks its own access.
      const caller =
        auth === undefined || view !== undefined ? OPEN_CALLER : await authenticate(auth, request, target.url)
      const streamRequest: StreamRequest = { path, target, request, response, caller, baseHeaders }
      const reply =
        view === undefined
          ? await dispatch(context, streamRequest)
          : await serveView(context, view, streamRequest)
      if (reply !== undefined) sendReply(streamRequest, reply)
    } catch (error) {
      const refusal = engineRefusal(context.engine, error)
      if (!(refusal instanceof StreamsError)) throw error
      sendProblem(response, refusal.status, refusal.message, { ...baseHeaders, ...refusal.headers })
    }
  }
  return {
    owns,
    handle: withErrorBoundary(route, logger) as StreamsHandler["handle"],
    overview: (bounds) => streamsOverview(options.engine, prefix, bounds),
    close: (closeOptions = {}) => context.sse.close({ deadlineMs: closeOptions.deadlineMs ?? 1000 }),
  }
}

function dispatch(context: StreamsContext, request: StreamRequest): Promise<Reply | undefined> {
  switch (request.request.method) {
    case "GET":
      return readStream(context, request, () => openForRead(context, request))
    case "HEAD":
      return streamMetadata(() => openForRead(context, request))
    case "PUT":
      return createStream(context, request)
    case "POST":
      return appendToStream(context, request)
    case "DELETE":
      return deleteStream(context, request)
    default:
      throw new StreamsError(405, `${request.request.method} is not a stream operation.`, {
        allow: "GET, HEAD, PUT, POST, DELETE, OPTIONS",
      })
  }
}

/**
 * Takes a slot of `admission` for a live read until its response is gone; throws a 429 with
 * `Retry-After` at a bound.
 */
function admitter(
  admission: Admission,
  clientAddress: (request: IncomingMessage) => string,
): StreamsContext["admit"] {
  return (request, response) => {
    const address = clientAddress(request)
    const refused = admission.admit(address)
    if (refused !== undefined) {
      throw new StreamsError(
        429,
        `${refused.message} Each live read (SSE, long-poll) counts; close the ones no longer read.`,
        { "retry-after": String(ADMISSION_RETRY_AFTER_SECONDS) },
      )
    }
    onResponseGone(request, response, () => admission.release(address))
  }
}
