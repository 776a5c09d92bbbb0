/** Open long-lived responses in all, by default. */
export const DEFAULT_MAX_CONNECTIONS = 50_000
/** Open long-lived responses per client address (an IPv6 client: per /64), by default. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256

import { clientNetwork, DEFAULT_IPV6_PREFIX_LENGTH } from "./client-network.js"

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
 * hold the maximum in each. An IPv6 address counts in its network (by default its /64), since
 * one client commonly holds a whole /64.
 */
export interface Admission {
  /** Takes a slot for `address`; or, at a bound, takes none and says which. */
  admit(address: string): AdmissionRefusal | undefined
  /** Gives a slot back. */
  release(address: string): void
  readonly open: number
}

/**
 * Creates a connection limiter.
 *
 * @param ipv6PrefixLength - how many leading bits of an IPv6 address name one client, 1 to 128
 *   (128: each address apart). Default 64.
 * @throws {RangeError} for an `ipv6PrefixLength` that is not an integer from 1 to 128.
 */
export function createAdmission(
  maxConnections = DEFAULT_MAX_CONNECTIONS,
  maxPerAddress = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  ipv6PrefixLength = DEFAULT_IPV6_PREFIX_LENGTH,
): Admission {
  if (!Number.isInteger(ipv6PrefixLength) || ipv6PrefixLength < 1 || ipv6PrefixLength > 128) {
    throw new RangeError(
      `ipv6PrefixLength must be an integer from 1 to 128; got ${String(ipv6PrefixLength)}.`,
    )
  }
  const perAddress = new Map<string, number>()
  let open = 0
  return {
    admit(clientAddress) {
      if (open >= maxConnections) {
        return {
          limit: "maxConnections",
          message: `The server holds its maximum of ${maxConnections} open connections; retry later.`,
        }
      }
      const address = clientNetwork(clientAddress, ipv6PrefixLength)
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
    release(clientAddress) {
      const address = clientNetwork(clientAddress, ipv6PrefixLength)
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
