/**
 * `herald/client`: the WHATWG `EventSource`, exact, for Node 20, browsers and web workers —
 * plus opt-in extensions (headers, POST bodies, reconnection policy, response hook, abort
 * signal, async iteration) for the streams the standard cannot express, like AI chat.
 *
 * @packageDocumentation
 */

export {
  EventSourceError,
  type EventSourceErrorCode,
  EventSourceErrorEvent,
  EventSourceResponseError,
} from "./errors.js"
export { EventSource, type EventSourceEventMap } from "./event-source.js"
export { events } from "./events.js"
export type { EventSourceInit, FetchLike, ReconnectOptions, ReusableBody } from "./types.js"
