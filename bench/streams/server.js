// One Durable Streams server under test, in its own process: `node server.js <contender> <dir>`.
//   herald-memory     Herald's streams handler on the memory engine
//   herald-sqlite     Herald's streams handler on the sqlite engine, synchronous=FULL: every
//                     acknowledged append is fsynced (group commit: appends that arrive together
//                     share one), as the reference's file store fdatasyncs each append
//   reference-memory  @durable-streams/server (DurableStreamTestServer), in memory
//   reference-file    @durable-streams/server with `dataDir`: log files + LMDB, fdatasync per append
//   herald-redis      Herald's streams handler on the redis engine: `node server.js herald-redis
//                     <dir> <redis url>`, its keys under the dir's name
// Driven over IPC by streams.bench.js: it answers "ready" with its port, then "rss" (after a
// full GC) and "cpu" until "exit".
import { createServer } from "node:http"
import { basename, join } from "node:path"

const [contender, dir, redisUrl] = process.argv.slice(2)

/** Starts the contender; returns its port and how to stop it. */
async function start() {
  if (contender.startsWith("reference-")) {
    const { DurableStreamTestServer } = await import("@durable-streams/server")
    const server = new DurableStreamTestServer({
      port: 0,
      host: "127.0.0.1",
      compression: false,
      ...(contender === "reference-file" ? { dataDir: join(dir, "reference") } : {}),
    })
    const url = await server.start()
    return { port: Number(new URL(url).port), stop: () => server.stop() }
  }
  const engines = await import("../../dist/engine/index.js")
  const { createStreamsHandler } = await import("../../dist/streams/index.js")
  const engine =
    contender === "herald-sqlite"
      ? engines.createSqliteEngine({ path: join(dir, "streams.db"), synchronous: "full" })
      : contender === "herald-redis"
        ? engines.createRedisEngine({ url: redisUrl, keyPrefix: `herald-bench-${basename(dir)}` })
        : engines.createMemoryEngine()
  const streams = createStreamsHandler({
    engine,
    // As `herald serve` keeps streams: whole, until deleted or expired.
    retention: { maxEntries: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.POSITIVE_INFINITY },
  })
  const server = createServer(streams.handle)
  await new Promise((resolve) => server.listen(0, "127.0.0.1", 8192, resolve))
  return {
    port: server.address().port,
    stop: async () => {
      server.closeAllConnections()
      server.close()
      await streams.close({ deadlineMs: 0 })
      await engine.close()
    },
  }
}

const { port, stop } = await start()
process.send({ type: "ready", port })
process.on("message", async (message) => {
  if (message.cmd === "exit") {
    await stop()
    process.exit(0)
  }
  if (message.cmd === "rss") {
    globalThis.gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    process.send({ type: "rss", rss, heapUsed })
  }
  if (message.cmd === "cpu") process.send({ type: "cpu", ...process.cpuUsage() })
})
