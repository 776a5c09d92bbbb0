// Part 2 of the AI bench: resume correctness. Each trial starts an answer of `tokens` tokens
// (chosen by the seeded PRNG) from the driver's fast upstream, reads it until a random token,
// cuts the connection, resumes, and compares the text shown — what came before the cut and what
// the resume sent — with the whole answer, token by token (each token carries its index).
//   mid-answer: the resume is asked at once, while the upstream still streams;
//   after the end: the resume is asked once the upstream wrote [DONE] and `settleMs` passed.
// Herald resumes after the last event id seen (Last-Event-ID); resumable-stream after the
// characters received (resumeAt), or, with `explicit: false`, without them (the AI SDK's stock
// resume). What was cut in the middle of an event is resumed by the peer's own rule: Herald's
// client drops the partial event (its id was not seen); resumable-stream's client keeps the
// characters, which resumeAt counts, and parses them with what follows.
import { createParser } from "eventsource-parser"
import { openEventStream, readChunk } from "./event-stream.js"
import { between, seededRandom } from "./prng.js"
import { tokenIndices } from "./upstream.js"

const TRIAL_TIMEOUT_MS = 30_000

/** The token indices of the OpenAI chunk events in `raw` SSE text, and whether `[DONE]` was among them. */
function parseAnswer(raw) {
  const indices = []
  let done = false
  const parser = createParser({
    onEvent: (event) => {
      const chunk = readChunk(event.data)
      if (chunk.done) done = true
      if (chunk.text !== undefined) indices.push(...tokenIndices(chunk.text))
    },
  })
  parser.feed(raw)
  return { indices, done }
}

/** `exact`, `duplicated` or `lost`: `indices` against 0 … tokens − 1, in order. */
function verdict(indices, tokens) {
  if (new Set(indices).size < indices.length) return "duplicated"
  const exact = indices.length === tokens && indices.every((index, i) => index === i)
  return exact ? "exact" : "lost"
}

/**
 * `trials` trials of one case on `peer`, `parallel` at a time. Returns the counts by verdict
 * (exact, lost, duplicated, refused: the resume was answered 204 or 404, so the rest was lost),
 * how many resumes were asked while the upstream still streamed, and the resumed events that
 * ended without the terminal event.
 */
export async function checkResumes(
  peer,
  upstream,
  { trials, parallel, seed, afterEnd, explicit = true, rate, minTokens, maxTokens, settleMs },
) {
  const random = seededRandom(seed)
  const plans = Array.from({ length: trials }, () => {
    const tokens = between(random, minTokens, maxTokens)
    // Mid-answer: cut well before the end, so that the resume finds it running.
    return { tokens, cut: between(random, 1, afterEnd ? tokens - 1 : tokens - Math.ceil(rate / 10)) }
  })
  const counts = { exact: 0, lost: 0, duplicated: 0, refused: 0, whileRunning: 0, unterminated: 0 }
  const trial = async ({ tokens, cut }, t) => {
    const key = `resume ${peer.name} ${process.pid} ${seed} ${afterEnd} ${explicit} ${t}`
    const plan = upstream.plan(key, { tokens, rate })
    let seen = 0
    let lastEventId
    let running = true
    plan.finished.then(() => {
      running = false
    })
    const creator = openEventStream({
      ...peer.create(key),
      timeoutMs: TRIAL_TIMEOUT_MS,
      onEvent: (event) => {
        if (event.id !== undefined) lastEventId = event.id
        const chunk = readChunk(event.data)
        if (chunk.text !== undefined) seen += tokenIndices(chunk.text).length
        if (seen >= cut) creator.abort()
      },
    })
    const { headers } = await creator.head
    const id = peer.idOf(headers)
    await creator.ended
    const before = creator.text()
    if (afterEnd) {
      await plan.finished
      await new Promise((resolve) => setTimeout(resolve, settleMs))
    }
    if (running) counts.whileRunning++
    const resumed = openEventStream({
      ...peer.resume(id, { lastEventId, chars: explicit ? before.length : undefined }),
      timeoutMs: TRIAL_TIMEOUT_MS,
      onEvent: () => {},
    })
    const { status } = await resumed.head
    await resumed.ended
    await plan.finished
    if (status !== 200) {
      counts.refused++
      return
    }
    // Herald: the events before the cut, then the resumed ones; resumable-stream: one text.
    const parts = peer.name === "resumable" ? [before + resumed.text()] : [before, resumed.text()]
    const answers = parts.map(parseAnswer)
    if (!answers.at(-1).done) counts.unterminated++
    counts[
      verdict(
        answers.flatMap((answer) => answer.indices),
        tokens,
      )
    ]++
  }
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let t = next++; t < trials; t = next++) await trial(plans[t], t)
    }),
  )
  return counts
}
