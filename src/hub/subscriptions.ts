import type { Grants } from "../auth/grants.js"
import type { RequestedSubscription } from "./subscription-request.js"
import { EARLIEST } from "./update.js"
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
  /** The `limit` topic matchers with the most active subscriptions, most first. */
  mostSubscribed(limit: number): readonly MatcherCount[]
  readonly size: number
}

/** How many active subscriptions use one topic matcher. */
export interface MatcherCount {
  readonly match: string
  readonly subscriptions: number
}

/**
 * What the subscription API answers, with the cursor it gives out: draft-08's client reads the
 * list, then subscribes to the subscription events from that cursor.
 */
export interface Listed<T> {
  readonly value: T
  /**
   * The id of an update of the hub's log, or `earliest`: `value` reflects every subscription
   * event up to it (and maybe some after it), so that the events after it, applied in order,
   * bring `value` up to date — none is missing, a few may come twice.
   */
  readonly lastEventId: string
}

/** What the subscription API lists: this node's subscriptions, or every node's (node-subscriptions.ts). */
export interface SubscriptionDirectory {
  /** Active subscriptions, all or for one matcher (`matchType` and `match` both given). */
  list(matchType?: string, match?: string): Promise<Listed<SubscriptionDocument[]>>
  /** One subscription by its topic path, or `undefined`. */
  get(id: string): Promise<Listed<SubscriptionDocument | undefined>>
  /**
   * Stops what it runs in the background and, once the subscription events published so far
   * are stored (or failed), removes what it keeps in the engine.
   */
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
export function localDirectory(registry: SubscriptionRegistry, updates: UpdateLog): SubscriptionDirectory {
  // The log is read first: a subscription's event is stored after the registry changed.
  const asOfNow = async <T>(read: () => T): Promise<Listed<T>> => {
    const mark = await updates.newest()
    return { value: read(), lastEventId: mark?.id ?? EARLIEST }
  }
  return {
    list: (matchType, match) => asOfNow(() => matching(registry.all(), matchType, match)),
    get: (id) => asOfNow(() => registry.get(id)),
    close: () => registry.settled(),
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
 * event type `mercure`, on the topic `<hub path>/subscriptions/{match_type}/{match}/{subscriber}`;
 * `publish` stores them ({@link publishSubscriptionEvents}, or a hub-wide directory's).
 * `onChange` hears of every change (a hub-wide directory keeps the engine's copy up to date).
 */
export function createSubscriptionRegistry(
  hubPath: string,
  publish: (documents: readonly SubscriptionDocument[]) => Promise<void>,
  events: boolean,
  onPublishError: (error: unknown) => void,
  onChange: () => void = () => {},
): SubscriptionRegistry {
  const active = new Map<string, SubscriptionDocument>()
  const publishing = new Set<Promise<void>>()
  // Kept as subscriptions come and go, so that a dashboard asking every second never walks them all.
  const perMatcher = new Map<string, number>()
  const announce = (documents: readonly SubscriptionDocument[]): void => {
    onChange()
    if (!events) return
    const published = publish(documents)
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
      for (const document of documents) {
        // A matcher given twice in one request is one subscription (one id), counted once.
        if (!active.has(document.id))
          perMatcher.set(document.match, (perMatcher.get(document.match) ?? 0) + 1)
        active.set(document.id, document)
      }
      announce(documents)
      return documents
    },
    remove(documents) {
      for (const document of documents) {
        if (!active.delete(document.id)) continue
        const left = (perMatcher.get(document.match) ?? 1) - 1
        if (left === 0) perMatcher.delete(document.match)
        else perMatcher.set(document.match, left)
      }
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
    mostSubscribed(limit) {
      return [...perMatcher]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, limit)
        .map(([match, subscriptions]) => ({ match, subscriptions }))
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
