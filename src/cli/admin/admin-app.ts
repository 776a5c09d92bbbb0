import type { IncomingMessage, ServerResponse } from "node:http"
import { AuthError, bearerChallenge } from "../../auth/errors.js"
import { sendJson } from "../../hub/responses.js"
import type { Logger } from "../../logger.js"
import { encode } from "../../protocol/index.js"
import { createChannel, createSSE } from "../../server/index.js"
import { sendProblem } from "../../server/problem.js"
import type { StreamsOverview } from "../../streams/overview.js"
import type { Mount } from "../router.js"
import type { AdminAccess } from "./admin-access.js"
import { createNodeCensus } from "./node-census.js"
import { ProcessProbe } from "./process-probe.js"
import { RateHistory } from "./rate-history.js"
import {
  type AdminSources,
  SNAPSHOT_LIMITS,
  type Snapshot,
  takeSnapshot,
  type Unavailable,
  unavailable,
} from "./snapshot.js"

/** Where the admin app answers. */
export const ADMIN_PREFIX = "/_herald/admin/"
/** The admin stream: `event: history` once, then `event: snapshot` every interval. */
export const ADMIN_STREAM_PATH = `${ADMIN_PREFIX}stream`
/** One snapshot as JSON, with the rate history: for scripts. */
export const ADMIN_SNAPSHOT_PATH = `${ADMIN_PREFIX}snapshot`

/** Options of {@link createAdminApp}. */
export interface AdminAppOptions {
  readonly sources: AdminSources
  readonly access: AdminAccess
  readonly logger: Logger
  /** Between two snapshots, in ms. Default 1000. */
  readonly intervalMs?: number
  /** Samples the chart keeps. Default 120 (two minutes at one a second). */
  readonly historySize?: number
  /** Heartbeat comments on the stream, in ms (snapshots flow anyway; proxies see bytes). */
  readonly heartbeatMs?: number
}

/** The admin app of `herald serve`: Herald's own figures as a live stream, for the dashboard. */
export interface AdminApp {
  readonly mount: Mount
  /** Stops sampling and ends the open streams. */
  close(options: { readonly deadlineMs: number }): Promise<void>
}

/** The Durable Streams listing is refreshed at most this often: it walks the engine's logs. */
const STREAMS_EVERY_MS = 5000

/**
 * The admin stream (`GET /_herald/admin/stream`) and snapshot (`GET /_herald/admin/snapshot`),
 * for those `access` lets in. Rates, and the process's CPU and event loop delay, are sampled every
 * interval whether or not anyone watches (the chart then opens on the minutes before); the rest of a snapshot is gathered only while a
 * stream is open, once per interval for all of them, and serialized once.
 */
export function createAdminApp(options: AdminAppOptions): AdminApp {
  const { sources, access, logger } = options
  const intervalMs = options.intervalMs ?? 1000
  const startedAt = Date.now() - Math.round(process.uptime() * 1000)
  const rates = new RateHistory(options.historySize ?? 120)
  const processProbe = new ProcessProbe(Date.now())
  const sse = createSSE({ heartbeatMs: options.heartbeatMs ?? 15_000, logger, lastEventIdParams: [] })
  const viewers = createChannel()
  const census = createNodeCensus(
    sources.engine,
    () => {
      const figures = sources.hub.figures()
      const rate = rates.latest()
      return {
        node: sources.node,
        connections: figures.connections,
        subscriptions: figures.subscriptions,
        in: rate.in,
        out: rate.out,
        generations: sources.generations?.activity().running.length ?? 0,
      }
    },
    logger,
  )

  let streams: { overview: StreamsOverview | Unavailable | null; at: number } | undefined
  const streamsOverview = async (time: number): Promise<StreamsOverview | Unavailable | null> => {
    if (sources.streams === undefined) return null
    if (streams !== undefined && time - streams.at < STREAMS_EVERY_MS) return streams.overview
    const overview = await sources.streams
      .overview({ maxCount: SNAPSHOT_LIMITS.streamsCounted, newest: SNAPSHOT_LIMITS.newestStreams })
      .catch((error: unknown) => {
        logger.warn({ err: error }, "dashboard: listing the Durable Streams failed")
        return unavailable(error)
      })
    streams = { overview, at: time }
    return overview
  }

  const snapshot = async (): Promise<Snapshot> => {
    const time = Date.now()
    return await takeSnapshot(sources, {
      time,
      startedAt,
      rate: rates.latest(),
      nodes: census.nodes(),
      process: processProbe.latest(),
      streams: await streamsOverview(time),
    })
  }

  let latest: Snapshot | undefined
  let gathering: Promise<void> | undefined
  /** Takes a snapshot and sends it to every viewer; one at a time, never piling up. */
  const broadcast = (): void => {
    if (gathering !== undefined || viewers.size === 0) return
    gathering = snapshot()
      .then((taken) => {
        latest = taken
        viewers.publish({ event: "snapshot", data: JSON.stringify(taken) })
      })
      .catch((error: unknown) => logger.error({ err: error }, "dashboard: a snapshot failed"))
      .finally(() => {
        gathering = undefined
      })
  }

  const timer = setInterval(() => {
    const now = Date.now()
    rates.sample(sources.hub.figures(), now)
    processProbe.sample(now)
    if (viewers.size === 0) return
    census.ask()
    broadcast()
  }, intervalMs)
  timer.unref()
  rates.sample(sources.hub.figures(), Date.now())

  const stream = (request: IncomingMessage, response: ServerResponse): void => {
    const connection = sse.connect(request, response)
    if (connection.closed) return
    // The chart's past first, then the newest snapshot if it is fresh; the next one follows.
    connection.writeFrame(encode({ event: "history", data: JSON.stringify({ samples: rates.samples() }) }))
    const fresh = latest !== undefined && Date.now() - latest.time < 2 * intervalMs
    if (fresh) connection.writeFrame(encode({ event: "snapshot", data: JSON.stringify(latest) }))
    viewers.subscribe(connection)
    if (!fresh) {
      census.ask()
      broadcast()
    }
  }

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://localhost")
    const path = url.pathname
    if (path !== ADMIN_STREAM_PATH && path !== ADMIN_SNAPSHOT_PATH) {
      sendProblem(
        response,
        404,
        `Nothing here. The admin API answers at ${ADMIN_STREAM_PATH} and ${ADMIN_SNAPSHOT_PATH}.`,
      )
      return
    }
    if (request.method !== "GET") {
      sendProblem(response, 405, "Use GET here.", { allow: "GET" })
      return
    }
    try {
      await access(request, url)
    } catch (error) {
      if (!(error instanceof AuthError)) throw error
      sendProblem(response, error.status, error.description, {
        "www-authenticate": bearerChallenge(error, undefined),
      })
      return
    }
    if (path === ADMIN_STREAM_PATH) stream(request, response)
    else
      sendJson(
        response,
        200,
        { ...(await snapshot()), samples: rates.samples() },
        { "cache-control": "no-store" },
      )
  }

  return {
    mount: {
      serves: `the dashboard's admin API at ${ADMIN_PREFIX}`,
      owns: (path) => path.startsWith(ADMIN_PREFIX),
      handle: route,
    },
    async close(closeOptions) {
      clearInterval(timer)
      census.stop()
      processProbe.stop()
      await sse.close({ deadlineMs: closeOptions.deadlineMs })
    },
  }
}
