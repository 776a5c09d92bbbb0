// Part 1 of the AI bench: the latency each peer adds per token. `answers` answers of `tokens`
// tokens at `rate` tokens/s from the driver's upstream, their starts spread over one token
// interval; each answer's creator reads the stream it asked for, and (where the peer has one) a
// follower reads the same answer from another request. A token's latency: when a client parsed
// it − when the upstream wrote it, both on the driver's clock. The first `warmTokens` tokens of
// each answer are not counted: the follower joins once the creator's response head came, and
// catches those up.
import { percentile } from "../stats.js"
import { openEventStream, readChunk } from "./event-stream.js"
import { tokenIndices } from "./upstream.js"

let cells = 0

/** What one reader of one answer saw. */
function newReading() {
  return { receivedAt: new Map(), duplicates: 0, merged: 0, done: false, errors: 0 }
}

/** Reads the events of an OpenAI chunk stream into `reading`. */
const recordInto = (reading) => (event, arrivedAt) => {
  const chunk = readChunk(event.data)
  if (chunk.done) reading.done = true
  if (chunk.error !== undefined) reading.errors++
  if (chunk.text === undefined) return
  const indices = tokenIndices(chunk.text)
  if (indices.length > 1) reading.merged += indices.length
  for (const index of indices) {
    if (reading.receivedAt.has(index)) reading.duplicates++
    else reading.receivedAt.set(index, arrivedAt)
  }
}

/**
 * One cell: returns per role (`creator`, and `follower` when the peer has one) the latency p50
 * and p99 in ms over every counted token, the tokens counted, those that arrived merged with
 * others in one event, and the tokens lost or seen twice.
 */
export async function measureTokenLatency(peer, upstream, { answers, tokens, rate, warmTokens }) {
  const cell = ++cells
  const roles = peer.follow === undefined ? ["creator"] : ["creator", "follower"]
  const timeoutMs = (tokens / rate) * 1000 + 30_000
  const one = async (j) => {
    await new Promise((resolve) => setTimeout(resolve, (j * 1000) / rate / answers))
    const key = `latency ${peer.name} ${process.pid} ${cell} ${j}`
    const plan = upstream.plan(key, { tokens, rate })
    const readings = { creator: newReading(), follower: newReading() }
    const creator = openEventStream({ ...peer.create(key), onEvent: recordInto(readings.creator), timeoutMs })
    const { status, headers } = await creator.head
    if (status !== 200) throw new Error(`${peer.name}: the create request answered ${status}`)
    const follower =
      peer.follow === undefined
        ? undefined
        : openEventStream({
            ...peer.follow(peer.idOf(headers)),
            onEvent: recordInto(readings.follower),
            timeoutMs,
          })
    if ((await follower?.head)?.status > 200) throw new Error(`${peer.name}: the follower was refused`)
    await Promise.all([creator.ended, follower?.ended, plan.finished])
    return { plan, readings }
  }
  const results = await Promise.all(Array.from({ length: answers }, (_, j) => one(j)))
  const byRole = {}
  for (const role of roles) {
    const latencies = []
    let merged = 0
    let lost = 0
    let duplicates = 0
    let unfinished = 0
    for (const { plan, readings } of results) {
      const reading = readings[role]
      merged += reading.merged
      duplicates += reading.duplicates
      if (!reading.done || reading.errors > 0) unfinished++
      for (let i = 0; i < tokens; i++) {
        const at = reading.receivedAt.get(i)
        if (at === undefined) lost++
        else if (i >= warmTokens) latencies.push(at - plan.sentAt[i])
      }
    }
    byRole[role] = {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      counted: latencies.length,
      mergedShare: merged / (answers * tokens),
      lost,
      duplicates,
      unfinished,
    }
  }
  return byRole
}
