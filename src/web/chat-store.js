// The conversation of this tab, kept in sessionStorage so that a reload finds it: each answer's
// text together with the cursor of the last event it holds, written in one piece, so a reload
// resumes right after what was shown — nothing lost, nothing twice.

const CONVERSATION_KEY = "herald.chat.conversation"
const MODEL_KEY = "herald.chat.model"

/** Saves at most this often while text streams in; a reload between two saves re-reads the difference. */
const SAVE_EVERY_MS = 100

/**
 * The longest request (as JSON) a turn keeps until the server names its generation, to send it
 * again after a reload: each request carries the conversation so far, and sessionStorage holds
 * a few MB for the whole conversation, written again at every save.
 */
const MAX_KEPT_REQUEST_CHARS = 128 * 1024

/**
 * @typedef {"starting" | "running" | "done" | "cancelled" | "interrupted" | "failed" | "lost"} TurnStatus
 * @typedef {object} Turn
 * @property {string} key            this page's own id for the turn, and its request's Idempotency-Key
 * @property {string} [id]           the generation's id, once the server named it
 * @property {object} [request]      the request that creates the generation, kept until the server
 *   names it (to send again with the same key after a reload); absent when too large to keep
 * @property {true} [stopRequested]  Stop was pressed and the answer has not ended yet: kept at once,
 *   so that a reload sends the cancel (once the re-sent request's head names the generation)
 * @property {string} model
 * @property {string} [prompt]       absent for a generation watched from a link
 * @property {string} text           the answer received so far
 * @property {string} reasoning      the reasoning received so far
 * @property {string} [cursor]       the id of the last event `text` and `reasoning` include
 * @property {TurnStatus} status
 * @property {string} [message]      why it ended as it did
 * @property {string} [finishReason]
 * @property {object} [stats]        the generation's numbers, once it ended
 */

/** `request` if a turn may keep it (see {@link MAX_KEPT_REQUEST_CHARS}), else `undefined`. */
export function requestToKeep(/** @type {object} */ request) {
  return JSON.stringify(request).length <= MAX_KEPT_REQUEST_CHARS ? request : undefined
}

/** The turns kept for this tab, oldest first. @returns {Turn[]} */
export function loadTurns() {
  try {
    const turns = JSON.parse(sessionStorage.getItem(CONVERSATION_KEY) ?? "[]")
    return Array.isArray(turns) ? turns : []
  } catch {
    return []
  }
}

/** Keeps `turns` (see {@link SAVE_EVERY_MS}); {@link flushSave} writes what is pending at once. */
export function saveTurns(/** @type {Turn[]} */ turns) {
  pending = turns
  timer ??= setTimeout(flushSave, SAVE_EVERY_MS)
}

/** @type {Turn[] | undefined} */
let pending
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer

/** Writes the pending save now (the page is going away). */
export function flushSave() {
  clearTimeout(timer)
  timer = undefined
  if (pending === undefined) return
  try {
    sessionStorage.setItem(CONVERSATION_KEY, JSON.stringify(pending))
  } catch {
    // Storage full or refused: the page works on; a reload resumes from the last save that landed.
  }
  pending = undefined
}

/** The model last picked in this tab. */
export function savedModel() {
  return sessionStorage.getItem(MODEL_KEY) ?? undefined
}

export function saveModel(/** @type {string} */ model) {
  sessionStorage.setItem(MODEL_KEY, model)
}
