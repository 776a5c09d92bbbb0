import type { TopicMatcher } from "./matchers/matcher.js"

/**
 * The apps a grant can name, each with its own resource namespace: `hub` topics, `streams` stream
 * paths (`/v1/stream/{path}`), `ai` generation paths (`/v1/generations/{id}`), `admin` the dashboard.
 */
export const APPS = ["hub", "streams", "ai", "admin"] as const

/** One of {@link APPS}. */
export type App = (typeof APPS)[number]

/** Whether `name` is one of {@link APPS}. */
export function isApp(name: string): name is App {
  return (APPS as readonly string[]).includes(name)
}

/**
 * What a grant allows on a resource. Open-ended: each app defines its own (hub: `publish`,
 * `subscribe`; streams: `create`, `append`, `read`, `delete`; ai: `generate`, `read`, `cancel`),
 * and an action no app asks about grants nothing.
 */
export type Action = string

/** Allows every action of an app on the resources it is granted on, whoever owns them. */
export const ADMIN_ACTION = "admin"

/** The two actions draft-08 defines: a Mercure detail or legacy claim grants nothing else. */
export const MERCURE_ACTIONS: ReadonlySet<Action> = new Set(["publish", "subscribe"])

/** The hub role whose keys validated a token: publisher keys or subscriber keys. */
export type Role = "publish" | "subscribe"

/** What a check knows about the resource beyond its name. */
export interface ResourceFacts {
  /** The `sub` of the token that created the resource, when it is recorded. */
  readonly owner?: string | undefined
}

/** What a presented (and validated) access token allows — or what an anonymous client may do. */
export interface Grants {
  /** `true` when no token was presented. Anonymous clients receive public updates only. */
  readonly anonymous: boolean
  /** The token's `iss` and `sub`, when present. */
  readonly issuer: string | undefined
  readonly subject: string | undefined
  /** The token's `exp` in ms since the epoch; `undefined` for anonymous clients and legacy tokens without `exp`. */
  readonly expiresAt: number | undefined
  /**
   * Whether the token allows `action` on `resource` of `app` (docs/authorization.md, "What a
   * token grants"): an explicit grant of the action or of `admin`, the resource's owner acting on
   * it with an action it holds somewhere in the app, or a superuser grant.
   */
  can(app: App, action: Action, resource: string, facts?: ResourceFacts): boolean
  /**
   * The `payload` of the first `subscribe` detail whose topics match the subscription's own
   * matcher string (draft-08 "Payloads"), or `undefined`.
   */
  payloadFor(matcher: string): unknown
}

/** One validated grant: a Mercure authorization detail, one half of a legacy `mercure` claim, or a Herald grant. */
export interface GrantDetail {
  /** The app whose resources it names. */
  readonly app: App
  /** `mercure` for a Mercure detail or the legacy claim (they carry the subscription payloads), `herald` for a Herald grant. */
  readonly origin: "mercure" | "herald"
  /** The actions it grants (a Mercure detail's unknown actions were dropped while parsing). */
  readonly actions: ReadonlySet<Action>
  /** The resources they apply to (topics, for the hub). */
  readonly resources: readonly TopicMatcher[]
  /** The Mercure detail's `payload`, if any. */
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
 * What a local client may do without a token in dev mode: every action on every resource of every
 * app, private updates, the subscription API and the dashboard included. Not anonymous: it is the
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
  /**
   * The hub role whose keys validated the token, when a hub's verifier did: then the only hub
   * action granted is that role's, whatever the details say (admin and superuser grants included).
   */
  readonly role?: Role | undefined
  /**
   * The payload of every subscription when no detail's payload applies: the legacy `mercure.payload`,
   * which pre-standardization hubs attach to all of a token's subscriptions.
   */
  readonly defaultPayload?: unknown
}

/**
 * The grants of a validated token. "A token grants an action on a topic when it carries a
 * Mercure authorization detail whose `actions` includes that action and one of whose `topics`
 * matches the topic"; a Herald grant does the same for its app's resources. A token checked with
 * the subscriber keys proves nothing about publishing, whatever its details say.
 */
export function createGrants(details: readonly GrantDetail[], init: GrantsInit): Grants {
  const { role, subject } = init
  const matches = (detail: GrantDetail, resource: string) =>
    detail.resources.some((matcher) => matcher.matches(resource))
  // Grouped once per token: `can` runs for every private update a subscriber is sent.
  const byApp = new Map<App, GrantDetail[]>()
  for (const detail of details) byApp.set(detail.app, [...(byApp.get(detail.app) ?? []), detail])
  // `admin` on every resource of the admin app: the operator's token, allowed everything.
  const superuser = (byApp.get("admin") ?? []).some(
    (detail) =>
      detail.actions.has(ADMIN_ACTION) && detail.resources.some((matcher) => matcher.type === "wildcard"),
  )
  const subscribe =
    role === "publish"
      ? []
      : (byApp.get("hub") ?? []).filter(
          (detail) => detail.origin === "mercure" && detail.actions.has("subscribe"),
        )
  return Object.freeze({
    anonymous: false,
    issuer: init.issuer,
    subject,
    expiresAt: init.expiresAt,
    can(app: App, action: Action, resource: string, facts?: ResourceFacts): boolean {
      if (app === "hub" && role !== undefined && action !== role) return false
      if (superuser) return true
      let heldInApp = false
      for (const detail of byApp.get(app) ?? []) {
        if (!detail.actions.has(action) && !detail.actions.has(ADMIN_ACTION)) continue
        if (matches(detail, resource)) return true
        heldInApp = true
      }
      // The creator may act on what it created with any action it holds in the app at all.
      return heldInApp && subject !== undefined && facts?.owner === subject
    },
    payloadFor(matcher: string): unknown {
      // "The `payload` of the first `subscribe` authorization detail whose `topics` matches the
      // subscription's own matcher": the first match decides, even when it carries no payload.
      // "Matching here treats the subscription's own matcher string as if it were a topic."
      const first = subscribe.find((detail) => matches(detail, matcher))
      return first?.payload ?? init.defaultPayload
    },
  })
}
