// The load client of the AI bench's part 3, in its own process (its CPU is read from /proc): it
// opens `count` streaming generations of the demo model (Herald's POST /v1/chat/completions, or
// resumable-stream's POST /demo) and checks every one. Lateness of a token: when its piece
// arrived − (when the request was sent + (sent − 1) × 1000 / tokensPerSecond), the time the
// demo model schedules it at with no time to first token (bench/ai/demo-pieces.js); it includes
// what the server does before its first token, and a stream opened late waits for the server
// to take its request: the first token's lateness is reported on its own too. Driven over IPC: "start" answers once every
// response head came (all are streaming), "finish" once every stream ended.
import { percentile } from "../stats.js"
import { demoPieces } from "./demo-pieces.js"
import { openEventStream, readChunk } from "./event-stream.js"

/** Requests waiting for their response head at once, at most. */
const PENDING_HEADS = 1000
const STREAM_TIMEOUT_MS = 120_000

let streams = []

const now = () => performance.timeOrigin + performance.now()

function open({ port, kind, prompt, words, tokensPerSecond, expected }) {
  const interval = 1000 / tokensPerSecond
  const stream = { lateness: [], text: "", next: 0, done: false, errors: 0, status: 0, endedAt: 0 }
  const request =
    kind === "herald"
      ? {
          path: "/v1/chat/completions",
          body: { model: "demo30", stream: true, messages: [{ role: "user", content: prompt }] },
        }
      : { path: "/demo", body: { prompt, words, tokensPerSecond } }
  stream.requestAt = performance.now()
  const reading = openEventStream({
    port,
    method: "POST",
    ...request,
    agent: false,
    timeoutMs: STREAM_TIMEOUT_MS,
    onEvent: (event, arrivedAt) => {
      const chunk = readChunk(event.data)
      if (chunk.done) stream.done = true
      if (chunk.error !== undefined) stream.errors++
      if (!chunk.text) return
      stream.text += chunk.text
      const { pieces } = expected
      while (stream.next < pieces.length && pieces[stream.next].end <= stream.text.length) {
        const due = stream.requestAt + (pieces[stream.next].sent - 1) * interval
        stream.lateness.push(arrivedAt - due)
        stream.next++
      }
    },
  })
  stream.head = reading.head.then(
    ({ status }) => {
      stream.status = status
      stream.headAt = now()
    },
    () => {},
  )
  stream.ended = reading.ended.then(() => {
    stream.endedAt = now()
  })
  return stream
}

async function start({ port, kind, count, prompts, words, tokensPerSecond }) {
  const expected = new Map(prompts.map((prompt) => [prompt, demoPieces(prompt, words)]))
  const startedAt = now()
  streams = []
  const pending = new Set()
  for (let i = 0; i < count; i++) {
    // Bounded: each head settles (answered, refused or failed).
    while (pending.size >= PENDING_HEADS) await Promise.race(pending)
    const prompt = prompts[i % prompts.length]
    const stream = open({ port, kind, prompt, words, tokensPerSecond, expected: expected.get(prompt) })
    stream.expected = expected.get(prompt).text
    streams.push(stream)
    pending.add(stream.head)
    stream.head.then(() => pending.delete(stream.head))
  }
  await Promise.all(streams.map((stream) => stream.head))
  return {
    startedAt,
    streamingAt: now(),
    openAtStreaming: streams.filter((stream) => stream.endedAt === 0).length,
    refused: streams.filter((stream) => stream.status !== 200).length,
  }
}

/** The most streams open at once, between their response head and their end. */
function peakOpen() {
  const changes = streams.flatMap((stream) => [
    [stream.headAt, 1],
    [stream.endedAt, -1],
  ])
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let peak = 0
  for (const [, change] of changes) {
    open += change
    peak = Math.max(peak, open)
  }
  return peak
}

async function finish() {
  await Promise.all(streams.map((stream) => stream.ended))
  const lateness = streams.flatMap((stream) => stream.lateness)
  const firsts = streams.map((stream) => stream.lateness[0] ?? Number.POSITIVE_INFINITY)
  const statuses = {}
  for (const stream of streams) statuses[stream.status] = (statuses[stream.status] ?? 0) + 1
  return {
    p50: percentile(lateness, 50),
    p99: percentile(lateness, 99),
    max: lateness.reduce((most, late) => Math.max(most, late), Number.NEGATIVE_INFINITY),
    firstP50: percentile(firsts, 50),
    firstP99: percentile(firsts, 99),
    tokens: lateness.length,
    exact: streams.filter((stream) => stream.text === stream.expected).length,
    terminated: streams.filter((stream) => stream.done && stream.errors === 0).length,
    complete: streams.filter(
      (stream) => stream.text === stream.expected && stream.done && stream.errors === 0,
    ).length,
    peakOpen: peakOpen(),
    firstEndAt: Math.min(...streams.map((stream) => stream.endedAt)),
    lastEndAt: Math.max(...streams.map((stream) => stream.endedAt)),
    statuses,
  }
}

process.send({ type: "ready", pid: process.pid })
process.on("message", async (message) => {
  if (message.cmd === "start") process.send({ type: "start", ...(await start(message)) })
  if (message.cmd === "finish") process.send({ type: "finish", ...(await finish()) })
  if (message.cmd === "exit") process.exit(0)
})
