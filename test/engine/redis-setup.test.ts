// The redis engine tells settings Redis refuses (a database it lacks, a wrong or missing password,
// a Cluster that is none) from a Redis that is merely away: the first fail openRedisEngine, name
// the setting and are logged once at error level when they appear later; the second keep the
// engine reconnecting, with one line on loss and one on recovery per connection, naming host:port.
// On a redis-server of its own, which the tests stop, start and set a password on.
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { type AddressInfo, createServer as createNetServer } from "node:net"
import { Redis } from "ioredis"
import pino from "pino"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { START } from "../../src/engine/position.js"
import {
  createRedisEngine,
  EngineUnavailableError,
  openRedisEngine,
  RedisSetupError,
} from "../../src/engine/redis.js"
import { logKeys } from "../../src/engine/redis-keys.js"
import { StorageFullError } from "../../src/engine/storage-full.js"
import type { Logger } from "../../src/logger.js"
import { hasOpenssl, makeCertificate } from "../cli/tls-helpers.js"
import {
  freePort,
  type RedisServer,
  redisServerInstalled,
  STRICT,
  startRedis,
  waitFor,
} from "./redis-servers.js"
import { describeEngine } from "./suite.js"

const installed = await redisServerInstalled()

/** A logger that keeps every line, by level. */
function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = []
  const at =
    (level: string) =>
    (fields: object, message: string): void => {
      lines.push({ level, message, fields: fields as Record<string, unknown> })
    }
  const logger: Logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
  /** The messages logged at `level` that match `pattern`. */
  const matching = (level: string, pattern: RegExp) =>
    lines.filter((line) => line.level === level && pattern.test(line.message)).map((line) => line.message)
  return { logger, lines, matching }
}

/** Whether `call` succeeds now. */
async function succeeds(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call()
    return true
  } catch {
    return false
  }
}

describe.skipIf(!installed && !STRICT)("redis engine: settings Redis refuses, and outages", () => {
  let redis: RedisServer
  let admin: Redis
  let address: string
  const keyPrefix = "herald-setup-test"

  beforeAll(async () => {
    redis = await startRedis()
    address = `127.0.0.1:${redis.port}`
    admin = new Redis(redis.url, { maxRetriesPerRequest: 0 })
    admin.on("error", () => {})
  })
  afterAll(async () => {
    admin?.disconnect()
    await redis?.destroy()
  })

  it("has redis-server installed (HERALD_TEST_STRICT=1)", () => {
    expect(installed, "redis-server is not installed").toBe(true)
  })

  it("refuses a database Redis does not have at open, naming it; writes nothing to database 0 instead", async () => {
    const url = `${redis.url}/99`
    const { logger, matching } = recordingLogger()
    const opening = openRedisEngine({ url, keyPrefix, logger })
    await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
    await expect(opening).rejects.toThrow(
      new RegExp(`Redis at ${address} has no database 99: give one it has in the \`url\` option`),
    )

    // Created without waiting, the engine refuses every call rather than using database 0.
    const engine = createRedisEngine({ url, keyPrefix, logger })
    try {
      await expect(engine.create("log")).rejects.toBeInstanceOf(RedisSetupError)
      await expect(engine.append("log", [{ data: "x" }], { create: {} })).rejects.toThrow(/no database 99/)
      expect(await admin.dbsize()).toBe(0)
      expect(matching("error", /has no database 99/).length).toBeGreaterThan(0)
    } finally {
      await engine.close()
    }
  })

  it("warns at open of a Redis that evicts keys and of one that keeps no AOF (docs/deployment.md says production needs both); of one set so, nothing", async () => {
    await admin.config("SET", "maxmemory-policy", "allkeys-lru")
    try {
      const { logger, matching } = recordingLogger()
      const engine = await openRedisEngine({ url: redis.url, keyPrefix, logger })
      await engine.close()
      expect(matching("warn", /maxmemory-policy allkeys-lru/)).toEqual([
        `redis engine: Redis at ${address} evicts keys when full (maxmemory-policy allkeys-lru): a log whose keys it evicts starts over, its updates lost; set maxmemory-policy noeviction, and a full Redis then refuses writes (503) instead`,
      ])
      expect(matching("warn", /appendonly no/)).toEqual([
        `redis engine: Redis at ${address} keeps no append-only file (appendonly no): a restart loses every update since its last snapshot; production wants appendonly yes (docs/deployment.md)`,
      ])
    } finally {
      await admin.config("SET", "maxmemory-policy", "noeviction")
    }
    await admin.config("SET", "appendonly", "yes")
    try {
      const { logger, lines } = recordingLogger()
      const engine = await openRedisEngine({ url: redis.url, keyPrefix, logger })
      await engine.close()
      expect(lines.filter((line) => /maxmemory-policy|appendonly/.test(line.message))).toEqual([])
    } finally {
      await admin.config("SET", "appendonly", "no")
    }
  })

  it("refuses a wrong password and a missing one at open, naming the setting as the caller calls it", async () => {
    await admin.config("SET", "requirepass", "s3cret")
    try {
      const settingNames = { url: "--engine" }
      const { logger, lines } = recordingLogger()
      await expect(
        openRedisEngine({
          url: redis.url.replace("redis://", "redis://:never-logged@"),
          keyPrefix,
          settingNames,
          logger,
        }),
      ).rejects.toThrow(
        new RegExp(
          `^redis engine: Redis at ${address} refused the user name or password: correct them in --engine`,
        ),
      )
      // ioredis puts a failed AUTH's arguments on its error: they reach no line, not even at debug.
      expect(lines.length).toBeGreaterThan(0)
      expect(JSON.stringify(lines)).not.toContain("never-logged")
      await expect(openRedisEngine({ url: redis.url, keyPrefix, settingNames })).rejects.toThrow(
        new RegExp(`^redis engine: Redis at ${address} needs a password: give it in --engine .*NOAUTH`),
      )
      const engine = await openRedisEngine({
        url: redis.url.replace("redis://", "redis://:s3cret@"),
        keyPrefix,
      })
      try {
        expect((await engine.create("log")).status).toBe("created")
      } finally {
        await engine.close()
      }
    } finally {
      await admin.config("SET", "requirepass", "")
      await admin.flushall()
    }
  })

  it("refuses a Cluster that is none at open", async () => {
    const opening = openRedisEngine({ nodes: [{ host: "127.0.0.1", port: redis.port }], keyPrefix })
    await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
    await expect(opening).rejects.toThrow(
      new RegExp(`Redis at ${address} is not a Cluster: drop the \`nodes\` option.*cluster support disabled`),
    )
  })

  it("refuses rediss:// on a Redis without TLS at open, where the handshake would hang like a lost host", async () => {
    const url = redis.url.replace("redis://", "rediss://")
    const opening = openRedisEngine({ url, keyPrefix, commandTimeoutMs: 300 })
    await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
    await expect(opening).rejects.toThrow(
      `Redis at ${address} answers without TLS: give redis://, not rediss://, in the \`url\` option`,
    )
  })

  it("refuses at open a server that answers, but not as Redis (an HTTP server), naming where; created anyway, refuses every call", async () => {
    // One answers its first command as HTTP/1.1, the other as HTTP/0.9 (an HTML page, no head).
    const http = createServer((_request, response) => response.end("hi"))
    const html = createNetServer((socket) =>
      socket.once("data", () => socket.end("<!DOCTYPE HTML>\n<html></html>\n")),
    )
    try {
      for (const [server, first] of [
        [http, "H"],
        [html, "<"],
      ] as const) {
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
        const { port } = server.address() as AddressInfo
        const { logger, matching } = recordingLogger()
        const url = `redis://127.0.0.1:${port}`
        const says = `redis engine: the server at 127.0.0.1:${port} answered, but not as Redis (its reply began with '${first}', as an HTTP server's does): check the host and port in the \`url\` option`
        const opening = openRedisEngine({ url, keyPrefix, logger })
        await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
        await expect(opening).rejects.toThrow(says)
        expect(matching("warn", /unreachable/)).toEqual([])

        const engine = createRedisEngine({ url, keyPrefix, logger })
        try {
          await waitFor(
            () =>
              engine.head("log").then(
                () => false,
                (error: unknown) => error instanceof RedisSetupError && error.message === says,
              ),
            "calls refused naming the server",
          )
          expect(await engine.health()).toEqual({ status: "down", reason: says })
          // One line per connection (commands, subscriptions).
          await waitFor(() => matching("error", /not as Redis/).length >= 2, "both connections' lines")
          expect(matching("error", /not as Redis/)).toEqual([says, says])
          // Not an outage: ioredis failing the commands it had queued adds no line of its own.
          expect(matching("warn", /unreachable/)).toEqual([])
        } finally {
          await engine.close()
          await new Promise((resolve) => server.close(resolve))
        }
      }
    } finally {
      http.closeAllConnections()
    }
  })

  it.runIf(hasOpenssl())(
    "refuses redis:// on a TLS port at open, where its resets would look like a Redis restarting; opens with rediss://",
    async () => {
      const certificate = makeCertificate(redis.dir)
      const tlsPort = await freePort()
      const withTls = await startRedis({
        args: [
          "--tls-port",
          String(tlsPort),
          "--tls-cert-file",
          certificate.certFile,
          "--tls-key-file",
          certificate.keyFile,
          "--tls-ca-cert-file",
          certificate.certFile,
          "--tls-auth-clients",
          "no",
        ],
      })
      try {
        const { logger, matching } = recordingLogger()
        const opening = openRedisEngine({ url: `redis://127.0.0.1:${tlsPort}`, keyPrefix, logger })
        await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
        await expect(opening).rejects.toThrow(
          `Redis at 127.0.0.1:${tlsPort} answers only with TLS: give rediss://, not redis://, in the \`url\` option`,
        )
        expect(matching("warn", /unreachable/)).toEqual([])
        const engine = await openRedisEngine({
          url: `rediss://127.0.0.1:${tlsPort}`,
          redisOptions: { tls: { ca: certificate.ca } },
          keyPrefix,
        })
        try {
          expect((await engine.create("log")).status).toBe("created")
        } finally {
          await engine.close()
        }
      } finally {
        await withTls.destroy()
      }
    },
  )

  it("refuses a user that may not run a command the engine runs, or not on its keys or channels, with Redis's reply", async () => {
    const url = redis.url.replace("redis://", "redis://limited:pw@")
    try {
      for (const [rule, reply] of [
        [["~*", "&*", "+@all", "-xadd"], /NOPERM.*'xadd'/],
        [["~*", "&*", "+@all", "-zrangebylex"], /NOPERM.*'zrangebylex'/],
        [["~*", "&*", "+@all", "-subscribe"], /NOPERM.*'subscribe'/],
        // A common hardened rule: INFO is one of them, and every append asks it.
        [["~*", "&*", "+@all", "-@dangerous"], /NOPERM.*'info'/],
        // The lease's transaction: a refusal inside it, and of its MULTI.
        [["~*", "&*", "+@all", "-zremrangebyscore"], /NOPERM.*'zremrangebyscore'/],
        [["~*", "&*", "+@all", "-multi"], /NOPERM.*'multi'/],
        [["~other:*", "&*", "+@all"], /NOPERM.*keys/],
        [["~*", "resetchannels", "+@all"], /NOPERM.*channels/],
      ] as const) {
        await admin.call("ACL", "SETUSER", "limited", "reset", "on", ">pw", ...rule)
        const opening = openRedisEngine({ url, keyPrefix })
        await expect(opening, rule.join(" ")).rejects.toBeInstanceOf(RedisSetupError)
        await expect(opening, rule.join(" ")).rejects.toThrow(reply)
        await expect(opening).rejects.toThrow(
          `Redis at ${address} does not let the user of the \`url\` option run what the engine needs`,
        )
      }
      // The probe, refused or passed, leaves nothing behind.
      await (await openRedisEngine({ url: redis.url, keyPrefix })).close()
      expect(await admin.dbsize()).toBe(0)
    } finally {
      await admin.call("ACL", "DELUSER", "limited")
    }
  })

  it("looks at a Redis that comes after the engine opened: a command the user may not run refuses every call, naming it, until granted", async () => {
    const late = await startRedis({
      args: ["--user", "late", "on", ">pw", "~*", "&*", "+@all", "-eval", "-evalsha"],
    })
    const lateAdmin = new Redis(late.url, { maxRetriesPerRequest: 0 })
    lateAdmin.on("error", () => {})
    await late.stop()
    const { logger, matching } = recordingLogger()
    const engine = await openRedisEngine({
      url: late.url.replace("redis://", "redis://late:pw@"),
      keyPrefix,
      logger,
    })
    try {
      await late.start()
      const refusal = new RegExp(
        `Redis at 127\\.0\\.0\\.1:${late.port} does not let the user of the \`url\` option run what the engine needs: .*NOPERM.*'eval(sha)?'`,
      )
      await waitFor(async () => {
        const health = await engine.health()
        return health.status === "down" && refusal.test(health.reason)
      }, "health to name the refusal")
      // Refused as a setting (a 503 naming it), not Redis's NOPERM on each call (a 500).
      for (const call of [
        () => engine.append("log", [{ data: "x" }], { create: {} }),
        () => engine.head("log"),
      ]) {
        const refused = await call().then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(refused).toBeInstanceOf(RedisSetupError)
        expect((refused as Error).message).toMatch(refusal)
      }
      expect(matching("error", refusal)).toHaveLength(1)

      // Granted, then connected again: the next look passes, and calls are served.
      await lateAdmin.call("ACL", "SETUSER", "late", "+eval", "+evalsha")
      await lateAdmin.call("CLIENT", "KILL", "USER", "late")
      await waitFor(
        () => succeeds(() => engine.append("log", [{ data: "x" }], { create: {} })),
        "calls served",
      )
      expect(await engine.health()).toMatchObject({ status: "up" })
      expect(matching("info", /no longer refuses how it is used/)).toHaveLength(1)
      expect(matching("error", refusal)).toHaveLength(1)
      // The look for a failover waited for a usable Redis: it found no refusal to complain of.
      expect(matching("warn", /could not look for logs written before a failover/)).toEqual([])

      // A grant taken back while connected: the call is refused naming it too.
      await lateAdmin.call("ACL", "SETUSER", "late", "-evalsha", "-eval")
      await expect(engine.head("log")).rejects.toThrow(refusal)
    } finally {
      await engine.close()
      lateAdmin.disconnect()
      await late.destroy()
    }
  })

  it("passes a reply error on without the call's arguments: an entry's data and a log's name reach no log line", async () => {
    const lines: string[] = []
    const logger = pino({}, { write: (line: string) => lines.push(line) })
    const engine = await openRedisEngine({ url: redis.url, keyPrefix })
    try {
      // A log's metadata of another type: WRONGTYPE, a reply the engine passes on as it is.
      await admin.set(logKeys(keyPrefix, "private-log").meta, "not a hash")
      const failed = await engine.append("private-log", [{ data: "private-data" }]).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect((failed as Error).message).toMatch(/^WRONGTYPE/)
      expect((failed as { command?: unknown }).command).toEqual({ name: expect.stringMatching(/^eval/) })
      // As the router logs a request that failed.
      logger.error({ err: failed }, "request failed")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("WRONGTYPE")
      expect(lines[0]).not.toMatch(/private-data|private-log/)
    } finally {
      await engine.close()
      await admin.flushall()
    }
  })

  it("tells a full Redis (maxmemory, noeviction) from one that is away: its writes are refused as full, health says it, the operator is told once", async () => {
    const { logger, matching } = recordingLogger()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, logger })
    try {
      await engine.append("log", [{ data: "x" }], { create: {} })
      await admin.config("SET", "maxmemory", "1")
      // A script's refusal, and a transaction's (the lease's: refused whole, EXECABORT).
      for (const write of [
        () => engine.append("log", [{ data: "y" }]),
        () => engine.holdLease("node", 1000),
      ]) {
        const refused = await write().then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(refused).toBeInstanceOf(StorageFullError)
        expect((refused as Error).message).toBe(
          `redis engine: Redis at ${address} is full, so nothing was stored; raise its maxmemory, or keep less (a lower retention).`,
        )
      }
      // Reads go on.
      expect(await engine.read("log", START, 10)).toMatchObject({ held: true, entries: [{ data: "x" }] })
      expect(await engine.health()).toMatchObject({
        status: "full",
        reason: `Redis at ${address} is past its maxmemory: writes fail until it has room again (raise its maxmemory, or keep less); reads are served`,
      })
      expect(matching("error", /is full/)).toEqual([
        `redis engine: Redis at ${address} is full, so nothing was stored; raise its maxmemory, or keep less (a lower retention). (Redis said: OOM command not allowed when used memory > 'maxmemory'.)`,
      ])
    } finally {
      await admin.config("SET", "maxmemory", "0")
      await engine.close()
      await admin.flushall()
    }
  })

  it("refuses a new log on a full Redis as well, making none of it: a create, an append that creates, over an expired log's keys", async () => {
    let now = Date.now()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, now: () => now })
    const keysOf = (log: string) => {
      const { channel: _, ...stored } = logKeys(keyPrefix, log)
      return Object.values(stored)
    }
    try {
      await engine.append("expired", [{ data: "x", key: "k" }], { create: { ttlMs: 1000 } })
      now += 2000
      expect(await admin.exists(...keysOf("expired"))).toBeGreaterThan(0)
      await admin.config("SET", "maxmemory", "1")
      for (const log of ["new", "expired"]) {
        for (const make of [
          () => engine.create(log),
          () => engine.append(log, [{ data: "y" }], { create: {} }),
        ]) {
          await expect(make()).rejects.toBeInstanceOf(StorageFullError)
        }
        // None made; what the expired incarnation left is dropped all the same (it frees room).
        expect(await admin.exists(...keysOf(log))).toBe(0)
        expect(await engine.head(log)).toBeUndefined()
      }
      await admin.config("SET", "maxmemory", "0")
      expect((await engine.create("new")).status).toBe("created")
      await engine.append("expired", [{ data: "z" }], { create: {} })
      expect(await engine.read("expired", START, 10)).toMatchObject({ entries: [{ data: "z" }] })
    } finally {
      await admin.config("SET", "maxmemory", "0")
      await engine.close()
      await admin.flushall()
    }
  })

  it("makes a log anew over an expired one on a full Redis at the retry, the refused first try having freed what it held", async () => {
    let now = Date.now()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, now: () => now })
    try {
      const big = "x".repeat(200_000)
      await engine.append(
        "expired",
        Array.from({ length: 20 }, () => ({ data: big })),
        { create: { ttlMs: 1000 } },
      )
      now += 2000
      const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1])
      // Full unless the expired log's 4 MB go: only a write that drops them makes room.
      await admin.config("SET", "maxmemory", String(used - 1_000_000))
      await expect(engine.append("expired", [{ data: "y" }], { create: {} })).rejects.toBeInstanceOf(
        StorageFullError,
      )
      await engine.append("expired", [{ data: "y" }], { create: {} })
      expect(await engine.read("expired", START, 10)).toMatchObject({ entries: [{ data: "y" }] })
    } finally {
      await admin.config("SET", "maxmemory", "0")
      await engine.close()
      await admin.flushall()
    }
  })

  it("reads a log with a sliding TTL on a full Redis as well, its TTL sliding on once Redis has room again", async () => {
    let now = Date.now()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, now: () => now })
    try {
      await engine.append("ttl", [{ data: "x" }], { create: { ttlMs: 10_000 } })
      const expiresAt = (await engine.head("ttl"))?.expiresAt
      await admin.config("SET", "maxmemory", "1")
      now += 5000
      // The TTL's slide is the read's first write, which a full Redis refuses: the read answers all the same.
      expect(await engine.read("ttl", START, 10)).toMatchObject({ held: true, entries: [{ data: "x" }] })
      expect((await engine.head("ttl"))?.expiresAt).toBe(expiresAt)
      await admin.config("SET", "maxmemory", "0")
      await engine.read("ttl", START, 10)
      expect((await engine.head("ttl"))?.expiresAt).toBe(now + 10_000)
    } finally {
      await admin.config("SET", "maxmemory", "0")
      await engine.close()
      await admin.flushall()
    }
  })

  it("reads, heads and locates on a full Redis a log whose oldest keyed entry ages out, its key then found at its later entry", async () => {
    let now = Date.now()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, now: () => now })
    try {
      await engine.append("aged", [{ data: "old", key: "k" }], { create: { retention: { maxAgeMs: 2000 } } })
      now += 1500
      await engine.append("aged", [{ data: "new", key: "k" }])
      now += 1000
      await admin.config("SET", "maxmemory", "1")
      // The trim of "old" moves the key's index on to "new": a write after the trim's.
      expect(await engine.read("aged", START, 10)).toMatchObject({ held: true, entries: [{ data: "new" }] })
      expect(await engine.head("aged")).toMatchObject({ tail: expect.stringMatching(/_0*2$/) })
      expect(await engine.locate("aged", "k")).toMatch(/_0*2$/)
    } finally {
      await admin.config("SET", "maxmemory", "0")
      await engine.close()
      await admin.flushall()
    }
  })

  it("says an append whose answer was lost may have been applied, and one never sent was not", async () => {
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, commandTimeoutMs: 200 })
    let stopped = false
    try {
      // The first append has Redis cache the script: the one paused is sent once (no NOSCRIPT retry).
      await engine.append("paused", [{ data: "first" }], { create: {} })
      // Writes wait while Redis is paused, then run: the timed-out append is stored after all.
      await admin.call("CLIENT", "PAUSE", "600", "WRITE")
      const timedOut = await engine.append("paused", [{ data: "late" }]).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(timedOut).toBeInstanceOf(EngineUnavailableError)
      expect((timedOut as EngineUnavailableError).maybeApplied).toBe(true)
      const stored = async () => {
        const read = await engine.read("paused", START, 10)
        return read.held ? read.entries.map((entry) => entry.data) : []
      }
      await waitFor(
        () =>
          stored().then(
            (data) => data.length > 1,
            () => false,
          ),
        "the late append to land",
      )
      expect(await stored()).toEqual(["first", "late"])

      await redis.stop()
      stopped = true
      const refused = await engine.append("paused", [{ data: "never" }]).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(refused).toBeInstanceOf(EngineUnavailableError)
      expect((refused as EngineUnavailableError).maybeApplied).toBe(false)
    } finally {
      await engine.close()
      if (stopped) await redis.start()
      await admin.flushall()
    }
  })

  it("opens on a Redis that is down, says once where and why, and when it connects, loses and regains it", async () => {
    await redis.stop()
    const { logger, matching } = recordingLogger()
    const started = Date.now()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, logger })
    try {
      expect(Date.now() - started).toBeLessThan(1000)
      const refused = await engine.create("log").then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(refused).toBeInstanceOf(EngineUnavailableError)
      expect((refused as Error).message).toContain(`Redis at ${address} is unreachable`)
      expect((refused as Error).message).toContain("ECONNREFUSED")
      // The outage is the news: no stack frames for every caller that logs it to repeat.
      expect((refused as Error).stack).not.toMatch(/\n\s+at /)
      // ioredis retried several times meanwhile: still one line per connection.
      const unreachable = new RegExp(
        `Redis at ${address} is unreachable \\((commands|subscriptions)\\): .*ECONNREFUSED`,
      )
      expect(matching("warn", unreachable)).toHaveLength(2)

      await redis.start()
      await waitFor(() => succeeds(() => engine.create("log")), "the engine to connect")
      await waitFor(
        () =>
          matching("info", new RegExp(`connected to Redis at ${address} \\(subscriptions\\) after`))
            .length === 1,
        "the subscriptions' connected line",
      )
      expect(
        matching(
          "info",
          new RegExp(`^redis engine: connected to Redis at ${address} \\(commands\\) after \\d+\\.\\d s$`),
        ),
      ).toHaveLength(1)

      await redis.stop()
      const lost = (role: string) =>
        matching("warn", new RegExp(`lost the connection to Redis at ${address} \\(${role}\\)`))
      await waitFor(
        () => lost("commands").length === 1 && lost("subscriptions").length === 1,
        "the loss lines",
      )
      // Calls made while away add no line of their own.
      for (let i = 0; i < 3; i++)
        await expect(engine.head("log")).rejects.toBeInstanceOf(EngineUnavailableError)
      await redis.start()
      const back = (role: string) =>
        matching("info", new RegExp(`reconnected to Redis at ${address} \\(${role}\\) after \\d+\\.\\d s`))
      await waitFor(
        () => back("commands").length === 1 && back("subscriptions").length === 1,
        "the recovery lines",
      )
      // Answered (no AOF: the Redis came back empty).
      await expect(engine.head("log")).resolves.toBeUndefined()
      expect(lost("commands")).toHaveLength(1)
      expect(matching("error", /./)).toEqual([])
    } finally {
      await engine.close()
      await admin.flushall()
    }
  })

  it("a password set while running: calls refused naming it, one error line per connection, back once lifted", async () => {
    const { logger, matching } = recordingLogger()
    const engine = await openRedisEngine({ url: redis.url, keyPrefix, logger })
    try {
      expect((await engine.create("log")).status).toBe("created")
      await admin.config("SET", "requirepass", "s3cret")
      // Redis keeps connections authenticated before: cut them (the admin's own is skipped).
      await admin.client("KILL", "TYPE", "normal")
      await admin.client("KILL", "TYPE", "pubsub")
      await waitFor(
        () =>
          engine.head("log").then(
            () => false,
            (error: unknown) => error instanceof RedisSetupError,
          ),
        "calls refused with the setting named",
      )
      await expect(engine.head("log")).rejects.toThrow(new RegExp(`Redis at ${address} needs a password`))
      // ioredis retries every few hundred ms: a second more, still one line per connection.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(matching("error", /needs a password/).sort()).toEqual([
        expect.stringContaining("needs a password"),
        expect.stringContaining("needs a password"),
      ])

      await admin.config("SET", "requirepass", "")
      await waitFor(() => succeeds(() => engine.head("log")), "calls to succeed again")
    } finally {
      await admin.config("SET", "requirepass", "")
      await engine.close()
      await admin.flushall()
    }
  })
})

/** The ACL rule docs/engines.md gives, its key and channel patterns for `prefix` instead of `herald`. */
function documentedRule(prefix: string): string[] {
  const doc = readFileSync(new URL("../../docs/engines.md", import.meta.url), "utf8")
  const line = /^redis-cli ACL SETUSER herald (.*)$/m.exec(doc)?.[1]
  if (line === undefined) throw new Error("docs/engines.md gives no ACL SETUSER line")
  return line
    .split(" ")
    .map((word) => word.replace(/^'(.*)'$/, "$1"))
    .map((word) => (/^[~&]/.test(word) ? word.replace("herald", prefix) : word))
}

describe.skipIf(!installed && !STRICT)("redis engine as the user docs/engines.md describes", () => {
  let redis: RedisServer
  let engines = 0
  beforeAll(async () => {
    redis = await startRedis()
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0 })
    try {
      await admin.call("ACL", "SETUSER", "herald", ...documentedRule("acl-*"))
    } finally {
      admin.disconnect()
    }
  })
  afterAll(async () => {
    await redis?.destroy()
  })

  it("has the rule", () => {
    expect(documentedRule("acl-*")).toContain("~acl-*:*")
  })

  describeEngine("redis, as that user", (options) =>
    openRedisEngine({
      url: redis.url.replace("redis://", "redis://herald:s3cret@"),
      keyPrefix: `acl-${++engines}`,
      ...options,
    }),
  )
})
