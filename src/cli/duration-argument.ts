import { InvalidArgumentError, Option } from "commander"
import { parseDuration, shownDuration } from "./config/values.js"

/** The longest duration a flag may ask for: a day, within what a timer can wait (2^31 - 1 ms; past it Node fires at once). */
export const MAX_TIMER_MS = 86_400_000

/**
 * A commander argument parser for a duration with a unit ("10s", "1500ms", "1h") between `minMs`
 * and `maxMs`. A bare number other than 0 is refused, as `herald serve` refuses it: `--duration 10`
 * meant ten seconds far more often than ten milliseconds.
 */
export function durationArgument(minMs: number, maxMs: number): (value: string) => number {
  return (value) => {
    const text = value.trim()
    if (BARE_NUMBER.test(text) && Number(text) !== 0) {
      throw new InvalidArgumentError(`a duration needs a unit: give ${text}s or ${text}ms`)
    }
    const ms = parseDuration(value)
    if (ms === undefined) throw new InvalidArgumentError('expected a duration such as "10s" or "1500ms"')
    if (ms < minMs) throw new InvalidArgumentError(`under the ${shownDuration(minMs)} minimum`)
    if (ms > maxMs) throw new InvalidArgumentError(`at most ${shownDuration(maxMs)}`)
    return ms
  }
}

/**
 * An option taking a duration (see {@link durationArgument}), whose value is in ms, and whose
 * default, if any, `--help` shows with its unit: `(default: 20s)`, not `(default: 20000)`, which
 * the option itself would refuse.
 */
export function durationOption(
  flags: string,
  description: string,
  bounds: { readonly minMs: number; readonly maxMs: number; readonly defaultMs?: number },
): Option {
  const option = new Option(flags, description).argParser(durationArgument(bounds.minMs, bounds.maxMs))
  return bounds.defaultMs === undefined
    ? option
    : option.default(bounds.defaultMs, shownDuration(bounds.defaultMs))
}

const BARE_NUMBER = /^\d+(\.\d+)?$/
