/**
 * `herald/ai/ai-sdk`: a transport for the Vercel AI SDK's `useChat` that resumes a cut answer
 * from the last event it got instead of from the start (after a reload too: the cursor is kept in
 * `sessionStorage`), and whose Stop cancels the generation on
 * the server. Needs the `ai` package (an optional peer
 * dependency of Herald). Runs in browsers.
 *
 * ```ts
 * import { useChat } from "@ai-sdk/react"
 * import { HeraldChatTransport } from "herald/ai/ai-sdk"
 *
 * const chat = useChat({ transport: new HeraldChatTransport({ api: "https://herald.example/v1/ai-sdk/chat" }), resume: true })
 * ```
 *
 * @packageDocumentation
 */

export type { ChatStorage } from "./saved-replays.js"
export { DEFAULT_CHAT_API, HeraldChatTransport, type HeraldChatTransportOptions } from "./transport.js"
