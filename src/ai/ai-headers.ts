/** The response header naming the generation, to read, resume or cancel it later. */
export const GENERATION_ID_HEADER = "herald-generation-id"
/** The request header choosing what a disconnect does: `cancel` at once, or `continue` to the end. */
export const ON_DISCONNECT_HEADER = "herald-on-disconnect"
/** The request header a client retries with, so that the retry does not start a second generation. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key"
/** The response header saying the answer is the one of an earlier request with the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed"
