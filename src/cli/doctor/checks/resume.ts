import type { Evidence } from "../evidence.js"
import { RESUME_FIX } from "../fixes.js"
import { seconds } from "../format.js"
import { type CheckResult, result } from "../verdict.js"

/** Resuming with `Last-Event-ID` must replay what followed, with no gap and no duplicate. */
export function checkResume({ resume, observation }: Evidence): CheckResult {
  if (resume === undefined)
    return result(
      "resume",
      "skip",
      `needs two events with ids in the watch to resume between (saw ${observation.events.length} event(s))`,
    )
  const replay = resume.observation
  const after = `resumed after ${JSON.stringify(resume.after)}`
  if (replay.status !== 200)
    return result("resume", "fail", `${after}: ${replay.connectError ?? `status ${replay.status}`}`, [
      RESUME_FIX,
    ])
  const received = replay.events.map(({ event }) => ({ id: event.lastEventId, data: event.data }))
  const [next] = resume.expected
  const [first] = received
  if (next === undefined) return result("resume", "skip", `${after}: the watch saw no event after it`)
  if (first === undefined)
    return result(
      "resume",
      "fail",
      `${after}: nothing came back in ${seconds(replay.watchedMs)}; ${JSON.stringify(next.id)} and ${resume.expected.length - 1} more were due`,
      [RESUME_FIX],
    )
  if (resume.alreadySeen.includes(first.id))
    return result(
      "resume",
      "fail",
      `${after}: the replay started with ${JSON.stringify(first.id)}, which the client already had (a duplicate)`,
      [RESUME_FIX],
    )
  const mismatch = resume.expected.findIndex(
    (expected, index) =>
      index < received.length &&
      (received[index]?.id !== expected.id || received[index]?.data !== expected.data),
  )
  if (mismatch === 0)
    return result(
      "resume",
      "fail",
      `${after}: the replay started with ${JSON.stringify(first.id)}, not ${JSON.stringify(next.id)}: the events in between are lost`,
      [RESUME_FIX],
    )
  if (mismatch > 0)
    return result(
      "resume",
      "fail",
      `${after}: event ${mismatch + 1} of the replay differs from the original (${JSON.stringify(received[mismatch]?.id)} instead of ${JSON.stringify(resume.expected[mismatch]?.id)})`,
      [RESUME_FIX],
    )
  if (received.length < resume.expected.length)
    return result(
      "resume",
      "fail",
      `${after}: replayed ${received.length} of the ${resume.expected.length} events that followed it`,
      [RESUME_FIX],
    )
  return result(
    "resume",
    "pass",
    `${after}: replayed the ${resume.expected.length} events that followed, no gap, no duplicate`,
  )
}
