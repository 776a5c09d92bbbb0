import { createHeaderTokenCors, type HeaderTokenCors } from "../auth/header-token-cors.js"
import {
  GENERATION_ID_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  ON_DISCONNECT_HEADER,
} from "./ai-headers.js"

/** Which pages of other origins may call the AI endpoints (a chat page on another host). */
export interface AICorsOptions {
  /**
   * `"*"` for any origin (tokens travel in headers, never cookies) or a list of exact origins
   * (`https://app.example`). Default none: pages of the endpoints' own origin only, as a hub
   * without CORS origins; a page elsewhere spends the upstream's tokens only if named.
   */
  readonly origins?: "*" | readonly string[]
  /** How long browsers may cache a preflight, in seconds. Default 600. */
  readonly maxAgeSeconds?: number
}

/**
 * What browser clients read and send: the `openai` and `@anthropic-ai/sdk` SDKs (their platform
 * and retry headers, `x-stainless-*`; Firefox sends their `User-Agent` too), the AI SDK's
 * transports, and Herald's own headers.
 */
const AI_GRANTS = {
  name: "the AI endpoints",
  howToAllow: "their CORS origins (option cors.origins)",
  exposedHeaders: [
    GENERATION_ID_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    "retry-after",
    "x-should-retry",
    "x-vercel-ai-ui-message-stream",
    "www-authenticate",
    "content-type",
  ],
  allowedHeaders: [
    "authorization",
    "content-type",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "openai-organization",
    "openai-project",
    IDEMPOTENCY_KEY_HEADER,
    ON_DISCONNECT_HEADER,
    "last-event-id",
    "user-agent",
    "x-stainless-arch",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-retry-count",
    "x-stainless-timeout",
    "x-stainless-helper",
    "x-stainless-helper-method",
  ],
  methods: ["GET", "HEAD", "POST", "OPTIONS"],
} as const

/** Creates the AI endpoints' CORS policy. */
export function createAICors(options: AICorsOptions = {}): HeaderTokenCors {
  return createHeaderTokenCors(AI_GRANTS, { ...options, origins: options.origins ?? [] })
}
