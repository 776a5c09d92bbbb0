// One publish endpoint under test, in its own process: `node ingest-server.js <memory|sqlite|plain> <dir>`.
// `plain` is the floor: a node:http handler that reads the form body, parses it with
// URLSearchParams and answers a random id — no validation, no token, no storage.
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { join } from "node:path"

export const SECRET = "bench-secret-bench-secret-bench-secret"

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
  const engines = await import("../../dist/hub/engine/index.js")
  const engine =
    kind === "sqlite"
      ? engines.createSqliteEngine({ path: join(dir, "ingest.db") })
      : engines.createMemoryEngine()
  const key = { kind: "secret", secret: SECRET }
  const hub = createHub({ engine, hubUrl: "http://127.0.0.1/.well-known/mercure", publish: { keys: [key] } })
  handler = hub.handle
  closeAll = () => hub.close({ deadlineMs: 100 })
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
