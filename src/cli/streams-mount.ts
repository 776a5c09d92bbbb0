import type { Engine } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import type { Admission } from "../server/admission.js"
import { createStreamsHandler, type StreamsHandler } from "../streams/index.js"
import type { ServedAI } from "./ai-app.js"
import { appAuth } from "./app-auth.js"
import type { HeraldConfig } from "./config.js"
import type { Mount } from "./router.js"

/** Where `herald serve` answers the Durable Streams protocol. */
export const STREAMS_PREFIX = "/v1/stream/"
/** Where each AI generation is also a read-only Durable Stream (JSON mode): `{prefix}{id}`. */
export const GENERATION_STREAMS_PREFIX = `${STREAMS_PREFIX}_generations/`

/** The Durable Streams app as `herald serve` runs it. */
export interface ServedStreams {
  readonly mount: Mount
  /** The streams held, for the dashboard. */
  readonly overview: StreamsHandler["overview"]
  /** Ends the open SSE responses within the deadline (their clients resume from their offsets). */
  close(options: { readonly deadlineMs: number }): Promise<void>
}

/**
 * The Durable Streams app of `herald serve`, on the engine every app shares: a stream is one log
 * of it, kept whole until the stream is deleted or expires (the protocol has no retention).
 * Tokens are checked with the publisher keys (Herald grants of app `streams`); in dev mode a
 * local client needs none, by the rule every app follows (`appAuth`). A request body that stops
 * arriving for `--body-idle-timeout` is answered 408, as the hub's; the other limits are the
 * `--streams-*` settings (the hub's `--max-body-bytes` and `--max-queued-bytes` are not theirs).
 * Pages of the origins `--cors-origins` names may call them, as they may call the hub.
 */
export function createServedStreams(
  config: HeraldConfig,
  engine: Engine,
  logger: Logger,
  ai: Pick<ServedAI, "openGenerationLog">,
  admission: Admission,
): ServedStreams {
  const { verifier, trustLocalClients, localTrust } = appAuth(config)
  const streams = createStreamsHandler({
    engine,
    prefix: STREAMS_PREFIX,
    retention: { maxEntries: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.POSITIVE_INFINITY },
    limits: {
      // A body that stops arriving is cut as the hub's and the AI endpoints' are (--body-idle-timeout):
      // Node's own requestTimeout is off (http-server.ts).
      ...(config.limits.bodyIdleTimeoutMs === undefined
        ? {}
        : { bodyIdleTimeoutMs: config.limits.bodyIdleTimeoutMs }),
      ...config.streamsLimits,
    },
    auth: { verifier, trustLocalClients, localTrust },
    // One CORS policy for every app (--cors-origins): none named, no page of another origin
    // reads them, as the hub's; the library's default of any origin is not herald serve's.
    cors: { origins: config.corsOrigins },
    // Live reads count against the hub's connection bounds, as subscriptions and AI streams do.
    admission,
    trustedProxies: config.trustedProxies,
    trustedProxyHeader: config.trustedProxyHeader,
    // A generation's own entries (JSON), read with the AI app's `read` grant on it.
    views: [
      {
        prefix: GENERATION_STREAMS_PREFIX,
        contentType: "application/json",
        open: (id, request, url) => ai.openGenerationLog(id, request, url),
      },
    ],
    logger,
  })
  return {
    mount: { serves: `Durable Streams at ${STREAMS_PREFIX}`, owns: streams.owns, handle: streams.handle },
    overview: streams.overview,
    close: (options) => streams.close(options),
  }
}
