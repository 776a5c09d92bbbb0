import type { Evidence } from "../evidence.js"
import { BUFFERING_FIXES } from "../fixes.js"
import type { ArrivedEvent } from "../observation.js"
import { type CheckResult, result } from "../verdict.js"

/** Events read within this many ms of the previous one arrived together (one read, one flush). */
const TOGETHER_MS = 10
/** Fewer events than this say nothing about bursts. */
const MIN_EVENTS = 6
/** A group this large, after the first, is a burst. */
const BURST_SIZE = 3

/** The events split into groups that arrived together. */
export function arrivalGroups(events: readonly ArrivedEvent[]): ArrivedEvent[][] {
  const groups: ArrivedEvent[][] = []
  let previous: ArrivedEvent | undefined
  for (const arrived of events) {
    const last = groups.at(-1)
    if (last !== undefined && previous !== undefined && arrived.atMs - previous.atMs <= TOGETHER_MS)
      last.push(arrived)
    else groups.push([arrived])
    previous = arrived
  }
  return groups
}

/**
 * Whether events arrive as they are sent, or held and released in bursts (a buffering proxy, a
 * compressor). With probes the send times are known: two probes sent apart must not arrive
 * together. Otherwise: after the first group (a backlog may legitimately come at once), at
 * least two groups of three or more holding half the events is a burst pattern.
 */
export function checkBursts({ observation, probe }: Evidence): CheckResult {
  if (observation.status === undefined) return result("bursts", "skip", "no response")
  if (probe !== undefined && probe.sent.length > 0) {
    const probes = new Set(probe.sent.map((sent) => sent.data))
    const arrived = observation.events.filter((arrived) => probes.has(arrived.event.data))
    if (arrived.length < 2)
      return result("bursts", "skip", `${arrived.length} probe(s) arrived: nothing to compare`)
    const together = arrivalGroups(arrived).filter((group) => group.length > 1)
    if (together.length === 0)
      return result("bursts", "pass", `each of ${arrived.length} probes arrived on its own`)
    const largest = Math.max(...together.map((group) => group.length))
    return result(
      "bursts",
      "fail",
      `probes published ${spacing(probe.sent.map((sent) => sent.sentMs))} apart arrived together (up to ${largest} at once): something on the path holds events`,
      BUFFERING_FIXES,
    )
  }
  const { events } = observation
  if (events.length < MIN_EVENTS)
    return result(
      "bursts",
      "skip",
      `${events.length} event(s) in the watch: too few to judge (${MIN_EVENTS} needed)`,
    )
  const later = arrivalGroups(events).slice(1)
  const bursts = later.filter((group) => group.length >= BURST_SIZE)
  const inBursts = bursts.reduce((sum, group) => sum + group.length, 0)
  const laterEvents = later.reduce((sum, group) => sum + group.length, 0)
  if (bursts.length >= 2 && inBursts * 2 >= laterEvents)
    return result(
      "bursts",
      "fail",
      `${inBursts} events came in ${bursts.length} bursts of ~${Math.round(inBursts / bursts.length)}, ${spacing(bursts.map((group) => group[0]?.atMs ?? 0))} apart: a buffering proxy or a compressor holds them`,
      BUFFERING_FIXES,
    )
  return result("bursts", "pass", `${events.length} events arrived in ${later.length + 1} separate reads`)
}

/** The mean interval between successive times, for messages. */
function spacing(times: readonly number[]): string {
  if (times.length < 2) return "?"
  const first = times[0] ?? 0
  const last = times.at(-1) ?? 0
  return `~${Math.round((last - first) / (times.length - 1))} ms`
}
