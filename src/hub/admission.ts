import { HttpError } from "./http-error.js"

/** Bounds on open subscriber connections, in all and per client address. */
export interface Admission {
  /** Takes a slot for `address`, or throws a 429 {@link HttpError} saying which limit was hit. */
  admit(address: string): void
  /** Gives a slot back. */
  release(address: string): void
  readonly open: number
}

/** Creates the connection limiter of a hub. */
export function createAdmission(maxConnections: number, maxPerAddress: number): Admission {
  const perAddress = new Map<string, number>()
  let open = 0
  const retryAfter = { "retry-after": "5" }
  return {
    admit(address) {
      if (open >= maxConnections) {
        throw new HttpError(
          429,
          `The hub holds its maximum of ${maxConnections} subscriber connections; retry later.`,
          retryAfter,
        )
      }
      const count = perAddress.get(address) ?? 0
      if (count >= maxPerAddress) {
        throw new HttpError(
          429,
          `Too many open subscriptions from ${address} (at most ${maxPerAddress}). Close unused EventSources, or share one connection with several match parameters.`,
          retryAfter,
        )
      }
      perAddress.set(address, count + 1)
      open++
    },
    release(address) {
      const count = perAddress.get(address)
      if (count === undefined) return
      if (count <= 1) perAddress.delete(address)
      else perAddress.set(address, count - 1)
      open--
    },
    get open() {
      return open
    },
  }
}
