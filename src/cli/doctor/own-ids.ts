import type { ArrivedEvent } from "./observation.js"

/**
 * The indexes of the events that set an id of their own. The parser keeps the last id across
 * events, so an event whose id is empty or equal to the previous one's set none (or repeated it).
 */
export function eventsWithOwnId(events: readonly ArrivedEvent[]): number[] {
  const indexes: number[] = []
  let previous = ""
  events.forEach(({ event }, index) => {
    if (event.lastEventId !== "" && event.lastEventId !== previous) indexes.push(index)
    previous = event.lastEventId
  })
  return indexes
}
