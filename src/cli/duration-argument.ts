import { InvalidArgumentError } from "commander"
import { parseDuration } from "./config/values.js"

/**
 * A commander argument parser for a duration between `minMs` and `maxMs` ("10s", "1500ms", "1h";
 * a bare number is milliseconds). A bare number under the minimum is almost always a forgotten
 * unit (`--duration 10` meaning ten seconds), so the message says which unit to add.
 */
export function durationArgument(minMs: number, maxMs: number): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value)
    if (ms === undefined) throw new InvalidArgumentError('expected a duration such as "10s" or "1500ms"')
    if (ms < minMs) {
      throw new InvalidArgumentError(
        /^\s*\d+(\.\d+)?\s*$/.test(value)
          ? `${ms} ms is under the ${formatMs(minMs)} minimum (a bare number is milliseconds): add a unit, e.g. "${value.trim()}s"`
          : `under the ${formatMs(minMs)} minimum`,
      )
    }
    if (ms > maxMs) throw new InvalidArgumentError(`at most ${formatMs(maxMs)}`)
    return ms
  }
}

function formatMs(ms: number): string {
  if (ms === 0) return "0"
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}
