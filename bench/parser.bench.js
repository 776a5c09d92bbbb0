// Parser throughput: Herald's createParser against eventsource-parser (the most used SSE parser),
// same inputs, same run, interleaved rounds, medians. Also checks that parse time grows linearly
// with input size. Run: npm run bench -- parser   (add --quick for a short smoke run)
import { createParser as createPeerParser } from "eventsource-parser"
import { EventSourceParserStream } from "eventsource-parser/stream"
import { createParser, SSEDecoderStream } from "herald/protocol"
import { median, printTable } from "./stats.js"

const quick = process.argv.includes("--quick")
const ROUNDS = quick ? 3 : 7
const ROUND_MS = quick ? 100 : 300
const encoder = new TextEncoder()

/** Splits a string into chunks of `size` characters (all inputs here are ASCII, so bytes = characters). */
function split(text, size) {
  const chunks = []
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
  return chunks
}

function tokenEvents(count, lineEnd = "\n") {
  let out = ""
  for (let i = 0; i < count; i++) out += `data: {"token":"tok${i % 1000} "}${lineEnd}${lineEnd}`
  return out
}

function taggedTokenEvents(count) {
  let out = ""
  for (let i = 0; i < count; i++) out += `id: ${i}\nevent: token\ndata: {"token":"tok${i % 1000} "}\n\n`
  return out
}

function largeEvents(count, size) {
  const payload = "x".repeat(size)
  let out = ""
  for (let i = 0; i < count; i++) out += `data: ${payload}\n\n`
  return out
}

function multiLineEvents(count) {
  let out = ""
  for (let i = 0; i < count; i++) {
    out += `event: code\ndata: function f${i}() {\ndata:   return ${i}\ndata: }\ndata: \ndata: // end\n\n`
  }
  return out
}

const tokens = tokenEvents(10_000)
const workloads = [
  { name: "10k tokens, one chunk", text: tokens, chunkSize: Number.POSITIVE_INFINITY, small: true },
  { name: "10k tokens, 16-byte chunks", text: tokens, chunkSize: 16, small: true },
  {
    name: "10k tokens with id+event, one chunk",
    text: taggedTokenEvents(10_000),
    chunkSize: Number.POSITIVE_INFINITY,
    small: true,
  },
  {
    name: "10k tokens, CRLF, one chunk",
    text: tokenEvents(10_000, "\r\n"),
    chunkSize: Number.POSITIVE_INFINITY,
    small: true,
  },
  { name: "10k tokens, CRLF, 16-byte chunks", text: tokenEvents(10_000, "\r\n"), chunkSize: 16, small: true },
  { name: "2k multi-line events, 4 KB chunks", text: multiLineEvents(2_000), chunkSize: 4096, small: false },
  {
    name: "100 events of 64 KB, 16 KB chunks",
    text: largeEvents(100, 64 * 1024),
    chunkSize: 16 * 1024,
    small: false,
  },
]

/** Feeds every chunk to a fresh parser and returns the number of events. */
const runners = {
  herald(chunks) {
    let events = 0
    const parser = createParser({ onEvent: () => events++ })
    for (const chunk of chunks) parser.feed(chunk)
    parser.end()
    return events
  },
  peer(chunks) {
    let events = 0
    const parser = createPeerParser({ onEvent: () => events++ })
    for (const chunk of chunks) parser.feed(chunk)
    return events
  },
  // The peer takes strings only; its documented way to read bytes is a streaming TextDecoder.
  peerBytes(chunks) {
    let events = 0
    const parser = createPeerParser({ onEvent: () => events++ })
    const decoder = new TextDecoder()
    for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }))
    return events
  },
}

/**
 * Runs `fn` for about ROUND_MS and returns MB/s. `fn` may return a promise (the stream runs); a
 * synchronous run is not awaited, so it pays no microtask per iteration.
 */
async function throughput(fn, bytes) {
  const start = performance.now()
  let iterations = 0
  let elapsed = 0
  do {
    const result = fn()
    if (result instanceof Promise) await result
    iterations++
    elapsed = performance.now() - start
  } while (elapsed < ROUND_MS)
  return (iterations * bytes) / 1e6 / (elapsed / 1000)
}

async function compare(label, bytes, heraldFn, peerFn) {
  const expected = heraldFn()
  const peerCount = peerFn()
  if (expected !== peerCount)
    throw new Error(`${label}: Herald saw ${expected} events, the peer ${peerCount}`)
  for (let i = 0; i < 20; i++) {
    heraldFn()
    peerFn()
  }
  const herald = []
  const peer = []
  for (let round = 0; round < ROUNDS; round++) {
    herald.push(await throughput(heraldFn, bytes))
    peer.push(await throughput(peerFn, bytes))
  }
  return { label, events: expected, herald: median(herald), peer: median(peer) }
}

const rows = []
for (const workload of workloads) {
  const stringChunks = Number.isFinite(workload.chunkSize)
    ? split(workload.text, workload.chunkSize)
    : [workload.text]
  const byteChunks = stringChunks.map((chunk) => encoder.encode(chunk))
  const bytes = workload.text.length
  const inputs = [
    ["strings", stringChunks, runners.peer],
    ["bytes", byteChunks, runners.peerBytes],
  ]
  for (const [kind, chunks, peerRunner] of inputs) {
    const row = await compare(
      `${workload.name} (${kind})`,
      bytes,
      () => runners.herald(chunks),
      () => peerRunner(chunks),
    )
    rows.push({ ...row, small: workload.small })
  }
}

printTable(
  `Parser throughput, MB/s (median of ${ROUNDS} rounds of ${ROUND_MS} ms; higher is better)`,
  ["workload", "events", "Herald", "eventsource-parser", "ratio"],
  rows.map((row) => [
    row.label,
    String(row.events),
    row.herald.toFixed(0),
    row.peer.toFixed(0),
    `${(row.herald / row.peer).toFixed(2)}×`,
  ]),
)

// Web streams: what `response.body.pipeThrough(...)` costs, bytes in 16 KB network-sized chunks.
async function streamEvents(Transform, chunks) {
  let events = 0
  const source = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
  const reader = source.pipeThrough(Transform()).getReader()
  while (!(await reader.read()).done) events++
  return events
}

const streamChunks = split(tokens, 16 * 1024).map((chunk) => encoder.encode(chunk))
const heraldStream = () => streamEvents(() => new SSEDecoderStream(), streamChunks)
const peerStream = () =>
  streamEvents(() => {
    const decode = new TextDecoderStream()
    return { writable: decode.writable, readable: decode.readable.pipeThrough(new EventSourceParserStream()) }
  }, streamChunks)
const heraldStreamRuns = []
const peerStreamRuns = []
for (let round = 0; round < ROUNDS; round++) {
  heraldStreamRuns.push(await throughput(heraldStream, tokens.length))
  peerStreamRuns.push(await throughput(peerStream, tokens.length))
}
const streamHerald = median(heraldStreamRuns)
const streamPeer = median(peerStreamRuns)
printTable(
  "Web stream transform, MB/s (10k tokens as bytes in 16 KB chunks)",
  ["pipeline", "MB/s", "ratio"],
  [
    [
      "Herald: body.pipeThrough(new SSEDecoderStream())",
      streamHerald.toFixed(0),
      `${(streamHerald / streamPeer).toFixed(2)}×`,
    ],
    [
      "peer: body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())",
      streamPeer.toFixed(0),
      "1.00×",
    ],
  ],
)

// Linear time: the cost per MB must stay flat as the input grows, however it is chunked.
function timeOnce(fn) {
  const start = performance.now()
  fn()
  return performance.now() - start
}
function linearity(label, makeText, sizes, chunkSize) {
  const out = []
  for (const size of sizes) {
    const text = makeText(size)
    const chunks = Number.isFinite(chunkSize) ? split(text, chunkSize) : [text]
    const runs = []
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      runs.push({
        herald: timeOnce(() => runners.herald(chunks)),
        peer: timeOnce(() => runners.peer(chunks)),
      })
    }
    const herald = median(runs.map((run) => run.herald))
    const peer = median(runs.map((run) => run.peer))
    const mb = text.length / 1e6
    out.push([label(size), `${mb.toFixed(1)}`, (herald / mb).toFixed(2), (peer / mb).toFixed(2)])
  }
  return out
}
const oneLine = (size) => `data: ${"a".repeat(size)}\n\n`
const tinyEvents = (count) => "data: x\n\n".repeat(count)
printTable(
  "Linear time: milliseconds per MB of input (flat = linear; median of runs)",
  ["input", "MB", "Herald ms/MB", "eventsource-parser ms/MB"],
  [
    ...linearity(
      (n) => `one data line of ${n / 1e6} MB, one chunk`,
      oneLine,
      [1e6, 1e7],
      Number.POSITIVE_INFINITY,
    ),
    ...linearity((n) => `one data line of ${n / 1e6} MB, 64 KB chunks`, oneLine, [1e6, 1e7], 64 * 1024),
    ...linearity((n) => `one data line of ${n / 1e6} MB, 16-byte chunks`, oneLine, [1e6, 1e7], 16),
    ...linearity(
      (n) => `${n / 1e3}k tiny events, one chunk`,
      tinyEvents,
      [1e5, 1e6],
      Number.POSITIVE_INFINITY,
    ),
    ...linearity((n) => `${n / 1e3}k tiny events, 16-byte chunks`, tinyEvents, [1e5, 1e6], 16),
  ],
)

// The floor: what any parser must do per event of the token workload — find the line end, slice
// the value, allocate the event, call the handler — and nothing else (no SSE rules at all). No
// correct parser can beat it, so it bounds the ratio any parser can reach over another.
function floorParse(text) {
  let events = 0
  const onEvent = () => events++
  let position = 0
  for (;;) {
    const lineEnd = text.indexOf("\n", position)
    if (lineEnd === -1) break
    onEvent({ type: "message", data: text.slice(position + 6, lineEnd), lastEventId: "" })
    position = lineEnd + 2
  }
  return events
}
const floorRow = await compare(
  "10k tokens, one chunk (strings)",
  tokens.length,
  () => floorParse(tokens),
  () => runners.peer([tokens]),
)
const heraldOneChunk = rows[0]
printTable(
  "The floor: the least work per event (10k tokens, one chunk, strings); each ratio is against the peer in the same rounds",
  ["parser", "MB/s", "peer MB/s in the same rounds", "ratio"],
  [
    [
      "floor (find LF, slice, allocate, call; no SSE rules)",
      floorRow.herald.toFixed(0),
      floorRow.peer.toFixed(0),
      `${(floorRow.herald / floorRow.peer).toFixed(2)}×`,
    ],
    [
      "Herald",
      heraldOneChunk.herald.toFixed(0),
      heraldOneChunk.peer.toFixed(0),
      `${(heraldOneChunk.herald / heraldOneChunk.peer).toFixed(2)}×`,
    ],
  ],
)

const slower = rows.filter((row) => row.herald < row.peer)
const shortOfGoal = rows.filter((row) => row.small && row.herald < 1.5 * row.peer)
console.log(
  `\nWorkloads where Herald is slower than the peer: ${slower.length ? slower.map((r) => r.label).join("; ") : "none"}`,
)
console.log(
  `Small-event workloads under the 1.5× goal: ${shortOfGoal.length ? shortOfGoal.map((r) => r.label).join("; ") : "none"}`,
)
