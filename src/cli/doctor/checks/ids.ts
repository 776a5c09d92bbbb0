import type { Evidence } from "../evidence.js"
import { ID_FIX } from "../fixes.js"
import { eventsWithOwnId } from "../own-ids.js"
import { type CheckResult, result } from "../verdict.js"

/** `id:` on every event, never repeated, increasing when the ids are numbers. */
export function checkIds({ observation }: Evidence): CheckResult {
  const { events } = observation
  if (events.length === 0) return result("ids", "skip", "no event in the watch")
  const ids = eventsWithOwnId(events).map((index) => events[index]?.event.lastEventId ?? "")
  const without = events.length - ids.length
  if (ids.length === 0)
    return result(
      "ids",
      "warn",
      `none of ${events.length} events has an id: a client that reconnects cannot resume, and loses what was sent meanwhile`,
      [ID_FIX],
    )
  const repeated = ids.find((id, index) => ids.indexOf(id) !== index)
  if (repeated !== undefined)
    return result(
      "ids",
      "fail",
      `id ${JSON.stringify(repeated)} was sent twice: resuming after it is ambiguous`,
      [ID_FIX],
    )
  if (ids.every((id) => /^\d+$/.test(id))) {
    const drop = ids.findIndex((id, index) => index > 0 && BigInt(id) <= BigInt(ids[index - 1] ?? "0"))
    if (drop > 0)
      return result(
        "ids",
        "fail",
        `ids went from ${ids[drop - 1]} down to ${ids[drop]}: a server resuming "after" one of them replays or skips events`,
        [ID_FIX],
      )
  }
  if (without > 0)
    return result("ids", "warn", `${without} of ${events.length} events carry no id of their own`, [ID_FIX])
  const order = ids.every((id) => /^\d+$/.test(id)) ? "numeric and increasing" : "opaque, all distinct"
  return result("ids", "pass", `all ${events.length} events have an id (${order})`)
}
