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

// String chunks are made as a stream hands them over, by a TextDecoder: flat strings. Slices of
// one big string (what `split` makes) are views that V8 reads more slowly, and no stream yields them.
const decoder = new TextDecoder()
const flat = (text) => decoder.decode(encoder.encode(text))

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

/**
 * Feeds every chunk to a fresh parser and returns what its handler saw. Every handler does what
 * the least consumer does: count the event and read its data. (A handler that ignores the event
 * lets V8 inline it and then drop the unused event and the slicing of its data altogether, which
 * no real consumer allows.) Each runner has its own handler, so each sees one event shape.
 */
const runners = {
  herald(chunks) {
    const seen = { events: 0, chars: 0 }
    const parser = createParser({
      onEvent: (event) => {
        seen.events++
        seen.chars += event.data.length
      },
    })
    for (const chunk of chunks) parser.feed(chunk)
    parser.end()
    return seen
  },
  peer(chunks) {
    const seen = { events: 0, chars: 0 }
    const parser = createPeerParser({
      onEvent: (event) => {
        seen.events++
        seen.chars += event.data.length
      },
    })
    for (const chunk of chunks) parser.feed(chunk)
    return seen
  },
  // The peer takes strings only; its documented way to read bytes is a streaming TextDecoder.
  peerBytes(chunks) {
    const seen = { events: 0, chars: 0 }
    const parser = createPeerParser({
      onEvent: (event) => {
        seen.events++
        seen.chars += event.data.length
      },
    })
    const decoder = new TextDecoder()
    for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }))
    return seen
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

/**
 * Runs the contenders (name → runner) in alternating rounds, after checking that they all see the
 * same events, and returns the median MB/s of each.
 */
async function measure(label, bytes, contenders) {
  const entries = Object.entries(contenders)
  const seen = entries.map(([name, fn]) => ({ name, ...fn() }))
  for (const other of seen.slice(1)) {
    if (other.events !== seen[0].events || other.chars !== seen[0].chars)
      throw new Error(
        `${label}: ${seen[0].name} saw ${seen[0].events} events of ${seen[0].chars} characters, ${other.name} ${other.events} of ${other.chars}`,
      )
  }
  for (let i = 0; i < 20; i++) for (const [, fn] of entries) fn()
  const runs = entries.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, fn]] of entries.entries()) runs[i].push(await throughput(fn, bytes))
  }
  return {
    events: seen[0].events,
    ...Object.fromEntries(entries.map(([name], i) => [name, median(runs[i])])),
  }
}

// The floor, measured first, in the same rounds as Herald and the peer on the same input: what
// any parser must do per event of the token workload — find the line end, slice the value,
// allocate the event, call the same handler as the parsers — and nothing else (no SSE rules at
// all). The checked floor adds only the checks no correct parser can skip for these blocks: the
// `data:` name, the optional space, the blank line. They bound the ratio any parser can reach.
function floorParse(text, checked) {
  const seen = { events: 0, chars: 0 }
  const onEvent = (event) => {
    seen.events++
    seen.chars += event.data.length
  }
  let position = 0
  for (;;) {
    const lineEnd = text.indexOf("\n", position)
    if (lineEnd === -1) break
    let valueStart = position + 6
    if (checked) {
      const isLoneData =
        text.charCodeAt(position) === 100 &&
        text.charCodeAt(position + 1) === 97 &&
        text.charCodeAt(position + 2) === 116 &&
        text.charCodeAt(position + 3) === 97 &&
        text.charCodeAt(position + 4) === 58 &&
        text.charCodeAt(lineEnd + 1) === 10
      if (!isLoneData) throw new Error("the checked floor reads lone data blocks only")
      valueStart = text.charCodeAt(position + 5) === 32 ? position + 6 : position + 5
    }
    onEvent({ type: "message", data: text.slice(valueStart, lineEnd), lastEventId: "" })
    position = lineEnd + 2
  }
  return seen
}
const flatTokens = flat(tokens)
const floor = await measure("floor", tokens.length, {
  floor: () => floorParse(flatTokens, false),
  checkedFloor: () => floorParse(flatTokens, true),
  herald: () => runners.herald([flatTokens]),
  peer: () => runners.peer([flatTokens]),
})

async function compare(label, bytes, heraldFn, peerFn) {
  return { label, ...(await measure(label, bytes, { herald: heraldFn, peer: peerFn })) }
}

const rows = []
for (const workload of workloads) {
  const byteChunks = (
    Number.isFinite(workload.chunkSize) ? split(workload.text, workload.chunkSize) : [workload.text]
  ).map((chunk) => encoder.encode(chunk))
  const stringChunks = byteChunks.map((chunk) => decoder.decode(chunk))
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
    const chunks = (Number.isFinite(chunkSize) ? split(text, chunkSize) : [text]).map(flat)
    // One untimed run each first: the table is about cost per MB, not about compiling a new path.
    runners.herald(chunks)
    runners.peer(chunks)
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

const ratio = (value) => `${(value / floor.peer).toFixed(2)}×`
printTable(
  `The floor: the least work per event (10k tokens, one chunk, strings), all four in the same rounds (peer: ${floor.peer.toFixed(0)} MB/s)`,
  ["parser", "MB/s", "ratio to the peer"],
  [
    ["floor (find LF, slice, allocate, call; no SSE rules)", floor.floor.toFixed(0), ratio(floor.floor)],
    [
      "checked floor (+ the `data:` name, optional space and blank line checks)",
      floor.checkedFloor.toFixed(0),
      ratio(floor.checkedFloor),
    ],
    ["Herald", floor.herald.toFixed(0), ratio(floor.herald)],
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
