// herald/server in a Fastify app. Run after `npm run build`: node examples/server-fastify.js
//   curl -N localhost:3000/events
import Fastify from "fastify"
import { createChannel, createSSE } from "herald/server"

const sse = createSSE()
const ticks = createChannel({ history: true })
const timer = setInterval(
  () => ticks.publish({ event: "tick", data: new Date().toISOString() }),
  Number(process.env.TICK_MS ?? 1000),
)

const app = Fastify()
app.get("/events", (request, reply) => {
  // Tell Fastify the response is ours from here on, then stream on the raw node:http objects.
  reply.hijack()
  ticks.subscribe(sse.connect(request.raw, reply.raw))
})

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" })
console.log(`listening on ${url}`)

process.once("SIGTERM", async () => {
  clearInterval(timer)
  // Streams first (they would hold app.close() open), then Fastify itself.
  await sse.close()
  await app.close()
  process.exit(0)
})
