import { object, optionalString } from "./request-fields.js"

/**
 * Gemini's thought signature on a tool call. Gemini 3 signs the function calls it makes, and
 * refuses the next turn (400, "Function call is missing a thought_signature") unless each call
 * comes back with its signature exactly as it was received. Its OpenAI-compatible endpoint
 * carries it on the call as `extra_content.google.thought_signature`, streaming and not; Herald
 * keeps it in the call's entries and gives it to OpenAI clients and upstreams in the same place,
 * and to AI SDK clients as the call's provider metadata, `google.thoughtSignature` (the AI SDK's
 * Google provider's name), which `useChat` sends back as `callProviderMetadata`. Every client
 * also gets it in the call's id ({@link idWithSignature}), the one field of a call that every
 * client sends back: LangChain drops fields it does not know, and an Anthropic client (Claude
 * Code) has no place for one.
 */

/**
 * What joins a call's id and its signature in the id a client is given. Herald's own: LiteLLM
 * joins them with `__thought__`, and an upstream behind LiteLLM makes ids that carry it, which
 * must go back to it as they came.
 */
const SIGNATURE_IN_ID = "__thought_signature__"

/** The id a client is given for a call: `id` itself when the call is not signed, else `id` with its signature. */
export function idWithSignature(id: string, signature: string | undefined): string {
  return signature === undefined ? id : `${id}${SIGNATURE_IN_ID}${signature}`
}

/**
 * A call's id as a client sent it back: the id the upstream made, and the signature it carried,
 * if any. The signature is what follows the last separator: an upstream's own id may hold one
 * (another Herald's), and goes back to it whole.
 */
export function sentBackId(id: string): { readonly id: string; readonly signature: string | undefined } {
  const at = id.lastIndexOf(SIGNATURE_IN_ID)
  if (at === -1) return { id, signature: undefined }
  const signature = id.slice(at + SIGNATURE_IN_ID.length)
  return { id: id.slice(0, at), signature: signature === "" ? undefined : signature }
}

/** The signature on an OpenAI-style tool call (or one fragment of it), if it carries one. */
export function thoughtSignatureOf(call: Record<string, unknown>): string | undefined {
  const extra = call.extra_content
  if (typeof extra !== "object" || extra === null) return undefined
  const google = (extra as Record<string, unknown>).google
  if (typeof google !== "object" || google === null) return undefined
  const signature = (google as Record<string, unknown>).thought_signature
  return typeof signature === "string" && signature !== "" ? signature : undefined
}

/** The fields that carry `signature` on an OpenAI-style tool call: none when there is none. */
export function signatureFields(signature: string | undefined): Record<string, unknown> {
  return signature === undefined ? {} : { extra_content: { google: { thought_signature: signature } } }
}

/** The AI SDK provider metadata that carries `signature`: none when there is none. */
export function signatureMetadata(signature: string | undefined): Record<string, unknown> {
  return signature === undefined ? {} : { providerMetadata: { google: { thoughtSignature: signature } } }
}

/**
 * The signature a client sends back on a tool call, under `google` in `container`: OpenAI's
 * `extra_content.google.thought_signature`, the AI SDK's `callProviderMetadata.google.thoughtSignature`.
 * Other vendors' keys are not read; a signature that is not a string is refused by its path, and an
 * empty one is none (the call's id may still carry it).
 */
export function sentBackSignature(
  container: unknown,
  path: string,
  field: "thought_signature" | "thoughtSignature",
): string | undefined {
  if (container === undefined || container === null) return undefined
  const google = object(container, path).google
  if (google === undefined || google === null) return undefined
  const signature = optionalString(object(google, `${path}.google`)[field], `${path}.google.${field}`)
  return signature === "" ? undefined : signature
}
