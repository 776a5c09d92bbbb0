import type { UpstreamRequestError } from "./upstream-error.js"

/**
 * What to tell a client whose request the upstream refused: the upstream's own message when its
 * error body has one (OpenAI's and Anthropic's `error.message`, vLLM's `message`), else ours.
 */
export function upstreamErrorMessage(error: UpstreamRequestError): string {
  const body = error.body
  if (typeof body === "object" && body !== null) {
    const inner = (body as { error?: unknown }).error
    const message =
      typeof inner === "object" && inner !== null
        ? (inner as { message?: unknown }).message
        : (body as { message?: unknown }).message
    if (typeof message === "string" && message !== "") return `The upstream refused the request: ${message}`
  }
  return error.status === undefined
    ? `The upstream could not be reached: ${error.message}`
    : `The upstream refused the request (HTTP ${error.status}).`
}
