// SSE readers of one Durable Stream, in their own process: N raw HTTP/1.1 connections (net
// sockets, no parser library in the way) reading `?offset=now&live=sse`, counting every message
// delivered and its latency. Each message the benchmark appends is `{"t":<µs>,…}`, its append
// time from process.hrtime (CLOCK_MONOTONIC, shared by every process on the machine); a data
// event may carry several. Driven over IPC by streams.bench.js.
import { connect } from "node:net"

const MAX_SAMPLES = 2_000_000
const samples = new Float64Array(MAX_SAMPLES)
let sampleCount = 0
let delivered = 0
let lastDeliveryAt = 0
let measuring = false
/** Messages appended before this time (µs) belong to an earlier phase: not counted. */
let since = 0
/** Readers that received their first control event: they are live at the tail. */
let live = 0
const sockets = []
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)

const MESSAGE = Buffer.from('{"t":')
const CONTROL = Buffer.from('"streamNextOffset"')
const LF = 10
const ZERO = 48
const NINE = 57

/**
 * Counts the messages in the complete lines of a chunk (bytes, no string conversion: the client
 * shares the machine with the server it measures); the rest waits for the next chunk.
 */
function onData(received) {
  const chunk = this.carry === null ? received : Buffer.concat([this.carry, received])
  const end = chunk.lastIndexOf(LF) + 1
  this.carry = end === chunk.length ? null : Buffer.from(chunk.subarray(end))
  if (!this.live && chunk.indexOf(CONTROL) !== -1 && chunk.indexOf(CONTROL) < end) {
    this.live = true
    live++
  }
  const now = nowMicros()
  for (let at = chunk.indexOf(MESSAGE); at !== -1 && at < end; at = chunk.indexOf(MESSAGE, at + 5)) {
    let appendedAt = 0
    for (let index = at + 5, byte = chunk[index]; byte >= ZERO && byte <= NINE; byte = chunk[++index])
      appendedAt = appendedAt * 10 + byte - ZERO
    if (appendedAt < since) continue
    delivered++
    lastDeliveryAt = now
    if (measuring && sampleCount < MAX_SAMPLES) samples[sampleCount++] = (now - appendedAt) / 1000
  }
}

function openOne(port, path) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.carry = null
    socket.live = false
    socket.setNoDelay(true)
    socket.once("connect", () =>
      socket.write(
        `GET ${path}?offset=now&live=sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
      ),
    )
    socket.once("data", (head) => {
      const opened = head.toString("latin1", 9, 12) === "200"
      if (opened) {
        socket.on("data", onData)
        // The head may come with the first events.
        const body = head.indexOf("\r\n\r\n")
        if (body !== -1 && body + 4 < head.length) onData.call(socket, head.subarray(body + 4))
      } else socket.destroy()
      resolve(opened)
    })
    socket.on("error", () => resolve(false))
    sockets.push(socket)
  })
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const commands = {
  /** Opens `n` readers, 100 handshakes at a time, and waits (bounded) until every one is live. */
  async connect({ port, path, n, timeoutMs }) {
    let opened = 0
    let next = 0
    const worker = async () => {
      while (next < n) {
        next++
        if (await openOne(port, path)) opened++
      }
    }
    await Promise.all(Array.from({ length: 100 }, worker))
    const deadline = Date.now() + timeoutMs
    while (live < opened && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    return { opened, live }
  },
  /** Starts a phase: only messages appended from now on count. */
  reset({ measureLatency }) {
    since = nowMicros()
    delivered = 0
    sampleCount = 0
    lastDeliveryAt = 0
    measuring = measureLatency
    return {}
  },
  /** Resolves once `expected` messages arrived, or the timeout passed. */
  wait: ({ expected, timeoutMs }) =>
    new Promise((resolve) => {
      const started = Date.now()
      const check = () => {
        if (delivered >= expected || Date.now() - started > timeoutMs) {
          const sorted = samples.subarray(0, sampleCount).slice().sort()
          resolve({ delivered, lastDeliveryAt, p50: percentile(sorted, 50), p99: percentile(sorted, 99) })
        } else setTimeout(check, 5)
      }
      check()
    }),
  cpu: () => process.cpuUsage(),
}

process.on("message", async (message) => {
  if (message.cmd === "exit") {
    for (const socket of sockets) socket.destroy()
    process.exit(0)
  }
  const reply = await commands[message.cmd](message)
  process.send({ type: message.cmd, ...reply })
})
process.send({ type: "ready" })
