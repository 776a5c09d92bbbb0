import { isLoopbackHost } from "./loopback.js"

/**
 * Why `url` cannot be trusted as a JWK Set URL, or `undefined` when it can. Keys fetched in clear
 * text can be swapped by anyone on the path, who would then sign any token: https only, and http
 * to a loopback host alone (tests, a key server beside the hub on the same machine).
 */
export function jwksUrlProblem(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `the JWK Set URL ${JSON.stringify(url)} is not an absolute URL`
  }
  if (parsed.protocol === "https:") return undefined
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return undefined
  if (parsed.protocol === "http:") {
    return `the JWK Set URL ${parsed.href} is plain http: keys must be fetched over https (http is accepted only for localhost, 127.0.0.0/8 and ::1)`
  }
  return `the JWK Set URL must be https, got ${parsed.protocol}`
}
