// The load client, in its own process: opens N raw HTTP/1.1 connections (net sockets, no
// parser library in the way) — SSE subscriptions, or WebSockets read by a minimal frame reader —
// and counts and timestamps every event delivered. Driven over IPC by harness.js. Latency = receive time − the publish time the server embedded in the data,
// both read from process.hrtime (CLOCK_MONOTONIC, shared by all processes on one machine).
import { connect } from "node:net"

const MAX_SAMPLES = 4_000_000
const samples = new Float64Array(MAX_SAMPLES)
let sampleCount = 0
let delivered = 0
let lastDeliveryAt = 0
let measuring = false
const sockets = []
/** The sockets whose subscription opened: each counts its own deliveries (`socket.delivered`). */
const subscriptions = []
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)

const DATA = Buffer.from("data:")
const LF = 10
const SPACE = 32
const ZERO = 48
const WEBSOCKET_TEXT = 1
const WEBSOCKET_BINARY = 2

/**
 * Counts one delivery to `socket` whose payload starts at `payloadAt` with the publish time in
 * µs, then a space.
 */
function countDelivery(socket, chunk, payloadAt, now) {
  delivered++
  socket.delivered++
  lastDeliveryAt = now
  if (measuring && sampleCount < MAX_SAMPLES) {
    let index = payloadAt
    let publishedAt = 0
    for (let byte = chunk[index]; byte !== SPACE; byte = chunk[++index])
      publishedAt = publishedAt * 10 + byte - ZERO
    samples[sampleCount++] = (now - publishedAt) / 1000
  }
}

/**
 * Counts `data:` lines in a chunk (better-sse writes them without the space, the others with
 * it) and reads the publish time that starts each one, working on the bytes (no string
 * conversion: the client must cost as little as possible, since it shares the machine with
 * the server it measures). A line cut by the chunk boundary is carried over to the next chunk.
 */
function onData(received) {
  const chunk = this.carry === null ? received : Buffer.concat([this.carry, received])
  this.carry = null
  const now = nowMicros()
  let from = 0
  for (;;) {
    const at = chunk.indexOf(DATA, from)
    if (at === -1) {
      // A "data:" cut after 1–4 bytes would be lost; chunks normally end with CRLF, so rarely needed.
      if (chunk[chunk.length - 1] !== LF)
        this.carry = Buffer.from(chunk.subarray(Math.max(from, chunk.length - 4)))
      break
    }
    const lineEnd = chunk.indexOf(LF, at)
    if (lineEnd === -1) {
      this.carry = Buffer.from(chunk.subarray(at))
      break
    }
    countDelivery(this, chunk, chunk[at + 5] === SPACE ? at + 6 : at + 5, now)
    from = lineEnd + 1
  }
}

/**
 * Counts the events in the data frames of a chunk of a server's WebSocket stream (unmasked, no
 * extension negotiated): one per frame, plus one per LF inside it (events sent together, joined
 * by LF, as the ws-buffer contender does). Reads the publish time that starts each event; control
 * frames are skipped. A frame cut by the chunk boundary is carried over whole to the next chunk,
 * like an SSE line.
 */
function onWebSocketData(received) {
  const chunk = this.carry === null ? received : Buffer.concat([this.carry, received])
  this.carry = null
  const now = nowMicros()
  let at = 0
  while (at + 2 <= chunk.length) {
    const opcode = chunk[at] & 0x0f
    let length = chunk[at + 1] & 0x7f
    let payloadAt = at + 2
    if (length === 126) {
      if (payloadAt + 2 > chunk.length) break
      length = chunk.readUInt16BE(payloadAt)
      payloadAt += 2
    } else if (length === 127) {
      if (payloadAt + 8 > chunk.length) break
      length = Number(chunk.readBigUInt64BE(payloadAt))
      payloadAt += 8
    }
    if (payloadAt + length > chunk.length) break
    const end = payloadAt + length
    if (opcode === WEBSOCKET_TEXT || opcode === WEBSOCKET_BINARY) {
      countDelivery(this, chunk, payloadAt, now)
      for (let index = payloadAt; index < end; index++) {
        if (chunk[index] === LF) countDelivery(this, chunk, index + 1, now)
      }
    }
    at = end
  }
  if (at < chunk.length) this.carry = Buffer.from(chunk.subarray(at))
}

/** The request that opens a subscription, and the status and reader of the stream it opens. */
const PROTOCOLS = {
  sse: {
    request: (path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
    status: "200",
    onData,
  },
  websocket: {
    // The key is not checked by the reader (nor the server's accept header): the 101 is enough here.
    request: (path) =>
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    status: "101",
    onData: onWebSocketData,
  },
}

function openOne(port, path, protocol) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.carry = null
    socket.delivered = 0
    socket.setNoDelay(true)
    socket.once("connect", () => socket.write(protocol.request(path)))
    // The first bytes are the response head (no event is published before every subscriber is
    // in): with the expected status, the subscription is open.
    socket.once("data", (head) => {
      const opened = head.toString("latin1", 9, 12) === protocol.status
      if (opened) {
        socket.on("data", protocol.onData)
        subscriptions.push(socket)
      } else socket.destroy()
      resolve(opened)
    })
    socket.on("error", () => resolve(false))
    sockets.push(socket)
  })
}

/** Opens `n` connections, at most `parallel` handshakes at a time (keeps the accept queue from overflowing). */
async function openMany(port, n, path, protocol, parallel = 200) {
  let opened = 0
  let failed = 0
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      if (await openOne(port, path, protocol)) opened++
      else failed++
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return { opened, failed }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const commands = {
  connect: ({ port, n, path, protocol = "sse" }) => openMany(port, n, path, PROTOCOLS[protocol]),
  reset: ({ measureLatency }) => {
    delivered = 0
    sampleCount = 0
    lastDeliveryAt = 0
    measuring = measureLatency
    for (const socket of subscriptions) socket.delivered = 0
    return {}
  },
  /**
   * Resolves once `expected` deliveries arrived (or the timeout passed), with the fewest and the
   * most that one subscription received.
   */
  wait: ({ expected, timeoutMs }) =>
    new Promise((resolve) => {
      const started = Date.now()
      const check = () => {
        if (delivered >= expected || Date.now() - started > timeoutMs) {
          const sorted = samples.subarray(0, sampleCount).slice().sort()
          let fewestPerConnection = Number.POSITIVE_INFINITY
          let mostPerConnection = 0
          for (const socket of subscriptions) {
            fewestPerConnection = Math.min(fewestPerConnection, socket.delivered)
            mostPerConnection = Math.max(mostPerConnection, socket.delivered)
          }
          resolve({
            delivered,
            fewestPerConnection,
            mostPerConnection,
            lastDeliveryAt,
            p50: percentile(sorted, 50),
            p99: percentile(sorted, 99),
            max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
          })
        } else setTimeout(check, 5)
      }
      check()
    }),
  rss: () => ({ rss: process.memoryUsage.rss() }),
  cpu: () => process.cpuUsage(),
}

// Orphaned (the bench died): go too.
process.on("disconnect", () => process.exit(0))
process.on("message", async (message) => {
  if (message.cmd === "exit") {
    for (const socket of sockets) socket.destroy()
    process.exit(0)
  }
  const reply = await commands[message.cmd](message)
  process.send({ type: message.cmd, ...reply })
})
process.send({ type: "ready" })
