// herald/server in a Hono app, through the Fetch adapter (the same handler runs on Bun, Deno
// and in Next route handlers). Run after `npm run build`: node examples/server-hono.js
//   curl -N localhost:3000/events
import { serve } from "@hono/node-server"
import { createChannel, createSSE } from "herald/server"
import { Hono } from "hono"

const sse = createSSE()
const ticks = createChannel({ history: true })
const timer = setInterval(
  () => ticks.publish({ event: "tick", data: new Date().toISOString() }),
  Number(process.env.TICK_MS ?? 1000),
)

const app = new Hono()
// sse.response returns a web Response whose body streams; Hono hands it back as is.
app.get("/events", (c) => sse.response(c.req.raw, (connection) => void ticks.subscribe(connection)))

const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: "127.0.0.1" },
  (info) => {
    console.log(`listening on http://127.0.0.1:${info.port}`)
  },
)

process.once("SIGTERM", async () => {
  clearInterval(timer)
  await sse.close({ server })
  process.exit(0)
})
