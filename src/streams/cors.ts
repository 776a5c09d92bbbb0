import { createHeaderTokenCors, type HeaderTokenCors } from "../auth/header-token-cors.js"

/** Who may read streams from a browser page of another origin. */
export interface StreamsCorsOptions {
  /**
   * Allowed origins: `"*"` (the default: streams are read with tokens in headers, never with
   * cookies, so any page may call them) or a list of exact origins (`https://app.example`).
   */
  readonly origins?: "*" | readonly string[]
  /** How long browsers may cache a preflight, in seconds. Default 600. */
  readonly maxAgeSeconds?: number
}

/** The streams handler's CORS policy. */
export type StreamsCors = HeaderTokenCors

/** What the protocol's pages need: its response headers read, its request headers sent. */
const STREAMS_GRANTS = {
  name: "these streams",
  howToAllow: "the streams' CORS origins (option cors.origins)",
  exposedHeaders: [
    "Stream-Next-Offset",
    "Stream-Cursor",
    "Stream-Up-To-Date",
    "Stream-Closed",
    "Stream-TTL",
    "Stream-Expires-At",
    "Stream-SSE-Data-Encoding",
    "Producer-Epoch",
    "Producer-Seq",
    "Producer-Expected-Seq",
    "Producer-Received-Seq",
    "ETag",
    "Location",
    "Content-Type",
    "WWW-Authenticate",
  ],
  // The protocol's request headers, and `If-None-Match` for conditional reads.
  allowedHeaders: [
    "Authorization",
    "Content-Type",
    "If-None-Match",
    "Stream-TTL",
    "Stream-Expires-At",
    "Stream-Seq",
    "Stream-Closed",
    "Stream-Forked-From",
    "Stream-Fork-Offset",
    "Stream-Fork-Sub-Offset",
    "Producer-Id",
    "Producer-Epoch",
    "Producer-Seq",
  ],
  methods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
} as const

/** Creates the policy. With a list, the allowed origin is echoed (with `Vary: Origin`), never `*`. */
export function createStreamsCors(options: StreamsCorsOptions = {}): StreamsCors {
  return createHeaderTokenCors(STREAMS_GRANTS, { ...options, origins: options.origins ?? "*" })
}
