import type { TopicMatcher } from "./matchers/matcher.js"

/** The two actions draft-08 defines. */
export type Action = "publish" | "subscribe"

/** What a presented (and validated) access token allows — or what an anonymous client may do. */
export interface Grants {
  /** `true` when no token was presented. Anonymous clients receive public updates only. */
  readonly anonymous: boolean
  /** The token's `iss` and `sub`, when present. */
  readonly issuer: string | undefined
  readonly subject: string | undefined
  /** The token's `exp` in ms since the epoch; `undefined` for anonymous clients and legacy tokens without `exp`. */
  readonly expiresAt: number | undefined
  /** Whether the token grants `action` on `topic` (a `*` matcher grants every topic). */
  can(action: Action, topic: string): boolean
  /**
   * The `payload` of the first `subscribe` detail whose topics match the subscription's own
   * matcher string (draft-08 "Payloads"), or `undefined`.
   */
  payloadFor(matcher: string): unknown
}

/** One validated grant: a Mercure authorization detail, or one half of a legacy `mercure` claim. */
export interface GrantDetail {
  /** The recognized actions it grants (unknown ones were dropped while parsing). */
  readonly actions: ReadonlySet<Action>
  /** The topics they apply to. */
  readonly topics: readonly TopicMatcher[]
  /** The detail's `payload`, if any. */
  readonly payload?: unknown
}

/** What a client without a token may do: nothing beyond receiving public updates. */
export const ANONYMOUS: Grants = Object.freeze({
  anonymous: true,
  issuer: undefined,
  subject: undefined,
  expiresAt: undefined,
  can: () => false,
  payloadFor: () => undefined,
})

/**
 * What a local client may do without a token in dev mode: everything — publish and subscribe on
 * every topic, private updates and the subscription API included. Not anonymous: it is the
 * developer's own machine, not an unknown caller.
 */
export const LOCAL_DEV_CLIENT: Grants = Object.freeze({
  anonymous: false,
  issuer: undefined,
  subject: undefined,
  expiresAt: undefined,
  can: () => true,
  payloadFor: () => undefined,
})

/** Everything {@link createGrants} needs besides the details. */
export interface GrantsInit {
  readonly issuer: string | undefined
  readonly subject: string | undefined
  readonly expiresAt: number | undefined
  /** The only action these grants may allow: the role whose keys validated the token. */
  readonly role: Action
  /**
   * The payload of every subscription when no detail's payload applies: the legacy `mercure.payload`,
   * which pre-standardization hubs attach to all of a token's subscriptions.
   */
  readonly defaultPayload?: unknown
}

/**
 * The grants of a validated token. "A token grants an action on a topic when it carries a
 * Mercure authorization detail whose `actions` includes that action and one of whose `topics`
 * matches the topic." Only `init.role` is ever granted: a token checked with the subscriber keys
 * proves nothing about publishing, whatever its details say.
 */
export function createGrants(details: readonly GrantDetail[], init: GrantsInit): Grants {
  const { role } = init
  const forRole = details.filter((detail) => detail.actions.has(role))
  const subscribe = role === "subscribe" ? forRole : []
  return Object.freeze({
    anonymous: false,
    issuer: init.issuer,
    subject: init.subject,
    expiresAt: init.expiresAt,
    can: (action: Action, topic: string) =>
      action === role && forRole.some((detail) => detail.topics.some((matcher) => matcher.matches(topic))),
    payloadFor(matcher: string): unknown {
      // "The `payload` of the first `subscribe` authorization detail whose `topics` matches the
      // subscription's own matcher": the first match decides, even when it carries no payload.
      // "Matching here treats the subscription's own matcher string as if it were a topic."
      const first = subscribe.find((detail) => detail.topics.some((topic) => topic.matches(matcher)))
      return first?.payload ?? init.defaultPayload
    },
  })
}
