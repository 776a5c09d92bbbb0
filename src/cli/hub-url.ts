/** Where a Mercure hub answers by convention (draft-08, "Discovery"); a bare origin gets it. */
export const MERCURE_PATH = "/.well-known/mercure"

/**
 * A hub URL as every command reads it (`serve --hub-url`, `publish`/`listen --hub`, `bench`): a
 * bare origin (no path, or `/`) is the hub at {@link MERCURE_PATH} of that origin, where hubs are
 * found (a hub at `/` would also take every path of `herald serve` from its other apps: the
 * dashboard, the AI endpoints); and it is written as a URL serializes it (`new URL(…).href`),
 * which is how the hub names itself in tokens' `aud` (minted from the text as typed,
 * `http://localhost:8080` or `HTTP://LOCALHOST:8080/…`, a token would name another resource).
 * `undefined` when `text` is not an absolute http:// or https:// URL.
 */
export function normalizeHubUrl(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    return undefined
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  if (url.pathname === "/") url.pathname = MERCURE_PATH
  return url.href
}

/** Whether `text` is a bare origin, which {@link normalizeHubUrl} gives the Mercure path. */
export function isBareOrigin(text: string): boolean {
  try {
    return new URL(text.trim()).pathname === "/"
  } catch {
    return false
  }
}
