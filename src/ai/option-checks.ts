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
