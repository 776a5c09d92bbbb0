import type { ResumeRun } from "./evidence.js"
import type { Observation } from "./observation.js"
import { observe, type WatchSettings } from "./observe.js"
import { eventsWithOwnId } from "./own-ids.js"

/**
 * Reconnects the way EventSource does after a drop — same URL, `Last-Event-ID` set to an event
 * from the middle of the first watch — and records the replay, up to as many events as the
 * first watch saw after that one, or to the first that differs from them. Undefined when the watch gave fewer than two events with ids.
 */
export async function resumeAfter(
  first: Observation,
  settings: WatchSettings,
): Promise<ResumeRun | undefined> {
  const withIds = eventsWithOwnId(first.events)
  if (withIds.length < 2) return undefined
  const cut = withIds[Math.floor((withIds.length - 1) / 2)] ?? 0
  const after = first.events[cut]?.event.lastEventId ?? ""
  const expected = first.events
    .slice(cut + 1)
    .map(({ event }) => ({ id: event.lastEventId, data: event.data }))
  const alreadySeen = withIds
    .filter((index) => index <= cut)
    .map((index) => first.events[index]?.event.lastEventId ?? "")
  const observation = await observe(
    first.url,
    { ...settings, headers: { ...settings.headers, "last-event-id": after } },
    // Enough to judge: all that was due, or the first event that differs from it.
    {
      stopWhen: (events) => {
        const last = events.length - 1
        const arrived = events[last]?.event
        return (
          last + 1 >= expected.length ||
          arrived?.lastEventId !== expected[last]?.id ||
          arrived?.data !== expected[last]?.data
        )
      },
    },
  )
  return { after, expected, alreadySeen, observation }
}
