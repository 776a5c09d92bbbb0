/**
 * The Durable Streams protocol (PROTOCOL.md of durable-streams/durable-streams) on Herald's
 * engine: one log per stream URL, on memory, sqlite or redis. Mount it on any `node:http`
 * server:
 *
 * ```ts
 * import { createServer } from "node:http"
 * import { createMemoryEngine } from "herald/engine"
 * import { createStreamsHandler } from "herald/streams"
 *
 * const streams = createStreamsHandler({ engine: createMemoryEngine() })
 * createServer(streams.handle).listen(4437)
 * ```
 *
 * @packageDocumentation
 */

export type { StreamsAction, StreamsAuthOptions } from "./auth.js"
export type { StreamsCorsOptions } from "./cors.js"
export { createStreamsHandler, type StreamsHandler, type StreamsOptions } from "./handler.js"
export { DEFAULT_LIMITS, type StreamsLimits } from "./limits.js"
export type { StreamSummary, StreamsOverview } from "./overview.js"
export type { LogView, OpenedLog } from "./view.js"
