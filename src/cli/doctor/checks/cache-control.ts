import type { Evidence } from "../evidence.js"
import { headerFix } from "../fixes.js"
import { type CheckResult, result } from "../verdict.js"

/** `no-transform` forbids proxies and CDNs to compress (and so hold) the stream. */
export function checkCacheControl({ observation }: Evidence): CheckResult {
  if (observation.status === undefined) return result("cache-control", "skip", "no response")
  const value = observation.headers["cache-control"]
  const directives = (value ?? "").split(",").map((directive) => directive.trim().toLowerCase())
  if (directives.includes("no-transform")) return result("cache-control", "pass", value ?? "")
  return result(
    "cache-control",
    "warn",
    `${value === undefined ? "missing" : `"${value}"`}: without no-transform a proxy or CDN may compress the stream and hold events until its buffer fills`,
    [headerFix("Cache-Control: no-cache, no-transform")],
  )
}
