import { ADMISSION_RETRY_AFTER_SECONDS, type Admission } from "../server/admission.js"
import { clientNetwork } from "../server/client-network.js"
import { HttpError } from "./http-error.js"

/** The hub's side of an {@link Admission} that other apps may share (`herald serve`'s AI endpoints). */
export interface HubAdmission {
  /** Takes a connection slot for `address`, or throws a 429 {@link HttpError} saying which limit was hit. */
  admit(address: string): SubscriberSlot
  /** The hub's own subscriber connections: its figures leave out the other apps' responses. */
  readonly open: number
}

/** What one subscriber connection holds of the hub's bounds, from its admission to its end. */
export interface SubscriberSlot {
  /**
   * Counts the connection's pattern matchers (URL patterns, URI templates) towards its client
   * address's bound, or takes none and throws a 429 {@link HttpError} naming the bound. Once per slot.
   */
  holdPatterns(count: number): void
  /** Gives back the connection slot and the patterns held; after the first call, does nothing. */
  release(): void
}

/** What {@link hubAdmission} bounds beside `shared`'s connections. */
export interface PatternBounds {
  /**
   * Pattern matchers of one client address across its connections: every update is tested
   * against each, and one costs microseconds where an exact matcher costs a comparison.
   */
  readonly maxPatternMatchersPerAddress: number
  /** How an IPv6 address is counted in its network, as `shared` counts its connections. */
  readonly ipv6PrefixLength: number
}

/** Admits the hub's subscribers through `shared`, and bounds their pattern matchers per address. */
export function hubAdmission(shared: Admission, bounds: PatternBounds): HubAdmission {
  let open = 0
  const patterns = new Map<string, number>()
  const retryAfter = { "retry-after": String(ADMISSION_RETRY_AFTER_SECONDS) }
  return {
    admit(address) {
      const refused = shared.admit(address)
      if (refused !== undefined) {
        const hint =
          refused.limit === "maxConnectionsPerAddress"
            ? " Close unused EventSources, or share one connection with several match parameters."
            : ""
        throw new HttpError(429, refused.message + hint, retryAfter)
      }
      open++
      const network = clientNetwork(address, bounds.ipv6PrefixLength)
      let held = 0
      let released = false
      return {
        holdPatterns(count) {
          if (count === 0) return
          const total = (patterns.get(network) ?? 0) + count
          if (total > bounds.maxPatternMatchersPerAddress) {
            throw new HttpError(
              429,
              `Too many URL pattern and URI template matchers from ${network}: at most ${bounds.maxPatternMatchersPerAddress} per client address across its subscriptions (--max-pattern-matchers-per-address), and these would make ${total}. Close unused subscriptions, or use exact match= topics, which do not count.`,
              retryAfter,
            )
          }
          patterns.set(network, total)
          held = count
        },
        release() {
          if (released) return
          released = true
          shared.release(address)
          open--
          if (held === 0) return
          const left = (patterns.get(network) ?? held) - held
          if (left <= 0) patterns.delete(network)
          else patterns.set(network, left)
        },
      }
    },
    get open() {
      return open
    },
  }
}
