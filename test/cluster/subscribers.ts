// Subscribers as an app's users run them: Herald's own EventSource (src/client), which reconnects
// after a dropped stream and resumes with Last-Event-ID, recording every event it got.
import { EventSource } from "../../src/client/index.js"
import { TOO_OLD_EVENT } from "../../src/server/index.js"

/** An event a subscriber received. */
export interface Received {
  readonly id: string
  readonly data: string
}

/** A recording subscriber. */
export interface Subscriber {
  /** Every update received, in order, across reconnections. */
  readonly received: readonly Received[]
  /** How many times a stream opened (1 + the reconnections that succeeded). */
  readonly opens: number
  /** `herald-id-too-old` events: the hub did not hold the cursor (a gap). */
  readonly tooOld: number
  /** A stream is open right now. */
  readonly open: boolean
  close(): void
}

/** How a subscriber connects. */
export interface SubscribeOptions {
  /** The first request goes here instead (a node, straight); reconnections go to the URL given. */
  readonly firstUrl?: string
  /** Resume after this id from the first request on. */
  readonly lastEventId?: string
}

/**
 * Subscribes to `topic` at `hubUrl` with `token`. Reconnects after a drop, a 5xx or a 429 (after
 * the hub's `retry` or `Retry-After`), for as long as the test runs.
 */
export function subscribe(
  hubUrl: string,
  topic: string,
  token: string,
  options: SubscribeOptions = {},
): Subscriber {
  const url = new URL(hubUrl)
  url.searchParams.set("match", topic)
  const received: Received[] = []
  let opens = 0
  let tooOld = 0
  let attempts = 0
  const source = new EventSource(url.href, {
    headers: { authorization: `Bearer ${token}` },
    ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
    reconnect: { delay: 250, retryOnStatus: true, maxRetryAfter: 2000 },
    // The EventSource's URL is fixed; a test that wants the first stream on one node (and the
    // reconnections through nginx) routes that one request itself.
    fetch: (input, init) => {
      const first = attempts++ === 0 && options.firstUrl !== undefined
      if (!first) return fetch(input, init)
      const direct = new URL(options.firstUrl as string)
      direct.search = new URL(input).search
      return fetch(direct.href, init)
    },
  })
  source.onopen = () => {
    opens++
  }
  source.onmessage = (event) => {
    received.push({ id: event.lastEventId, data: event.data })
  }
  source.addEventListener(TOO_OLD_EVENT, () => {
    tooOld++
  })
  return {
    received,
    get opens() {
      return opens
    },
    get tooOld() {
      return tooOld
    },
    get open() {
      return source.readyState === EventSource.OPEN
    },
    close: () => source.close(),
  }
}

/**
 * Waits until `done` holds for every subscriber; fails after `ms`, saying for how many it held.
 * `what` completes "N of M subscribers …".
 */
export async function waitForAll(
  subscribers: readonly Subscriber[],
  done: (subscriber: Subscriber) => boolean,
  what: string,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!subscribers.every(done)) {
    if (Date.now() > deadline) {
      const count = subscribers.filter(done).length
      throw new Error(`after ${ms} ms, ${count} of ${subscribers.length} subscribers ${what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Whether `subscriber` has received an update whose data is `data`. */
export function hasReceived(subscriber: Subscriber, data: string): boolean {
  return subscriber.received.some((event) => event.data === data)
}
