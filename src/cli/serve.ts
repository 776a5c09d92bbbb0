import { mkdirSync } from "node:fs"
import type { RequestListener, Server } from "node:http"
import { type AddressInfo, isIPv6, type Server as NetServer } from "node:net"
import { join } from "node:path"
import { Command } from "commander"
import type { Logger } from "pino"
import { createDevTokens } from "../auth/dev-tokens.js"
import type { Engine } from "../engine/engine.js"
import { holdNodeLease, type NodeLease } from "../engine/node-lease.js"
import { RedisSetupError } from "../engine/redis-client.js"
import { NotHeraldDatabaseError, SqliteNotWritableError } from "../engine/sqlite-file.js"
import { DatabaseLockedError } from "../engine/sqlite-lock.js"
import { DEFAULT_HUB_LOG, toUpdateEntry } from "../hub/update-log.js"
import { limitPipelining } from "../server/http1-pipelining.js"
import { sendProblem } from "../server/problem.js"
import { createServedAI, type ServedAI } from "./ai-app.js"
import { writeDevHub } from "./config/dev-secret.js"
import {
  addConfigOptions,
  ConfigError,
  envOf,
  flagOf,
  type HeraldConfig,
  loadConfig,
  resourceOf,
  toHubOptions,
  withBoundPort,
} from "./config.js"
import { createDashboard } from "./dashboard.js"
import { devBanner } from "./dev-banner.js"
import { createHttpServer } from "./http-server.js"
import { DEV_ISSUER, DEV_TOKEN_TTL_SEC } from "./hub-access.js"
import { createLogger } from "./logger.js"
import { serveMounts } from "./mounts.js"
import { redisConnection } from "./redis-connection.js"
import { createRouter } from "./router.js"
import { createServedStreams, type ServedStreams } from "./streams-mount.js"
import { createTlsServer } from "./tls-server.js"

/** The database file inside the data directory. */
export const DATABASE_FILE = "herald.db"

/** Past the shutdown deadline, this long more for the engine and the sockets before a forced exit. */
const EXIT_GRACE_MS = 5000

const EXAMPLES = `
Settings come from flags, then HERALD_* environment variables, then the JSON file
given by --config / HERALD_CONFIG (keys are the camelCase option names), then defaults.
Durations need a unit: "250ms", "15s", "1h", "30d"; sizes take "256kb", "1mb" or bytes.

Examples:
  $ herald serve
      dev mode: sqlite in ./herald-data, prints a publisher and a subscriber token
  $ herald serve --engine memory --port 3000 --anonymous
  $ HERALD_JWT_KEY=$(openssl rand -base64 32) herald serve --no-dev \\
      --hub-url https://hub.example.com/.well-known/mercure --cors-origins https://app.example.com
  $ herald serve --publisher-jwt-key ./keys/publisher.pem --jwks-url https://idp.example.com/jwks.json
  $ herald serve --config herald.json`

/** `herald serve`: the hub on node:http. */
export function serveCommand(): Command {
  return addConfigOptions(new Command("serve"))
    .description("run the Mercure hub (sqlite in ./herald-data on http://localhost:8080 by default)")
    .addHelpText("after", EXAMPLES)
    .action(async (_options: unknown, command: Command) => {
      process.exitCode = await serve(command.opts())
    })
}

/**
 * Starts the hub and resolves with the exit code once it has stopped: 0 after a graceful
 * shutdown, 1 when it cannot start (port in use, storage), 2 for a bad configuration.
 */
export async function serve(flags: Readonly<Record<string, unknown>>): Promise<number> {
  let config: HeraldConfig
  try {
    config = loadConfig({ flags, env: process.env, cwd: process.cwd() })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(
      `herald serve: invalid configuration\n${error.issues.map((issue) => `  ${issue.where}: ${issue.message}\n`).join("")}` +
        "See `herald serve --help`.\n",
    )
    return 2
  }
  const logger = createLogger(config.logLevel)
  // Input never kills the hub; a bug might. Say so in the log, where operators look, and exit
  // non-zero so that a supervisor restarts it.
  for (const event of ["uncaughtException", "unhandledRejection"] as const) {
    process.on(event, (error: unknown) => {
      logger.fatal({ err: error }, `${event}: exiting`)
      process.exit(1)
    })
  }
  for (const warning of config.warnings) logger.warn(warning)

  let engine: Engine
  try {
    engine = await openEngine(config, logger)
  } catch (error) {
    const { message, err } = cannotOpenEngine(error, config)
    logger.error(err === undefined ? {} : { err }, message)
    return 1
  }
  // Held whatever the engine: one node is a cluster of one (a restart is a new node, which
  // ends what the old one left behind). Not awaited: a store that is away now makes /readyz
  // say so, and the lease is taken when it comes back.
  const lease = holdNodeLease(engine, config.nodeId, config.nodeLeaseMs, { logger })

  const { createHub } = await import("../hub/hub.js")
  // Requests go through `handle` from the moment the port is bound: the hub needs the bound port
  // (port 0) before it exists, and a request arriving meanwhile with no listener would hang.
  let handle: RequestListener = (_request, response) =>
    sendProblem(response, 503, "The hub is starting; retry in a moment.", { "retry-after": "1" })
  const listener = limitPipelining(
    (request, response) => handle(request, response),
    config.maxPipelinedRequests,
  )
  const main: ServingServer =
    config.tls === undefined
      ? plainServer(createHttpServer(listener, config.timeouts))
      : createTlsServer(listener, config.tls, config.timeouts, config.http2, logger)
  const { server } = main
  try {
    await listen(server, config.port, config.host, config.listenBacklog)
  } catch (error) {
    logger.error(cannotListen(error, config.host, config.port, "port"))
    await closeEngine(lease, engine)
    return 1
  }
  const port = (server.address() as AddressInfo).port
  config = withBoundPort(config, port)

  let hub: ReturnType<typeof createHub>
  try {
    hub = createHub(toHubOptions(config, engine, logger, lease))
  } catch (error) {
    // The hub checks its options again (keys, algorithms, limits): what the config let through stops here.
    logger.error(`cannot start the hub: ${(error as Error).message}`)
    server.close()
    await closeEngine(lease, engine)
    return 2
  }
  let ai: ServedAI
  try {
    ai = createServedAI(config, engine, logger, process.env, hub.admission)
  } catch (error) {
    logger.error(`cannot start the AI endpoints: ${(error as Error).message}`)
    server.close()
    await hub.close({ deadlineMs: 0 })
    await closeEngine(lease, engine)
    return 2
  }
  let streams: ServedStreams
  try {
    streams = createServedStreams(config, engine, logger, ai, hub.admission)
  } catch (error) {
    // The streams check their limits again (a timer Node cannot keep): what the config let through stops here.
    logger.error(`cannot start the Durable Streams: ${(error as Error).message}`)
    server.close()
    await ai.close({ deadlineMs: 0 })
    await hub.close({ deadlineMs: 0 })
    await closeEngine(lease, engine)
    return 2
  }
  const dashboard = createDashboard(
    config,
    engine,
    { hub, ai, streams },
    config.engine === "sqlite" ? join(config.dataDir, DATABASE_FILE) : undefined,
    logger,
  )
  // What shutdown closes together.
  const apps = [ai, hub, streams, dashboard.admin]
  const mounts = serveMounts({
    hub,
    ai: ai.mount,
    hubPath: new URL(config.hubUrl).pathname,
    metricsAccess: {
      token: config.metricsToken,
      // Only this host may read them, in dev mode too: its --host may open the hub to the
      // network. A port of its own is the operator's to guard (bind it privately, or set a token).
      loopbackOnly: config.metricsPort === undefined,
    },
    metricsPort: config.metricsPort,
    streams: streams.mount,
    admin: dashboard.admin.mount,
    web: dashboard.web,
    registries: [ai.metrics],
  })
  handle = createRouter(mounts.main, logger)

  let metricsServer: Server | undefined
  // The metrics port stays plain HTTP/1.1: scrapers reach it on a private network.
  if (config.metricsPort !== undefined && mounts.metrics !== undefined) {
    metricsServer = createHttpServer(
      limitPipelining(createRouter(mounts.metrics, logger), config.maxPipelinedRequests),
      config.timeouts,
    )
    const host = config.metricsHost ?? config.host
    try {
      await listen(metricsServer, config.metricsPort, host, config.listenBacklog)
    } catch (error) {
      logger.error(cannotListen(error, host, config.metricsPort, "metricsPort"))
      server.close()
      await Promise.all(apps.map((app) => app.close({ deadlineMs: 0 })))
      await closeEngine(lease, engine)
      return 1
    }
    const { port: metricsPort } = metricsServer.address() as AddressInfo
    logger.info({ metricsPort }, `metrics on port ${metricsPort}: /metrics, /healthz, /readyz`)
  }
  const servers = metricsServer === undefined ? [main] : [main, plainServer(metricsServer)]

  // Signal handlers go in before anything says the hub is ready: a supervisor (or a test) that
  // sends SIGTERM on seeing the log line must get a clean shutdown, not the default kill.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting now`)
        resolve(1)
        process.exit(1)
      }
      stopping = true
      const deadlineMs = config.shutdownTimeoutMs
      const subscribers = hub.connections
      const generations = ai.generations.activity().running.length
      logger.info(
        { subscribers, generations, deadlineMs },
        `${signal}: shutting down: closing ${count(subscribers, "subscriber connection")} now (each told to come back after its retry); ` +
          (generations === 0
            ? "no AI generation in progress"
            : `waiting up to ${deadlineMs} ms for ${count(generations, "AI generation")} in progress, then interrupting what is left`),
      )
      // Set before the apps' own deadline timers, so it fires first: what is still running then
      // is what the AI endpoints interrupt.
      let unfinished = 0
      const atDeadline = setTimeout(() => {
        unfinished = ai.generations.activity().running.length
      }, deadlineMs)
      const started = Date.now()
      const force = setTimeout(() => {
        logger.error("shutdown took too long: exiting now")
        process.exit(1)
      }, deadlineMs + EXIT_GRACE_MS)
      // Kept referenced: if what shutdown waits on can never settle and nothing else is left
      // running, the process ends here with a reason, not with Node's silent exit code 13.
      void shutdown(servers, apps, lease, engine, deadlineMs, logger).then((code) => {
        clearTimeout(force)
        clearTimeout(atDeadline)
        const ms = Date.now() - started
        logger.info(
          { ms, interrupted: unfinished },
          `stopped in ${ms} ms` +
            (generations === 0 ? "" : `; ${count(unfinished, "AI generation")} interrupted at the deadline`),
        )
        resolve(code)
      })
    }
    process.on("SIGTERM", stop)
    process.on("SIGINT", stop)
    // The terminal it ran in closed (an ssh session ended, a nohup forgotten): Node's default
    // would end the process at once, without a word, its subscribers cut and its node lease held.
    process.on("SIGHUP", stop)
  })

  // Said outright: the URL names localhost for all interfaces, and an operator checking what is
  // exposed must not read it as loopback only.
  const { address } = server.address() as AddressInfo
  const allInterfaces = address === "::" || address === "0.0.0.0"
  const origin = `${config.tls === undefined ? "http" : "https"}://${shownHost(config.host, address, allInterfaces)}:${port}`
  logger.info(
    {
      hubUrl: config.hubUrl,
      engine: config.redis?.shown ?? engine.name,
      dataDir: config.engine === "sqlite" ? config.dataDir : undefined,
      node: config.nodeId,
      address,
      allInterfaces,
    },
    `listening on ${origin}${allInterfaces ? " (all interfaces)" : ""}`,
  )
  if (config.dev !== undefined) await printDevBanner(config, logger)
  return await stopped
}

/**
 * The host the `listening on` line names, so that its URL works from here: `localhost` for all
 * interfaces (no --host, `0.0.0.0`, `::`), the `address` bound in brackets for an IPv6 --host
 * (`[::1]`: localhost may not reach it, and a URL needs the brackets), else --host as given.
 */
function shownHost(host: string | undefined, address: string, allInterfaces: boolean): string {
  if (allInterfaces || host === undefined) return "localhost"
  return isIPv6(host) ? `[${address}]` : host
}

/** `1 subscriber connection`, `3 subscriber connections`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`
}

/** Why a server could not listen, saying which setting to change (its flag and its variable). */
export function cannotListen(
  error: unknown,
  host: string | undefined,
  port: number,
  setting: "port" | "metricsPort",
): string {
  const code = (error as NodeJS.ErrnoException).code
  const where = `${host ?? "all interfaces"} port ${port}`
  const change = `pick another with ${flagOf(setting)} or ${envOf(setting)}`
  return code === "EADDRINUSE"
    ? `port ${port} is already in use (another herald serve?); ${change}`
    : code === "EACCES"
      ? `no permission to bind ${where} (ports below 1024 need privileges); ${change}`
      : `cannot listen on ${where}: ${(error as Error).message}`
}

/**
 * What to log when the engine cannot be opened. A problem with the data directory or its files
 * (a path that is a file, no permission, another process holding it) is the operator's to fix:
 * one line saying what to do, no stack. Anything else may be a bug: the stack goes with it.
 */
function cannotOpenEngine(error: unknown, config: HeraldConfig): { message: string; err?: unknown } {
  const what = `cannot open the ${config.engine} engine ${engineLocation(config)}`
  if (error instanceof SqliteNotWritableError) {
    return {
      message: `${error.path} is not writable by this process: ${error.reason}; fix its permissions or pick another --data-dir`,
    }
  }
  if (error instanceof NotHeraldDatabaseError) {
    return {
      message: `${error.path} is not a Herald database (${error.reason}); move it aside, or pick another --data-dir`,
    }
  }
  // Their messages say what to change (the holder, the Redis setting): no stack.
  if (error instanceof DatabaseLockedError || error instanceof RedisSetupError)
    return { message: `${what}: ${error.message}` }
  if (config.engine === "sqlite" && isFileError(error))
    return { message: `${what}: ${(error as Error).message}; fix that, or pick another --data-dir` }
  return { message: what, err: error }
}

/** An error the system returned for a file operation (EEXIST, EACCES, ENOTDIR, …), or SQLite's for a file it cannot use. */
function isFileError(error: unknown): boolean {
  const { syscall, name } = error as { syscall?: unknown; name?: unknown }
  return typeof syscall === "string" || name === "SqliteError"
}

/** Where the engine is, for messages (a Redis URL's password masked). */
function engineLocation(config: HeraldConfig): string {
  return config.redis === undefined ? `in ${config.dataDir}` : `at ${config.redis.shown}`
}

/** Gives the node's lease up, then closes the engine. */
async function closeEngine(lease: NodeLease, engine: Engine): Promise<void> {
  await lease.release()
  await engine.close()
}

async function openEngine(config: HeraldConfig, logger: Logger): Promise<Engine> {
  const { maxEvents, maxAgeMs } = config.retention
  const retention = {
    ...(maxEvents === undefined ? {} : { maxEntries: maxEvents }),
    ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
  }
  if (config.engine === "memory") {
    const { createMemoryEngine } = await import("../engine/memory.js")
    return createMemoryEngine({
      retention,
      logger,
      ...(config.memoryMaxBytes === undefined ? {} : { maxBytes: config.memoryMaxBytes }),
    })
  }
  if (config.redis !== undefined) {
    // Fails here, before listening, when Redis refuses the settings (password, database, Cluster).
    const { openRedisEngine } = await import("../engine/redis.js")
    return await openRedisEngine({
      ...redisConnection(config.redis),
      keyPrefix: config.redis.keyPrefix,
      retention,
      logger,
    })
  }
  mkdirSync(config.dataDir, { recursive: true })
  const { createSqliteEngine } = await import("../engine/sqlite.js")
  return createSqliteEngine({
    path: join(config.dataDir, DATABASE_FILE),
    retention,
    synchronous: config.sync,
    logger,
    // A Herald 0.1.0 file held the hub's updates only: they become the hub's log.
    migrate: { v1: { log: DEFAULT_HUB_LOG, toEntry: toUpdateEntry } },
  })
}

/** A listening server, as the shutdown sees it. */
interface ServingServer {
  readonly server: NetServer
  /** Tells the clients of open connections to make no new request here (HTTP/2's GOAWAY). */
  goAway?(): void
  /** Ends every connection still open. */
  closeAllConnections(): void
}

function plainServer(server: Server): ServingServer {
  return { server, closeAllConnections: () => server.closeAllConnections() }
}

function listen(server: NetServer, port: number, host: string | undefined, backlog: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen({ port, host, backlog }, () => {
      server.off("error", reject)
      resolve()
    })
  })
}

/**
 * Stops accepting connections on every server (and requests on HTTP/2 connections), closes the
 * apps together (the hub tells subscribers when to come back and ends their streams within the
 * deadline; the AI endpoints let generations finish within it), drops what is left, gives the
 * node's lease up, then closes the engine every app shares.
 */
async function shutdown(
  servers: readonly ServingServer[],
  apps: readonly { close(options: { deadlineMs: number }): Promise<void> }[],
  lease: NodeLease,
  engine: Engine,
  deadlineMs: number,
  logger: Logger,
): Promise<number> {
  const closed = servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())))
  for (const server of servers) server.goAway?.()
  let code = 0
  try {
    await Promise.all(apps.map((app) => app.close({ deadlineMs })))
  } catch (error) {
    logger.error({ err: error }, "an app did not close cleanly")
    code = 1
  }
  // Keep-alive sockets between requests would hold close() open until they time out.
  for (const server of servers) server.closeAllConnections()
  await Promise.all(closed)
  try {
    await closeEngine(lease, engine)
  } catch (error) {
    logger.error({ err: error }, "the engine did not close cleanly")
    code = 1
  }
  return code
}

async function printDevBanner(config: HeraldConfig, logger: Logger): Promise<void> {
  const dev = config.dev
  if (dev === undefined) return
  const hub = { resource: resourceOf(config), issuer: config.issuer ?? DEV_ISSUER }
  try {
    writeDevHub(config.dataDir, { ...hub, port: config.port, subscriberTokens: dev.subscriberTokens })
  } catch (error) {
    logger.warn(
      { err: error },
      "dev mode: cannot note the hub's resource beside its secret; `herald publish` and `listen` then mint tokens for the --hub URL they are given",
    )
  }
  try {
    const tokens = await createDevTokens({ secret: dev.secret, ...hub, ttlSec: DEV_TOKEN_TTL_SEC })
    process.stdout.write(
      devBanner({
        hubUrl: config.hubUrl,
        host: config.host,
        tokens,
        subscriberTokens: dev.subscriberTokens,
        secretFile: dev.file,
        secretCreated: dev.created,
        cwd: process.cwd(),
      }),
    )
  } catch (error) {
    logger.error(
      { err: error },
      `dev mode: cannot sign tokens with the secret in ${dev.file}; delete it to get a new one`,
    )
  }
}
