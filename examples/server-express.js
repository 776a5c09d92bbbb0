// herald/server in an Express app. Run after `npm run build`: node examples/server-express.js
//   curl -N localhost:3000/events
import express from "express"
import { createChannel, createSSE } from "herald/server"

const sse = createSSE()
const ticks = createChannel({ history: true })
const timer = setInterval(
  () => ticks.publish({ event: "tick", data: new Date().toISOString() }),
  Number(process.env.TICK_MS ?? 1000),
)

const app = express()
// Express's req/res are node:http's, so they go straight to sse.connect.
app.get("/events", (req, res) => {
  ticks.subscribe(sse.connect(req, res))
})

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})

process.once("SIGTERM", async () => {
  clearInterval(timer)
  await sse.close({ server })
  process.exit(0)
})
