// One publish endpoint under test, in its own process: `node ingest-server.js <memory|sqlite|redis|plain> <dir>`.
// `plain` is the floor: a node:http handler that reads the form body, parses it with
// URLSearchParams and answers a random id — no validation, no token, no storage.
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { join } from "node:path"
import { SECRET } from "./publisher.js"

const [kind, dir] = process.argv.slice(2)
let handler
let closeAll = async () => {}
if (kind === "plain") {
  handler = (req, res) => {
    const chunks = []
    req.on("data", (chunk) => chunks.push(chunk))
    req.on("end", () => {
      const fields = new URLSearchParams(Buffer.concat(chunks).toString())
      if (!fields.get("topic")) res.writeHead(400).end()
      else res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(`urn:uuid:${randomUUID()}`)
    })
  }
} else {
  const { createHub } = await import("../../dist/hub/hub.js")
  const engines = await import("../../dist/engine/index.js")
  const engine =
    kind === "sqlite"
      ? engines.createSqliteEngine({ path: join(dir, "ingest.db") })
      : kind === "redis"
        ? (await import("../../dist/engine/redis.js")).createRedisEngine({
            url: process.env.HERALD_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
            keyPrefix: `herald-bench-ingest-${process.pid}`,
          })
        : engines.createMemoryEngine()
  const key = { kind: "secret", secret: SECRET }
  // Anonymous subscribers may listen (the redis bench checks that they receive what it publishes).
  const hub = createHub({
    engine,
    hubUrl: "http://127.0.0.1/.well-known/mercure",
    publish: { keys: [key] },
    allowAnonymousSubscribe: true,
  })
  handler = hub.handle
  closeAll = async () => {
    await hub.close({ deadlineMs: 100 })
    if (kind === "redis") await engine.delete("mercure")
    await engine.close()
  }
}
const server = createServer({ keepAliveTimeout: 30_000 }, handler)
server.listen(0, "127.0.0.1", () => process.send({ type: "ready", port: server.address().port }))
process.on("message", async (message) => {
  if (message.cmd === "exit") {
    server.closeAllConnections()
    server.close()
    await closeAll()
    process.exit(0)
  }
})
