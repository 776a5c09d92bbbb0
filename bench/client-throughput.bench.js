// Client receive throughput: one loopback server streams N events as fast as the socket takes
// them; each client counts them until the last. Herald's EventSource against the `eventsource`
// package (v4) and @microsoft/fetch-event-source (v2, with the window/document stubs it needs
// in Node). Medians of several runs, interleaved. Run: npm run bench -- client-throughput
import { createServer } from "node:http"
import { fetchEventSource } from "@microsoft/fetch-event-source"
import { EventSource as EventSourcePackage } from "eventsource"
import { EventSource } from "herald/client"
import { median, printTable } from "./stats.js"

const EVENTS = 100_000
const RUNS = 5
const payload = JSON.stringify({ token: "hello", index: 0, padding: "x".repeat(40) })
// One event per block, written in 64 KiB batches: the client's parsing is what gets measured.
const block = `id: 1\ndata: ${payload}\n\n`
const batch = block.repeat(Math.floor(65536 / block.length))
const perBatch = Math.floor(65536 / block.length)

const server = createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/event-stream" })
  let sent = 0
  const write = () => {
    while (sent < EVENTS) {
      const count = Math.min(perBatch, EVENTS - sent)
      sent += count
      const ok = res.write(count === perBatch ? batch : block.repeat(count))
      if (!ok) return void res.once("drain", write)
    }
    res.write("event: done\ndata: end\n\n")
  }
  write()
  req.on("close", () => res.destroy())
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const url = `http://127.0.0.1:${server.address().port}/`

/** Receives every event with an EventSource-shaped class; resolves with the elapsed ms. */
function viaEventSource(Impl) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let count = 0
    const source = new Impl(url)
    source.onmessage = () => count++
    source.addEventListener("done", () => {
      source.close()
      if (count !== EVENTS) reject(new Error(`got ${count} of ${EVENTS} events`))
      resolve(performance.now() - started)
    })
    source.onerror = () => reject(new Error("connection error"))
  })
}

async function viaFetchEventSource() {
  globalThis.window ??= { setTimeout, clearTimeout, fetch }
  globalThis.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} }
  const started = performance.now()
  const controller = new AbortController()
  let count = 0
  let elapsed = 0
  await fetchEventSource(url, {
    openWhenHidden: true,
    signal: controller.signal,
    onmessage(message) {
      if (message.event !== "done") return void count++
      elapsed = performance.now() - started
      controller.abort()
    },
    onerror(error) {
      throw error
    },
  })
  if (count !== EVENTS) throw new Error(`got ${count} of ${EVENTS} events`)
  return elapsed
}

const clients = [
  ["herald/client EventSource", () => viaEventSource(EventSource)],
  ["eventsource 4", () => viaEventSource(EventSourcePackage)],
  ["@microsoft/fetch-event-source 2", viaFetchEventSource],
]
const times = new Map(clients.map(([name]) => [name, []]))
for (const [, run] of clients) await run() // warm-up
for (let i = 0; i < RUNS; i++) {
  for (const [name, run] of clients) {
    globalThis.gc?.()
    times.get(name).push(await run())
  }
}
server.close()

const rows = clients.map(([name]) => {
  const ms = median(times.get(name))
  return [name, ms.toFixed(0), Math.round((EVENTS / ms) * 1000).toLocaleString("en")]
})
printTable(
  `Client receive throughput (${EVENTS.toLocaleString("en")} events of ${block.length} bytes, loopback, median of ${RUNS})`,
  ["client", "ms", "events/s"],
  rows,
)
