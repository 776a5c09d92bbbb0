// The chat page's calls to the AI endpoints (docs/ai.md), with the token the page holds, if any:
// dev mode lets a local browser in without one; otherwise the user pastes one, kept for the tab.

const TOKEN_KEY = "herald.chat.token"

/** The token this tab holds, or `undefined` (dev mode on loopback needs none). */
export function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined
}

/** Keeps `token` for this tab (sessionStorage: it ends with the tab), or forgets it with `undefined`. */
export function storeToken(token) {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
}

/** The `Authorization` header, when the tab holds a token. */
export function authHeaders() {
  const token = currentToken()
  return token === undefined ? {} : { authorization: `Bearer ${token}` }
}

/** A request the server refused or could not answer: its status (0 when none came) and why. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message)
    this.name = "ApiError"
    this.status = status
  }

  /** Whether a token (or a better one) would help: 401, or 403. */
  get needsToken() {
    return this.status === 401 || this.status === 403
  }
}

/**
 * What an error body says, in OpenAI's shape (`{"error": {"message"}}`) or the hub's problem
 * shape (`{"detail"}`), else the status alone.
 * @param {number} status
 * @param {string} body
 */
export function errorMessage(status, body) {
  try {
    const parsed = JSON.parse(body)
    const message = parsed?.error?.message ?? parsed?.detail ?? parsed?.title
    if (typeof message === "string" && message !== "") return message
  } catch {
    // Not JSON (a proxy's HTML page): the status says enough.
  }
  if (status === 0) return "the server could not be reached"
  return `the server answered ${status}`
}

/**
 * Sends a request to the AI endpoints and returns its JSON body; throws an {@link ApiError}.
 * @param {string} path
 * @param {RequestInit} [init]
 */
export async function callApi(path, init = {}) {
  let response
  try {
    response = await fetch(path, {
      ...init,
      headers: { accept: "application/json", ...authHeaders(), ...init.headers },
      cache: "no-store",
    })
  } catch {
    throw new ApiError(0, errorMessage(0, ""))
  }
  const body = await response.text()
  if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, body))
  try {
    return JSON.parse(body)
  } catch {
    throw new ApiError(response.status, "the server's answer is not JSON")
  }
}

/** The configured models' names (`GET /v1/models`). */
export async function listModels() {
  const list = await callApi("/v1/models")
  return (list.data ?? []).map((model) => String(model.id))
}

/**
 * The generation's state (`GET /v1/generations/{id}`): status, stats, error. Asking also lets the
 * answering node notice that the node running it died, and close it as interrupted.
 * @param {string} id
 */
export function generationState(id) {
  return callApi(`/v1/generations/${encodeURIComponent(id)}`)
}

/**
 * Stops the generation on whichever node runs it (`POST /v1/generations/{id}/cancel`).
 * @param {string} id
 */
export function cancelGeneration(id) {
  return callApi(`/v1/generations/${encodeURIComponent(id)}/cancel`, { method: "POST" })
}
