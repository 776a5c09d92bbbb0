/** Open long-lived responses in all, by default. */
export const DEFAULT_MAX_CONNECTIONS = 50_000
/** Open long-lived responses per client address, by default. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256
/** What a refusal asks a client to wait, in seconds. */
export const ADMISSION_RETRY_AFTER_SECONDS = 5

/** A connection refused by an {@link Admission}: which bound, and what to tell the client. */
export interface AdmissionRefusal {
  readonly limit: "maxConnections" | "maxConnectionsPerAddress"
  readonly message: string
}

/**
 * Bounds on open long-lived responses (subscriptions, streams), in all and per client address.
 * Apps that share one (`herald serve`'s hub and AI endpoints) share the bounds: a client cannot
 * hold the maximum in each.
 */
export interface Admission {
  /** Takes a slot for `address`; or, at a bound, takes none and says which. */
  admit(address: string): AdmissionRefusal | undefined
  /** Gives a slot back. */
  release(address: string): void
  readonly open: number
}

/** Creates a connection limiter. */
export function createAdmission(
  maxConnections = DEFAULT_MAX_CONNECTIONS,
  maxPerAddress = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
): Admission {
  const perAddress = new Map<string, number>()
  let open = 0
  return {
    admit(address) {
      if (open >= maxConnections) {
        return {
          limit: "maxConnections",
          message: `The server holds its maximum of ${maxConnections} open connections; retry later.`,
        }
      }
      const count = perAddress.get(address) ?? 0
      if (count >= maxPerAddress) {
        return {
          limit: "maxConnectionsPerAddress",
          message: `Too many open connections from ${address} (at most ${maxPerAddress}).`,
        }
      }
      perAddress.set(address, count + 1)
      open++
      return undefined
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
