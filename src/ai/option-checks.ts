import { assertTimerDelay } from "../timer-delay.js"

/** `value`, or a `RangeError` naming option `name` when it is not above 0. */
export function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`${name} must be above 0; got ${String(value)}.`)
  return value
}

/** `value`, or a `RangeError` naming option `name` when it is below 0 (or not a number). */
export function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new RangeError(`${name} must be 0 or more; got ${String(value)}.`)
  return value
}

/** `value` when absent or a finite number above 0, else a `RangeError` naming option `name`. */
export function optionalPositiveFinite(name: string, value: number | undefined): number | undefined {
  if (value === undefined || (value > 0 && Number.isFinite(value))) return value
  throw new RangeError(`${name} must be a finite number above 0; got ${String(value)}.`)
}

/** `value`, or a `RangeError` naming option `name` when it is not above 0 or longer than a timer can wait. */
export function positiveTimerDelay(name: string, value: number): number {
  assertTimerDelay(name, positive(name, value))
  return value
}
