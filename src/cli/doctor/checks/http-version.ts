import type { Evidence } from "../evidence.js"
import { HTTP2_FIXES } from "../fixes.js"
import { type CheckResult, result } from "../verdict.js"

/**
 * Browsers open at most six HTTP/1.1 connections per origin, and each EventSource holds one:
 * the seventh tab hangs. HTTP/2 carries them all on one connection.
 */
export function checkHttpVersion({ observation }: Evidence): CheckResult {
  const { httpVersion, url } = observation
  if (httpVersion === undefined) return result("http-version", "skip", "no response")
  if (httpVersion === "2") return result("http-version", "pass", "HTTP/2: streams share one connection")
  if (httpVersion === "1.0")
    return result(
      "http-version",
      "warn",
      "HTTP/1.0: no chunked encoding and no keep-alive; a proxy that speaks HTTP/1.0 holds the stream differently",
      [{ target: "nginx", snippet: "proxy_http_version 1.1;" }],
    )
  if (url.protocol === "https:")
    return result(
      "http-version",
      "warn",
      "HTTP/1.1 over HTTPS: browsers allow six connections per origin, so a seventh EventSource (tab) hangs",
      HTTP2_FIXES,
    )
  return result(
    "http-version",
    "pass",
    "HTTP/1.1 (plain http: browsers allow six streams per origin; serve HTTPS with HTTP/2 in production)",
  )
}
