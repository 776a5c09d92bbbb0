/**
 * `herald/server`: Server-Sent Events connections done right on `node:http`, `node:http2` and
 * the Fetch API — headers, one shared heartbeat timer, bounded per-connection queues with an
 * overflow policy, `Last-Event-ID`, piping async sources with cancellation, graceful shutdown —
 * and channels that serialize each event once for every subscriber, with bounded replay history.
 *
 * @packageDocumentation
 */

export type { Logger } from "../logger.js"
export { fromHeaderValue, toHeaderValue } from "../protocol/header-value.js"
export {
  type Admission,
  type AdmissionRefusal,
  createAdmission,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
} from "./admission.js"
export {
  type Channel,
  type ChannelOptions,
  createChannel,
  type SubscribeResult,
  TOO_OLD_EVENT,
} from "./channel.js"
export {
  type ClientAddressOptions,
  type ClientAddressRequest,
  type ClientAddressResolver,
  canonicalAddress,
  createClientAddressResolver,
  type ForwardedHeader,
  isProxyRange,
} from "./client-address.js"
export { DEFAULT_IPV6_PREFIX_LENGTH } from "./client-network.js"
export {
  type CloseReason,
  type ConnectionLimits,
  type ConnectionSettings,
  type ConnectionSink,
  DEFAULT_CLOSE_FLUSH_MS,
  SSEConnection,
} from "./connection.js"
export { answerFailure, type RequestHandler, withErrorBoundary } from "./error-boundary.js"
export { type FetchConnectionSettings, openFetchConnection } from "./fetch-adapter.js"
export { sseHeaders } from "./headers.js"
export { createHeartbeat, HEARTBEAT_FRAME, type Heartbeat, type HeartbeatTarget } from "./heartbeat.js"
export { createEventHistory, type EventHistory, type HistoryLimits, type ReplayResult } from "./history.js"
export { DEFAULT_MAX_PIPELINED_REQUESTS, limitPipelining } from "./http1-pipelining.js"
export { readLastEventId } from "./last-event-id.js"
export {
  type NodeConnectionSettings,
  type NodeRequestLike,
  type NodeResponseLike,
  openNodeConnection,
} from "./node-adapter.js"
export type { EventStreamSource } from "./pipe.js"
export {
  createFrameQueue,
  type Frame,
  type FrameQueue,
  type FrameQueueLimits,
  type OverflowPolicy,
} from "./queue.js"
export { jitteredRetryFrame, type ShutdownOptions, shutdownConnections } from "./shutdown.js"
export {
  createSSE,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_RETRY_MS,
  type SSE,
  type SSEOptions,
  type StreamOptions,
} from "./sse.js"
