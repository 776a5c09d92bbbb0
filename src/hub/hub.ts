import type { IncomingMessage, ServerResponse } from "node:http"
import type { Registry } from "prom-client"
import { createCors } from "../auth/cors.js"
import { prepareTopic } from "../auth/matchers/matcher.js"
import type { Entry } from "../engine/engine.js"
import { type Admission, createAdmission } from "../server/admission.js"
import { createClientAddressResolver, createSSE, withErrorBoundary } from "../server/index.js"
import { sendProblem } from "../server/problem.js"
import type { HubActivity } from "./activity.js"
import { hubAdmission } from "./admission.js"
import { createAuthenticator } from "./authenticate.js"
import { BATCH_PUBLISH_PATH, publishBatch } from "./batch-publish.js"
import type { HubContext } from "./context.js"
import { protectedResourceMetadata } from "./discovery.js"
import { engineAwayWarnings } from "./engine-away-warnings.js"
import { engineReadiness } from "./engine-readiness.js"
import { lostHistoryReport } from "./lost-history-report.js"
import { createHubMetrics } from "./metrics.js"
import { createNodeSubscriptions } from "./node-subscriptions.js"
import type { HubOptions } from "./options.js"
import { publishForm } from "./publish.js"
import { createReplayGate } from "./replay-gate.js"
import { sendJson } from "./responses.js"
import { resolveSettings } from "./settings.js"
import { subscribe } from "./subscribe.js"
import { subscriptionApi } from "./subscription-api.js"
import {
  createSubscriptionRegistry,
  localDirectory,
  publishSubscriptionEvents,
  subscriptionsPath,
} from "./subscriptions.js"
import type { StoredUpdate } from "./update.js"
import { openUpdateLog } from "./update-log.js"

/** A running hub: one request handler for `node:http`, metrics, readiness, and a graceful close. */
export interface Hub {
  /**
   * Answers a request: the hub URL's path (subscribe, publish, CORS preflight), the
   * subscription API under it, Herald's batch and streaming publish, and the OAuth protected
   * resource metadata. Anything else gets 404. Resolves once the request is answered (a
   * subscription: once its stream ended); never rejects — a handler that fails answers 500, or
   * cuts the connection if the response had begun, and is logged.
   */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>
  /** Whether {@link handle} answers `path` (a request's path, without its query): what a router mounts it on. */
  owns(path: string): boolean
  /** Why the hub cannot serve now (shutting down, the engine does not answer), or `undefined` when it can. */
  ready(): Promise<string | undefined>
  /**
   * Why publishes fail while the hub is ready: its engine's storage is full (what is full, and
   * what makes room), from the same cached check as {@link ready}; `undefined` when it is not.
   */
  full(): Promise<string | undefined>
  /** Prometheus registry holding the hub's metrics (`herald serve` serves them at `/metrics`). */
  readonly metrics: Registry
  /** Open subscriber connections. */
  readonly connections: number
  /**
   * The bounds on open connections (`limits.maxConnections`, `limits.maxConnectionsPerAddress`):
   * give it to other apps on the same server (`createAIHandler`'s `admission`) so that their
   * long-lived responses count against the same bounds, not beside them.
   */
  readonly admission: Admission
  /** What the hub is doing, for a dashboard (`herald serve` shows it at `/`). */
  readonly activity: HubActivity
  /**
   * Graceful shutdown: refuses new subscribers and publishes, tells open subscribers to come
   * back (`retry`) and closes them within `deadlineMs` (default 10 000). The engine is the
   * caller's: other apps may share it, so the hub leaves it open.
   */
  close(options?: { deadlineMs?: number }): Promise<void>
}

/**
 * Creates a Mercure hub on `options.engine` — see {@link HubOptions}. Mount it on any
 * `node:http` server: `http.createServer(hub.handle)`.
 */
export function createHub(options: HubOptions): Hub {
  const settings = resolveSettings(options)
  const { engine } = options
  const updates = openUpdateLog(engine, options.log)
  const sse = createSSE({
    heartbeatMs: settings.heartbeatMs,
    retryMs: settings.retryMs,
    maxQueuedBytes: settings.limits.maxQueuedBytes,
    overflow: "disconnect",
    // The hub reads the cursor itself (last_event_id, lastEventID); the SSE layer needs none.
    lastEventIdParams: [],
    logger: settings.logger,
  })
  const shared = createAdmission(
    settings.limits.maxConnections,
    settings.limits.maxConnectionsPerAddress,
    settings.limits.ipv6PrefixLength,
  )
  const admission = hubAdmission(shared, settings.limits)
  const replays = createReplayGate(
    engine,
    settings.limits.maxConcurrentReplays,
    settings.limits.maxQueuedReplays,
  )
  // Across nodes when they share the engine (a lease says this node is one of them), else this node's.
  const acrossNodes =
    settings.subscriptions && options.node !== undefined
      ? createNodeSubscriptions({
          engine,
          hubLog: updates.name,
          node: options.node,
          current: () => subscriptions.all(),
          announce: (documents) => publishSubscriptionEvents(updates, documents),
          settled: () => subscriptions.settled(),
          logger: settings.logger,
        })
      : undefined
  const subscriptions = createSubscriptionRegistry(
    settings.hubPath,
    acrossNodes?.publish ?? ((documents) => publishSubscriptionEvents(updates, documents)),
    settings.subscriptions,
    (error) => settings.logger.error({ err: error }, "could not publish a subscription event"),
    acrossNodes?.changed,
  )
  const directory = acrossNodes ?? localDirectory(subscriptions, updates)
  const engineReady = engineReadiness(engine, updates.name)
  const metrics = createHubMetrics({
    connections: () => admission.open,
    subscriptions: () => subscriptions.size,
    replaysWaiting: () => replays.waiting,
    engineUp: async () => (await engineReady()).problem === undefined,
    engineFull: async () => (await engineReady()).full !== undefined,
  })
  let closing: Promise<void> | undefined
  const cors = createCors(settings.corsOrigins, settings.hubUrl.origin)
  const context: HubContext = {
    settings,
    updates,
    sse,
    auth: createAuthenticator(settings, { publish: options.publish, subscribe: options.subscribe }, cors),
    admission,
    replays,
    subscriptions,
    directory,
    metrics,
    cors,
    clientAddress: createClientAddressResolver({
      trustedProxies: options.trustedProxies ?? [],
      header: options.trustedProxyHeader ?? "x-forwarded-for",
    }),
    preparedTopics: oncePerObject((update: StoredUpdate) =>
      update.topics.map((topic) => prepareTopic(topic, settings.hubUrl, settings.limits.maxPatternLength)),
    ),
    reportLostHistory: lostHistoryReport(settings.logger),
    engineAway: engineAwayWarnings(settings.logger),
    joinedFrames: oncePerObject((entries: readonly Entry[]) =>
      entries.map((entry) => updates.decode(entry).frame).join(""),
    ),
    closing: () => closing !== undefined,
  }
  const subscriptionsPrefix = subscriptionsPath(settings.hubPath)

  const owns = (path: string): boolean =>
    path === settings.hubPath ||
    path === subscriptionsPrefix ||
    path.startsWith(`${subscriptionsPrefix}/`) ||
    path === BATCH_PUBLISH_PATH ||
    path === settings.metadataPath

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    let url: URL
    try {
      url = new URL(request.url ?? "/", settings.hubUrl)
    } catch {
      sendProblem(response, 400, "The request target is not a valid URL.")
      return
    }
    const path = url.pathname
    const method = request.method ?? "GET"
    if (path === settings.hubPath) {
      if (method === "GET" || method === "QUERY") await subscribe(context, request, response, url)
      else if (method === "POST") await publishForm(context, request, response, url)
      else if (method === "OPTIONS") context.cors.preflight(request, response)
      else notAllowed(response, "GET, QUERY, POST, OPTIONS")
    } else if (path === subscriptionsPrefix || path.startsWith(`${subscriptionsPrefix}/`)) {
      if (!settings.subscriptions)
        sendProblem(response, 404, "The subscription API is off; start the hub with --subscriptions.")
      else if (method === "GET") await subscriptionApi(context, request, response, url)
      else if (method === "OPTIONS") context.cors.preflight(request, response)
      else notAllowed(response, "GET, OPTIONS")
    } else if (path === BATCH_PUBLISH_PATH) {
      if (method === "POST") await publishBatch(context, request, response, url)
      else if (method === "OPTIONS") context.cors.preflight(request, response)
      else notAllowed(response, "POST, OPTIONS")
    } else if (path === settings.metadataPath) {
      sendJson(
        response,
        200,
        protectedResourceMetadata(settings),
        context.cors.headersFor(request.headers.origin),
      )
    } else {
      sendProblem(response, 404, `Nothing here. The hub answers at ${settings.hubPath}.`)
    }
  }

  return {
    // Its own error boundary, so that the hub mounted alone never lets a request end the process.
    handle: withErrorBoundary(route, settings.logger),
    owns,
    ready: async () => (closing !== undefined ? "shutting down" : (await engineReady()).problem),
    full: async () => (await engineReady()).full,
    metrics: metrics.registry,
    get connections() {
      return admission.open
    },
    admission: shared,
    activity: {
      figures: () => ({
        connections: admission.open,
        subscriptions: subscriptions.size,
        replaysWaiting: replays.waiting,
        ...metrics.totals(),
      }),
      mostSubscribed: (limit) => subscriptions.mostSubscribed(limit),
      async recentUpdates(limit) {
        return (await updates.recent(limit)).map((update) => ({
          id: update.id,
          topics: update.topics,
          type: update.type,
          private: update.private,
          time: update.time,
          bytes: Buffer.byteLength(update.data),
        }))
      },
    },
    close(closeOptions = {}) {
      closing ??= sse
        .close({
          retryMs: settings.retryMs,
          retryJitterMs: settings.shutdownRetryJitterMs,
          deadlineMs: closeOptions.deadlineMs ?? 10_000,
        })
        // The subscribers' last events are stored before this node's snapshot goes.
        .then(() => directory.close())
      return closing
    },
  }
}

/**
 * Computes once per argument object, for as long as that object lives: the fan-out asks the same
 * question of the same update once per subscriber, and a batch interleaves its updates across
 * subscribers, so remembering only the last answer would compute it again for each of them.
 */
function oncePerObject<A extends object, R>(compute: (argument: A) => R): (argument: A) => R {
  const results = new WeakMap<A, R>()
  return (argument) => {
    if (results.has(argument)) return results.get(argument) as R
    const result = compute(argument)
    results.set(argument, result)
    return result
  }
}

function notAllowed(response: ServerResponse, allow: string): void {
  sendProblem(response, 405, `Method not allowed here; use ${allow}.`, { allow })
}
