import type { Grants } from "../auth/grants.js"
import type { RequestedSubscription } from "./subscription-request.js"
import type { UpdateLog } from "./update-log.js"

/** The subscription document of draft-08 "Subscription Events". */
export interface SubscriptionDocument {
  readonly id: string
  readonly type: "subscription"
  readonly match_type: string
  readonly match: string
  readonly subscriber: string
  readonly active: boolean
  readonly payload?: unknown
}

/** This node's active subscriptions: announced as subscription events as they come and go. */
export interface SubscriptionRegistry {
  /** Records a connection's subscriptions and (when the feature is on) publishes their events. */
  add(
    subscriber: string,
    requested: readonly RequestedSubscription[],
    grants: Grants,
  ): readonly SubscriptionDocument[]
  /** Forgets them and publishes `active: false` events. */
  remove(documents: readonly SubscriptionDocument[]): void
  /** Every active subscription of this node. */
  all(): SubscriptionDocument[]
  /** One of them by its topic path, or `undefined`. */
  get(id: string): SubscriptionDocument | undefined
  /** Resolves once the subscription events published so far are stored (or failed). */
  settled(): Promise<void>
  readonly size: number
}

/** What the subscription API lists: this node's subscriptions, or every live node's (node-subscriptions.ts). */
export interface SubscriptionDirectory {
  /** Active subscriptions, all or for one matcher (`matchType` and `match` both given). */
  list(matchType?: string, match?: string): Promise<SubscriptionDocument[]>
  /** One subscription by its topic path, or `undefined`. */
  get(id: string): Promise<SubscriptionDocument | undefined>
  /** Stops what it runs in the background and removes what it keeps in the engine. */
  close(): Promise<void>
}

/** The subscriptions of `documents` that match one matcher, or all of them (`matchType` or `match` not given). */
export function matching(
  documents: readonly SubscriptionDocument[],
  matchType?: string,
  match?: string,
): SubscriptionDocument[] {
  if (matchType === undefined || match === undefined) return [...documents]
  return documents.filter((document) => document.match_type === matchType && document.match === match)
}

/** The directory of a hub alone on its engine: the registry's own subscriptions. */
export function localDirectory(registry: SubscriptionRegistry): SubscriptionDirectory {
  return {
    list: async (matchType, match) => matching(registry.all(), matchType, match),
    get: async (id) => registry.get(id),
    close: async () => {},
  }
}

/**
 * Publishes subscription events (draft-08): one private update of type `mercure` per document,
 * on the document's own topic. Resolves once they are stored.
 */
export async function publishSubscriptionEvents(
  updates: UpdateLog,
  documents: readonly SubscriptionDocument[],
): Promise<void> {
  if (documents.length === 0) return
  await updates.append(
    documents.map((document) => ({
      topics: [document.id],
      data: JSON.stringify(document),
      private: true,
      type: "mercure",
    })),
  )
}

/**
 * Percent-encodes a variable value as RFC 6570 simple expansion does — everything but the
 * unreserved characters — exactly once (a `%` already in the value is itself encoded).
 */
export function encodeTemplateValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/**
 * Creates the registry. `events` turns the active subscriptions feature on: "the hub MUST
 * publish an update every time a subscription is created or terminated", private, with the SSE
 * event type `mercure`, on the topic `<hub path>/subscriptions/{match_type}/{match}/{subscriber}`.
 * `onChange` hears of every change (a hub-wide directory keeps the engine's copy up to date).
 */
export function createSubscriptionRegistry(
  hubPath: string,
  updates: UpdateLog,
  events: boolean,
  onPublishError: (error: unknown) => void,
  onChange: () => void = () => {},
): SubscriptionRegistry {
  const active = new Map<string, SubscriptionDocument>()
  const publishing = new Set<Promise<void>>()
  const announce = (documents: readonly SubscriptionDocument[]): void => {
    onChange()
    if (!events) return
    const published = publishSubscriptionEvents(updates, documents)
      .catch(onPublishError)
      .finally(() => publishing.delete(published))
    publishing.add(published)
  }
  const prefix = `${subscriptionsPath(hubPath)}/`
  return {
    add(subscriber, requested, grants) {
      const documents = requested.map(({ matchType, matcher }): SubscriptionDocument => {
        const id = `${prefix}${encodeTemplateValue(matchType)}/${encodeTemplateValue(matcher.pattern)}/${encodeTemplateValue(subscriber)}`
        const payload = grants.payloadFor(matcher.pattern)
        return {
          id,
          type: "subscription",
          match_type: matchType,
          match: matcher.pattern,
          subscriber,
          active: true,
          ...(payload === undefined ? {} : { payload }),
        }
      })
      for (const document of documents) active.set(document.id, document)
      announce(documents)
      return documents
    },
    remove(documents) {
      for (const document of documents) active.delete(document.id)
      announce(documents.map((document) => ({ ...document, active: false })))
    },
    all() {
      return [...active.values()]
    },
    get(id) {
      return active.get(id)
    },
    async settled() {
      await Promise.all(publishing)
    },
    get size() {
      return active.size
    },
  }
}

/** Where the subscription API answers, and the prefix of subscription topics: `<hub path>/subscriptions`. */
export function subscriptionsPath(hubPath: string): string {
  return `${hubPath === "/" ? "" : hubPath}/subscriptions`
}
