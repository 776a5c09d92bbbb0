// A load client whose subscribers come back: it holds N SSE subscriptions to one hub node, and
// when a subscription's connection ends (its node was killed) it subscribes again at once on a
// survivor, with `Last-Event-ID` set to the last id it received — what an EventSource does,
// without the retry delay. Every subscriber checks what it receives: the events of one
// publisher, whose data is `<publish time µs> <sequence> …`, must arrive exactly once and in
// order (sequence 1, 2, 3, … with no gap and no repeat). Driven over IPC (see harness.js).
import { request } from "node:http"

const RECONNECT_TRIES = 100
const RECONNECT_PAUSE_MS = 50
const MAX_MISSING = 1000
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)

/** Where a subscriber goes when its connection ends: the survivors' ports, taken in turn. */
let survivors = []
let nextSurvivor = 0
let path = "/"
const subscribers = []

/** One subscriber's state. Times are µs of process.hrtime (the clock the publisher stamps with). */
function newSubscriber() {
  return {
    lastId: undefined,
    lastSeq: 0,
    received: 0,
    duplicates: 0,
    /** Sequences skipped (the first MAX_MISSING of them). */
    missing: [],
    /** Events that carried no sequence (e.g. the hub saying it no longer holds the cursor). */
    unexpected: 0,
    /** Events received on a survivor that were published before it asked: its replay. */
    replayed: 0,
    connections: 0,
    failedAttempts: 0,
    /** When its first connection ended, when it asked a survivor, when the survivor answered. */
    closedAt: undefined,
    resubscribeSentAt: undefined,
    resubscribedAt: undefined,
    /** When it received the newest event published before it asked the survivor. */
    caughtUpAt: undefined,
  }
}

/** Reads an event stream: `onEvent(id, data)` per complete event (a cut-off last one is dropped). */
function eventReader(onEvent) {
  let carry = ""
  let id
  let data
  return (chunk) => {
    const lines = (carry + chunk).split("\n")
    carry = lines.pop()
    for (const line of lines) {
      if (line === "") {
        if (data !== undefined) onEvent(id, data)
        data = undefined
      } else if (line.startsWith("id: ")) id = line.slice(4)
      else if (line.startsWith("data: "))
        data = data === undefined ? line.slice(6) : `${data}\n${line.slice(6)}`
    }
  }
}

function onEvent(subscriber, id, data) {
  const now = nowMicros()
  const [publishedAt, sequence] = data.split(" ", 2).map(Number)
  if (!Number.isSafeInteger(sequence)) {
    subscriber.unexpected++
    return
  }
  subscriber.received++
  if (sequence <= subscriber.lastSeq) {
    subscriber.duplicates++
    return
  }
  for (let skipped = subscriber.lastSeq + 1; skipped < sequence; skipped++) {
    if (subscriber.missing.length < MAX_MISSING) subscriber.missing.push(skipped)
  }
  subscriber.lastSeq = sequence
  subscriber.lastId = id
  if (subscriber.resubscribeSentAt !== undefined && publishedAt <= subscriber.resubscribeSentAt) {
    subscriber.replayed++
    subscriber.caughtUpAt = now
  }
}

/** Opens one subscription to `port`; resolves with whether the hub answered 200. */
function subscribe(subscriber, port) {
  return new Promise((resolve) => {
    const headers = { accept: "text/event-stream" }
    if (subscriber.lastId !== undefined) headers["last-event-id"] = subscriber.lastId
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false })
    req.on("error", () => resolve(false))
    req.on("response", (response) => {
      if (response.statusCode !== 200) {
        response.resume()
        resolve(false)
        return
      }
      subscriber.connections++
      response.setEncoding("utf8")
      response.on(
        "data",
        eventReader((id, data) => onEvent(subscriber, id, data)),
      )
      response.on("error", () => {})
      response.on("close", () => comeBack(subscriber))
      resolve(true)
    })
    req.end()
  })
}

/** The subscription ended: subscribe again on a survivor, from the last id received. */
async function comeBack(subscriber) {
  if (survivors.length === 0 || subscriber.closedAt !== undefined) return
  subscriber.closedAt = nowMicros()
  const port = survivors[nextSurvivor++ % survivors.length]
  for (let attempt = 0; attempt < RECONNECT_TRIES; attempt++) {
    subscriber.resubscribeSentAt = nowMicros()
    if (await subscribe(subscriber, port)) {
      subscriber.resubscribedAt = nowMicros()
      // Nothing was published while it was away: caught up as soon as it is back.
      subscriber.caughtUpAt ??= subscriber.resubscribedAt
      return
    }
    subscriber.failedAttempts++
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_PAUSE_MS))
  }
}

const commands = {
  /** Opens `n` subscriptions to `port` on `subscribePath`, 200 handshakes at a time. */
  async connect({ port, n, subscribePath }) {
    path = subscribePath
    let opened = 0
    let next = 0
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        while (next < n) {
          next++
          const subscriber = newSubscriber()
          subscribers.push(subscriber)
          if (await subscribe(subscriber, port)) opened++
        }
      }),
    )
    return { opened }
  },
  /** From now on, a subscription that ends comes back on one of these ports. */
  arm({ ports }) {
    survivors = ports
    return {}
  },
  /**
   * Resolves once every subscriber received the event `lastSequence` (or the timeout passed),
   * with each subscriber's tallies and times.
   */
  wait: ({ lastSequence, timeoutMs }) =>
    new Promise((resolve) => {
      const started = Date.now()
      const check = () => {
        const done = subscribers.every((subscriber) => subscriber.lastSeq >= lastSequence)
        if (done || Date.now() - started > timeoutMs) resolve({ subscribers })
        else setTimeout(check, 10)
      }
      check()
    }),
}

// Orphaned (the bench died): go too.
process.on("disconnect", () => process.exit(0))
process.on("message", async (message) => {
  if (message.cmd === "exit") process.exit(0)
  const reply = await commands[message.cmd](message)
  process.send({ type: message.cmd, ...reply })
})
process.send({ type: "ready" })
